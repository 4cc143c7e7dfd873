//! The live device tunnels, by serial: sending a request into one and waiting for its answer, and
//! telling "never sent" (offline, busy) apart from "sent, answer lost" (the device may have applied
//! it). Tunnels are counted per source address and in total, and each has a bounded queue.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::protocol::{HttpRequest, HttpResponse, TunnelRequest, TunnelResponse};

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<TunnelResponse>>>>;

struct Tunnel {
    conn: u64,
    tx: mpsc::Sender<TunnelRequest>,
    pending: Pending,
    kick: Option<oneshot::Sender<()>>,
}

/// Why a forwarded request has no device answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ForwardError {
    /// No tunnel: the request never left the relay.
    Offline,
    /// The tunnel's queue is full: the request never left the relay.
    Busy,
    /// The tunnel closed after the request was sent into it.
    Lost,
    /// No answer within the deadline.
    Timeout,
    /// The device side answered that the recorder's HTTP service did not respond.
    DeviceSide(String),
}

/// Why a tunnel may not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Full {
    /// The relay has `max_tunnels` open.
    Total(usize),
    /// The source address has `max_tunnels_per_source` open.
    Source(usize),
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_source: HashMap<IpAddr, usize>,
}

/// A counted place for one tunnel connection; dropping it frees the place.
pub(crate) struct Slot {
    counts: Arc<Mutex<Counts>>,
    source: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap();
        c.total -= 1;
        if let Some(n) = c.by_source.get_mut(&self.source) {
            *n -= 1;
            if *n == 0 {
                c.by_source.remove(&self.source);
            }
        }
    }
}

/// Registry of tunnels.
pub(crate) struct Tunnels {
    map: Mutex<HashMap<String, Tunnel>>,
    next: AtomicU64,
    forwarded: Mutex<HashMap<String, u64>>,
    /// Requests sent into a tunnel that got no device answer (lost, timed out, device side).
    unanswered: Mutex<HashMap<String, u64>>,
    changed: watch::Sender<u64>,
    counts: Arc<Mutex<Counts>>,
    max_total: usize,
    max_per_source: usize,
    max_in_flight: usize,
}

/// The relay's handle on one registered tunnel connection.
pub(crate) struct Registration {
    pub(crate) conn: u64,
    pub(crate) rx: mpsc::Receiver<TunnelRequest>,
    pub(crate) pending: Pending,
    pub(crate) kicked: oneshot::Receiver<()>,
}

impl Tunnels {
    /// No tunnels; at most `max_total` open, `max_per_source` from one address, and
    /// `max_in_flight` requests queued or unanswered in each.
    pub(crate) fn new(max_total: usize, max_per_source: usize, max_in_flight: usize) -> Self {
        Tunnels {
            map: Mutex::default(),
            next: AtomicU64::new(0),
            forwarded: Mutex::default(),
            unanswered: Mutex::default(),
            changed: watch::Sender::new(0),
            counts: Arc::default(),
            max_total,
            max_per_source,
            max_in_flight: max_in_flight.max(1),
        }
    }

    fn bump(&self) {
        self.changed.send_modify(|g| *g += 1);
    }

    /// Count one more tunnel from `source` for `serial`. A device that replaces its own open
    /// tunnel (a reconnect) may exceed the caps by that one while the old one closes.
    pub(crate) fn reserve(&self, source: IpAddr, serial: &str) -> Result<Slot, Full> {
        let replacing = self.map.lock().unwrap().contains_key(serial);
        let mut c = self.counts.lock().unwrap();
        let from_source = c.by_source.get(&source).copied().unwrap_or(0);
        if !replacing {
            if c.total >= self.max_total {
                return Err(Full::Total(self.max_total));
            }
            if from_source >= self.max_per_source {
                return Err(Full::Source(self.max_per_source));
            }
        }
        c.total += 1;
        *c.by_source.entry(source).or_default() += 1;
        Ok(Slot { counts: self.counts.clone(), source })
    }

