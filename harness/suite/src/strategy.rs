//! Strategies: how a scenario brings its device to a state ("powered off", "booted and answering",
//! "link restored"), each step proven by an observation and timed into the evidence — labgrid's
//! strategies, in resetlab's terms. The switching and the waits are the rig crate's power cycle
//! (`resetlab_rig::cycle`, which `resetlab rig check` runs too): "down" is the service no longer
//! answering; "up" is the console's ready marker (when there is a console) and then the service
//! answering a real HTTP request, within the rig's one deadline policy.

use std::time::Duration;

use resetlab_rig::Deadlines;

use crate::bench_drivers::{Which, blame_of};
use crate::blame::fail;
use crate::lab::Lease;
use crate::record::{ConsoleLine, Measurement, RigEvent};
use resetlab_device::LoginOutcome;

impl Lease {
    /// How long the recorder may take to go quiet and to come back: the rig's one policy
    /// ([`Deadlines::for_boot_time`]), from the boot this recorder has — the emulated recorder's
    /// own on the embedded lab (far shorter than the real one its profile states), else the
    /// profile's.
    fn deadlines(&self) -> Deadlines {
        let boot = match &self.recorder {
            Some(recorder) => recorder.boot_time(),
            None => Duration::from_millis(self.dut.profile.boot.time_ms),
        };
        Deadlines::for_boot_time(Some(boot))
    }

    async fn switch_off(&mut self, which: Which) {
        let deadlines = self.deadlines();
        let s = &self.drivers;
        let at = self.dut.now_ms();
        let off = match resetlab_rig::cycle::switch_off(which, s.driver(which), s.service, s.console(), deadlines).await
        {
            Ok(off) => off,
            Err(stalled) => fail(blame_of(&stalled.error), stalled.error),
        };
        let t = off.quiet_after;
        self.dut.note(
            None,
            format!("switch the {which} off"),
            format!("{:?}; device stopped answering after {} ms", off.switched, t.as_millis()),
        );
        self.record_switch(at, which, "off", &off.switched);
        self.dut.extras.measurements.push(Measurement::at_most(
            format!("{which} off to service silent"),
            t.as_secs_f64(),
            "s",
            deadlines.down.as_secs_f64(),
        ));
        match which {
            Which::Power => self.powered = false,
            Which::Link => self.linked = false,
        }
        self.dut.reachable = false;
        self.dut.unconfirm_all();
        // The app must see what a user would: the recorder offline at the relay.
        if let Some(remote) = &self.remote
            && let Err(e) = remote.wait_online(false).await
        {
            fail(
                crate::blame::Blame::Rig,
                format!("the relay still shows the recorder online after the {which} went off: {e}"),
            );
        }
    }

    async fn switch_on(&mut self, which: Which) {
        let deadlines = self.deadlines();
        let deadline = deadlines.up;
        let s = &self.drivers;
        let at = self.dut.now_ms();
        // After power on the firmware boots: its marker is waited for. After link up it is already up.
        let console = s.console().map(|c| (c, s.ready_marker.as_str()));
        let on = match resetlab_rig::cycle::switch_on(which, s.driver(which), s.service, console, deadlines).await {
            Ok(on) => on,
            Err(stalled) => fail(blame_of(&stalled.error), stalled.error),
        };
        let (switched, ready) = (on.switched, on.ready);
        let marker =
            ready.marker_after.map(|m| format!("boot marker after {} ms, ", m.as_millis())).unwrap_or_default();
        self.dut.note(
            None,
            format!("switch the {which} on"),
            format!(
                "{switched:?}; {marker}service answering after {} ms (limit {} ms)",
                ready.service_after.as_millis(),
                deadline.as_millis()
            ),
        );
        self.record_switch(at, which, "on", &switched);
        let name = match which {
            Which::Power => "boot to service ready",
            Which::Link => "link up to service answering",
        };
        self.dut.extras.measurements.push(Measurement::at_most(
            name,
            ready.service_after.as_secs_f64(),
            "s",
            deadline.as_secs_f64(),
        ));
        match which {
            Which::Power => {
                self.powered = true;
                if self.dut.profile.lockout.cleared_by_power_cycle {
                    // This firmware forgets its failure count with the power: so does the budget.
                    self.dut.lock_cleared();
                }
            }
            Which::Link => self.linked = true,
        }
        self.dut.reachable = self.powered && self.linked;
        if let Some(remote) = &self.remote
            && let Err(e) = remote.wait_online(true).await
        {
            fail(
                crate::blame::Blame::Device,
                format!("the recorder answers locally but did not come back online at the relay: {e}"),
            );
        }
        if which == Which::Power {
            self.observe_saved_password().await;
        }
    }

