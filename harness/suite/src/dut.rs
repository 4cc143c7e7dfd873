//! The device under test as one scenario sees it: where it is, which passwords the harness believes
//! are current, and a lockout budget that keeps the suite from locking an account by accident.
//!
//! Every login the suite makes goes through [`Dut::login`]. The firmware locks an account after
//! `threshold` wrong passwords in a row (across all interfaces), and a successful login resets that
//! count; so before an attempt that may be wrong, once `threshold - 1` wrong attempts are outstanding,
//! the budget first logs in with the known-good password on the same interface.

use std::collections::HashMap;

use std::time::Instant;

use resetlab_device::{Cgi, Credentials, DeviceError, ErrorKind, Interface, LoginOutcome, Target, try_login};
use resetlab_ledger::{DeviceKey, Outcome};
use resetlab_profile::FirmwareProfile;
use resetlab_wire::Secret;

use crate::blame::{Blame, fail};
pub use crate::record::Evidence;
use crate::recovery::{AccountRemoval, Custody, device_key, recover_key, remove_account};

mod pass_the_hash;
mod rpc2;
mod together;
mod video;

use together::{Answer, Try};

/// The way a password change reaches the recorder.
#[derive(Clone, Copy)]
enum ChangePath<'a> {
    /// HTTP CGI `modifyPassword`, signed in as `by`, giving `old_given` as the current password.
    Cgi { by: &'a Credentials, old_given: &'a Secret },
    /// ONVIF `SetUser`, signed in as `by` (it carries no old password).
    Onvif { by: &'a Credentials },
}

impl ChangePath<'_> {
    fn interface(self) -> Interface {
        match self {
            ChangePath::Cgi { .. } => Interface::Http,
            ChangePath::Onvif { .. } => Interface::Onvif,
        }
    }

    async fn send(self, target: &Target, account: &str, new: &Secret) -> Result<(), DeviceError> {
        match self {
            ChangePath::Cgi { by, old_given } => Cgi::new(target).modify_password(by, account, new, old_given).await,
            ChangePath::Onvif { by } => {
                resetlab_device::Onvif::new(target).set_user(by, account, new, "Administrator").await
            }
        }
    }
}

/// The profile's name for a device interface. A match the compiler checks: adding a local
/// interface to the device client means saying here which profile entry lists it.
pub(crate) fn profile_interface(i: Interface) -> resetlab_profile::Interface {
    use resetlab_profile::Interface as P;
    match i {
        Interface::Http => P::Http,
        Interface::Rpc2 => P::Rpc2,
        Interface::Rtsp => P::Rtsp,
        Interface::Onvif => P::Onvif,
    }
}

#[derive(Debug)]
pub struct Dut {
    pub target: Target,
    pub profile: FirmwareProfile,
    /// Identity used in the journal and reports (serial number, or host:port before it is known).
    pub identity: String,
    /// Passwords the harness believes each account has now.
    known: HashMap<String, Secret>,
    /// Wrong-password attempts in a row per account, as the firmware would count them.
    wrong_in_a_row: HashMap<String, u32>,
    /// Accounts whose believed password the device refused since it last accepted one: the
    /// harness then has no known-good password to reset the firmware's count with.
    suspect: std::collections::HashSet<String>,
    /// Accounts whose believed password HTTP CGI accepted since the harness came to believe it and
    /// since the recorder last lost power or link: a login with it may go out on every interface
    /// at once. Otherwise HTTP CGI is asked alone first, so that a refusal leaves the lockout
    /// budget to find what the recorder holds (`Dut::reconcile`).
    confirmed: std::collections::HashSet<String>,
    /// Lockouts the harness would have caused without the budget (must stay 0).
    pub budget_refills: u32,
    /// False while a scenario has the recorder's power or link off: no answer is then expected, so
    /// none is counted lost, asked again or reconciled.
    pub reachable: bool,
    /// Local services the device was seen to serve at the first lease though its profile omits
    /// them: ART-LOCAL ("every local way in") cannot be established from the profile's list.
    pub unlisted_services: Vec<Interface>,
    /// How many requests may be in flight to the recorder at once (the bench's
    /// `device.concurrency`; 1 for firmware that serves one connection at a time).
    pub concurrency: usize,
    /// Changes whose answer the network lost (reconciled from what the device then held).
    pub answers_lost: u32,
    /// Changes sent again because a lost answer turned out to be a lost request.
    pub retries: u32,
    /// Times the harness asked the device which password it holds.
    pub reconciles: u32,
    /// The device's request counters when the lease began.
    pub requests_at_start: resetlab_device::RequestStats,
    /// Wrong passwords sent on purpose by a lockout scenario (a lock is then expected).
    pub lockouts_expected: u32,
    /// The administrator password found at lease, which teardown puts back.
    baseline: Secret,
    /// Accounts the scenario created; teardown deletes them.
    pub created_users: Vec<String>,
    /// A lock caused on purpose may still be in force (teardown clears it before restoring).
    pub lock_pending: bool,
    /// Every password the harness believes in is promised to be in flash: no change was made or
    /// attempted since the last wait for the profile's commit delay. A power cycle must then
    /// keep them all (ART-DURABLE), which [`crate::lab::Lease::power_on`] checks.
    pub saved: bool,
    /// `saved` before the change in flight, put back when the device refused it.
    saved_before_change: bool,
    custody: Custody,
    started: Instant,
    /// Wall-clock time of `started`, to place console lines on the scenario's clock.
    pub started_wall: chrono::DateTime<chrono::Utc>,
    pub evidence: Vec<Evidence>,
    /// Measurements and rig events for the record.
    pub extras: crate::report::evidence::ScenarioExtras,
    /// Checks the device session itself found failed, the scenario going on (dut/video.rs); the
    /// run adds them to the World's findings.
    pub findings: Vec<(std::time::SystemTime, crate::blame::Failure)>,
}

