//! Custody of the device's credentials: every password change is journaled before the device hears
//! of it, and at teardown the baseline password is put back through the same recovery procedure that
//! `resetlab recover` uses after a crash — one mechanism, exercised by every scenario. Accounts the
//! harness adds are journaled the same way and removed by the same procedure.

use std::fmt;
use std::sync::Arc;

use resetlab_device::{Cgi, Credentials, Interface, LoginOutcome, Target, try_login};
use resetlab_ledger::recover::{self, ProbeResult, RecoveryOutcome, RecoveryReport};
use resetlab_ledger::{AddedAccount, ChangeId, DeviceKey, Journal, LedgerError, Outcome};
use resetlab_wire::Secret;

/// The journal key of a device account. The identity carries the address so `resetlab recover` can
/// reach the device without a bench file: `SERIAL@host:http_port:rtsp_port`.
/// A device reached over HTTPS has its scheme in front of the host (`https://` verifies the
/// recorder's certificate; `https+self-signed://` is a bench that accepts a self-signed one), so
/// that `recover` speaks to it as the run did.
pub fn device_key(serial: &str, target: &Target, account: &str) -> DeviceKey {
    let scheme = match target.https() {
        None => "",
        Some(h) if h.accept_self_signed => SELF_SIGNED,
        Some(_) => HTTPS,
    };
    DeviceKey::new(format!("{serial}@{scheme}{}:{}:{}", target.host, target.http_port, target.rtsp_port), account)
}

const HTTPS: &str = "https://";
const SELF_SIGNED: &str = "https+self-signed://";

/// The address part of a journal identity, back as a device target.
pub fn target_of(key: &DeviceKey) -> Option<Target> {
    let (_, addr) = key.identity.rsplit_once('@')?;
    let (https, addr) = match addr.strip_prefix(SELF_SIGNED) {
        Some(rest) => (Some(true), rest),
        None => match addr.strip_prefix(HTTPS) {
            Some(rest) => (Some(false), rest),
            None => (None, addr),
        },
    };
    let mut parts = addr.rsplitn(3, ':');
    let rtsp = parts.next()?.parse().ok()?;
    let http = parts.next()?.parse().ok()?;
    let host = parts.next()?;
    let target = Target::new(host, http, rtsp);
    Some(match https {
        Some(accept_self_signed) => target.with_https(accept_self_signed),
        None => target,
    })
}

/// One login over HTTP CGI as the ledger's probe: which password does the device hold now?
pub async fn probe(target: &Target, account: &str, candidate: Secret) -> ProbeResult {
    match try_login(target, Interface::Http, &Credentials::new(account, candidate)).await {
        Ok(LoginOutcome::Accepted) => ProbeResult::Accepted,
        Ok(LoginOutcome::Refused) => ProbeResult::Refused,
        Ok(LoginOutcome::Locked { .. }) => ProbeResult::Locked,
        Err(e) => ProbeResult::Unreachable(e.to_string()),
    }
}

/// Put `baseline` back while `current` is the device's password, and prove it took.
pub async fn restore(target: &Target, account: &str, current: Secret, baseline: Secret) -> Result<(), String> {
    change_confirmed(target, account, &current, &baseline).await.map_err(|e| e.to_string())?;
    match try_login(target, Interface::Http, &Credentials::new(account, baseline)).await {
        Ok(LoginOutcome::Accepted) => Ok(()),
        other => Err(format!("the baseline password was set but does not log in ({other:?})")),
    }
}

