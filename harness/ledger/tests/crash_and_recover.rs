//! A harness that stops mid-change, and `recover::run` putting the baseline back with a fake device.

use std::sync::{Arc, Mutex};

use resetlab_ledger::recover::{self, ProbeResult, RecoveryOutcome};
use resetlab_ledger::{DeviceKey, Journal, Outcome};
use resetlab_wire::Secret;

/// A temporary state directory as resetlab wants one: 0700 (tempfile's default follows the umask,
/// usually 0755, which the journal refuses).
fn private_tempdir() -> std::io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new().permissions(std::fs::Permissions::from_mode(0o700)).tempdir()
}

fn key() -> DeviceKey {
    DeviceKey::new("SN-4B03A1", "admin")
}

fn s(v: &str) -> Secret {
    Secret::new(v)
}

fn plain(list: &[Secret]) -> Vec<&str> {
    list.iter().map(|s| s.expose()).collect()
}

/// A recorder account as recovery sees it: one password, a count of login attempts, and the
/// restores asked of it.
#[derive(Clone)]
struct FakeDevice(Arc<Mutex<Device>>);

struct Device {
    password: String,
    probes: u32,
    restores: Vec<(String, String)>,
    restore_fails: bool,
    locked: bool,
}

impl FakeDevice {
    fn with_password(password: &str) -> Self {
        FakeDevice(Arc::new(Mutex::new(Device {
            password: password.into(),
            probes: 0,
            restores: vec![],
            restore_fails: false,
            locked: false,
        })))
    }

    fn probe(&self) -> impl FnMut(Secret) -> std::future::Ready<ProbeResult> + use<> {
        let dev = self.0.clone();
        move |candidate: Secret| {
            let mut d = dev.lock().unwrap();
            d.probes += 1;
            std::future::ready(if d.locked {
                ProbeResult::Locked
            } else if candidate.expose() == d.password {
                ProbeResult::Accepted
            } else {
                ProbeResult::Refused
            })
        }
    }

    fn restore(&self) -> impl FnOnce(Secret, Secret) -> std::future::Ready<Result<(), String>> + use<> {
        let dev = self.0.clone();
        move |current: Secret, baseline: Secret| {
            let mut d = dev.lock().unwrap();
            d.restores.push((current.expose().into(), baseline.expose().into()));
            if d.restore_fails {
                return std::future::ready(Err("the device answered Error / Bad Request!".into()));
            }
            assert_eq!(current.expose(), d.password, "restore must be sent with the password the device holds");
            d.password = baseline.expose().into();
            std::future::ready(Ok(()))
        }
    }

    fn probes(&self) -> u32 {
        self.0.lock().unwrap().probes
    }

    fn restores(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().restores.clone()
    }
}

#[test]
fn a_change_intended_then_dropped_without_outcome_is_unfinished_new_first() {
    let tmp = private_tempdir().unwrap();
    {
        let journal = Journal::open(tmp.path()).unwrap();
        journal.baseline(&key(), &s("base01")).unwrap();
        journal.intend(&key(), &s("base01"), &s("new002")).unwrap();
        // The harness dies here: no outcome, no restore.
    }
    let journal = Journal::open(tmp.path()).unwrap();
    let pending = journal.unfinished();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].key, key());
    assert_eq!(pending[0].baseline.expose(), "base01");
    assert_eq!(plain(&pending[0].candidates), ["new002", "base01"]);
    assert_eq!(pending[0].changes.len(), 1);
    assert_eq!(pending[0].changes[0].outcome, None);
}

#[test]
fn after_several_changes_the_latest_comes_first_and_the_baseline_once() {
    let tmp = private_tempdir().unwrap();
    {
        let journal = Journal::open(tmp.path()).unwrap();
        journal.baseline(&key(), &s("base01")).unwrap();
        let a = journal.intend(&key(), &s("base01"), &s("new002")).unwrap();
        journal.outcome(a, Outcome::Committed).unwrap();
        let b = journal.intend(&key(), &s("new002"), &s("new003")).unwrap();
        journal.outcome(b, Outcome::Committed).unwrap();
        journal.intend(&key(), &s("new003"), &s("new004")).unwrap();
    }
    let journal = Journal::open(tmp.path()).unwrap();
    let pending = &journal.unfinished()[0];
    assert_eq!(plain(&pending.candidates), ["new004", "new003", "new002", "base01"]);
    let plan = recover::plan(pending, 2);
    assert_eq!(plain(&plan.attempts), ["new004", "new003"]);
    assert_eq!(plan.beyond_budget, 2);
}

