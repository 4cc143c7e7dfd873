//! The RTSP client, hand-written over a TCP stream: OPTIONS (unauthenticated) and DESCRIBE with
//! Digest (RFC 2069 form, no qop) on the live stream URL. It reads status line, headers and a
//! `Content-Length` body (the SDP), accepting CRLF or bare LF line ends as cameras send them.

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::call::Call;
use crate::challenge::Challenge;
use crate::error::{DeviceError, ErrorKind, excerpt, reply_summary};
use crate::interface::Interface;
use crate::target::{Credentials, Target};

/// Largest header block accepted before the reply is called garbage.
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Largest body accepted (an SDP is a few hundred bytes).
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// One RTSP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtspResponse {
    /// Status code, e.g. 200 or 401.
    pub status: u16,
    /// Reason phrase as sent.
    pub reason: String,
    /// `CSeq` echoed by the device.
    pub cseq: Option<u32>,
    /// Headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// Body (`Content-Length` bytes), empty when none.
    pub body: String,
}

impl RtspResponse {
    /// First header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header named `name` (case-insensitive).
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn summary(&self) -> String {
        reply_summary(
            format_args!("RTSP {} {}", self.status, self.reason),
            &self.body,
        )
    }
}

/// RTSP client calls (stateless: each call opens its own connection).
#[derive(Debug, Clone, Copy)]
pub struct Rtsp;

impl Rtsp {
    /// `rtsp://host:port/cam/realmonitor?channel=1&subtype=0`.
    pub fn stream_url(target: &Target) -> String {
        format!(
            "rtsp://{}/cam/realmonitor?channel=1&subtype=0",
            target.rtsp_authority()
        )
    }

    /// OPTIONS without credentials. Any well-formed response is returned, whatever its status, so
    /// this doubles as "is the RTSP service answering".
    pub async fn options(target: &Target) -> Result<RtspResponse, DeviceError> {
        let url = Self::stream_url(target);
        let call = Call::start(Interface::Rtsp, format!("OPTIONS {url}"), target);
        let mut conn = Conn::open(&call, target).await?;
        conn.request(&call, "OPTIONS", &url, &[]).await
    }

    /// DESCRIBE with Digest; returns the SDP. 401 after answering the challenge (and one retry on
    /// `stale=true`) is [`ErrorKind::Unauthorized`]; 403 is [`ErrorKind::Locked`].
    pub async fn describe(target: &Target, creds: &Credentials) -> Result<String, DeviceError> {
        let url = Self::stream_url(target);
        let call = Call::start(Interface::Rtsp, format!("DESCRIBE {url}"), target);
        let accept = ("Accept", "application/sdp".to_owned());
        let mut conn = Conn::open(&call, target).await?;
        let mut resp = conn
            .request(&call, "DESCRIBE", &url, std::slice::from_ref(&accept))
            .await?;
        let mut challenge: Option<Challenge> = None;
        let mut stale_retried = false;
        loop {
            match resp.status {
                200 => return sdp(&call, resp),
                403 => {
                    return Err(call
                        .fail(ErrorKind::Locked { remaining_s: None })
                        .with_reply(resp.summary()));
                }
                401 => {
                    let next = Challenge::from_headers(resp.headers_named("WWW-Authenticate"))
                        .map_err(|k| call.fail(k).with_reply(resp.summary()));
                    match (&challenge, next) {
                        // First 401: answer the challenge.
                        (None, next) => challenge = Some(next?),
                        // We answered and the nonce was stale: answer once more.
                        (Some(_), Ok(next)) if next.stale() && !stale_retried => {
                            stale_retried = true;
                            challenge = Some(next);
                        }
                        (Some(_), _) => {
                            return Err(call
                                .fail(ErrorKind::Unauthorized)
                                .with_reply(resp.summary()));
                        }
                    }
                }
                other => {
                    return Err(call
                        .fail(ErrorKind::Protocol {
                            detail: format!("expected RTSP 200 or 401, got {other}"),
                            excerpt: excerpt(&resp.body),
                        })
                        .with_reply(resp.summary()));
                }
            }
            if resp
                .header("Connection")
                .is_some_and(|v| v.eq_ignore_ascii_case("close"))
            {
                conn = Conn::open(&call, target).await?;
            }
            let auth = challenge
                .as_mut()
                .expect("set above")
                .authorization("DESCRIBE", &url, &creds.user, &creds.password)
                .map_err(|k| call.fail(k))?;
            resp = conn
                .request(
                    &call,
                    "DESCRIBE",
                    &url,
                    &[accept.clone(), ("Authorization", auth)],
                )
                .await?;
        }
    }
}

