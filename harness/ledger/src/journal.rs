//! `Journal`: the append-only file of password changes, written and fsynced before each change is
//! sent to a device, so that a crash never leaves a bench with a password nobody knows.
//!
//! This is the only file resetlab writes secrets to. It is created 0600 in a 0700 directory, never
//! widened, and refused if someone else could read it. Each line carries a sequence number and a
//! CRC32; a torn last line (a crash mid-append) is cut off with a warning, anything damaged before
//! it is an error naming the line.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use resetlab_wire::Secret;

use crate::LedgerError;
use crate::fsx::{check_private_file, ensure_private_dir, io_error, owner_only, sync_dir};
use crate::key::{ChangeId, DeviceKey, Outcome};
use crate::lock::{self, DirLock};
use crate::record::{self, Event, Record};
use crate::state::{AddedAccount, Pending, State};

/// The journal's file name inside its directory.
pub const JOURNAL_FILE: &str = "credentials.jsonl";
const COMPACT_TMP: &str = ".credentials.jsonl.tmp";

/// Where the journal lives unless `--state-dir` says otherwise: `<user data dir>/resetlab`.
pub fn default_dir() -> Result<PathBuf, LedgerError> {
    dirs::data_dir().map(|d| d.join("resetlab")).ok_or(LedgerError::NoDataDir)
}

/// The credential journal of one state directory, held open by one writer (see [`crate::lock`]).
pub struct Journal {
    dir: PathBuf,
    path: PathBuf,
    torn: usize,
    inner: Mutex<Inner>,
}

struct Inner {
    file: File,
    /// Bytes of whole records in the file: where a failed append is cut back to.
    len: u64,
    next_seq: u64,
    state: State,
    _lock: DirLock,
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("Journal")
            .field("path", &self.path)
            .field("unfinished", &inner.state.unfinished().len())
            .field("added_accounts", &inner.state.added_accounts().len())
            .field("next_seq", &inner.next_seq)
            .field("torn_records", &self.torn)
            .finish()
    }
}

