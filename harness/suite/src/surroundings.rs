//! What surrounds a leased device: its power and network-link switches and its serial console, with
//! the waits that prove each switch did what was asked ("device is up" = the console's ready marker
//! and the service port answering a real request; never a fixed sleep).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use resetlab_device::Target;
use resetlab_emulator::Recorder;

use crate::verdict::{fail, Blame};

/// How often a wait re-checks its condition (a socket connect on loopback or a bench LAN).
const POLL: Duration = Duration::from_millis(5);

/// Power, link and console of one lease.
#[derive(Debug)]
pub enum Surroundings {
    /// An emulated recorder: its relay coils and console cable are the emulator's own.
    Emulated { recorder: Recorder, console: ConsoleCapture },
    /// Nothing is switchable (a bench without relay board, or an emulator started elsewhere).
    Fixed,
}

/// A rig capability a scenario may need, by its feature tag.
pub const CAPABILITIES: [&str; 3] = ["power", "network", "console"];

impl Surroundings {
    /// Rig tags (`power`, `network`, `console`) this lease can serve.
    pub fn can(&self, capability: &str) -> bool {
        match self {
            Surroundings::Emulated { .. } => CAPABILITIES.contains(&capability),
            Surroundings::Fixed => false,
        }
    }

    pub async fn set_power(&self, on: bool) {
        match self {
            Surroundings::Emulated { recorder, console } => {
                console.mark(if on { "power on" } else { "power off" });
                recorder.set_power(on).await;
            }
            Surroundings::Fixed => fail(Blame::Harness, "this rig has no power control (the scenario should be not applicable)"),
        }
    }

    pub async fn set_link(&self, up: bool) {
        match self {
            Surroundings::Emulated { recorder, console } => {
                console.mark(if up { "link up" } else { "link down" });
                recorder.set_link(up).await;
            }
            Surroundings::Fixed => fail(Blame::Harness, "this rig has no network-link control (the scenario should be not applicable)"),
        }
    }

    pub fn console(&self) -> Option<&ConsoleCapture> {
        match self {
            Surroundings::Emulated { console, .. } => Some(console),
            Surroundings::Fixed => None,
        }
    }
}

/// Everything the console printed since the lease began, with the harness's power events marked.
#[derive(Debug, Clone, Default)]
pub struct ConsoleCapture {
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl ConsoleCapture {
    /// Capture an emulated recorder's console from now on.
    pub fn of(recorder: &Recorder) -> Self {
        let capture = ConsoleCapture::default();
        let mut rx = recorder.console();
        let sink = capture.bytes.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(chunk) => sink.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(&chunk),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        sink.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(format!("\n[capture lost {n} chunks]\n").as_bytes());
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        capture
    }

    /// Mark a harness event in the capture, on a line of its own.
    pub fn mark(&self, event: &str) {
        let line = format!("\n--- resetlab: {event} ---\n");
        self.bytes.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(line.as_bytes());
    }

    /// The capture as text (raw: may contain what the device printed, secrets included — redact
    /// before it leaves the process).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// Length in bytes, to look only at what comes after a point.
    pub fn len(&self) -> usize {
        self.bytes.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Wait until `pattern` appears after byte `from`, or fail naming it after `deadline`.
    pub async fn wait_for(&self, pattern: &str, from: usize, deadline: Duration) -> Result<Duration, String> {
        let t = Instant::now();
        loop {
            {
                let bytes = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
                if String::from_utf8_lossy(&bytes[from.min(bytes.len())..]).contains(pattern) {
                    return Ok(t.elapsed());
                }
            }
            if t.elapsed() >= deadline {
                return Err(format!("the console did not print \"{pattern}\" within {} ms", deadline.as_millis()));
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// Does anything accept a TCP connection on the device's HTTP port right now?
async fn answers(target: &Target) -> bool {
    let addr = format!("{}:{}", target.host, target.http_port);
    matches!(tokio::time::timeout(Duration::from_millis(500), tokio::net::TcpStream::connect(addr)).await, Ok(Ok(_)))
}

/// Wait until the device stops answering (after power off or link down).
pub async fn wait_down(target: &Target, deadline: Duration) -> Result<Duration, String> {
    let t = Instant::now();
    while answers(target).await {
        if t.elapsed() >= deadline {
            return Err(format!("the device still answered on {}:{} {} ms after it was switched off", target.host, target.http_port, deadline.as_millis()));
        }
        tokio::time::sleep(POLL).await;
    }
    Ok(t.elapsed())
}

/// Wait until the device's HTTP service answers a real request (a 401 challenge is an answer).
pub async fn wait_up(target: &Target, deadline: Duration) -> Result<Duration, String> {
    let t = Instant::now();
    let probe = target.clone().with_timeout(Duration::from_millis(500));
    loop {
        if answers(&probe).await {
            // A real request, not just an open socket: the unauthenticated OPTIONS of RTSP and the
            // HTTP challenge both prove the firmware's services run.
            if resetlab_device::Rtsp::options(&probe).await.is_ok() {
                return Ok(t.elapsed());
            }
        }
        if t.elapsed() >= deadline {
            return Err(format!("the device did not answer on {}:{} within {} ms", target.host, target.http_port, deadline.as_millis()));
        }
        tokio::time::sleep(POLL).await;
    }
}
