//! `Target` and `Credentials`: where a recorder is and who we log in as — what exists, kept apart
//! from the clients that use it.

use std::time::Duration;

use resetlab_wire::Secret;

/// Default deadline for one client call (connect, request, response).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A recorder's network address and how long one call may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or IP address (IPv6 without brackets is accepted).
    pub host: String,
    /// Port of HTTP CGI and RPC2 (80 on real recorders).
    pub http_port: u16,
    /// Port of RTSP (554 on real recorders).
    pub rtsp_port: u16,
    /// Deadline for one whole client call.
    pub timeout: Duration,
}

impl Target {
    /// A target with the default 5 s timeout.
    pub fn new(host: impl Into<String>, http_port: u16, rtsp_port: u16) -> Self {
        Target {
            host: host.into(),
            http_port,
            rtsp_port,
            timeout: DEFAULT_TIMEOUT,
        }
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
        format!("http://{}:{}", self.url_host(), self.http_port)
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
        Credentials {
            user: user.into(),
            password,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_hosts_are_bracketed_in_urls() {
        let t = Target::new("fe80::1", 80, 554);
        assert_eq!(t.http_base(), "http://[fe80::1]:80");
        assert_eq!(
            Target::new("10.0.0.5", 8080, 554).http_base(),
            "http://10.0.0.5:8080"
        );
    }

    #[test]
    fn credentials_debug_hides_the_password() {
        let c = Credentials::new("admin", Secret::new("tgt-secret-1"));
        assert!(!format!("{c:?}").contains("tgt-secret-1"));
    }
}
