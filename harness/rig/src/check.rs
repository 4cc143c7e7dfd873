//! `resetlab rig check`: prove a bench works without touching credentials — power off and on with
//! read-back, the device going quiet and booting to its marker, the console alive, the link down and
//! up. Each check is a measurement (name, duration, limit, verdict); a fault names the part blamed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::bench::{Bench, ConsolePort};
use crate::console::{Console, CrashPatterns};
use crate::error::{Blame, RigError};
use crate::operator::{DEFAULT_ANSWER_TIMEOUT, Operator};
use crate::power::{Drivers, Switch, SwitchDriver};
use crate::ready::{wait_down, wait_ready};

/// Knobs for a rig check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Power-on to boot marker and service; `None`: the profile's boot time × 2 + 10 s (or 120 s).
    pub boot_deadline: Option<Duration>,
    /// How long the device may keep answering after power off or link down.
    pub down_deadline: Duration,
    /// Operator answers file when there is no terminal (field benches).
    pub operator_answers: Option<PathBuf>,
    /// Where to append the timestamped console capture.
    pub evidence: Option<PathBuf>,
    /// The operator to ask (overrides `operator_answers` and the terminal).
    pub operator: Option<Arc<Operator>>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            boot_deadline: None,
            down_deadline: Duration::from_secs(10),
            operator_answers: None,
            evidence: None,
            operator: None,
        }
    }
}

/// A check's verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It worked.
    Ok,
    /// It did not; `blame` is the part at fault.
    Fault { blame: Blame, message: String },
    /// Not run (part absent, or an earlier fault).
    Skipped(String),
}

/// One check: a named measurement.
#[derive(Debug, Clone)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// How long it took.
    pub took: Duration,
    /// Its deadline.
    pub limit: Option<Duration>,
    /// Verdict.
    pub outcome: Outcome,
    /// Extra observation (read-back value, status line, off time kept).
    pub note: String,
}

/// All checks of one run.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// Bench name.
    pub rig: String,
    /// Checks in order.
    pub checks: Vec<Check>,
}

impl CheckReport {
    /// Whether every check that ran passed and none faulted.
    pub fn passed(&self) -> bool {
        !self.checks.iter().any(|c| matches!(c.outcome, Outcome::Fault { .. }))
    }

    /// The first fault: the check and the part blamed.
    pub fn fault(&self) -> Option<(&Check, Blame)> {
        self.checks.iter().find_map(|c| match &c.outcome {
            Outcome::Fault { blame, .. } => Some((c, *blame)),
            _ => None,
        })
    }

    /// Process exit code: 0 pass, 2 rig fault, 3 device fault, 4 harness fault.
    pub fn exit_code(&self) -> i32 {
        match self.fault() {
            None => 0,
            Some((_, b)) if b.is_rig() => 2,
            Some((_, Blame::Device)) => 3,
            Some(_) => 4,
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

impl std::fmt::Display for CheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "rig check: {}", self.rig)?;
        for c in &self.checks {
            let limit = c.limit.map(|l| format!(" (limit {})", ms(l))).unwrap_or_default();
            match &c.outcome {
                Outcome::Ok => writeln!(f, "  ok     {:<40} {:>10}{limit}  {}", c.name, ms(c.took), c.note)?,
                Outcome::Fault { blame, message } => {
                    writeln!(f, "  FAULT  {:<40} {:>10}{limit}  [{blame}] {message}", c.name, ms(c.took))?
                }
                Outcome::Skipped(why) => writeln!(f, "  skip   {:<40} {:>10}  {why}", c.name, "-")?,
            }
        }
        match self.fault() {
            None => write!(f, "verdict: PASS — the bench works"),
            Some((c, b)) if b.is_rig() => write!(f, "verdict: FAIL — rig fault, blame the {}: {}", b.as_str(), c.name),
            Some((c, b)) => write!(f, "verdict: FAIL — {} fault: {}", b.as_str(), c.name),
        }
    }
}

struct Run {
    report: CheckReport,
    failed: bool,
}

