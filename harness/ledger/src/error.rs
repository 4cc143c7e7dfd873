//! `LedgerError`: what went wrong with the journal, naming the file and what was expected.
//!
//! No variant carries a password or a fragment of a journal line: the journal holds secrets, so a
//! corrupt line is described by its number and the kind of damage, never by its content.

use std::io;
use std::path::PathBuf;

/// Everything the credential journal can fail with.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// A filesystem operation on the journal, its directory or its lock failed.
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The journal file can be read or written by group or others.
    #[error(
        "journal {path} has mode {mode:03o} but holds device passwords; expected 600 (owner only). \
         Fix it with `chmod 600 {path}` and run again"
    )]
    InsecureFile { path: PathBuf, mode: u32 },

    /// The journal directory is open to group or others: they could list it, or swap the journal.
    #[error(
        "journal directory {path} has mode {mode:03o}; expected no access for group/others (700). \
         Fix it with `chmod 700 {path}` or pass another --state-dir"
    )]
    InsecureDir { path: PathBuf, mode: u32 },

    /// The journal directory is a symlink: whoever can change the link chooses where passwords go.
    #[error(
        "journal directory {path} is a symlink; expected a real directory. \
         Pass the directory it points to as --state-dir, if it is yours"
    )]
    SymlinkedDir { path: PathBuf },

    /// The journal (or its directory) belongs to another user.
    #[error("{path} belongs to uid {owner}, not to this user (uid {me}); expected a journal of our own")]
    NotOwned { path: PathBuf, owner: u32, me: u32 },

    /// A journal file (the journal, its lock) exists but is not a regular file, or is a symlink,
    /// which is refused.
    #[error("{path} is not a regular file; expected {expected} (symlinks are refused)")]
    NotAFile {
        path: PathBuf,
        /// What the path should have been: "the credential journal", "the journal lock file".
        expected: &'static str,
    },

    /// Another journal handle (another resetlab process, or another handle in this one) holds the lock.
    #[error(
        "journal in {dir} is in use by another resetlab process{holder}; \
         wait for it to finish, or pass --state-dir to use another journal",
        holder = .holder.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
    )]
    Busy { dir: PathBuf, holder: Option<u32> },

    /// A record before the last one is damaged: later records cannot be trusted.
    #[error(
        "journal {path} line {line} is corrupt ({reason}); expected `{{\"crc\":\"<8 hex>\",\"rec\":{{...}}}}` \
         with a matching checksum. Only a torn last line is skipped; move the file aside and recover by hand \
         (it holds device passwords)"
    )]
    Corrupt { path: PathBuf, line: usize, reason: String },

    /// `outcome` named a change this journal has no unfinished record of (a harness bug).
    #[error("journal {path} has no unfinished change {change}; expected an id returned by `intend`")]
    UnknownChange { path: PathBuf, change: u64 },

    /// No per-user data directory is known (no HOME), so a default journal location cannot be chosen.
    #[error("no user data directory is known (is HOME set?); expected one for the journal, or pass --state-dir")]
    NoDataDir,
}
