//! No ledger type prints a password: Debug (plain and pretty), Display and errors all mask it.
//! Only the journal file itself holds it, in plain text.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use resetlab_ledger::recover::{self, ProbeResult, RecoveryOutcome, RecoveryReport};
use resetlab_ledger::{DeviceKey, JOURNAL_FILE, Journal, LedgerError, Outcome};
use resetlab_wire::Secret;

/// A temporary state directory as resetlab wants one: 0700 (tempfile's default follows the umask,
/// usually 0755, which the journal refuses).
fn private_tempdir() -> std::io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new().permissions(std::fs::Permissions::from_mode(0o700)).tempdir()
}

const BASE: &str = "Qx7#vB";
const NEW: &str = "Zm4$kR";

fn assert_masked(what: &str, text: &str) {
    for secret in [BASE, NEW] {
        assert!(!text.contains(secret), "{what} shows a password: {text}");
    }
}

fn assert_all_formats_masked<T: std::fmt::Debug>(what: &str, value: &T) {
    assert_masked(what, &format!("{value:?}"));
    assert_masked(what, &format!("{value:#?}"));
}

#[tokio::test]
async fn no_ledger_type_prints_a_password() {
    let tmp = private_tempdir().unwrap();
    let key = DeviceKey::new("SN-4B03A1", "admin");
    let journal = Journal::open(tmp.path()).unwrap();
    journal.baseline(&key, &Secret::new(BASE)).unwrap();
    let id = journal.intend(&key, &Secret::new(BASE), &Secret::new(NEW)).unwrap();
    journal.outcome(id, Outcome::Unknown).unwrap();

    let on_disk = fs::read_to_string(journal.path()).unwrap();
    assert!(on_disk.contains(BASE) && on_disk.contains(NEW), "the journal must hold the plain passwords");

    assert_all_formats_masked("Journal", &journal);
    assert_all_formats_masked("DeviceKey", &key);
    assert_all_formats_masked("ChangeId", &id);
    assert_all_formats_masked("Outcome", &Outcome::Committed);
    let pending = journal.unfinished();
    assert_eq!(pending[0].candidates.len(), 2);
    assert_all_formats_masked("Pending", &pending);
    assert_all_formats_masked("ChangeStatus", &pending[0].changes);
    assert_all_formats_masked("Plan", &recover::plan(&pending[0], 4));

    let reports = [
        RecoveryOutcome::NothingToDo,
        RecoveryOutcome::AlreadyBaseline,
        RecoveryOutcome::Restored { accepted: 0 },
        RecoveryOutcome::NotFound { beyond_budget: 1 },
        RecoveryOutcome::Locked,
        RecoveryOutcome::Unreachable { reason: format!("login refused for {NEW}") },
        RecoveryOutcome::RestoreFailed { accepted: 0, reason: format!("device said {BASE} is wrong") },
    ];
    for outcome in reports {
        let report = RecoveryReport { key: key.clone(), probes: 1, outcome };
        // Reasons built from caller text are redacted only when `run` makes them; check that path below.
        if matches!(report.outcome, RecoveryOutcome::Unreachable { .. } | RecoveryOutcome::RestoreFailed { .. }) {
            continue;
        }
        assert_all_formats_masked("RecoveryReport", &report);
        assert_masked("RecoveryReport Display", &report.to_string());
    }

    // A probe or restore closure that carelessly puts a password in its error has it masked.
    let probe = |_: Secret| std::future::ready(ProbeResult::Unreachable(format!("login as admin/{NEW} timed out")));
    let restore = |_: Secret, _: Secret| async { Ok::<(), String>(()) };
    let report = recover::run(&journal, &pending[0], probe, restore, 4).await.unwrap();
    assert!(matches!(report.outcome, RecoveryOutcome::Unreachable { .. }));
    assert_all_formats_masked("RecoveryReport", &report);
    assert_masked("RecoveryReport Display", &report.to_string());

    let probe =
        |c: Secret| std::future::ready(if c.expose() == NEW { ProbeResult::Accepted } else { ProbeResult::Refused });
    let restore = |cur: Secret, base: Secret| async move {
        Err(format!("modifyPassword {} -> {} refused", cur.expose(), base.expose()))
    };
    let report = recover::run(&journal, &pending[0], probe, restore, 4).await.unwrap();
    assert!(matches!(report.outcome, RecoveryOutcome::RestoreFailed { .. }), "{report:?}");
    assert_all_formats_masked("RecoveryReport", &report);
    assert_masked("RecoveryReport Display", &report.to_string());
    assert_all_formats_masked("Journal", &journal);

    // Errors: a corrupt line and an insecure file.
    let path = journal.path().to_owned();
    drop(journal);
    let mut bytes = fs::read(&path).unwrap();
    let at = bytes.windows(BASE.len()).position(|w| w == BASE.as_bytes()).unwrap();
    bytes[at] = b'q';
    fs::write(&path, &bytes).unwrap();
    let err = Journal::open(tmp.path()).unwrap_err();
    assert!(matches!(err, LedgerError::Corrupt { .. }), "{err:?}");
    assert_all_formats_masked("LedgerError", &err);
    assert_masked("LedgerError Display", &err.to_string());
    assert_masked("LedgerError Display", &err.to_string().replace('q', "Q"));

    fs::set_permissions(&path, fs::Permissions::from_mode(0o604)).unwrap();
    let err = Journal::open(tmp.path()).unwrap_err();
    assert_all_formats_masked("LedgerError", &err);
    assert_masked("LedgerError Display", &err.to_string());
}

#[test]
fn only_the_journal_file_holds_passwords_on_disk() {
    let tmp = private_tempdir().unwrap();
    let key = DeviceKey::new("SN-4B03A1", "admin");
    let other = DeviceKey::new("SN-99", "admin");
    let journal = Journal::open(tmp.path()).unwrap();
    journal.intend(&key, &Secret::new(BASE), &Secret::new(NEW)).unwrap();
    journal.intend(&other, &Secret::new(BASE), &Secret::new(NEW)).unwrap();
    journal.restored(&other).unwrap();
    journal.compact().unwrap();
    for entry in fs::read_dir(tmp.path()).unwrap() {
        let entry = entry.unwrap();
        let text = String::from_utf8_lossy(&fs::read(entry.path()).unwrap()).into_owned();
        if entry.file_name() != JOURNAL_FILE {
            assert_masked(&entry.path().display().to_string(), &text);
        }
    }
}
