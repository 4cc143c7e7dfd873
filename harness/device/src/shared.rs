//! What the clients of one target share across calls, so that a sequence of calls costs the round
//! trips it needs and no more: one HTTP client (its connection pool keeps connections alive), the
//! device's clock offset for ONVIF tokens, the last Digest challenge of each interface (answered again with the next nonce count instead of a
//! `401` round trip per request), one idle RTSP connection, and the request counters.
//!
//! Challenge reuse follows RFC 7616 §3.3: a device that no longer takes a nonce answers `401` with
//! `stale=true`, and only for a request whose digest was right. A `401` without `stale=true` is a
//! refusal of the credentials even for a reused nonce, so a wrong password is sent once and counts
//! once against the lockout. Firmware that forgets nonces without saying `stale=true` would turn a
//! right password into a refusal there: [`Target::with_challenge_reuse`](crate::Target) turns reuse off.

use std::sync::{Arc, Mutex, MutexGuard};

use resetlab_wire::Secret;

use crate::challenge::Challenge;
use crate::error::ErrorKind;
use crate::interface::Interface;
use crate::rtsp::Conn;
use crate::stats::RequestCounters;

/// State shared by every clone of a [`Target`](crate::Target).
pub(crate) struct Shared {
    http: reqwest::Client,
    challenges: [Mutex<Option<Challenge>>; 4],
    rtsp_idle: Mutex<Option<Conn>>,
    /// The track control URL of each stream URL, from its last SDP: where a play check sends SETUP
    /// when the device refused its DESCRIBE.
    rtsp_controls: Mutex<std::collections::HashMap<String, String>>,
    /// Device clock minus ours, read once with ONVIF `GetSystemDateAndTime` (a token's `Created`
    /// must be within the device's window of the device's clock).
    onvif_clock: Mutex<Option<chrono::TimeDelta>>,
    pub(crate) counters: Arc<RequestCounters>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("requests", &self.counters.snapshot()).finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn slot(interface: Interface) -> usize {
    match interface {
        Interface::Http => 0,
        Interface::Rpc2 => 1,
        Interface::Rtsp => 2,
        Interface::Onvif => 3,
    }
}

impl Shared {
    pub(crate) fn new(https: Option<crate::tls::Https>) -> Self {
        Shared {
            http: crate::http::client(https),
            challenges: Default::default(),
            rtsp_idle: Mutex::new(None),
            rtsp_controls: Mutex::default(),
            onvif_clock: Mutex::new(None),
            counters: Arc::new(RequestCounters::default()),
        }
    }

    /// The pooled HTTP client (a cheap handle to one pool).
    pub(crate) fn http(&self) -> reqwest::Client {
        self.http.clone()
    }

    /// The device's clock offset, once known.
    pub(crate) fn onvif_clock(&self) -> Option<chrono::TimeDelta> {
        *lock(&self.onvif_clock)
    }

    /// Remember the device's clock offset.
    pub(crate) fn set_onvif_clock(&self, offset: chrono::TimeDelta) {
        *lock(&self.onvif_clock) = Some(offset);
    }

    /// An idle RTSP connection, if one is kept.
    pub(crate) fn take_rtsp(&self) -> Option<Conn> {
        lock(&self.rtsp_idle).take()
    }

    /// The track control URL last seen in `stream_url`'s SDP.
    pub(crate) fn rtsp_control(&self, stream_url: &str) -> Option<String> {
        lock(&self.rtsp_controls).get(stream_url).cloned()
    }

    /// Remember `stream_url`'s track control URL.
    pub(crate) fn set_rtsp_control(&self, stream_url: &str, control: String) {
        lock(&self.rtsp_controls).insert(stream_url.to_owned(), control);
    }

    /// Keep `conn` for the next RTSP call (one is enough: calls on one target are mostly serial).
    pub(crate) fn put_rtsp(&self, conn: Conn) {
        let mut idle = lock(&self.rtsp_idle);
        if idle.is_none() {
            *idle = Some(conn);
        }
    }
}

/// The Digest side of one authenticated call: which challenge to answer, and whether a `401` is
/// the device's refusal or a reason to answer once more. At most two answers per call, the second
/// only after `stale=true`.
pub(crate) struct DigestRound<'a> {
    /// The target's cached challenge for this interface (`None`: reuse is off).
    cache: Option<&'a Mutex<Option<Challenge>>>,
    /// The challenge of this call when nothing is cached.
    local: Option<Challenge>,
    /// Whether the last request carried an `Authorization`.
    answered: bool,
    stale_retried: bool,
    counters: &'a RequestCounters,
}

impl<'a> DigestRound<'a> {
    /// A round on `interface` of `shared`; `reuse` says whether challenges are kept across calls.
    pub(crate) fn new(shared: &'a Shared, interface: Interface, reuse: bool) -> Self {
        DigestRound {
            cache: reuse.then(|| &shared.challenges[slot(interface)]),
            local: None,
            answered: false,
            stale_retried: false,
            counters: &shared.counters,
        }
    }

    /// The `Authorization` to send with the first request: the cached challenge answered with its
    /// next nonce count, or `None` (no challenge known yet, or reuse off).
    pub(crate) fn first(
        &mut self,
        method: &str,
        uri: &str,
        user: &str,
        password: &Secret,
    ) -> Result<Option<String>, ErrorKind> {
        let Some(cache) = self.cache else {
            return Ok(None);
        };
        let mut cached = lock(cache);
        let Some(challenge) = cached.as_mut() else {
            return Ok(None);
        };
        let auth = challenge.authorization(method, uri, user, password)?;
        self.answered = true;
        Ok(Some(auth))
    }

    /// The device answered `401` with `challenges` (its `WWW-Authenticate` values): `Some` is the
    /// `Authorization` to send once more, `None` means the `401` stands (the credentials were
    /// refused). `Err` is a challenge that cannot be read when none was answered yet.
    pub(crate) fn on_401<'h>(
        &mut self,
        challenges: impl IntoIterator<Item = &'h str>,
        method: &str,
        uri: &str,
        user: &str,
        password: &Secret,
    ) -> Result<Option<String>, ErrorKind> {
        self.counters.challenge();
        let next = match Challenge::from_headers(challenges) {
            Ok(c) => c,
            // We answered and the device refused without a readable new challenge: a refusal.
            Err(_) if self.answered => return Ok(None),
            Err(e) => return Err(e),
        };
        let retry = if !self.answered {
            true
        } else if next.stale() && !self.stale_retried {
            // RFC 7616: stale=true only for a right digest on a nonce the device no longer takes.
            self.stale_retried = true;
            true
        } else {
            false
        };
        // The device's newest nonce is the one to use next time, whatever this call's outcome.
        self.keep(next);
        if !retry {
            return Ok(None);
        }
        self.answered = true;
        self.answer(method, uri, user, password).map(Some)
    }

    fn keep(&mut self, challenge: Challenge) {
        match self.cache {
            Some(cache) => *lock(cache) = Some(challenge),
            None => self.local = Some(challenge),
        }
    }

    fn answer(&mut self, method: &str, uri: &str, user: &str, password: &Secret) -> Result<String, ErrorKind> {
        let missing = || ErrorKind::Protocol {
            detail: "harness bug: no Digest challenge to answer".into(),
            excerpt: String::new(),
        };
        match self.cache {
            Some(cache) => lock(cache).as_mut().ok_or_else(missing)?.authorization(method, uri, user, password),
            None => self.local.as_mut().ok_or_else(missing)?.authorization(method, uri, user, password),
        }
    }
}