impl Journal {
    /// Open (creating if needed) the journal in `dir`, taking its writer lock.
    pub fn open(dir: &Path) -> Result<Journal, LedgerError> {
        ensure_private_dir(dir)?;
        let lock = lock::acquire(dir)?;
        let path = dir.join(JOURNAL_FILE);
        let (mut file, created) = open_journal_file(&path)?;
        check_private_file(&path, &file)?;
        if created {
            sync_dir(dir)?;
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_error("read", &path))?;
        let loaded = load(&path, &bytes)?;
        if loaded.torn > 0 {
            tracing::warn!(
                journal = %path.display(),
                bytes = bytes.len() as u64 - loaded.good_len,
                "ignored a torn last record (the harness stopped mid-append); cutting it off"
            );
            // Appending after the torn bytes would turn them into corruption in the middle.
            file.set_len(loaded.good_len)
                .and_then(|()| file.sync_all())
                .map_err(io_error("cut the torn last record off", &path))?;
        }
        Ok(Journal {
            dir: dir.to_owned(),
            path,
            torn: loaded.torn,
            inner: Mutex::new(Inner {
                file,
                len: loaded.good_len,
                next_seq: loaded.last_seq + 1,
                state: loaded.state,
                _lock: lock,
            }),
        })
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory holding the journal and its lock.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many torn records were ignored (and cut off) when the journal was opened: 0 or 1.
    pub fn torn_records(&self) -> usize {
        self.torn
    }

    /// Record the password `key` had when this run found it, unless something for `key` is already
    /// unfinished: then the journal already knows the true baseline and keeps it.
    pub fn baseline(&self, key: &DeviceKey, password: &Secret) -> Result<(), LedgerError> {
        let mut inner = self.lock();
        if inner.state.is_unfinished(key) {
            return Ok(());
        }
        self.append(&mut inner, Event::Baseline { device: key.clone(), password: password.clone() })?;
        Ok(())
    }

    /// Record, durably, that `key`'s password is about to change from `old` to `new`. Call it before
    /// sending the change; record how it ended with [`Journal::outcome`].
    pub fn intend(&self, key: &DeviceKey, old: &Secret, new: &Secret) -> Result<ChangeId, LedgerError> {
        let mut inner = self.lock();
        let event = Event::Intended { device: key.clone(), old: old.clone(), new: new.clone() };
        self.append(&mut inner, event).map(ChangeId)
    }

    /// Record what the device was found to hold after change `id`.
    pub fn outcome(&self, id: ChangeId, outcome: Outcome) -> Result<(), LedgerError> {
        let mut inner = self.lock();
        if inner.state.owner_of(id.0).is_none() {
            return Err(LedgerError::UnknownChange { path: self.path.clone(), change: id.0 });
        }
        self.append(&mut inner, Event::Outcome { change: id.0, outcome })?;
        Ok(())
    }

    /// Record that `key` holds its baseline password again: everything for it is finished. When
    /// nothing is left unfinished the file is emptied, so passwords stay on disk no longer than needed.
    pub fn restored(&self, key: &DeviceKey) -> Result<(), LedgerError> {
        let mut inner = self.lock();
        if !inner.state.is_unfinished(key) {
            return Ok(());
        }
        self.append(&mut inner, Event::Restored { device: key.clone() })?;
        if inner.state.is_empty() {
            self.compact_locked(&mut inner)?;
        }
        Ok(())
    }

    /// Record, durably, that account `key` is about to be added to its device. Call it before
    /// sending the request: a crash then leaves the account for recovery to delete, signed in as
    /// `by` with `by_password` (the administrator's baseline, which password recovery puts back).
    pub fn account_adding(&self, key: &DeviceKey, by: &str, by_password: &Secret) -> Result<(), LedgerError> {
        let mut inner = self.lock();
        let event = Event::AccountAdded { device: key.clone(), by: by.to_owned(), by_password: by_password.clone() };
        self.append(&mut inner, event).map(drop)
    }

    /// Record that the added account `key` is gone from its device (deleted, or never created).
    /// When nothing is left unfinished the file is emptied.
    pub fn account_removed(&self, key: &DeviceKey) -> Result<(), LedgerError> {
        let mut inner = self.lock();
        if !inner.state.is_added(key) {
            return Ok(());
        }
        self.append(&mut inner, Event::AccountRemoved { device: key.clone() })?;
        if inner.state.is_empty() {
            self.compact_locked(&mut inner)?;
        }
        Ok(())
    }

    /// Every account added to a device and not yet removed.
    pub fn added_accounts(&self) -> Vec<AddedAccount> {
        self.lock().state.added_accounts()
    }

    /// Whether nothing at all is left to recover: no password to restore, no account to remove.
    pub fn is_clean(&self) -> bool {
        self.lock().state.is_empty()
    }

    /// Every device account whose baseline has not been restored, with the passwords it may hold.
    pub fn unfinished(&self) -> Vec<Pending> {
        self.lock().state.unfinished()
    }

    /// The unfinished entry for `key`, if any.
    pub fn pending(&self, key: &DeviceKey) -> Option<Pending> {
        self.lock().state.pending(key)
    }

    /// Rewrite the journal with only unfinished entries (atomic rename, fsynced, 0600). Cheap when
    /// nothing is finished: it then does nothing and returns `false`.
    pub fn compact(&self) -> Result<bool, LedgerError> {
        let mut inner = self.lock();
        self.compact_locked(&mut inner)
    }

    fn compact_locked(&self, inner: &mut Inner) -> Result<bool, LedgerError> {
        if inner.state.dead == 0 {
            return Ok(false);
        }
        let live: String = inner.state.live_records().into_iter().map(record::encode).collect();
        if live.is_empty() {
            // Emptying in place is atomic enough: a crash leaves all-finished records or nothing.
            inner
                .file
                .set_len(0)
                .and_then(|()| inner.file.sync_all())
                .map_err(io_error("empty the finished journal", &self.path))?;
        } else {
            let tmp = self.dir.join(COMPACT_TMP);
            match std::fs::remove_file(&tmp) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(io_error("remove a stale compaction file", &tmp)(e));
                }
                _ => {}
            }
            let mut out = owner_only()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(io_error("create the compacted journal", &tmp))?;
            out.write_all(live.as_bytes())
                .and_then(|()| out.sync_all())
                .map_err(io_error("write the compacted journal", &tmp))?;
            drop(out);
            std::fs::rename(&tmp, &self.path).map_err(io_error("replace the journal with", &tmp))?;
            sync_dir(&self.dir)?;
            let (file, _) = open_journal_file(&self.path)?;
            check_private_file(&self.path, &file)?;
            inner.file = file;
        }
        inner.len = live.len() as u64;
        inner.state.dead = 0;
        Ok(true)
    }

    /// Write one record and fsync it; on failure cut any partial line back off.
    fn append(&self, inner: &mut Inner, event: Event) -> Result<u64, LedgerError> {
        let seq = inner.next_seq;
        let record = Record { seq, at_ms: now_ms(), event };
        let line = record::encode(&record);
        let written = inner.file.write_all(line.as_bytes()).and_then(|()| inner.file.sync_data());
        if let Err(e) = written {
            let _ = inner.file.set_len(inner.len);
            return Err(io_error("append to", &self.path)(e));
        }
        inner.len += line.len() as u64;
        inner.next_seq += 1;
        if let Err(reason) = inner.state.apply(record) {
            // The public methods check what they write, so this is a bug in this crate.
            tracing::error!(journal = %self.path.display(), seq, %reason, "journal record did not apply");
        }
        Ok(seq)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the file half-written (append cuts it back),
        // so the state behind a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn open_journal_file(path: &Path) -> Result<(File, bool), LedgerError> {
    let mut opts = owner_only();
    opts.read(true).append(true);
    match opts.clone().create_new(true).open(path) {
        Ok(file) => Ok((file, true)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            opts.open(path).map(|f| (f, false)).map_err(io_error("open", path))
        }
        Err(e) => Err(io_error("create", path)(e)),
    }
}

