//! A device's P2P client: while the device is up (powered, link up), it keeps a WebSocket tunnel to
//! the relay (registered by serial) and hands each tunneled HTTP request to the device's own HTTP
//! port on loopback, returning status, headers (incl. `WWW-Authenticate`) and body unchanged. It
//! redials after the device comes back, or after the tunnel breaks.
//!
//! The device is a [`TunnelEndpoint`]; the agent polls [`TunnelEndpoint::is_up`] every [`POLL`]:
//! that is the P2P client's own timing, as a real one notices a dead link by its keep-alives.
//! What the device's P2P module refuses or rewrites before its HTTP service sees a request (remote
//! use with a factory password, a module with its own stale copy of the passwords) is the device's
//! firmware behaviour: [`TunnelEndpoint::screen`] decides, the agent carries out the decision.
//!
//! The agent authenticates like a real device: it presents the secret it was given at enrolment
//! ([`crate::Relay::enroll`]) as `Authorization: Bearer …` on the tunnel upgrade. When a dial fails
//! (relay down, secret refused) it says why and waits before the next one, doubling the wait from
//! [`POLL`] up to [`MAX_REDIAL`], so a refused device does not hammer the relay every 20 ms.
//!
//! For tests, [`AgentHandle::cut_on`] breaks the tunnel at a chosen point of a chosen request
//! (before it reaches the device, or after the device answered but before the answer leaves).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use resetlab_wire::Secret;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::endpoint::{Screened, TunnelEndpoint};
use crate::error::RelayError;
use crate::protocol::{HttpRequest, HttpResponse, MAX_FRAME, TunnelRequest, TunnelResponse};

/// How often the agent looks at the recorder's power and link; also its first redial delay.
pub const POLL: Duration = Duration::from_millis(20);

/// The longest wait between two failed dials.
pub const MAX_REDIAL: Duration = Duration::from_secs(5);

/// How long the agent waits for the recorder's own HTTP service.
const DEVICE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a planned tunnel cut happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutPoint {
    /// The request arrived through the tunnel; the tunnel breaks before it reaches the recorder.
    BeforeForward,
    /// The recorder answered (and applied the request); the tunnel breaks before the answer leaves.
    AfterDeviceAnswered,
}

#[derive(Debug)]
struct Fault {
    point: CutPoint,
    uri_contains: String,
}

struct State {
    received: AtomicU64,
    forwarded: AtomicU64,
    faults: Mutex<Vec<Fault>>,
    connected: watch::Sender<bool>,
    stop: watch::Sender<bool>,
}

/// The running agent of one recorder.
pub struct AgentHandle {
    state: Arc<State>,
    task: Option<JoinHandle<()>>,
    serial: String,
}

impl std::fmt::Debug for AgentHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentHandle").field("serial", &self.serial).field("connected", &self.is_connected()).finish()
    }
}

/// Start the P2P client of `device`, dialing `relay_url` (`http://127.0.0.1:PORT`, as
/// [`crate::Relay::url`] gives it) with the device `secret` from [`crate::Relay::enroll`]
/// ([`crate::Relay::attach`] does both).
pub fn attach<E: TunnelEndpoint + Clone>(device: &E, relay_url: &str, secret: Secret) -> AgentHandle {
    let device: Device = Arc::new(device.clone());
    let (connected, _) = watch::channel(false);
    let (stop, _) = watch::channel(false);
    let state = Arc::new(State {
        received: AtomicU64::new(0),
        forwarded: AtomicU64::new(0),
        faults: Mutex::new(Vec::new()),
        connected,
        stop,
    });
    let serial = device.serial();
    let ws_url = format!("{}/tunnel/{serial}", relay_url.trim_end_matches('/').replacen("http", "ws", 1));
    let task = tokio::spawn(run(device, ws_url, secret, state.clone()));
    AgentHandle { state, task: Some(task), serial }
}

impl AgentHandle {
    /// Requests that arrived through the tunnel.
    pub fn received(&self) -> u64 {
        self.state.received.load(Ordering::SeqCst)
    }

    /// Requests passed on to the recorder's HTTP service.
    pub fn forwarded(&self) -> u64 {
        self.state.forwarded.load(Ordering::SeqCst)
    }

    /// Whether the tunnel is up now.
    pub fn is_connected(&self) -> bool {
        *self.state.connected.borrow()
    }

    /// Break the tunnel once, at `point` of the next request whose URI contains `uri_contains`.
    pub fn cut_on(&self, point: CutPoint, uri_contains: &str) {
        self.state.faults.lock().unwrap().push(Fault { point, uri_contains: uri_contains.to_owned() });
    }

    /// Wait until the tunnel is up (`true`) or down, or fail after `deadline`.
    pub async fn wait_connected(&self, up: bool, deadline: Duration) -> Result<(), RelayError> {
        let mut rx = self.state.connected.subscribe();
        tokio::time::timeout(deadline, rx.wait_for(|c| *c == up))
            .await
            .ok()
            .and_then(Result::ok)
            .map(|_| ())
            .ok_or_else(|| RelayError::Timeout {
                what: format!("the tunnel of recorder {} to be {}", self.serial, if up { "up" } else { "down" }),
                deadline,
            })
    }

