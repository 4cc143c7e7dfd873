//! `Secret`: a password that prints as `•••` everywhere (Debug, Display, serde, tracing fields).
//!
//! Every secret the process creates is also remembered in a process-wide registry, so that text that
//! leaves the process (console captures, evidence, reports, error messages, panics) can be passed
//! through [`redact`] and lose any password the run has known, even one that slipped in as a plain
//! string.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Mutex, MutexGuard, OnceLock};

use aho_corasick::{AhoCorasick, AhoCorasickKind};

use crate::encoded;

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

/// The secrets this process knows, and a matcher for all of them at once (built on first use after
/// a change): redaction runs on every evidence line and report field, and searches the raw text plus
/// several decodings of it, so one pass per text must find every secret.
#[derive(Default)]
struct Registry {
    known: BTreeSet<String>,
    matcher: Option<AhoCorasick>,
}

impl Registry {
    fn matcher(&mut self) -> &AhoCorasick {
        let known = &self.known;
        self.matcher
            // A contiguous NFA, not the DFA `AhoCorasick::new` may pick: the set changes with each new
            // password a run generates, and building a DFA each time was 18 % of a certify's CPU
            // (perf, fleet benchmark); searching evidence lines with the NFA is as fast here.
            .get_or_insert_with(|| {
                AhoCorasick::builder()
                    .kind(Some(AhoCorasickKind::ContiguousNFA))
                    .build(known.iter())
                    .expect("a matcher builds for any set of strings")
            })
    }
}

fn registry() -> MutexGuard<'static, Registry> {
    static KNOWN: OnceLock<Mutex<Registry>> = OnceLock::new();
    KNOWN.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner())
}

/// Shorter secrets are not searched for in text: a 1-character test password would otherwise mask
/// every matching digit of every port number and timestamp. (They exist only as passwords a device
/// must refuse; the 6-character rule makes every real password long enough.)
pub const MIN_REDACTED_LEN: usize = 4;

/// Remember a value that must never be printed (also done by [`Secret::new`]).
pub fn remember(value: &str) {
    if value.chars().count() >= MIN_REDACTED_LEN {
        let mut r = registry();
        if r.known.insert(value.to_owned()) {
            r.matcher = None;
        }
    }
}

/// Every secret value this process has seen, for tests that grep outputs for them.
pub fn known() -> Vec<String> {
    registry().known.iter().cloned().collect()
}

/// `text` with every known secret replaced by [`MASK`] — raw, percent-encoded (`%XX` in either
/// case, `+` for a space), JSON-escaped, XML-escaped, or layered (see [`crate::encoded`]). Where
/// secrets overlap (one containing another) the whole stretch is masked once.
pub fn redact(text: &str) -> String {
    let mut registry = registry();
    if registry.known.is_empty() {
        return text.to_owned();
    }
    let known = registry.matcher();
    // Byte spans of `text` that spell a secret (overlapping ones too: they are merged below).
    let mut spans: Vec<(usize, usize)> = known.find_overlapping_iter(text).map(|m| (m.start(), m.end())).collect();
    // Most text has no escape at all: then the raw search above is the whole job.
    if text.contains(['%', '+', '\\', '&']) {
        let raw = encoded::units(text);
        for chain in encoded::CHAINS {
            let mut decoded: Option<Vec<encoded::Unit>> = None;
            for step in chain.iter() {
                if let Some(d) = encoded::decode(decoded.as_deref().unwrap_or(&raw), *step) {
                    decoded = Some(d);
                }
            }
            if let Some(units) = decoded {
                find_in_decoded(&units, known, &mut spans);
            }
        }
    }
    drop(registry);
    if spans.is_empty() {
        return text.to_owned();
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut iter = spans.into_iter().peekable();
    while let Some((start, mut end)) = iter.next() {
        while let Some(&(s, e)) = iter.peek() {
            if s > end {
                break;
            }
            end = end.max(e);
            iter.next();
        }
        if start >= at {
            out.push_str(&text[at..start]);
            out.push_str(MASK);
            at = end;
        } else if end > at {
            at = end;
        }
    }
    out.push_str(&text[at..]);
    out
}

/// Add the original spans of every secret found in the decoded `units`.
fn find_in_decoded(units: &[encoded::Unit], known: &AhoCorasick, spans: &mut Vec<(usize, usize)>) {
    let mut decoded = String::with_capacity(units.len());
    let mut offsets = Vec::with_capacity(units.len());
    for u in units {
        offsets.push(decoded.len());
        decoded.push(u.c);
    }
    for m in known.find_overlapping_iter(&decoded) {
        // Secrets are whole strings, so matches start and end on character boundaries and both
        // lookups are exact.
        let first = offsets.partition_point(|&o| o < m.start());
        let last = offsets.partition_point(|&o| o < m.end()) - 1;
        spans.push((units[first].start, units[last].end));
    }
}

/// The common spellings of a secret (raw, percent, form, JSON, XML), for tests that grep outputs.
pub fn forms(value: &str) -> Vec<String> {
    encoded::forms(value)
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

    #[test]
    fn redact_masks_every_encoding_of_a_secret_with_symbols() {
        let s = Secret::new("p@ss w\"<&+%é");
        for form in forms(s.expose()) {
            let text = format!("before {form} after");
            assert_eq!(redact(&text), format!("before {MASK} after"), "{form}");
        }
        // Mixed and layered spellings: an URL encoder that leaves `@` raw, JSON inside HTML.
        for text in [
            "u?pwd=p@ss%20w%22%3c&%2B%25%C3%A9&x=1",
            r#"{"pwd":"p@ss w\"<&+%\u00e9"}"#,
            "&lt;td&gt;p@ss w\\&quot;&lt;&amp;+%é&lt;/td&gt;",
        ] {
            let out = redact(text);
            assert!(out.contains(MASK), "{text} -> {out}");
            assert!(!out.contains("p@ss"), "{text} -> {out}");
        }
        assert_eq!(redact("100%25 plain+text"), "100%25 plain+text");
    }
}