struct Loaded {
    state: State,
    last_seq: u64,
    /// Length of the whole, valid records at the start of the file.
    good_len: u64,
    torn: usize,
}

/// Replay the journal's bytes. Only the last line may be damaged (a torn append); it is then left
/// out of `good_len`.
fn load(path: &Path, bytes: &[u8]) -> Result<Loaded, LedgerError> {
    let mut state = State::default();
    let (mut pos, mut line_no, mut last_seq, mut torn) = (0usize, 0usize, 0u64, 0usize);
    while pos < bytes.len() {
        line_no += 1;
        let (line, end, terminated) = match bytes[pos..].iter().position(|&b| b == b'\n') {
            Some(i) => (&bytes[pos..pos + i], pos + i + 1, true),
            None => (&bytes[pos..], bytes.len(), false),
        };
        let decoded = if terminated {
            record::decode(line).and_then(|rec| {
                if rec.seq > last_seq {
                    Ok(rec)
                } else {
                    Err(format!("sequence number {} does not follow {last_seq}", rec.seq))
                }
            })
        } else {
            Err("the line has no end".to_owned())
        };
        match decoded {
            Ok(rec) => {
                last_seq = rec.seq;
                state.apply(rec).map_err(|reason| LedgerError::Corrupt {
                    path: path.to_owned(),
                    line: line_no,
                    reason,
                })?;
                pos = end;
            }
            Err(reason) if end == bytes.len() => {
                tracing::warn!(journal = %path.display(), line = line_no, %reason, "torn last journal record ignored");
                torn = 1;
                break;
            }
            Err(reason) => {
                return Err(LedgerError::Corrupt { path: path.to_owned(), line: line_no, reason });
            }
        }
    }
    Ok(Loaded { state, last_seq, good_len: pos as u64, torn })
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
