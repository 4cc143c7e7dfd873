//! The app over resetlab's cloud relay: sign into the app account, list its devices, and forward
//! requests through each device's tunnel (docs/relay-api.md). Also usable raw, for tests that send a
//! request through the relay the way no app would.

use std::time::Duration;

use async_trait::async_trait;
use resetlab_rig::bench::TlsSpec;
use resetlab_wire::Secret;
use serde::Deserialize;

use crate::error::AppError;
use crate::transport::{Backend, RawRequest, RawResponse, TransportError, body_text, error_text};

/// Deadline of one call to the relay's API (the relay's own tunnel timeout is shorter).
pub const RELAY_CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// A signed-in session with the relay's app API.
#[derive(Clone)]
pub struct RelayClient {
    http: reqwest::Client,
    base: String,
    token: Secret,
}

impl std::fmt::Debug for RelayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayClient").field("base", &self.base).field("token", &self.token).finish()
    }
}

/// One device of the account, as the relay lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RelayDevice {
    /// Recorder serial.
    pub serial: String,
    /// Whether its tunnel is up.
    pub online: bool,
}

#[derive(Deserialize)]
struct Token {
    token: String,
}

#[derive(Deserialize)]
struct ApiError {
    error: String,
}

impl RelayClient {
    /// `POST /api/login` with the app account (an `https://` relay must present a verifiable
    /// certificate).
    pub async fn login(base: &str, user: &str, password: &Secret) -> Result<RelayClient, AppError> {
        RelayClient::login_with_tls(base, user, password, TlsSpec::default()).await
    }

    /// The same, with the bench file's `tls:`: an `https://` relay whose certificate cannot be
    /// verified (self-signed) is accepted only with `tls: { accept_self_signed: true }`.
    pub async fn login_with_tls(
        base: &str,
        user: &str,
        password: &Secret,
        tls: TlsSpec,
    ) -> Result<RelayClient, AppError> {
        let base = base.trim_end_matches('/').to_owned();
        // rustls (ring) with the system's CA store; never OpenSSL.
        let http = reqwest::Client::builder()
            .timeout(RELAY_CALL_TIMEOUT)
            .danger_accept_invalid_certs(tls.accept_self_signed)
            .build()
            .map_err(|e| AppError::SignIn { relay: base.clone(), reason: error_text(&e) })?;
        let resp = http
            .post(format!("{base}/api/login"))
            .json(&serde_json::json!({ "user": user, "password": password.expose() }))
            .send()
            .await
            .map_err(|e| AppError::SignIn { relay: base.clone(), reason: error_text(&e) })?;
        if !resp.status().is_success() {
            let status = resp.status();
            let body = body_text(resp).await.unwrap_or_else(|e| format!("({e})"));
            return Err(AppError::SignIn { relay: base, reason: format!("{status}: {body}") });
        }
        let t: Token = body_text(resp)
            .await
            .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
            .map_err(|reason| AppError::SignIn { relay: base.clone(), reason })?;
        Ok(RelayClient { http, base, token: Secret::new(t.token) })
    }

    /// The relay's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET /api/devices`.
    pub async fn devices(&self) -> Result<Vec<RelayDevice>, AppError> {
        let resp = self
            .http
            .get(format!("{}/api/devices", self.base))
            .bearer_auth(self.token.expose())
            .send()
            .await
            .map_err(|e| AppError::Relay { relay: self.base.clone(), status: 0, body: error_text(&e) })?;
        let status = resp.status().as_u16();
        if status != 200 {
            let body = body_text(resp).await.unwrap_or_else(|e| format!("({e})"));
            return Err(AppError::Relay { relay: self.base.clone(), status, body });
        }
        body_text(resp)
            .await
            .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
            .map_err(|body| AppError::Relay { relay: self.base.clone(), status, body })
    }

    /// `POST /api/devices/{serial}/http`: forward one request through the device's tunnel.
    pub async fn forward(&self, serial: &str, req: &RawRequest) -> Result<RawResponse, TransportError> {
        let resp = self
            .http
            .post(format!("{}/api/devices/{serial}/http", self.base))
            .bearer_auth(self.token.expose())
            .json(req)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    TransportError::Offline(format!("relay {} unreachable: {}", self.base, error_text(&e)))
                } else {
                    TransportError::Lost(format!("relay {} did not answer: {}", self.base, error_text(&e)))
                }
            })?;
        let status = resp.status().as_u16();
        let text = body_text(resp)
            .await
            .map_err(|e| TransportError::Lost(format!("relay {} answer unreadable: {e}", self.base)))?;
        // The relay's own words when it speaks its API; otherwise say which relay sent what.
        let api_error = || {
            serde_json::from_str::<ApiError>(&text).map(|e| e.error).unwrap_or_else(|_| {
                format!(
                    "relay {} answered {status} without an API error: {:?}",
                    self.base,
                    text.chars().take(200).collect::<String>()
                )
            })
        };
        match status {
            200 => serde_json::from_str(&text)
                .map_err(|e| TransportError::Lost(format!("relay {} answer is not a device response: {e}", self.base))),
            503 => Err(TransportError::Offline(api_error())),
            502 | 504 => Err(TransportError::Lost(api_error())),
            _ => Err(TransportError::Harness(match serde_json::from_str::<ApiError>(&text) {
                Ok(e) => format!("relay {} answered {status}: {}", self.base, e.error),
                Err(_) => api_error(),
            })),
        }
    }
}

/// [`Backend`] over the relay: app requests and remote clients both go through the tunnel.
#[derive(Debug, Clone)]
pub struct RelayBackend {
    client: RelayClient,
}

impl RelayBackend {
    /// Sign into the app account `user` at the relay `base` (raw requests only: no app screen).
    pub async fn login(base: &str, user: &str, password: &Secret) -> Result<RelayBackend, AppError> {
        Ok(RelayBackend { client: RelayClient::login(base, user, password).await? })
    }

    /// The same with the bench file's `tls:` (see [`RelayClient::login_with_tls`]).
    pub async fn login_with_tls(
        base: &str,
        user: &str,
        password: &Secret,
        tls: TlsSpec,
    ) -> Result<RelayBackend, AppError> {
        Ok(RelayBackend { client: RelayClient::login_with_tls(base, user, password, tls).await? })
    }

    /// The signed-in relay session.
    pub fn client(&self) -> &RelayClient {
        &self.client
    }
}

#[async_trait]
impl Backend for RelayBackend {
    fn describe(&self) -> String {
        format!("relay {}", self.client.base)
    }

    async fn online(&self, serial: &str) -> Result<bool, AppError> {
        Ok(self.client.devices().await?.iter().any(|d| d.serial == serial && d.online))
    }

    async fn send(&self, serial: &str, req: RawRequest) -> Result<RawResponse, TransportError> {
        self.client.forward(serial, &req).await
    }

    async fn send_remote(&self, serial: &str, req: RawRequest) -> Result<RawResponse, TransportError> {
        self.client.forward(serial, &req).await
    }
}
