//! The emulated firmware's state and rules in one place: RAM (accounts, nonces, sessions), flash,
//! lockouts and counters, and the two decisions every interface shares — "does this login get in"
//! and "is this password change allowed". The protocol files only translate wire messages to these.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use rand::Rng;
use resetlab_profile::firmware::DefaultPasswordPolicy;
use resetlab_profile::{FirmwareProfile, Group};
use resetlab_wire::Secret;

use crate::accounts::{Account, Accounts, Via};
use crate::console::Console;
use crate::defects::{Defect, Defects};
use crate::digest::{DigestAuth, Nonces};
use crate::flash::{Flash, FlashOp, commit_delay};
use crate::latency::Latency;
use crate::lockout::Lockouts;
use crate::sessions::Sessions;

/// Counters a test or report can read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Logins refused for a wrong user or password (on any interface).
    pub login_failures: u64,
    /// Times an account became locked.
    pub lockouts_engaged: u64,
    /// Password changes the firmware accepted.
    pub password_changes: u64,
    /// Changes written to flash.
    pub flash_commits: u64,
}

#[derive(Debug, Default)]
struct Counters {
    login_failures: AtomicU64,
    lockouts_engaged: AtomicU64,
    password_changes: AtomicU64,
    flash_commits: AtomicU64,
}

/// What RAM holds; rebuilt from flash at every power-on.
#[derive(Debug)]
pub(crate) struct Ram {
    pub(crate) accounts: Accounts,
    pub(crate) nonces: Nonces,
    /// WS-Security UsernameToken nonces seen within the `Created` window (replay refusal).
    pub(crate) wsse_nonces: crate::onvif::wsse::SeenNonces,
    pub(crate) sessions: Sessions,
    /// Digest `opaque`, new each boot.
    pub(crate) opaque: String,
    /// The P2P module's own copy of the passwords, read once at boot. Only firmware with the
    /// `remote-keeps-old-password` defect checks remote logins against it; conforming firmware
    /// lets the account store (the one every local interface uses) decide.
    p2p_copy: Vec<(String, Secret)>,
}

/// What the recorder's P2P module does with the `Authorization` of a tunneled request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum P2pLogin {
    /// Pass it on unchanged: the recorder's own HTTP service checks the credentials.
    PassOn,
    /// The module accepted the credentials against its own copy and passes the request on with
    /// this `Authorization` instead, signed with the password the recorder has now (the module
    /// runs on the box and can read it).
    Resigned(String),
    /// The module refused the credentials against its own copy; nothing is passed on.
    Refuse,
}

/// The outcome of one login attempt.
#[derive(Debug, Clone)]
pub(crate) enum Auth {
    Granted {
        user: String,
        group: Group,
    },
    /// The password was right but the proof came with a stale or replayed Digest nonce: answer
    /// `stale=true` (RFC 7616 §3.3: only for a valid digest), grant nothing, count nothing.
    Stale,
    Refused {
        left: u32,
    },
    Locked {
        remaining_s: u64,
    },
}

/// Who asks for a change.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) user: String,
    pub(crate) group: Group,
    /// The RPC2 session the change came through (it survives the change).
    pub(crate) session: Option<String>,
}

/// Why a change was refused; never contains a password.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Refusal(pub(crate) String);

pub(crate) struct Firmware {
    pub(crate) profile: FirmwareProfile,
    pub(crate) defects: Defects,
    pub(crate) serial: String,
    pub(crate) realm: String,
    pub(crate) console: Console,
    pub(crate) flash_delay: Duration,
    /// How long a lockout lasts here: the profile's `lockout.duration_s` at the emulation's pace
    /// (see `clock.rs`), or what a defective lock timer makes of it.
    pub(crate) lock_duration: Duration,
    /// Round-trip delay every interface applies before it answers.
    pub(crate) latency: Latency,
    /// The accounts as this unit left the factory (see [`Accounts::factory`]).
    factory: Vec<Account>,
    /// The RTSP port, for ONVIF `GetStreamUri` (set once the port is bound).
    pub(crate) rtsp_port: OnceLock<u16>,
    /// The ONVIF service's own user list (name, password), kept in its own flash file: only
    /// firmware with `onvif-keeps-old-password` judges ONVIF logins by it.
    onvif_users: Mutex<Vec<(String, Secret)>>,
    /// The RTSP daemon's credential file in flash, by account: only firmware with `split-on-cut`
    /// writes it apart from the account database; a boot hands it to the RTSP daemon.
    rtsp_file: Mutex<std::collections::HashMap<String, Secret>>,
    /// How long a password change is worked on before it is applied and answered: the profile's
    /// `change_processing_ms` at the emulation's pace (see [`processing_time`]).
    processing: Duration,
    flash: Flash,
    /// Changes on their way to flash: (due, epoch, change), in the order they were made. A power
    /// cut writes every change whose commit time has come (a busy process may not have run the
    /// writer's timer yet) and loses the rest, as the flash writer of a real unit does.
    pending_writes: Mutex<Vec<(std::time::Instant, u64, FlashOp)>>,
    ram: Mutex<Ram>,
    lockouts: Mutex<Lockouts>,
    counters: Counters,
    /// Power epoch: bumped at every power-on and power-off, so work begun under one power-on
    /// (flash commits, console output) can tell that the power went since.
    epoch: AtomicU64,
}

