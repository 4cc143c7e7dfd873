//! The emulated recorder's P2P client: while the recorder is powered and its link is up, it keeps a
//! WebSocket tunnel to the relay (registered by serial) and forwards each tunneled HTTP request to
//! the recorder's own HTTP port on loopback, returning status, headers (incl. `WWW-Authenticate`)
//! and body unchanged. It redials after power or link come back, or after the tunnel breaks.
//!
//! The emulator offers no power/link change notification, so the agent polls `is_powered()` and
//! `is_linked()` every [`POLL`]: that is the emulated P2P client's own timing, as a real one notices
//! a dead link by its keep-alives.
//!
//! For tests, [`AgentHandle::cut_on`] breaks the tunnel at a chosen point of a chosen request
//! (before it reaches the recorder, or after the recorder answered but before the answer leaves).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use resetlab_emulator::Recorder;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::error::RelayError;
use crate::protocol::{HttpRequest, HttpResponse, TunnelRequest, TunnelResponse};

/// How often the agent looks at the recorder's power and link.
pub const POLL: Duration = Duration::from_millis(20);

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
        f.debug_struct("AgentHandle")
            .field("serial", &self.serial)
            .field("connected", &self.is_connected())
            .finish()
    }
}

/// Start the P2P client of `recorder`, dialing `relay_url` (`http://127.0.0.1:PORT`, as
/// [`crate::Relay::url`] gives it).
pub fn attach(recorder: &Recorder, relay_url: &str) -> AgentHandle {
    let (connected, _) = watch::channel(false);
    let (stop, _) = watch::channel(false);
    let state = Arc::new(State {
        received: AtomicU64::new(0),
        forwarded: AtomicU64::new(0),
        faults: Mutex::new(Vec::new()),
        connected,
        stop,
    });
    let ws_url = format!(
        "{}/tunnel/{}",
        relay_url.trim_end_matches('/').replacen("http", "ws", 1),
        recorder.serial()
    );
    let task = tokio::spawn(run(recorder.clone(), ws_url, state.clone()));
    AgentHandle {
        state,
        task: Some(task),
        serial: recorder.serial(),
    }
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
        self.state.faults.lock().unwrap().push(Fault {
            point,
            uri_contains: uri_contains.to_owned(),
        });
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
                what: format!(
                    "the tunnel of recorder {} to be {}",
                    self.serial,
                    if up { "up" } else { "down" }
                ),
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

fn up(rec: &Recorder) -> bool {
    rec.is_powered() && rec.is_linked()
}

async fn run(rec: Recorder, ws_url: String, state: Arc<State>) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .timeout(DEVICE_TIMEOUT)
        .build()
        .expect("a plain HTTP client builds");
    let mut stop = state.stop.subscribe();
    let mut tick = tokio::time::interval(POLL);
    loop {
        // Wait for power and link (and for the recorder to have booted far enough to be linked).
        loop {
            if *stop.borrow() {
                return;
            }
            if up(&rec) {
                break;
            }
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => {}
            }
        }
        let ws = tokio::select! {
            r = tokio_tungstenite::connect_async(ws_url.as_str()) => r,
            _ = stop.changed() => return,
        };
        let ws = match ws {
            Ok((ws, _)) => ws,
            Err(e) => {
                tracing::debug!(serial = %rec.serial(), %e, "relay not reachable, will redial");
                tick.tick().await;
                continue;
            }
        };
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
    rec: &Recorder,
    http: &reqwest::Client,
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
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
                    let text = serde_json::to_string(&a).expect("tunnel frames serialise");
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Out::Cut) | None => break,
            },
            _ = tick.tick() => {
                if !up(rec) {
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

async fn to_device(
    rec: &Recorder,
    http: &reqwest::Client,
    state: &State,
    req: TunnelRequest,
) -> TunnelResponse {
    let TunnelRequest { id, request } = req;
    match send(rec, http, state, request).await {
        Ok(r) => TunnelResponse {
            id,
            response: Some(r),
            error: None,
        },
        Err(e) => TunnelResponse {
            id,
            response: None,
            error: Some(e),
        },
    }
}

async fn send(
    rec: &Recorder,
    http: &reqwest::Client,
    state: &State,
    req: HttpRequest,
) -> Result<HttpResponse, String> {
    let method = reqwest::Method::from_bytes(req.method.as_bytes())
        .map_err(|_| format!("unsupported method {:?}", req.method))?;
    let url = format!("http://{}{}", rec.http_addr(), req.uri);
    let mut b = http.request(method, url);
    for (k, v) in &req.headers {
        let lk = k.to_ascii_lowercase();
        if !matches!(
            lk.as_str(),
            "host" | "content-length" | "connection" | "transfer-encoding"
        ) {
            b = b.header(k, v);
        }
    }
    if !req.body.is_empty() {
        b = b.body(req.body);
    }
    state.forwarded.fetch_add(1, Ordering::SeqCst);
    let resp = b
        .send()
        .await
        .map_err(|e| format!("recorder HTTP service did not answer: {e}"))?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "content-length" | "connection" | "transfer-encoding"
            )
        })
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = resp
        .text()
        .await
        .map_err(|e| format!("recorder HTTP body unreadable: {e}"))?;
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}
