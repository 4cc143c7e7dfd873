//! A tiny hand-written client for the emulator's tests (raw HTTP/1.1, RPC2 JSON, RTSP), plus
//! helpers to run curl/ffmpeg and to wait on conditions with deadlines. Deliberately independent
//! of resetlab-device, so that a bug shared by both sides cannot hide.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use resetlab_emulator::{Defect, Recorder, RecorderConfig};
use resetlab_wire::digest::{QopAuth, ha1, ha2, response};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Every network step in these tests gives up after this.
pub const STEP: Duration = Duration::from_secs(10);

pub async fn start_with(defects: &[Defect], tweak: impl FnOnce(&mut RecorderConfig)) -> Recorder {
    let mut cfg = RecorderConfig::new(resetlab_profile::flir_2017());
    cfg.defects = defects.to_vec();
    cfg.instance = Some(format!("T{}", std::process::id() % 10000));
    tweak(&mut cfg);
    tokio::time::timeout(Duration::from_secs(20), Recorder::start(cfg))
        .await
        .expect("recorder start timed out")
        .expect("recorder starts")
}

pub async fn start() -> Recorder {
    start_with(&[], |_| {}).await
}

/// Wait until `cond` holds, polling; panics naming `what` at the deadline.
pub async fn wait_until<F, Fut>(what: &str, deadline: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + deadline;
    loop {
        if cond().await {
            return;
        }
        if tokio::time::Instant::now() >= end {
            panic!("timed out after {deadline:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One raw HTTP/1.1 exchange (Connection: close).
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &str,
) -> std::io::Result<HttpReply> {
    tokio::time::timeout(STEP, async {
        let mut s = TcpStream::connect(addr).await?;
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() || method == "POST" {
            req.push_str(&format!("Content-Length: {}\r\nContent-Type: application/json\r\n", body.len()));
        }
        req.push_str("\r\n");
        req.push_str(body);
        s.write_all(req.as_bytes()).await?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await?;
        Ok(parse_reply(&String::from_utf8_lossy(&raw)))
    })
    .await
    .map_err(|_| std::io::Error::other(format!("no HTTP reply within {STEP:?}")))?
}

fn parse_reply(raw: &str) -> HttpReply {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
    HttpReply { status, headers, body: body.to_owned() }
}

/// `key="value"` or `key=value` from a challenge header.
pub fn param(header: &str, key: &str) -> Option<String> {
    let i = header.find(&format!("{key}="))?;
    let rest = &header[i + key.len() + 1..];
    Some(if let Some(r) = rest.strip_prefix('"') {
        r[..r.find('"')?].to_owned()
    } else {
        rest.split(',').next()?.trim().to_owned()
    })
}

/// GET a CGI path with Digest (qop=auth), as a browser does: unauthenticated first, then answer.
pub async fn cgi(addr: SocketAddr, path: &str, user: &str, password: &str) -> HttpReply {
    let first = http(addr, "GET", path, &[], "").await.expect("first CGI request");
    if first.status != 401 {
        return first;
    }
    let ch = first.header("WWW-Authenticate").expect("401 has a challenge").to_owned();
    let (realm, nonce) = (param(&ch, "realm").unwrap(), param(&ch, "nonce").unwrap());
    let auth = digest_header(user, password, &realm, &nonce, "GET", path, true, param(&ch, "opaque"));
    http(addr, "GET", path, &[("Authorization", auth)], "").await.expect("authenticated CGI request")
}

/// A `qop=auth` Digest answer with the nonce count `nc` (8 hex digits), as a client that reuses a
/// nonce sends it.
pub fn digest_header_nc(
    user: &str,
    password: &str,
    realm: &str,
    nonce: &str,
    method: &str,
    uri: &str,
    nc: &str,
) -> String {
    let r = response(&ha1(user, realm, password), nonce, Some(QopAuth { nc, cnonce: "0a4f113b" }), &ha2(method, uri));
    format!(
        r#"Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", qop=auth, nc={nc}, cnonce="0a4f113b", response="{r}""#
    )
}

#[allow(clippy::too_many_arguments)]
pub fn digest_header(
    user: &str,
    password: &str,
    realm: &str,
    nonce: &str,
    method: &str,
    uri: &str,
    qop: bool,
    opaque: Option<String>,
) -> String {
    let h1 = ha1(user, realm, password);
    let h2 = ha2(method, uri);
    let opaque = opaque.map(|o| format!(", opaque=\"{o}\"")).unwrap_or_default();
    if qop {
        let r = response(&h1, nonce, Some(QopAuth { nc: "00000001", cnonce: "0a4f113b" }), &h2);
        format!(
            r#"Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", qop=auth, nc=00000001, cnonce="0a4f113b", response="{r}"{opaque}"#
        )
    } else {
        let r = response(&h1, nonce, None, &h2);
        format!(r#"Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", response="{r}""#)
    }
}

/// POST an RPC2 body; returns the JSON reply.
pub async fn rpc2_post(addr: SocketAddr, path: &str, body: &Value) -> Value {
    let r = http(addr, "POST", path, &[], &body.to_string()).await.expect("RPC2 request");
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("RPC2 reply is not JSON ({e}): {}", r.body))
}

/// Two-step `global.login`; `Ok(session)` or `Err(reply)` of the step that failed.
pub async fn rpc2_login_as(
    addr: SocketAddr,
    user: &str,
    password: &str,
    client_type: &str,
    login_type: &str,
) -> Result<String, Value> {
    let first = rpc2_post(
        addr,
        "/RPC2_Login",
        &json!({"method": "global.login", "params": {"userName": user, "password": "", "clientType": client_type, "loginType": login_type}, "id": 1}),
    )
    .await;
    if first["result"] == json!(true) {
        return Ok(first["session"].as_str().unwrap().to_owned());
    }
    if first["error"]["code"] != json!(268632079) {
        return Err(first);
    }
    let realm = first["params"]["realm"].as_str().unwrap();
    let random = first["params"]["random"].as_str().unwrap();
    assert_eq!(first["params"]["encryption"], json!("Default"));
    let hash = resetlab_wire::rpc2::login_hash(user, realm, random, password);
    let second = rpc2_post(
        addr,
        "/RPC2_Login",
        &json!({"method": "global.login", "params": {"userName": user, "password": hash, "clientType": client_type, "loginType": login_type, "passwordType": "Default"}, "session": first["session"], "id": 2}),
    )
    .await;
    if second["result"] == json!(true) { Ok(second["session"].as_str().unwrap().to_owned()) } else { Err(second) }
}

/// The published pass-the-hash login: the second `global.login` computed from a stored hash
/// (`UPPER(MD5(user:realm:password))`) instead of the password.
pub async fn rpc2_login_with_stored_hash(addr: SocketAddr, user: &str, stored: &str) -> Result<String, Value> {
    let first = rpc2_post(
        addr,
        "/RPC2_Login",
        &json!({"method": "global.login", "params": {"userName": user, "password": "", "clientType": "Web3.0", "loginType": "Direct"}, "id": 1}),
    )
    .await;
    assert_eq!(first["error"]["code"], json!(268632079), "{first}");
    let random = first["params"]["random"].as_str().unwrap();
    let hash = resetlab_wire::rpc2::login_hash_from_stored(user, random, stored);
    let second = rpc2_post(
        addr,
        "/RPC2_Login",
        &json!({"method": "global.login", "params": {"userName": user, "password": hash, "clientType": "Web3.0", "loginType": "Direct", "passwordType": "Default"}, "session": first["session"], "id": 2}),
    )
    .await;
    if second["result"] == json!(true) { Ok(second["session"].as_str().unwrap().to_owned()) } else { Err(second) }
}

pub async fn rpc2_login(addr: SocketAddr, user: &str, password: &str) -> Result<String, Value> {
    rpc2_login_as(addr, user, password, "Web3.0", "Direct").await
}

pub async fn rpc2_call(addr: SocketAddr, session: &str, method: &str, params: Value) -> Value {
    rpc2_post(addr, "/RPC2", &json!({"method": method, "params": params, "session": session, "id": 7})).await
}

/// An RTSP exchange on one connection: OPTIONS, DESCRIBE, and DESCRIBE with Digest when challenged.
/// Returns (status of the last DESCRIBE, its body).
pub async fn rtsp_describe(addr: SocketAddr, user: &str, password: &str) -> (u16, String) {
    rtsp_describe_stream(addr, 0, user, password).await
}

/// [`rtsp_describe`] of channel 1's stream `subtype` (0 main, 1 sub).
pub async fn rtsp_describe_stream(addr: SocketAddr, subtype: u32, user: &str, password: &str) -> (u16, String) {
    tokio::time::timeout(STEP, async {
        let mut s = TcpStream::connect(addr).await.expect("RTSP connect");
        let url = format!("rtsp://{addr}/cam/realmonitor?channel=1&subtype={subtype}");
        let (st, _, _) = rtsp_exchange(&mut s, &format!("OPTIONS {url} RTSP/1.0\r\nCSeq: 1\r\n\r\n"), 1).await;
        assert_eq!(st, 200, "OPTIONS needs no credentials");
        let (st, head, body) =
            rtsp_exchange(&mut s, &format!("DESCRIBE {url} RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n\r\n"), 2)
                .await;
        if st != 401 {
            return (st, body);
        }
        let ch = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("www-authenticate:"))
            .expect("401 has a challenge")
            .to_owned();
        assert!(!ch.contains("qop"), "RTSP Digest has no qop: {ch}");
        let (realm, nonce) = (param(&ch, "realm").unwrap(), param(&ch, "nonce").unwrap());
        let auth = digest_header(user, password, &realm, &nonce, "DESCRIBE", &url, false, None);
        let (st, _, body) = rtsp_exchange(
            &mut s,
            &format!("DESCRIBE {url} RTSP/1.0\r\nCSeq: 3\r\nAuthorization: {auth}\r\nAccept: application/sdp\r\n\r\n"),
            3,
        )
        .await;
        (st, body)
    })
    .await
    .expect("RTSP exchange within the step deadline")
}

/// One RTSP request on an open connection; (status, head, body) of its reply.
pub async fn rtsp_exchange(s: &mut TcpStream, req: &str, cseq: u32) -> (u16, String, String) {
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).await.unwrap();
        assert!(n > 0, "RTSP server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len: usize = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                .unwrap_or(0);
            if body.len() >= len {
                assert!(head.contains(&format!("CSeq: {cseq}")), "CSeq echoed: {head}");
                let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
                return (status, head.to_owned(), body.to_owned());
            }
        }
    }
}

/// Whether `tool` can run; when it cannot, a test must fail under CI and be skipped (with a note)
/// elsewhere.
pub fn have(tool: &str) -> bool {
    let ok = std::process::Command::new(tool).arg("-version").output().is_ok();
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("{tool} is required under CI but is not installed");
        }
        eprintln!("note: {tool} is not installed; skipping this test");
    }
    ok
}

/// Run curl with a deadline; returns (HTTP status, body).
pub async fn curl(args: &[&str]) -> (u16, String) {
    let out = tokio::time::timeout(
        STEP,
        tokio::process::Command::new("curl")
            .args(["-s", "-S", "--max-time", "8", "-w", "\n%{http_code}"])
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("curl finished within the step deadline")
    .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

pub fn cgi_url(rec: &Recorder, query: &str) -> String {
    format!("http://{}/cgi-bin/{query}", rec.http_addr())
}