/// Change `account` from `current` to `new` (signed in as itself) and make sure of the outcome: a
/// change whose answer the network lost (no refusal came back) is settled by asking the device
/// which of the two it holds, and sent once more if it never arrived. A refusal stays a refusal.
/// Returns whether an answer was lost on the way.
pub async fn change_confirmed(
    target: &Target,
    account: &str,
    current: &Secret,
    new: &Secret,
) -> Result<bool, resetlab_device::DeviceError> {
    let creds = Credentials::new(account, current.clone());
    let mut lost = false;
    for _ in 0..2 {
        match Cgi::new(target).modify_password(&creds, account, new, current).await {
            Ok(()) => return Ok(lost),
            Err(e) if e.outcome_unknown() => {
                lost = true;
                tracing::info!(error = %e, "no answer to a password change; asking the device which password it holds");
                match try_login(target, Interface::Http, &Credentials::new(account, new.clone())).await {
                    Ok(LoginOutcome::Accepted) => return Ok(true),
                    // Still the current one: the request itself was lost; send it again.
                    _ if matches!(try_login(target, Interface::Http, &creds).await, Ok(LoginOutcome::Accepted)) => {
                        continue;
                    }
                    _ => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(resetlab_device::DeviceError::new(
        Interface::Http,
        "modifyPassword",
        resetlab_device::ErrorKind::NoAnswer {
            detail: "no answer to the password change twice; the device still holds the current password".into(),
        },
    ))
}

/// Find the device's current password among the journal's candidates (at most `budget` tries) and
/// restore the baseline — or `working`, when a run replaced a factory password once at its start
/// and each scenario hands the device back with that one (the journal entry then stays open for
/// the end of the run). Used at teardown, at the end of a run and by `resetlab recover`.
///
/// `on` is the device as the run reaches it (the bench's timeouts, and the Digest challenge it
/// already knows, which saves a round trip per probe); `None` (`resetlab recover`) reaches it at
/// the address the journal recorded.
pub async fn recover_key(
    journal: &Journal,
    key: &DeviceKey,
    on: Option<&Target>,
    budget: u32,
    working: Option<&Secret>,
) -> Result<RecoveryReport, LedgerError> {
    let Some(pending) = journal.pending(key) else {
        return Ok(RecoveryReport { key: key.clone(), probes: 0, outcome: RecoveryOutcome::NothingToDo });
    };
    let Some(target) = on.cloned().or_else(|| target_of(key)) else {
        return Ok(RecoveryReport {
            key: key.clone(),
            probes: 0,
            outcome: RecoveryOutcome::Unreachable {
                reason: format!("no address in journal identity {}", key.identity),
            },
        });
    };
    let account = key.account.clone();
    let probe = |candidate| {
        let (t, a) = (target.clone(), account.clone());
        async move { probe(&t, &a, candidate).await }
    };
    let restore = |current, goal| {
        let (t, a) = (target.clone(), account.clone());
        async move { restore(&t, &a, current, goal).await }
    };
    match working {
        Some(w) => recover::run_to(journal, &pending, probe, restore, budget, w).await,
        None => recover::run(journal, &pending, probe, restore, budget).await,
    }
}

/// Delete `account`, an account the harness added, signed in as `by`, and prove it is gone. An
/// account the device does not list (the add never reached it) counts as removed.
pub async fn remove_account(target: &Target, by: &Credentials, account: &str) -> Result<AccountRemoval, String> {
    let cgi = Cgi::new(target);
    let listed = |users: Vec<resetlab_device::UserInfo>| users.iter().any(|u| u.name == account);
    if !listed(cgi.users(by).await.map_err(|e| format!("could not list the accounts: {e}"))?) {
        return Ok(AccountRemoval::NotThere);
    }
    cgi.delete_user(by, account).await.map_err(|e| format!("deleteUser failed: {e}"))?;
    if listed(cgi.users(by).await.map_err(|e| format!("could not list the accounts after deleteUser: {e}"))?) {
        return Err("deleteUser answered OK but the account is still listed".into());
    }
    Ok(AccountRemoval::Deleted)
}

/// How an added account left the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountRemoval {
    /// It was there and is deleted.
    Deleted,
    /// The device did not have it (the add was journaled but never reached the device).
    NotThere,
}

/// How the removal of one journaled account ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountReport {
    pub key: DeviceKey,
    pub outcome: Result<AccountRemoval, String>,
}

impl AccountReport {
    /// Whether the account is gone and the journal says so.
    pub fn is_finished(&self) -> bool {
        self.outcome.is_ok()
    }
}

impl fmt::Display for AccountReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = &self.key;
        match &self.outcome {
            Ok(AccountRemoval::Deleted) => write!(f, "{key}: the account the harness added is deleted"),
            Ok(AccountRemoval::NotThere) => {
                write!(f, "{key}: the account the harness meant to add is not on the device")
            }
            Err(reason) => {
                write!(f, "{key}: the account the harness added is still to be removed ({reason}); left unfinished")
            }
        }
    }
}

