//! The Cucumber World: everything one scenario holds — its leased device, the change it attempted,
//! the accounts it created — and nothing shared with other scenarios.

use std::sync::Arc;

use resetlab_app::ModifyOutcome;
use resetlab_device::{Credentials, DeviceError, ErrorKind};
use resetlab_wire::Secret;

use crate::blame::{Blame, fail};
use crate::dut::Dut;
use crate::lab::Lease;
use crate::run::RunContext;

/// A password change the scenario attempted, and what came of it.
#[derive(Debug)]
pub struct ChangeAttempt {
    pub by: String,
    pub account: String,
    pub old: Secret,
    pub new: Secret,
    pub result: Result<(), NotChanged>,
}

/// Why a password change did not take, in the terms of the path that carried it — so that a step
/// never has to dress what an app showed up as a device-protocol error.
#[derive(Debug)]
pub enum NotChanged {
    /// The harness sent the change (HTTP CGI, ONVIF): the recorder refused it, or it failed on
    /// the way.
    Device(DeviceError),
    /// The app carried it (Modify password): what the app showed instead of success.
    App(ModifyOutcome),
    /// A request the app would send, carried by the relay: the recorder's answer was not OK.
    Relayed { status: u16, body: String },
}

impl NotChanged {
    /// Whether the recorder (or the app) said no, rather than the change going unanswered.
    pub fn is_refusal(&self) -> bool {
        match self {
            NotChanged::Device(e) => matches!(e.kind, ErrorKind::Refused { .. } | ErrorKind::Unauthorized),
            NotChanged::App(_) | NotChanged::Relayed { .. } => true,
        }
    }

    /// Who is to blame where the change should have taken: the rig when the request never got an
    /// answer, otherwise the device.
    pub fn blame(&self) -> Blame {
        match self {
            NotChanged::Device(e) => Blame::of_error(e),
            NotChanged::App(_) | NotChanged::Relayed { .. } => Blame::Device,
        }
    }
}

impl std::fmt::Display for NotChanged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotChanged::Device(e) => e.fmt(f),
            NotChanged::App(outcome) => write!(f, "the app shows {outcome:?}"),
            NotChanged::Relayed { status, body } => {
                write!(f, "the recorder answered the relayed modifyPassword with HTTP {status} {body}")
            }
        }
    }
}

#[derive(cucumber::World)]
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
    /// The administrator's stored hash as a leak revealed it (user, hash), for pass-the-hash.
    pub leaked_hash: Option<(String, Secret)>,
    /// When the wrong password that engaged a lock was sent, and when its answer came: the lock
    /// began between the two.
    pub lock_engaged: Option<(std::time::Instant, std::time::Instant)>,
    /// When the last change was sent (flash-commit timing counts from here).
    pub changed_at: Option<std::time::Instant>,
    /// The power was cut only after the flash commit delay.
    pub cut_after_commit: bool,
    /// After a power cut: whether the new password is the one that holds.
    pub holds_new: Option<bool>,
    /// The app profile in use ("the app is the 2017 release" unless a step says otherwise).
    pub app_profile: resetlab_app::AppProfile,
    /// The signed-in app.
    pub app: Option<Box<dyn resetlab_app::App>>,
    /// What the app showed after Modify password.
    pub app_outcome: Option<resetlab_app::ModifyOutcome>,
    /// Requests the relay had forwarded to the recorder before the last app action.
    pub forwarded_before: Option<u64>,
    /// The last Modify password in the app got no answer because the network lost the recorder's
    /// (the relay counted it unanswered): what the app showed. Its screen then judges nothing.
    pub lost_on_relay: Option<String>,
    /// Checks that failed without stopping the scenario (see [`LabWorld::check_failed`]).
    pub findings: Vec<(std::time::SystemTime, crate::blame::Failure)>,
    /// Requirements this scenario could not establish, with why (the second route).
    pub unestablished: Vec<(String, String)>,
    /// The app flow could not run: why, and the scenario went on with the requests the app would
    /// send (see steps/app.rs).
    pub second_route: Option<String>,
}

impl std::fmt::Debug for LabWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabWorld")
            .field("dut", &self.dut_ref().map(|d| d.identity.clone()))
            .field("change", &self.change)
            .field("app", &self.app.as_ref().map(|a| a.session().device_name()))
            .field("app_outcome", &self.app_outcome)
            .finish_non_exhaustive()
    }
}

