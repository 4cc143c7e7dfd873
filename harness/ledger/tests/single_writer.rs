//! One writer at a time: a second handle, in this process or another, is refused while the first is
//! open; handles that take turns leave a journal with every record intact; a killed holder frees
//! the lock and leaves its unfinished change for recovery.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use resetlab_ledger::{DeviceKey, Journal, LedgerError, Outcome};
use resetlab_wire::Secret;

/// A temporary state directory as resetlab wants one: 0700 (tempfile's default follows the umask,
/// usually 0755, which the journal refuses).
fn private_tempdir() -> std::io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new().permissions(std::fs::Permissions::from_mode(0o700)).tempdir()
}

const CHILD_DIR_ENV: &str = "RESETLAB_LEDGER_TEST_CHILD_DIR";

#[test]
fn a_second_handle_is_refused_while_the_first_is_open() {
    let tmp = private_tempdir().unwrap();
    let first = Journal::open(tmp.path()).unwrap();
    let dir = tmp.path().to_owned();
    let second = std::thread::spawn(move || Journal::open(&dir)).join().unwrap();
    match second {
        Err(LedgerError::Busy { holder, .. }) => assert_eq!(holder, Some(std::process::id())),
        other => panic!("expected Busy, got {other:?}"),
    }
    let msg = Journal::open(tmp.path()).unwrap_err().to_string();
    assert!(msg.contains("in use") && msg.contains("--state-dir"), "{msg}");
    drop(first);
    // Another test in this binary spawns a child process: between its fork and exec the child
    // briefly shares our open lock file, so the lock may outlive the drop by that moment.
    drop(open_when_free(tmp.path(), Instant::now() + Duration::from_secs(10)));
}

/// Open the journal, retrying while another handle holds it, until `deadline`.
fn open_when_free(dir: &std::path::Path, deadline: Instant) -> Journal {
    loop {
        match Journal::open(dir) {
            Ok(journal) => return journal,
            Err(LedgerError::Busy { .. }) if Instant::now() < deadline => std::thread::yield_now(),
            Err(e) => panic!("opening the journal: {e}"),
        }
    }
}

#[test]
fn threads_taking_turns_leave_every_record_intact() {
    const THREADS: usize = 4;
    const CHANGES: usize = 20;
    let tmp = private_tempdir().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let dir = tmp.path().to_owned();
            std::thread::spawn(move || {
                let key = DeviceKey::new(format!("SN-{t}"), "admin");
                for n in 0..CHANGES {
                    let journal = open_when_free(&dir, deadline);
                    let old = Secret::new(format!("t{t}n{n:03}"));
                    let new = Secret::new(format!("t{t}n{:03}", n + 1));
                    let id = journal.intend(&key, &old, &new).unwrap();
                    journal.outcome(id, Outcome::Committed).unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let journal = Journal::open(tmp.path()).unwrap();
    assert_eq!(journal.torn_records(), 0);
    let pending = journal.unfinished();
    assert_eq!(pending.len(), THREADS);
    for (t, p) in pending.iter().enumerate() {
        assert_eq!(p.key.identity, format!("SN-{t}"));
        assert_eq!(p.changes.len(), CHANGES);
        assert_eq!(p.baseline.expose(), format!("t{t}n000"));
        assert_eq!(p.candidates[0].expose(), format!("t{t}n{CHANGES:03}"));
        assert!(p.changes.iter().all(|c| c.outcome == Some(Outcome::Committed)));
    }
    let text = std::fs::read_to_string(journal.path()).unwrap();
    assert_eq!(text.lines().count(), THREADS * CHANGES * 2);
}

/// Run by `another_process_holding_the_journal_excludes_us_until_it_dies`, in a child process.
#[test]
#[ignore = "run as a child process by another test"]
fn child_process_holds_the_journal() {
    let Ok(dir) = std::env::var(CHILD_DIR_ENV) else {
        return;
    };
    let journal = Journal::open(std::path::Path::new(&dir)).unwrap();
    let key = DeviceKey::new("SN-CHILD", "admin");
    journal.baseline(&key, &Secret::new("chld01")).unwrap();
    journal.intend(&key, &Secret::new("chld01"), &Secret::new("chld02")).unwrap();
    println!("HOLDING");
    // Hold the journal until the parent kills us: a harness that dies mid-change.
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    panic!("the parent was meant to kill this process");
}

#[test]
fn another_process_holding_the_journal_excludes_us_until_it_dies() {
    let tmp = private_tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_process_holds_the_journal", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR_ENV, tmp.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let holding = lines.any(|l| l.map(|l| l.contains("HOLDING")).unwrap_or(false));
    assert!(holding, "the child never said it holds the journal");

    match Journal::open(tmp.path()) {
        Err(LedgerError::Busy { holder, .. }) => assert_eq!(holder, Some(child.id())),
        other => panic!("expected Busy while the child holds the journal, got {other:?}"),
    }

    child.kill().unwrap();
    child.wait().unwrap();
    let journal = Journal::open(tmp.path()).expect("the lock dies with its holder");
    let pending = journal.unfinished();
    assert_eq!(pending.len(), 1);
    let plain: Vec<&str> = pending[0].candidates.iter().map(|s| s.expose()).collect();
    assert_eq!(plain, ["chld02", "chld01"]);
}
