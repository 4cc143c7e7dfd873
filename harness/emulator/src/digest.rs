//! Server side of HTTP/RTSP Digest authentication: issuing nonces that expire, parsing the client's
//! `Authorization: Digest …` header and checking its response against a candidate password. The
//! hashes themselves come from `resetlab_wire::digest` (pinned by RFC vectors).

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rand::Rng;
use resetlab_wire::digest::{QopAuth, ha1, ha2, response};

/// How many nonce counts are remembered per nonce; a count at or below the oldest forgotten one is
/// refused as a replay, so memory stays bounded however long a client keeps one nonce.
const NC_WINDOW: usize = 1024;

/// Nonces issued and not yet forgotten, with the nonce counts each has been used with (RFC 7616
/// §3.3: the server remembers which `nc` values it saw so that a replayed request is refused).
/// Lost with RAM on a power cut.
#[derive(Debug)]
pub(crate) struct Nonces {
    issued: HashMap<String, Issued>,
    lifetime: Duration,
}

#[derive(Debug)]
struct Issued {
    at: Instant,
    /// Counts seen above `floor`; clients may send them out of order (pipelined requests).
    seen: BTreeSet<u32>,
    /// Every count at or below this is taken (forgotten from `seen` to bound it).
    floor: u32,
}

/// What the server knows about a nonce (and nonce count) a client sent back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NonceState {
    /// Issued by this boot, within its lifetime, and this `nc` not seen before.
    Fresh,
    /// Expired or never issued by this boot: the client should retry with a new one (`stale=true`).
    Stale,
    /// A nonce count already used with this nonce (or not a count at all): a replayed request.
    Replayed,
}

impl Nonces {
    pub(crate) fn new(lifetime: Duration) -> Self {
        Nonces { issued: HashMap::new(), lifetime }
    }

    /// A new nonce; old ones are forgotten once they can only ever be stale.
    pub(crate) fn issue(&mut self) -> String {
        let now = Instant::now();
        let lifetime = self.lifetime;
        self.issued.retain(|_, i| now.duration_since(i.at) <= lifetime);
        let nonce = format!("{:010}", rand::rng().random_range(1_000_000_000u64..10_000_000_000u64));
        self.issued.insert(nonce.clone(), Issued { at: now, seen: BTreeSet::new(), floor: 0 });
        nonce
    }

    /// Judge `nonce` as a request sends it back, and take its `nc` (hex, `qop=auth` only; `None`
    /// for RFC 2069 Digest without qop, as RTSP uses it, which has no count to check).
    pub(crate) fn use_nonce(&mut self, nonce: &str, nc: Option<&str>) -> NonceState {
        let Some(issued) = self.issued.get_mut(nonce) else {
            return NonceState::Stale;
        };
        if issued.at.elapsed() > self.lifetime {
            return NonceState::Stale;
        }
        let Some(nc) = nc else {
            return NonceState::Fresh;
        };
        let count = match u32::from_str_radix(nc, 16) {
            Ok(n) if n > 0 && nc.len() <= 8 => n,
            _ => return NonceState::Replayed,
        };
        if count <= issued.floor || !issued.seen.insert(count) {
            return NonceState::Replayed;
        }
        if issued.seen.len() > NC_WINDOW
            && let Some(oldest) = issued.seen.pop_first()
        {
            issued.floor = oldest;
        }
        NonceState::Fresh
    }
}

/// The fields of an `Authorization: Digest …` header.
#[derive(Debug, Clone, Default)]
pub(crate) struct DigestAuth {
    pub(crate) username: String,
    pub(crate) realm: String,
    pub(crate) nonce: String,
    pub(crate) uri: String,
    pub(crate) response: String,
    pub(crate) qop: Option<String>,
    pub(crate) nc: String,
    pub(crate) cnonce: String,
}

impl DigestAuth {
    /// Parse a header value; `None` when it is not Digest or lacks a required field.
    pub(crate) fn parse(header: &str) -> Option<Self> {
        let header = header.trim_start();
        let (scheme, rest) = header.split_once(char::is_whitespace)?;
        if !scheme.eq_ignore_ascii_case("digest") {
            return None;
        }
        let mut d = DigestAuth::default();
        let mut got_response = false;
        for (k, v) in params(rest) {
            match k.to_ascii_lowercase().as_str() {
                "username" => d.username = v,
                "realm" => d.realm = v,
                "nonce" => d.nonce = v,
                "uri" => d.uri = v,
                "response" => {
                    d.response = v.to_ascii_lowercase();
                    got_response = true;
                }
                "qop" => d.qop = Some(v),
                "nc" => d.nc = v,
                "cnonce" => d.cnonce = v,
                _ => {}
            }
        }
        (got_response && !d.username.is_empty() && !d.nonce.is_empty()).then_some(d)
    }

    /// The nonce count to check: the `nc` of a `qop=auth` answer, none without qop.
    pub(crate) fn counted_nc(&self) -> Option<&str> {
        self.qop.as_ref().map(|_| self.nc.as_str())
    }

