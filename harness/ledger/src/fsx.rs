//! Small filesystem helpers the journal and its lock share: owner-only files that never follow a
//! symlink, checks of who may read them, and directory fsync.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use crate::LedgerError;

/// `OpenOptions` for an owner-only file: created 0600 (umask can only narrow it), symlinks refused.
pub(crate) fn owner_only() -> OpenOptions {
    let mut opts = OpenOptions::new();
    opts.mode(0o600).custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    opts
}

/// What the file at `path` is to the journal, for messages.
pub(crate) fn role(path: &Path) -> &'static str {
    match path.file_name().and_then(|n| n.to_str()) {
        Some(crate::lock::LOCK_FILE) => "the journal lock file",
        Some(crate::journal::JOURNAL_FILE) => "the credential journal",
        _ => "a file of the credential journal",
    }
}

/// An `Io` error for `action` on `path`, with a symlink (ELOOP under O_NOFOLLOW) named as such.
pub(crate) fn io_error<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> LedgerError + 'a {
    move |source| {
        if source.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
            LedgerError::NotAFile { path: path.to_owned(), expected: role(path) }
        } else {
            LedgerError::Io { action, path: path.to_owned(), source }
        }
    }
}

/// Create `dir` (and its parents) as 0700, then refuse it if it is a symlink, not ours, or open to
/// group or others (who could list it, or swap the journal).
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<(), LedgerError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_error("create the journal directory", dir))?;
    // Not `metadata`: it follows the link and would judge the directory it points to.
    let meta = fs::symlink_metadata(dir).map_err(io_error("inspect the journal directory", dir))?;
    if meta.file_type().is_symlink() {
        return Err(LedgerError::SymlinkedDir { path: dir.to_owned() });
    }
    check_owner(dir, &meta)?;
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(LedgerError::InsecureDir { path: dir.to_owned(), mode });
    }
    Ok(())
}

/// Refuse a journal file that is not ours, not a regular file, or open to group/others.
pub(crate) fn check_private_file(path: &Path, file: &File) -> Result<(), LedgerError> {
    let meta = file.metadata().map_err(io_error("inspect", path))?;
    if !meta.is_file() {
        return Err(LedgerError::NotAFile { path: path.to_owned(), expected: role(path) });
    }
    check_owner(path, &meta)?;
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(LedgerError::InsecureFile { path: path.to_owned(), mode });
    }
    Ok(())
}

fn check_owner(path: &Path, meta: &Metadata) -> Result<(), LedgerError> {
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(LedgerError::NotOwned { path: path.to_owned(), owner: meta.uid(), me });
    }
    Ok(())
}

/// Make a file's creation, rename or removal in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), LedgerError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_error("fsync the journal directory", dir))
}
