//! `resetlab rig check`: prove a bench works without touching credentials — power off and on with
//! read-back, the device going quiet and booting to its marker, the console alive, the link down and
//! up. Each check is a measurement (name, duration, limit, verdict); a fault names the part blamed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::bench::{Bench, ConsolePort};
use crate::console::{Console, CrashPatterns};
use crate::cycle::{Deadlines, Part, Stage, Stalled, switch_off, switch_on};
use crate::error::{Blame, RigError};
use crate::operator::{DEFAULT_ANSWER_TIMEOUT, Operator};
use crate::power::{Drivers, Switch, SwitchDriver, Switched};

/// Knobs for a rig check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Power-on to boot marker and service; `None`: the policy's, from the profile's boot time
    /// ([`Deadlines::for_boot_time`]).
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
            down_deadline: Deadlines::DOWN,
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

    /// A check whose stage ran elsewhere (in a cycle of the switch): its result as it came.
    fn record(&mut self, name: &str, limit: Option<Duration>, took: Duration, result: Result<String, RigError>) {
        if self.failed {
            self.skip(name, "not run after an earlier fault");
            return;
        }
        let (outcome, note) = match result {
            Ok(note) => (Outcome::Ok, note),
            Err(e) => {
                self.failed = true;
                (Outcome::Fault { blame: e.blame(), message: e.to_string() }, String::new())
            }
        };
        self.report.checks.push(Check { name: name.to_owned(), took, limit, outcome, note });
    }

    /// Switch `part` off ([`switch_off`]) and check it as two: the switch (`names[0]`), then the
    /// device going quiet (`names[1]`).
    async fn switch_off(
        &mut self,
        names: [&str; 2],
        (part, switch): (Part, &SwitchDriver),
        http: std::net::SocketAddr,
        console: Option<&Console>,
        deadlines: Deadlines,
    ) {
        let [switched_name, quiet_name] = names;
        if self.failed {
            self.skip(switched_name, "not run after an earlier fault");
            self.skip(quiet_name, "not run after an earlier fault");
            return;
        }
        let off =
            |s: &Switched| Ok(format!("{} after {}", if part == Part::Power { "off" } else { "down" }, ms(s.took)));
        let limit = Some(deadlines.down);
        match switch_off(part, switch, http, console, deadlines).await {
            Ok(o) => {
                self.record(switched_name, None, o.switched.took, off(&o.switched));
                self.record(quiet_name, limit, o.quiet_after, Ok(format!("quiet after {}", ms(o.quiet_after))));
            }
            Err(s) if s.stage == Stage::Switch => self.record(switched_name, None, s.took, Err(s.error)),
            Err(s) => {
                if let Some(sw) = &s.switched {
                    self.record(switched_name, None, sw.took, off(sw));
                }
                self.record(quiet_name, limit, s.took, Err(s.error));
            }
        }
    }

    /// The checks of a power on ([`switch_on`]): the switch, the console printing anything at all,
    /// its boot marker, the service answering — or, without a console, the switch and the service.
    async fn power_on(
        &mut self,
        switched_name: &str,
        on: Result<crate::cycle::On, Stalled>,
        console: Option<(&Console, &str)>,
        boot: Duration,
    ) {
        let marker_name = console.map(|(_, m)| format!("boot marker {m:?}")).unwrap_or_default();
        let service = "service answers after boot";
        let (switched, from, ready) = match on {
            Err(s) if s.stage == Stage::Switch => return self.record(switched_name, None, s.took, Err(s.error)),
            Ok(on) => (on.switched, on.from, Ok(on.ready)),
            Err(s) => match s.switched {
                Some(switched) => (switched, s.from, Err(s)),
                None => return self.record(switched_name, None, s.took, Err(s.error)),
            },
        };
        self.record(switched_name, None, switched.took, Ok(format!("on; kept off {} more", ms(switched.held_off))));
        let Some((c, _)) = console else {
            self.skip("console alive", "no console on this bench");
            match ready {
                Ok(r) => self.record(service, Some(boot), r.service_after, Ok(r.status.clone())),
                Err(s) => self.record(service, Some(boot), s.took, Err(s.error)),
            }
            return;
        };
        match ready {
            // The marker's wait is blamed on the console when it printed nothing at all.
            Err(s) if s.stage == Stage::Boot && s.error.blame() == Blame::Console => {
                self.record("console alive", Some(boot), s.took, Err(s.error))
            }
            ready => {
                // What the console printed since the power on, looked at now (the marker's wait
                // waited for it): the first line, and when it came.
                let alive = match from {
                    Some(from) => c.wait_output(from, Duration::ZERO).await,
                    None => Err(RigError::Harness("the console was not marked at power on".into())),
                };
                let took = alive.as_ref().map_or(Duration::ZERO, |s| s.after);
                self.record(
                    "console alive",
                    Some(boot),
                    took,
                    alive.map(|s| format!("first line after {}: {:?}", ms(s.after), s.line)),
                );
                let marker_ok = |after: Duration| Ok(format!("after {} from power on", ms(after)));
                match ready {
                    Ok(r) => {
                        let after = r.marker_after.unwrap_or_default();
                        self.record(&marker_name, Some(boot), after, marker_ok(after));
                        let status = format!("{} ; marker→service {}", r.status, ms(r.marker_to_service));
                        self.record(service, Some(boot), r.marker_to_service, Ok(status));
                    }
                    Err(s) if s.stage == Stage::Boot => self.record(&marker_name, Some(boot), s.took, Err(s.error)),
                    Err(s) => {
                        let after = s.marker_after.unwrap_or_default();
                        self.record(&marker_name, Some(boot), after, marker_ok(after));
                        self.record(service, Some(boot), s.took, Err(s.error));
                    }
                }
            }
        }
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

/// Run the rig check on `bench` (with emulated parts already resolved, see
/// [`Bench::with_emulated_addresses`]). Never touches credentials.
pub async fn rig_check(bench: &Bench, opts: &CheckOptions) -> CheckReport {
    let mut run = Run { report: CheckReport { rig: bench.rig.clone(), checks: vec![] }, failed: false };
    let policy = Deadlines::for_boot_time(bench.named_profile().map(|p| Duration::from_millis(p.boot.time_ms)));
    let deadlines = Deadlines { down: opts.down_deadline, up: opts.boot_deadline.unwrap_or(policy.up) };
    let boot = deadlines.up;
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
            let names = [format!("power off ({})", power.verified_by()), "device stops answering".to_owned()];
            run.switch_off([&names[0], &names[1]], (Part::Power, power), http, console.as_ref(), deadlines).await;
            let on_name = format!("power on ({}, min off time)", power.verified_by());
            if run.failed {
                run.skip(&on_name, "not run after an earlier fault");
            } else {
                let console = console.as_ref().map(|c| (c, marker.as_str()));
                let on = switch_on(Part::Power, power, http, console, deadlines).await;
                run.power_on(&on_name, on, console, boot).await;
            }
            if let Some(link) = &link {
                let names =
                    [format!("link down ({})", link.verified_by()), "service stops answering on link down".to_owned()];
                run.switch_off([&names[0], &names[1]], (Part::Link, link), http, console.as_ref(), deadlines).await;
                let up_name = format!("link up ({})", link.verified_by());
                if run.failed {
                    run.skip(&up_name, "not run after an earlier fault");
                } else {
                    let on = switch_on(Part::Link, link, http, None, deadlines).await;
                    let up = |s: &Switched| Ok(format!("up after {}", ms(s.took)));
                    let service = "service answers after link up";
                    match on {
                        Ok(on) => {
                            run.record(&up_name, None, on.switched.took, up(&on.switched));
                            let after = on.ready.service_after;
                            run.record(service, Some(boot), after, Ok(format!("after {}", ms(after))));
                        }
                        Err(s) if s.stage == Stage::Switch => run.record(&up_name, None, s.took, Err(s.error)),
                        Err(s) => {
                            if let Some(sw) = &s.switched {
                                run.record(&up_name, None, sw.took, up(sw));
                            }
                            run.record(service, Some(boot), s.took, Err(s.error));
                        }
                    }
                }
            } else {
                run.skip("link down/up", "no network switch on this bench (driver: none)");
            }
        }
        (None, _) if !run.failed => run.skip("power off/on", "no power switch on this bench (driver: none)"),
        _ => {}
    }
    run.report
}
