//! Recovery after a crash: find which password an unfinished device account holds, without
//! tripping its lockout, put the baseline back, and record that in the journal.
//!
//! The probing and restoring are closures from the caller (the suite's `resetlab recover`), so this
//! module stays free of network code and is tested with fakes.

use std::fmt;
use std::future::Future;

use resetlab_wire::Secret;
use resetlab_wire::secret::redact;

use crate::key::{DeviceKey, Outcome};
use crate::state::Pending;
use crate::{Journal, LedgerError};

/// What one login attempt with a candidate password told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeResult {
    /// The device accepted the password.
    Accepted,
    /// The device refused it (a wrong password: it counts towards the lockout).
    Refused,
    /// The account is locked: probing stops at once, the lockout must expire first.
    Locked,
    /// The device did not answer or the answer made no sense; probing stops.
    Unreachable(String),
}

/// The candidates to try, in order, within `budget` attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The passwords to try, most likely first; at most `budget` of them.
    pub attempts: Vec<Secret>,
    /// Candidates left out because the budget is spent before them.
    pub beyond_budget: usize,
}

/// The order in which to try `pending`'s candidates, cut to `budget` (pass the lockout threshold − 1).
pub fn plan(pending: &Pending, budget: u32) -> Plan {
    let take = (budget as usize).min(pending.candidates.len());
    Plan { attempts: pending.candidates[..take].to_vec(), beyond_budget: pending.candidates.len() - take }
}

/// How a recovery of one device account ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The device account.
    pub key: DeviceKey,
    /// Login attempts made (each one a probe call).
    pub probes: u32,
    /// What happened.
    pub outcome: RecoveryOutcome,
}

/// The end of one recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryOutcome {
    /// Nothing for this account was unfinished (already recovered): nothing was probed.
    NothingToDo,
    /// The device already held its baseline; the journal now says so.
    AlreadyBaseline,
    /// The device held candidate number `accepted` (0 = the most likely); the baseline was put back.
    Restored { accepted: usize },
    /// No candidate was accepted within the budget; probing stopped to stay clear of the lockout.
    /// The entry stays unfinished.
    NotFound { beyond_budget: usize },
    /// The device reported the account locked; the entry stays unfinished.
    Locked,
    /// The device could not be probed; the entry stays unfinished.
    Unreachable { reason: String },
    /// The current password was found but putting the baseline back failed; the entry stays
    /// unfinished (with the failed restore journaled as a change of unknown outcome).
    RestoreFailed { accepted: usize, reason: String },
}

impl RecoveryReport {
    /// Whether the account is now finished (nothing left for a later `recover`).
    pub fn is_finished(&self) -> bool {
        matches!(
            self.outcome,
            RecoveryOutcome::NothingToDo | RecoveryOutcome::AlreadyBaseline | RecoveryOutcome::Restored { .. }
        )
    }
}

impl fmt::Display for RecoveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (key, n) = (&self.key, self.probes);
        match &self.outcome {
            RecoveryOutcome::NothingToDo => write!(f, "{key}: nothing unfinished"),
            RecoveryOutcome::AlreadyBaseline => {
                write!(f, "{key}: the device already has its baseline password ({n} login attempts); marked restored")
            }
            RecoveryOutcome::Restored { accepted } => write!(
                f,
                "{key}: the device accepted candidate {} ({n} login attempts); baseline password restored",
                accepted + 1
            ),
            RecoveryOutcome::NotFound { beyond_budget } => write!(
                f,
                "{key}: no candidate accepted in {n} login attempts (the budget; {beyond_budget} more not tried \
                 to stay below the lockout); left unfinished: wait for the lockout to clear and run recover \
                 again, or reset the device by hand"
            ),
            RecoveryOutcome::Locked => write!(
                f,
                "{key}: the account is locked after {n} login attempts; left unfinished: wait for the lockout \
                 to expire (or power-cycle, if the firmware clears it so) and run recover again"
            ),
            RecoveryOutcome::Unreachable { reason } => {
                write!(f, "{key}: the device could not be probed ({reason}); left unfinished")
            }
            RecoveryOutcome::RestoreFailed { accepted, reason } => write!(
                f,
                "{key}: the device accepted candidate {} but restoring the baseline failed ({reason}); \
                 left unfinished",
                accepted + 1
            ),
        }
    }
}

