//! HTTP CGI, RPC2 and RTSP of a conforming emulated recorder, driven over real sockets by curl,
//! ffmpeg and a tiny hand-written client.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

#[tokio::test]
async fn curl_digest_gets_machine_name_serial_and_version() {
    if !have("curl") {
        return;
    }
    let rec = start().await;
    let (code, body) =
        curl(&["--digest", "-u", "admin:000000", &cgi_url(&rec, "magicBox.cgi?action=getMachineName")]).await;
    assert_eq!((code, body.as_str()), (200, "name=FLIR-DVR\r\n"));
    let (code, body) =
        curl(&["--digest", "-u", "admin:000000", &cgi_url(&rec, "magicBox.cgi?action=getSerialNo")]).await;
    assert_eq!((code, body), (200, format!("sn={}\r\n", rec.serial())));
    let (_, body) =
        curl(&["--digest", "-u", "admin:000000", &cgi_url(&rec, "magicBox.cgi?action=getSoftwareVersion")]).await;
    assert_eq!(body, "version=3.210.0001.0,build:2016-11-18\r\n");
    let (_, body) =
        curl(&["--digest", "-u", "admin:000000", &cgi_url(&rec, "magicBox.cgi?action=getSystemInfo")]).await;
    assert!(body.lines().count() >= 3 && body.contains(&format!("serialNumber={}", rec.serial())), "{body}");
    rec.shutdown().await;
}

#[tokio::test]
async fn curl_with_wrong_password_gets_401() {
    if !have("curl") {
        return;
    }
    let rec = start().await;
    let (code, _) =
        curl(&["--digest", "-u", "admin:000001", &cgi_url(&rec, "magicBox.cgi?action=getMachineName")]).await;
    assert_eq!(code, 401);
    let (code, _) =
        curl(&["--digest", "-u", "nobody:000000", &cgi_url(&rec, "magicBox.cgi?action=getMachineName")]).await;
    assert_eq!(code, 401);
    assert_eq!(rec.stats().login_failures, 2);
    rec.shutdown().await;
}

#[tokio::test]
async fn basic_credentials_get_a_digest_challenge() {
    let rec = start().await;
    let path = "/cgi-bin/magicBox.cgi?action=getMachineName";
    let r =
        http(rec.http_addr(), "GET", path, &[("Authorization", "Basic YWRtaW46MDAwMDAw".into())], "").await.unwrap();
    assert_eq!(r.status, 401);
    let ch = r.header("WWW-Authenticate").unwrap();
    assert!(ch.starts_with("Digest "), "{ch}");
    assert_eq!(param(ch, "realm").unwrap(), rec.realm());
    assert_eq!(rec.realm(), format!("Login to {}", rec.serial()));
    assert_eq!(param(ch, "qop").unwrap(), "auth");
    assert!(param(ch, "nonce").is_some() && param(ch, "opaque").is_some(), "{ch}");
    if have("curl") {
        let (code, _) =
            curl(&["--basic", "-u", "admin:000000", &cgi_url(&rec, "magicBox.cgi?action=getMachineName")]).await;
        assert_eq!(code, 401);
        // curl --anyauth picks Digest from the challenge.
        let (code, body) =
            curl(&["--anyauth", "-u", "admin:000000", &cgi_url(&rec, "magicBox.cgi?action=getMachineName")]).await;
        assert_eq!((code, body.as_str()), (200, "name=FLIR-DVR\r\n"));
    }
    rec.shutdown().await;
}

#[tokio::test]
async fn expired_nonce_is_answered_stale() {
    let rec = start_with(&[], |c| c.profile.sessions.digest_nonce_lifetime_s = 1).await;
    let path = "/cgi-bin/magicBox.cgi?action=getDeviceType";
    let first = http(rec.http_addr(), "GET", path, &[], "").await.unwrap();
    let ch = first.header("WWW-Authenticate").unwrap().to_owned();
    let nonce = param(&ch, "nonce").unwrap();
    // Let the nonce age past its lifetime (a model delay, not a wait on a condition).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let auth = digest_header("admin", "000000", &rec.realm(), &nonce, "GET", path, true, None);
    let r = http(rec.http_addr(), "GET", path, &[("Authorization", auth)], "").await.unwrap();
    assert_eq!(r.status, 401);
    assert!(r.header("WWW-Authenticate").unwrap().contains("stale=true"), "{:?}", r.headers);
    assert_eq!(rec.stats().login_failures, 0, "a stale nonce with the right password is no failure");
    let r = cgi(rec.http_addr(), path, "admin", "000000").await;
    assert_eq!((r.status, r.body.as_str()), (200, "type=DNR216\r\n"));
    rec.shutdown().await;
}

