//! What a device agent tunnels to: the device behind the tunnel, seen only through what the agent
//! needs — whether it can keep a tunnel now, where its HTTP service is, and what its P2P module does
//! with a tunneled request before that service sees it.
//!
//! The relay crate knows no firmware: a recorder's P2P policy (refusing remote use with a factory
//! password, a module that judges credentials by its own copy) is the device's behaviour and lives
//! with the device (the emulated recorder implements this trait in `resetlab-emulator`).

use std::net::SocketAddr;

use crate::protocol::{HttpRequest, HttpResponse};

/// The device at the far end of a tunnel.
pub trait TunnelEndpoint: Send + Sync + 'static {
    /// The serial number the tunnel is registered under at the relay.
    fn serial(&self) -> String;

    /// Whether the device can keep a tunnel now (powered, booted far enough, link up). The agent
    /// polls this: a device offers no change notification, as a real one notices a dead link by
    /// its keep-alives.
    fn is_up(&self) -> bool;

    /// The device's own HTTP service, where the agent passes tunneled requests (plain HTTP).
    fn http_addr(&self) -> SocketAddr;

    /// What the device's P2P module does with a tunneled request before its HTTP service sees it.
    /// A device whose module judges nothing passes every request on as it came.
    fn screen(&self, request: HttpRequest) -> Screened {
        Screened::Forward(request)
    }
}

/// The P2P module's decision about one tunneled request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screened {
    /// Pass this request (as it came, or as the module rewrote it) to the HTTP service; its answer
    /// goes back through the tunnel unchanged.
    Forward(HttpRequest),
    /// Refused by the module for `reason`: the HTTP service's fresh challenge for `probe` (the
    /// request without its credentials) goes back with `reason` as its body, so a client treats it
    /// as a refused login and can show why. If the service does not answer `probe` with a 401, a
    /// plain-text 401 carrying `reason` goes back instead.
    Challenge {
        /// The request stripped of its credentials.
        probe: HttpRequest,
        /// The module's reason, as the body of the refusal.
        reason: String,
    },
    /// Answered by the module itself; the HTTP service never sees the request.
    Answer(HttpResponse),
}
