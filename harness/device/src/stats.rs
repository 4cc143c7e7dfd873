//! Request counters: on a bench every request to a recorder costs a round trip of 50–300 ms, so how
//! many a run sends, per interface, is the number that says where its time goes. Every client
//! counts what it puts on the wire into the [`RequestCounters`] of its [`Target`](crate::Target),
//! shared by all clones of that target.

use std::fmt;
use std::ops::Sub;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::interface::Interface;

/// Live counters of one target (and every clone of it). Read with [`RequestCounters::snapshot`].
#[derive(Debug, Default)]
pub struct RequestCounters {
    http: AtomicU64,
    rpc2: AtomicU64,
    rtsp: AtomicU64,
    onvif: AtomicU64,
    challenges: AtomicU64,
    connections: AtomicU64,
    resent: AtomicU64,
}

impl RequestCounters {
    fn slot(&self, interface: Interface) -> &AtomicU64 {
        match interface {
            Interface::Http => &self.http,
            Interface::Rpc2 => &self.rpc2,
            Interface::Rtsp => &self.rtsp,
            Interface::Onvif => &self.onvif,
        }
    }

    /// One request sent on `interface`.
    pub(crate) fn request(&self, interface: Interface) {
        self.slot(interface).fetch_add(1, Ordering::Relaxed);
    }

    /// One `401` challenge received (a round trip spent on authentication alone).
    pub(crate) fn challenge(&self) {
        self.challenges.fetch_add(1, Ordering::Relaxed);
    }

    /// One TCP connection opened by a client that manages its own (RTSP).
    pub(crate) fn connection(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    /// One request sent again on a new connection because the reused one closed without an answer.
    pub(crate) fn resend(&self) {
        self.resent.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests sent on `interface` so far.
    pub fn get(&self, interface: Interface) -> u64 {
        self.slot(interface).load(Ordering::Relaxed)
    }

    /// The counts now.
    pub fn snapshot(&self) -> RequestStats {
        RequestStats {
            http: self.http.load(Ordering::Relaxed),
            rpc2: self.rpc2.load(Ordering::Relaxed),
            rtsp: self.rtsp.load(Ordering::Relaxed),
            onvif: self.onvif.load(Ordering::Relaxed),
            challenges: self.challenges.load(Ordering::Relaxed),
            rtsp_connections: self.connections.load(Ordering::Relaxed),
            resent: self.resent.load(Ordering::Relaxed),
        }
    }
}

/// Requests a target's clients sent, per interface, at one moment. `later - earlier` is what was
/// sent in between.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RequestStats {
    /// HTTP CGI requests (`/cgi-bin/…`).
    pub http: u64,
    /// RPC2 requests (`/RPC2_Login`, `/RPC2`).
    pub rpc2: u64,
    /// RTSP requests.
    pub rtsp: u64,
    /// ONVIF SOAP requests.
    pub onvif: u64,
    /// `401` challenges among the answers (round trips spent on authentication alone).
    pub challenges: u64,
    /// RTSP TCP connections opened (HTTP connections are pooled by the HTTP client).
    pub rtsp_connections: u64,
    /// Requests sent again on a new connection because a reused one closed without answering
    /// (the device's idle timeout, or a link that flapped).
    pub resent: u64,
}

impl RequestStats {
    /// Requests sent on `interface`.
    pub fn get(&self, interface: Interface) -> u64 {
        match interface {
            Interface::Http => self.http,
            Interface::Rpc2 => self.rpc2,
            Interface::Rtsp => self.rtsp,
            Interface::Onvif => self.onvif,
        }
    }

    /// Requests on every interface together.
    pub fn total(&self) -> u64 {
        self.http + self.rpc2 + self.rtsp + self.onvif
    }
}

impl Sub for RequestStats {
    type Output = RequestStats;

    fn sub(self, earlier: RequestStats) -> RequestStats {
        RequestStats {
            http: self.http.saturating_sub(earlier.http),
            rpc2: self.rpc2.saturating_sub(earlier.rpc2),
            rtsp: self.rtsp.saturating_sub(earlier.rtsp),
            onvif: self.onvif.saturating_sub(earlier.onvif),
            challenges: self.challenges.saturating_sub(earlier.challenges),
            rtsp_connections: self.rtsp_connections.saturating_sub(earlier.rtsp_connections),
            resent: self.resent.saturating_sub(earlier.resent),
        }
    }
}

/// `HTTP CGI 12, RPC2 6, RTSP 4, ONVIF 0 (22 requests, 3 challenges)`.
impl fmt::Display for RequestStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, i) in [Interface::Http, Interface::Rpc2, Interface::Rtsp, Interface::Onvif].iter().enumerate() {
            if n > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{i} {}", self.get(*i))?;
        }
        write!(f, " ({} requests, {} challenges)", self.total(), self.challenges)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_interface_and_differences() {
        let c = RequestCounters::default();
        c.request(Interface::Http);
        c.request(Interface::Http);
        let before = c.snapshot();
        c.request(Interface::Rtsp);
        c.request(Interface::Onvif);
        c.challenge();
        let d = c.snapshot() - before;
        assert_eq!((d.http, d.rtsp, d.onvif, d.challenges, d.total()), (0, 1, 1, 1, 2));
        assert_eq!(c.get(Interface::Http), 2);
        assert_eq!(c.snapshot().to_string(), "HTTP CGI 2, RPC2 0, RTSP 1, ONVIF 1 (4 requests, 1 challenges)");
    }
}
