//! HTTP Digest through any [`Backend`]: the app answers the recorder's challenge itself, so what
//! travels through the relay is a Digest response, never a password.
//!
//! The challenge is fetched with a harmless unauthenticated request (`magicBox getMachineName`), so
//! a request that changes something reaches the recorder exactly once, already authenticated.

use digest_auth::{AuthContext, HttpMethod};

use crate::entry::DeviceCredentials;
use crate::transport::{Backend, RawRequest, RawResponse, TransportError};

/// The read-only request used to obtain a Digest challenge.
pub const PROBE_URI: &str = "/cgi-bin/magicBox.cgi?action=getMachineName";

/// Which path a request takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// As the app.
    App,
    /// As a remote client.
    Remote,
}

async fn send(b: &dyn Backend, route: Route, serial: &str, req: RawRequest) -> Result<RawResponse, TransportError> {
    match route {
        Route::App => b.send(serial, req).await,
        Route::Remote => b.send_remote(serial, req).await,
    }
}

fn challenge(r: &RawResponse) -> Option<String> {
    r.header_values("www-authenticate")
        .find(|v| v.trim_start().to_ascii_lowercase().starts_with("digest"))
        .map(str::to_owned)
}

/// Outcome of a Digest exchange before the real request was sent.
#[derive(Debug)]
pub enum DigestError {
    /// The transport failed while fetching the challenge (nothing but the probe was sent).
    Probe(TransportError),
    /// The transport failed on the authenticated request itself.
    Request(TransportError),
    /// The recorder sent no Digest challenge (the answer it gave instead).
    NoChallenge(RawResponse),
}

/// Send `req` with Digest credentials: probe for a challenge, answer it, send once; a `stale=true`
/// challenge in reply is answered once more.
pub async fn send_authenticated(
    b: &dyn Backend,
    route: Route,
    serial: &str,
    creds: &DeviceCredentials,
    req: RawRequest,
) -> Result<RawResponse, DigestError> {
    let probe = RawRequest { headers: req.headers.clone(), ..RawRequest::get(PROBE_URI) };
    let first = send(b, route, serial, probe).await.map_err(DigestError::Probe)?;
    let mut www = match challenge(&first) {
        Some(c) if first.status == 401 => c,
        _ => return Err(DigestError::NoChallenge(first)),
    };
    for attempt in 0..2 {
        // digest_auth 0.3 slices by character count as if it were a byte offset and panics on
        // non-ASCII input (found by fuzzing); a challenge relayed as JSON can hold any character.
        let readable = www.is_ascii();
        let Some(mut parsed) = readable.then(|| digest_auth::parse(&www).ok()).flatten() else {
            return Err(DigestError::NoChallenge(RawResponse {
                status: 401,
                headers: vec![("WWW-Authenticate".into(), www)],
                body: "unparsable Digest challenge".into(),
            }));
        };
        let ctx = AuthContext::new_with_method(
            creds.user.as_str(),
            creds.password.expose(),
            req.uri.as_str(),
            (!req.body.is_empty()).then_some(req.body.as_bytes()),
            HttpMethod::from(req.method.clone()),
        );
        let auth = match parsed.respond(&ctx) {
            Ok(a) => a.to_header_string(),
            Err(e) => {
                return Err(DigestError::NoChallenge(RawResponse {
                    status: 401,
                    headers: Vec::new(),
                    body: format!("cannot answer the Digest challenge: {e}"),
                }));
            }
        };
        let signed = req.clone().with_header("Authorization", auth);
        let resp = send(b, route, serial, signed).await.map_err(DigestError::Request)?;
        match challenge(&resp) {
            Some(c) if resp.status == 401 && attempt == 0 && c.to_ascii_lowercase().contains("stale=true") => {
                www = c;
            }
            _ => return Ok(resp),
        }
    }
    unreachable!("the loop returns on its second pass")
}
