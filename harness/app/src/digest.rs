//! HTTP Digest through any [`Backend`]: the app answers the recorder's challenge itself, so what
//! travels through the relay is a Digest response, never a password.
//!
//! The challenge is fetched with a harmless unauthenticated request (`magicBox getMachineName`), so
//! a request that changes something reaches the recorder exactly once, already authenticated.
//!
//! Reading and answering the challenge is the device clients' one Digest client
//! ([`resetlab_device::challenge::Challenge`]): the Digest challenge among several headers, any
//! capitalisation of the scheme, `qop=auth` preferred, an empty nonce or a non-ASCII challenge
//! refused instead of guessed at.

use resetlab_device::challenge::Challenge;

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

/// The Digest challenge of a 401, or why there is none the client can answer (the answer as the
/// recorder sent it when it offered no Digest at all).
fn challenge(r: &RawResponse) -> Result<Challenge, RawResponse> {
    if r.status != 401 {
        return Err(r.clone());
    }
    Challenge::from_headers(r.header_values("www-authenticate")).map_err(|why| {
        let has_digest = r.header_values("www-authenticate").any(|v| v.to_ascii_lowercase().contains("digest"));
        if has_digest {
            RawResponse { status: 401, headers: r.headers.clone(), body: why.to_string() }
        } else {
            r.clone()
        }
    })
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
    let mut digest = challenge(&first).map_err(DigestError::NoChallenge)?;
    for attempt in 0..2 {
        let body = (!req.body.is_empty()).then_some(req.body.as_bytes());
        let auth = digest.authorization_with_body(&req.method, &req.uri, &creds.user, &creds.password, body).map_err(
            |why| DigestError::NoChallenge(RawResponse { status: 401, headers: Vec::new(), body: why.to_string() }),
        )?;
        let signed = req.clone().with_header("Authorization", auth);
        let resp = send(b, route, serial, signed).await.map_err(DigestError::Request)?;
        match challenge(&resp) {
            Ok(fresh) if attempt == 0 && fresh.stale() => digest = fresh,
            _ => return Ok(resp),
        }
    }
    unreachable!("the loop returns on its second pass")
}
