//! The journal has one writer at a time: an exclusive `flock` on `journal.lock`, held for as long as
//! the `Journal` is open. The kernel drops it when the process dies, so a crash leaves no stale lock.
//!
//! One writer keeps sequence numbers and the in-memory view exact without re-reading the file before
//! each append, and it stops `resetlab recover` from probing a device while a running certification
//! is changing its password. Share one `Journal` (it is `Sync`) between the scenarios of a run.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use rustix::fs::{FlockOperation, flock};

use crate::LedgerError;
use crate::fsx::{io_error, owner_only};

/// The lock file's name inside the journal directory.
pub const LOCK_FILE: &str = "journal.lock";

/// Held while a `Journal` is open; dropping it closes the file and so releases the lock.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

/// Take the journal lock in `dir` without waiting; `Busy` names the pid holding it, if known.
pub(crate) fn acquire(dir: &Path) -> Result<DirLock, LedgerError> {
    let path = dir.join(LOCK_FILE);
    let mut file = owner_only()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_error("open the journal lock", &path))?;
    match flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(LedgerError::Busy { dir: dir.to_owned(), holder: text.trim().parse().ok() });
        }
        Err(e) => return Err(io_error("lock", &path)(e.into())),
    }
    // The pid is only a hint for the `Busy` message; failing to write it is harmless.
    let _ = file.set_len(0).and_then(|()| writeln!(file, "{}", std::process::id()));
    Ok(DirLock { _file: file })
}