/// Recover one unfinished device account: try at most `budget` candidates with `probe` (pass the
/// lockout threshold − 1), stop at the first accepted, call `restore(current, baseline)` if they
/// differ, and record `restored` in `journal`. The journal's view of `pending.key` is used, so
/// running twice is harmless: the second run finds nothing unfinished and probes nothing.
///
/// The restore is itself journaled as a change (current → baseline) before it is sent, so a crash
/// during recovery leaves the baseline as the most likely candidate for the next run.
pub async fn run<P, PF, R, RF>(
    journal: &Journal,
    pending: &Pending,
    probe: P,
    restore: R,
    budget: u32,
) -> Result<RecoveryReport, LedgerError>
where
    P: FnMut(Secret) -> PF,
    PF: Future<Output = ProbeResult>,
    R: FnOnce(Secret, Secret) -> RF,
    RF: Future<Output = Result<(), String>>,
{
    settle(journal, pending, probe, restore, budget, None).await
}

/// As [`run`], but put `working` back instead of the baseline, and leave the entry unfinished:
/// a run that replaced a factory password once at its start hands every scenario the device with
/// that working password, while the journal keeps the true baseline for the end of the run (or for
/// `resetlab recover` after a crash). The outcomes read as for [`run`], with "baseline" meaning
/// `working`; nothing is marked restored.
pub async fn run_to<P, PF, R, RF>(
    journal: &Journal,
    pending: &Pending,
    probe: P,
    restore: R,
    budget: u32,
    working: &Secret,
) -> Result<RecoveryReport, LedgerError>
where
    P: FnMut(Secret) -> PF,
    PF: Future<Output = ProbeResult>,
    R: FnOnce(Secret, Secret) -> RF,
    RF: Future<Output = Result<(), String>>,
{
    settle(journal, pending, probe, restore, budget, Some(working)).await
}

async fn settle<P, PF, R, RF>(
    journal: &Journal,
    pending: &Pending,
    mut probe: P,
    restore: R,
    budget: u32,
    working: Option<&Secret>,
) -> Result<RecoveryReport, LedgerError>
where
    P: FnMut(Secret) -> PF,
    PF: Future<Output = ProbeResult>,
    R: FnOnce(Secret, Secret) -> RF,
    RF: Future<Output = Result<(), String>>,
{
    let key = pending.key.clone();
    let report = |probes, outcome| Ok(RecoveryReport { key: key.clone(), probes, outcome });
    let Some(mut current) = journal.pending(&pending.key) else {
        return report(0, RecoveryOutcome::NothingToDo);
    };
    if let Some(w) = working {
        // An entry that stays open for a whole run gathers every scenario's changes; after the
        // latest one, a device that lost changes (a power cut, a firmware that never wrote them)
        // most likely holds the run's working password or the one it was found with.
        let head = current.candidates.first().cloned();
        let preferred = [head.as_ref(), Some(w), Some(&current.baseline)];
        let mut ordered: Vec<Secret> = Vec::new();
        for c in preferred.into_iter().flatten().chain(current.candidates.iter()) {
            if !ordered.contains(c) {
                ordered.push(c.clone());
            }
        }
        current.candidates = ordered;
    }
    let plan = plan(&current, budget);
    let mut probes = 0u32;
    let mut found = None;
    for (index, candidate) in plan.attempts.iter().enumerate() {
        probes += 1;
        match probe(candidate.clone()).await {
            ProbeResult::Accepted => {
                found = Some(index);
                break;
            }
            ProbeResult::Refused => {}
            ProbeResult::Locked => return report(probes, RecoveryOutcome::Locked),
            ProbeResult::Unreachable(reason) => {
                return report(probes, RecoveryOutcome::Unreachable { reason: redact(&reason) });
            }
        }
    }
    let Some(accepted) = found else {
        return report(probes, RecoveryOutcome::NotFound { beyond_budget: plan.beyond_budget });
    };
    let held = &plan.attempts[accepted];
    let goal = working.unwrap_or(&current.baseline);
    // Only the true baseline finishes the entry; a working password keeps it open.
    let finish = working.is_none_or(|w| *w == current.baseline);
    if held == goal {
        if finish {
            journal.restored(&key)?;
        }
        return report(probes, RecoveryOutcome::AlreadyBaseline);
    }
    let change = journal.intend(&key, held, goal)?;
    match restore(held.clone(), goal.clone()).await {
        Ok(()) => {
            journal.outcome(change, Outcome::Committed)?;
            if finish {
                journal.restored(&key)?;
            }
            report(probes, RecoveryOutcome::Restored { accepted })
        }
        Err(reason) => {
            journal.outcome(change, Outcome::Unknown)?;
            report(probes, RecoveryOutcome::RestoreFailed { accepted, reason: redact(&reason) })
        }
    }
}