impl Dut {
    /// A leased device whose administrator password is `admin_password` now; it is journaled as the
    /// baseline that teardown puts back.
    pub fn new(
        target: Target,
        profile: FirmwareProfile,
        identity: String,
        admin_password: Secret,
        custody: Custody,
    ) -> Result<Self, resetlab_ledger::LedgerError> {
        let admin = profile.admin().name.clone();
        custody.baseline(&device_key(&identity, &target, &admin), &admin_password)?;
        let requests_at_start = target.requests();
        Ok(Dut {
            baseline: admin_password.clone(),
            target,
            profile,
            identity,
            known: HashMap::from([(admin, admin_password)]),
            wrong_in_a_row: HashMap::new(),
            suspect: Default::default(),
            confirmed: Default::default(),
            budget_refills: 0,
            reachable: true,
            concurrency: 4,
            unlisted_services: Vec::new(),
            answers_lost: 0,
            retries: 0,
            reconciles: 0,
            requests_at_start,
            lockouts_expected: 0,
            lock_pending: false,
            saved: true,
            saved_before_change: true,
            created_users: Vec::new(),
            custody,
            started: Instant::now(),
            started_wall: chrono::Utc::now(),
            evidence: Vec::new(),
            extras: Default::default(),
            findings: Vec::new(),
        })
    }

    fn key(&self, account: &str) -> DeviceKey {
        device_key(&self.identity, &self.target, account)
    }

    /// `by` changes `account`'s password to `new` through the recorder's HTTP user manager. The change
    /// is journaled (fsynced) before the request is sent and its outcome after the answer.
    pub async fn change_password(&mut self, by: &Credentials, account: &str, new: &Secret) -> Result<(), DeviceError> {
        let old = self.credentials(account).password;
        self.change_password_giving(by, account, new, &old).await
    }

    /// As [`Dut::change_password`], but the request carries `old_given` as the current password
    /// (a wrong one, for the ASVS "current password required" check).
    pub async fn change_password_giving(
        &mut self,
        by: &Credentials,
        account: &str,
        new: &Secret,
        old_given: &Secret,
    ) -> Result<(), DeviceError> {
        self.change(ChangePath::Cgi { by, old_given }, account, new).await
    }

    /// Send `by`'s change of `account`'s password to `new` over HTTP CGI and return once the
    /// request is written, its answer unread (ART-DURABLE cuts the power in that window). The
    /// change is journaled before it is sent, its outcome unknown until the device is asked which
    /// password it holds; the caller then believes what it finds.
    pub async fn send_change_unread(
        &mut self,
        by: &Credentials,
        account: &str,
        new: &Secret,
    ) -> Result<resetlab_device::UnreadChange, DeviceError> {
        let key = self.key(account);
        let old = self.credentials(account).password;
        self.saved = false;
        let id = self
            .custody
            .intend(&key, &old, new)
            .unwrap_or_else(|e| fail(Blame::Harness, format!("cannot journal the password change: {e}")));
        let sent = Cgi::new(&self.target).send_modify_password(by, account, new, &old).await;
        if let Err(e) = self.custody.outcome(id, Outcome::Unknown) {
            fail(Blame::Harness, format!("cannot journal the outcome of the password change: {e}"));
        }
        sent
    }

