//! RPC2 sessions: the login challenge a session id starts with, the logged-in sessions that
//! `global.keepAlive` keeps alive, and their expiry. All of it lives in RAM.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::Rng;
use resetlab_profile::Group;

/// An RPC2 session id (hex, as newer Dahua firmware issues them).
pub(crate) type SessionId = String;

#[derive(Debug, Clone)]
struct Challenge {
    user: String,
    random: String,
    at: Instant,
}

/// A logged-in session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) user: String,
    pub(crate) group: Group,
    last_seen: Instant,
}

#[derive(Debug)]
pub(crate) struct Sessions {
    challenges: HashMap<SessionId, Challenge>,
    live: HashMap<SessionId, Session>,
    timeout: Duration,
}

impl Sessions {
    pub(crate) fn new(timeout: Duration) -> Self {
        Sessions { challenges: HashMap::new(), live: HashMap::new(), timeout }
    }

    fn new_id() -> SessionId {
        let n: u128 = rand::rng().random();
        format!("{n:032x}")
    }

    fn prune(&mut self) {
        let t = self.timeout;
        self.challenges.retain(|_, c| c.at.elapsed() <= t);
        self.live.retain(|_, s| s.last_seen.elapsed() <= t);
    }

    /// First `global.login` step: a session id and the random the client must hash with.
    pub(crate) fn challenge(&mut self, user: &str) -> (SessionId, String) {
        self.prune();
        let id = Self::new_id();
        let random = rand::rng().random_range(100_000_000u64..4_000_000_000u64).to_string();
        self.challenges
            .insert(id.clone(), Challenge { user: user.to_owned(), random: random.clone(), at: Instant::now() });
        (id, random)
    }

    /// The random issued for this login: by the session the client echoed, else the newest
    /// challenge for `user`. Taken once: a challenge answers one login attempt.
    pub(crate) fn take_random(&mut self, session: Option<&str>, user: &str) -> Option<(SessionId, String)> {
        self.prune();
        let id = match session {
            Some(s) if self.challenges.get(s).is_some_and(|c| c.user == user) => s.to_owned(),
            _ => self
                .challenges
                .iter()
                .filter(|(_, c)| c.user == user)
                .max_by_key(|(_, c)| c.at)
                .map(|(k, _)| k.clone())?,
        };
        self.challenges.remove(&id).map(|c| (id, c.random))
    }

    /// Make `id` a logged-in session of `user`.
    pub(crate) fn open(&mut self, id: SessionId, user: &str, group: Group) -> SessionId {
        self.live.insert(id.clone(), Session { user: user.to_owned(), group, last_seen: Instant::now() });
        id
    }

    /// A new logged-in session without a challenge (the loopback-bypass defect).
    pub(crate) fn open_new(&mut self, user: &str, group: Group) -> SessionId {
        self.open(Self::new_id(), user, group)
    }

    /// The live session `id`, touched (any call counts as activity).
    pub(crate) fn touch(&mut self, id: &str) -> Option<Session> {
        self.prune();
        let s = self.live.get_mut(id)?;
        s.last_seen = Instant::now();
        Some(s.clone())
    }

    pub(crate) fn close(&mut self, id: &str) -> bool {
        self.live.remove(id).is_some()
    }

    /// End every session of `user` except `keep`; returns how many ended.
    pub(crate) fn end_user(&mut self, user: &str, keep: Option<&str>) -> usize {
        let before = self.live.len();
        self.live.retain(|id, s| s.user != user || Some(id.as_str()) == keep);
        before - self.live.len()
    }

    pub(crate) fn active(&self) -> Vec<Session> {
        self.live.values().filter(|s| s.last_seen.elapsed() <= self.timeout).cloned().collect()
    }
}
