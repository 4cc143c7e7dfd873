//! Round-trip latency: a real DVR/NVR answers a CGI, RPC2 or RTSP request in ~50–300 ms (slow CPU,
//! busy firmware, a lab LAN), the emulator on loopback in well under 1 ms. A suite tuned against the
//! emulator alone would never see what its round trips cost on a bench; with a configured latency
//! every answer (including a 401 challenge) takes what it takes on hardware.
//!
//! The delay is split like a network round trip: half before the firmware sees the request, the
//! rest before the answer leaves. Jitter is uniform in `[0, jitter]`, drawn from a seedable RNG so
//! that a benchmark or a flaky-test hunt can replay the same delays.

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The latency model of one recorder.
#[derive(Debug)]
pub(crate) struct Latency {
    base: Duration,
    jitter: Duration,
    rng: Mutex<StdRng>,
}

impl Latency {
    /// `base` plus up to `jitter` per answer; `seed` makes the jitter reproducible.
    pub(crate) fn new(base: Duration, jitter: Duration, seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_os_rng(),
        };
        Latency { base, jitter, rng: Mutex::new(rng) }
    }

    /// Whether answers are delayed at all.
    pub(crate) fn is_zero(&self) -> bool {
        self.base.is_zero() && self.jitter.is_zero()
    }

    /// The configured base latency.
    pub(crate) fn base(&self) -> Duration {
        self.base
    }

    /// One round trip's delay: base plus a fresh draw of jitter.
    pub(crate) fn draw(&self) -> Duration {
        if self.jitter.is_zero() {
            return self.base;
        }
        let nanos = self.jitter.as_nanos().min(u128::from(u64::MAX)) as u64;
        let extra = self.rng.lock().unwrap_or_else(|e| e.into_inner()).random_range(0..=nanos);
        self.base + Duration::from_nanos(extra)
    }

    /// Run `answer` as the firmware would behind this latency: half the round trip before it sees
    /// the request, the other half before its answer is on the wire.
    pub(crate) async fn around<T>(&self, answer: impl Future<Output = T>) -> T {
        if self.is_zero() {
            return answer.await;
        }
        let rtt = self.draw();
        let inbound = rtt / 2;
        tokio::time::sleep(inbound).await;
        let out = answer.await;
        tokio::time::sleep(rtt - inbound).await;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_is_bounded_and_reproducible_with_a_seed() {
        let a = Latency::new(Duration::from_millis(150), Duration::from_millis(40), Some(7));
        let b = Latency::new(Duration::from_millis(150), Duration::from_millis(40), Some(7));
        let xs: Vec<Duration> = (0..50).map(|_| a.draw()).collect();
        let ys: Vec<Duration> = (0..50).map(|_| b.draw()).collect();
        assert_eq!(xs, ys, "same seed, same delays");
        assert!(xs.iter().all(|d| *d >= Duration::from_millis(150) && *d <= Duration::from_millis(190)));
        assert!(xs.iter().any(|d| *d != xs[0]), "jitter varies: {xs:?}");
        let fixed = Latency::new(Duration::from_millis(5), Duration::ZERO, None);
        assert_eq!(fixed.draw(), Duration::from_millis(5));
        assert!(Latency::new(Duration::ZERO, Duration::ZERO, None).is_zero());
    }
}