impl std::fmt::Debug for Firmware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Firmware")
            .field("serial", &self.serial)
            .field("profile", &self.profile.name)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Firmware {
    pub(crate) fn new(
        profile: FirmwareProfile,
        defects: &[crate::Defect],
        serial: String,
        boot_time: Duration,
        latency: Latency,
    ) -> Self {
        let realm = format!("Login to {serial}");
        let factory = Accounts::factory(&profile, &serial);
        let ram = Ram::boot(&profile, factory.clone());
        let mut lock_duration = crate::clock::scaled(&profile, boot_time, profile.lockout.duration());
        if defects.contains(&crate::Defect::ShortLockout) {
            // The lock timer runs on a 200 ms tick counted as 250 ms: a 300 s lock ends after 240 s.
            lock_duration = lock_duration.mul_f64(0.8);
        }
        Firmware {
            lock_duration,
            flash_delay: commit_delay(&profile, boot_time),
            processing: processing_time(&profile, boot_time),
            rtsp_file: Mutex::default(),
            latency,
            defects: Defects::new(defects),
            serial,
            realm,
            console: Console::new(profile.has(resetlab_profile::Interface::Console)),
            flash: Flash::new(factory.clone()),
            pending_writes: Mutex::new(Vec::new()),
            rtsp_port: OnceLock::new(),
            onvif_users: Mutex::new(factory.iter().map(|a| (a.name.clone(), a.password.clone())).collect()),
            factory,
            ram: Mutex::new(ram),
            lockouts: Mutex::new(Lockouts::default()),
            counters: Counters::default(),
            epoch: AtomicU64::new(0),
            profile,
        }
    }

    pub(crate) fn ram(&self) -> MutexGuard<'_, Ram> {
        lock(&self.ram)
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    pub(crate) fn has(&self, d: Defect) -> bool {
        self.defects.has(d)
    }

    pub(crate) fn stats(&self) -> Stats {
        let c = &self.counters;
        Stats {
            login_failures: c.login_failures.load(Ordering::Relaxed),
            lockouts_engaged: c.lockouts_engaged.load(Ordering::Relaxed),
            password_changes: c.password_changes.load(Ordering::Relaxed),
            flash_commits: c.flash_commits.load(Ordering::Relaxed),
        }
    }

    /// Power came on: RAM is rebuilt from flash; returns the new epoch.
    pub(crate) fn power_on(&self) -> u64 {
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        *self.ram() = Ram::boot(&self.profile, self.flash.load());
        let rtsp_file = lock(&self.rtsp_file).clone();
        for (name, password) in rtsp_file {
            self.ram().accounts.set_rtsp_copy(&name, password);
        }
        self.console.power_on(epoch);
        epoch
    }

    /// The accounts as flash holds them (what a boot loads).
    pub(crate) fn flash_accounts(&self) -> Vec<Account> {
        self.flash.load()
    }

    /// Power went: console stops, RAM is gone, flash writes not yet due never happen.
    pub(crate) fn power_off(&self) {
        self.commit_due();
        lock(&self.pending_writes).clear();
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.console.power_off();
        *self.ram() = Ram::boot(&self.profile, self.flash.load());
        if self.profile.lockout.cleared_by_power_cycle {
            *lock(&self.lockouts) = Lockouts::default();
        }
    }

    /// The password `user` had when this unit left the factory (`None` for accounts added since).
    pub(crate) fn factory_password(&self, user: &str) -> Option<Secret> {
        self.factory.iter().find(|a| a.name == user).map(|a| a.password.clone())
    }

    /// Whether `user` exists and still has its factory password.
    pub(crate) fn has_factory_password(&self, user: &str) -> bool {
        let Some(factory) = self.factory_password(user) else {
            return false;
        };
        self.ram().accounts.get(user).is_some_and(|a| a.password == factory)
    }

    /// ETSI EN 303 645 5.1-1 for `must-change-before-remote` firmware: remote use (requests
    /// through the P2P tunnel) as `user` is refused while `user` still has the universal factory
    /// password. `unique-per-device` firmware has no universal password to refuse; `none` claims
    /// nothing (and fails the ETSI profile).
    pub(crate) fn refuses_remote_use(&self, user: &str) -> bool {
        if self.profile.default_password != DefaultPasswordPolicy::MustChangeBeforeRemote {
            return false;
        }
        if self.has(Defect::DefaultPasswordRemote) {
            // The P2P module never asked whether the account was still at its factory password.
            return false;
        }
        self.has_factory_password(user)
    }

    /// What the P2P module does with a tunneled `method` request carrying `authorization`.
    /// Conforming firmware passes every request on to the account store; with
    /// `remote-keeps-old-password` the module judges Digest credentials by the copy it read at
    /// boot, so after a change the old password still gets in remotely and the new one does not
    /// (until a reboot). RPC2 logins through the tunnel are not judged by the module.
    pub(crate) fn p2p_login(&self, method: &str, authorization: &str) -> P2pLogin {
        if !self.has(Defect::RemoteKeepsOldPassword) {
            return P2pLogin::PassOn;
        }
        let Some(auth) = DigestAuth::parse(authorization) else {
            return P2pLogin::PassOn;
        };
        let ram = self.ram();
        let (Some(current), Some((_, copy))) =
            (ram.accounts.get(&auth.username), ram.p2p_copy.iter().find(|(name, _)| *name == auth.username))
        else {
            return P2pLogin::PassOn;
        };
        if current.password == *copy {
            P2pLogin::PassOn
        } else if auth.matches(copy.expose(), method) {
            P2pLogin::Resigned(auth.resigned(authorization, current.password.expose(), method))
        } else {
            P2pLogin::Refuse
        }
    }

    /// Whether the lockout is counted and enforced for logins arriving on `via`.
    fn lockout_applies(&self, via: Via) -> bool {
        if self.has(Defect::NoLockout) {
            return false;
        }
        if self.has(Defect::LockoutHttpOnly) && via != Via::Http {
            return false;
        }
        true
    }

    /// One login attempt by `user` on `via`; `check` says whether the client proved a given
    /// password (a Digest response, an RPC2 hash…). Counts failures and engages the lockout.
    /// `fresh` is false when the proof came with a stale or replayed Digest nonce: a right
    /// password is then [`Auth::Stale`] (no success: a replayed request must not reset the failure
    /// count), a wrong one counts as usual.
    pub(crate) fn authenticate(&self, via: Via, user: &str, fresh: bool, check: impl Fn(&str) -> bool) -> Auth {
        let lockout = &self.profile.lockout;
        let applies = self.lockout_applies(via);
        if applies && let Some(remaining_s) = lock(&self.lockouts).remaining(user) {
            tracing::info!(serial = %self.serial, user, via = via.as_str(), remaining_s, "login refused: account locked");
            return Auth::Locked { remaining_s };
        }
        let (found, mut passwords) = {
            let ram = self.ram();
            let group = ram.accounts.get(user).map(|a| a.group);
            (group, ram.accounts.accepted_passwords(user, via, &self.defects).unwrap_or_default())
        };
        if via == Via::Onvif && self.has(Defect::OnvifKeepsOldPassword) {
            // The ONVIF service asks its own list, which the user manager never updates.
            passwords = lock(&self.onvif_users)
                .iter()
                .filter(|(name, _)| name == user)
                .map(|(_, pw)| pw.expose().to_owned())
                .collect();
        }
        if let Some(group) = found
            && passwords.iter().any(|p| check(p))
        {
            if !fresh {
                tracing::debug!(serial = %self.serial, user, via = via.as_str(), "login with a stale or replayed nonce");
                return Auth::Stale;
            }
            if applies {
                lock(&self.lockouts).succeeded(user);
            }
            tracing::debug!(serial = %self.serial, user, via = via.as_str(), "login accepted");
            return Auth::Granted { user: user.to_owned(), group };
        }
        self.counters.login_failures.fetch_add(1, Ordering::Relaxed);
        self.console.log(&format!("[AUTH] login failed: user {user} via {}", via.as_str()));
        tracing::info!(serial = %self.serial, user, via = via.as_str(), "login refused: wrong user or password");
        if !applies || found.is_none() {
            return Auth::Refused { left: lockout.threshold };
        }
        let mut locks = lock(&self.lockouts);
        if locks.failed(user, lockout.threshold, self.lock_duration) {
            drop(locks);
            self.counters.lockouts_engaged.fetch_add(1, Ordering::Relaxed);
            // The firmware says what its profile says, whatever its timer then does.
            self.console.log(&format!("[AUTH] user {user} locked for {} s", lockout.duration_s));
            tracing::info!(serial = %self.serial, user, "account locked");
            return Auth::Locked { remaining_s: lockout.duration_s.ceil() as u64 };
        }
        Auth::Refused { left: locks.left(user, lockout.threshold) }
    }

    /// Whether `pwd_old` is `name`'s current password (as this firmware judges it).
    fn old_password_matches(&self, name: &str, pwd_old: Option<&str>) -> bool {
        let Some(old) = pwd_old else { return false };
        let ram = self.ram();
        ram.accounts.accepted_passwords(name, Via::Http, &self.defects).is_some_and(|ps| ps.iter().any(|p| p == old))
    }

    /// The password rule, as this firmware applies it; returns the text it would store.
    fn check_new_password(&self, new: &str) -> Result<String, Refusal> {
        let rule = &self.profile.password_rule;
        let n = new.chars().count();
        if self.has(Defect::TruncatesLong) && n > rule.max_len {
            // The firmware copied the password into a fixed-size field.
            return Ok(new.chars().take(rule.max_len).collect());
        }
        match rule.violation(new) {
            None => Ok(new.to_owned()),
            Some(_) if self.has(Defect::Accepts5Chars) && n == 5 && new.chars().all(|c| rule.charset.allows(c)) => {
                Ok(new.to_owned())
            }
            Some(_)
                if self.has(Defect::CharsetNotChecked)
                    && (rule.min_len..=rule.max_len).contains(&n)
                    && !new.chars().any(char::is_control) =>
            {
                // Only the length was checked.
                Ok(new.to_owned())
            }
            Some(why) => Err(Refusal(format!("Password does not meet the rule: {why}"))),
        }
    }

    /// May `by` change `name`'s password at all?
    fn may_change(&self, by: &Caller, name: &str) -> bool {
        let rights = &self.profile.rights;
        if self.has(Defect::SecondaryChangesAdmin) || self.has(Defect::AddedUserDisabled) {
            // The firmware checked only that the caller was logged in.
            return true;
        }
        match by.group {
            Group::Admin => rights.admin_changes_any || by.user == name,
            Group::User => by.user == name && rights.user_changes_own,
        }
    }

    /// `modifyPassword`, from any interface. Returns once the firmware would answer `OK`.
    pub(crate) async fn change_password(
        self: &Arc<Self>,
        by: &Caller,
        name: &str,
        new: &str,
        old: Option<&str>,
    ) -> Result<(), Refusal> {
        self.change_password_as(by, name, new, old, Via::Http).await
    }

    /// ONVIF `SetUser` with a new password. The request has no old-password field: the caller's
    /// own token proved its current password, so changing one's own password needs nothing more;
    /// changing another account's gives no old password (refused where the profile requires it).
    pub(crate) async fn set_user_password(self: &Arc<Self>, by: &Caller, name: &str, new: &str) -> Result<(), Refusal> {
        let own = (by.user == name).then(|| self.ram().accounts.get(name).map(|a| a.password.clone())).flatten();
        self.change_password_as(by, name, new, own.as_ref().map(Secret::expose), Via::Onvif).await?;
        if self.has(Defect::OnvifKeepsOldPassword)
            && let Some(entry) = lock(&self.onvif_users).iter_mut().find(|(n, _)| n == name)
        {
            entry.1 = Secret::new(new);
        }
        Ok(())
    }

    async fn change_password_as(
        self: &Arc<Self>,
        by: &Caller,
        name: &str,
        new: &str,
        old: Option<&str>,
        via: Via,
    ) -> Result<(), Refusal> {
        if self.ram().accounts.get(name).is_none() {
            return Err(Refusal("User not exist".into()));
        }
        if !self.may_change(by, name) {
            tracing::info!(serial = %self.serial, by = %by.user, name, "password change refused: no right");
            return Err(Refusal("No authority to modify this user's password".into()));
        }
        // OldPasswordNotChecked: the handler reads pwdOld but never compares it.
        if self.profile.rights.requires_old_password
            && !self.has(Defect::OldPasswordNotChecked)
            && !self.old_password_matches(name, old)
        {
            tracing::info!(serial = %self.serial, by = %by.user, name, "password change refused: old password wrong");
            return Err(Refusal("Old password is wrong".into()));
        }
        let checked = if via == Via::Onvif && self.has(Defect::OnvifSetuserBypassesRule) {
            // SetUser's handler never calls the rule check.
            Ok(new.to_owned())
        } else {
            self.check_new_password(new)
        };
        let stored = match checked {
            Ok(stored) => Secret::new(stored),
            Err(_) if self.has(Defect::OkWithoutChange) => {
                // The handler dropped the rule's error and answered OK; nothing was stored.
                tracing::info!(serial = %self.serial, by = %by.user, name, "password change refused by the rule, answered OK");
                return Ok(());
            }
            Err(refusal) => return Err(refusal),
        };
        // The change is worked on before it is applied; a power cut in the meantime leaves
        // nothing of it (the answer never leaves either) — except where split-on-cut firmware
        // already wrote the RTSP daemon's file.
        let epoch = self.epoch();
        self.console.log(&format!("[USER] password change of {name} by {}: processing", by.user));
        if self.has(Defect::SplitOnCut) {
            lock(&self.rtsp_file).insert(name.to_owned(), stored.clone());
        }
        tokio::time::sleep(self.processing).await;
        if self.epoch() != epoch {
            return Err(Refusal("power lost while the change was processed".into()));
        }
        {
            let mut ram = self.ram();
            ram.accounts.set_password(name, stored.clone());
            if !self.has(Defect::SessionsSurviveChange) {
                ram.sessions.end_user(name, by.session.as_deref());
            }
        }
        self.counters.password_changes.fetch_add(1, Ordering::Relaxed);
        tracing::info!(serial = %self.serial, by = %by.user, name, "password changed");
        if self.has(Defect::PasswordOnConsole) {
            // The firmware's debug print of the request it just handled.
            self.console.log(&format!("[USER] modifyPassword name={name} pwd={}", stored.expose()));
        } else {
            self.console.log(&format!("[USER] password of {name} modified by {}", by.user));
        }
        self.persist(FlashOp::SetPassword { name: name.to_owned(), password: stored }).await;
        Ok(())
    }

    /// `addUser` (admin group only).
    pub(crate) async fn add_user(self: &Arc<Self>, by: &Caller, account: Account) -> Result<(), Refusal> {
        if by.group != Group::Admin {
            return Err(Refusal("No authority".into()));
        }
        if account.name.is_empty() || !account.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Refusal("Invalid user name".into()));
        }
        self.check_new_password(account.password.expose())?;
        let mut account = account;
        if self.has(Defect::AddedUserDisabled) {
            // Stored without the login right: no password the caller knows gets in.
            account.password = Secret::new(format!("{}\u{0}disabled", account.password.expose()));
        }
        if !self.ram().accounts.add(account.clone()) {
            return Err(Refusal("User already exist".into()));
        }
        self.console.log(&format!("[USER] user {} ({}) added by {}", account.name, account.group.as_str(), by.user));
        self.persist(FlashOp::Add(account)).await;
        Ok(())
    }

    /// `deleteUser` (admin group only; the last admin cannot go).
    pub(crate) async fn delete_user(self: &Arc<Self>, by: &Caller, name: &str) -> Result<(), Refusal> {
        if by.group != Group::Admin {
            return Err(Refusal("No authority".into()));
        }
        {
            let mut ram = self.ram();
            let Some(target) = ram.accounts.get(name).cloned() else {
                return Err(Refusal("User not exist".into()));
            };
            if target.reserved || name == by.user {
                return Err(Refusal("Reserved user cannot be deleted".into()));
            }
            ram.accounts.delete(name);
            ram.sessions.end_user(name, None);
        }
        self.console.log(&format!("[USER] user {name} deleted by {}", by.user));
        self.persist(FlashOp::Delete(name.to_owned())).await;
        Ok(())
    }

    /// Get an accepted change to flash as this firmware does.
    async fn persist(self: &Arc<Self>, op: FlashOp) {
        if self.has(Defect::ChangeLostOnPowerCycle) {
            // The config writer was never triggered for account changes.
            return;
        }
        let epoch = self.epoch();
        let delay = self.flash_delay;
        if self.has(Defect::AckBeforeFlash) {
            // `OK` now, the write whenever the slow writer gets to it: far later than the delay
            // this emulation keeps and than the one the profile states (what a bench harness
            // waits for), so a power cut after the stated delay still finds the old password.
            let stated = Duration::from_millis(self.profile.flash.commit_delay_ms);
            self.commit_later(epoch, op, (delay * 40).max(stated * 3).max(Duration::from_secs(1)));
        } else if self.profile.flash.durable_on_ok {
            tokio::time::sleep(delay).await;
            self.commit(epoch, &op);
        } else {
            self.commit_later(epoch, op, delay);
        }
    }

    fn commit_later(self: &Arc<Self>, epoch: u64, op: FlashOp, delay: Duration) {
        let due = std::time::Instant::now() + delay;
        lock(&self.pending_writes).push((due, epoch, op));
        let fw = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            fw.commit_due();
        });
    }

    /// Write every pending change whose commit time has come, in the order they were made.
    fn commit_due(&self) {
        let now = std::time::Instant::now();
        let due: Vec<(u64, FlashOp)> = {
            let mut pending = lock(&self.pending_writes);
            let (ready, waiting): (Vec<_>, Vec<_>) = pending.drain(..).partition(|(at, _, _)| *at <= now);
            *pending = waiting;
            ready.into_iter().map(|(_, epoch, op)| (epoch, op)).collect()
        };
        for (epoch, op) in due {
            self.commit(epoch, &op);
        }
    }

    fn commit(&self, epoch: u64, op: &FlashOp) {
        if self.flash.write(op, || self.epoch() == epoch) {
            if let FlashOp::SetPassword { name, .. } = op {
                // The account database caught up with the RTSP daemon's file.
                lock(&self.rtsp_file).remove(name);
            }
            self.counters.flash_commits.fetch_add(1, Ordering::Relaxed);
            self.console.log("[CONFIG] account database saved to flash");
            tracing::debug!(serial = %self.serial, "flash commit");
        }
    }
}

