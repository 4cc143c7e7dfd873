//! The RTSP client, hand-written over a TCP stream: OPTIONS (unauthenticated) and DESCRIBE with
//! Digest (RFC 2069 form, no qop) on the live stream URL. It reads status line, headers and a
//! `Content-Length` body (the SDP), accepting CRLF or bare LF line ends as cameras send them.
//!
//! A call reuses the target's idle connection when there is one (RTSP/1.0 connections outlive a
//! request; a camera closes them when it wants, and a call then opens a new one), and answers the
//! target's known Digest challenge up front (RTSP Digest has no nonce count: the nonce is reused
//! as ffmpeg and VLC reuse it for SETUP and PLAY).

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::call::Call;
use crate::error::{DeviceError, ErrorKind, excerpt, reply_summary};
use crate::interface::Interface;
use crate::shared::DigestRound;
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
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every header named `name` (case-insensitive).
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub(crate) fn summary(&self) -> String {
        reply_summary(format_args!("RTSP {} {}", self.status, self.reason), &self.body)
    }
}

/// RTSP client calls (connections and challenges are the target's, see the module doc).
#[derive(Debug, Clone, Copy)]
pub struct Rtsp;

impl Rtsp {
    /// `rtsp://host:port/cam/realmonitor?channel=1&subtype=0`.
    pub fn stream_url(target: &Target) -> String {
        format!("rtsp://{}/cam/realmonitor?channel=1&subtype=0", target.rtsp_authority())
    }

    /// OPTIONS without credentials. Any well-formed response is returned, whatever its status, so
    /// this doubles as "is the RTSP service answering".
    pub async fn options(target: &Target) -> Result<RtspResponse, DeviceError> {
        let url = Self::stream_url(target);
        let call = Call::start(Interface::Rtsp, format!("OPTIONS {url}"), target);
        let mut conn = Conn::take_or_open(&call, target).await?;
        let resp = conn.send(&call, target, "OPTIONS", &url, &[]).await?;
        conn.keep(target, &resp);
        Ok(resp)
    }