    /// Stop the agent and close its tunnel.
    pub async fn detach(mut self) {
        let _ = self.state.stop.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for AgentHandle {
    fn drop(&mut self) {
        let _ = self.state.stop.send(true);
    }
}

/// The device a running agent serves.
type Device = Arc<dyn TunnelEndpoint>;

/// The tunnel upgrade request: the relay's URL and the device secret.
fn dial_request(
    ws_url: &str,
    secret: &Secret,
) -> Result<tokio_tungstenite::tungstenite::handshake::client::Request, String> {
    let mut req =
        ws_url.into_client_request().map_err(|e| format!("relay URL {ws_url} is not a WebSocket URL: {e}"))?;
    let mut auth = HeaderValue::from_str(&format!("Bearer {}", secret.expose()))
        .map_err(|_| "the device secret is not a valid header value".to_owned())?;
    auth.set_sensitive(true);
    req.headers_mut().insert("authorization", auth);
    Ok(req)
}

async fn run(rec: Device, ws_url: String, secret: Secret, state: Arc<State>) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .timeout(DEVICE_TIMEOUT)
        .build()
        .expect("a plain HTTP client builds");
    let config = WebSocketConfig::default().max_message_size(Some(MAX_FRAME)).max_frame_size(Some(MAX_FRAME));
    let mut stop = state.stop.subscribe();
    let mut tick = tokio::time::interval(POLL);
    let mut redial = POLL;
    loop {
        // Wait for power and link (and for the recorder to have booted far enough to be linked).
        loop {
            if *stop.borrow() {
                return;
            }
            if rec.is_up() {
                break;
            }
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => {}
            }
        }
        let dialed = match dial_request(&ws_url, &secret) {
            Ok(req) => tokio::select! {
                r = tokio_tungstenite::connect_async_with_config(req, Some(config), false) => {
                    r.map_err(|e| e.to_string())
                }
                _ = stop.changed() => return,
            },
            Err(why) => Err(why),
        };
        let ws = match dialed {
            Ok((ws, _)) => ws,
            Err(why) => {
                tracing::warn!(serial = %rec.serial(), reason = %why, retry_in = ?redial, "tunnel to the relay not opened");
                tokio::select! {
                    _ = tokio::time::sleep(redial) => {}
                    _ = stop.changed() => return,
                }
                redial = (redial * 2).min(MAX_REDIAL);
                continue;
            }
        };
        redial = POLL;
        state.connected.send_replace(true);
        tracing::info!(serial = %rec.serial(), "tunnel to the relay up");
        connection(&rec, &http, ws, &state, &mut stop, &mut tick).await;
        state.connected.send_replace(false);
        tracing::info!(serial = %rec.serial(), "tunnel to the relay down");
    }
}

enum Out {
    Answer(TunnelResponse),
    Cut,
}

async fn connection(
    rec: &Device,
    http: &reqwest::Client,
    ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    state: &Arc<State>,
    stop: &mut watch::Receiver<bool>,
    tick: &mut tokio::time::Interval,
) {
    let (mut sink, mut stream) = ws.split();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Out>();
    let mut workers = Vec::new();
    loop {
        tokio::select! {
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    let Ok(req) = serde_json::from_str::<TunnelRequest>(&text) else {
                        tracing::warn!(serial = %rec.serial(), "unreadable tunnel frame");
                        continue;
                    };
                    state.received.fetch_add(1, Ordering::SeqCst);
                    let fault = take_fault(state, &req.request.uri);
                    if fault == Some(CutPoint::BeforeForward) {
                        break;
                    }
                    let (rec, http, state, out) = (rec.clone(), http.clone(), state.clone(), out_tx.clone());
                    workers.push(tokio::spawn(async move {
                        let answer = to_device(&rec, &http, &state, req).await;
                        let _ = out.send(if fault == Some(CutPoint::AfterDeviceAnswered) {
                            Out::Cut
                        } else {
                            Out::Answer(answer)
                        });
                    }));
                }
                Some(Ok(Message::Ping(p))) => { let _ = sink.send(Message::Pong(p)).await; }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            out = out_rx.recv() => match out {
                Some(Out::Answer(a)) => {
                    let mut text = serde_json::to_string(&a).expect("tunnel frames serialise");
                    if text.len() > MAX_FRAME {
                        let too_big = TunnelResponse {
                            id: a.id,
                            response: None,
                            error: Some(format!(
                                "recorder answer of {} bytes exceeds the tunnel's frame limit of {MAX_FRAME}",
                                text.len()
                            )),
                        };
                        text = serde_json::to_string(&too_big).expect("tunnel frames serialise");
                    }
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Out::Cut) | None => break,
            },
            _ = tick.tick() => {
                if !rec.is_up() {
                    break;
                }
            }
            _ = stop.changed() => {
                let _ = sink.send(Message::Close(None)).await;
                break;
            }
        }
    }
    // A broken tunnel carries nothing more: answers still being produced are dropped with it.
    for w in workers {
        w.abort();
    }
    drop(sink);
    drop(stream);
}

