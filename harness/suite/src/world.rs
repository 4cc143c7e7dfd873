//! The Cucumber World: everything one scenario holds — its leased device, the change it attempted,
//! the accounts it created — and nothing shared with other scenarios.

use std::sync::Arc;

use resetlab_device::{Credentials, DeviceError};
use resetlab_wire::Secret;

use crate::dut::Dut;
use crate::lab::Lease;
use crate::run::RunContext;
use crate::verdict::{fail, Blame};

/// A password change the scenario attempted, and what the device answered.
#[derive(Debug)]
pub struct ChangeAttempt {
    pub by: String,
    pub account: String,
    pub old: Secret,
    pub new: Secret,
    pub result: Result<(), DeviceError>,
}

#[derive(Debug, cucumber::World)]
#[world(init = Self::new)]
pub struct LabWorld {
    pub ctx: Arc<RunContext>,
    lease: Option<Lease>,
    pub secondary: Option<Credentials>,
    pub change: Option<ChangeAttempt>,
    /// A session opened earlier in the scenario.
    pub session: Option<resetlab_device::Rpc2Session>,
    /// The outcome of the last single login attempt a step made.
    pub last_login: Option<resetlab_device::LoginOutcome>,
    /// Credentials made of a stored hash instead of the password.
    pub hash_attempt: Option<Credentials>,
    /// When the last change was sent (flash-commit timing counts from here).
    pub changed_at: Option<std::time::Instant>,
    /// The power was cut only after the flash commit delay.
    pub cut_after_commit: bool,
    /// After a power cut: whether the new password is the one that holds.
    pub holds_new: Option<bool>,
}

impl LabWorld {
    async fn new() -> anyhow::Result<Self> {
        if crate::run::INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
            anyhow::bail!("[harness] not started: the run was interrupted");
        }
        let ctx = RunContext::current();
        let lease = ctx.lab.lease(&ctx.custody).await?;
        Ok(LabWorld { ctx, lease: Some(lease), secondary: None, change: None, session: None, last_login: None, hash_attempt: None, changed_at: None, cut_after_commit: false, holds_new: None })
    }

    pub fn dut(&mut self) -> &mut Dut {
        match self.lease.as_mut() {
            Some(l) => &mut l.dut,
            None => fail(Blame::Harness, "the scenario's device lease was already released"),
        }
    }

    /// The whole lease: device, surroundings and strategies.
    pub fn lease(&mut self) -> &mut Lease {
        match self.lease.as_mut() {
            Some(l) => l,
            None => fail(Blame::Harness, "the scenario's device lease was already released"),
        }
    }

    pub fn dut_ref(&self) -> Option<&Dut> {
        self.lease.as_ref().map(|l| &l.dut)
    }

    /// The last attempted change, or a harness failure if a step asks for it too early.
    pub fn change(&self) -> &ChangeAttempt {
        self.change.as_ref().unwrap_or_else(|| fail(Blame::Harness, "no password change was attempted in this scenario"))
    }

    /// Scenario teardown: give the device back as found. A failed restore is a run error (the
    /// journal keeps the entry for `resetlab recover`).
    pub async fn teardown(&mut self) -> Result<(), String> {
        match self.lease.take() {
            Some(lease) => lease.release().await,
            None => Ok(()),
        }
    }
}
