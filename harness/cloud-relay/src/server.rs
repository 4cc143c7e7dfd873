//! The relay service: the app API (login, device list, forward) and the tunnel endpoint recorders
//! dial, wired on one axum router. See docs/relay-api.md for the wire contract and
//! docs/security-model.md for whom it trusts.
//!
//! Who gets in: a device opens its tunnel only with the secret it was given when it was enrolled
//! ([`Relay::enroll`], done by [`Relay::attach`] for a device the lab runs), checked against a
//! SHA-256 hash in constant time, and never from a browser page of another origin; an app client
//! only with a bearer token from a login with the account's password (argon2 hash, lockout after
//! repeated wrong passwords), which expires and ends when the password changes.

use std::collections::{BTreeSet, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{SinkExt, StreamExt};
use resetlab_wire::Secret;
use serde::Deserialize;
use tokio::sync::watch;

use crate::accounts::{Accounts, LoginLockout};
use crate::credentials::{self, Hashed};
use crate::error::RelayError;
use crate::limits::RelayLimits;
use crate::password::{self, HashCost};
use crate::protocol::{
    ApiError, DEVICE_BUSY, DEVICE_OFFLINE, DeviceStatus, HttpRequest, LoginRequest, LoginResponse, TUNNEL_LOST,
    TUNNEL_TIMEOUT, TunnelResponse,
};
use crate::tunnels::{ForwardError, Full, Slot, Tunnels};

/// How to run a relay.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Listen address; `127.0.0.1:0` picks a free port.
    pub bind: SocketAddr,
    /// How long a forwarded request waits for the device's answer (504 after).
    pub forward_timeout: Duration,
    /// Bearer token for `POST /admin/accounts`; `None` disables the admin API.
    pub admin_token: Option<Secret>,
    /// How long a bearer token from `POST /api/login` is valid.
    pub token_ttl: Duration,
    /// When wrong passwords lock an app account.
    pub login_lockout: LoginLockout,
    /// argon2id cost of app-account password hashes ([`HashCost::LAB`] by default: light, see
    /// there; use [`HashCost::OWASP`] for accounts that belong to people).
    pub password_cost: HashCost,
    /// Sizes, counts and timeouts the relay accepts.
    pub limits: RelayLimits,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            forward_timeout: Duration::from_secs(10),
            admin_token: None,
            token_ttl: Duration::from_secs(3600),
            login_lockout: LoginLockout::default(),
            password_cost: HashCost::LAB,
            limits: RelayLimits::default(),
        }
    }
}

struct Inner {
    accounts: Mutex<Accounts>,
    /// Enrolled devices: serial → SHA-256 of its tunnel secret.
    devices: Mutex<HashMap<String, Hashed>>,
    tunnels: Tunnels,
    forward_timeout: Duration,
    admin_token: Option<Hashed>,
    password_cost: HashCost,
    limits: RelayLimits,
    /// `http://ADDR`: the only browser origin allowed to open a tunnel.
    origin: String,
    refused_tunnels: AtomicU64,
    shutdown: watch::Sender<bool>,
}

