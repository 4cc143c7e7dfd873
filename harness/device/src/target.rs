//! `Target` and `Credentials`: where a recorder is and who we log in as — what exists, kept apart
//! from the clients that use it. A target also carries what its clients share across calls (the
//! HTTP connection pool, Digest challenges, an idle RTSP connection, request counters): clones of a
//! target share it, [`Target::detached`] starts afresh.

use std::sync::Arc;
use std::time::Duration;

use resetlab_wire::Secret;

use crate::shared::Shared;
use crate::stats::{RequestCounters, RequestStats};

/// Default deadline for one client call (connect, request, response).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A recorder's network address and how long one call may take. Two targets are equal when they
/// name the same address with the same deadline, whatever they have in their caches.
#[derive(Clone)]
pub struct Target {
    /// Host name or IP address (IPv6 without brackets is accepted).
    pub host: String,
    /// Port of HTTP CGI and RPC2 (80 on real recorders).
    pub http_port: u16,
    /// Port of RTSP (554 on real recorders).
    pub rtsp_port: u16,
    /// Deadline for one whole client call.
    pub timeout: Duration,
    /// Whether Digest challenges are answered again across calls (see [`Target::with_challenge_reuse`]).
    reuse_challenges: bool,
    /// HTTP CGI, RPC2 and ONVIF over HTTPS, with this certificate policy (`None`: plain HTTP).
    https: Option<crate::tls::Https>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("host", &self.host)
            .field("http_port", &self.http_port)
            .field("rtsp_port", &self.rtsp_port)
            .field("timeout", &self.timeout)
            .field("reuse_challenges", &self.reuse_challenges)
            .field("https", &self.https)
            .finish()
    }
}

impl PartialEq for Target {
    fn eq(&self, other: &Self) -> bool {
        (&self.host, self.http_port, self.rtsp_port, self.timeout, self.https)
            == (&other.host, other.http_port, other.rtsp_port, other.timeout, other.https)
    }
}

impl Eq for Target {}

impl Target {
    /// A target with the default 5 s timeout.
    pub fn new(host: impl Into<String>, http_port: u16, rtsp_port: u16) -> Self {
        Target {
            host: host.into(),
            http_port,
            rtsp_port,
            timeout: DEFAULT_TIMEOUT,
            reuse_challenges: true,
            https: None,
            shared: Arc::new(Shared::new(None)),
        }
    }

    /// The same address with nothing shared: its own connections, no known challenge, counters
    /// from zero (what a first contact with the device costs).
    pub fn detached(&self) -> Self {
        Target { shared: Arc::new(Shared::new(self.https)), ..self.clone() }
    }

    /// Whether clients answer a Digest challenge they already hold with the next nonce count
    /// (`true`, the default: one round trip per request) or wait for a `401` on every request
    /// (`false`: two round trips per request). Turn it off for firmware that forgets nonces
    /// without answering `stale=true` (RFC 7616 §3.3), where a reused nonce would be refused like
    /// a wrong password.
    pub fn with_challenge_reuse(mut self, on: bool) -> Self {
        self.reuse_challenges = on;
        self
    }

    /// Requests the clients of this target (and its clones) have sent so far, per interface.
    /// `later - earlier` gives what a step or a scenario cost.
    pub fn requests(&self) -> RequestStats {
        self.shared.counters.snapshot()
    }

    /// The live counters behind [`Target::requests`], to keep after the target is gone.
    pub fn counters(&self) -> Arc<RequestCounters> {
        Arc::clone(&self.shared.counters)
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    pub(crate) fn reuses_challenges(&self) -> bool {
        self.reuse_challenges
    }

    /// The same recorder reached over HTTPS (HTTP CGI, RPC2, ONVIF; RTSP stays plain), its
    /// certificate verified unless `accept_self_signed` (see [`crate::tls`]). Starts afresh, as
    /// [`Target::detached`].
    pub fn with_https(mut self, accept_self_signed: bool) -> Self {
        self.https = Some(crate::tls::Https { accept_self_signed });
        self.shared = Arc::new(Shared::new(self.https));
        self
    }

    /// How this target speaks HTTPS, if it does.
    pub fn https(&self) -> Option<crate::tls::Https> {
        self.https
    }

    /// The same target with another per-call deadline.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Host as it appears in a URL authority (IPv6 bracketed).
    pub(crate) fn url_host(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }

    /// `http://host:port`, without a trailing slash.
    pub(crate) fn http_base(&self) -> String {
        let scheme = if self.https.is_some() { "https" } else { "http" };
        format!("{scheme}://{}:{}", self.url_host(), self.http_port)
    }

    /// `host:port` of HTTP, for messages.
    pub(crate) fn http_authority(&self) -> String {
        format!("{}:{}", self.url_host(), self.http_port)
    }

    /// `host:port` of RTSP, for messages and connecting.
    pub(crate) fn rtsp_authority(&self) -> String {
        format!("{}:{}", self.url_host(), self.rtsp_port)
    }
}

/// An account name and its password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Account name, e.g. `admin`.
    pub user: String,
    /// Password; prints as `•••`.
    pub password: Secret,
}

impl Credentials {
    /// Credentials from a user name and a secret.
    pub fn new(user: impl Into<String>, password: Secret) -> Self {
        Credentials { user: user.into(), password }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_hosts_are_bracketed_in_urls() {
        let t = Target::new("fe80::1", 80, 554);
        assert_eq!(t.http_base(), "http://[fe80::1]:80");
        assert_eq!(Target::new("10.0.0.5", 8080, 554).http_base(), "http://10.0.0.5:8080");
    }

    #[test]
    fn credentials_debug_hides_the_password() {
        let c = Credentials::new("admin", Secret::new("tgt-secret-1"));
        assert!(!format!("{c:?}").contains("tgt-secret-1"));
    }
}
