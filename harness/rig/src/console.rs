//! The serial console driver: everything the recorder prints is captured, line by line, with a
//! timestamp, into the capture and the evidence log; power events are marked in the same stream so
//! a reader sees where the power went. Waits name their pattern on expiry and end at once on a line
//! that means the firmware crashed (kernel panic, watchdog reset) — a device fault.
//!
//! Reads a serial port (tokio-serial, no libudev) or any `AsyncRead`, so a pseudo-terminal from the
//! emulated lab is read exactly like a USB serial adapter.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::{Blame, RigError};

/// Lines that mean the firmware crashed (matched case-insensitively).
#[derive(Debug, Clone)]
pub struct CrashPatterns(pub Vec<String>);

impl Default for CrashPatterns {
    fn default() -> Self {
        CrashPatterns(
            [
                "Kernel panic",
                "watchdog reset",
                "Watchdog timer expired",
                "WDT reset",
                "Internal error: Oops",
                "Unable to handle kernel",
            ]
            .map(String::from)
            .to_vec(),
        )
    }
}

impl CrashPatterns {
    /// The built-in patterns plus `extra`.
    pub fn with(extra: &[String]) -> Self {
        let mut p = CrashPatterns::default();
        p.0.extend(extra.iter().cloned());
        p
    }

    fn find(&self, line: &str) -> Option<&str> {
        let l = line.to_ascii_lowercase();
        self.0.iter().find(|p| l.contains(&p.to_ascii_lowercase())).map(String::as_str)
    }
}

/// What a captured line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// A complete line the device printed.
    Output,
    /// Bytes cut off by an event (power off mid-line).
    Partial,
    /// An event the harness marked (power off, power on, link down…).
    Mark,
}

/// One captured line.
#[derive(Debug, Clone)]
pub struct CapturedLine {
    /// Time since the capture started.
    pub at: Duration,
    /// Wall-clock time.
    pub wall: chrono::DateTime<chrono::Utc>,
    /// What it is.
    pub kind: LineKind,
    /// The text, without line ending, secrets redacted.
    pub text: String,
}

impl std::fmt::Display for CapturedLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = self.wall.format("%Y-%m-%dT%H:%M:%S%.3fZ");
        let at = self.at.as_secs_f64();
        match self.kind {
            LineKind::Output => write!(f, "{t} +{at:.6}s | {}", self.text),
            LineKind::Partial => write!(f, "{t} +{at:.6}s | {} ⟨cut⟩", self.text),
            LineKind::Mark => write!(f, "{t} +{at:.6}s ### {}", self.text),
        }
    }
}

/// A position in the capture; waits look at lines from here on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    index: usize,
    at: Instant,
}

/// A line a wait was looking for.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The matching line.
    pub line: String,
    /// Time from the cursor to the line's arrival.
    pub after: Duration,
    /// When the harness had it.
    pub at: Instant,
    /// Position after the line.
    pub next: Cursor,
}

struct Entry {
    line: CapturedLine,
    /// The line as the device printed it, kept only in memory (never printed, never serialised)
    /// so that [`Console::printed`] can tell whether a given secret appeared.
    raw: String,
    arrived: Instant,
}

#[derive(Default)]
struct State {
    lines: Vec<Entry>,
    partial: Vec<u8>,
    closed: Option<String>,
}

struct Inner {
    name: String,
    start: Instant,
    state: Mutex<State>,
    changed: watch::Sender<u64>,
    evidence: Mutex<Option<Box<dyn Write + Send>>>,
    crash: CrashPatterns,
}

/// A console being captured. Dropping it stops the capture.
pub struct Console {
    inner: Arc<Inner>,
    reader: JoinHandle<()>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").field("name", &self.inner.name).finish()
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Inner {
    fn push(&self, st: &mut State, kind: LineKind, text: String) {
        let at = self.start.elapsed();
        let line = CapturedLine { at, wall: chrono::Utc::now(), kind, text: resetlab_wire::secret::redact(&text) };
        let raw = text;
        if let Some(w) = self.evidence.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            let _ = writeln!(w, "{line}");
            let _ = w.flush();
        }
        tracing::trace!(console = %self.name, "{line}");
        st.lines.push(Entry { line, raw, arrived: Instant::now() });
    }

    fn feed(&self, bytes: &[u8]) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for &b in bytes {
            if b == b'\n' {
                let mut raw = std::mem::take(&mut st.partial);
                while raw.last() == Some(&b'\r') {
                    raw.pop();
                }
                let text = String::from_utf8_lossy(&raw).into_owned();
                self.push(&mut st, LineKind::Output, text);
            } else {
                st.partial.push(b);
            }
        }
        drop(st);
        self.changed.send_modify(|g| *g += 1);
    }
}

