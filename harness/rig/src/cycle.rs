//! The power cycle, one routine for `resetlab rig check` and the suite's strategies: switch the
//! recorder's power (or its network link) off and prove it went quiet, switch it on and prove it
//! came back — the console's boot marker after power on where there is a console, then the service
//! answering a real HTTP request. Each stage is timed; a stage that does not end as it should is
//! named ([`Stage`]) with the part to blame. One deadline policy covers both: [`Deadlines`].

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::console::{Console, Cursor};
use crate::error::RigError;
use crate::power::{Switch, SwitchDriver, Switched};
use crate::ready::{NotReady, Ready, wait_down, wait_ready_staged};

/// Which of a recorder's two switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Power,
    Link,
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Part::Power => "power",
            Part::Link => "network link",
        })
    }
}

/// How long a recorder may take to go quiet and to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// From the switch in its off state to the service no longer answering.
    pub down: Duration,
    /// From the switch in its on state to the boot marker (after power on, with a console) and the
    /// service answering.
    pub up: Duration,
}

impl Deadlines {
    /// A recorder stops answering within seconds of losing power or link: a cut link counts as
    /// down after 300 ms of silence, and a relay that reads back off while the recorder goes on
    /// answering is found well within this.
    pub const DOWN: Duration = Duration::from_secs(10);

    /// The boot deadline when no boot time is known (a bench without a firmware profile): a slow
    /// NVR's boot with its disk check.
    pub const UNKNOWN_BOOT: Duration = Duration::from_secs(120);

    /// The policy, for a recorder whose boot takes `boot` (the firmware profile's `boot.time_ms`,
    /// or the emulated recorder's own boot; `None`: not known): up within 3 × boot + 10 s — a
    /// stated boot time is a typical one, not the worst (a disk check, a loaded bench), and the
    /// 10 s are for the network coming up — and down within [`Deadlines::DOWN`]. These are
    /// deadlines, not waits: a recorder that is up sooner is seen up sooner.
    pub fn for_boot_time(boot: Option<Duration>) -> Deadlines {
        let up = boot.map_or(Deadlines::UNKNOWN_BOOT, |b| b * 3 + Duration::from_secs(10));
        Deadlines { down: Deadlines::DOWN, up }
    }
}

/// The stage of a switch's cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Switching itself (read-back, the command, the operator).
    Switch,
    /// The recorder going quiet after the switch went off.
    Quiet,
    /// The console's boot marker after power on (a crash line or a silent console ends it too).
    Boot,
    /// The service answering after power or link on.
    Service,
}

/// A stage that did not end as it should, and what the stages before it saw.
#[derive(Debug)]
pub struct Stalled {
    pub stage: Stage,
    pub error: RigError,
    /// How long the stalled stage ran.
    pub took: Duration,
    /// The switch's state, when switching worked.
    pub switched: Option<Switched>,
    /// When the boot marker was seen, from the switch on (a stall after it).
    pub marker_after: Option<Duration>,
    /// The console's mark just before switching on, when there is a console.
    pub from: Option<Cursor>,
}

impl Stalled {
    fn at(stage: Stage, error: RigError, since: Instant) -> Stalled {
        Stalled { stage, error, took: since.elapsed(), switched: None, marker_after: None, from: None }
    }
}

/// The recorder went quiet.
#[derive(Debug, Clone)]
pub struct Off {
    pub switched: Switched,
    /// From the switch in its off state to the service no longer answering.
    pub quiet_after: Duration,
}

/// The recorder came back.
#[derive(Debug, Clone)]
pub struct On {
    pub switched: Switched,
    /// The console's mark just before switching on, when there is a console.
    pub from: Option<Cursor>,
    /// Times from the switch on: the boot marker (after power on, with a console), the service.
    pub ready: Ready,
}

/// Switch `part` off through `switch` (the console, if any, marked "`part` off") and wait within
/// `deadlines.down` for `service` to stop answering; a recorder that goes on answering is blamed
/// on the switch's part (the relay's wiring, the operator's unit).
pub async fn switch_off(
    part: Part,
    switch: &SwitchDriver,
    service: SocketAddr,
    console: Option<&Console>,
    deadlines: Deadlines,
) -> Result<Off, Stalled> {
    if let Some(c) = console {
        c.mark(&format!("{part} off"));
    }
    let t = Instant::now();
    let switched = switch.set(false).await.map_err(|e| Stalled::at(Stage::Switch, e, t))?;
    let t = Instant::now();
    match wait_down(service, deadlines.down, switch.blame(), off_hint(part, switch)).await {
        Ok(quiet_after) => Ok(Off { switched, quiet_after }),
        Err(e) => Err(Stalled { switched: Some(switched), ..Stalled::at(Stage::Quiet, e, t) }),
    }
}

/// Switch `part` on through `switch` and wait within `deadlines.up` for the recorder to answer:
/// after power on with a `console` (and its ready marker), for the marker first. A link coming
/// back needs no boot.
pub async fn switch_on(
    part: Part,
    switch: &SwitchDriver,
    service: SocketAddr,
    console: Option<(&Console, &str)>,
    deadlines: Deadlines,
) -> Result<On, Stalled> {
    let from = console.map(|(c, _)| c.mark(&format!("{part} on")));
    let t = Instant::now();
    let switched = switch.set(true).await.map_err(|e| Stalled::at(Stage::Switch, e, t))?;
    let boot = match (part, console, from) {
        (Part::Power, Some((c, marker)), Some(from)) => Some((c, from, marker)),
        _ => None,
    };
    let t = Instant::now();
    match wait_ready_staged(boot, service, deadlines.up).await {
        Ok(ready) => Ok(On { switched, from, ready }),
        Err((NotReady::Marker, e)) => Err(Stalled { switched: Some(switched), from, ..Stalled::at(Stage::Boot, e, t) }),
        Err((NotReady::Service { marker_after }, e)) => {
            Err(Stalled { switched: Some(switched), marker_after, from, ..Stalled::at(Stage::Service, e, t) })
        }
    }
}

/// Where to look when the recorder goes on answering after `part` was switched off.
fn off_hint(part: Part, switch: &SwitchDriver) -> &'static str {
    match (part, switch) {
        (Part::Power, SwitchDriver::Relay(_)) => "after power off (the coil reads back off: check the relay wiring)",
        (Part::Power, SwitchDriver::Operator(_)) => {
            "after the operator switched the power off (was it the right unit?)"
        }
        (Part::Power, SwitchDriver::Command(_)) => {
            "after the power-off command (it succeeded: is it the right outlet?)"
        }
        (Part::Link, SwitchDriver::Relay(_)) => {
            "after link down (the coil reads back down: check the link relay wiring)"
        }
        (Part::Link, SwitchDriver::Operator(_)) => {
            "after the operator unplugged the network cable (was it the right cable?)"
        }
        (Part::Link, SwitchDriver::Command(_)) => "after the link-down command (it succeeded: is it the right port?)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boot_deadline_follows_the_stated_boot_time() {
        let d = Deadlines::for_boot_time(Some(Duration::from_secs(40)));
        assert_eq!(d, Deadlines { down: Duration::from_secs(10), up: Duration::from_secs(130) });
        assert_eq!(Deadlines::for_boot_time(None).up, Deadlines::UNKNOWN_BOOT);
    }
}
