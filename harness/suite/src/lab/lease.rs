//! A lease: one scenario's turn on a station — the device under test, what surrounds it, and the
//! promise to give it back as it was found at teardown.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::emulated::Remote;
use super::station::{BenchApp, Station, StationState};
use crate::bench_drivers::BenchDrivers;
use crate::dut::Dut;

/// The margin added to a firmware's flash commit delay before a change counts as saved: a fifth of
/// the delay, at least 50 ms, for the firmware's own scheduling.
pub fn commit_margin(delay: Duration) -> Duration {
    (delay / 5).max(Duration::from_millis(50))
}

/// A device held by one scenario; released at teardown.
#[derive(Debug)]
pub struct Lease {
    pub dut: Dut,
    /// The emulated recorder behind the device, on the embedded lab.
    pub recorder: Option<resetlab_emulator::Recorder>,
    /// Power, link and console around the device.
    pub drivers: Arc<BenchDrivers>,
    /// The relay side, when the station has one (the embedded lab does).
    pub remote: Option<Remote>,
    /// On a bench: how the app side is reached, if the bench file says.
    pub bench_app: Option<BenchApp>,
    /// As far as the harness switched it: teardown switches back what a scenario left off.
    pub powered: bool,
    pub linked: bool,
    /// A change made before this lease (set-up, the last teardown) is in flash only from then on:
    /// a power cut waits for it.
    pub inherited_commit: Option<Instant>,
    /// After a power cycle, the local interface that refused the administrator's saved password
    /// (a recorder that forgot it): for the steps to judge.
    pub saved_password_lost: Option<crate::strategy::AfterPowerCycle>,
    /// Locks the emulated recorder had engaged when the lease began.
    lockouts_before: u64,
    station: Arc<Station>,
    /// This scenario's exclusive turn on the station, held until release.
    turn: Option<tokio::sync::OwnedMutexGuard<StationState>>,
}

impl Lease {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        dut: Dut,
        recorder: Option<resetlab_emulator::Recorder>,
        station: Arc<Station>,
        inherited_commit: Option<Instant>,
        turn: tokio::sync::OwnedMutexGuard<StationState>,
    ) -> Lease {
        let lockouts_before = recorder.as_ref().map_or(0, |r| r.stats().lockouts_engaged);
        Lease {
            dut,
            recorder,
            drivers: station.drivers.clone(),
            remote: station.remote.clone(),
            bench_app: station.app.clone(),
            powered: true,
            linked: true,
            inherited_commit,
            saved_password_lost: None,
            lockouts_before,
            station,
            turn: Some(turn),
        }
    }

    /// Before a power cut: wait until a change made before this lease must be in flash.
    pub async fn wait_for_inherited_commit(&mut self) {
        if let Some(at) = self.inherited_commit.take()
            && at > Instant::now()
        {
            let left = at - Instant::now();
            tokio::time::sleep_until(at.into()).await;
            self.dut.note(
                None,
                "before the power cut: wait until the set-up's password change must be in flash",
                format!("{} ms", left.as_millis()),
            );
        }
    }

    /// Give the device back as it was found: the password the lease started with restored, what
    /// the scenario switched off switched back on; an embedded-lab station is then retired (its
    /// factory password restored and its parts stopped). Returns why the restore failed, if it did.
    pub async fn release(mut self) -> Result<(), String> {
        // A scenario that left the device off or unlinked must not leave it so.
        if !self.powered {
            self.power_on().await;
        }
        if !self.linked {
            self.link_up().await;
        }
        if self.dut.lock_pending {
            self.clear_lock().await;
        }
        // The emulator counts lockouts: one that no scenario asked for is the harness's fault.
        let unexpected_lock = self.recorder.as_ref().and_then(|r| {
            let engaged = r.stats().lockouts_engaged - self.lockouts_before;
            (engaged > 0 && self.dut.lockouts_expected == 0)
                .then(|| format!("[harness] the account was locked {engaged} time(s) though no step asked for it"))
        });
        let mut restored = self.dut.restore_baseline().await;
        if restored.is_err() && self.dut.profile.lockout.cleared_by_power_cycle && self.drivers.can("power") {
            // Out of login budget with candidates left (a defect that lost passwords across a
            // power cycle, say): a reboot clears this firmware's failure count, as its profile
            // says, and gives the search a fresh budget. The reboot itself checks nothing.
            self.dut.saved = false;
            self.dut.note(
                None,
                "teardown: reboot for a fresh login budget",
                "the baseline was not found within the first budget",
            );
            self.power_off().await;
            self.power_on().await;
            restored = self.dut.restore_baseline().await;
        }
        let mut turn = self.turn.take().expect("a lease holds its turn until release");
        match &restored {
            Ok(changed) => {
                if *changed {
                    turn.last_change = Some(Instant::now());
                }
                turn.verified = true;
            }
            Err(_) => turn.verified = false,
        }
        let mut outcome = restored.map(drop);
        if self.station.is_emulated().await {
            let profile = self.dut.profile.clone();
            let retired = self.station.retire_locked(&self.dut_custody(), &profile, &mut turn).await;
            if outcome.is_ok() {
                outcome = retired.map(drop);
            }
        }
        match unexpected_lock {
            Some(why) => Err(why),
            None => outcome,
        }
    }

    fn dut_custody(&self) -> crate::recovery::Custody {
        self.dut.custody().clone()
    }
}