    /// `by` changes `account`'s password to `new` over ONVIF `SetUser` (one more change path; it
    /// carries no old password). Journaled like a change over HTTP CGI.
    pub async fn change_password_over_onvif(
        &mut self,
        by: &Credentials,
        account: &str,
        new: &Secret,
    ) -> Result<(), DeviceError> {
        self.change(ChangePath::Onvif { by }, account, new).await
    }

    /// One password change, journaled before it is sent and settled from what the device was seen
    /// to do. A change whose answer never came back (the connection closed or was reset after
    /// sending, a stall past the deadline, a cut-short answer) may or may not have been applied:
    /// the device is asked which password it holds, within the lockout budget and with the
    /// journal's candidates as for `resetlab recover`, and the scenario goes on from that — never
    /// from a believed password that was not observed. The lost answer is the network's (counted in
    /// [`Dut::answers_lost`], noted in the evidence); a change that never arrived is sent once more.
    async fn change(&mut self, path: ChangePath<'_>, account: &str, new: &Secret) -> Result<(), DeviceError> {
        let key = self.key(account);
        self.saved_before_change = std::mem::replace(&mut self.saved, false);
        let mut sent = 0;
        let (result, outcome) = loop {
            sent += 1;
            let old = self.credentials(account).password;
            let id = self
                .custody
                .intend(&key, &old, new)
                .unwrap_or_else(|e| fail(Blame::Harness, format!("cannot journal the password change: {e}")));
            let result = path.send(&self.target, account, new).await;
            let outcome = match &result {
                Ok(()) => Outcome::Committed,
                Err(e) if matches!(e.kind, ErrorKind::Refused { .. } | ErrorKind::Unauthorized) => Outcome::Reverted,
                Err(e) if e.outcome_unknown() && self.reachable => {
                    self.answers_lost += 1;
                    self.reconciles += 1;
                    let held = self.reconcile(account).await;
                    let outcome = match &held {
                        Some(p) if p == new => Outcome::Committed,
                        Some(_) => Outcome::Reverted,
                        None => Outcome::Unknown,
                    };
                    let holds = match outcome {
                        Outcome::Committed => {
                            "the recorder holds the new password: the change was applied, its answer lost"
                        }
                        Outcome::Reverted => {
                            "the recorder holds the password it had: the change did not arrive (or was not applied)"
                        }
                        _ => "none of the candidates logs in within the lockout budget",
                    };
                    self.note(
                        Some(path.interface()),
                        format!("{} (the network's fault, not the recorder's answer)", e.kind),
                        holds,
                    );
                    outcome
                }
                Err(_) => Outcome::Unknown,
            };
            if let Err(e) = self.custody.outcome(id, outcome) {
                fail(Blame::Harness, format!("cannot journal the outcome of the password change: {e}"));
            }
            let lost = self.reachable && result.as_ref().is_err_and(DeviceError::outcome_unknown);
            if lost && outcome == Outcome::Committed {
                break (Ok(()), outcome);
            }
            if lost && outcome == Outcome::Reverted && sent < 2 {
                // Sent again, so that the recorder's own answer (accept or refuse) is what is judged.
                self.retries += 1;
                continue;
            }
            break (result, outcome);
        };
        match outcome {
            Outcome::Reverted => self.saved = self.saved_before_change,
            Outcome::Committed => {
                // Whatever the scenario expected, the device now has the new password.
                self.believe(account, new.clone());
                self.journal_possible_cut(&key, new);
            }
            _ => {}
        }
        result
    }

    /// A password longer than the rule allows was acknowledged: firmware that cuts it to the
    /// maximum length answers OK too (the `truncates-long` defect), so the cut form is journaled
    /// as a possible password — teardown and `resetlab recover` then find it instead of giving up.
    fn journal_possible_cut(&self, key: &DeviceKey, new: &Secret) {
        let max = self.profile.password_rule.max_len;
        if new.char_len() <= max {
            return;
        }
        let cut = Secret::new(new.expose().chars().take(max).collect::<String>());
        let journaled = self.custody.intend(key, new, &cut).and_then(|id| self.custody.outcome(id, Outcome::Unknown));
        if let Err(e) = journaled {
            fail(Blame::Harness, format!("cannot journal the possibly truncated password: {e}"));
        }
    }

