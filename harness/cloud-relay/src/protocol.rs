//! Messages on the relay: the JSON of the app API and the frames inside a device tunnel.
//!
//! A tunnel is one WebSocket; each frame is a JSON text message. The relay sends [`TunnelRequest`]s,
//! the device answers each with a [`TunnelResponse`] carrying the same `id`. Bodies are text: the
//! recorder's CGI and RPC2 speak text and JSON.

use serde::{Deserialize, Serialize};

/// `POST /api/login` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    /// App account name.
    pub user: String,
    /// App account password (never a device password).
    pub password: String,
}

/// `POST /api/login` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginResponse {
    /// Bearer token for the other calls.
    pub token: String,
}

/// One entry of `GET /api/devices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceStatus {
    /// Recorder serial number.
    pub serial: String,
    /// Whether its tunnel is up now.
    pub online: bool,
}

/// An HTTP request to forward to a device (`POST /api/devices/{serial}/http` body, and inside a
/// tunnel with an `id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// `GET`, `POST`.
    pub method: String,
    /// Path and query exactly as the device must see it (Digest covers it byte for byte).
    pub uri: String,
    /// Header name/value pairs (e.g. `Authorization: Digest ...`).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Request body (RPC2 JSON), empty for CGI.
    #[serde(default)]
    pub body: String,
    /// How long the relay waits for the device's answer; the relay's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// The device's HTTP answer, unchanged (status, every header incl. `WWW-Authenticate`, body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    /// Status the device sent.
    pub status: u16,
    /// Its headers in order.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Its body as text.
    #[serde(default)]
    pub body: String,
}

/// Error body of every non-200 API answer: `{"error": "device offline"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiError {
    /// What went wrong, in words.
    pub error: String,
}

/// Relay → device frame.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TunnelRequest {
    /// Correlates the answer.
    pub id: u64,
    /// The request.
    #[serde(flatten)]
    pub request: HttpRequest,
}

/// Device → relay frame.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TunnelResponse {
    /// The request's id.
    pub id: u64,
    /// The device's answer, or
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<HttpResponse>,
    /// why the device side could not produce one (its HTTP service did not answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Largest WebSocket message (and frame) either end of a tunnel accepts: a request or an answer of
/// the recorder's CGI/RPC2 is a few KiB.
pub const MAX_FRAME: usize = 256 * 1024;

/// The message of a 503 when the device's tunnel already has as many requests as it may queue.
pub const DEVICE_BUSY: &str = "device tunnel busy: too many requests waiting; nothing was sent";

/// The message of a 503 when a device has no tunnel.
pub const DEVICE_OFFLINE: &str = "device offline";
/// The message of a 502 when the tunnel closed with the request in flight (it may have been applied).
pub const TUNNEL_LOST: &str = "device tunnel lost with the request in flight";
/// The message of a 504 when the device did not answer in time (it may have been applied).
pub const TUNNEL_TIMEOUT: &str = "device did not answer through its tunnel in time";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tunnel_frames_have_the_documented_shape() {
        let req = TunnelRequest {
            id: 7,
            request: HttpRequest {
                method: "GET".into(),
                uri: "/cgi-bin/magicBox.cgi?action=getSerialNo".into(),
                headers: vec![("Authorization".into(), "Digest x".into())],
                body: String::new(),
                timeout_ms: None,
            },
        };
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({"id": 7, "method": "GET", "uri": "/cgi-bin/magicBox.cgi?action=getSerialNo",
                   "headers": [["Authorization", "Digest x"]], "body": ""})
        );
        let resp: TunnelResponse =
            serde_json::from_value(json!({"id": 7, "response": {"status": 200, "headers": [], "body": "OK\r\n"}}))
                .unwrap();
        assert_eq!(resp.response.unwrap().body, "OK\r\n");
        let err: TunnelResponse = serde_json::from_value(json!({"id": 8, "error": "no answer"})).unwrap();
        assert_eq!((err.response, err.error.as_deref()), (None, Some("no answer")));
    }

    #[test]
    fn forward_body_needs_only_method_and_uri() {
        let r: HttpRequest = serde_json::from_value(json!({"method": "GET", "uri": "/x"})).unwrap();
        assert!(r.headers.is_empty() && r.body.is_empty() && r.timeout_ms.is_none());
    }
}