    fn record_switch(&mut self, at_ms: u64, which: Which, action: &str, switched: &resetlab_rig::Switched) {
        self.dut.extras.timeline.push(RigEvent {
            scenario: None,
            at_ms,
            part: match which {
                Which::Power => "power".to_owned(),
                Which::Link => "network".to_owned(),
            },
            action: action.to_owned(),
            readback: Some(format!("reads {}", if switched.on { "on" } else { "off" })),
            duration_ms: Some(switched.took.as_millis() as u64),
            ok: true,
        });
    }

    /// The console capture for the record, on the scenario's clock, power events marked.
    pub fn console_for_record(&self) -> Vec<ConsoleLine> {
        let Some(console) = self.drivers.console() else { return Vec::new() };
        console
            .lines()
            .into_iter()
            .filter(|l| l.wall >= self.dut.started_wall)
            .map(|l| ConsoleLine {
                scenario: None,
                at_ms: (l.wall - self.dut.started_wall).num_milliseconds().max(0) as u64,
                power_event: (l.kind == resetlab_rig::console::LineKind::Mark).then(|| l.text.clone()),
                text: l.text,
            })
            .collect()
    }

    /// Cut the power and prove the device stopped answering. A change made before the lease must
    /// be in flash first: the cut is the scenario's, not a race with the set-up.
    pub async fn power_off(&mut self) {
        self.wait_for_inherited_commit().await;
        self.switch_off(Which::Power).await;
    }

    /// Restore the power and prove the device booted and answers.
    pub async fn power_on(&mut self) {
        self.switch_on(Which::Power).await;
    }

    /// Take the network link down and prove the device is unreachable.
    pub async fn link_down(&mut self) {
        self.switch_off(Which::Link).await;
    }

    /// Bring the link back and prove the device answers again.
    pub async fn link_up(&mut self) {
        self.switch_on(Which::Link).await;
    }

    /// Clear a lock a scenario caused on purpose, the way the profile says the firmware clears it:
    /// a power cycle where it does and the rig can, otherwise by waiting out the lock's duration.
    pub async fn clear_lock(&mut self) {
        let lockout = self.dut.profile.lockout.clone();
        if lockout.cleared_by_power_cycle && self.drivers.can("power") {
            self.power_off().await;
            self.power_on().await;
        } else {
            // The end of a lock is a time the firmware promises, not a condition to poll for:
            // every login attempt while locked could count against the account.
            let wait = self.lockout_duration() + self.lockout_margin();
            self.dut.note(None, "wait out the lockout", format!("{} ms", wait.as_millis()));
            tokio::time::sleep(wait).await;
        }
        self.dut.lock_cleared();
    }

    /// How long a lock lasts (the profile's `lockout.duration_s`, scaled on the emulated lab like
    /// its boot time).
    pub fn lockout_duration(&self) -> Duration {
        match &self.recorder {
            Some(recorder) => recorder.lockout_duration(),
            None => self.dut.profile.lockout.duration(),
        }
    }

    /// How far from the lock's stated end the checks of its duration stay: a tenth of it, at least
    /// 100 ms (a login's round trip and the firmware's timer granularity fit in it).
    pub fn lockout_margin(&self) -> Duration {
        (self.lockout_duration() / 10).max(Duration::from_millis(100))
    }

    /// The delay after which an accepted change must have reached flash (the profile's, scaled on
    /// the emulated lab like its boot time).
    pub fn flash_commit_delay(&self) -> Duration {
        match &self.recorder {
            Some(recorder) => recorder.flash_commit_delay(),
            None => Duration::from_millis(self.dut.profile.flash.commit_delay_ms),
        }
    }

