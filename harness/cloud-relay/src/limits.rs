//! What the relay accepts from callers and devices, so that nobody can make it hold unbounded
//! memory, wait without end, or send a device somewhere other than its own HTTP service.
//!
//! The numbers follow what the protocol carries: CGI request lines, Digest headers, RPC2 JSON
//! bodies and their answers are a few KiB; nothing in the tunnel is near [`MAX_FRAME`].

use std::time::Duration;

use crate::protocol::{HttpRequest, MAX_FRAME};

/// Limits of one relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayLimits {
    /// Open device tunnels at most.
    pub max_tunnels: usize,
    /// Open device tunnels from one source IP at most (every emulated recorder dials from
    /// loopback, so this is also the largest embedded lab).
    pub max_tunnels_per_source: usize,
    /// Requests queued or waiting for an answer in one tunnel; more get 503 (never sent).
    pub max_in_flight: usize,
    /// Largest WebSocket message (and frame) in a tunnel.
    pub max_frame: usize,
    /// How often the relay pings a tunnel.
    pub ping_interval: Duration,
    /// A tunnel with no frame and no pong for this long is closed (the device is offline).
    pub idle_timeout: Duration,
    /// Largest `timeout_ms` a forward call may ask for.
    pub max_forward_timeout: Duration,
    /// Largest app API request body, bytes.
    pub max_request: usize,
    /// Largest account name or password, bytes.
    pub max_credential: usize,
    /// Largest `uri`, bytes.
    pub max_uri: usize,
    /// Most headers of a forwarded request.
    pub max_headers: usize,
    /// Largest header name plus value, bytes.
    pub max_header: usize,
    /// Largest forwarded request body, bytes.
    pub max_body: usize,
}

impl Default for RelayLimits {
    fn default() -> Self {
        RelayLimits {
            max_tunnels: 1024,
            max_tunnels_per_source: 256,
            max_in_flight: 32,
            max_frame: MAX_FRAME,
            ping_interval: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(15),
            max_forward_timeout: Duration::from_secs(60),
            max_request: 128 * 1024,
            max_credential: 256,
            max_uri: 8 * 1024,
            max_headers: 32,
            max_header: 8 * 1024,
            max_body: 64 * 1024,
        }
    }
}

impl RelayLimits {
    /// Why a forward call cannot be sent as asked, or `Ok`.
    pub(crate) fn check_forward(&self, req: &HttpRequest) -> Result<(), String> {
        if !req.uri.starts_with('/') {
            return Err(
                "uri must be a path starting with `/` (the device's own HTTP service is the only destination)".into()
            );
        }
        if req.uri.len() > self.max_uri {
            return Err(format!("uri of {} bytes exceeds the relay's limit of {}", req.uri.len(), self.max_uri));
        }
        if req.uri.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("uri must not contain spaces or control characters".into());
        }
        if req.headers.len() > self.max_headers {
            return Err(format!("{} headers exceed the relay's limit of {}", req.headers.len(), self.max_headers));
        }
        if req.headers.iter().any(|(k, v)| k.len() + v.len() > self.max_header) {
            return Err(format!("a header longer than the relay's limit of {} bytes", self.max_header));
        }
        if req.body.len() > self.max_body {
            return Err(format!("body of {} bytes exceeds the relay's limit of {}", req.body.len(), self.max_body));
        }
        if let Some(ms) = req.timeout_ms
            && Duration::from_millis(ms) > self.max_forward_timeout
        {
            return Err(format!(
                "timeout_ms {ms} exceeds the relay's limit of {}",
                self.max_forward_timeout.as_millis()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(uri: &str) -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            uri: uri.into(),
            headers: Vec::new(),
            body: String::new(),
            timeout_ms: None,
        }
    }

    #[test]
    fn only_paths_within_the_limits_are_forwarded() {
        let l = RelayLimits::default();
        assert_eq!(l.check_forward(&req("/cgi-bin/magicBox.cgi?action=getSerialNo")), Ok(()));
        for bad in ["@127.0.0.1:8080/x", "", "cgi-bin/x", "/a b", "/a\r\nHost: x"] {
            assert!(l.check_forward(&req(bad)).is_err(), "{bad:?}");
        }
        let mut r = req("/x");
        r.timeout_ms = Some(61_000);
        assert!(l.check_forward(&r).unwrap_err().contains("timeout_ms 61000"));
        r.timeout_ms = Some(60_000);
        r.body = "x".repeat(64 * 1024 + 1);
        assert!(l.check_forward(&r).unwrap_err().contains("body"));
        r.body.clear();
        r.headers = vec![("X".into(), "y".into()); 33];
        assert!(l.check_forward(&r).unwrap_err().contains("headers"));
    }
}
