//! The names the journal files things under: a device account, a change, and how a change ended.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One account on one recorder: what a baseline and its changes belong to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DeviceKey {
    /// How the device is recognised again after a crash: its serial number, or `host:port`.
    pub identity: String,
    /// The account whose password changes, e.g. `admin`.
    pub account: String,
}

impl DeviceKey {
    /// The key for `account` on the device known as `identity`.
    pub fn new(identity: impl Into<String>, account: impl Into<String>) -> Self {
        DeviceKey { identity: identity.into(), account: account.into() }
    }
}

impl fmt::Display for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.account, self.identity)
    }
}

/// A password change recorded by [`crate::Journal::intend`]; its outcome is recorded under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChangeId(pub(crate) u64);

impl ChangeId {
    /// The journal sequence number of the change's `intended` record.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ChangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "change {}", self.0)
    }
}

/// What the device was found to hold after a change was attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The device now accepts the new password.
    Committed,
    /// The device kept the old password.
    Reverted,
    /// The harness could not tell (the device stopped answering, a power cut mid-change…).
    Unknown,
}