fn sdp(call: &Call, resp: RtspResponse) -> Result<String, DeviceError> {
    if resp.body.trim_start().starts_with("v=") {
        Ok(resp.body)
    } else {
        Err(call
            .fail(ErrorKind::Protocol {
                detail: "DESCRIBE 200 without an SDP body (`v=` first)".into(),
                excerpt: excerpt(&resp.body),
            })
            .with_reply(resp.summary()))
    }
}

/// One RTSP connection with its CSeq counter.
struct Conn {
    stream: BufReader<TcpStream>,
    cseq: u32,
    authority: String,
}

impl Conn {
    async fn open(call: &Call, target: &Target) -> Result<Self, DeviceError> {
        let authority = target.rtsp_authority();
        let stream = call
            .step(
                || format!("TCP connect to RTSP {authority}"),
                TcpStream::connect((target.host.as_str(), target.rtsp_port)),
            )
            .await?
            .map_err(|e| call.fail(ErrorKind::Connect(format!("RTSP {authority}: {e}"))))?;
        Ok(Conn {
            stream: BufReader::new(stream),
            cseq: 0,
            authority,
        })
    }

    async fn request(
        &mut self,
        call: &Call,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
    ) -> Result<RtspResponse, DeviceError> {
        self.cseq += 1;
        let cseq = self.cseq;
        let mut text = format!(
            "{method} {url} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: resetlab/{}\r\n",
            env!("CARGO_PKG_VERSION")
        );
        for (k, v) in headers {
            text.push_str(&format!("{k}: {v}\r\n"));
        }
        text.push_str("\r\n");
        let authority = self.authority.clone();
        call.step(
            || format!("RTSP {authority} to accept {method} (CSeq {cseq})"),
            self.stream.get_mut().write_all(text.as_bytes()),
        )
        .await?
        .map_err(|e| {
            call.fail(ErrorKind::Connect(format!(
                "sending {method} to RTSP {authority}: {e}"
            )))
        })?;
        let resp = call
            .step(
                || format!("RTSP response to {method} (CSeq {cseq}) from {authority}"),
                read_response(&mut self.stream),
            )
            .await?
            .map_err(|(detail, got)| {
                call.fail(ErrorKind::Protocol {
                    detail,
                    excerpt: excerpt(&got),
                })
            })?;
        if let Some(got) = resp.cseq
            && got != cseq
        {
            return Err(call
                .fail(ErrorKind::Protocol {
                    detail: format!("CSeq {got} in reply to CSeq {cseq}"),
                    excerpt: String::new(),
                })
                .with_reply(resp.summary()));
        }
        Ok(resp)
    }
}

