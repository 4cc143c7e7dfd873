//! The app for lab benches whose recorders cannot reach our relay: the same app flow, with the app's
//! requests sent straight to the bench recorder's address (as the vendor app does through its own
//! tunnel), and remote-client logins to the bench's `remote:` address (e.g. a router port forward).

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;

use crate::app::AppSession;
use crate::error::AppError;
use crate::flow::FlowApp;
use crate::transport::{Backend, RawRequest, RawResponse, TransportError, body_text, error_text};

/// Deadline of one request to the bench recorder.
pub const DIRECT_TIMEOUT: Duration = Duration::from_secs(10);

/// [`Backend`] straight to one bench recorder.
#[derive(Debug, Clone)]
pub struct DirectBackend {
    http: reqwest::Client,
    device: SocketAddr,
    remote: Option<SocketAddr>,
}

impl DirectBackend {
    /// The recorder at `device`; remote clients go to `remote` (None: remote logins are not possible
    /// on this bench and say so).
    pub fn new(device: SocketAddr, remote: Option<SocketAddr>) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .timeout(DIRECT_TIMEOUT)
            .build()
            .expect("a plain HTTP client builds");
        DirectBackend { http, device, remote }
    }

    async fn to(&self, addr: SocketAddr, req: RawRequest) -> Result<RawResponse, TransportError> {
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| TransportError::Harness(format!("bad method {:?}", req.method)))?;
        let mut b = self.http.request(method, format!("http://{addr}{}", req.uri));
        for (k, v) in &req.headers {
            b = b.header(k, v);
        }
        if !req.body.is_empty() {
            b = b.body(req.body);
        }
        let resp = b.send().await.map_err(|e| {
            // `{e}` would print the URL, and with it `pwd=` and `pwdOld=`.
            let why = error_text(&e);
            if e.is_connect() {
                TransportError::Offline(format!("recorder at {addr} refused the connection: {why}"))
            } else {
                TransportError::Lost(format!("recorder at {addr} did not answer: {why}"))
            }
        })?;
        let status = resp.status().as_u16();
        let headers =
            resp.headers().iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())).collect();
        let body = body_text(resp)
            .await
            .map_err(|e| TransportError::Lost(format!("recorder at {addr}: body unreadable: {e}")))?;
        Ok(RawResponse { status, headers, body })
    }
}

#[async_trait]
impl Backend for DirectBackend {
    fn describe(&self) -> String {
        format!("direct to {}", self.device)
    }

    async fn online(&self, _serial: &str) -> Result<bool, AppError> {
        let probe = tokio::time::timeout(DIRECT_TIMEOUT, tokio::net::TcpStream::connect(self.device)).await;
        Ok(matches!(probe, Ok(Ok(_))))
    }

    async fn send(&self, _serial: &str, req: RawRequest) -> Result<RawResponse, TransportError> {
        self.to(self.device, req).await
    }

    async fn send_remote(&self, _serial: &str, req: RawRequest) -> Result<RawResponse, TransportError> {
        match self.remote {
            Some(addr) => self.to(addr, req).await,
            None => Err(TransportError::Harness(
                "the bench file gives no `remote:` address for remote access (app: { remote: HOST:PORT })".into(),
            )),
        }
    }
}

/// The app sending straight to a bench recorder.
pub type DirectApp = FlowApp<DirectBackend>;

impl FlowApp<DirectBackend> {
    /// The app on a bench: requests to `device`, remote logins to `remote`.
    pub fn direct(session: AppSession, device: SocketAddr, remote: Option<SocketAddr>) -> DirectApp {
        FlowApp::new(session, DirectBackend::new(device, remote))
    }
}
