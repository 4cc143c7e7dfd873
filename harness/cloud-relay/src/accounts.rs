//! App accounts: who may log in, which recorders (by serial) each owns, the bearer tokens issued,
//! and how many wrong passwords each account has seen. These are the app's own accounts; device
//! passwords never come here.
//!
//! Nothing here is a password: an account keeps an argon2 hash (`password.rs`), a session the
//! SHA-256 of its token. Hashing and verifying are slow on purpose, so they happen outside the lock
//! that guards this state: a login is [`Accounts::begin_login`] (is the account locked? which hash
//! to check?), the check, then [`Accounts::finish_login`].
//!
//! Lockout (ETSI EN 303 645 5.1-5, brute force made impractical): after `after` wrong passwords
//! for one account name, every login of that name — right password or not — is refused for
//! `lock_for`. A login in progress counts as a failure until it succeeds, so parallel guesses
//! cannot overrun the budget. Unknown names are counted like real ones, so the answers do not
//! reveal which accounts exist. The price: anyone can lock an account out for `lock_for` by
//! guessing; that is the usual trade and the lock ends by itself.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::credentials::{self, Hashed};

/// When wrong logins lock an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLockout {
    /// Wrong passwords in a row that lock the account.
    pub after: u32,
    /// How long it stays locked.
    pub lock_for: Duration,
}

impl Default for LoginLockout {
    fn default() -> Self {
        LoginLockout { after: 5, lock_for: Duration::from_secs(60) }
    }
}

/// Account names with failures tracked at most; beyond it, unlocked entries are forgotten first.
const MAX_TRACKED: usize = 10_000;
/// Live sessions per account at most; the oldest goes first.
const MAX_SESSIONS_PER_ACCOUNT: usize = 32;

#[derive(Debug)]
struct Account {
    /// argon2id PHC string.
    phc: String,
    devices: BTreeSet<String>,
}

#[derive(Debug)]
struct Session {
    user: String,
    expires: Instant,
}

#[derive(Debug, Default)]
struct Failures {
    /// Wrong passwords plus logins still being checked.
    count: u32,
    locked_until: Option<Instant>,
}

/// A login that may go on: check the password against `phc`, then call `finish_login`.
#[derive(Debug)]
pub(crate) struct Attempt {
    pub(crate) phc: String,
}

/// Accounts and sessions of the relay.
#[derive(Debug)]
pub(crate) struct Accounts {
    accounts: HashMap<String, Account>,
    sessions: HashMap<Hashed, Session>,
    failures: HashMap<String, Failures>,
    lockout: LoginLockout,
    token_ttl: Duration,
    /// Checked for unknown names, so they cost what a real account costs.
    decoy: String,
}

impl Accounts {
    /// No accounts yet; `decoy` is a PHC hash of a random password.
    pub(crate) fn new(lockout: LoginLockout, token_ttl: Duration, decoy: String) -> Self {
        Accounts {
            accounts: HashMap::new(),
            sessions: HashMap::new(),
            failures: HashMap::new(),
            lockout,
            token_ttl,
            decoy,
        }
    }

    /// The PHC hash `user` has now, if the account exists.
    pub(crate) fn phc(&self, user: &str) -> Option<String> {
        self.accounts.get(user).map(|a| a.phc.clone())
    }

    /// Create or replace an account owning `devices`. When `password_changed` (a new account, or a
    /// new password), the account's sessions end: a token must not outlive the password it was
    /// issued for.
    pub(crate) fn upsert(&mut self, user: &str, phc: String, devices: BTreeSet<String>, password_changed: bool) {
        self.accounts.insert(user.to_owned(), Account { phc, devices });
        if password_changed {
            self.sessions.retain(|_, s| s.user != user);
            self.failures.remove(user);
        }
    }

    /// Give an existing account one more device; false when the account does not exist.
    pub(crate) fn grant(&mut self, user: &str, serial: &str) -> bool {
        match self.accounts.get_mut(user) {
            Some(a) => {
                a.devices.insert(serial.to_owned());
                true
            }
            None => false,
        }
    }

    /// Start a login of `user`: `Err(wait)` while the account is locked, else the hash to check.
    pub(crate) fn begin_login(&mut self, user: &str, now: Instant) -> Result<Attempt, Duration> {
        if !self.failures.contains_key(user) && self.failures.len() >= MAX_TRACKED {
            self.failures.retain(|_, f| f.locked_until.is_some_and(|t| t > now));
        }
        let f = self.failures.entry(user.to_owned()).or_default();
        if let Some(until) = f.locked_until {
            if now < until {
                return Err(until - now);
            }
            *f = Failures::default();
        }
        if f.count >= self.lockout.after {
            // The budget is taken by logins still being checked.
            return Err(self.lockout.lock_for);
        }
        f.count += 1;
        let phc = self.accounts.get(user).map_or_else(|| self.decoy.clone(), |a| a.phc.clone());
        Ok(Attempt { phc })
    }

