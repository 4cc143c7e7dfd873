//! How the app's requests reach a recorder: through the relay's tunnel or straight to a bench
//! address. The one distinction that matters for safety is whether a request that got no answer
//! may have reached the device ([`TransportError::Lost`]) or certainly did not
//! ([`TransportError::Offline`]).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// One HTTP request for the recorder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// Path and query, exactly as the recorder must see it.
    pub uri: String,
    /// Extra headers.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Body (empty for CGI).
    #[serde(default)]
    pub body: String,
}

impl RawRequest {
    /// A GET of `uri` with no headers.
    pub fn get(uri: impl Into<String>) -> Self {
        RawRequest { method: "GET".into(), uri: uri.into(), headers: Vec::new(), body: String::new() }
    }

    /// The request with one more header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The path without the query (the query may carry `pwd=`): safe to log.
    pub fn path(&self) -> &str {
        self.uri.split('?').next().unwrap_or("")
    }
}

/// The recorder's answer, unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers in order.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Body text.
    #[serde(default)]
    pub body: String,
}

impl RawResponse {
    /// Values of every header named `name` (case-insensitive).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Whether the body is the CGI success answer `OK`.
    pub fn is_ok_body(&self) -> bool {
        self.body.trim() == "OK"
    }

    /// The reason line of an `Error\r\n<reason>` body, or the whole body trimmed.
    pub fn reason(&self) -> String {
        let mut lines = self.body.lines().map(str::trim).filter(|l| !l.is_empty());
        match lines.next() {
            Some("Error") => lines.next().unwrap_or("Error").to_owned(),
            Some(other) => other.to_owned(),
            None => format!("HTTP {} with an empty body", self.status),
        }
    }
}

/// Why a request has no answer from the recorder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// Certainly not delivered: the device is offline (no tunnel, connection refused).
    #[error("device offline: {0}")]
    Offline(String),
    /// Sent, but the answer never came back: the device may have acted on it.
    #[error("answer lost, the device may have acted on the request: {0}")]
    Lost(String),
    /// Refused by the relay itself (our account, not the device), or not configured.
    #[error("{0}")]
    Harness(String),
}

/// A way to reach recorders by serial.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Words for messages ("relay http://127.0.0.1:4000").
    fn describe(&self) -> String;
    /// Whether `serial` is reachable now, as the Device Manager shows it.
    async fn online(&self, serial: &str) -> Result<bool, AppError>;
    /// Send a request as the app does.
    async fn send(&self, serial: &str, req: RawRequest) -> Result<RawResponse, TransportError>;
    /// Send a request as a remote client (smartphone, tablet, computer) does.
    async fn send_remote(&self, serial: &str, req: RawRequest) -> Result<RawResponse, TransportError>;
}

/// The largest body the app reads from the relay or a recorder: their answers are a few KiB, and a
/// broken or hostile peer must not make the harness buffer until the deadline.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// The body of `resp` as text, refused once it passes [`MAX_BODY`] bytes; the error says why.
pub(crate) async fn body_text(mut resp: reqwest::Response) -> Result<String, String> {
    let too_large = || format!("answer body larger than {} KiB", MAX_BODY / 1024);
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| error_text(&e))? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// A client error as text without its URL: a recorder's CGI URL carries `pwd=` and `pwdOld=`.
pub(crate) fn error_text(e: &reqwest::Error) -> String {
    resetlab_wire::error_text::without_url(e, e.url().map(|u| u.as_str()))
}
