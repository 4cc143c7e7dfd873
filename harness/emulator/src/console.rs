//! The serial console: a raw byte stream (115200 8N1 on hardware) that rig tests read for the boot
//! log and its ready marker. Output belongs to a power epoch: once power is cut, bytes of the old
//! epoch are dropped, so the stream stops exactly where the power went, even mid-line.

use std::sync::Mutex;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::broadcast;

/// Bytes kept for a slow reader before it starts missing output.
const BACKLOG: usize = 4096;

pub(crate) struct Console {
    tx: broadcast::Sender<Bytes>,
    /// False for a firmware whose profile has no console: the cable stays silent.
    wired: bool,
    /// Current power epoch and when it began (for kernel-style timestamps); `None` while off.
    epoch: Mutex<Option<(u64, Instant)>>,
}

impl Console {
    pub(crate) fn new(wired: bool) -> Self {
        Console { tx: broadcast::channel(BACKLOG).0, wired, epoch: Mutex::new(None) }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Bytes> {
        self.tx.subscribe()
    }

    /// Power came on: a new epoch starts; its output flows from now on.
    pub(crate) fn power_on(&self, epoch: u64) {
        if !self.wired {
            return;
        }
        *self.epoch.lock().unwrap_or_else(|e| e.into_inner()) = Some((epoch, Instant::now()));
    }

    /// Power went: nothing more is written until the next [`Console::power_on`].
    pub(crate) fn power_off(&self) {
        *self.epoch.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Write raw bytes as part of `epoch`; dropped if that epoch has ended.
    pub(crate) fn write(&self, epoch: u64, bytes: impl Into<Bytes>) {
        let guard = self.epoch.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_some_and(|(e, _)| e == epoch) {
            // Nobody listening is fine: a console with no cable attached.
            let _ = self.tx.send(bytes.into());
        }
    }

    /// A firmware log line in the current epoch (if powered), with the uptime stamp the firmware
    /// prints. Callers must never pass a password here.
    pub(crate) fn log(&self, text: &str) {
        let guard = self.epoch.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, since)) = *guard {
            let t = since.elapsed().as_secs_f64();
            let _ = self.tx.send(Bytes::from(format!("[{t:>12.6}] {text}\r\n")));
        }
    }
}
