//! A recorder's console cable: its raw console bytes are copied to a pseudo-terminal's master, so a
//! reader on the slave (/dev/pts/N) sees a serial console. Console faults are made here, on the
//! cable, because the emulated recorder has no such knobs: a silent cable, a boot that hangs after
//! the kernel (nothing more, no ready marker) and a kernel panic at boot. The board holds the
//! recorder's link down meanwhile so its services never answer either.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use resetlab_emulator::Recorder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::broadcast::error::RecvError;

use crate::EmulatedRigError;
use crate::pty::Pty;

/// The panic a broken kernel prints.
const PANIC: &str =
    "[    2.315000] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(31,2)\r\n";

#[derive(Default)]
pub(crate) struct RecorderFaults {
    silent: AtomicBool,
    hang: AtomicBool,
    panic: AtomicBool,
}

impl RecorderFaults {
    pub(crate) fn set_silent(&self, on: bool) {
        self.silent.store(on, Ordering::SeqCst);
    }
    pub(crate) fn set_hang(&self, on: bool) {
        self.hang.store(on, Ordering::SeqCst);
    }
    pub(crate) fn set_panic(&self, on: bool) {
        self.panic.store(on, Ordering::SeqCst);
    }
    pub(crate) fn broken_boot(&self) -> bool {
        self.hang.load(Ordering::SeqCst) || self.panic.load(Ordering::SeqCst)
    }
}

pub(crate) struct Bridge {
    pub(crate) path: PathBuf,
    _pty: Pty,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Bridge {
    pub(crate) fn start(rec: &Recorder, faults: Arc<RecorderFaults>) -> Result<Bridge, EmulatedRigError> {
        let (pty, master) = Pty::open("console pseudo-terminal")?;
        let mut rx = rec.console();
        let task = tokio::spawn(async move {
            let (mut from_reader, mut to_reader) = tokio::io::split(master);
            // Whatever a reader types goes nowhere (the emulated firmware has no shell).
            tokio::spawn(async move {
                let mut sink = [0u8; 256];
                while matches!(from_reader.read(&mut sink).await, Ok(n) if n > 0) {}
            });
            let mut line = String::new();
            let mut dead = false;
            loop {
                let chunk = match rx.recv().await {
                    Ok(c) => c,
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                };
                let text = String::from_utf8_lossy(&chunk).into_owned();
                if text.starts_with("U-Boot") {
                    dead = false;
                    line.clear();
                }
                if dead || faults.silent.load(Ordering::SeqCst) {
                    continue;
                }
                line.push_str(&text);
                let complete = line.ends_with('\n');
                let hang = faults.hang.load(Ordering::SeqCst);
                let panic = faults.panic.load(Ordering::SeqCst);
                let mut out = text.clone();
                if hang && out.contains("System init done") {
                    dead = true;
                    continue;
                }
                if complete {
                    if panic && line.contains("Starting kernel") {
                        out.push_str(PANIC);
                        dead = true;
                    } else if hang && line.contains("Freeing unused kernel memory") {
                        dead = true;
                    }
                    line.clear();
                }
                // A UART with nobody reading loses bytes; it never stalls the firmware.
                let w = tokio::time::timeout(Duration::from_millis(100), to_reader.write_all(out.as_bytes())).await;
                if !matches!(w, Ok(Ok(()))) {
                    tracing::trace!("console bytes dropped: nobody reading the pseudo-terminal");
                }
            }
        });
        Ok(Bridge { path: pty.path.clone(), _pty: pty, task })
    }
}