    /// Teardown: put back the administrator password the lease started with (journaled, within the
    /// lockout budget), the same way `resetlab recover` does after a crash. Returns whether that took
    /// a change on the device (the bench then has a change still on its way to flash).
    pub async fn restore_baseline(&mut self) -> Result<bool, String> {
        let admin = self.admin_name();
        let key = self.key(&admin);
        let spent = self.wrong_in_a_row.get(&admin).copied().unwrap_or(0);
        let budget = self.profile.lockout.threshold.saturating_sub(1).saturating_sub(spent).max(1);
        let report = recover_key(&self.custody.journal, &key, Some(&self.target), budget, Some(&self.baseline))
            .await
            .map_err(|e| e.to_string())?;
        let changed = matches!(report.outcome, resetlab_ledger::recover::RecoveryOutcome::Restored { .. });
        let line = report.to_string();
        self.note(None, "teardown: restore the baseline administrator password", line.clone());
        if !report.is_finished() {
            return Err(line);
        }
        // Accounts the scenario added go too, so the device is left as it was found.
        self.believe(&admin, self.baseline.clone());
        let admin_creds = Credentials::new(&admin, self.baseline.clone());
        for user in std::mem::take(&mut self.created_users) {
            let removed = remove_account(&self.target, &admin_creds, &user).await;
            let outcome = match &removed {
                Ok(AccountRemoval::Deleted) => "deleted".to_owned(),
                Ok(AccountRemoval::NotThere) => "not on the device".to_owned(),
                Err(e) => e.clone(),
            };
            self.note(
                Some(Interface::Http),
                format!("teardown: delete the account {user} the scenario added"),
                outcome,
            );
            removed.map_err(|e| format!("could not delete the account {user} the scenario added: {e}"))?;
            self.custody
                .account_removed(&self.key(&user))
                .map_err(|e| format!("cannot journal that the account {user} is deleted: {e}"))?;
        }
        Ok(changed)
    }

    /// Add the account `name` in `group`, journaled first so that teardown — or `resetlab recover`
    /// after a crash — deletes it again.
    pub async fn add_account(
        &mut self,
        name: &str,
        password: &Secret,
        group: resetlab_profile::Group,
    ) -> Result<(), DeviceError> {
        let by = self.admin();
        if let Err(e) = self.custody.account_adding(&self.key(name), &by.user, &self.baseline) {
            fail(Blame::Harness, format!("cannot journal the account about to be added: {e}"));
        }
        self.created_users.push(name.to_owned());
        Cgi::new(&self.target).add_user(&by, name, password, group.as_str()).await?;
        self.believe(name, password.clone());
        Ok(())
    }

    /// The journal this device's changes go to.
    pub fn custody(&self) -> &Custody {
        &self.custody
    }

    pub fn admin_name(&self) -> String {
        self.profile.admin().name.clone()
    }

    /// The credentials the harness believes are current for `account`.
    pub fn credentials(&self, account: &str) -> Credentials {
        let password = self
            .known
            .get(account)
            .unwrap_or_else(|| fail(Blame::Harness, format!("no known password for account {account}")))
            .clone();
        Credentials { user: account.to_owned(), password }
    }

    pub fn admin(&self) -> Credentials {
        self.credentials(&self.admin_name())
    }

    /// Record that `account` now has `password` (after the device accepted a change).
    pub fn believe(&mut self, account: &str, password: Secret) {
        self.saved = false;
        self.confirmed.remove(account);
        self.known.insert(account.to_owned(), password);
    }

    /// The recorder lost power or its link: what it holds afterwards must be seen again.
    pub fn unconfirm_all(&mut self) {
        self.confirmed.clear();
    }

    /// The local interfaces this firmware has, in a fixed order: every way in a client on the
    /// recorder's network logs in with the administrator password.
    pub fn local_interfaces(&self) -> Vec<Interface> {
        Interface::ALL.into_iter().filter(|i| self.profile.has(profile_interface(*i))).collect()
    }