    /// End a login of `user`: a new bearer token when `password_ok` (and the account exists),
    /// else one more failure, which may lock the account.
    pub(crate) fn finish_login(&mut self, user: &str, password_ok: bool, now: Instant) -> Option<String> {
        if !(password_ok && self.accounts.contains_key(user)) {
            let lockout = self.lockout;
            if let Some(f) = self.failures.get_mut(user)
                && f.count >= lockout.after
                && f.locked_until.is_none()
            {
                f.locked_until = Some(now + lockout.lock_for);
                tracing::warn!(
                    %user,
                    failures = f.count,
                    locked_for = ?lockout.lock_for,
                    "app account locked after wrong passwords"
                );
            }
            return None;
        }
        self.failures.remove(user);
        self.sessions.retain(|_, s| s.expires > now);
        let mut mine: Vec<(Hashed, Instant)> =
            self.sessions.iter().filter(|(_, s)| s.user == user).map(|(h, s)| (*h, s.expires)).collect();
        if mine.len() >= MAX_SESSIONS_PER_ACCOUNT {
            mine.sort_by_key(|(_, e)| *e);
            for (h, _) in &mine[..=mine.len() - MAX_SESSIONS_PER_ACCOUNT] {
                self.sessions.remove(h);
            }
        }
        let token = credentials::mint();
        self.sessions.insert(Hashed::of(&token), Session { user: user.to_owned(), expires: now + self.token_ttl });
        Some(token)
    }

    /// The account a token belongs to, while it has not expired.
    pub(crate) fn user_of(&mut self, token: &str, now: Instant) -> Option<String> {
        let key = Hashed::of(token);
        match self.sessions.get(&key) {
            Some(s) if s.expires > now => Some(s.user.clone()),
            Some(_) => {
                self.sessions.remove(&key);
                None
            }
            None => None,
        }
    }

    /// The serials an account owns.
    pub(crate) fn devices(&self, user: &str) -> Vec<String> {
        self.accounts.get(user).map(|a| a.devices.iter().cloned().collect()).unwrap_or_default()
    }

    /// Whether `user` owns `serial`.
    pub(crate) fn owns(&self, user: &str, serial: &str) -> bool {
        self.accounts.get(user).is_some_and(|a| a.devices.contains(serial))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::{self, HashCost};

    fn accounts(after: u32, ttl: Duration) -> Accounts {
        let mut a = Accounts::new(
            LoginLockout { after, lock_for: Duration::from_secs(60) },
            ttl,
            password::hash(&credentials::mint(), HashCost::LAB),
        );
        a.upsert("me", password::hash("pw-me", HashCost::LAB), ["SN1".to_owned()].into(), true);
        a.upsert("you", password::hash("pw-you", HashCost::LAB), BTreeSet::new(), true);
        a
    }

    fn login(a: &mut Accounts, user: &str, pw: &str, now: Instant) -> Result<Option<String>, Duration> {
        let attempt = a.begin_login(user, now)?;
        let ok = password::verify(pw, &attempt.phc);
        Ok(a.finish_login(user, ok, now))
    }

    #[test]
    fn login_issues_a_token_only_for_the_right_password_and_ownership_is_per_account() {
        let now = Instant::now();
        let mut a = accounts(5, Duration::from_secs(3600));
        assert_eq!(login(&mut a, "me", "wrong", now), Ok(None));
        assert_eq!(login(&mut a, "nobody", "pw-me", now), Ok(None));
        let t = login(&mut a, "me", "pw-me", now).unwrap().unwrap();
        assert_eq!(a.user_of(&t, now).as_deref(), Some("me"));
        assert!(a.owns("me", "SN1") && !a.owns("you", "SN1"));
        assert!(a.grant("you", "SN1") && a.owns("you", "SN1"));
        assert!(!a.grant("nobody", "SN1"));
        assert_eq!(a.devices("me"), vec!["SN1".to_owned()]);
    }

    #[test]
    fn wrong_passwords_lock_the_account_even_for_the_right_one_until_the_lock_ends() {
        let now = Instant::now();
        let mut a = accounts(3, Duration::from_secs(3600));
        for _ in 0..3 {
            assert_eq!(login(&mut a, "me", "wrong", now), Ok(None));
        }
        assert!(login(&mut a, "me", "pw-me", now).is_err(), "locked");
        assert!(login(&mut a, "you", "pw-you", now).unwrap().is_some(), "per account");
        let later = now + Duration::from_secs(61);
        assert!(login(&mut a, "me", "pw-me", later).unwrap().is_some());
    }

    #[test]
    fn logins_in_flight_count_against_the_budget() {
        let now = Instant::now();
        let mut a = accounts(2, Duration::from_secs(3600));
        assert!(a.begin_login("me", now).is_ok());
        assert!(a.begin_login("me", now).is_ok());
        assert!(a.begin_login("me", now).is_err());
    }

    #[test]
    fn tokens_expire_and_end_when_the_password_changes() {
        let now = Instant::now();
        let mut a = accounts(5, Duration::from_secs(10));
        let t = login(&mut a, "me", "pw-me", now).unwrap().unwrap();
        assert!(a.user_of(&t, now + Duration::from_secs(11)).is_none(), "expired");
        let t = login(&mut a, "me", "pw-me", now).unwrap().unwrap();
        let phc = a.phc("me").unwrap();
        a.upsert("me", phc, ["SN1".to_owned()].into(), false);
        assert!(a.user_of(&t, now).is_some(), "same password: session kept");
        a.upsert("me", password::hash("pw-new", HashCost::LAB), ["SN1".to_owned()].into(), true);
        assert!(a.user_of(&t, now).is_none(), "password changed: session ended");
    }
}