#[test]
fn an_intend_without_baseline_takes_the_old_password_as_baseline() {
    let tmp = private_tempdir().unwrap();
    let journal = Journal::open(tmp.path()).unwrap();
    journal.intend(&key(), &s("base01"), &s("new002")).unwrap();
    let pending = &journal.unfinished()[0];
    assert_eq!(pending.baseline.expose(), "base01");
    assert_eq!(plain(&pending.candidates), ["new002", "base01"]);
}

#[test]
fn each_account_is_pending_on_its_own() {
    let tmp = private_tempdir().unwrap();
    let journal = Journal::open(tmp.path()).unwrap();
    let user = DeviceKey::new("SN-4B03A1", "user1");
    journal.intend(&key(), &s("base01"), &s("new002")).unwrap();
    journal.intend(&user, &s("usr001"), &s("usr002")).unwrap();
    journal.restored(&key()).unwrap();
    let pending = journal.unfinished();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].key, user);
}

#[tokio::test]
async fn recovery_restores_the_baseline_when_the_device_took_the_new_password() {
    let tmp = private_tempdir().unwrap();
    {
        let journal = Journal::open(tmp.path()).unwrap();
        journal.baseline(&key(), &s("base01")).unwrap();
        journal.intend(&key(), &s("base01"), &s("new002")).unwrap();
    }
    let device = FakeDevice::with_password("new002");
    let journal = Journal::open(tmp.path()).unwrap();
    let pending = journal.unfinished().remove(0);
    let report = recover::run(&journal, &pending, device.probe(), device.restore(), 4).await.unwrap();
    assert_eq!(report.outcome, RecoveryOutcome::Restored { accepted: 0 });
    assert!(report.is_finished());
    assert_eq!(report.probes, 1);
    assert_eq!(device.restores(), [("new002".to_string(), "base01".to_string())]);
    assert!(journal.unfinished().is_empty());

    // A second run, even with the stale `pending`, touches nothing.
    let again = recover::run(&journal, &pending, device.probe(), device.restore(), 4).await.unwrap();
    assert_eq!(again.outcome, RecoveryOutcome::NothingToDo);
    assert_eq!(device.probes(), 1);
    assert_eq!(device.restores().len(), 1);
    drop(journal);
    assert!(Journal::open(tmp.path()).unwrap().unfinished().is_empty(), "finished on disk too");
}

#[tokio::test]
async fn recovery_only_marks_restored_when_the_device_still_has_its_baseline() {
    let tmp = private_tempdir().unwrap();
    let journal = Journal::open(tmp.path()).unwrap();
    journal.baseline(&key(), &s("base01")).unwrap();
    journal.intend(&key(), &s("base01"), &s("new002")).unwrap();
    let device = FakeDevice::with_password("base01");
    let pending = journal.unfinished().remove(0);
    let report = recover::run(&journal, &pending, device.probe(), device.restore(), 4).await.unwrap();
    assert_eq!(report.outcome, RecoveryOutcome::AlreadyBaseline);
    assert_eq!(report.probes, 2);
    assert!(device.restores().is_empty());
    assert!(journal.unfinished().is_empty());
}

#[tokio::test]
async fn recovery_never_probes_more_than_the_budget_and_leaves_the_entry_unfinished() {
    let tmp = private_tempdir().unwrap();
    let journal = Journal::open(tmp.path()).unwrap();
    journal.baseline(&key(), &s("base01")).unwrap();
    let a = journal.intend(&key(), &s("base01"), &s("new002")).unwrap();
    journal.outcome(a, Outcome::Committed).unwrap();
    journal.intend(&key(), &s("new002"), &s("new003")).unwrap();
    // Someone changed the password by hand: no candidate matches.
    let device = FakeDevice::with_password("handmd");
    let pending = journal.unfinished().remove(0);
    for budget in [0u32, 1, 2] {
        let before = device.probes();
        let report = recover::run(&journal, &pending, device.probe(), device.restore(), budget).await.unwrap();
        assert_eq!(device.probes() - before, budget, "budget {budget}");
        assert_eq!(report.probes, budget);
        assert_eq!(report.outcome, RecoveryOutcome::NotFound { beyond_budget: 3 - budget as usize });
        assert!(!report.is_finished());
        assert!(report.to_string().contains("left unfinished"), "{report}");
    }
    let report = recover::run(&journal, &pending, device.probe(), device.restore(), 10).await.unwrap();
    assert_eq!(report.probes, 3, "never more attempts than candidates");
    assert!(device.restores().is_empty());
    assert_eq!(journal.unfinished().len(), 1);
}