    /// Register a new tunnel for `serial`, replacing any older one (a reconnect of the same,
    /// authenticated device wins).
    pub(crate) fn register(&self, serial: &str) -> Registration {
        let conn = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = mpsc::channel(self.max_in_flight);
        let (kick, kicked) = oneshot::channel();
        let pending: Pending = Arc::default();
        let old = self
            .map
            .lock()
            .unwrap()
            .insert(serial.to_owned(), Tunnel { conn, tx, pending: pending.clone(), kick: Some(kick) });
        if let Some(k) = old.and_then(|mut old| old.kick.take()) {
            let _ = k.send(());
        }
        self.bump();
        Registration { conn, rx, pending, kicked }
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

    /// Open tunnel connections (counted places, including ones being replaced).
    pub(crate) fn open(&self) -> usize {
        self.counts.lock().unwrap().total
    }

    /// Requests sent into `serial`'s tunnels so far.
    pub(crate) fn forwarded(&self, serial: &str) -> u64 {
        self.forwarded.lock().unwrap().get(serial).copied().unwrap_or(0)
    }

    /// Requests sent into `serial`'s tunnels that got no answer from the device.
    pub(crate) fn unanswered(&self, serial: &str) -> u64 {
        self.unanswered.lock().unwrap().get(serial).copied().unwrap_or(0)
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
            let mut waiting = t.pending.lock().unwrap();
            if waiting.len() >= self.max_in_flight {
                return Err(ForwardError::Busy);
            }
            match t.tx.try_send(TunnelRequest { id, request }) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => return Err(ForwardError::Busy),
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(ForwardError::Offline),
            }
            waiting.insert(id, tx);
            t.pending.clone()
        };
        *self.forwarded.lock().unwrap().entry(serial.to_owned()).or_default() += 1;
        let answer = match tokio::time::timeout(deadline, rx).await {
            Ok(Ok(TunnelResponse { response: Some(r), .. })) => return Ok(r),
            Ok(Ok(TunnelResponse { error, .. })) => {
                ForwardError::DeviceSide(error.unwrap_or_else(|| "empty tunnel answer".into()))
            }
            Ok(Err(_)) => ForwardError::Lost,
            Err(_) => {
                pending.lock().unwrap().remove(&id);
                ForwardError::Timeout
            }
        };
        *self.unanswered.lock().unwrap().entry(serial.to_owned()).or_default() += 1;
        Err(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get() -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            uri: "/x".into(),
            headers: Vec::new(),
            body: String::new(),
            timeout_ms: None,
        }
    }

    #[test]
    fn tunnels_are_capped_in_total_and_per_source_and_a_reconnect_may_replace() {
        let t = Tunnels::new(3, 2, 4);
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap());
        let s1 = t.reserve(a, "S1").unwrap();
        let _r1 = t.register("S1");
        let _s2 = t.reserve(a, "S2").unwrap();
        assert_eq!(t.reserve(a, "S3").err(), Some(Full::Source(2)));
        let _s3 = t.reserve(b, "S3").unwrap();
        assert_eq!(t.reserve(b, "S4").err(), Some(Full::Total(3)));
        assert!(t.reserve(a, "S1").is_ok(), "S1 replacing its own tunnel");
        drop(s1);
        assert_eq!(t.open(), 2, "dropped slots are free again");
    }

    #[tokio::test]
    async fn a_full_queue_is_busy_and_nothing_is_sent() {
        let t = Tunnels::new(8, 8, 2);
        let _reg = t.register("S1");
        let t = Arc::new(t);
        for _ in 0..2 {
            let t = t.clone();
            tokio::spawn(async move { t.forward("S1", get(), Duration::from_secs(5)).await });
        }
        tokio::time::timeout(Duration::from_secs(5), async {
            while t.forwarded("S1") < 2 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap();
        assert_eq!(t.forward("S1", get(), Duration::from_secs(5)).await, Err(ForwardError::Busy));
        assert_eq!(t.forwarded("S1"), 2);
    }
}