impl Run {
    async fn check<T>(
        &mut self,
        name: &str,
        limit: Option<Duration>,
        fut: impl std::future::Future<Output = Result<T, RigError>>,
        note: impl FnOnce(&T) -> String,
    ) -> Option<T> {
        if self.failed {
            self.skip(name, "not run after an earlier fault");
            return None;
        }
        let t = Instant::now();
        let r = fut.await;
        let took = t.elapsed();
        let (outcome, note, v) = match r {
            Ok(v) => (Outcome::Ok, note(&v), Some(v)),
            Err(e) => {
                self.failed = true;
                (Outcome::Fault { blame: e.blame(), message: e.to_string() }, String::new(), None)
            }
        };
        self.report.checks.push(Check { name: name.to_owned(), took, limit, outcome, note });
        v
    }

    fn skip(&mut self, name: &str, why: &str) {
        self.report.checks.push(Check {
            name: name.to_owned(),
            took: Duration::ZERO,
            limit: None,
            outcome: Outcome::Skipped(why.to_owned()),
            note: String::new(),
        });
    }
}

fn power_off_hint(s: &SwitchDriver) -> &'static str {
    match s {
        SwitchDriver::Relay(_) => "after power off (the coil reads back off: check the relay wiring)",
        SwitchDriver::Operator(_) => "after the operator switched the power off (was it the right unit?)",
        SwitchDriver::Command(_) => "after the power-off command (it succeeded: is it the right outlet?)",
    }
}

fn link_down_hint(s: &SwitchDriver) -> &'static str {
    match s {
        SwitchDriver::Relay(_) => "after link down (the coil reads back down: check the link relay wiring)",
        SwitchDriver::Operator(_) => "after the operator unplugged the network cable (was it the right cable?)",
        SwitchDriver::Command(_) => "after the link-down command (it succeeded: is it the right port?)",
    }
}

