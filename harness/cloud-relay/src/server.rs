//! The relay service: the app API (login, device list, forward) and the tunnel endpoint recorders
//! dial, wired on one axum router. See docs/relay-api.md for the wire contract.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{SinkExt, StreamExt};
use resetlab_wire::Secret;
use serde::Deserialize;
use tokio::sync::watch;

use crate::accounts::Accounts;
use crate::error::RelayError;
use crate::protocol::{
    ApiError, DEVICE_OFFLINE, DeviceStatus, HttpRequest, LoginRequest, LoginResponse, TUNNEL_LOST,
    TUNNEL_TIMEOUT, TunnelResponse,
};
use crate::tunnels::{ForwardError, Tunnels};

/// How to run a relay.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Listen address; `127.0.0.1:0` picks a free port.
    pub bind: SocketAddr,
    /// How long a forwarded request waits for the device's answer (504 after).
    pub forward_timeout: Duration,
    /// Bearer token for `POST /admin/accounts`; `None` disables the admin API.
    pub admin_token: Option<Secret>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            forward_timeout: Duration::from_secs(10),
            admin_token: None,
        }
    }
}

struct Inner {
    accounts: Mutex<Accounts>,
    tunnels: Tunnels,
    forward_timeout: Duration,
    admin_token: Option<Secret>,
    shutdown: watch::Sender<bool>,
}

/// A running relay; clones share it.
#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
    addr: SocketAddr,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").field("addr", &self.addr).finish()
    }
}

impl Relay {
    /// Bind and serve in the background.
    pub async fn start(cfg: RelayConfig) -> Result<Relay, RelayError> {
        let listener = tokio::net::TcpListener::bind(cfg.bind)
            .await
            .map_err(|source| RelayError::Bind {
                addr: cfg.bind,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| RelayError::Bind {
            addr: cfg.bind,
            source,
        })?;
        let (shutdown, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            accounts: Mutex::new(Accounts::default()),
            tunnels: Tunnels::default(),
            forward_timeout: cfg.forward_timeout,
            admin_token: cfg.admin_token,
            shutdown,
        });
        let router = Router::new()
            .route("/api/login", post(login))
            .route("/api/devices", get(devices))
            .route("/api/devices/{serial}/http", post(forward))
            .route("/admin/accounts", post(admin_account))
            .route("/tunnel/{serial}", get(tunnel))
            .with_state(inner.clone());
        let mut stop = inner.shutdown.subscribe();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.changed().await;
                })
                .await;
        });
        tracing::info!(%addr, "cloud relay listening");
        Ok(Relay { inner, addr })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL of the app API and of the tunnel endpoint, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Create (or replace) an app account owning the recorders `serials`.
    pub fn add_account(
        &self,
        user: &str,
        password: impl Into<String>,
        serials: impl IntoIterator<Item = String>,
    ) {
        self.inner.accounts.lock().unwrap().upsert(
            user,
            Secret::new(password),
            serials.into_iter().collect::<BTreeSet<_>>(),
        );
    }

    /// Give an existing account one more recorder; false when the account does not exist.
    pub fn grant(&self, user: &str, serial: &str) -> bool {
        self.inner.accounts.lock().unwrap().grant(user, serial)
    }

    /// Start the device agent of an emulated `recorder`, dialing this relay (see [`crate::agent`]).
    pub fn attach(&self, recorder: &resetlab_emulator::Recorder) -> crate::agent::AgentHandle {
        crate::agent::attach(recorder, &self.url())
    }

    /// Whether `serial`'s tunnel is up.
    pub fn is_online(&self, serial: &str) -> bool {
        self.inner.tunnels.is_online(serial)
    }

    /// Requests the relay has sent into `serial`'s tunnels since it started.
    pub fn forwarded(&self, serial: &str) -> u64 {
        self.inner.tunnels.forwarded(serial)
    }

    /// Close `serial`'s tunnel from the relay side (the device agent will dial again).
    pub fn kick(&self, serial: &str) -> bool {
        self.inner.tunnels.kick(serial)
    }

    /// Wait until `serial` is online (`online = true`) or offline, or fail after `deadline`.
    pub async fn wait_online_state(
        &self,
        serial: &str,
        online: bool,
        deadline: Duration,
    ) -> Result<(), RelayError> {
        let mut rx = self.inner.tunnels.changes();
        let tunnels = &self.inner.tunnels;
        let r = tokio::time::timeout(deadline, async {
            loop {
                if tunnels.is_online(serial) == online {
                    return;
                }
                if rx.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        })
        .await;
        r.map_err(|_| RelayError::Timeout {
            what: format!(
                "recorder {serial} to be {} at the relay",
                if online { "online" } else { "offline" }
            ),
            deadline,
        })
    }

    /// Wait until `serial` has a tunnel.
    pub async fn wait_online(&self, serial: &str, deadline: Duration) -> Result<(), RelayError> {
        self.wait_online_state(serial, true, deadline).await
    }

    /// Stop serving and close every tunnel.
    pub async fn shutdown(&self) {
        let _ = self.inner.shutdown.send(true);
    }
}

