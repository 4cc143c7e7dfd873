//! Step definitions: one small function per sentence, no protocol code. Each module covers one part
//! of the article.
//!
//! What a failed step does to its scenario — the one place these rules live.
//!
//! A Then-step that checks one thing the later steps do not stand on records its failure and lets
//! the scenario go on ([`crate::world::LabWorld::check_failed`]), so one defect is one failure and
//! every other requirement of the scenario still gets its verdict:
//!
//! | goes on after a failed check | why nothing after it depends on it |
//! |---|---|
//! | the new / current / factory default / right password logs in on every local interface | each interface is its own check |
//! | the old / refused password (or its first N characters) logs in on none of them; a login computed from the leaked hash is refused | the same |
//! | the recorder refuses the change | the harness believes what the device did either way |
//! | the new / old password logs in remotely … | each remote client is its own check |
//! | the app shows that the password was not changed / is not offered / the recorder is offline | what the recorder did is checked next, on its own |
//! | no password change reached the recorder | counted at the relay, independent of the rest |
//! | the saved device entry still connects; re-adding works with the new password only | the last checks of their scenario |
//! | the session opened before the change is no longer accepted; that login is refused | the same |
//! | the administrator is locked out of every interface; the right password is still refused shortly before the lock ends; it logs in again after | the lock is cleared as the firmware says either way (teardown, if it still holds) |
//! | the console shows neither password; if the recorder had promised the change, it is the new one | the same |
//!
//! Every other failure stops its scenario ([`crate::blame::raise`]): a Given or When that did not
//! reach its state (the change was refused, so there is no new password to test; the app has no
//! Device Manager, so nothing can be tapped; the device stopped answering), and "the app shows that
//! the password was changed" (no change: the new-password checks would test nothing). The
//! requirements that stopped scenario was about are then *blocked* — or *partly established* where
//! another scenario established them — and the report names the step they waited for.

pub mod app;
pub mod local;
pub mod rig;
pub mod standards;

pub use crate::password::generate as generate_password;
