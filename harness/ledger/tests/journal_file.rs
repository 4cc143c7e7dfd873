//! The journal file on disk: who may read it, what a crash mid-append leaves, what corruption says.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use resetlab_ledger::{DeviceKey, JOURNAL_FILE, Journal, LedgerError, Outcome};
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

fn write_journal(dir: &Path, bytes: &[u8]) {
    // 0700, as the journal creates its directory and insists on it.
    std::os::unix::fs::DirBuilderExt::mode(fs::DirBuilder::new().recursive(true), 0o700).create(dir).unwrap();
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(dir.join(JOURNAL_FILE))
        .unwrap();
    f.write_all(bytes).unwrap();
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn journal_file_is_0600_in_a_0700_directory() {
    let tmp = private_tempdir().unwrap();
    let dir = tmp.path().join("state").join("resetlab");
    let journal = Journal::open(&dir).unwrap();
    journal.baseline(&key(), &Secret::new("base01")).unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(journal.path()), 0o600);
    assert_eq!(journal.path(), dir.join(JOURNAL_FILE));
}

#[test]
fn a_journal_readable_by_others_is_refused_with_the_fix() {
    let tmp = private_tempdir().unwrap();
    drop(Journal::open(tmp.path()).unwrap());
    let path = tmp.path().join(JOURNAL_FILE);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let err = Journal::open(tmp.path()).unwrap_err();
    assert!(matches!(err, LedgerError::InsecureFile { mode: 0o644, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&format!("chmod 600 {}", path.display())), "{msg}");
    // Refused, not silently narrowed: the file is as the user left it.
    assert_eq!(mode(&path), 0o644);
}

#[test]
fn a_journal_readable_by_the_group_is_refused_too() {
    let tmp = private_tempdir().unwrap();
    write_journal(tmp.path(), b"");
    fs::set_permissions(tmp.path().join(JOURNAL_FILE), fs::Permissions::from_mode(0o640)).unwrap();
    assert!(matches!(Journal::open(tmp.path()), Err(LedgerError::InsecureFile { .. })));
}

#[test]
fn a_state_dir_writable_by_others_is_refused() {
    let tmp = private_tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let err = Journal::open(tmp.path()).unwrap_err();
    assert!(matches!(err, LedgerError::InsecureDir { .. }), "{err:?}");
    assert!(err.to_string().contains("chmod 700"));
}

#[test]
fn a_state_dir_readable_by_group_or_others_is_refused() {
    for m in [0o755, 0o750, 0o705] {
        let tmp = private_tempdir().unwrap();
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(m)).unwrap();
        let err = Journal::open(tmp.path()).unwrap_err();
        assert!(matches!(err, LedgerError::InsecureDir { mode, .. } if mode == m), "{m:03o}: {err:?}");
        assert!(err.to_string().contains("chmod 700"), "{err}");
        assert!(!tmp.path().join(JOURNAL_FILE).exists(), "nothing written");
    }
}

#[test]
fn a_symlinked_state_dir_is_refused_even_when_its_target_is_private() {
    let tmp = private_tempdir().unwrap();
    let real = tmp.path().join("real");
    fs::create_dir(&real).unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o700)).unwrap();
    let link = tmp.path().join("state");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let err = Journal::open(&link).unwrap_err();
    assert!(matches!(err, LedgerError::SymlinkedDir { .. }), "{err:?}");
    assert!(err.to_string().contains("symlink"), "{err}");
    assert!(!real.join(JOURNAL_FILE).exists(), "nothing written through the link");
    // The directory itself is fine.
    drop(Journal::open(&real).unwrap());
}

#[test]
fn a_symlinked_lock_file_is_named_as_the_lock_not_the_journal() {
    let tmp = private_tempdir().unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    fs::write(&elsewhere, b"").unwrap();
    let dir = tmp.path().join("state");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join(resetlab_ledger::lock::LOCK_FILE)).unwrap();
    let err = Journal::open(&dir).unwrap_err();
    assert!(matches!(err, LedgerError::NotAFile { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("journal lock file"), "{msg}");
    assert!(!msg.contains("credential journal"), "{msg}");
}

#[test]
fn a_symlinked_journal_is_refused() {
    let tmp = private_tempdir().unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    fs::write(&elsewhere, b"").unwrap();
    let dir = tmp.path().join("state");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join(JOURNAL_FILE)).unwrap();
    let err = Journal::open(&dir).unwrap_err();
    assert!(matches!(err, LedgerError::NotAFile { .. }), "{err:?}");
    assert!(err.to_string().contains("the credential journal"), "{err}");
}