fn error(status: StatusCode, msg: &str) -> Response {
    (
        status,
        Json(ApiError {
            error: msg.to_owned(),
        }),
    )
        .into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn account_of(inner: &Inner, headers: &HeaderMap) -> Result<String, Box<Response>> {
    let token = bearer(headers).ok_or_else(|| {
        Box::new(error(
            StatusCode::UNAUTHORIZED,
            "missing bearer token: POST /api/login first",
        ))
    })?;
    inner
        .accounts
        .lock()
        .unwrap()
        .user_of(token)
        .map(str::to_owned)
        .ok_or_else(|| {
            Box::new(error(
                StatusCode::UNAUTHORIZED,
                "unknown bearer token: POST /api/login again",
            ))
        })
}

async fn login(State(inner): State<Arc<Inner>>, Json(req): Json<LoginRequest>) -> Response {
    resetlab_wire::secret::remember(&req.password);
    match inner
        .accounts
        .lock()
        .unwrap()
        .login(&req.user, &req.password)
    {
        Some(token) => Json(LoginResponse { token }).into_response(),
        None => error(StatusCode::UNAUTHORIZED, "wrong app account or password"),
    }
}

async fn devices(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    let user = match account_of(&inner, &headers) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let serials = inner.accounts.lock().unwrap().devices(&user);
    let list: Vec<DeviceStatus> = serials
        .into_iter()
        .map(|serial| DeviceStatus {
            online: inner.tunnels.is_online(&serial),
            serial,
        })
        .collect();
    Json(list).into_response()
}

async fn forward(
    State(inner): State<Arc<Inner>>,
    Path(serial): Path<String>,
    headers: HeaderMap,
    Json(req): Json<HttpRequest>,
) -> Response {
    let user = match account_of(&inner, &headers) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    if !inner.accounts.lock().unwrap().owns(&user, &serial) {
        return error(StatusCode::NOT_FOUND, "no such device on this app account");
    }
    // The query may carry `pwd=`: log the path only.
    let path = req.uri.split('?').next().unwrap_or("").to_owned();
    let deadline = req
        .timeout_ms
        .map(Duration::from_millis)
        .unwrap_or(inner.forward_timeout);
    match inner.tunnels.forward(&serial, req, deadline).await {
        Ok(r) => {
            tracing::debug!(%serial, %path, status = r.status, "forwarded");
            Json(r).into_response()
        }
        Err(e) => {
            tracing::info!(%serial, %path, ?e, "forward failed");
            match e {
                ForwardError::Offline => error(StatusCode::SERVICE_UNAVAILABLE, DEVICE_OFFLINE),
                ForwardError::Lost => error(StatusCode::BAD_GATEWAY, TUNNEL_LOST),
                ForwardError::Timeout => error(StatusCode::GATEWAY_TIMEOUT, TUNNEL_TIMEOUT),
                ForwardError::DeviceSide(why) => {
                    error(StatusCode::BAD_GATEWAY, &format!("device side: {why}"))
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct AdminAccount {
    user: String,
    password: String,
    #[serde(default)]
    devices: Vec<String>,
}

async fn admin_account(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Json(req): Json<AdminAccount>,
) -> Response {
    let Some(expected) = &inner.admin_token else {
        return error(StatusCode::NOT_FOUND, "admin API disabled on this relay");
    };
    if bearer(&headers) != Some(expected.expose()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "admin API needs the relay's admin bearer token",
        );
    }
    inner.accounts.lock().unwrap().upsert(
        &req.user,
        Secret::new(req.password),
        req.devices.into_iter().collect(),
    );
    StatusCode::NO_CONTENT.into_response()
}

async fn tunnel(
    State(inner): State<Arc<Inner>>,
    Path(serial): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    ws.on_upgrade(move |socket| serve_tunnel(inner, serial, socket))
}

async fn serve_tunnel(inner: Arc<Inner>, serial: String, socket: WebSocket) {
    let mut reg = inner.tunnels.register(&serial);
    tracing::info!(%serial, conn = reg.conn, "device tunnel up");
    let (mut sink, mut stream) = socket.split();
    let mut stop = inner.shutdown.subscribe();
    loop {
        tokio::select! {
            out = reg.rx.recv() => {
                let Some(frame) = out else { break };
                let text = serde_json::to_string(&frame).expect("tunnel frames serialise");
                if sink.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    match serde_json::from_str::<TunnelResponse>(&text) {
                        Ok(resp) => {
                            if let Some(tx) = reg.pending.lock().unwrap().remove(&resp.id) {
                                let _ = tx.send(resp);
                            }
                        }
                        Err(e) => tracing::warn!(%serial, %e, "unreadable tunnel frame"),
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            _ = &mut reg.kicked => break,
            _ = stop.changed() => break,
        }
    }
    inner.tunnels.unregister(&serial, reg.conn);
    // Requests still waiting get "lost": they were sent, the device may have applied them.
    reg.pending.lock().unwrap().clear();
    let _ = sink.close().await;
    tracing::info!(%serial, conn = reg.conn, "device tunnel down");
}