impl Console {
    /// Open a serial console (a USB adapter or a pseudo-terminal) at `baud` 8N1 and start capturing.
    /// Bytes queued before the open are discarded: they belong to no marked event.
    pub fn open_serial(
        path: &Path,
        baud: u32,
        crash: CrashPatterns,
        evidence: Option<Box<dyn Write + Send>>,
    ) -> Result<Console, RigError> {
        let port = crate::serial::Port::open(path, baud)
            .map_err(|e| RigError::ConsoleIo { port: path.display().to_string(), message: e.to_string() })?;
        Ok(Console::from_reader(&path.display().to_string(), port, crash, evidence))
    }

    /// Capture any byte stream named `name`.
    pub fn from_reader(
        name: &str,
        mut reader: impl AsyncRead + Unpin + Send + 'static,
        crash: CrashPatterns,
        evidence: Option<Box<dyn Write + Send>>,
    ) -> Console {
        let inner = Arc::new(Inner {
            name: name.to_owned(),
            start: Instant::now(),
            state: Mutex::new(State::default()),
            changed: watch::channel(0).0,
            evidence: Mutex::new(evidence),
            crash,
        });
        let i = Arc::clone(&inner);
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            let why = loop {
                match reader.read(&mut buf).await {
                    Ok(0) => break "end of stream".to_owned(),
                    Ok(n) => i.feed(&buf[..n]),
                    Err(e) => break e.to_string(),
                }
            };
            i.state.lock().unwrap_or_else(|e| e.into_inner()).closed = Some(why);
            i.changed.send_modify(|g| *g += 1);
        });
        Console { inner, reader }
    }

    /// The console's name (its port).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The position before the first captured line.
    pub fn beginning(&self) -> Cursor {
        Cursor { index: 0, at: self.inner.start }
    }

    /// The position after everything captured so far.
    pub fn cursor(&self) -> Cursor {
        let st = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        Cursor { index: st.lines.len(), at: Instant::now() }
    }

    /// Mark an event (`power off`, `power on`, `link down`…) in the capture; a line cut by it is
    /// kept as a partial line. Returns the position right after the mark.
    pub fn mark(&self, event: &str) -> Cursor {
        let mut st = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        if !st.partial.is_empty() {
            let raw = std::mem::take(&mut st.partial);
            self.inner.push(&mut st, LineKind::Partial, String::from_utf8_lossy(&raw).into_owned());
        }
        self.inner.push(&mut st, LineKind::Mark, event.to_owned());
        Cursor { index: st.lines.len(), at: Instant::now() }
    }

    /// Wait until a line from `from` on contains `pattern`. Fails at once on a crash line (device),
    /// and at `deadline` naming the pattern: blamed on the console when it printed nothing at all,
    /// on the device when it printed but never `pattern`.
    pub async fn wait_for(&self, from: Cursor, pattern: &str, deadline: Duration) -> Result<Seen, RigError> {
        self.wait(from, deadline, &format!("console line containing {pattern:?}"), |l| l.contains(pattern)).await
    }

    /// Wait until the console prints anything at all from `from` on (the console is alive).
    pub async fn wait_output(&self, from: Cursor, deadline: Duration) -> Result<Seen, RigError> {
        self.wait(from, deadline, "any console output", |_| true).await
    }

    async fn wait(
        &self,
        from: Cursor,
        deadline: Duration,
        what: &str,
        hit: impl Fn(&str) -> bool,
    ) -> Result<Seen, RigError> {
        let until = tokio::time::Instant::now() + deadline;
        let mut rx = self.inner.changed.subscribe();
        let mut next = from.index;
        loop {
            rx.borrow_and_update();
            {
                let st = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
                while next < st.lines.len() {
                    let e = &st.lines[next];
                    next += 1;
                    if e.line.kind == LineKind::Mark {
                        continue;
                    }
                    if let Some(p) = self.inner.crash.find(&e.line.text) {
                        return Err(RigError::Crash {
                            pattern: p.to_owned(),
                            line: e.line.text.clone(),
                            after: e.arrived.saturating_duration_since(from.at),
                        });
                    }
                    if e.line.kind == LineKind::Output && hit(&e.line.text) {
                        return Ok(Seen {
                            line: e.line.text.clone(),
                            after: e.arrived.saturating_duration_since(from.at),
                            at: e.arrived,
                            next: Cursor { index: next, at: e.arrived },
                        });
                    }
                }
                if let Some(why) = &st.closed {
                    return Err(RigError::ConsoleIo {
                        port: self.inner.name.clone(),
                        message: format!("closed ({why}) while waiting for {what}"),
                    });
                }
            }
            tokio::select! {
                r = rx.changed() => if r.is_err() { return Err(RigError::Harness("console capture ended".into())) },
                _ = tokio::time::sleep_until(until) => break,
            }
        }
        let st = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        let printed: Vec<&Entry> =
            st.lines[from.index.min(st.lines.len())..].iter().filter(|e| e.line.kind != LineKind::Mark).collect();
        let (detail, blame) = match (printed.last(), st.partial.is_empty()) {
            (None, true) => (format!("{what} on {} (the console stayed silent)", self.inner.name), Blame::Console),
            (Some(last), _) => (
                format!("{what} on {} ({} lines printed, last: {:?})", self.inner.name, printed.len(), last.line.text),
                Blame::Device,
            ),
            (None, false) => (
                format!(
                    "{what} on {} (only a partial line: {:?})",
                    self.inner.name,
                    resetlab_wire::secret::redact(&String::from_utf8_lossy(&st.partial))
                ),
                Blame::Device,
            ),
        };
        Err(RigError::Timeout { what: detail, after: deadline, blame })
    }

    /// Everything captured so far.
    pub fn lines(&self) -> Vec<CapturedLine> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner()).lines.iter().map(|e| e.line.clone()).collect()
    }

    /// The first captured line (1-based) on which the device printed `secret` as a value of its
    /// own — not as digits inside a number: a boot log's `[    0.000000]` is a kernel timestamp,
    /// not the factory password `000000`. The capture itself keeps only redacted text.
    pub fn printed(&self, secret: &str) -> Option<usize> {
        if secret.is_empty() {
            return None;
        }
        let st = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        st.lines.iter().position(|e| e.line.kind != LineKind::Mark && prints_token(&e.raw, secret)).map(|i| i + 1)
    }

    /// The capture as text, one timestamped line each.
    pub fn transcript(&self) -> String {
        self.lines().iter().map(|l| format!("{l}\n")).collect()
    }
}