    /// Milliseconds since the lease began (the scenario's clock).
    pub fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    pub fn note(&mut self, interface: Option<Interface>, action: impl Into<String>, outcome: impl Into<String>) {
        let e = Evidence {
            at_ms: self.started.elapsed().as_millis() as u64,
            interface: interface.map(|i| i.to_string()),
            action: resetlab_wire::secret::redact(&action.into()),
            outcome: resetlab_wire::secret::redact(&outcome.into()),
        };
        tracing::debug!(interface = ?e.interface, action = %e.action, outcome = %e.outcome, "evidence");
        self.evidence.push(e);
    }

    /// One login attempt on `interface`, within the lockout budget. `label` says which password it is
    /// ("the new password") for the evidence, never the password itself.
    pub async fn login(&mut self, interface: Interface, creds: &Credentials, label: &str) -> LoginOutcome {
        self.before_attempt(interface, creds).await;
        let outcome = self.attempt_and_count(interface, creds, label).await;
        if self.suspect.contains(&creds.user) && self.known.get(&creds.user) == Some(&creds.password) {
            // The device refuses what the harness believed it holds: find out what it holds before
            // another attempt could spend the budget blind.
            self.reconcile(&creds.user).await;
        }
        outcome
    }

    /// The recorder's machine name, read over HTTP CGI as the administrator: the first sign of life
    /// a scenario asks for. The read is a login with the believed password, so it keeps within the
    /// lockout budget, confirms that password when it works, and a refusal is reconciled like any
    /// refused login (the scenario then goes on from what the device holds).
    pub async fn machine_name(&mut self) -> Result<String, DeviceError> {
        let admin = self.admin();
        self.before_attempt(Interface::Http, &admin).await;
        let t = Instant::now();
        let result = Cgi::new(&self.target).machine_name(&admin).await;
        let outcome = match &result {
            Ok(_) => LoginOutcome::Accepted,
            Err(e) if e.kind == ErrorKind::Unauthorized => LoginOutcome::Refused,
            Err(e) => match &e.kind {
                ErrorKind::Locked { remaining_s } => LoginOutcome::Locked { remaining_s: *remaining_s },
                _ => return result,
            },
        };
        let action = format!("read the machine name as {}", admin.user);
        self.after_attempt(Some(Interface::Http), &admin, &action, &outcome, t.elapsed());
        if outcome != LoginOutcome::Accepted && self.suspect.contains(&admin.user) {
            self.reconcile(&admin.user).await;
        }
        result
    }

    /// One login with `creds` on every local interface, the interfaces at once (at most
    /// [`Dut::concurrency`] in flight: a recorder serves several connections, and on a bench each
    /// round trip costs 50–300 ms). The lockout budget is kept for all of them together: if they
    /// could all be wrong, the known-good login comes first. Outcomes in interface order.
    pub async fn login_everywhere(&mut self, creds: &Credentials, label: &str) -> Vec<(Interface, LoginOutcome)> {
        let interfaces = self.local_interfaces();
        let streams = if interfaces.contains(&Interface::Rtsp) { self.streams_main_last() } else { Vec::new() };
        // HTTP CGI first: its refusal of a believed password must be known before a second batch
        // (dut/together.rs). Then the slowest, so that a batch the budget splits off is a quick
        // one: the plays, RPC2's two-step login, then one-request logins.
        let mut logins: Vec<Interface> =
            interfaces.iter().copied().filter(|&i| !matches!(i, Interface::Rtsp | Interface::Http)).collect();
        logins.sort_by_key(|&i| i != Interface::Rpc2);
        let http = interfaces.contains(&Interface::Http).then_some(Try::Login(Interface::Http));
        let tries: Vec<Try> = http
            .into_iter()
            .chain(streams.iter().map(|&s| Try::Play(s)))
            .chain(logins.into_iter().map(Try::Login))
            .collect();
        let believed = self.known.get(&creds.user) == Some(&creds.password);
        let answers = if believed && !self.confirmed.contains(&creds.user) && http.is_some() && tries.len() > 1 {
            // Not seen to hold since it was believed (a change, a power cut): HTTP CGI alone
            // first, and if it refuses, find what the recorder holds while the budget is whole.
            let mut answers = self.attempt_together(creds, &tries[..1]).await;
            if self.suspect.contains(&creds.user) {
                self.reconcile(&creds.user).await;
            }
            answers.extend(self.attempt_together(creds, &tries[1..]).await);
            answers
        } else {
            self.attempt_together(creds, &tries).await
        };
        let action = format!("log in as {} with {label}", creds.user);
        let (mut out, mut plays, mut rtsp_took) = (Vec::new(), Vec::new(), std::time::Duration::ZERO);
        for (&t, answer) in tries.iter().zip(answers) {
            match (t, answer) {
                (Try::Login(interface), Answer::Login(outcome, took)) => {
                    self.noted_attempt(Some(interface), creds, &action, &outcome, took);
                    out.push((interface, outcome));
                }
                (_, answer) => {
                    rtsp_took = rtsp_took.max(answer.took());
                    if let Answer::Play(p, _) = answer {
                        plays.push(p);
                    }
                }
            }
        }
        if !streams.is_empty() {
            let outcome = self.judge_streams(creds, plays);
            self.noted_attempt(Some(Interface::Rtsp), creds, &action, &outcome, rtsp_took);
            out.push((Interface::Rtsp, outcome));
        }
        out.sort_by_key(|(i, _)| interfaces.iter().position(|x| x == i));
        if self.suspect.contains(&creds.user) && self.known.get(&creds.user) == Some(&creds.password) {
            self.reconcile(&creds.user).await;
        }
        out
    }

