//! The recorder's P2P module: the emulated recorder as the device end of a cloud-relay tunnel.
//!
//! resetlab's relay ([`resetlab_cloud_relay`]) plays the vendor's proprietary P2P service; its
//! device agent carries tunneled requests to whatever [`TunnelEndpoint`] it serves. What the module
//! on the box refuses or rewrites before the recorder's HTTP service sees a request is firmware
//! behaviour, so it is decided here, next to the account store and the defects:
//!
//! - Remote use with the factory default password (ETSI EN 303 645 5.1-1, `default_password:
//!   must-change-before-remote`) is refused by the module, before any password check: see
//!   [`Recorder::refuses_remote_use`].
//! - Firmware with the `remote-keeps-old-password` defect judges Digest credentials by the
//!   module's own stale copy of the passwords: see [`Recorder::p2p_login`].
//!
//! Why in the module and not in the HTTP service: the module is the only way remote use reaches
//! the box, and it forwards over loopback, where the HTTP service cannot tell a tunneled request
//! from a local one (a marker header would be one more thing to strip from what the app sends).
//! Local HTTP, RPC2 and RTSP logins with the default keep working, so the owner can log in locally
//! to set the password.
//!
//! The `Authorization` header is read by the one Digest parser the recorder's services use
//! ([`DigestAuth::parse`]).

use std::net::SocketAddr;

use resetlab_cloud_relay::protocol::{HttpRequest, HttpResponse};
use resetlab_cloud_relay::{Screened, TunnelEndpoint};

use crate::digest::DigestAuth;
use crate::firmware::P2pLogin;
use crate::recorder::Recorder;

/// The body of the P2P module's refusal of remote use with the factory default password.
pub const DEFAULT_PASSWORD_REFUSED: &str = "Error\r\nDefault password must be changed before remote access\r\n";

impl TunnelEndpoint for Recorder {
    fn serial(&self) -> String {
        Recorder::serial(self)
    }

    fn is_up(&self) -> bool {
        self.is_powered() && self.is_linked()
    }

    fn http_addr(&self) -> SocketAddr {
        Recorder::http_addr(self)
    }

    fn screen(&self, request: HttpRequest) -> Screened {
        let auth = authorization(&request).map(|(_, v)| v.to_owned());
        // The account is the one the request names (Digest `username`, or RPC2 `global.login`
        // `userName`): the module refuses before any password check, so a remote attempt at a
        // factory account neither gets in nor counts towards the lockout. Unauthenticated
        // requests pass (they get the recorder's challenge); an RPC2 session can only come from a
        // login, which is checked here.
        if let Some(d) = auth.as_deref().and_then(DigestAuth::parse)
            && self.refuses_remote_use(&d.username)
        {
            return Screened::Challenge {
                probe: without_credentials(request),
                reason: DEFAULT_PASSWORD_REFUSED.into(),
            };
        }
        if rpc2_login_user(&request).is_some_and(|user| self.refuses_remote_use(&user)) {
            return Screened::Answer(HttpResponse {
                status: 401,
                headers: vec![("content-type".into(), "text/plain".into())],
                body: DEFAULT_PASSWORD_REFUSED.to_owned(),
            });
        }
        let Some(auth) = auth else {
            return Screened::Forward(request);
        };
        match self.p2p_login(&request.method, &auth) {
            P2pLogin::PassOn => Screened::Forward(request),
            P2pLogin::Resigned(header) => {
                let mut request = request;
                if let Some(i) = request.headers.iter().position(|(k, _)| k.eq_ignore_ascii_case("authorization")) {
                    request.headers[i].1 = header;
                }
                Screened::Forward(request)
            }
            // The module's own check failed: the client gets the recorder's fresh challenge, as
            // from any refused Digest login.
            P2pLogin::Refuse => Screened::Forward(without_credentials(request)),
        }
    }
}

/// The request's `Authorization` header, if it has one.
fn authorization(request: &HttpRequest) -> Option<&(String, String)> {
    request.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
}

fn without_credentials(mut request: HttpRequest) -> HttpRequest {
    request.headers.retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
    request
}

/// The `userName` of an RPC2 `global.login` posted to `/RPC2_Login`.
fn rpc2_login_user(request: &HttpRequest) -> Option<String> {
    let path = request.uri.split('?').next().unwrap_or("");
    if path != "/RPC2_Login" {
        return None;
    }
    let v = serde_json::from_str::<serde_json::Value>(&request.body).ok()?;
    v["params"]["userName"].as_str().map(str::to_owned)
}