    /// The response a client knowing `password` would send for `method` (`None` for a qop other
    /// than `auth`, which this firmware does not offer).
    fn response_for(&self, password: &str, method: &str) -> Option<String> {
        let h1 = ha1(&self.username, &self.realm, password);
        let h2 = ha2(method, &self.uri);
        let qop = match self.qop.as_deref() {
            Some(q) if q.eq_ignore_ascii_case("auth") => Some(QopAuth { nc: &self.nc, cnonce: &self.cnonce }),
            Some(_) => return None,
            None => None,
        };
        Some(response(&h1, &self.nonce, qop, &h2))
    }

    /// True when this response was computed with `password` for `method`.
    pub(crate) fn matches(&self, password: &str, method: &str) -> bool {
        self.response_for(password, method).as_deref() == Some(self.response.as_str())
    }

    /// `header` (the one this was parsed from) with its `response` recomputed for `password`,
    /// every other field as the client sent it: what the P2P module passes on after judging
    /// the credentials itself.
    pub(crate) fn resigned(&self, header: &str, password: &str, method: &str) -> String {
        let response = self.response_for(password, method).unwrap_or_default();
        let rest = header.trim_start().split_once(char::is_whitespace).map_or("", |(_, r)| r);
        let fields: Vec<String> = params(rest)
            .into_iter()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("response") { response.clone() } else { v };
                match k.to_ascii_lowercase().as_str() {
                    "qop" | "nc" | "algorithm" => format!("{k}={v}"),
                    _ => format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")),
                }
            })
            .collect();
        format!("Digest {}", fields.join(", "))
    }
}

/// `k=v, k="v, with comma"` pairs of an auth header.
fn params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() && chars.peek().is_none() {
            return out;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next()),
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        }
        out.push((key.trim().to_owned(), value.trim().to_owned()));
        if chars.peek().is_none() {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_curl_header_and_checks_rfc2617_vector() {
        let h = r#"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", cnonce="0a4f113b", nc=00000001, response="6629fae49393a05397450978507c4ef1", qop=auth, opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
        let d = DigestAuth::parse(h).unwrap();
        assert_eq!(d.uri, "/dir/index.html");
        assert!(d.matches("Circle Of Life", "GET"));
        assert!(!d.matches("circle of life", "GET"));
        assert!(DigestAuth::parse("Basic YWRtaW46MDAwMDAw").is_none());
        let again = d.resigned(h, "other", "GET");
        let d2 = DigestAuth::parse(&again).unwrap();
        assert!(d2.matches("other", "GET") && !d2.matches("Circle Of Life", "GET"));
        assert_eq!((d2.uri.as_str(), d2.nc.as_str(), d2.cnonce.as_str()), ("/dir/index.html", "00000001", "0a4f113b"));
        assert!(again.contains(r#"opaque="5ccc069c403ebaf9f0171e9517f40e41""#), "{again}");
    }

    #[test]
    fn nonce_expires_to_stale() {
        let mut n = Nonces::new(Duration::from_millis(0));
        let x = n.issue();
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(n.use_nonce(&x, Some("00000001")), NonceState::Stale);
        let mut n = Nonces::new(Duration::from_secs(60));
        let y = n.issue();
        assert_eq!(n.use_nonce(&y, None), NonceState::Fresh);
        assert_eq!(n.use_nonce(&y, None), NonceState::Fresh, "no qop: no count to check");
        assert_eq!(n.use_nonce("123", None), NonceState::Stale);
    }

    #[test]
    fn each_nonce_count_is_taken_once_in_any_order() {
        let mut n = Nonces::new(Duration::from_secs(60));
        let x = n.issue();
        assert_eq!(n.use_nonce(&x, Some("00000001")), NonceState::Fresh);
        assert_eq!(n.use_nonce(&x, Some("00000003")), NonceState::Fresh);
        assert_eq!(n.use_nonce(&x, Some("00000002")), NonceState::Fresh, "pipelined requests arrive out of order");
        assert_eq!(n.use_nonce(&x, Some("00000002")), NonceState::Replayed);
        assert_eq!(n.use_nonce(&x, Some("00000001")), NonceState::Replayed);
        for bad in ["0", "00000000", "zz", "", "100000000"] {
            assert_eq!(n.use_nonce(&x, Some(bad)), NonceState::Replayed, "{bad:?}");
        }
        // The window slides: counts below the oldest remembered one are refused, memory bounded.
        for c in 4..(4 + NC_WINDOW as u32 + 10) {
            assert_eq!(n.use_nonce(&x, Some(&format!("{c:08x}"))), NonceState::Fresh);
        }
        assert_eq!(n.use_nonce(&x, Some("00000005")), NonceState::Replayed);
        let y = n.issue();
        assert_eq!(n.use_nonce(&y, Some("00000001")), NonceState::Fresh, "counts are per nonce");
    }
}
