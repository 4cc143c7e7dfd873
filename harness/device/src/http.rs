//! One HTTP exchange for the CGI and RPC2 clients: send, read the whole body, all before the call's
//! deadline; transport failures become typed errors without the URL (which may carry a password).

use reqwest::header::HeaderMap;

use crate::call::Call;
use crate::error::{DeviceError, ErrorKind, reply_summary};

/// The largest body read from a recorder. Its CGI and RPC2 replies are a few KiB (a full user list
/// of a 64-account NVR is under 16 KiB); anything far larger is a broken or hostile peer, and is
/// refused instead of buffered until the deadline.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// A complete HTTP response.
#[derive(Debug, Clone)]
pub(crate) struct HttpReply {
    pub status: reqwest::StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl HttpReply {
    /// `HTTP 400 Bad Request "Error\r\nBad Request!\r\n"`, for `DeviceError::reply`.
    pub(crate) fn summary(&self) -> String {
        reply_summary(format_args!("HTTP {}", self.status), &self.body)
    }

    /// Every `WWW-Authenticate` value that is valid text.
    pub(crate) fn challenges(&self) -> Vec<&str> {
        self.headers.get_all(reqwest::header::WWW_AUTHENTICATE).iter().filter_map(|v| v.to_str().ok()).collect()
    }
}

/// A client for one recorder: no proxy (recorders sit on the lab LAN), no redirects. It keeps
/// connections alive (a pool per target): HTTP Digest authenticates each request, never a
/// connection, so calls with different credentials can share one safely.
/// Over HTTPS the recorder's certificate is verified unless the bench accepts self-signed ones
/// (see [`crate::tls`]).
pub(crate) fn client(https: Option<crate::tls::Https>) -> reqwest::Client {
    crate::tls::client_builder(https)
        .no_proxy()
        .tcp_nodelay(true)
        .pool_idle_timeout(std::time::Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("resetlab/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a reqwest client with rustls and the system roots builds")
}

/// Send `req` and read its body; `what` names the exchange in timeouts ("HTTP response to … from …").
pub(crate) async fn exchange(call: &Call, what: &str, req: reqwest::RequestBuilder) -> Result<HttpReply, DeviceError> {
    call.count_request();
    let resp = call
        .step(|| format!("{what} (status and headers)"), req.send())
        .await?
        .map_err(|e| transport(call, what, e))?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes =
        call.step(|| format!("{what} (body after HTTP {status})"), read_body(resp, MAX_BODY)).await?.map_err(|e| {
            let detail = match e {
                BodyError::TooLarge => {
                    format!("response body is larger than {} KiB", MAX_BODY / 1024)
                }
                BodyError::Read(e) => {
                    // Cut short on the way: the device may well have acted on the request.
                    return call
                        .fail(ErrorKind::NoAnswer {
                            detail: format!("the answer was cut short (HTTP {status}, body truncated): {}", chain(&e)),
                        })
                        .with_reply(format!("HTTP {status}"));
                }
            };
            call.fail(ErrorKind::Protocol { detail, excerpt: String::new() }).with_reply(format!("HTTP {status}"))
        })?;
    let reply = HttpReply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() };
    tracing::debug!(interface = %call.interface, request = %call.request, status = %status, "http reply");
    Ok(reply)
}

enum BodyError {
    TooLarge,
    Read(reqwest::Error),
}

/// The whole body, chunk by chunk, refused once it passes `limit` bytes.
async fn read_body(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Read)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn transport(call: &Call, what: &str, e: reqwest::Error) -> DeviceError {
    let why = chain(&e);
    if e.is_timeout() {
        call.fail(ErrorKind::Timeout { waited_for: what.to_owned(), after: call.timeout })
    } else if e.is_connect() {
        call.fail(ErrorKind::Connect(why))
    } else if !is_parse_error(&e) {
        // Sent, and the connection closed or was reset before a whole answer came back.
        call.fail(ErrorKind::NoAnswer { detail: format!("the connection closed after the request was sent: {why}") })
    } else {
        call.fail(ErrorKind::Protocol { detail: format!("no valid HTTP response: {why}"), excerpt: String::new() })
    }
}

/// Whether the device answered something that is not HTTP (as opposed to not answering at all).
fn is_parse_error(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            return h.is_parse() || h.is_parse_status() || h.is_parse_too_large();
        }
        source = s.source();
    }
    false
}

/// The error and its sources, without the URL (a CGI URL may carry `pwd=`), redacted anyway.
fn chain(e: &reqwest::Error) -> String {
    crate::redact::text(&resetlab_wire::error_text::without_url(e, e.url().map(|u| u.as_str())))
}
