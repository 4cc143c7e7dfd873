//! The RTSP server (port 554 on hardware), hand-written over TCP: OPTIONS without credentials,
//! DESCRIBE of `/cam/realmonitor?channel=1&subtype=0` with Digest (RFC 2069, no qop) answered by an
//! SDP for one H.264 track. SETUP is refused cleanly (no media is emulated): the point is who gets in.
//! It authenticates against the same accounts and lockout as HTTP and RPC2.

use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::accounts::Via;
use crate::digest::{DigestAuth, NonceState};
use crate::firmware::{Auth, Firmware};

/// Largest request head the daemon reads.
const MAX_HEAD: usize = 16 * 1024;

/// One H.264 Main-profile track, parameter sets of a 704x576 stream.
const SDP_MEDIA: &str = "m=video 0 RTP/AVP 96\r\n\
a=control:trackID=0\r\n\
a=framerate:25.000000\r\n\
a=rtpmap:96 H264/90000\r\n\
a=fmtp:96 packetization-mode=1;profile-level-id=4D001E;sprop-parameter-sets=Z00AHpWoLASZ,aO48gA==\r\n\
a=recvonly\r\n";

/// Accept and serve until aborted; dropping this future drops every connection.
pub(crate) async fn serve(listener: TcpListener, fw: Arc<Firmware>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                match accepted {
                    Ok((stream, _)) => {
                        let fw = Arc::clone(&fw);
                        conns.spawn(async move {
                            if let Err(e) = connection(stream, &fw).await {
                                tracing::debug!(serial = %fw.serial, error = %e, "RTSP connection ended with an error");
                            }
                        });
                    }
                    Err(e) => tracing::warn!(serial = %fw.serial, error = %e, "RTSP accept failed"),
                }
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// A parsed request head.
struct Request {
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

async fn read_request(
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    let mut seen = 0;
    // Skip blank lines between requests (and interleaved keep-alive CRLFs).
    let first = loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        seen += line.len();
        if seen > MAX_HEAD {
            return Err(std::io::Error::other("request head too large"));
        }
        if !line.trim().is_empty() {
            break line.trim().to_owned();
        }
    };
    let mut parts = first.split_whitespace();
    let (method, uri) = (
        parts.next().unwrap_or("").to_owned(),
        parts.next().unwrap_or("").to_owned(),
    );
    let mut headers = Vec::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        seen += line.len();
        if seen > MAX_HEAD {
            return Err(std::io::Error::other("request head too large"));
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let req = Request {
        method,
        uri,
        headers,
    };
    let len: usize = req
        .header("Content-Length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if len > MAX_HEAD {
        return Err(std::io::Error::other("request body too large"));
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).await?;
    Ok(Some(req))
}

async fn connection(stream: TcpStream, fw: &Firmware) -> std::io::Result<()> {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    while let Some(req) = read_request(&mut rd).await? {
        let cseq = req.header("CSeq").unwrap_or("0").to_owned();
        // Method and path only: a URL may carry user:password.
        tracing::debug!(serial = %fw.serial, method = %req.method, "RTSP request");
        let reply = respond(fw, &req);
        let mut out = format!(
            "RTSP/1.0 {}\r\nCSeq: {cseq}\r\nServer: Rtsp Server/3.0\r\n",
            reply.status
        );
        for (k, v) in &reply.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        if !reply.body.is_empty() {
            out.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
        }
        out.push_str("\r\n");
        out.push_str(&reply.body);
        wr.write_all(out.as_bytes()).await?;
    }
    Ok(())
}

struct Reply {
    status: &'static str,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Reply {
    fn status(status: &'static str) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }
}

fn respond(fw: &Firmware, req: &Request) -> Reply {
    match req.method.as_str() {
        "OPTIONS" => {
            let mut r = Reply::status("200 OK");
            r.headers.push(("Public", "OPTIONS, DESCRIBE, ANNOUNCE, SETUP, GET_PARAMETER, SET_PARAMETER, PLAY, PAUSE, TEARDOWN".into()));
            r
        }
        "DESCRIBE" | "SETUP" | "PLAY" | "GET_PARAMETER" => {
            if let Err(r) = authenticate(fw, req) {
                return r;
            }
            match req.method.as_str() {
                "DESCRIBE" => describe(fw, req),
                // No media is emulated: a clean refusal that every client understands.
                "SETUP" => Reply::status("461 Unsupported Transport"),
                "PLAY" => Reply::status("455 Method Not Valid in This State"),
                _ => Reply::status("200 OK"),
            }
        }
        "TEARDOWN" => Reply::status("200 OK"),
        _ => Reply::status("501 Not Implemented"),
    }
}

fn challenge(fw: &Firmware, stale: bool) -> Reply {
    let nonce = fw.ram().nonces.issue();
    let stale = if stale { ", stale=\"TRUE\"" } else { "" };
    let mut r = Reply::status("401 Unauthorized");
    r.headers.push((
        "WWW-Authenticate",
        format!(r#"Digest realm="{}", nonce="{nonce}"{stale}"#, fw.realm),
    ));
    r
}

fn authenticate(fw: &Firmware, req: &Request) -> Result<(), Reply> {
    let Some(d) = req.header("Authorization").and_then(DigestAuth::parse) else {
        return Err(challenge(fw, false));
    };
    if d.realm != fw.realm {
        return Err(challenge(fw, false));
    }
    let state = fw.ram().nonces.state(&d.nonce);
    match fw.authenticate(Via::Rtsp, &d.username, |pw| d.matches(pw, &req.method)) {
        Auth::Granted { .. } if state == NonceState::Stale => Err(challenge(fw, true)),
        Auth::Granted { .. } => Ok(()),
        Auth::Refused { .. } => Err(challenge(fw, false)),
        Auth::Locked { .. } => Err(Reply::status("403 Forbidden")),
    }
}

fn describe(fw: &Firmware, req: &Request) -> Reply {
    let path = req
        .uri
        .split("://")
        .nth(1)
        .map(|rest| rest.find('/').map_or("/", |i| &rest[i..]))
        .unwrap_or(&req.uri);
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let channel = crate::cgi::query_pairs(query)
        .into_iter()
        .find(|(k, _)| k == "channel")
        .map(|(_, v)| v);
    if path.trim_end_matches('/') != "/cam/realmonitor"
        || channel.as_deref().is_some_and(|c| c != "1")
    {
        return Reply::status("404 Stream Not Found");
    }
    let base = if req.uri.ends_with('/') {
        req.uri.clone()
    } else {
        format!("{}/", req.uri)
    };
    let sdp = format!(
        "v=0\r\no=- 2251938202 2251938202 IN IP4 0.0.0.0\r\ns=Media Server\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\na=control:*\r\na=range:npt=now-\r\n{SDP_MEDIA}"
    );
    let _ = fw;
    let mut r = Reply::status("200 OK");
    r.headers.push(("Content-Type", "application/sdp".into()));
    r.headers.push(("Content-Base", base));
    r.body = sdp;
    r
}