#[test]
fn default_dir_is_resetlab_under_the_user_data_dir() {
    match resetlab_ledger::default_dir() {
        Ok(dir) => assert!(dir.ends_with("resetlab"), "{}", dir.display()),
        // Only without a home directory, and then the error points at --state-dir.
        Err(err) => {
            assert!(std::env::var_os("HOME").is_none_or(|h| h.is_empty()), "{err}");
            assert!(err.to_string().contains("--state-dir"));
        }
    }
}

/// A journal with a few records, and the file length before its last record.
fn journal_with_last_record(dir: &Path) -> (Vec<u8>, usize) {
    let journal = Journal::open(dir).unwrap();
    journal.baseline(&key(), &Secret::new("base01")).unwrap();
    let id = journal.intend(&key(), &Secret::new("base01"), &Secret::new("new002")).unwrap();
    journal.outcome(id, Outcome::Committed).unwrap();
    let before_last = fs::metadata(journal.path()).unwrap().len() as usize;
    journal.intend(&key(), &Secret::new("new002"), &Secret::new("new003")).unwrap();
    let bytes = fs::read(journal.path()).unwrap();
    (bytes, before_last)
}

#[test]
fn a_journal_cut_at_every_byte_of_its_last_record_still_loads() {
    let tmp = private_tempdir().unwrap();
    let (bytes, before_last) = journal_with_last_record(&tmp.path().join("original"));
    assert!(bytes.len() > before_last + 20);
    for cut in before_last..bytes.len() {
        let dir = tmp.path().join(format!("cut-{cut}"));
        write_journal(&dir, &bytes[..cut]);
        let journal = Journal::open(&dir).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        assert_eq!(journal.torn_records(), usize::from(cut > before_last), "cut at {cut}");
        let pending = journal.unfinished();
        assert_eq!(pending.len(), 1, "cut at {cut}");
        let plain: Vec<&str> = pending[0].candidates.iter().map(|s| s.expose()).collect();
        assert_eq!(plain, ["new002", "base01"], "cut at {cut}: the torn change is not there");
        // The torn bytes are cut off, so what is appended next is not corruption in the middle.
        assert_eq!(fs::metadata(journal.path()).unwrap().len() as usize, before_last);
        journal.intend(&key(), &Secret::new("new002"), &Secret::new("new004")).unwrap();
        drop(journal);
        let reopened = Journal::open(&dir).unwrap();
        assert_eq!(reopened.torn_records(), 0);
        assert_eq!(reopened.unfinished()[0].candidates[0].expose(), "new004");
        fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_bad_checksum_on_the_last_line_is_a_torn_record() {
    let tmp = private_tempdir().unwrap();
    let (mut bytes, before_last) = journal_with_last_record(&tmp.path().join("original"));
    let at = before_last + (bytes.len() - before_last) / 2;
    bytes[at] ^= 0x04;
    let dir = tmp.path().join("flipped");
    write_journal(&dir, &bytes);
    let journal = Journal::open(&dir).unwrap();
    assert_eq!(journal.torn_records(), 1);
    assert_eq!(journal.unfinished()[0].candidates[0].expose(), "new002");
}

#[test]
fn corruption_in_the_middle_is_an_error_naming_the_line() {
    let tmp = private_tempdir().unwrap();
    let (mut bytes, _) = journal_with_last_record(&tmp.path().join("original"));
    // Damage line 2 (the first intend): a byte inside its password.
    let line2 = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    let in_line2 = line2 + bytes[line2..].windows(6).position(|w| w == b"new002").unwrap();
    bytes[in_line2] = b'X';
    let dir = tmp.path().join("corrupt");
    write_journal(&dir, &bytes);
    let err = Journal::open(&dir).unwrap_err();
    assert!(matches!(err, LedgerError::Corrupt { line: 2, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("line 2") && msg.contains(&dir.join(JOURNAL_FILE).display().to_string()), "{msg}");
    assert!(msg.contains("checksum"), "{msg}");
    for secret in ["base01", "new002", "Xew002", "new003"] {
        assert!(!msg.contains(secret), "the error quotes a password: {msg}");
    }
}

#[test]
fn a_garbage_line_in_the_middle_is_an_error_naming_the_line() {
    let tmp = private_tempdir().unwrap();
    let (bytes, _) = journal_with_last_record(&tmp.path().join("original"));
    let mut lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    lines.insert(3, b"{\"hello\":1}\n");
    let dir = tmp.path().join("garbage");
    write_journal(&dir, &lines.concat());
    let err = Journal::open(&dir).unwrap_err();
    assert!(matches!(err, LedgerError::Corrupt { line: 4, .. }), "{err:?}");
}

#[test]
fn records_out_of_sequence_are_corruption() {
    let tmp = private_tempdir().unwrap();
    let (bytes, _) = journal_with_last_record(&tmp.path().join("original"));
    let mut lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    lines.swap(0, 1);
    let dir = tmp.path().join("swapped");
    write_journal(&dir, &lines.concat());
    let err = Journal::open(&dir).unwrap_err();
    assert!(matches!(err, LedgerError::Corrupt { line: 2, .. }), "{err:?}");
    assert!(err.to_string().contains("sequence number 1 does not follow 2"), "{err}");
}

#[test]
fn compaction_keeps_only_unfinished_entries_and_stays_0600() {
    let tmp = private_tempdir().unwrap();
    let journal = Journal::open(tmp.path()).unwrap();
    let other = DeviceKey::new("SN-OTHER", "admin");
    journal.baseline(&other, &Secret::new("oth001")).unwrap();
    journal.intend(&other, &Secret::new("oth001"), &Secret::new("oth002")).unwrap();
    journal.baseline(&key(), &Secret::new("base01")).unwrap();
    journal.intend(&key(), &Secret::new("base01"), &Secret::new("new002")).unwrap();
    assert!(!journal.compact().unwrap(), "nothing finished: compaction is a no-op");
    journal.restored(&other).unwrap();
    let before = fs::metadata(journal.path()).unwrap().len();
    assert!(journal.compact().unwrap());
    let after = fs::read_to_string(journal.path()).unwrap();
    assert!((after.len() as u64) < before);
    assert!(!after.contains("oth00"), "finished entries are gone: {}", after.len());
    assert_eq!(after.lines().count(), 2);
    assert_eq!(mode(journal.path()), 0o600);
    assert!(!journal.compact().unwrap(), "a second compaction has nothing to do");
    // Appends go to the new file, and it reopens with the same view.
    journal.intend(&key(), &Secret::new("new002"), &Secret::new("new003")).unwrap();
    drop(journal);
    let reopened = Journal::open(tmp.path()).unwrap();
    let pending = reopened.unfinished();
    assert_eq!(pending.len(), 1);
    let plain: Vec<&str> = pending[0].candidates.iter().map(|s| s.expose()).collect();
    assert_eq!(plain, ["new003", "new002", "base01"]);
    let names: Vec<_> = fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 2, "only the journal and its lock remain: {names:?}");
}

#[test]
fn restoring_the_last_unfinished_account_empties_the_file() {
    let tmp = private_tempdir().unwrap();
    let journal = Journal::open(tmp.path()).unwrap();
    journal.baseline(&key(), &Secret::new("base01")).unwrap();
    let id = journal.intend(&key(), &Secret::new("base01"), &Secret::new("new002")).unwrap();
    journal.outcome(id, Outcome::Committed).unwrap();
    journal.restored(&key()).unwrap();
    assert!(journal.unfinished().is_empty());
    assert_eq!(fs::metadata(journal.path()).unwrap().len(), 0, "no password stays on disk");
    // Sequence numbers still climb after the file was emptied.
    journal.baseline(&key(), &Secret::new("base01")).unwrap();
    drop(journal);
    assert_eq!(Journal::open(tmp.path()).unwrap().unfinished().len(), 1);
}

#[test]
fn baseline_is_written_once_while_the_account_is_unfinished() {
    let tmp = private_tempdir().unwrap();
    let journal = Journal::open(tmp.path()).unwrap();
    journal.baseline(&key(), &Secret::new("base01")).unwrap();
    journal.intend(&key(), &Secret::new("base01"), &Secret::new("new002")).unwrap();
    let len = fs::metadata(journal.path()).unwrap().len();
    // A later run finding the device at new002 must not take that for the baseline.
    journal.baseline(&key(), &Secret::new("new002")).unwrap();
    assert_eq!(fs::metadata(journal.path()).unwrap().len(), len);
    assert_eq!(journal.unfinished()[0].baseline.expose(), "base01");
}

#[test]
fn an_outcome_for_an_unknown_change_is_an_error() {
    let tmp = private_tempdir().unwrap();
    let journal = Journal::open(tmp.path()).unwrap();
    let id = journal.intend(&key(), &Secret::new("base01"), &Secret::new("new002")).unwrap();
    journal.restored(&key()).unwrap();
    let err = journal.outcome(id, Outcome::Committed).unwrap_err();
    assert!(matches!(err, LedgerError::UnknownChange { .. }), "{err:?}");
}

#[test]
fn an_added_account_survives_a_reopen_and_keeps_the_file_until_it_is_removed() {
    let tmp = private_tempdir().unwrap();
    let added = DeviceKey::new("SN-4B03A1", "qa4711");
    {
        let journal = Journal::open(tmp.path()).unwrap();
        journal.baseline(&key(), &Secret::new("base01")).unwrap();
        journal.account_adding(&added, "admin", &Secret::new("base01")).unwrap();
        // The administrator's password is back: the account is still to be removed.
        journal.restored(&key()).unwrap();
        assert!(!journal.is_clean());
    } // a crash here: the harness never deleted the account
    let journal = Journal::open(tmp.path()).unwrap();
    assert!(journal.unfinished().is_empty());
    let left = journal.added_accounts();
    assert_eq!(left.len(), 1);
    assert_eq!((&left[0].key, left[0].by.as_str()), (&added, "admin"));
    assert_eq!(left[0].by_password.expose(), "base01");
    // Compaction keeps the account's record and drops the finished password entry.
    assert!(journal.compact().unwrap());
    drop(journal);
    let journal = Journal::open(tmp.path()).unwrap();
    assert_eq!(journal.added_accounts().len(), 1);
    journal.account_removed(&added).unwrap();
    assert!(journal.is_clean());
    assert_eq!(fs::metadata(journal.path()).unwrap().len(), 0, "nothing left: the file is emptied");
    // Removing again is harmless and writes nothing.
    journal.account_removed(&added).unwrap();
    assert_eq!(fs::metadata(journal.path()).unwrap().len(), 0);
}

#[test]
fn an_added_account_written_by_this_version_reads_back() {
    // The on-disk form is a contract: a journal left by a crash is read by the next release.
    let lines = [
        r#"{"crc":"dc389a2c","rec":{"seq":1,"at_ms":1795604541040,"event":{"kind":"baseline","device":{"identity":"SN-4B03A1@127.0.0.1:80:554","account":"admin"},"password":"Base12"}}}"#,
        r#"{"crc":"1c057084","rec":{"seq":2,"at_ms":1795604541041,"event":{"kind":"account_added","device":{"identity":"SN-4B03A1@127.0.0.1:80:554","account":"qa4711"},"by":"admin","by_password":"Base12"}}}"#,
        r#"{"crc":"4e03f50b","rec":{"seq":3,"at_ms":1795604541050,"event":{"kind":"restored","device":{"identity":"SN-4B03A1@127.0.0.1:80:554","account":"admin"}}}}"#,
    ];
    let tmp = private_tempdir().unwrap();
    write_journal(tmp.path(), (lines.join("\n") + "\n").as_bytes());
    let journal = Journal::open(tmp.path()).unwrap();
    assert!(journal.unfinished().is_empty());
    let added = journal.added_accounts();
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].key, DeviceKey::new("SN-4B03A1@127.0.0.1:80:554", "qa4711"));
    assert_eq!((added[0].by.as_str(), added[0].by_password.expose()), ("admin", "Base12"));
}
