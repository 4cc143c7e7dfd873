//! The device clients against scripted fake recorders on 127.0.0.1: the real-firmware shapes they
//! must tolerate (LF bodies, `Error` under HTTP 200, stale nonces, numeric sessions) and the failures
//! they must name clearly (silence, truncation, garbage challenges) — without leaking a password.

mod fake;

use std::future::Future;
use std::time::Duration;

use fake::{Fake, Reply, http, rtsp};
use resetlab_device::{
    Cgi, Credentials, DeviceError, ErrorKind, Interface, LoginOutcome, Rpc2Session, Rtsp, Secret, Target, UserInfo,
    try_login,
};
use serde_json::json;

const REALM: &str = "Login to SN0123456789";
const SHORT: Duration = Duration::from_millis(300);

/// Every test finishes within this bound even if a client hangs.
async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f).await.expect("test exceeded its bound")
}

fn target(http_port: u16, rtsp_port: u16) -> Target {
    Target::new("127.0.0.1", http_port, rtsp_port)
}

fn admin(pw: &str) -> Credentials {
    Credentials::new("admin", Secret::new(pw))
}

fn challenge(nonce: &str) -> String {
    format!(
        r#"WWW-Authenticate: Digest realm="{REALM}", qop="auth", nonce="{nonce}", opaque="5ccc069c403ebaf9f0171e9517f40e41""#
    )
}

/// A CGI recorder with one admin account: 401 + challenge unless the Digest answer is right, then
/// `answer(path)`.
async fn cgi_fake(password: &'static str, answer: fn(&str) -> Reply) -> Fake {
    Fake::start(move |req, _| {
        if req.header("Authorization").is_some() && req.digest_ok(REALM, "n-1", "admin", password) {
            answer(&req.target)
        } else {
            http("401 Unauthorized", &[&challenge("n-1")], "")
        }
    })
    .await
}

fn assert_no_secret(e: &DeviceError, secrets: &[&str]) {
    for text in [e.to_string(), format!("{e:?}")] {
        for s in secrets {
            assert!(!text.contains(s), "secret `{s}` leaked in: {text}");
        }
    }
}

// ---------------------------------------------------------------- HTTP CGI

#[tokio::test]
async fn identity_queries_answer_a_qop_auth_challenge() {
    bounded(async {
        let f = cgi_fake("adminpw1", |path| match path {
            "/cgi-bin/magicBox.cgi?action=getSerialNo" => http("200 OK", &[], "sn=SN0123456789\r\n"),
            "/cgi-bin/magicBox.cgi?action=getDeviceType" => http("200 OK", &[], "type=DNR216\r\n"),
            "/cgi-bin/magicBox.cgi?action=getSoftwareVersion" => {
                http("200 OK", &[], "version=2.800.0000000.25.R,build:2017-06-01\r\n")
            }
            _ => http("200 OK", &[], "name=FrontDoor\r\n"),
        })
        .await;
        let t = target(f.port, 1);
        let cgi = Cgi::new(&t);
        let c = admin("adminpw1");
        assert_eq!(cgi.serial_no(&c).await.unwrap(), "SN0123456789");
        assert_eq!(cgi.device_type(&c).await.unwrap(), "DNR216");
        assert_eq!(cgi.software_version(&c).await.unwrap(), "2.800.0000000.25.R,build:2017-06-01");
        assert_eq!(cgi.machine_name(&c).await.unwrap(), "FrontDoor");
        let seen = f.seen();
        assert_eq!(seen.len(), 5, "one challenge, then one request per call (the challenge is reused)");
        let ncs: Vec<String> = seen
            .iter()
            .filter_map(|r| r.header("Authorization"))
            .map(|a| a.split("nc=").nth(1).unwrap_or("").chars().take(8).collect())
            .collect();
        assert_eq!(ncs, ["00000001", "00000002", "00000003", "00000004"], "the nonce count advances");
        let counted = t.requests();
        assert_eq!((counted.http, counted.challenges, counted.total()), (5, 1, 5), "{counted}");
    })
    .await
}

