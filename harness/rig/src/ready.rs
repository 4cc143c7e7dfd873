//! Readiness: "the device is up" is proven by the console's boot marker and by the service port
//! answering a real HTTP request — never by a fixed sleep. After the marker the port is probed at
//! once and then with a short backoff (1 ms doubling to 10 ms), all bounded by one deadline.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::console::{Console, Cursor};
use crate::error::{Blame, RigError};

/// Proof that the device is up.
#[derive(Debug, Clone)]
pub struct Ready {
    /// From the start of the wait to the boot marker (None without a console).
    pub marker_after: Option<Duration>,
    /// From the start of the wait to the first HTTP answer.
    pub service_after: Duration,
    /// From the boot marker to the first HTTP answer.
    pub marker_to_service: Duration,
    /// When the harness had the HTTP answer.
    pub noticed_at: Instant,
    /// The status line the service answered with.
    pub status: String,
}

/// Which wait of [`wait_ready`] ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotReady {
    /// The console's boot marker (or the console showed a crash, or printed nothing at all).
    Marker,
    /// The service's HTTP answer; `marker_after`: when the marker was seen, with a console.
    Service { marker_after: Option<Duration> },
}

const PROBE_PATH: &str = "/cgi-bin/magicBox.cgi?action=getDeviceType";

/// One real HTTP request; Ok(status line) when the service answers at all (401 included).
pub async fn probe_http(addr: SocketAddr, timeout: Duration) -> Result<String, String> {
    let fut = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
        let _ = s.set_nodelay(true);
        let req = format!("GET {PROBE_PATH} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.map_err(|e| format!("send: {e}"))?;
        let mut buf = Vec::with_capacity(256);
        let mut chunk = [0u8; 256];
        loop {
            let n = s.read(&mut chunk).await.map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err(format!("closed after {} bytes", buf.len()));
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&buf[..end]).into_owned();
                return if line.starts_with("HTTP/1.") { Ok(line) } else { Err(format!("not HTTP: {line:?}")) };
            }
        }
    };
    tokio::time::timeout(timeout, fut).await.unwrap_or_else(|_| Err(format!("no answer within {timeout:?}")))
}

/// Wait for the boot marker on `console` (from its cursor), then for `service` to answer HTTP.
pub async fn wait_ready(
    console: Option<(&Console, Cursor, &str)>,
    service: SocketAddr,
    deadline: Duration,
) -> Result<Ready, RigError> {
    wait_ready_staged(console, service, deadline).await.map_err(|(_, e)| e)
}

/// [`wait_ready`], saying which wait ran out: the boot marker's ([`NotReady::Marker`]) or the
/// service's ([`NotReady::Service`], with when the marker was seen).
pub(crate) async fn wait_ready_staged(
    console: Option<(&Console, Cursor, &str)>,
    service: SocketAddr,
    deadline: Duration,
) -> Result<Ready, (NotReady, RigError)> {
    let start = Instant::now();
    let mut marker_after = None;
    let mut marker_at = start;
    if let Some((c, from, marker)) = console {
        let seen = c.wait_for(from, marker, deadline).await.map_err(|e| (NotReady::Marker, e))?;
        marker_after = Some(seen.at.saturating_duration_since(start));
        marker_at = seen.at;
    }
    let until = start + deadline;
    let mut backoff = Duration::from_millis(1);
    let mut last = String::new();
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err((
                NotReady::Service { marker_after },
                RigError::Timeout {
                    what: format!(
                        "HTTP answer from {service}{} (last attempt: {last})",
                        if marker_after.is_some() { " after the boot marker" } else { "" }
                    ),
                    after: deadline,
                    blame: Blame::Device,
                },
            ));
        }
        match probe_http(service, left.min(Duration::from_secs(2))).await {
            Ok(status) => {
                let noticed_at = Instant::now();
                return Ok(Ready {
                    marker_after,
                    service_after: noticed_at - start,
                    marker_to_service: noticed_at.saturating_duration_since(marker_at),
                    noticed_at,
                    status,
                });
            }
            Err(e) => last = e,
        }
        tokio::time::sleep(backoff.min(until.saturating_duration_since(Instant::now()))).await;
        backoff = (backoff * 2).min(Duration::from_millis(10));
    }
}

/// Wait until `service` stops answering HTTP (refused, reset, or silent for `quiet`). On expiry the
/// error blames `blame` (the relay when a coil read back off but the device still answers).
pub async fn wait_down(service: SocketAddr, deadline: Duration, blame: Blame, why: &str) -> Result<Duration, RigError> {
    let start = Instant::now();
    // Silent this long counts as down (a cut link drops packets rather than refusing them).
    let quiet = Duration::from_millis(300);
    let poll = async {
        let mut backoff = Duration::from_millis(1);
        loop {
            if probe_http(service, quiet).await.is_err() {
                return start.elapsed();
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_millis(10));
        }
    };
    tokio::time::timeout(deadline, poll).await.map_err(|_| RigError::Timeout {
        what: format!("{service} to stop answering HTTP {why}"),
        after: deadline,
        blame,
    })
}