impl Ram {
    fn boot(profile: &FirmwareProfile, accounts: Vec<Account>) -> Self {
        let n: u128 = rand::rng().random();
        let p2p_copy = accounts.iter().map(|a| (a.name.clone(), a.password.clone())).collect();
        Ram {
            p2p_copy,
            accounts: Accounts::from_flash(accounts),
            nonces: Nonces::new(Duration::from_secs(profile.sessions.digest_nonce_lifetime_s)),
            wsse_nonces: crate::onvif::wsse::SeenNonces::new(Duration::from_secs(
                profile.sessions.onvif_created_window_s,
            )),
            sessions: Sessions::new(Duration::from_secs(profile.sessions.rpc2_timeout_s)),
            opaque: format!("{n:032x}"),
        }
    }
}

/// The profile's `change_processing_ms` at the emulation's pace, but never under
/// [`PROCESSING_FLOOR`] (0 when the profile states no window): a power cut a loopback bench sends
/// right after the request must be able to land inside it.
fn processing_time(profile: &FirmwareProfile, boot_time: Duration) -> Duration {
    match profile.flash.change_processing_ms {
        0 => Duration::ZERO,
        ms => crate::clock::scaled(profile, boot_time, Duration::from_millis(ms)).max(PROCESSING_FLOOR),
    }
}

/// The shortest processing window the emulation keeps (a Modbus power cut over loopback takes a
/// few milliseconds to arrive).
const PROCESSING_FLOOR: Duration = Duration::from_millis(40);