#[tokio::test]
async fn lf_only_bodies_with_extra_keys_parse() {
    bounded(async {
        let f = cgi_fake("adminpw2", |path| {
            if path.contains("getUserInfoAll") {
                http("200 OK", &[], "users[0].Name=admin\nusers[0].Group=admin\nusers[0].Sharable=true\nusers[1].Name=op\nusers[1].Group=user\n")
            } else {
                http("200 OK", &[], "deviceType=DNR216\nprocessor=ST7108\nserialNumber=SN0123456789\nupdateSerial=X\n")
            }
        })
        .await;
        let cgi = Cgi::new(&target(f.port, 1));
        let info = cgi.system_info(&admin("adminpw2")).await.unwrap();
        assert_eq!(info.get("serialNumber"), Some("SN0123456789"));
        assert_eq!(info.pairs().len(), 4);
        let users = cgi.users(&admin("adminpw2")).await.unwrap();
        assert_eq!(
            users,
            vec![UserInfo { name: "admin".into(), group: "admin".into() }, UserInfo { name: "op".into(), group: "user".into() }]
        );
    })
    .await
}

#[tokio::test]
async fn error_body_under_http_200_is_refused_with_the_reason() {
    bounded(async {
        let f = cgi_fake("adminpw3", |_| http("200 OK", &[], "Error\r\nBad Request!\r\n")).await;
        let cgi = Cgi::new(&target(f.port, 1));
        let err = cgi
            .modify_password(&admin("adminpw3"), "admin", &Secret::new("newpw3"), &Secret::new("adminpw3"))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Refused { reason: "Bad Request!".into() });
        assert_eq!(err.interface, Interface::Http);
        let shown = err.to_string();
        assert!(shown.contains("action=modifyPassword&name=admin&pwd=•••&pwdOld=•••"), "{shown}");
        assert!(shown.contains("HTTP 200"), "{shown}");
        assert_no_secret(&err, &["newpw3", "adminpw3"]);
    })
    .await
}

#[tokio::test]
async fn error_body_under_http_400_is_refused_with_the_reason() {
    bounded(async {
        let f = cgi_fake("adminpw4", |_| http("400 Bad Request", &[], "Error\r\nBad Request!\r\n")).await;
        let cgi = Cgi::new(&target(f.port, 1));
        let err = cgi.add_user(&admin("adminpw4"), "op", &Secret::new("oppw4&x"), "user").await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Refused { reason: "Bad Request!".into() });
        assert!(err.to_string().contains("user.Password=•••"), "{err}");
        assert!(err.to_string().contains("HTTP 400"), "{err}");
        assert_no_secret(&err, &["oppw4", "adminpw4"]);
    })
    .await
}

#[tokio::test]
async fn actions_succeed_on_ok_and_send_percent_encoded_values() {
    bounded(async {
        let f = cgi_fake("adminpw5", |_| http("200 OK", &[], "OK\r\n")).await;
        let cgi = Cgi::new(&target(f.port, 1));
        let c = admin("adminpw5");
        cgi.add_user(&c, "op", &Secret::new("a&b c"), "user").await.unwrap();
        cgi.delete_user(&c, "op").await.unwrap();
        cgi.modify_password(&c, "admin", &Secret::new("new#55"), &Secret::new("adminpw5")).await.unwrap();
        let targets: Vec<String> =
            f.seen().into_iter().filter(|r| r.header("Authorization").is_some()).map(|r| r.target).collect();
        assert!(
            targets[0].contains("user.Password=a%26b%20c&user.Group=user&user.Sharable=true&user.Reserved=false"),
            "{targets:?}"
        );
        assert!(targets[1].ends_with("action=deleteUser&name=op"));
        assert!(targets[2].ends_with("pwd=new%2355&pwdOld=adminpw5"));
    })
    .await
}