#[tokio::test]
async fn user_manager_lists_users_and_groups_without_passwords() {
    let rec = start().await;
    let a = rec.http_addr();
    let r = cgi(a, "/cgi-bin/userManager.cgi?action=getUserInfoAll", "admin", "000000").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("users[0].Name=admin\r\n") && r.body.contains("users[0].Group=admin\r\n"), "{}", r.body);
    assert!(!r.body.contains("000000"));
    let r = cgi(a, "/cgi-bin/userManager.cgi?action=getUserInfo&name=admin", "admin", "000000").await;
    assert!(r.body.contains("user.Name=admin"), "{}", r.body);
    let r = cgi(a, "/cgi-bin/userManager.cgi?action=getGroupInfoAll", "admin", "000000").await;
    assert!(r.body.contains("groups[0].Name=admin") && r.body.contains("groups[1].Name=user"), "{}", r.body);
    let r = cgi(a, "/cgi-bin/userManager.cgi?action=getActiveUserInfoAll", "admin", "000000").await;
    assert!(r.body.contains("users[0].Name=admin"), "{}", r.body);
    let r = cgi(a, "/cgi-bin/magicBox.cgi?action=noSuchThing", "admin", "000000").await;
    assert_eq!((r.status, r.body.as_str()), (400, "Error\r\nBad Request!\r\n"));
    rec.shutdown().await;
}

#[tokio::test]
async fn old_password_is_refused_on_http_rpc2_and_rtsp_after_change_via_curl() {
    if !have("curl") {
        return;
    }
    let rec = start().await;
    let (code, body) = curl(&[
        "--digest",
        "-u",
        "admin:000000",
        &cgi_url(&rec, "userManager.cgi?action=modifyPassword&name=admin&pwd=abc123&pwdOld=000000"),
    ])
    .await;
    assert_eq!((code, body.as_str()), (200, "OK\r\n"));
    assert_eq!(rec.stats().password_changes, 1);

    let (code, _) =
        curl(&["--digest", "-u", "admin:000000", &cgi_url(&rec, "magicBox.cgi?action=getMachineName")]).await;
    assert_eq!(code, 401, "old password on HTTP");
    let (code, _) =
        curl(&["--digest", "-u", "admin:abc123", &cgi_url(&rec, "magicBox.cgi?action=getMachineName")]).await;
    assert_eq!(code, 200, "new password on HTTP");

    let err = rpc2_login(rec.http_addr(), "admin", "000000").await.unwrap_err();
    assert_eq!(err["error"]["code"], json!(268632085), "old password on RPC2: {err}");
    rpc2_login(rec.http_addr(), "admin", "abc123").await.expect("new password on RPC2");

    assert_eq!(rtsp_describe(rec.rtsp_addr(), "admin", "000000").await.0, 401, "old password on RTSP");
    let (status, sdp) = rtsp_describe(rec.rtsp_addr(), "admin", "abc123").await;
    assert_eq!(status, 200, "new password on RTSP");
    assert!(sdp.contains("m=video") && sdp.contains("H264/90000"), "{sdp}");
    rec.shutdown().await;
}

#[tokio::test]
async fn percent_encoded_query_values_are_decoded() {
    let rec = start_with(&[], |c| c.profile.password_rule.charset = resetlab_profile::Charset::PrintableAscii).await;
    let r = cgi(
        rec.http_addr(),
        "/cgi-bin/userManager.cgi?action=modifyPassword&name=admin&pwd=a%26b%3D12&pwdOld=000000",
        "admin",
        "000000",
    )
    .await;
    assert_eq!((r.status, r.body.as_str()), (200, "OK\r\n"));
    let r = cgi(rec.http_addr(), "/cgi-bin/magicBox.cgi?action=getMachineName", "admin", "a&b=12").await;
    assert_eq!(r.status, 200);
    rec.shutdown().await;
}