impl Inner {
    fn accounts(&self) -> MutexGuard<'_, Accounts> {
        self.accounts.lock().unwrap_or_else(|e| e.into_inner())
    }
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
            .map_err(|source| RelayError::Bind { addr: cfg.bind, source })?;
        let addr = listener.local_addr().map_err(|source| RelayError::Bind { addr: cfg.bind, source })?;
        let (shutdown, _) = watch::channel(false);
        let limits = cfg.limits.clone();
        let inner = Arc::new(Inner {
            accounts: Mutex::new(Accounts::new(
                cfg.login_lockout,
                cfg.token_ttl,
                password::hash(&credentials::mint(), cfg.password_cost),
            )),
            devices: Mutex::default(),
            tunnels: Tunnels::new(limits.max_tunnels, limits.max_tunnels_per_source, limits.max_in_flight),
            forward_timeout: cfg.forward_timeout.min(limits.max_forward_timeout),
            admin_token: cfg.admin_token.as_ref().map(|t| Hashed::of(t.expose())),
            password_cost: cfg.password_cost,
            origin: format!("http://{addr}"),
            limits,
            refused_tunnels: AtomicU64::new(0),
            shutdown,
        });
        let router = Router::new()
            .route("/api/login", post(login))
            .route("/api/devices", get(devices))
            .route("/api/devices/{serial}/http", post(forward))
            .route("/admin/accounts", post(admin_account))
            .route("/tunnel/{serial}", get(tunnel))
            .layer(DefaultBodyLimit::max(inner.limits.max_request))
            .with_state(inner.clone());
        let mut stop = inner.shutdown.subscribe();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
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

    /// Create (or replace) an app account owning the recorders `serials`. The relay keeps an
    /// argon2 hash of `password`, not the password; replacing the password ends the account's
    /// sessions.
    pub fn add_account(&self, user: &str, password: impl Into<String>, serials: impl IntoIterator<Item = String>) {
        let password = password.into();
        let phc = password::hash(&password, self.inner.password_cost);
        upsert_account(&self.inner, user, &password, phc, serials.into_iter().collect());
    }

    /// Give an existing account one more recorder; false when the account does not exist.
    pub fn grant(&self, user: &str, serial: &str) -> bool {
        self.inner.accounts().grant(user, serial)
    }

    /// Enrol the device `serial`: mint the secret its tunnel must present (`Authorization:
    /// Bearer <secret>` on the upgrade) and keep only its hash. Enrolling again replaces the
    /// secret and closes a tunnel opened with the old one. Hand the secret to the device only.
    pub fn enroll(&self, serial: &str) -> Secret {
        let secret = credentials::mint_secret();
        self.inner.devices.lock().unwrap().insert(serial.to_owned(), Hashed::of(secret.expose()));
        self.inner.tunnels.kick(serial);
        secret
    }

    /// Enrol `device` (an emulated recorder, in the lab) and start its device agent with the new
    /// secret, dialing this relay (see [`crate::agent`]).
    pub fn attach<E: crate::TunnelEndpoint + Clone>(&self, device: &E) -> crate::agent::AgentHandle {
        let secret = self.enroll(&device.serial());
        crate::agent::attach(device, &self.url(), secret)
    }

    /// Whether `serial`'s tunnel is up.
    pub fn is_online(&self, serial: &str) -> bool {
        self.inner.tunnels.is_online(serial)
    }

    /// Requests the relay has sent into `serial`'s tunnels since it started.
    pub fn forwarded(&self, serial: &str) -> u64 {
        self.inner.tunnels.forwarded(serial)
    }

    /// Requests sent to recorder `serial` that got no answer from it: the tunnel closed, the
    /// deadline passed, or the device side reported its HTTP service silent. The app then cannot
    /// tell whether a change took; this count says the network, not the app, lost the answer.
    pub fn unanswered(&self, serial: &str) -> u64 {
        self.inner.tunnels.unanswered(serial)
    }

    /// Tunnel upgrades refused since the relay started (no or wrong device secret, foreign
    /// origin, too many tunnels).
    pub fn refused_tunnels(&self) -> u64 {
        self.inner.refused_tunnels.load(Ordering::SeqCst)
    }

    /// Tunnel connections open now.
    pub fn open_tunnels(&self) -> usize {
        self.inner.tunnels.open()
    }

    /// Close `serial`'s tunnel from the relay side (the device agent will dial again).
    pub fn kick(&self, serial: &str) -> bool {
        self.inner.tunnels.kick(serial)
    }

    /// Wait until `serial` is online (`online = true`) or offline, or fail after `deadline`.
    pub async fn wait_online_state(&self, serial: &str, online: bool, deadline: Duration) -> Result<(), RelayError> {
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
            what: format!("recorder {serial} to be {} at the relay", if online { "online" } else { "offline" }),
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

/// Store `user` with the hash `phc` of `password`; its sessions end unless the password is the
/// one it already had.
fn upsert_account(inner: &Inner, user: &str, password: &str, phc: String, devices: BTreeSet<String>) {
    let old = inner.accounts().phc(user);
    let changed = !old.is_some_and(|old| password::verify(password, &old));
    inner.accounts().upsert(user, phc, devices, changed);
}

fn error(status: StatusCode, msg: &str) -> Response {
    (status, Json(ApiError { error: msg.to_owned() })).into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")
}

fn account_of(inner: &Inner, headers: &HeaderMap) -> Result<String, Box<Response>> {
    let token = bearer(headers)
        .ok_or_else(|| Box::new(error(StatusCode::UNAUTHORIZED, "missing bearer token: POST /api/login first")))?;
    inner.accounts().user_of(token, Instant::now()).ok_or_else(|| {
        Box::new(error(StatusCode::UNAUTHORIZED, "unknown or expired bearer token: POST /api/login again"))
    })
}

/// 400 when an account name or password is longer than the relay accepts (checked before any
/// hashing: a megabyte "password" costs nothing but this answer).
fn credential_too_long(inner: &Inner, user: &str, password: &str) -> Option<Response> {
    let max = inner.limits.max_credential;
    let what = if user.len() > max {
        "account name"
    } else if password.len() > max {
        "password"
    } else {
        return None;
    };
    Some(error(StatusCode::BAD_REQUEST, &format!("{what} longer than the relay's limit of {max} bytes")))
}

async fn login(State(inner): State<Arc<Inner>>, Json(req): Json<LoginRequest>) -> Response {
    // The password is the caller's input, not a secret the harness holds: it is never remembered
    // for redaction (a wrong guess would mask ordinary words in every report) and never logged.
    if let Some(r) = credential_too_long(&inner, &req.user, &req.password) {
        return r;
    }
    let attempt = match inner.accounts().begin_login(&req.user, Instant::now()) {
        Ok(a) => a,
        Err(wait) => {
            let secs = wait.as_secs().max(1);
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("too many wrong passwords for this app account; try again in {secs} s"),
            );
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            return r;
        }
    };
    let LoginRequest { user, password } = req;
    let ok = tokio::task::spawn_blocking(move || password::verify(&password, &attempt.phc)).await.unwrap_or(false);
    match inner.accounts().finish_login(&user, ok, Instant::now()) {
        Some(token) => Json(LoginResponse { token }).into_response(),
        None => error(StatusCode::UNAUTHORIZED, "wrong app account or password"),
    }
}