fn take_fault(state: &State, uri: &str) -> Option<CutPoint> {
    let mut faults = state.faults.lock().unwrap();
    let i = faults.iter().position(|f| uri.contains(&f.uri_contains))?;
    Some(faults.remove(i).point)
}

async fn to_device(rec: &Device, http: &reqwest::Client, state: &State, req: TunnelRequest) -> TunnelResponse {
    let TunnelRequest { id, request } = req;
    let answer = match rec.screen(request) {
        Screened::Forward(request) => send(rec, http, state, request).await,
        Screened::Challenge { probe, reason } => send(rec, http, state, probe).await.map(|mut r| {
            if r.status == 401 {
                r.body = reason;
                r
            } else {
                HttpResponse { status: 401, headers: vec![("content-type".into(), "text/plain".into())], body: reason }
            }
        }),
        Screened::Answer(r) => Ok(r),
    };
    match answer {
        Ok(r) => TunnelResponse { id, response: Some(r), error: None },
        Err(e) => TunnelResponse { id, response: None, error: Some(e) },
    }
}

async fn send(rec: &Device, http: &reqwest::Client, state: &State, req: HttpRequest) -> Result<HttpResponse, String> {
    http_call(http, rec.http_addr(), req, || {
        state.forwarded.fetch_add(1, Ordering::SeqCst);
    })
    .await
}

/// Send `req` to the HTTP service at `addr`; `sent` runs once the request is about to go out.
async fn http_call(
    http: &reqwest::Client,
    addr: std::net::SocketAddr,
    req: HttpRequest,
    sent: impl FnOnce(),
) -> Result<HttpResponse, String> {
    let method = reqwest::Method::from_bytes(req.method.as_bytes())
        .map_err(|_| format!("unsupported method {:?}", req.method))?;
    // Only the recorder's own HTTP service: `@host:port/x` would make the URL's authority
    // userinfo and send the request to another host.
    if !req.uri.starts_with('/') {
        return Err("refused: the request's uri is not a path starting with `/`".into());
    }
    let url = format!("http://{addr}{}", req.uri);
    let mut b = http.request(method, url);
    for (k, v) in &req.headers {
        let lk = k.to_ascii_lowercase();
        if !matches!(lk.as_str(), "host" | "content-length" | "connection" | "transfer-encoding") {
            b = b.header(k, v);
        }
    }
    if !req.body.is_empty() {
        b = b.body(req.body);
    }
    sent();
    let resp = b.send().await.map_err(|e| format!("recorder HTTP service did not answer: {}", no_url(&e)))?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "content-length" | "connection" | "transfer-encoding"))
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = resp.text().await.map_err(|e| format!("recorder HTTP body unreadable: {}", no_url(&e)))?;
    Ok(HttpResponse { status, headers, body })
}

/// A client error without its URL, whose query may carry `pwd=` and `pwdOld=`.
fn no_url(e: &reqwest::Error) -> String {
    resetlab_wire::error_text::without_url(e, e.url().map(|u| u.as_str()))
}

#[cfg(test)]
mod tests {
    use super::{HttpRequest, http_call};

    /// The recorder's HTTP service gone: the error that goes back through the tunnel (and into
    /// the relay's log and 502 body) names what failed, not the URL with `pwd=`/`pwdOld=`.
    #[tokio::test]
    async fn a_failed_call_to_the_recorder_carries_no_url_and_no_password() {
        let (new, old) = (resetlab_wire::Secret::new("N3w!p@ss w\"&"), resetlab_wire::Secret::new("0ld#p%ss+<x>"));
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let enc = |s: &resetlab_wire::Secret| {
            percent_encoding::utf8_percent_encode(s.expose(), percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let uri =
            format!("/cgi-bin/userManager.cgi?action=modifyPassword&name=admin&pwd={}&pwdOld={}", enc(&new), enc(&old));
        let http = reqwest::Client::new();
        for (name, value) in [("X-Ok", "1"), ("Bad Header", "x")] {
            let req = HttpRequest {
                method: "GET".into(),
                uri: uri.clone(),
                headers: vec![(name.into(), value.into())],
                body: String::new(),
                timeout_ms: None,
            };
            let err = http_call(&http, addr, req, || {}).await.unwrap_err();
            assert!(err.contains("did not answer") || err.contains("builder"), "{err}");
            for secret in [&new, &old] {
                for form in resetlab_wire::secret::forms(secret.expose()) {
                    assert!(!err.contains(&form), "{form} leaked: {err}");
                }
            }
            assert!(!err.contains("modifyPassword"), "URL leaked: {err}");
        }
    }
}