#[tokio::test]
async fn password_rule_refuses_5_and_7_characters_without_truncation() {
    let rec = start().await;
    let a = rec.http_addr();
    // flir-2017 allows printable ASCII without the space.
    for bad in ["abc12", "abc1234", "abc 12"] {
        let path = format!(
            "/cgi-bin/userManager.cgi?action=modifyPassword&name=admin&pwd={}&pwdOld=000000",
            bad.replace(' ', "%20")
        );
        let r = cgi(a, &path, "admin", "000000").await;
        assert_eq!(r.status, 400, "{bad} refused");
        assert!(r.body.starts_with("Error\r\n"), "{}", r.body);
        assert!(!r.body.contains(bad), "the refusal does not echo the password");
    }
    // Nothing changed, nothing truncated or padded.
    assert_eq!(cgi(a, "/cgi-bin/magicBox.cgi?action=getMachineName", "admin", "000000").await.status, 200);
    assert_eq!(cgi(a, "/cgi-bin/magicBox.cgi?action=getMachineName", "admin", "abc123").await.status, 401);
    assert_eq!(rec.stats().password_changes, 0);
    rec.shutdown().await;
}

#[tokio::test]
async fn wrong_old_password_is_refused() {
    let rec = start().await;
    let r = cgi(
        rec.http_addr(),
        "/cgi-bin/userManager.cgi?action=modifyPassword&name=admin&pwd=abc123&pwdOld=999999",
        "admin",
        "000000",
    )
    .await;
    assert_eq!(r.status, 400);
    let r =
        cgi(rec.http_addr(), "/cgi-bin/userManager.cgi?action=modifyPassword&name=admin&pwd=abc123", "admin", "000000")
            .await;
    assert_eq!(r.status, 400);
    assert_eq!(rec.stats().password_changes, 0);
    rec.shutdown().await;
}

#[tokio::test]
async fn secondary_user_cannot_change_admin_password_or_add_users() {
    let rec = start().await;
    let a = rec.http_addr();
    let add = "/cgi-bin/userManager.cgi?action=addUser&user.Name=guest&user.Password=guest1&user.Group=user&user.Sharable=true&user.Reserved=false";
    assert_eq!(cgi(a, add, "admin", "000000").await.body, "OK\r\n");
    let r =
        cgi(a, "/cgi-bin/userManager.cgi?action=modifyPassword&name=admin&pwd=abc123&pwdOld=000000", "guest", "guest1")
            .await;
    assert_eq!(r.status, 400);
    assert!(r.body.starts_with("Error\r\n"));
    let r =
        cgi(a, "/cgi-bin/userManager.cgi?action=modifyPassword&name=guest&pwd=guest2&pwdOld=guest1", "guest", "guest1")
            .await;
    assert_eq!(r.status, 400, "the profile does not let a user change its own password");
    let r = cgi(
        a,
        "/cgi-bin/userManager.cgi?action=addUser&user.Name=x&user.Password=xxxxx1&user.Group=admin",
        "guest",
        "guest1",
    )
    .await;
    assert_eq!(r.status, 400);
    // Over RPC2 too.
    let s = rpc2_login(a, "guest", "guest1").await.unwrap();
    let r =
        rpc2_call(a, &s, "userManager.modifyPassword", json!({"name": "admin", "pwd": "abc123", "pwdOld": "000000"}))
            .await;
    assert_eq!(r["result"], json!(false), "{r}");
    assert_eq!(cgi(a, "/cgi-bin/magicBox.cgi?action=getMachineName", "admin", "000000").await.status, 200);
    assert_eq!(cgi(a, "/cgi-bin/userManager.cgi?action=deleteUser&name=guest", "admin", "000000").await.body, "OK\r\n");
    assert_eq!(cgi(a, "/cgi-bin/magicBox.cgi?action=getMachineName", "guest", "guest1").await.status, 401);
    rec.shutdown().await;
}