async fn devices(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    let user = match account_of(&inner, &headers) {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let serials = inner.accounts().devices(&user);
    let list: Vec<DeviceStatus> =
        serials.into_iter().map(|serial| DeviceStatus { online: inner.tunnels.is_online(&serial), serial }).collect();
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
    if !inner.accounts().owns(&user, &serial) {
        return error(StatusCode::NOT_FOUND, "no such device on this app account");
    }
    if let Err(why) = inner.limits.check_forward(&req) {
        return error(StatusCode::BAD_REQUEST, &why);
    }
    // The query may carry `pwd=`: log the path only.
    let path = req.uri.split('?').next().unwrap_or("").to_owned();
    let deadline = req.timeout_ms.map(Duration::from_millis).unwrap_or(inner.forward_timeout);
    match inner.tunnels.forward(&serial, req, deadline).await {
        Ok(r) => {
            tracing::debug!(%serial, %path, status = r.status, "forwarded");
            Json(r).into_response()
        }
        Err(e) => {
            tracing::info!(%serial, %path, ?e, "forward failed");
            match e {
                ForwardError::Offline => error(StatusCode::SERVICE_UNAVAILABLE, DEVICE_OFFLINE),
                ForwardError::Busy => error(StatusCode::SERVICE_UNAVAILABLE, DEVICE_BUSY),
                ForwardError::Lost => error(StatusCode::BAD_GATEWAY, TUNNEL_LOST),
                ForwardError::Timeout => error(StatusCode::GATEWAY_TIMEOUT, TUNNEL_TIMEOUT),
                ForwardError::DeviceSide(why) => error(StatusCode::BAD_GATEWAY, &format!("device side: {why}")),
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

async fn admin_account(State(inner): State<Arc<Inner>>, headers: HeaderMap, Json(req): Json<AdminAccount>) -> Response {
    let Some(expected) = &inner.admin_token else {
        return error(StatusCode::NOT_FOUND, "admin API disabled on this relay");
    };
    // Hash, then compare in constant time: neither the content nor the length of the token
    // shows in the answer time.
    if !bearer(&headers).is_some_and(|t| expected.matches(t)) {
        return error(StatusCode::UNAUTHORIZED, "admin API needs the relay's admin bearer token");
    }
    if let Some(r) = credential_too_long(&inner, &req.user, &req.password) {
        return r;
    }
    let cost = inner.password_cost;
    let inner2 = inner.clone();
    let done = tokio::task::spawn_blocking(move || {
        let phc = password::hash(&req.password, cost);
        upsert_account(&inner2, &req.user, &req.password, phc, req.devices.into_iter().collect());
    })
    .await;
    match done {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "the account could not be stored"),
    }
}

fn refuse_tunnel(inner: &Inner, serial: &str, peer: SocketAddr, status: StatusCode, why: &str) -> Response {
    inner.refused_tunnels.fetch_add(1, Ordering::SeqCst);
    tracing::warn!(%serial, %peer, status = status.as_u16(), why, "device tunnel refused");
    let mut r = error(status, why);
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"resetlab relay device tunnel\""),
        );
    }
    r
}

/// Whether `serial`'s enrolled secret is `presented`. An unknown serial is checked against a
/// fresh hash too, so the answer time does not tell enrolled serials apart.
fn device_secret_ok(inner: &Inner, serial: &str, presented: &str) -> bool {
    let stored = inner.devices.lock().unwrap().get(serial).copied();
    match stored {
        Some(h) => h.matches(presented),
        None => {
            let _ = Hashed::of(&credentials::mint()).matches(presented);
            false
        }
    }
}

async fn tunnel(
    State(inner): State<Arc<Inner>>,
    Path(serial): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    // A device agent sends no Origin; a browser always does. A page of another origin must not
    // reach the tunnel endpoint with the browser as its proxy.
    if let Some(origin) = headers.get(header::ORIGIN)
        && !origin.to_str().is_ok_and(|o| o.eq_ignore_ascii_case(&inner.origin))
    {
        return refuse_tunnel(
            &inner,
            &serial,
            peer,
            StatusCode::FORBIDDEN,
            "tunnel upgrade from a foreign browser origin refused",
        );
    }
    let Some(presented) = bearer(&headers) else {
        return refuse_tunnel(
            &inner,
            &serial,
            peer,
            StatusCode::UNAUTHORIZED,
            "device tunnel needs `Authorization: Bearer <device secret>` (given at enrolment)",
        );
    };
    if !device_secret_ok(&inner, &serial, presented) {
        return refuse_tunnel(&inner, &serial, peer, StatusCode::FORBIDDEN, "wrong device secret for this serial");
    }
    let slot = match inner.tunnels.reserve(peer.ip(), &serial) {
        Ok(slot) => slot,
        Err(full) => {
            let why = match full {
                Full::Total(n) => format!("the relay has its limit of {n} tunnels open"),
                Full::Source(n) => format!("{} has its limit of {n} tunnels open", peer.ip()),
            };
            return refuse_tunnel(&inner, &serial, peer, StatusCode::SERVICE_UNAVAILABLE, &why);
        }
    };
    let max = inner.limits.max_frame;
    ws.max_message_size(max).max_frame_size(max).on_upgrade(move |socket| serve_tunnel(inner, serial, socket, slot))
}

async fn serve_tunnel(inner: Arc<Inner>, serial: String, socket: WebSocket, slot: Slot) {
    let mut reg = inner.tunnels.register(&serial);
    tracing::info!(%serial, conn = reg.conn, "device tunnel up");
    let (mut sink, mut stream) = socket.split();
    let mut stop = inner.shutdown.subscribe();
    let (ping_every, idle) = (inner.limits.ping_interval, inner.limits.idle_timeout);
    let mut ping = tokio::time::interval(ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            out = reg.rx.recv() => {
                let Some(frame) = out else { break };
                let text = serde_json::to_string(&frame).expect("tunnel frames serialise");
                if !send(&mut sink, Message::Text(text.into()), idle).await {
                    break;
                }
            }
            msg = stream.next() => {
                last_heard = Instant::now();
                match msg {
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
                    Some(Ok(Message::Close(_))) | None => break,
                    Some(Err(e)) => {
                        tracing::info!(%serial, %e, "device tunnel broke");
                        break;
                    }
                    Some(Ok(_)) => {}
                }
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > idle {
                    tracing::warn!(%serial, ?idle, "device tunnel silent (no frame, no pong): closing it");
                    break;
                }
                if !send(&mut sink, Message::Ping(Default::default()), idle).await {
                    break;
                }
            }
            _ = &mut reg.kicked => break,
            _ = stop.changed() => break,
        }
    }
    inner.tunnels.unregister(&serial, reg.conn);
    // Requests still waiting get "lost": they were sent, the device may have applied them.
    reg.pending.lock().unwrap().clear();
    let _ = tokio::time::timeout(idle, sink.close()).await;
    drop(slot);
    tracing::info!(%serial, conn = reg.conn, "device tunnel down");
}

/// Send one frame; false when it failed or did not go out within `limit` (a peer that stopped
/// reading must not hold the tunnel's loop in a send).
async fn send(sink: &mut futures::stream::SplitSink<WebSocket, Message>, m: Message, limit: Duration) -> bool {
    matches!(tokio::time::timeout(limit, sink.send(m)).await, Ok(Ok(())))
}