/// Remove the journaled account `added` from its device, signed in as its administrator with the
/// baseline password, and journal that it is gone. It waits while the administrator's own password
/// is unfinished: only the baseline is known to sign in.
pub async fn remove_added(journal: &Journal, added: &AddedAccount) -> Result<AccountReport, LedgerError> {
    let report = |outcome| Ok(AccountReport { key: added.key.clone(), outcome });
    let admin = DeviceKey::new(added.key.identity.clone(), added.by.clone());
    if journal.pending(&admin).is_some() {
        return report(Err(format!("the password of {admin} is not restored yet")));
    }
    let Some(target) = target_of(&added.key) else {
        return report(Err(format!("no address in journal identity {}", added.key.identity)));
    };
    let by = Credentials::new(&added.by, added.by_password.clone());
    let outcome = remove_account(&target, &by, &added.key.account).await;
    if outcome.is_ok() {
        journal.account_removed(&added.key)?;
    }
    report(outcome.map_err(|e| resetlab_wire::secret::redact(&e)))
}

/// What one recovery pass over a journal did.
#[derive(Debug, Default)]
pub struct Recovery {
    /// One report per device account whose password was unfinished.
    pub passwords: Vec<RecoveryReport>,
    /// One report per account the harness added and had not removed.
    pub accounts: Vec<AccountReport>,
}

impl Recovery {
    /// Whether everything the journal held is finished.
    pub fn is_finished(&self) -> bool {
        self.passwords.iter().all(RecoveryReport::is_finished) && self.accounts.iter().all(AccountReport::is_finished)
    }

    /// One line per account, password restores first.
    pub fn lines(&self) -> Vec<String> {
        self.passwords.iter().map(ToString::to_string).chain(self.accounts.iter().map(ToString::to_string)).collect()
    }
}

/// Recover every unfinished device account in `journal`, never spending more than
/// `lockout_threshold - 1` logins on one account, then remove the accounts the harness added, then
/// compact the journal. Used by `resetlab recover` and before a bench certify.
pub async fn recover_all(journal: &Journal, lockout_threshold: u32) -> Result<Recovery, LedgerError> {
    let budget = lockout_threshold.saturating_sub(1).max(1);
    let mut recovery = Recovery::default();
    for pending in journal.unfinished() {
        recovery.passwords.push(recover_key(journal, &pending.key, None, budget, None).await?);
    }
    for added in journal.added_accounts() {
        recovery.accounts.push(remove_added(journal, &added).await?);
    }
    let _ = journal.compact();
    Ok(recovery)
}

/// The journal as one scenario uses it.
#[derive(Debug, Clone)]
pub struct Custody {
    pub journal: Arc<Journal>,
}

impl Custody {
    pub fn baseline(&self, key: &DeviceKey, password: &Secret) -> Result<(), LedgerError> {
        self.journal.baseline(key, password)
    }

    pub fn intend(&self, key: &DeviceKey, old: &Secret, new: &Secret) -> Result<ChangeId, LedgerError> {
        self.journal.intend(key, old, new)
    }

    pub fn outcome(&self, id: ChangeId, outcome: Outcome) -> Result<(), LedgerError> {
        self.journal.outcome(id, outcome)
    }

    pub fn account_adding(&self, key: &DeviceKey, by: &str, by_password: &Secret) -> Result<(), LedgerError> {
        self.journal.account_adding(key, by, by_password)
    }

    pub fn account_removed(&self, key: &DeviceKey) -> Result<(), LedgerError> {
        self.journal.account_removed(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_identity_round_trips_the_address() {
        let t = Target::new("127.0.0.1", 18080, 18554);
        let key = device_key("FL17A0C50BCD-0001", &t, "admin");
        let back = target_of(&key).unwrap();
        assert_eq!((back.host.as_str(), back.http_port, back.rtsp_port), ("127.0.0.1", 18080, 18554));
        assert_eq!(back.https(), None);
        for accept_self_signed in [false, true] {
            let t = Target::new("10.0.0.5", 443, 554).with_https(accept_self_signed);
            let back = target_of(&device_key("S1", &t, "admin")).unwrap();
            assert_eq!(back, t, "{}", device_key("S1", &t, "admin").identity);
        }
    }
}