#[tokio::test]
async fn rpc2_two_step_login_keepalive_change_and_logout() {
    let rec = start().await;
    let a = rec.http_addr();
    let first = rpc2_post(a, "/RPC2_Login", &json!({"method": "global.login", "params": {"userName": "admin", "password": "", "clientType": "Web3.0"}, "id": 1})).await;
    assert_eq!(first["error"]["code"], json!(268632079));
    assert_eq!(first["params"]["realm"], json!(rec.realm()));
    assert_eq!(first["params"]["encryption"], json!("Default"));
    assert_eq!(first["result"], json!(false));
    assert_eq!(first["id"], json!(1));

    let s = rpc2_login(a, "admin", "000000").await.expect("login");
    let r = rpc2_call(a, &s, "global.keepAlive", json!({"timeout": 60})).await;
    assert_eq!(r["result"], json!(true), "{r}");
    let r =
        rpc2_call(a, &s, "userManager.modifyPassword", json!({"name": "admin", "pwd": "new123", "pwdOld": "000000"}))
            .await;
    assert_eq!(r["result"], json!(true), "{r}");
    assert_eq!(cgi(a, "/cgi-bin/magicBox.cgi?action=getMachineName", "admin", "new123").await.status, 200);
    let r = rpc2_call(a, &s, "global.logout", json!(null)).await;
    assert_eq!(r["result"], json!(true));
    let r = rpc2_call(a, &s, "global.keepAlive", json!({"timeout": 60})).await;
    assert_eq!(r["error"]["code"], json!(287637505), "{r}");
    rec.shutdown().await;
}

#[tokio::test]
async fn other_rpc2_sessions_end_when_the_password_changes() {
    let rec = start().await;
    let a = rec.http_addr();
    let other = rpc2_login(a, "admin", "000000").await.unwrap();
    let me = rpc2_login(a, "admin", "000000").await.unwrap();
    let r =
        rpc2_call(a, &me, "userManager.modifyPassword", json!({"name": "admin", "pwd": "new123", "pwdOld": "000000"}))
            .await;
    assert_eq!(r["result"], json!(true));
    assert_eq!(rpc2_call(a, &other, "global.keepAlive", json!({})).await["error"]["code"], json!(287637505));
    assert_eq!(rpc2_call(a, &me, "global.keepAlive", json!({})).await["result"], json!(true));
    rec.shutdown().await;
}

#[tokio::test]
async fn rpc2_session_expires_without_keepalive() {
    let rec = start_with(&[], |c| c.profile.sessions.rpc2_timeout_s = 1).await;
    let s = rpc2_login(rec.http_addr(), "admin", "000000").await.unwrap();
    // Let the session idle past its timeout (a model delay).
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let r = rpc2_call(rec.http_addr(), &s, "global.keepAlive", json!({})).await;
    assert_eq!(r["error"]["code"], json!(287637505), "{r}");
    rec.shutdown().await;
}

#[tokio::test]
async fn rpc2_loopback_and_local_client_types_do_not_bypass_the_password() {
    let rec = start().await;
    for (client, login) in [("Local", "Loopback"), ("NetKeyboard", "Direct"), ("Loopback", "Local")] {
        let err = rpc2_login_as(rec.http_addr(), "admin", "wrong0", client, login).await.unwrap_err();
        assert_eq!(err["error"]["code"], json!(268632085), "{client}/{login}: {err}");
    }
    rpc2_login_as(rec.http_addr(), "admin", "000000", "Local", "Loopback")
        .await
        .expect("the right password still works");
    rec.shutdown().await;
}