    /// A wrong password on purpose, outside the lockout budget (only lockout scenarios do this);
    /// the lock it may cause is expected and cleared before teardown.
    pub async fn login_deliberately_wrong(
        &mut self,
        interface: Interface,
        creds: &Credentials,
        label: &str,
    ) -> LoginOutcome {
        self.lockouts_expected += 1;
        self.lock_pending = true;
        self.attempt_and_count(interface, creds, label).await
    }

    /// The right password while the account should be locked (does not spend the budget).
    pub async fn login_while_locked(&mut self, interface: Interface, creds: &Credentials) -> LoginOutcome {
        let t = Instant::now();
        let outcome = self.attempt(interface, creds).await;
        self.after_attempt(
            Some(interface),
            creds,
            &format!("log in as {} with the right password while locked", creds.user),
            &outcome,
            t.elapsed(),
        );
        outcome
    }

    /// The lock a scenario caused on purpose was cleared (power cycle or waited out).
    pub fn lock_cleared(&mut self) {
        self.wrong_in_a_row.clear();
        self.suspect.clear();
        self.lock_pending = false;
    }

    /// Account for a login made elsewhere (a remote client through the relay) within the same
    /// lockout budget: call before it with the credentials it will use…
    pub async fn before_remote_attempt(&mut self, creds: &Credentials) {
        self.before_attempt(Interface::Http, creds).await;
    }

    /// …and after it with what came back.
    pub fn after_remote_attempt(&mut self, creds: &Credentials, action: &str, outcome: &LoginOutcome, t: Instant) {
        self.after_attempt(None, creds, action, outcome, t.elapsed());
    }

    /// Journal a change made by something else (the app) before it is sent; returns the id for
    /// [`Dut::settle_change`].
    pub fn intend_change(&mut self, account: &str, new: &Secret) -> resetlab_ledger::ChangeId {
        self.saved_before_change = std::mem::replace(&mut self.saved, false);
        let old = self.credentials(account).password;
        self.custody
            .intend(&self.key(account), &old, new)
            .unwrap_or_else(|e| fail(Blame::Harness, format!("cannot journal the password change: {e}")))
    }

    /// Record what came of a journaled change, and believe the new password when it took.
    pub fn settle_change(&mut self, id: resetlab_ledger::ChangeId, account: &str, new: &Secret, outcome: Outcome) {
        if let Err(e) = self.custody.outcome(id, outcome) {
            fail(Blame::Harness, format!("cannot journal the outcome of the password change: {e}"));
        }
        match outcome {
            Outcome::Committed => self.believe(account, new.clone()),
            Outcome::Reverted => self.saved = self.saved_before_change,
            _ => {}
        }
    }

    async fn before_attempt(&mut self, _interface: Interface, creds: &Credentials) {
        // Every attempt may be refused — a believed password too, on an interface that keeps its
        // own accounts — so every attempt keeps within the budget.
        self.keep_within_budget(Interface::Http, &creds.user).await;
    }