impl LabWorld {
    async fn new() -> anyhow::Result<Self> {
        if crate::run::INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
            anyhow::bail!("[harness] not started: the run was interrupted");
        }
        let ctx = RunContext::current();
        let lease = ctx.lab.lease(&ctx.custody).await?;
        if ctx.device.lock().unwrap_or_else(|e| e.into_inner()).is_none() {
            let identity = crate::lab::read_identity(&lease.dut).await;
            ctx.device.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(identity);
        }
        Ok(LabWorld {
            ctx,
            lease: Some(lease),
            secondary: None,
            change: None,
            session: None,
            last_login: None,
            leaked_hash: None,
            lock_engaged: None,
            changed_at: None,
            cut_after_commit: false,
            holds_new: None,
            app_profile: resetlab_app::flir_cloud_2017(),
            app: None,
            app_outcome: None,
            forwarded_before: None,
            lost_on_relay: None,
            findings: Vec::new(),
            unestablished: Vec::new(),
            second_route: None,
        })
    }

    pub fn dut(&mut self) -> &mut Dut {
        match self.lease.as_mut() {
            Some(l) => &mut l.dut,
            None => fail(Blame::Harness, "the scenario's device lease was already released"),
        }
    }

    /// The whole lease: device, bench drivers and strategies.
    pub fn lease(&mut self) -> &mut Lease {
        match self.lease.as_mut() {
            Some(l) => l,
            None => fail(Blame::Harness, "the scenario's device lease was already released"),
        }
    }

    pub fn dut_ref(&self) -> Option<&Dut> {
        self.lease.as_ref().map(|l| &l.dut)
    }

    /// A check failed and the scenario goes on: what follows does not depend on it (a Then-step
    /// about one interface, one remote client, the saved entry). The failure is recorded on this
    /// step and fails the scenario at its end; the other requirements it checks still get their
    /// verdicts. A step whose failure leaves nothing for the next steps to stand on raises instead
    /// ([`crate::blame::raise`]). Which steps do which is listed in `steps/mod.rs`.
    pub fn check_failed(&mut self, failure: crate::blame::Failure) {
        tracing::debug!(%failure, "check failed; the scenario goes on");
        self.findings.push((std::time::SystemTime::now(), failure));
    }

    /// This scenario cannot establish `requirements` (why says what was missing): they are partly
    /// established at best, never passed by it.
    pub fn not_established(&mut self, requirements: &[&str], why: String) {
        for r in requirements {
            if !self.unestablished.iter().any(|(id, _)| id == r) {
                self.unestablished.push(((*r).to_owned(), why.clone()));
            }
        }
    }

    /// The last attempted change, or a harness failure if a step asks for it too early.
    pub fn change(&self) -> &ChangeAttempt {
        self.change
            .as_ref()
            .unwrap_or_else(|| fail(Blame::Harness, "no password change was attempted in this scenario"))
    }

    /// A `@factory-state` scenario is about the recorder as it leaves the factory: put the factory
    /// default password back for this scenario alone (journaled; teardown puts the bench's working
    /// password back).
    pub async fn to_factory_state(&mut self) {
        let dut = self.dut();
        let factory = dut.profile.admin().password.clone();
        let admin = dut.admin();
        if admin.password == factory {
            return;
        }
        if let Err(e) = dut.change_password(&admin, &admin.user, &factory).await {
            fail(
                Blame::of_error(&e),
                format!("set-up: the recorder did not take its factory default password back: {e}"),
            );
        }
        self.dut().note(None, "set-up: put the factory default administrator password back for this scenario", "OK");
    }

    /// Restore the power and prove the device booted, then judge what the strategy saw: whatever
    /// the scenario is about, a recorder that forgets a saved password across a power cycle
    /// breaks ART-DURABLE, and saying so here keeps the failure off the scenario's own requirement
    /// (a lockout scenario that clears its lock by a reboot).
    pub async fn power_on(&mut self) {
        self.lease().power_on().await;
        self.judge_power_cycle();
    }

    /// Clear a lock the scenario caused, as the firmware says, and judge a power cycle it took.
    pub async fn clear_lock(&mut self) {
        self.lease().clear_lock().await;
        self.judge_power_cycle();
    }

    fn judge_power_cycle(&mut self) {
        let Some(seen) = self.lease().saved_password_lost.take() else { return };
        let names = |l: &[resetlab_device::Interface]| l.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
        let failure = if seen.accepted.is_empty() {
            crate::blame::Failure::violating(
                &["ART-DURABLE"],
                format!(
                    "after the power cycle the recorder refuses on {} the administrator's password it had saved before",
                    names(&seen.refused)
                ),
            )
        } else {
            // The password survived; the interfaces disagree about it, as anywhere else.
            crate::blame::Failure::violating(
                &["ART-LOCAL"],
                format!(
                    "after the power cycle {} refuse the administrator's saved password while {} accept it",
                    names(&seen.refused),
                    names(&seen.accepted)
                ),
            )
        };
        self.check_failed(failure);
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
