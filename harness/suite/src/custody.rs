//! Custody of the device's credentials: every password change is journaled before the device hears
//! of it, and at teardown the baseline password is put back through the same recovery procedure that
//! `resetlab recover` uses after a crash — one mechanism, exercised by every scenario.

use std::sync::Arc;

use resetlab_device::{try_login, Cgi, Credentials, Interface, LoginOutcome, Target};
use resetlab_ledger::recover::{self, ProbeResult, RecoveryOutcome, RecoveryReport};
use resetlab_ledger::{ChangeId, DeviceKey, Journal, LedgerError, Outcome};
use resetlab_wire::Secret;

/// The journal key of a device account. The identity carries the address so `resetlab recover` can
/// reach the device without a bench file: `SERIAL@host:http_port:rtsp_port`.
pub fn device_key(serial: &str, target: &Target, account: &str) -> DeviceKey {
    DeviceKey::new(format!("{serial}@{}:{}:{}", target.host, target.http_port, target.rtsp_port), account)
}

/// The address part of a journal identity, back as a device target.
pub fn target_of(key: &DeviceKey) -> Option<Target> {
    let (_, addr) = key.identity.rsplit_once('@')?;
    let mut parts = addr.rsplitn(3, ':');
    let rtsp = parts.next()?.parse().ok()?;
    let http = parts.next()?.parse().ok()?;
    let host = parts.next()?;
    Some(Target::new(host, http, rtsp))
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
    let creds = Credentials::new(account, current.clone());
    Cgi::new(target).modify_password(&creds, account, &baseline, &current).await.map_err(|e| e.to_string())?;
    match try_login(target, Interface::Http, &Credentials::new(account, baseline)).await {
        Ok(LoginOutcome::Accepted) => Ok(()),
        other => Err(format!("the baseline password was set but does not log in ({other:?})")),
    }
}

/// Find the device's current password among the journal's candidates (at most `budget` tries) and
/// restore the baseline. Used at teardown and by `resetlab recover`.
pub async fn recover_key(journal: &Journal, key: &DeviceKey, budget: u32) -> Result<RecoveryReport, LedgerError> {
    let Some(pending) = journal.pending(key) else {
        return Ok(RecoveryReport { key: key.clone(), probes: 0, outcome: RecoveryOutcome::NothingToDo });
    };
    let Some(target) = target_of(key) else {
        return Ok(RecoveryReport {
            key: key.clone(),
            probes: 0,
            outcome: RecoveryOutcome::Unreachable { reason: format!("no address in journal identity {}", key.identity) },
        });
    };
    let account = key.account.clone();
    recover::run(
        journal,
        &pending,
        |candidate| {
            let (t, a) = (target.clone(), account.clone());
            async move { probe(&t, &a, candidate).await }
        },
        |current, baseline| {
            let (t, a) = (target.clone(), account.clone());
            async move { restore(&t, &a, current, baseline).await }
        },
        budget,
    )
    .await
}

/// Recover every unfinished device account in `journal`, never spending more than
/// `lockout_threshold - 1` logins on one account, then compact the journal. Used by
/// `resetlab recover` and before a bench certify.
pub async fn recover_all(journal: &Journal, lockout_threshold: u32) -> Result<Vec<RecoveryReport>, LedgerError> {
    let budget = lockout_threshold.saturating_sub(1).max(1);
    let mut reports = Vec::new();
    for pending in journal.unfinished() {
        reports.push(recover_key(journal, &pending.key, budget).await?);
    }
    let _ = journal.compact();
    Ok(reports)
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
    }
}
