//! The live device tunnels, by serial: sending a request into one and waiting for its answer, and
//! telling "never sent" (offline) apart from "sent, answer lost" (the device may have applied it).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::protocol::{HttpRequest, HttpResponse, TunnelRequest, TunnelResponse};

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<TunnelResponse>>>>;

struct Tunnel {
    conn: u64,
    tx: mpsc::UnboundedSender<TunnelRequest>,
    pending: Pending,
    kick: Option<oneshot::Sender<()>>,
}

/// Why a forwarded request has no device answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ForwardError {
    /// No tunnel: the request never left the relay.
    Offline,
    /// The tunnel closed after the request was sent into it.
    Lost,
    /// No answer within the deadline.
    Timeout,
    /// The device side answered that the recorder's HTTP service did not respond.
    DeviceSide(String),
}

/// Registry of tunnels.
#[derive(Default)]
pub(crate) struct Tunnels {
    map: Mutex<HashMap<String, Tunnel>>,
    next: AtomicU64,
    forwarded: Mutex<HashMap<String, u64>>,
    changed: watch::Sender<u64>,
}

/// The relay's handle on one registered tunnel connection.
pub(crate) struct Registration {
    pub(crate) conn: u64,
    pub(crate) rx: mpsc::UnboundedReceiver<TunnelRequest>,
    pub(crate) pending: Pending,
    pub(crate) kicked: oneshot::Receiver<()>,
}

impl Tunnels {
    fn bump(&self) {
        self.changed.send_modify(|g| *g += 1);
    }

    /// Register a new tunnel for `serial`, replacing any older one (a reconnect wins).
    pub(crate) fn register(&self, serial: &str) -> Registration {
        let conn = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = mpsc::unbounded_channel();
        let (kick, kicked) = oneshot::channel();
        let pending: Pending = Arc::default();
        let old = self.map.lock().unwrap().insert(
            serial.to_owned(),
            Tunnel {
                conn,
                tx,
                pending: pending.clone(),
                kick: Some(kick),
            },
        );
        if let Some(k) = old.and_then(|mut old| old.kick.take()) {
            let _ = k.send(());
        }
        self.bump();
        Registration {
            conn,
            rx,
            pending,
            kicked,
        }
    }

    /// Forget connection `conn` of `serial` (if it is still the current one).
    pub(crate) fn unregister(&self, serial: &str, conn: u64) {
        let mut map = self.map.lock().unwrap();
        if map.get(serial).is_some_and(|t| t.conn == conn) {
            map.remove(serial);
            drop(map);
            self.bump();
        }
    }

    /// Close the tunnel of `serial` from the relay side; false when there was none.
    pub(crate) fn kick(&self, serial: &str) -> bool {
        let t = self.map.lock().unwrap().remove(serial);
        match t {
            Some(mut t) => {
                if let Some(k) = t.kick.take() {
                    let _ = k.send(());
                }
                self.bump();
                true
            }
            None => false,
        }
    }

    /// Whether `serial` has a tunnel now.
    pub(crate) fn is_online(&self, serial: &str) -> bool {
        self.map.lock().unwrap().contains_key(serial)
    }

    /// Requests sent into `serial`'s tunnels so far.
    pub(crate) fn forwarded(&self, serial: &str) -> u64 {
        self.forwarded
            .lock()
            .unwrap()
            .get(serial)
            .copied()
            .unwrap_or(0)
    }

    /// A receiver that changes whenever a tunnel comes or goes.
    pub(crate) fn changes(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Send `request` through `serial`'s tunnel and wait up to `deadline` for the answer.
    pub(crate) async fn forward(
        &self,
        serial: &str,
        request: HttpRequest,
        deadline: Duration,
    ) -> Result<HttpResponse, ForwardError> {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = oneshot::channel();
        let pending = {
            let map = self.map.lock().unwrap();
            let t = map.get(serial).ok_or(ForwardError::Offline)?;
            t.pending.lock().unwrap().insert(id, tx);
            if t.tx.send(TunnelRequest { id, request }).is_err() {
                t.pending.lock().unwrap().remove(&id);
                return Err(ForwardError::Offline);
            }
            t.pending.clone()
        };
        *self
            .forwarded
            .lock()
            .unwrap()
            .entry(serial.to_owned())
            .or_default() += 1;
        match tokio::time::timeout(deadline, rx).await {
            Ok(Ok(TunnelResponse {
                response: Some(r), ..
            })) => Ok(r),
            Ok(Ok(TunnelResponse { error, .. })) => Err(ForwardError::DeviceSide(
                error.unwrap_or_else(|| "empty tunnel answer".into()),
            )),
            Ok(Err(_)) => Err(ForwardError::Lost),
            Err(_) => {
                pending.lock().unwrap().remove(&id);
                Err(ForwardError::Timeout)
            }
        }
    }
}
