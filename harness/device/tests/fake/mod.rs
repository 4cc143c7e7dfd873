//! Scripted fake recorders for the integration tests: a TCP listener on 127.0.0.1 port 0 that reads
//! HTTP- or RTSP-shaped requests and answers each with whatever the test's script says — including
//! never answering, truncating, or answering garbage — and records every request it saw.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use resetlab_wire::digest;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Parameter of the `Authorization: Digest …` header.
    pub fn auth_param(&self, name: &str) -> Option<String> {
        let h = self.header("Authorization")?.strip_prefix("Digest ")?;
        split_params(h).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// True when the Digest answer is right for `user`/`password` with `realm`/`nonce`.
    pub fn digest_ok(&self, realm: &str, nonce: &str, user: &str, password: &str) -> bool {
        let (Some(u), Some(uri), Some(resp), Some(n)) = (
            self.auth_param("username"),
            self.auth_param("uri"),
            self.auth_param("response"),
            self.auth_param("nonce"),
        ) else {
            return false;
        };
        if u != user || n != nonce || uri != self.target {
            return false;
        }
        let ha1 = digest::ha1(user, realm, password);
        let ha2 = digest::ha2(&self.method, &uri);
        let expected = match (self.auth_param("qop"), self.auth_param("nc"), self.auth_param("cnonce")) {
            (Some(_), Some(nc), Some(cnonce)) => {
                digest::response(&ha1, nonce, Some(digest::QopAuth { nc: &nc, cnonce: &cnonce }), &ha2)
            }
            _ => digest::response(&ha1, nonce, None, &ha2),
        };
        resp == expected
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("JSON request body")
    }
}

fn split_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().trim_start_matches(',').trim().to_owned();
        rest = &rest[eq + 1..];
        let value;
        if let Some(r) = rest.strip_prefix('"') {
            let end = r.find('"').unwrap_or(r.len());
            value = r[..end].to_owned();
            rest = r.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_owned();
            rest = &rest[end..];
        }
        out.push((key, value));
        rest = rest.trim_start_matches([',', ' ']);
    }
    out
}

/// What the fake does with one request.
pub enum Reply {
    /// Write these bytes and keep the connection open for the next request.
    Raw(String),
    /// Write these bytes and close.
    RawThenClose(String),
    /// Read the request and never answer.
    Silent,
}

/// A complete HTTP/1.1 response with Content-Length.
pub fn http(status: &str, headers: &[&str], body: &str) -> Reply {
    let mut s = format!("HTTP/1.1 {status}\r\n");
    for h in headers {
        s.push_str(h);
        s.push_str("\r\n");
    }
    s.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    Reply::Raw(s)
}

/// A complete RTSP/1.0 response echoing `cseq`, with Content-Length when there is a body.
pub fn rtsp(status: &str, cseq: &str, headers: &[&str], body: &str) -> Reply {
    let mut s = format!("RTSP/1.0 {status}\r\nCSeq: {cseq}\r\n");
    for h in headers {
        s.push_str(h);
        s.push_str("\r\n");
    }
    if !body.is_empty() {
        s.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    s.push_str("\r\n");
    s.push_str(body);
    Reply::Raw(s)
}

type Script = dyn Fn(&Request, usize) -> Reply + Send + Sync;

/// A running fake.
pub struct Fake {
    pub port: u16,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl Fake {
    /// Start a fake whose `script` answers request number `n` (0-based, across connections).
    pub async fn start(script: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let seen2 = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let (script, seen) = (script.clone(), seen2.clone());
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut r = BufReader::new(r);
                    while let Some(req) = read_request(&mut r).await {
                        let n = {
                            let mut s = seen.lock().unwrap();
                            s.push(req.clone());
                            s.len() - 1
                        };
                        match script(&req, n) {
                            Reply::Raw(bytes) => {
                                if w.write_all(bytes.as_bytes()).await.is_err() {
                                    return;
                                }
                            }
                            Reply::RawThenClose(bytes) => {
                                let _ = w.write_all(bytes.as_bytes()).await;
                                let _ = w.shutdown().await;
                                return;
                            }
                            Reply::Silent => {
                                std::future::pending::<()>().await;
                            }
                        }
                    }
                });
            }
        });
        Fake { port, seen }
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }

    /// Requests that carried an Authorization header.
    pub fn authenticated_attempts(&self) -> usize {
        self.seen().iter().filter(|r| r.header("Authorization").is_some()).count()
    }
}

async fn read_request<R: tokio::io::AsyncRead + Unpin>(r: &mut BufReader<R>) -> Option<Request> {
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':')?;
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).await.ok()?;
    Some(Request { method, target, headers, body: String::from_utf8_lossy(&body).into_owned() })
}
