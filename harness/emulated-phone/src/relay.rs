//! The emulated app's way to its recorders: resetlab's cloud relay over its HTTP API
//! (docs/relay-api.md) — sign in with the app account, list the account's devices, and forward CGI
//! requests through a device's tunnel. The app answers the recorder's HTTP Digest challenge itself
//! with the credentials saved in its device entry, so the relay only ever carries Digest responses.
//!
//! This is the phone's own client, written apart from the harness's (resetlab-app), so a bug in one
//! cannot make the other agree with it.

use std::time::Duration;

use digest_auth::{AuthContext, HttpMethod};
use resetlab_wire::Secret;
use serde::{Deserialize, Serialize};

/// Deadline of one call to the relay (its own tunnel timeout is shorter).
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// The largest relay answer the app reads.
const MAX_BODY: usize = 1024 * 1024;
/// The harmless request that fetches a Digest challenge.
const PROBE_URI: &str = "/cgi-bin/magicBox.cgi?action=getMachineName";

/// One request for the recorder, as the relay forwards it.
#[derive(Debug, Clone, Serialize)]
struct Forward<'a> {
    method: &'a str,
    uri: &'a str,
    headers: Vec<(String, String)>,
    body: &'a str,
}

/// The recorder's answer, as the relay returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Headers in order.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Body.
    #[serde(default)]
    pub body: String,
}

impl Answer {
    /// Whether the body is the CGI success answer.
    pub fn is_ok(&self) -> bool {
        self.status == 200 && self.body.trim() == "OK"
    }

    /// The reason line of an `Error\r\n<reason>` body, or the body.
    pub fn reason(&self) -> String {
        let mut lines = self.body.lines().map(str::trim).filter(|l| !l.is_empty());
        match lines.next() {
            Some("Error") => lines.next().unwrap_or("Error").to_owned(),
            Some(other) => other.to_owned(),
            None => format!("HTTP {} with an empty body", self.status),
        }
    }
}

/// Why no answer came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoAnswer {
    /// Certainly not delivered: the device is offline (503) or the relay unreachable.
    Offline(String),
    /// Sent, no answer: the recorder may have acted (502, 504, broken connection).
    Lost(String),
    /// The relay refused the app itself (token, unknown device) or spoke no API.
    Refused(String),
}

/// The outcome of a Digest-authenticated request.
#[derive(Debug, Clone)]
pub enum Sent {
    /// The recorder answered the authenticated request.
    Answered(Answer),
    /// Fetching the challenge failed: nothing but the harmless probe was sent.
    ProbeFailed(NoAnswer),
    /// The authenticated request itself got no answer.
    RequestFailed(NoAnswer),
    /// The recorder sent no usable Digest challenge (what it sent instead).
    NoChallenge(String),
}

/// The relay as one app sees it.
#[derive(Debug, Clone)]
pub struct RelayClient {
    http: reqwest::Client,
    base: String,
}

#[derive(Deserialize)]
struct Token {
    token: String,
}

#[derive(Deserialize)]
struct Device {
    serial: String,
    online: bool,
}

#[derive(Deserialize)]
struct ApiError {
    error: String,
}

impl RelayClient {
    /// A client for the relay at `base` (`http://127.0.0.1:PORT`); connections are pooled.
    pub fn new(base: &str) -> RelayClient {
        let http = reqwest::Client::builder().timeout(CALL_TIMEOUT).build().expect("a plain HTTP client builds");
        RelayClient { http, base: base.trim_end_matches('/').to_owned() }
    }

    /// The relay's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn text(resp: reqwest::Response) -> Result<String, String> {
        let mut resp = resp;
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(format!("answer larger than {} KiB", MAX_BODY / 1024));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    fn api_error(text: &str, status: u16) -> String {
        serde_json::from_str::<ApiError>(text)
            .map(|e| e.error)
            .unwrap_or_else(|_| format!("HTTP {status}: {:?}", text.chars().take(200).collect::<String>()))
    }

    /// `POST /api/login`: the bearer token of the app account, or the relay's words.
    pub async fn login(&self, user: &str, password: &Secret) -> Result<Secret, String> {
        let resp = self
            .http
            .post(format!("{}/api/login", self.base))
            .json(&serde_json::json!({"user": user, "password": password.expose()}))
            .send()
            .await
            .map_err(|e| format!("the relay {} did not answer: {e}", self.base))?;
        let status = resp.status().as_u16();
        let text = Self::text(resp).await?;
        if status != 200 {
            return Err(Self::api_error(&text, status));
        }
        let t: Token =
            serde_json::from_str(&text).map_err(|e| format!("the relay's login answer is not a token: {e}"))?;
        Ok(Secret::new(t.token))
    }