/// `secret` stands in `line` as a value of its own, not inside a longer number.
fn prints_token(line: &str, secret: &str) -> bool {
    line.match_indices(secret).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + secret.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit() || c == '.') && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[test]
    fn a_kernel_timestamp_is_not_the_factory_password() {
        assert!(!prints_token("[    0.000000] Booting Linux", "000000"));
        assert!(prints_token("user admin pwd=000000 saved", "000000"));
        assert!(prints_token("new password: Ab3dE9", "Ab3dE9"));
    }

    #[tokio::test]
    async fn printed_secret_is_found_though_the_capture_is_redacted() {
        let (mut tx, console) = pipe();
        let secret = resetlab_wire::Secret::new("Zq8Wm2");
        let from = console.cursor();
        tx.write_all(b"[    0.000000] Booting\nset password Zq8Wm2 ok\n").await.unwrap();
        console.wait_for(from, "ok", Duration::from_secs(2)).await.unwrap();
        assert_eq!(console.printed(secret.expose()), Some(2));
        assert_eq!(console.printed("000000"), None);
        assert!(!console.transcript().contains("Zq8Wm2"));
    }

    fn pipe() -> (tokio::io::DuplexStream, Console) {
        let (a, b) = tokio::io::duplex(1024);
        (a, Console::from_reader("test", b, CrashPatterns::default(), None))
    }

    #[tokio::test]
    async fn marks_cut_lines_and_finds_patterns_after_the_mark() {
        let (mut w, c) = pipe();
        w.write_all(b"System init done\r\nhalf a li").await.unwrap();
        c.wait_for(c.cursor(), "half", Duration::from_millis(50)).await.unwrap_err();
        let _ =
            c.wait_for(Cursor { index: 0, at: Instant::now() }, "System init", Duration::from_secs(1)).await.unwrap();
        let cur = c.mark("power off");
        let l = c.lines();
        assert_eq!(l[1].kind, LineKind::Partial);
        assert_eq!(l[1].text, "half a li");
        assert_eq!(l[2].kind, LineKind::Mark);
        // The old marker is before the mark: it must not count.
        let e = c.wait_for(cur, "System init done", Duration::from_millis(30)).await.unwrap_err();
        assert_eq!(e.blame(), Blame::Console, "{e}");
        assert!(e.to_string().contains("System init done"), "{e}");
        w.write_all(b"U-Boot\r\nSystem init done\r\n").await.unwrap();
        c.wait_for(cur, "System init done", Duration::from_secs(1)).await.unwrap();
        assert!(c.transcript().contains("### power off"));
    }

    #[tokio::test]
    async fn panic_line_ends_the_wait_at_once_as_a_device_fault() {
        let (mut w, c) = pipe();
        let cur = c.cursor();
        w.write_all(b"Starting kernel ...\r\n[ 1.0] Kernel panic - not syncing: VFS\r\n").await.unwrap();
        let t = Instant::now();
        let e = c.wait_for(cur, "System init done", Duration::from_secs(10)).await.unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(1));
        assert_eq!(e.blame(), Blame::Device);
        assert!(e.to_string().contains("Kernel panic"), "{e}");
    }
}
