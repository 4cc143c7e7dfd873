//! A write-ahead credential journal: every password change is recorded before it is made and
//! restored at teardown.
//!
//! Before the harness changes a recorder's password it calls [`Journal::intend`] (fsynced), after
//! checking the device it calls [`Journal::outcome`], and at teardown, once the baseline is back,
//! [`Journal::restored`]. After a crash, [`Journal::unfinished`] lists what may be wrong and
//! [`recover::run`] finds the password the device holds (within a lockout-safe budget) and puts the
//! baseline back. Nothing here talks to a device: probing and restoring are closures the caller
//! passes in.
//!
//! The journal is the only file that holds secrets on disk; every type here prints them masked.

mod error;
mod fsx;
mod journal;
mod key;
pub mod lock;
mod record;
pub mod recover;
mod state;

pub use error::LedgerError;
pub use journal::{JOURNAL_FILE, Journal, default_dir};
pub use key::{ChangeId, DeviceKey, Outcome};
pub use state::{ChangeStatus, Pending};