#[tokio::test]
async fn a_locked_account_stops_probing_at_once() {
    let tmp = private_tempdir().unwrap();
    let journal = Journal::open(tmp.path()).unwrap();
    journal.intend(&key(), &s("base01"), &s("new002")).unwrap();
    let device = FakeDevice::with_password("new002");
    device.0.lock().unwrap().locked = true;
    let pending = journal.unfinished().remove(0);
    let report = recover::run(&journal, &pending, device.probe(), device.restore(), 4).await.unwrap();
    assert_eq!(report.outcome, RecoveryOutcome::Locked);
    assert_eq!(device.probes(), 1);
    assert_eq!(journal.unfinished().len(), 1);
}

#[tokio::test]
async fn an_unreachable_device_stops_probing_and_stays_unfinished() {
    let tmp = private_tempdir().unwrap();
    let journal = Journal::open(tmp.path()).unwrap();
    journal.intend(&key(), &s("base01"), &s("new002")).unwrap();
    let pending = journal.unfinished().remove(0);
    let mut calls = 0;
    let probe = |_: Secret| {
        calls += 1;
        std::future::ready(ProbeResult::Unreachable("no answer on port 80 within 5 s".into()))
    };
    let restore = |_: Secret, _: Secret| async { Ok::<(), String>(()) };
    let report = recover::run(&journal, &pending, probe, restore, 4).await.unwrap();
    assert_eq!(calls, 1);
    assert!(matches!(report.outcome, RecoveryOutcome::Unreachable { ref reason } if reason.contains("port 80")));
    assert_eq!(journal.unfinished().len(), 1);
}

#[tokio::test]
async fn a_failed_restore_is_journaled_so_the_next_run_tries_the_baseline_first() {
    let tmp = private_tempdir().unwrap();
    let journal = Journal::open(tmp.path()).unwrap();
    journal.baseline(&key(), &s("base01")).unwrap();
    journal.intend(&key(), &s("base01"), &s("new002")).unwrap();
    let device = FakeDevice::with_password("new002");
    device.0.lock().unwrap().restore_fails = true;
    let pending = journal.unfinished().remove(0);
    let report = recover::run(&journal, &pending, device.probe(), device.restore(), 4).await.unwrap();
    assert!(matches!(report.outcome, RecoveryOutcome::RestoreFailed { accepted: 0, .. }), "{report:?}");
    let pending = journal.unfinished().remove(0);
    assert_eq!(plain(&pending.candidates), ["base01", "new002"]);
    assert_eq!(pending.baseline.expose(), "base01");

    device.0.lock().unwrap().restore_fails = false;
    let report = recover::run(&journal, &pending, device.probe(), device.restore(), 4).await.unwrap();
    assert_eq!(report.outcome, RecoveryOutcome::Restored { accepted: 1 });
    assert_eq!(device.0.lock().unwrap().password, "base01");
    assert!(journal.unfinished().is_empty());
}

/// A run that replaced a factory password once at its start: each scenario's teardown puts the
/// run's working password back and leaves the entry open (the baseline is still owed), trying the
/// working and found passwords right after the latest change however many changes the run made.
#[tokio::test]
async fn run_to_puts_the_working_password_back_and_keeps_the_entry_open() {
    let tmp = tempfile::tempdir().unwrap();
    // A private state directory of its own (the journal refuses one others can read).
    let journal = Journal::open(&tmp.path().join("state")).unwrap();
    journal.baseline(&key(), &s("000000")).unwrap();
    let setup = journal.intend(&key(), &s("000000"), &s("work01")).unwrap();
    journal.outcome(setup, Outcome::Committed).unwrap();
    for i in 0..10 {
        let c = journal.intend(&key(), &s("work01"), &s(&format!("scen{i:02}"))).unwrap();
        journal.outcome(c, Outcome::Committed).unwrap();
    }
    // The device lost every change (a firmware that never wrote them): it is back at the found one.
    let device = FakeDevice::with_password("000000");
    let pending = journal.pending(&key()).unwrap();
    let report = recover::run_to(&journal, &pending, device.probe(), device.restore(), 3, &s("work01")).await.unwrap();
    assert_eq!(
        report.outcome,
        RecoveryOutcome::Restored { accepted: 2 },
        "latest change, working, found: within a budget of 3"
    );
    assert_eq!(device.restores(), vec![("000000".to_owned(), "work01".to_owned())]);
    assert!(journal.pending(&key()).is_some(), "the found password is still owed: the entry stays open");
    // The end of the run puts the found password back and closes it.
    let pending = journal.pending(&key()).unwrap();
    let report = recover::run(&journal, &pending, device.probe(), device.restore(), 4).await.unwrap();
    assert!(report.is_finished(), "{report}");
    assert!(journal.pending(&key()).is_none());
    assert_eq!(device.0.lock().unwrap().password, "000000");
}