    /// `GET /api/devices`: serial → online.
    pub async fn devices(&self, token: &Secret) -> Result<Vec<(String, bool)>, String> {
        let resp = self
            .http
            .get(format!("{}/api/devices", self.base))
            .bearer_auth(token.expose())
            .send()
            .await
            .map_err(|e| format!("the relay {} did not answer: {e}", self.base))?;
        let status = resp.status().as_u16();
        let text = Self::text(resp).await?;
        if status != 200 {
            return Err(Self::api_error(&text, status));
        }
        let list: Vec<Device> =
            serde_json::from_str(&text).map_err(|e| format!("the relay's device list is unreadable: {e}"))?;
        Ok(list.into_iter().map(|d| (d.serial, d.online)).collect())
    }

    /// `POST /api/devices/{serial}/http`: one request through the device's tunnel.
    async fn forward(
        &self,
        token: &Secret,
        serial: &str,
        uri: &str,
        headers: Vec<(String, String)>,
    ) -> Result<Answer, NoAnswer> {
        let body = Forward { method: "GET", uri, headers, body: "" };
        let resp = self
            .http
            .post(format!("{}/api/devices/{serial}/http", self.base))
            .bearer_auth(token.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    NoAnswer::Offline(format!("the relay {} is unreachable: {e}", self.base))
                } else {
                    NoAnswer::Lost(format!("the relay {} did not answer: {e}", self.base))
                }
            })?;
        let status = resp.status().as_u16();
        let text = Self::text(resp).await.map_err(NoAnswer::Lost)?;
        match status {
            200 => serde_json::from_str(&text)
                .map_err(|e| NoAnswer::Lost(format!("the relay's answer is not a device response: {e}"))),
            503 => Err(NoAnswer::Offline(Self::api_error(&text, status))),
            502 | 504 => Err(NoAnswer::Lost(Self::api_error(&text, status))),
            _ => Err(NoAnswer::Refused(Self::api_error(&text, status))),
        }
    }

    /// GET `uri` on recorder `serial` as `user`/`password`: fetch a challenge with a harmless
    /// probe, answer it, send once (a `stale=true` challenge is answered once more).
    pub async fn send_digest(
        &self,
        token: &Secret,
        serial: &str,
        user: &str,
        password: &Secret,
        uri: &str,
        agent: &str,
    ) -> Sent {
        let ua = vec![("User-Agent".to_owned(), agent.to_owned())];
        let first = match self.forward(token, serial, PROBE_URI, ua.clone()).await {
            Ok(a) => a,
            Err(e) => return Sent::ProbeFailed(e),
        };
        let Some(mut www) = challenge(&first).filter(|_| first.status == 401) else {
            return Sent::NoChallenge(format!("HTTP {} {}", first.status, first.reason()));
        };
        for attempt in 0..2 {
            // digest_auth 0.3 panics on non-ASCII challenges; a relayed challenge can hold anything.
            let Some(mut parsed) = www.is_ascii().then(|| digest_auth::parse(&www).ok()).flatten() else {
                return Sent::NoChallenge(format!("unparsable Digest challenge {www:?}"));
            };
            let ctx = AuthContext::new_with_method(user, password.expose(), uri, None::<&[u8]>, HttpMethod::GET);
            let auth = match parsed.respond(&ctx) {
                Ok(a) => a.to_header_string(),
                Err(e) => {
                    return Sent::NoChallenge(format!("cannot answer the Digest challenge: {e}"));
                }
            };
            let mut headers = ua.clone();
            headers.push(("Authorization".into(), auth));
            let answer = match self.forward(token, serial, uri, headers).await {
                Ok(a) => a,
                Err(e) => return Sent::RequestFailed(e),
            };
            match challenge(&answer) {
                Some(c) if answer.status == 401 && attempt == 0 && c.to_ascii_lowercase().contains("stale=true") => {
                    www = c
                }
                _ => return Sent::Answered(answer),
            }
        }
        unreachable!("the loop returns on its second pass")
    }
}

fn challenge(a: &Answer) -> Option<String> {
    a.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("www-authenticate"))
        .map(|(_, v)| v)
        .find(|v| v.trim_start().to_ascii_lowercase().starts_with("digest"))
        .cloned()
}