#[tokio::test]
async fn wrong_passwords_on_http_lock_the_account_on_rpc2_and_rtsp() {
    let rec = start().await;
    let a = rec.http_addr();
    for _ in 0..5 {
        assert_eq!(cgi(a, "/cgi-bin/magicBox.cgi?action=getMachineName", "admin", "bad000").await.status, 401);
    }
    assert_eq!(rec.stats().lockouts_engaged, 1);
    let r = cgi(a, "/cgi-bin/magicBox.cgi?action=getMachineName", "admin", "000000").await;
    assert_eq!(r.status, 401);
    assert!(r.body.to_ascii_lowercase().contains("lock"), "{}", r.body);
    let err = rpc2_login(a, "admin", "000000").await.unwrap_err();
    assert_eq!(err["error"]["code"], json!(268632081), "{err}");
    assert!(err["params"]["remainLockSeconds"].as_u64().unwrap() > 0);
    let (status, _) = rtsp_describe(rec.rtsp_addr(), "admin", "000000").await;
    assert_eq!(status, 403);
    rec.shutdown().await;
}

#[tokio::test]
async fn wrong_passwords_on_rtsp_and_rpc2_count_toward_one_lockout() {
    let rec = start().await;
    for _ in 0..2 {
        assert_eq!(rtsp_describe(rec.rtsp_addr(), "admin", "bad000").await.0, 401);
    }
    for _ in 0..3 {
        rpc2_login(rec.http_addr(), "admin", "bad000").await.unwrap_err();
    }
    assert_eq!(rec.stats().lockouts_engaged, 1);
    assert_eq!(
        cgi(rec.http_addr(), "/cgi-bin/magicBox.cgi?action=getMachineName", "admin", "000000").await.status,
        401
    );
    rec.shutdown().await;
}

#[tokio::test]
async fn ffmpeg_streams_with_the_right_password_only() {
    if !have("ffmpeg") {
        return;
    }
    let rec = start().await;
    let run = |pw: &'static str| {
        let url = format!("rtsp://admin:{pw}@{}/cam/realmonitor?channel=1&subtype=0", rec.rtsp_addr());
        async move {
            let out = tokio::time::timeout(
                STEP,
                tokio::process::Command::new("ffmpeg")
                    .args([
                        "-nostdin",
                        "-hide_banner",
                        "-loglevel",
                        "debug",
                        "-rtsp_transport",
                        "tcp",
                        "-i",
                        &url,
                        "-t",
                        "0.1",
                        "-f",
                        "null",
                        "-",
                    ])
                    .kill_on_drop(true)
                    .output(),
            )
            .await
            .expect("ffmpeg finished within the step deadline")
            .expect("ffmpeg runs");
            (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
        }
    };
    let (ok, good) = run("000000").await;
    assert!(good.contains("SDP:") && good.contains("H264"), "ffmpeg read the SDP:\n{good}");
    // ffmpeg names a method only when it fails ("method SETUP failed: 461 ...").
    assert!(
        !good.contains("method SETUP failed") && !good.contains("method PLAY failed"),
        "ffmpeg got past DESCRIBE through SETUP and PLAY:\n{good}"
    );
    let decoded: u32 = good
        .lines()
        .find_map(|l| l.split_once(" frames successfully decoded"))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(decoded > 0, "ffmpeg decoded frames of the stream:\n{good}");
    assert!(ok, "ffmpeg exited cleanly:\n{good}");
    assert!(!good.contains("401 Unauthorized"), "{good}");
    let (ok, bad) = run("111111").await;
    assert!(!ok, "ffmpeg failed with a wrong password");
    assert!(bad.contains("401"), "ffmpeg was refused:\n{bad}");
    rec.shutdown().await;
}

#[tokio::test]
async fn many_recorders_run_side_by_side() {
    let recs = futures_join(4).await;
    let mut serials: Vec<String> = recs.iter().map(|r| r.serial()).collect();
    serials.sort();
    serials.dedup();
    assert_eq!(serials.len(), 4);
    for r in &recs {
        assert_eq!(
            cgi(r.http_addr(), "/cgi-bin/magicBox.cgi?action=getSerialNo", "admin", "000000").await.body,
            format!("sn={}\r\n", r.serial())
        );
        r.shutdown().await;
    }
}

async fn futures_join(n: usize) -> Vec<resetlab_emulator::Recorder> {
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        set.spawn(start_with(&[], move |c| c.instance = Some(format!("M{i}"))));
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.unwrap());
    }
    out
}
