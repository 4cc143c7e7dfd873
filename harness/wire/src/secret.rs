//! `Secret`: a password that prints as `•••` everywhere (Debug, Display, serde, tracing fields).
//!
//! Every secret the process creates is also remembered in a process-wide registry, so that text that
//! leaves the process (console captures, evidence, reports, error messages, panics) can be passed
//! through [`redact`] and lose any password the run has known, even one that slipped in as a plain
//! string.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Mutex, OnceLock};

/// The mask printed instead of a password.
pub const MASK: &str = "•••";

/// A password or other credential. The value is reachable only through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value and remember it for [`redact`].
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        remember(&value);
        Secret(value)
    }

    /// The plain value, for the one place that must send it (a hash, a request field).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Number of characters, which reports may show (the 6-character rule is about it).
    pub fn char_len(&self) -> usize {
        self.0.chars().count()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(MASK)
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

fn registry() -> &'static Mutex<BTreeSet<String>> {
    static KNOWN: OnceLock<Mutex<BTreeSet<String>>> = OnceLock::new();
    KNOWN.get_or_init(|| Mutex::new(BTreeSet::new()))
}

/// Shorter secrets are not searched for in text: a 1-character test password would otherwise mask
/// every matching digit of every port number and timestamp. (They exist only as passwords a device
/// must refuse; the 6-character rule makes every real password long enough.)
pub const MIN_REDACTED_LEN: usize = 4;

/// Remember a value that must never be printed (also done by [`Secret::new`]).
pub fn remember(value: &str) {
    if value.chars().count() >= MIN_REDACTED_LEN {
        registry().lock().unwrap_or_else(|e| e.into_inner()).insert(value.to_owned());
    }
}

/// Every secret value this process has seen, for tests that grep outputs for them.
pub fn known() -> Vec<String> {
    registry().lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect()
}

/// `text` with every known secret replaced by [`MASK`], longest first so that a secret containing
/// another is masked whole.
pub fn redact(text: &str) -> String {
    let known = registry().lock().unwrap_or_else(|e| e.into_inner());
    let mut secrets: Vec<&String> = known.iter().collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_owned();
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints_its_value() {
        let s = Secret::new("hunter2x");
        assert_eq!(format!("{s}"), MASK);
        assert_eq!(format!("{s:?}"), MASK);
        assert_eq!(format!("{:?}", Some(&s)), format!("Some({MASK})"));
        assert_eq!(s.expose(), "hunter2x");
    }

    #[test]
    fn very_short_secrets_do_not_mangle_text() {
        let _s = Secret::new("7");
        assert_eq!(redact("127.0.0.1:40777"), "127.0.0.1:40777");
    }

    #[test]
    fn redact_masks_every_known_secret_longest_first() {
        let _a = Secret::new("abcdef");
        let _b = Secret::new("abcdefgh");
        assert_eq!(redact("pwd=abcdefgh old=abcdef"), format!("pwd={MASK} old={MASK}"));
    }
}