/// Read one response; `Err((detail, what was read))` on anything malformed.
pub(crate) async fn read_response<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
) -> Result<RtspResponse, (String, String)> {
    let mut seen = String::new();
    let mut line = String::new();
    // Status line (skip blank lines some devices leave between responses).
    loop {
        line.clear();
        let n = read_bounded_line(r, &mut line, &seen)
            .await
            .map_err(|e| (format!("reading status line: {e}"), seen.clone()))?;
        if n == 0 {
            return Err(("connection closed before a response".into(), seen));
        }
        seen.push_str(&line);
        if seen.len() >= MAX_HEADER_BYTES {
            return Err(("status line too large".into(), seen));
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    let status_line = line.trim_end_matches(['\r', '\n']).to_owned();
    let mut parts = status_line.splitn(3, ' ');
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        return Err(("malformed status line".into(), seen));
    };
    if !version.starts_with("RTSP/1.") {
        return Err((
            format!("expected an RTSP/1.x status line, got `{version}`"),
            seen,
        ));
    }
    let status: u16 = code.parse().map_err(|_| {
        (
            format!("status code `{code}` is not a number"),
            seen.clone(),
        )
    })?;
    let reason = parts.next().unwrap_or("").to_owned();
    let mut headers = Vec::new();
    loop {
        line.clear();
        let n = read_bounded_line(r, &mut line, &seen)
            .await
            .map_err(|e| (format!("reading headers: {e}"), seen.clone()))?;
        if n == 0 {
            return Err(("connection closed inside the headers".into(), seen));
        }
        seen.push_str(&line);
        if seen.len() >= MAX_HEADER_BYTES {
            return Err(("header block too large".into(), seen));
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        match l.split_once(':') {
            Some((k, v)) => headers.push((k.trim().to_owned(), v.trim().to_owned())),
            None => return Err((format!("header line without `:`: `{l}`"), seen)),
        }
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let cseq = match find("CSeq") {
        Some(v) => Some(
            v.parse()
                .map_err(|_| (format!("CSeq `{v}` is not a number"), seen.clone()))?,
        ),
        None => None,
    };
    let len: usize = match find("Content-Length") {
        Some(v) => v.parse().map_err(|_| {
            (
                format!("Content-Length `{v}` is not a number"),
                seen.clone(),
            )
        })?,
        None => 0,
    };
    if len > MAX_BODY_BYTES {
        return Err((format!("Content-Length {len} is implausibly large"), seen));
    }
    let mut body = Vec::with_capacity(len);
    r.take(len as u64)
        .read_to_end(&mut body)
        .await
        .map_err(|e| (format!("reading body: {e}"), seen.clone()))?;
    let body = String::from_utf8_lossy(&body).into_owned();
    if body.len() < len {
        return Err((
            format!(
                "body truncated: Content-Length {len}, connection closed after {} bytes",
                body.len()
            ),
            body,
        ));
    }
    Ok(RtspResponse {
        status,
        reason,
        cseq,
        headers,
        body,
    })
}

/// `read_line`, but reading no further than the header limit (less what was `seen`): a reply with no
/// line end must not grow our buffer until the deadline.
async fn read_bounded_line<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
    line: &mut String,
    seen: &str,
) -> std::io::Result<usize> {
    let room = MAX_HEADER_BYTES.saturating_sub(seen.len()) as u64;
    (&mut *r).take(room).read_line(line).await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(raw: &str) -> Result<RtspResponse, (String, String)> {
        read_response(&mut raw.as_bytes()).await
    }

    #[tokio::test]
    async fn crlf_response_with_sdp_body() {
        let sdp =
            "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";
        let raw = format!(
            "RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        );
        let r = parse(&raw).await.unwrap();
        assert_eq!((r.status, r.cseq, r.body.as_str()), (200, Some(2), sdp));
        assert_eq!(r.header("content-type"), Some("application/sdp"));
    }

    #[tokio::test]
    async fn lf_only_401_with_two_challenges() {
        let raw = "RTSP/1.0 401 Unauthorized\nCSeq: 1\nWWW-Authenticate: Basic realm=\"x\"\nWWW-Authenticate: Digest realm=\"IPC\", nonce=\"n1\"\n\n";
        let r = parse(raw).await.unwrap();
        assert_eq!(r.status, 401);
        assert_eq!(r.headers_named("www-authenticate").count(), 2);
    }

    #[tokio::test]
    async fn truncated_body_and_http_status_line_are_protocol_errors() {
        let (detail, _) = parse("RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 50\r\n\r\nv=0\r\n")
            .await
            .unwrap_err();
        assert!(detail.contains("truncated"), "{detail}");
        let (detail, _) = parse("HTTP/1.1 200 OK\r\n\r\n").await.unwrap_err();
        assert!(detail.contains("RTSP/1.x"), "{detail}");
        let (detail, _) = parse("").await.unwrap_err();
        assert!(detail.contains("closed before a response"), "{detail}");
    }
}