    /// DESCRIBE with Digest; returns the SDP. 401 after answering the challenge (and one retry on
    /// `stale=true`) is [`ErrorKind::Unauthorized`]; 403 is [`ErrorKind::Locked`].
    pub async fn describe(target: &Target, creds: &Credentials) -> Result<String, DeviceError> {
        let url = Self::stream_url(target);
        let call = Call::start(Interface::Rtsp, format!("DESCRIBE {url}"), target);
        let accept = ("Accept", "application/sdp".to_owned());
        let mut round = DigestRound::new(target.shared(), Interface::Rtsp, target.reuses_challenges());
        let mut auth = round.first("DESCRIBE", &url, &creds.user, &creds.password).map_err(|k| call.fail(k))?;
        let mut conn = Conn::take_or_open(&call, target).await?;
        loop {
            let mut headers = vec![accept.clone()];
            if let Some(a) = auth.take() {
                headers.push(("Authorization", a));
            }
            let resp = conn.send(&call, target, "DESCRIBE", &url, &headers).await?;
            match resp.status {
                200 => {
                    conn.keep(target, &resp);
                    return sdp(&call, resp);
                }
                403 => {
                    conn.keep(target, &resp);
                    return Err(call.fail(ErrorKind::Locked { remaining_s: None }).with_reply(resp.summary()));
                }
                401 => {
                    auth = round
                        .on_401(resp.headers_named("WWW-Authenticate"), "DESCRIBE", &url, &creds.user, &creds.password)
                        .map_err(|k| call.fail(k).with_reply(resp.summary()))?;
                    if auth.is_none() {
                        conn.keep(target, &resp);
                        return Err(call.fail(ErrorKind::Unauthorized).with_reply(resp.summary()));
                    }
                    if closes(&resp) {
                        conn = Conn::open(&call, target).await?;
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
        }
    }
}

/// Whether the device said it closes the connection after this response.
pub(crate) fn closes(resp: &RtspResponse) -> bool {
    resp.header("Connection").is_some_and(|v| v.eq_ignore_ascii_case("close"))
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
pub(crate) struct Conn {
    stream: BufReader<TcpStream>,
    cseq: u32,
    authority: String,
    /// Taken from the target's idle slot, and no reply read on it yet in this call: if the device
    /// closed it meanwhile, the request is sent again on a new connection.
    reused: bool,
}

/// How a request on a connection failed.
enum SendError {
    /// The connection was gone before any byte of a reply came back (write failed, or closed
    /// before the status line): the device never answered this request on it.
    Gone(DeviceError),
    /// Anything else.
    Failed(DeviceError),
}

impl Conn {
    /// The target's idle connection if it is still open, else a new one.
    pub(crate) async fn take_or_open(call: &Call, target: &Target) -> Result<Self, DeviceError> {
        if let Some(mut conn) = target.shared().take_rtsp()
            && conn.is_idle_and_open()
        {
            conn.reused = true;
            return Ok(conn);
        }
        Self::open(call, target).await
    }

    /// Nothing buffered and nothing to read, and the peer has not closed: safe to send on.
    fn is_idle_and_open(&mut self) -> bool {
        if !self.stream.buffer().is_empty() {
            return false;
        }
        let mut probe = [0u8; 1];
        matches!(self.stream.get_ref().try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }

    /// Give the connection back to the target, unless the device is closing it.
    fn keep(mut self, target: &Target, last: &RtspResponse) {
        if !closes(last) {
            self.reused = false;
            target.shared().put_rtsp(self);
        }
    }

    /// Send one request; on a reused connection the device had closed meanwhile, send it once
    /// more on a new connection (the device never saw it, so nothing counts twice).
    pub(crate) async fn send(
        &mut self,
        call: &Call,
        target: &Target,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
    ) -> Result<RtspResponse, DeviceError> {
        match self.request(call, method, url, headers).await {
            Ok(r) => {
                self.reused = false;
                Ok(r)
            }
            Err(SendError::Gone(e)) if self.reused => {
                tracing::debug!(error = %e, "idle RTSP connection was closed by the device; reconnecting");
                call.counters.resend();
                *self = Self::open(call, target).await?;
                self.request(call, method, url, headers).await.map_err(|e| match e {
                    SendError::Gone(e) | SendError::Failed(e) => e,
                })
            }
            Err(SendError::Gone(e) | SendError::Failed(e)) => Err(e),
        }
    }

    pub(crate) async fn open(call: &Call, target: &Target) -> Result<Self, DeviceError> {
        let authority = target.rtsp_authority();
        call.counters.connection();
        let stream = call
            .step(
                || format!("TCP connect to RTSP {authority}"),
                TcpStream::connect((target.host.as_str(), target.rtsp_port)),
            )
            .await?
            .map_err(|e| call.fail(ErrorKind::Connect(format!("RTSP {authority}: {e}"))))?;
        Ok(Conn { stream: BufReader::new(stream), cseq: 0, authority, reused: false })
    }

    /// Write one request and return its CSeq, without reading the reply (a playing connection
    /// carries media before it). `Err((e, true))`: the connection was gone.
    pub(crate) async fn write_request(
        &mut self,
        call: &Call,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
    ) -> Result<u32, (DeviceError, bool)> {
        call.count_request();
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
        .await
        .map_err(|e| (e, false))?
        .map_err(|e| (call.fail(ErrorKind::Connect(format!("sending {method} to RTSP {authority}: {e}"))), true))?;
        Ok(cseq)
    }

    /// The connection's reader, for media that arrives between responses.
    pub(crate) fn reader(&mut self) -> &mut BufReader<TcpStream> {
        &mut self.stream
    }

    /// `host:port` this connection goes to, for messages.
    pub(crate) fn authority(&self) -> &str {
        &self.authority
    }

    async fn request(
        &mut self,
        call: &Call,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
    ) -> Result<RtspResponse, SendError> {
        let cseq = self
            .write_request(call, method, url, headers)
            .await
            .map_err(|(e, gone)| if gone { SendError::Gone(e) } else { SendError::Failed(e) })?;
        let authority = self.authority.clone();
        let resp = call
            .step(
                || format!("RTSP response to {method} (CSeq {cseq}) from {authority}"),
                read_response(&mut self.stream),
            )
            .await
            .map_err(SendError::Failed)?
            .map_err(|(detail, got)| {
                let closed = got.is_empty() && detail.starts_with(CLOSED_BEFORE_RESPONSE);
                if closed {
                    SendError::Gone(call.fail(ErrorKind::NoAnswer {
                        detail: format!("the connection closed after {method} was sent ({detail})"),
                    }))
                } else if got.is_empty() && detail.starts_with("reading status line") {
                    // Not a word of RTSP came back: on a reused connection the device may have
                    // closed it meanwhile, so it is worth one more try on a new one.
                    SendError::Gone(call.fail(ErrorKind::Protocol { detail, excerpt: String::new() }))
                } else {
                    SendError::Failed(call.fail(ErrorKind::Protocol { detail, excerpt: excerpt(&got) }))
                }
            })?;
        if let Some(got) = resp.cseq
            && got != cseq
        {
            return Err(SendError::Failed(
                call.fail(ErrorKind::Protocol {
                    detail: format!("CSeq {got} in reply to CSeq {cseq}"),
                    excerpt: String::new(),
                })
                .with_reply(resp.summary()),
            ));
        }
        Ok(resp)
    }
}

/// What [`read_response`] says when the connection ends before any byte of a response.
const CLOSED_BEFORE_RESPONSE: &str = "connection closed before a response";

/// Read one response; `Err((detail, what was read))` on anything malformed.
pub(crate) async fn read_response<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
) -> Result<RtspResponse, (String, String)> {
    let mut seen = String::new();
    let mut line = String::new();
    // Status line (skip blank lines some devices leave between responses).
    loop {
        line.clear();
        let n = read_bounded_line(r, &mut line, &seen).await.map_err(|e| {
            if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::UnexpectedEof
            ) && seen.is_empty()
            {
                (format!("{CLOSED_BEFORE_RESPONSE} ({e})"), seen.clone())
            } else {
                (format!("reading status line: {e}"), seen.clone())
            }
        })?;
        if n == 0 {
            return Err((CLOSED_BEFORE_RESPONSE.into(), seen));
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
        return Err((format!("expected an RTSP/1.x status line, got `{version}`"), seen));
    }
    let status: u16 = code.parse().map_err(|_| (format!("status code `{code}` is not a number"), seen.clone()))?;
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
        headers.iter().find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    };
    let cseq = match find("CSeq") {
        Some(v) => Some(v.parse().map_err(|_| (format!("CSeq `{v}` is not a number"), seen.clone()))?),
        None => None,
    };
    let len: usize = match find("Content-Length") {
        Some(v) => v.parse().map_err(|_| (format!("Content-Length `{v}` is not a number"), seen.clone()))?,
        None => 0,
    };
    if len > MAX_BODY_BYTES {
        return Err((format!("Content-Length {len} is implausibly large"), seen));
    }
    let mut body = Vec::with_capacity(len);
    r.take(len as u64).read_to_end(&mut body).await.map_err(|e| (format!("reading body: {e}"), seen.clone()))?;
    let body = String::from_utf8_lossy(&body).into_owned();
    if body.len() < len {
        return Err((
            format!("body truncated: Content-Length {len}, connection closed after {} bytes", body.len()),
            body,
        ));
    }
    Ok(RtspResponse { status, reason, cseq, headers, body })
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
        let sdp = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";
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
        let (detail, _) = parse("RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 50\r\n\r\nv=0\r\n").await.unwrap_err();
        assert!(detail.contains("truncated"), "{detail}");
        let (detail, _) = parse("HTTP/1.1 200 OK\r\n\r\n").await.unwrap_err();
        assert!(detail.contains("RTSP/1.x"), "{detail}");
        let (detail, _) = parse("").await.unwrap_err();
        assert!(detail.contains("closed before a response"), "{detail}");
    }
}