    /// Find which password `account` holds now — the believed one first, then the journal's
    /// candidates, most likely first — within the lockout budget, and believe it. Used where the
    /// device was seen not to hold what the harness believed (a change it acknowledged but did not
    /// keep, a power cut that undid one): the scenario goes on from what the device holds.
    pub async fn reconcile(&mut self, account: &str) -> Option<Secret> {
        // A believed password the device just refused is not tried again.
        let refused = self.suspect.contains(account).then(|| self.known.get(account).cloned()).flatten();
        let mut candidates: Vec<Secret> =
            self.known.get(account).cloned().into_iter().filter(|_| refused.is_none()).collect();
        if let Some(p) = self.custody.journal.pending(&self.key(account)) {
            // After the latest change, a device that lost changes most likely holds the password
            // the lease began with or the one the run found it with (a journal entry that stays
            // open for a whole run gathers every scenario's changes).
            let head = p.candidates.first().cloned();
            let lease_start = (account == self.admin_name()).then(|| self.baseline.clone());
            let ordered =
                head.into_iter().chain(lease_start).chain(std::iter::once(p.baseline.clone())).chain(p.candidates);
            for c in ordered {
                if !candidates.contains(&c) && refused.as_ref() != Some(&c) {
                    candidates.push(c);
                }
            }
        }
        let threshold = self.profile.lockout.threshold;
        for (n, candidate) in candidates.into_iter().enumerate() {
            let wrong = self.wrong_in_a_row.get(account).copied().unwrap_or(0);
            if wrong + 1 >= threshold {
                break;
            }
            let creds = Credentials::new(account, candidate.clone());
            let t = Instant::now();
            let outcome = self.attempt(Interface::Http, &creds).await;
            self.after_attempt(
                Some(Interface::Http),
                &creds,
                &format!("reconcile: log in as {account} with candidate {}", n + 1),
                &outcome,
                t.elapsed(),
            );
            if outcome == LoginOutcome::Accepted {
                self.known.insert(account.to_owned(), candidate.clone());
                self.suspect.remove(account);
                self.confirmed.insert(account.to_owned());
                self.note(
                    Some(Interface::Http),
                    format!("reconcile the password of {account}"),
                    format!("the device holds candidate {}", n + 1),
                );
                return Some(candidate);
            }
        }
        self.note(
            None,
            format!("reconcile the password of {account}"),
            "none of the candidates logs in within the lockout budget",
        );
        None
    }

    fn after_attempt(
        &mut self,
        interface: Option<Interface>,
        creds: &Credentials,
        action: &str,
        outcome: &LoginOutcome,
        took: std::time::Duration,
    ) {
        match outcome {
            LoginOutcome::Accepted => {
                self.wrong_in_a_row.insert(creds.user.clone(), 0);
            }
            LoginOutcome::Refused | LoginOutcome::Locked { .. } => {
                *self.wrong_in_a_row.entry(creds.user.clone()).or_default() += 1;
            }
        }
        self.noted_attempt(interface, creds, action, outcome, took);
    }

    /// [`Dut::after_attempt`] for an attempt already counted against the lockout budget: the
    /// evidence, and what it says about the password the harness believes in.
    fn noted_attempt(
        &mut self,
        interface: Option<Interface>,
        creds: &Credentials,
        action: &str,
        outcome: &LoginOutcome,
        took: std::time::Duration,
    ) {
        let ms = took.as_millis();
        self.note(interface, action, format!("{outcome:?} ({ms} ms)"));
        match outcome {
            LoginOutcome::Accepted => {
                if self.known.get(&creds.user) == Some(&creds.password) {
                    self.suspect.remove(&creds.user);
                    if interface == Some(Interface::Http) {
                        self.confirmed.insert(creds.user.clone());
                    }
                }
            }
            LoginOutcome::Refused | LoginOutcome::Locked { .. } => {
                // While a lock the scenario caused is in force, a refusal says nothing about the
                // password; nor does a remote path's or another interface's (it may not follow the
                // recorder's main account store): reconcile probes HTTP CGI, so only its word counts.
                if interface == Some(Interface::Http)
                    && self.known.get(&creds.user) == Some(&creds.password)
                    && !self.lock_pending
                {
                    self.suspect.insert(creds.user.clone());
                }
            }
        }
    }

    /// One login, asked once more when its answer was lost on the way (a login changes nothing,
    /// so asking again is safe — but a lost wrong attempt may have counted on the device, so it
    /// counts here too). A second lost answer stops the step: blamed on the device when another
    /// interface shows the recorder alive (it keeps failing only this request), else on the rig.
    /// One login attempt, counted against the budget and noted as evidence ("log in as … with
    /// `label`").
    async fn attempt_and_count(&mut self, interface: Interface, creds: &Credentials, label: &str) -> LoginOutcome {
        let t = Instant::now();
        let outcome = self.attempt(interface, creds).await;
        let action = format!("log in as {} with {label}", creds.user);
        if interface == Interface::Rtsp {
            // Each stream was counted as it was played (dut/together.rs).
            self.noted_attempt(Some(interface), creds, &action, &outcome, t.elapsed());
        } else {
            self.after_attempt(Some(interface), creds, &action, &outcome, t.elapsed());
        }
        outcome
    }