    /// Wait until a change the recorder acknowledged at `acknowledged` must be in flash: the
    /// profile's commit delay counted from the OK, plus a stated margin for the firmware's own
    /// scheduling (a fifth of the delay, at least 50 ms). The commit is a promise with a time: a
    /// real recorder rarely shows it, so the wait is for that time. Both go into the record; where
    /// the firmware prints a line at each commit (the profile's `flash.commit_marker`) on a console
    /// the bench captures, the time from the OK to that line is recorded as the commit time the
    /// device was seen to need, against the stated delay.
    pub async fn wait_until_saved(&mut self, acknowledged: std::time::Instant) {
        let delay = self.flash_commit_delay();
        let margin = crate::lab::commit_margin(delay);
        // The OK on the console's (wall) clock.
        let ok_wall = chrono::Utc::now() - chrono::Duration::from_std(acknowledged.elapsed()).unwrap_or_default();
        tokio::time::sleep_until((acknowledged + delay + margin).into()).await;
        self.dut.note(
            None,
            "wait until the change must be in flash",
            format!("{} ms commit delay + {} ms margin after the OK", delay.as_millis(), margin.as_millis()),
        );
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let m = &mut self.dut.extras.measurements;
        m.push(Measurement::recorded("flash commit delay stated (at this pace)", ms(delay), "ms"));
        m.push(Measurement::recorded("flash commit margin added before counting a change saved", ms(margin), "ms"));
        let seen = match (&self.dut.profile.flash.commit_marker, self.drivers.console()) {
            (Some(marker), Some(console)) => Some(
                console
                    .lines()
                    .into_iter()
                    // The last before the wait ended: an earlier change still on its way to flash
                    // (the set-up's) commits first and prints the same line.
                    .rfind(|l| {
                        l.wall >= ok_wall
                            && l.kind != resetlab_rig::console::LineKind::Mark
                            && l.text.contains(marker.as_str())
                    })
                    .map(|l| (l.wall - ok_wall).to_std().unwrap_or_default()),
            ),
            _ => None,
        };
        match seen {
            Some(Some(took)) => {
                self.dut.extras.measurements.push(Measurement::at_most(
                    "flash commit seen on the console after the OK",
                    ms(took),
                    "ms",
                    ms(delay),
                ));
                self.dut.note(
                    None,
                    "the console's last commit line after the OK",
                    format!("after {} ms (stated {} ms)", took.as_millis(), delay.as_millis()),
                );
            }
            Some(None) => self.dut.note(
                None,
                "the console's commit line after the OK",
                "not seen by the end of the wait: the commit time the device needed is not known",
            ),
            None => {}
        }
        self.dut.saved = true;
    }

    /// After a power cycle: where the administrator's password the harness holds, promised to be
    /// in flash, still logs in — on every local interface. An observation for the steps to judge
    /// (a strategy reaches states; steps judge).
    async fn observe_saved_password(&mut self) {
        if !self.dut.saved {
            return;
        }
        let admin = self.dut.admin();
        let label = "the administrator's saved password after the power cycle";
        let interfaces = self.dut.local_interfaces();
        let Some((&main, others)) = interfaces.split_first() else { return };
        // The main store (HTTP CGI) first, on its own: a password the power cut lost is refused
        // everywhere, and trying it on every interface at once would spend the lockout budget
        // the reconcile needs. Accepted is the promise kept; locked is judged by the scenario
        // that caused the lock.
        let mut seen = vec![(main, self.dut.login(main, &admin, label).await)];
        if seen[0].1 == LoginOutcome::Accepted {
            for &interface in others {
                seen.push((interface, self.dut.login(interface, &admin, label).await));
            }
        }
        let refused: Vec<_> = seen.iter().filter(|(_, o)| *o == LoginOutcome::Refused).map(|(i, _)| *i).collect();
        if !refused.is_empty() {
            let accepted = seen.iter().filter(|(_, o)| *o == LoginOutcome::Accepted).map(|(i, _)| *i).collect();
            self.saved_password_lost = Some(AfterPowerCycle { refused, accepted });
            // Dut::login reconciled: the scenario goes on from the password the device kept.
            self.dut.saved = true;
        }
    }
}

/// Where the administrator's saved password was refused after a power cycle, and where it was not.
#[derive(Debug, Clone)]
pub struct AfterPowerCycle {
    pub refused: Vec<resetlab_device::Interface>,
    pub accepted: Vec<resetlab_device::Interface>,
}
