//! A write-ahead credential journal: every password change is recorded before it is made and
//! restored at teardown, and every account the harness adds is recorded before it is added and
//! removed at teardown.
//!
//! Before the harness changes a recorder's password it calls [`Journal::intend`] (fsynced), after
//! checking the device it calls [`Journal::outcome`], and at teardown, once the baseline is back,
//! [`Journal::restored`]. After a crash, [`Journal::unfinished`] lists what may be wrong and
//! [`recover::run`] finds the password the device holds (within a lockout-safe budget) and puts the
//! baseline back. Nothing here talks to a device: probing and restoring are closures the caller
//! passes in.
//!
//! The journal is the only file that holds secrets on disk; every type here prints them masked.
//!
//! ```
//! use resetlab_ledger::{DeviceKey, Journal, Outcome};
//! use resetlab_wire::Secret;
//!
//! # let tmp = tempfile::tempdir().unwrap();
//! // A directory it creates is 0700; an existing one open to others (a 0755 tempdir) is refused.
//! let journal = Journal::open(&tmp.path().join("state"))?; // or &resetlab_ledger::default_dir()?
//! let key = DeviceKey::new("4B03A1PAZ", "admin");
//! let (found, new) = (Secret::new("admin1"), Secret::new("abc123"));
//! journal.baseline(&key, &found)?;
//! let change = journal.intend(&key, &found, &new)?; // fsynced before the device hears of it
//! // ... send modifyPassword, then log in with each password to see which one the device holds ...
//! journal.outcome(change, Outcome::Committed)?;
//! // Teardown puts the baseline back, journaled like any other change:
//! let back = journal.intend(&key, &new, &found)?;
//! journal.outcome(back, Outcome::Committed)?;
//! journal.restored(&key)?;
//! assert!(journal.unfinished().is_empty());
//! # Ok::<(), resetlab_ledger::LedgerError>(())
//! ```

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
pub use state::{AddedAccount, ChangeStatus, Pending};
