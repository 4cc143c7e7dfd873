//! Strategies: how a scenario brings its device to a state ("powered off", "booted and answering",
//! "link restored"), each step proven by an observation and timed into the evidence — labgrid's
//! strategies, in resetlab's terms.

use std::time::Duration;

use crate::lab::Lease;
use crate::verdict::{fail, Blame};

/// How long a device may take to stop answering once switched off.
const DOWN_DEADLINE: Duration = Duration::from_secs(5);

impl Lease {
    /// Real boot time from the profile, plus margin; an emulated recorder boots far faster.
    fn boot_deadline(&self) -> Duration {
        Duration::from_millis(self.dut.profile.boot.time_ms) * 3 + Duration::from_secs(10)
    }

    /// Cut the power and prove the device stopped answering.
    pub async fn power_off(&mut self) {
        self.surroundings.set_power(false).await;
        match crate::surroundings::wait_down(&self.dut.target, DOWN_DEADLINE).await {
            Ok(t) => self.dut.note(None, "cut the power", format!("device stopped answering after {} ms", t.as_millis())),
            Err(e) => fail(Blame::Rig, format!("power off did not take: {e}")),
        }
    }

    /// Restore the power and prove the device booted: the console's ready marker (when the rig has
    /// a console) and the service port answering a real request.
    pub async fn power_on(&mut self) {
        let marker = self.dut.profile.boot.ready_marker.clone();
        let from = self.surroundings.console().map_or(0, |c| c.len());
        self.surroundings.set_power(true).await;
        let deadline = self.boot_deadline();
        if let Some(console) = self.surroundings.console() {
            match console.wait_for(&marker, from, deadline).await {
                Ok(t) => self.dut.note(None, "wait for the boot marker on the console", format!("\"{marker}\" after {} ms (limit {} ms)", t.as_millis(), deadline.as_millis())),
                Err(e) => fail(Blame::Device, format!("the recorder did not finish booting: {e}")),
            }
        }
        match crate::surroundings::wait_up(&self.dut.target, deadline).await {
            Ok(t) => self.dut.note(None, "wait for the services to answer", format!("answering {} ms after the marker", t.as_millis())),
            Err(e) => fail(Blame::Device, format!("the recorder booted but its services do not answer: {e}")),
        }
    }

    /// Take the network link down and prove the device is unreachable.
    pub async fn link_down(&mut self) {
        self.surroundings.set_link(false).await;
        match crate::surroundings::wait_down(&self.dut.target, DOWN_DEADLINE).await {
            Ok(t) => self.dut.note(None, "take the network link down", format!("device unreachable after {} ms", t.as_millis())),
            Err(e) => fail(Blame::Rig, format!("link down did not take: {e}")),
        }
    }

    /// Bring the link back and prove the device answers again.
    pub async fn link_up(&mut self) {
        self.surroundings.set_link(true).await;
        match crate::surroundings::wait_up(&self.dut.target, self.boot_deadline()).await {
            Ok(t) => self.dut.note(None, "bring the network link back", format!("answering after {} ms", t.as_millis())),
            Err(e) => fail(Blame::Device, format!("the recorder does not answer after the link came back: {e}")),
        }
    }

    /// Clear a lock a scenario caused on purpose, the way the profile says the firmware clears it:
    /// a power cycle where it does and the rig can, otherwise by waiting out the lock's duration.
    pub async fn clear_lock(&mut self) {
        let lockout = self.dut.profile.lockout.clone();
        if lockout.cleared_by_power_cycle && self.surroundings.can("power") {
            self.power_off().await;
            self.power_on().await;
        } else {
            // The end of a lock is a time the firmware promises, not a condition to poll for:
            // every login attempt while locked could count against the account.
            let wait = lockout.duration() + Duration::from_secs(1);
            self.dut.note(None, "wait out the lockout", format!("{} s", wait.as_secs()));
            tokio::time::sleep(wait).await;
        }
        self.dut.lock_cleared();
    }

    /// The delay after which an accepted change must have reached flash (the profile's, scaled on
    /// the emulated lab like its boot time).
    pub fn flash_commit_delay(&self) -> Duration {
        match &self.surroundings {
            crate::surroundings::Surroundings::Emulated { recorder, .. } => recorder.flash_commit_delay(),
            crate::surroundings::Surroundings::Fixed => Duration::from_millis(self.dut.profile.flash.commit_delay_ms),
        }
    }
}
