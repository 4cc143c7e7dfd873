//! Brute-force lockout: wrong passwords in a row per account, counted across every interface
//! together, lock the account everywhere for the profile's duration.

use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct Entry {
    failures: u32,
    until: Option<Instant>,
}

/// Per-account failure counters and locks.
#[derive(Debug, Default)]
pub(crate) struct Lockouts {
    by_user: HashMap<String, Entry>,
}

impl Lockouts {
    /// Seconds left on `user`'s lock (at least 1), or `None` when not locked.
    pub(crate) fn remaining(&mut self, user: &str) -> Option<u64> {
        let e = self.by_user.get_mut(user)?;
        let until = e.until?;
        let now = Instant::now();
        if now >= until {
            // The lock ran out: the account starts again with a clean count.
            *e = Entry::default();
            return None;
        }
        Some((until - now).as_secs_f64().ceil().max(1.0) as u64)
    }

    /// Count one wrong password; true when this one engaged the lock.
    pub(crate) fn failed(&mut self, user: &str, threshold: u32, duration: Duration) -> bool {
        let e = self.by_user.entry(user.to_owned()).or_default();
        e.failures += 1;
        if e.failures >= threshold && e.until.is_none() {
            e.until = Some(Instant::now() + duration);
            return true;
        }
        false
    }

    /// Logins left before the lock (for RPC2's `remainLoginTimes`).
    pub(crate) fn left(&self, user: &str, threshold: u32) -> u32 {
        threshold.saturating_sub(self.by_user.get(user).map_or(0, |e| e.failures))
    }

    /// A right password: the count starts again.
    pub(crate) fn succeeded(&mut self, user: &str) {
        self.by_user.remove(user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_at_threshold_and_success_resets() {
        let mut l = Lockouts::default();
        let d = Duration::from_secs(300);
        for _ in 0..4 {
            assert!(!l.failed("admin", 5, d));
        }
        l.succeeded("admin");
        for _ in 0..4 {
            assert!(!l.failed("admin", 5, d));
        }
        assert!(l.remaining("admin").is_none());
        assert!(l.failed("admin", 5, d));
        assert!(l.remaining("admin").is_some_and(|s| s > 290 && s <= 300));
        assert!(l.remaining("other").is_none());
    }
}
