//! Issue 8 (bad input) for the journal: empty, zero-filled (what a power cut can leave after
//! delayed allocation), binary garbage, a 16 MiB line. Each loads (a torn tail cut off, records
//! before it kept) or is `LedgerError::Corrupt` naming the file and line — never a panic.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use resetlab_ledger::{DeviceKey, JOURNAL_FILE, Journal, LedgerError};
use resetlab_wire::Secret;

/// A temporary state directory as resetlab wants one: 0700 (tempfile's default follows the umask,
/// usually 0755, which the journal refuses).
fn private_tempdir() -> std::io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new().permissions(std::fs::Permissions::from_mode(0o700)).tempdir()
}

fn write_journal(dir: &Path, bytes: &[u8]) {
    // 0700, as the journal creates its directory and insists on it.
    std::os::unix::fs::DirBuilderExt::mode(fs::DirBuilder::new().recursive(true), 0o700).create(dir).unwrap();
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).unwrap();
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(dir.join(JOURNAL_FILE))
        .unwrap();
    f.write_all(bytes).unwrap();
}

fn key() -> DeviceKey {
    DeviceKey::new("SN-4B03A1", "admin")
}

/// A journal with one unfinished change, as bytes.
fn one_change(dir: &Path) -> Vec<u8> {
    let j = Journal::open(dir).unwrap();
    j.baseline(&key(), &Secret::new("000000")).unwrap();
    j.intend(&key(), &Secret::new("000000"), &Secret::new("abc123")).unwrap();
    let path = j.path().to_owned();
    drop(j);
    fs::read(path).unwrap()
}

#[test]
fn empty_journal_file_opens_with_nothing_unfinished() {
    let dir = private_tempdir().unwrap();
    let state = dir.path().join("state");
    write_journal(&state, b"");
    let j = Journal::open(&state).unwrap();
    assert!(j.unfinished().is_empty());
    assert_eq!(j.torn_records(), 0);
}

#[test]
fn zero_filled_tail_after_a_power_cut_is_a_torn_record_and_the_changes_before_it_are_kept() {
    let dir = private_tempdir().unwrap();
    let state = dir.path().join("state");
    let mut bytes = one_change(&state);
    bytes.extend(std::iter::repeat_n(0u8, 4096));
    write_journal(&state, &bytes);
    let j = Journal::open(&state).unwrap();
    assert_eq!(j.torn_records(), 1);
    assert!(j.pending(&key()).is_some(), "the unfinished change survives");
    drop(j);
    // Cut off on open: the file reopens clean.
    assert_eq!(Journal::open(&state).unwrap().torn_records(), 0);
}

#[test]
fn a_journal_that_is_only_zeros_opens_empty() {
    let dir = private_tempdir().unwrap();
    let state = dir.path().join("state");
    write_journal(&state, &[0u8; 8192]);
    let j = Journal::open(&state).unwrap();
    assert!(j.unfinished().is_empty());
}

#[test]
fn binary_garbage_before_good_records_is_corruption_naming_file_and_line() {
    let dir = private_tempdir().unwrap();
    let state = dir.path().join("state");
    let good = one_change(&state);
    let mut bytes = b"\x00\xff\xfe garbage \xc3\x28\n".to_vec();
    bytes.extend(good);
    write_journal(&state, &bytes);
    let err = Journal::open(&state).unwrap_err();
    assert!(matches!(err, LedgerError::Corrupt { line: 1, .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&state.join(JOURNAL_FILE).display().to_string()), "{text}");
    assert!(!text.contains("abc123") && !text.contains("000000"), "{text}");
}

#[test]
fn a_sixteen_mebibyte_line_is_refused_or_cut_quickly() {
    let dir = private_tempdir().unwrap();
    let state = dir.path().join("state");
    let mut bytes = vec![b'{'; 16 << 20];
    bytes.push(b'\n');
    bytes.extend_from_slice(b"{}\n");
    write_journal(&state, &bytes);
    let started = std::time::Instant::now();
    let err = Journal::open(&state).unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(matches!(err, LedgerError::Corrupt { line: 1, .. }), "{err:?}");
}