/// Run the rig check on `bench` (with emulated parts already resolved, see
/// [`Bench::with_emulated_addresses`]). Never touches credentials.
pub async fn rig_check(bench: &Bench, opts: &CheckOptions) -> CheckReport {
    let mut run = Run { report: CheckReport { rig: bench.rig.clone(), checks: vec![] }, failed: false };
    let boot = opts.boot_deadline.unwrap_or_else(|| {
        bench
            .named_profile()
            .map_or(Duration::from_secs(120), |p| Duration::from_millis(p.boot.time_ms) * 2 + Duration::from_secs(10))
    });
    let marker = bench.ready_marker();

    let operator = if let Some(op) = &opts.operator {
        Some(Arc::clone(op))
    } else if bench.switched_by_hand() {
        run.check(
            "operator reachable",
            None,
            Operator::auto(opts.operator_answers.as_deref(), DEFAULT_ANSWER_TIMEOUT),
            |_| String::new(),
        )
        .await
        .map(Arc::new)
    } else {
        None
    };
    let mut drivers = Drivers::new(operator);
    let power = run
        .check("power driver", None, async { drivers.switch(&bench.power, "power") }, |_| String::new())
        .await
        .flatten();
    let link = run
        .check("network driver", None, async { drivers.switch(&bench.network, "network link") }, |_| String::new())
        .await
        .flatten();
    let http = run.check("device address", None, bench.http_addr(), |a| a.to_string()).await;

    let evidence = || -> Result<Option<Box<dyn std::io::Write + Send>>, RigError> {
        let Some(p) = &opts.evidence else {
            return Ok(None);
        };
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .map_err(|e| RigError::File { path: p.clone(), message: e.to_string() })?;
        Ok(Some(Box::new(f)))
    };
    let console = match &bench.console.port {
        ConsolePort::Command { command } => {
            let crash = CrashPatterns::with(&bench.console.crash);
            run.check("console opens", None, async { Console::open_command(command, crash, evidence()?) }, |c| {
                c.name().to_owned()
            })
            .await
        }
        ConsolePort::Serial { path, baud } => {
            let crash = CrashPatterns::with(&bench.console.crash);
            run.check("console opens", None, async { Console::open_serial(path, *baud, crash, evidence()?) }, |c| {
                c.name().to_owned()
            })
            .await
        }
        ConsolePort::Network { host, port, protocol } => {
            let crash = CrashPatterns::with(&bench.console.crash);
            run.check(
                "console opens",
                None,
                async { Console::open_network(host, *port, *protocol, crash, evidence()?) },
                |c| c.name().to_owned(),
            )
            .await
        }
        ConsolePort::Place { .. } => {
            run.check::<Console>(
                "console opens",
                None,
                async {
                    Err(RigError::Harness(
                        "console says driver: labgrid but the place's resources were not read (PlaceSpec::resolve)"
                            .into(),
                    ))
                },
                |_| String::new(),
            )
            .await
        }
        ConsolePort::Emulated => {
            run.check::<Console>(
                "console opens",
                None,
                async {
                    Err(RigError::Harness("console says driver: emulated but no emulated lab was started".into()))
                },
                |_| String::new(),
            )
            .await
        }
        ConsolePort::None => {
            run.skip("console opens", "no console on this bench (driver: none)");
            None
        }
    };

    match (&power, http) {
        (Some(power), Some(http)) => {
            run.check("power state read", None, power.get(), |on| format!("reads {}", if *on { "on" } else { "off" }))
                .await;
            if let Some(c) = &console {
                c.mark("power off");
            }
            run.check(&format!("power off ({})", power.verified_by()), None, power.set(false), |s| {
                format!("off after {}", ms(s.took))
            })
            .await;
            let down = opts.down_deadline;
            run.check(
                "device stops answering",
                Some(down),
                wait_down(http, down, power.blame(), power_off_hint(power)),
                |d| format!("quiet after {}", ms(*d)),
            )
            .await;
            let on_mark = console.as_ref().map(|c| c.mark("power on"));
            run.check(&format!("power on ({}, min off time)", power.verified_by()), None, power.set(true), |s| {
                format!("on; kept off {} more", ms(s.held_off))
            })
            .await;
            if let (Some(c), Some(from)) = (&console, on_mark) {
                run.check("console alive", Some(boot), c.wait_output(from, boot), |s| {
                    format!("first line after {}: {:?}", ms(s.after), s.line)
                })
                .await;
                run.check(&format!("boot marker {marker:?}"), Some(boot), c.wait_for(from, &marker, boot), |s| {
                    format!("after {} from power on", ms(s.after))
                })
                .await;
                run.check(
                    "service answers after boot",
                    Some(boot),
                    wait_ready(Some((c, from, &marker)), http, boot),
                    |r| format!("{} ; marker→service {}", r.status, ms(r.marker_to_service)),
                )
                .await;
            } else {
                run.skip("console alive", "no console on this bench");
                run.check("service answers after boot", Some(boot), wait_ready(None, http, boot), |r| r.status.clone())
                    .await;
            }
            if let Some(link) = &link {
                if let Some(c) = &console {
                    c.mark("link down");
                }
                run.check(&format!("link down ({})", link.verified_by()), None, link.set(false), |s| {
                    format!("down after {}", ms(s.took))
                })
                .await;
                run.check(
                    "service stops answering on link down",
                    Some(down),
                    wait_down(http, down, link.blame(), link_down_hint(link)),
                    |d| format!("quiet after {}", ms(*d)),
                )
                .await;
                if let Some(c) = &console {
                    c.mark("link up");
                }
                run.check(&format!("link up ({})", link.verified_by()), None, link.set(true), |s| {
                    format!("up after {}", ms(s.took))
                })
                .await;
                run.check("service answers after link up", Some(boot), wait_ready(None, http, boot), |r| {
                    format!("after {}", ms(r.service_after))
                })
                .await;
            } else {
                run.skip("link down/up", "no network switch on this bench (driver: none)");
            }
        }
        (None, _) if !run.failed => run.skip("power off/on", "no power switch on this bench (driver: none)"),
        _ => {}
    }
    run.report
}