    async fn attempt(&mut self, interface: Interface, creds: &Credentials) -> LoginOutcome {
        if interface == Interface::Rtsp {
            // Video that plays, on every stream the profile lists (dut/video.rs).
            return self.play_every_stream(creds).await;
        }
        let first = match try_login(&self.target, interface, creds).await {
            Ok(o) => return o,
            Err(e) if e.outcome_unknown() && self.reachable => e,
            Err(e) => self.fail_on(e),
        };
        self.before_asking_again(interface, creds, format!("log in as {}", creds.user), &first).await;
        match try_login(&self.target, interface, creds).await {
            Ok(o) => o,
            Err(e) if e.outcome_unknown() => {
                self.answers_lost += 1;
                let alive = match interface {
                    Interface::Http => None,
                    _ => Some(try_login(&self.target, Interface::Http, &self.credentials(&creds.user)).await),
                };
                match alive {
                    Some(Ok(LoginOutcome::Accepted)) => fail(
                        Blame::Device,
                        format!(
                            "{e}, twice in a row, while the recorder answers logins over HTTP CGI: it fails this request only"
                        ),
                    ),
                    _ => {
                        crate::blame::fail_network(format!("{e}, twice in a row (a first lost answer: {})", first.kind))
                    }
                }
            }
            Err(e) => self.fail_on(e),
        }
    }

    /// A login's answer was lost on the way (`what` says which login): count it and the retry,
    /// note it as the network's, and — since the lost attempt may have counted as a wrong password
    /// on the device — count it against the budget and refill that first if it needs it. The
    /// caller then asks once more.
    pub(super) async fn before_asking_again(
        &mut self,
        interface: Interface,
        creds: &Credentials,
        what: String,
        lost: &DeviceError,
    ) {
        self.answers_lost += 1;
        self.retries += 1;
        if self.known.get(&creds.user) != Some(&creds.password) {
            *self.wrong_in_a_row.entry(creds.user.clone()).or_default() += 1;
            Box::pin(self.keep_within_budget(Interface::Http, &creds.user)).await;
        }
        self.note(
            Some(interface),
            format!("{what}: {} (the network's fault, not a refusal)", lost.kind),
            "asked once more",
        );
    }

    /// Before a possibly-wrong attempt: if one more failure would reach the lockout threshold, reset
    /// the firmware's count with a known-good login first.
    async fn keep_within_budget(&mut self, interface: Interface, account: &str) {
        self.keep_within_budget_for(interface, account, 1).await;
    }

    /// As [`Dut::keep_within_budget`], before `attempts` possibly-wrong attempts at once.
    async fn keep_within_budget_for(&mut self, interface: Interface, account: &str, attempts: u32) {
        let threshold = self.profile.lockout.threshold;
        let wrong = self.wrong_in_a_row.get(account).copied().unwrap_or(0);
        if wrong + attempts < threshold {
            return;
        }
        if self.suspect.contains(account) && self.reconcile(account).await.is_none() {
            crate::blame::fail(
                Blame::Device,
                format!(
                    "stopping before {account} locks: the recorder refuses the password the harness held and none of the \
                     journal's candidates logs in within the lockout budget"
                ),
            );
        }
        if self.wrong_in_a_row.get(account).copied().unwrap_or(0) + attempts < threshold {
            return;
        }
        let good = self.credentials(account);
        self.budget_refills += 1;
        match self.attempt(interface, &good).await {
            LoginOutcome::Accepted => {
                self.wrong_in_a_row.insert(account.to_owned(), 0);
                self.note(
                    Some(interface),
                    format!("log in as {account} with the current password (lockout budget)"),
                    "Accepted",
                );
            }
            other => fail(
                Blame::Device,
                format!(
                    "the current password of {account} was not accepted on {interface} ({other:?}) while keeping \
                     within the lockout budget; the account may have been changed or locked behind the harness's back"
                ),
            ),
        }
    }

    /// A device call that should have worked failed: stop the step, blaming device or rig.
    pub fn fail_on(&self, err: DeviceError) -> ! {
        fail(Blame::of_error(&err), err)
    }
}