#[tokio::test]
async fn stale_nonce_is_answered_once_with_the_new_nonce() {
    bounded(async {
        let f = Fake::start(|req, n| match (n, req.header("Authorization").is_some()) {
            (_, false) => http("401 Unauthorized", &[&challenge("old-nonce")], ""),
            (1, true) => {
                let stale =
                    format!(r#"WWW-Authenticate: Digest realm="{REALM}", qop="auth", nonce="new-nonce", stale=true"#);
                http("401 Unauthorized", &[&stale], "")
            }
            (_, true) if req.digest_ok(REALM, "new-nonce", "admin", "adminpw6") => http("200 OK", &[], "sn=SN1\r\n"),
            _ => http("401 Unauthorized", &[&challenge("x")], ""),
        })
        .await;
        let sn = Cgi::new(&target(f.port, 1)).serial_no(&admin("adminpw6")).await.unwrap();
        assert_eq!(sn, "SN1");
        assert_eq!(f.authenticated_attempts(), 2);
    })
    .await
}

#[tokio::test]
async fn a_device_that_stays_stale_is_unauthorized_not_a_loop() {
    bounded(async {
        let f = Fake::start(|_, _| {
            http(
                "401 Unauthorized",
                &[&format!(r#"WWW-Authenticate: Digest realm="{REALM}", nonce="n", stale=TRUE"#)],
                "",
            )
        })
        .await;
        let err = Cgi::new(&target(f.port, 1)).serial_no(&admin("adminpw7")).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unauthorized);
        assert_eq!(f.authenticated_attempts(), 2);
    })
    .await
}

#[tokio::test]
async fn no_qop_unquoted_challenge_is_answered_in_rfc2069_form() {
    bounded(async {
        let f = Fake::start(|req, _| {
            if req.header("Authorization").is_some() && req.digest_ok("Login to SN9", "abc", "admin", "adminpw8") {
                assert!(req.auth_param("qop").is_none());
                http("200 OK", &[], "name=NVR\r\n")
            } else {
                http(
                    "401 Unauthorized",
                    &["WWW-Authenticate: Digest realm=\"Login to SN9\", nonce=abc, algorithm=MD5"],
                    "",
                )
            }
        })
        .await;
        assert_eq!(Cgi::new(&target(f.port, 1)).machine_name(&admin("adminpw8")).await.unwrap(), "NVR");
    })
    .await
}

#[tokio::test]
async fn wrong_password_is_one_attempt_and_refused() {
    bounded(async {
        let f = cgi_fake("right-pw9", |_| http("200 OK", &[], "name=NVR\r\n")).await;
        let t = target(f.port, 1);
        assert_eq!(try_login(&t, Interface::Http, &admin("wrong-pw9")).await.unwrap(), LoginOutcome::Refused);
        assert_eq!(f.authenticated_attempts(), 1, "one login attempt counts once against the lockout");
        assert_eq!(try_login(&t, Interface::Http, &admin("right-pw9")).await.unwrap(), LoginOutcome::Accepted);
    })
    .await
}

#[tokio::test]
async fn lock_message_in_a_401_is_locked() {
    bounded(async {
        let f = Fake::start(|req, _| {
            if req.header("Authorization").is_some() {
                http("401 Unauthorized", &[&challenge("n2")], "Error\r\nUser is locked, 240 seconds left\r\n")
            } else {
                http("401 Unauthorized", &[&challenge("n2")], "")
            }
        })
        .await;
        let t = target(f.port, 1);
        let outcome = try_login(&t, Interface::Http, &admin("pw10")).await.unwrap();
        // Under 401 the body's lock wording decides; its `Error` line is not an action refusal.
        assert_eq!(outcome, LoginOutcome::Locked { remaining_s: Some(240) });
    })
    .await
}

#[tokio::test]
async fn garbage_digest_challenge_is_a_clear_protocol_error() {
    bounded(async {
        let f =
            Fake::start(|_, _| http("401 Unauthorized", &["WWW-Authenticate: Digest realm=\"unterminated, nonce"], ""))
                .await;
        let err = Cgi::new(&target(f.port, 1)).serial_no(&admin("pw11")).await.unwrap_err();
        match &err.kind {
            ErrorKind::Protocol { detail, excerpt } => {
                assert!(detail.contains("Digest challenge"), "{detail}");
                assert!(excerpt.contains("unterminated"), "{excerpt}");
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("HTTP 401"), "{err}");
        assert_eq!(f.authenticated_attempts(), 0, "no answer is guessed from a challenge we cannot read");
    })
    .await
}

#[tokio::test]
async fn basic_only_challenge_is_a_protocol_error() {
    bounded(async {
        let f = Fake::start(|_, _| http("401 Unauthorized", &["WWW-Authenticate: Basic realm=\"x\""], "")).await;
        let err = Cgi::new(&target(f.port, 1)).serial_no(&admin("pw12")).await.unwrap_err();
        assert!(
            matches!(&err.kind, ErrorKind::Protocol { detail, .. } if detail.contains("without a Digest challenge")),
            "{err}"
        );
    })
    .await
}

#[tokio::test]
async fn http_server_that_never_answers_times_out_naming_what() {
    bounded(async {
        let f = Fake::start(|_, _| Reply::Silent).await;
        let t = target(f.port, 1).with_timeout(SHORT);
        let err = Cgi::new(&t).serial_no(&admin("pw13")).await.unwrap_err();
        match &err.kind {
            ErrorKind::Timeout { waited_for, after } => {
                assert_eq!(*after, SHORT);
                assert!(waited_for.contains(&format!("HTTP response from 127.0.0.1:{}", f.port)), "{waited_for}");
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("getSerialNo"), "{err}");
    })
    .await
}

#[tokio::test]
async fn truncated_body_is_a_lost_answer() {
    bounded(async {
        let f = Fake::start(|req, _| {
            if req.header("Authorization").is_some() {
                Reply::RawThenClose("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nusers[0].Name=adm".into())
            } else {
                http("401 Unauthorized", &[&challenge("n3")], "")
            }
        })
        .await;
        let err = Cgi::new(&target(f.port, 1)).users(&admin("pw14")).await.unwrap_err();
        assert!(
            matches!(&err.kind, ErrorKind::NoAnswer { detail } if detail.contains("truncated"))
                && err.outcome_unknown(),
            "{err}"
        );
    })
    .await
}

#[tokio::test]
async fn closed_port_is_a_connect_error() {
    bounded(async {
        let port = {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap().port()
        };
        let err = Cgi::new(&target(port, port)).serial_no(&admin("pw15")).await.unwrap_err();
        assert!(matches!(err.kind, ErrorKind::Connect(_)), "{err}");
        let err = Rtsp::options(&target(port, port)).await.unwrap_err();
        assert!(matches!(err.kind, ErrorKind::Connect(_)), "{err}");
    })
    .await
}

// ---------------------------------------------------------------- RPC2

const RANDOM: &str = "1172275829";

/// An RPC2 recorder with one admin account; `locked` answers every hashed login with a lock.
async fn rpc2_fake(password: &'static str, numeric_session: bool) -> Fake {
    Fake::start(move |req, _| {
        let v = req.json();
        let session = if numeric_session { json!(9_876_543) } else { json!("c0ffee00") };
        let reply = match (req.target.as_str(), v["method"].as_str().unwrap()) {
            ("/RPC2_Login", "global.login") if v["params"]["password"] == "" => json!({
                "error": {"code": 268632079, "message": "Component error: login challenge!"},
                "id": v["id"], "params": {"authorization": "x", "encryption": "Default", "mac": "3CEF8C000000",
                "random": RANDOM, "realm": REALM}, "result": false, "session": session}),
            ("/RPC2_Login", "global.login") => {
                let expected = resetlab_wire::rpc2::login_hash("admin", REALM, RANDOM, password);
                assert_eq!(v["session"], session, "second login echoes the session");
                assert_eq!(v["params"]["passwordType"], "Default");
                if v["params"]["userName"] == "admin" && v["params"]["password"] == expected.as_str() {
                    json!({"id": v["id"], "params": {"keepAliveInterval": 60}, "result": true, "session": session})
                } else if v["params"]["userName"] == "locked" {
                    json!({"error": {"code": 268632081, "message": "User has been locked!"}, "id": v["id"],
                        "params": {"remainLockSeconds": 178, "remainLoginTimes": 0}, "result": false, "session": session})
                } else {
                    json!({"error": {"code": 268632085, "message": "User or password not valid!"}, "id": v["id"],
                        "params": {"remainLockSeconds": 0, "remainLoginTimes": 4}, "result": false, "session": session})
                }
            }
            ("/RPC2", _) if v["session"] != session => json!({"error": {"code": 287637505, "message": "Invalid session in request data!"}, "id": v["id"], "result": false}),
            ("/RPC2", "userManager.modifyPassword") if v["params"]["pwdOld"] == password => json!({"id": v["id"], "result": true, "session": session}),
            ("/RPC2", "userManager.modifyPassword") => json!({"error": {"code": 268632085, "message": "old password wrong"}, "id": v["id"], "result": false}),
            ("/RPC2", "global.keepAlive") => json!({"id": v["id"], "params": {"timeout": 300}, "result": true, "session": session}),
            ("/RPC2", "global.logout") => json!({"id": v["id"], "result": true, "session": session}),
            _ => return http("200 OK", &[], "Error\r\nBad Request!\r\n"),
        };
        http("200 OK", &["Content-Type: application/json"], &format!("{reply}\r\n"))
    })
    .await
}

#[tokio::test]
async fn rpc2_login_modify_keep_alive_and_logout() {
    bounded(async {
        for numeric in [false, true] {
            let f = rpc2_fake("rpcpw1", numeric).await;
            let t = target(f.port, 1);
            let s = Rpc2Session::login(&t, &admin("rpcpw1")).await.unwrap();
            assert_eq!(s.session_id(), if numeric { "9876543" } else { "c0ffee00" });
            s.keep_alive().await.unwrap();
            s.modify_password("admin", &Secret::new("rpcnew1"), &Secret::new("rpcpw1")).await.unwrap();
            let err = s.modify_password("admin", &Secret::new("rpcnew1"), &Secret::new("notold1")).await.unwrap_err();
            assert!(matches!(&err.kind, ErrorKind::Refused { reason } if reason.contains("268632085")), "{err}");
            assert!(err.to_string().contains(r#""pwd":"•••""#), "{err}");
            assert_no_secret(&err, &["rpcnew1", "notold1", "rpcpw1"]);
            s.logout().await.unwrap();
            let seen = f.seen();
            let first = seen[0].json();
            assert_eq!(first["params"]["clientType"], "Web3.0");
            assert_eq!(first["params"]["loginType"], "Direct");
            assert_eq!(seen[3].json()["params"]["pwd"], "rpcnew1");
        }
    })
    .await
}

#[tokio::test]
async fn rpc2_wrong_password_is_refused_and_a_lock_reports_its_seconds() {
    bounded(async {
        let f = rpc2_fake("rpcpw2", false).await;
        let t = target(f.port, 1);
        assert_eq!(try_login(&t, Interface::Rpc2, &admin("wrong")).await.unwrap(), LoginOutcome::Refused);
        let locked = Credentials::new("locked", Secret::new("whatever2"));
        assert_eq!(
            try_login(&t, Interface::Rpc2, &locked).await.unwrap(),
            LoginOutcome::Locked { remaining_s: Some(178) }
        );
        assert_eq!(try_login(&t, Interface::Rpc2, &admin("rpcpw2")).await.unwrap(), LoginOutcome::Accepted);
        let err = Rpc2Session::login(&t, &locked).await.unwrap_err();
        assert!(err.to_string().contains(r#""password":"•••""#), "{err}");
    })
    .await
}

#[tokio::test]
async fn rpc2_other_client_types_are_sent_as_asked() {
    bounded(async {
        let f = rpc2_fake("rpcpw3", false).await;
        let t = target(f.port, 1);
        Rpc2Session::login_as_client_type(&t, &admin("rpcpw3"), "Local").await.unwrap();
        assert_eq!(f.seen()[1].json()["params"]["clientType"], "Local");
    })
    .await
}

#[tokio::test]
async fn rpc2_non_json_reply_is_a_protocol_error_with_an_excerpt() {
    bounded(async {
        let f = Fake::start(|_, _| http("200 OK", &[], "Error\r\nBad Request!\r\n")).await;
        let err = Rpc2Session::login(&target(f.port, 1), &admin("rpcpw4")).await.unwrap_err();
        match &err.kind {
            ErrorKind::Protocol { detail, excerpt } => {
                assert!(detail.contains("not JSON"), "{detail}");
                assert_eq!(excerpt, "Error\\r\\nBad Request!\\r\\n");
            }
            other => panic!("{other:?}"),
        }
    })
    .await
}

#[tokio::test]
async fn rpc2_silence_times_out_naming_the_reply() {
    bounded(async {
        let f = Fake::start(|_, _| Reply::Silent).await;
        let err = Rpc2Session::login(&target(f.port, 1).with_timeout(SHORT), &admin("rpcpw5")).await.unwrap_err();
        assert!(matches!(&err.kind, ErrorKind::Timeout { waited_for, .. } if waited_for.contains("RPC2 reply from 127.0.0.1")), "{err}");
        assert_eq!(err.interface, Interface::Rpc2);
    })
    .await
}

#[tokio::test]
async fn rpc2_session_granted_without_a_password_is_returned_for_the_caller_to_judge() {
    bounded(async {
        let f = Fake::start(|_, _| {
            http("200 OK", &[], r#"{"id":1,"params":{"keepAliveInterval":60},"result":true,"session":"bypass01"}"#)
        })
        .await;
        let creds = Credentials::new("admin", Secret::new("ignored-by-device"));
        let s = Rpc2Session::login_as(&target(f.port, 1), &creds, "Local", "Loopback").await.unwrap();
        assert_eq!(s.session_id(), "bypass01");
        assert!(!format!("{s:?}").contains("bypass01"), "Debug hides the session id");
        assert_eq!(f.seen().len(), 1);
        assert_eq!(f.seen()[0].json()["params"]["loginType"], "Loopback");
    })
    .await
}

#[tokio::test]
async fn rpc2_expired_session_is_refused_naming_it() {
    bounded(async {
        let f = Fake::start(|req, _| {
            let v = req.json();
            let reply = if req.target == "/RPC2_Login" {
                json!({"id": v["id"], "result": true, "session": "s1"})
            } else {
                json!({"error": {"code": 287637505, "message": "Invalid session in request data!"}, "id": v["id"], "result": false})
            };
            http("200 OK", &[], &reply.to_string())
        })
        .await;
        let s = Rpc2Session::login(&target(f.port, 1), &admin("rpcpw6")).await.unwrap();
        let err = s.keep_alive().await.unwrap_err();
        assert!(matches!(&err.kind, ErrorKind::Refused { reason } if reason.contains("invalid session")), "{err}");
        assert!(err.to_string().contains("global.keepAlive"), "{err}");
    })
    .await
}

// ---------------------------------------------------------------- RTSP

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=Media Server\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=0\r\n";

/// An RTSP recorder: OPTIONS open, DESCRIBE with Digest (no qop); `wrong_status` answers a wrong
/// password.
async fn rtsp_fake(password: &'static str, wrong_status: &'static str) -> Fake {
    Fake::start(move |req, _| {
        let cseq = req.header("CSeq").unwrap_or("0").to_owned();
        match req.method.as_str() {
            "OPTIONS" => rtsp("200 OK", &cseq, &["Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN"], ""),
            "DESCRIBE" if req.header("Authorization").is_none() => rtsp(
                "401 Unauthorized",
                &cseq,
                &["WWW-Authenticate: Digest realm=\"Login to SN0123456789\", nonce=\"rtsp-n1\""],
                "",
            ),
            "DESCRIBE" if req.digest_ok(REALM, "rtsp-n1", "admin", password) => {
                assert_eq!(req.header("Accept"), Some("application/sdp"));
                rtsp("200 OK", &cseq, &["Content-Type: application/sdp"], SDP)
            }
            _ => rtsp(
                wrong_status,
                &cseq,
                &["WWW-Authenticate: Digest realm=\"Login to SN0123456789\", nonce=\"rtsp-n1\""],
                "",
            ),
        }
    })
    .await
}

#[tokio::test]
async fn rtsp_options_and_describe_with_digest() {
    bounded(async {
        let f = rtsp_fake("rtsppw1", "401 Unauthorized").await;
        let t = target(1, f.port);
        let opts = Rtsp::options(&t).await.unwrap();
        assert_eq!((opts.status, opts.cseq), (200, Some(1)));
        assert!(opts.header("public").unwrap().contains("DESCRIBE"));
        assert_eq!(Rtsp::describe(&t, &admin("rtsppw1")).await.unwrap(), SDP);
        // OPTIONS, DESCRIBE, DESCRIBE with Digest: all on one connection, CSeq 1 to 3.
        let describe = &f.seen()[2];
        assert_eq!(describe.target, format!("rtsp://127.0.0.1:{}/cam/realmonitor?channel=1&subtype=0", f.port));
        assert_eq!(describe.header("CSeq"), Some("3"));
        assert_eq!(t.requests().rtsp_connections, 1, "{:?}", t.requests());
        // The next DESCRIBE answers the known challenge at once, on the same connection.
        assert_eq!(Rtsp::describe(&t, &admin("rtsppw1")).await.unwrap(), SDP);
        assert_eq!((t.requests().rtsp, t.requests().rtsp_connections), (4, 1));
        assert_eq!(f.seen()[3].header("CSeq"), Some("4"));
    })
    .await
}

#[tokio::test]
async fn rtsp_wrong_password_is_refused_and_403_is_locked() {
    bounded(async {
        let f = rtsp_fake("rtsppw2", "401 Unauthorized").await;
        assert_eq!(try_login(&target(1, f.port), Interface::Rtsp, &admin("bad")).await.unwrap(), LoginOutcome::Refused);
        assert_eq!(f.authenticated_attempts(), 1);
        let f = rtsp_fake("rtsppw2", "403 Forbidden").await;
        assert_eq!(
            try_login(&target(1, f.port), Interface::Rtsp, &admin("bad")).await.unwrap(),
            LoginOutcome::Locked { remaining_s: None }
        );
    })
    .await
}

#[tokio::test]
async fn rtsp_lf_only_replies_and_connection_close_are_tolerated() {
    bounded(async {
        let f = Fake::start(|req, _| {
            let cseq = req.header("CSeq").unwrap().to_owned();
            if req.header("Authorization").is_none() {
                Reply::RawThenClose(format!(
                    "RTSP/1.0 401 Unauthorized\nCSeq: {cseq}\nConnection: close\nWWW-Authenticate: Digest realm=\"{REALM}\", nonce=\"lf\"\n\n"
                ))
            } else if req.digest_ok(REALM, "lf", "admin", "rtsppw3") {
                let sdp = SDP.replace("\r\n", "\n");
                Reply::Raw(format!("RTSP/1.0 200 OK\nCSeq: {cseq}\nContent-Length: {}\n\n{sdp}", sdp.len()))
            } else {
                rtsp("401 Unauthorized", &cseq, &[], "")
            }
        })
        .await;
        let sdp = Rtsp::describe(&target(1, f.port), &admin("rtsppw3")).await.unwrap();
        assert!(sdp.starts_with("v=0\n") && sdp.contains("H264/90000"));
    })
    .await
}

#[tokio::test]
async fn rtsp_silence_times_out_naming_the_describe() {
    bounded(async {
        let f = Fake::start(|_, _| Reply::Silent).await;
        let err = Rtsp::describe(&target(1, f.port).with_timeout(SHORT), &admin("rtsppw4")).await.unwrap_err();
        match &err.kind {
            ErrorKind::Timeout { waited_for, after } => {
                assert!(waited_for.contains("RTSP response to DESCRIBE (CSeq 1)"), "{waited_for}");
                assert_eq!(*after, SHORT);
            }
            other => panic!("{other:?}"),
        }
    })
    .await
}

#[tokio::test]
async fn rtsp_truncated_sdp_is_a_protocol_error() {
    bounded(async {
        let f = Fake::start(|req, _| {
            let cseq = req.header("CSeq").unwrap().to_owned();
            if req.header("Authorization").is_none() {
                rtsp(
                    "401 Unauthorized",
                    &cseq,
                    &[&format!("WWW-Authenticate: Digest realm=\"{REALM}\", nonce=\"t\"")],
                    "",
                )
            } else {
                Reply::RawThenClose(format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Length: 400\r\n\r\nv=0\r\n"))
            }
        })
        .await;
        let err = Rtsp::describe(&target(1, f.port), &admin("rtsppw5")).await.unwrap_err();
        assert!(matches!(&err.kind, ErrorKind::Protocol { detail, .. } if detail.contains("truncated")), "{err}");
    })
    .await
}

// ---------------------------------------------------------------- redaction

#[tokio::test]
async fn no_password_appears_in_any_error_display_or_debug() {
    bounded(async {
        let secrets = ["leak-admin-1", "leak-new-22", "leak-old-333"];
        let c = admin(secrets[0]);
        let (new, old) = (Secret::new(secrets[1]), Secret::new(secrets[2]));
        let mut errors = Vec::new();

        // Refusal, timeout and protocol errors on every interface, each carrying passwords in the request.
        let refusing = Fake::start(|req, _| {
            if req.header("Authorization").is_some() {
                http("400 Bad Request", &[], "Error\r\nBad Request!\r\n")
            } else {
                http("401 Unauthorized", &[&challenge("r")], "")
            }
        })
        .await;
        let cgi = Cgi::new(&target(refusing.port, 1));
        errors.push(cgi.modify_password(&c, "admin", &new, &old).await.unwrap_err());
        errors.push(cgi.add_user(&c, "op", &new, "user").await.unwrap_err());
        errors.push(
            cgi.get(
                &c,
                &format!(
                    "/cgi-bin/userManager.cgi?action=modifyPassword&name=admin&pwd={}&pwdOld={}",
                    secrets[1], secrets[2]
                ),
            )
            .await
            .unwrap_err(),
        );
        errors.push(Rpc2Session::login(&target(refusing.port, 1), &c).await.unwrap_err());

        let silent = Fake::start(|_, _| Reply::Silent).await;
        let t = target(silent.port, silent.port).with_timeout(Duration::from_millis(200));
        errors.push(Cgi::new(&t).modify_password(&c, "admin", &new, &old).await.unwrap_err());
        errors.push(Rpc2Session::login(&t, &c).await.unwrap_err());
        errors.push(Rtsp::describe(&t, &c).await.unwrap_err());

        // A device that echoes the request (password included) in its error body.
        let echo = Fake::start(|req, _| {
            if req.header("Authorization").is_some() {
                http("500 Internal Server Error", &[], &format!("cannot handle {}", req.target))
            } else {
                http("401 Unauthorized", &[&challenge("e")], "")
            }
        })
        .await;
        errors.push(Cgi::new(&target(echo.port, 1)).modify_password(&c, "admin", &new, &old).await.unwrap_err());

        let rpc = rpc2_fake(secrets[0], false).await;
        let s = Rpc2Session::login(&target(rpc.port, 1), &c).await.unwrap();
        errors.push(s.modify_password("admin", &new, &Secret::new("leak-wrong-4444")).await.unwrap_err());

        for e in &errors {
            assert_no_secret(e, &["leak-admin-1", "leak-new-22", "leak-old-333", "leak-wrong-4444"]);
        }
        assert_eq!(errors.len(), 9);
    })
    .await
}
