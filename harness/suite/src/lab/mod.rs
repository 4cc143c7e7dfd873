//! The lab: where each scenario's device under test comes from — one code path for every bench.
//!
//! A bench file is turned into a [`Station`] in one place ([`Station::from_bench`]): its drivers,
//! its device address, how its app side is reached. A real bench (`--rig FILE`) is one station that
//! scenarios lease one at a time. The embedded lab is the same bench file (rigs/emulator.yaml) whose
//! `driver: emulated` parts are started per lease and resolved to their addresses
//! ([`emulated`]): every lease gets a station of its own, so scenarios run at once — concurrency,
//! not another code path. Lease, set-up, teardown, applicability and verdicts are the same.

pub mod emulated;
mod lease;
mod station;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use resetlab_profile::FirmwareProfile;
use resetlab_rig::bench::{Bench, ConsolePort, SwitchSpec};

use crate::lab_defects::Injected;
use crate::recovery::Custody;

pub use emulated::{EMULATOR_BENCH, EmulatedModbus, Remote};
pub use lease::{Lease, commit_margin};
pub use station::{BenchApp, Station, read_identity};

/// Something a scenario needs from the bench, named by a feature tag (`@power` …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Power,
    Network,
    Console,
    /// A remote path to the recorder through the cloud (a relay, or a bench's remote address).
    Remote,
    /// An app that is really driven and observed (the emulated phone, WebDriver, a person).
    App,
}

impl Need {
    pub const ALL: [Need; 5] = [Need::Power, Need::Network, Need::Console, Need::Remote, Need::App];

    /// The feature tag, without its `@`.
    pub fn tag(self) -> &'static str {
        match self {
            Need::Power => "power",
            Need::Network => "network",
            Need::Console => "console",
            Need::Remote => "remote",
            Need::App => "app",
        }
    }

    /// What the bench lacks, as the "not applicable on this rig: needs …" reason says it.
    pub fn text(self) -> &'static str {
        match self {
            Need::Power => "power control (a relay on the recorder's supply)",
            Need::Network => "network-link control (a relay on the recorder's Ethernet)",
            Need::Console => "a serial console",
            Need::Remote => "a remote path to the recorder (the cloud relay, or a remote address on the bench)",
            Need::App => "a driven app (webdriver or operator)",
        }
    }
}

/// What a bench has, read from its file before any scenario runs: applicability is decided from
/// this, never from a scenario that failed for lack of a part.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parts {
    pub power: bool,
    pub network: bool,
    pub console: bool,
    pub remote: bool,
    pub app: bool,
}

impl Parts {
    /// The parts of `bench`, whose `app:` section is `app`.
    pub fn of(bench: &Bench, app: Option<&resetlab_app::bench::AppSpec>) -> Parts {
        use resetlab_app::bench::AppDriver;
        let switch = |s: &SwitchSpec| !matches!(s, SwitchSpec::None);
        let driver = app.map(|a| a.driver);
        Parts {
            power: switch(&bench.power),
            network: switch(&bench.network),
            console: bench.console.port != ConsolePort::None,
            // `direct` reaches the recorder's own address: remote only through a bench forward.
            // A driven app reaches it the way the real one does (the cloud), from each client.
            remote: match driver {
                Some(AppDriver::Emulated | AppDriver::Operator | AppDriver::WebDriver) => true,
                Some(AppDriver::Direct) => app.is_some_and(|a| a.remote.is_some()),
                _ => false,
            },
            // `direct` sends only the request the app would send: no app is driven or observed.
            app: matches!(driver, Some(AppDriver::Emulated | AppDriver::Operator | AppDriver::WebDriver)),
        }
    }

    pub fn has(&self, need: Need) -> bool {
        match need {
            Need::Power => self.power,
            Need::Network => self.network,
            Need::Console => self.console,
            Need::Remote => self.remote,
            Need::App => self.app,
        }
    }
}

/// How to build a lab from a bench file.
#[derive(Debug, Clone, Default)]
pub struct LabOptions {
    /// `--firmware`: overrides the profile the bench file names.
    pub firmware: Option<PathBuf>,
    /// Defects to inject into the emulated recorder or app (embedded lab only).
    pub defects: Vec<Injected>,
    /// How the embedded lab's relay board is reached.
    pub modbus: EmulatedModbus,
    /// Answers for `driver: operator` prompts when there is no terminal.
    pub answers: Option<PathBuf>,
    /// A network fault rehearsed on each emulated recorder's relay path (embedded lab only).
    pub relay_fault: Option<crate::lossy_link::RelayFault>,
}

/// Where devices come from: a bench file, turned into stations.
#[derive(Debug)]
pub struct Lab {
    /// The bench file as given (for the embedded lab: rigs/emulator.yaml, before resolution).
    pub bench: Bench,
    /// Its `app:` section, parsed once by the app crate.
    pub app: Option<resetlab_app::bench::AppSpec>,
    pub profile: FirmwareProfile,
    /// What the bench has (decides applicability).
    pub parts: Parts,
    /// App defects of the emulated app on the emulated phone (for the lab's description).
    pub app_defects: Vec<crate::lab_defects::AppDefect>,
    source: Source,
}

#[derive(Debug)]
enum Source {
    /// A bench that exists: one station, leased by one scenario at a time.
    Bench(Arc<Station>),
    /// Emulated parts started for each lease (the embedded lab). Boxed: it holds a whole firmware
    /// profile, far larger than a bench's handle.
    Emulated(Box<emulated::Emulated>),
}

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("[rig] could not start the emulated parts: {0}")]
    Emulator(String),
    #[error("[rig] the device does not answer with the baseline administrator password: {0}")]
    Unreachable(String),
    #[error("[rig] cannot reach the device: {0}")]
    NoConnection(String),
    #[error("[device] set-up: the recorder did not take the password that replaces its factory default: {0}")]
    SetUp(String),
    #[error("[harness] the credential journal refused the baseline: {0}")]
    Journal(String),
}

impl Lab {
    /// The embedded emulated lab: rigs/emulator.yaml, its parts started per lease.
    pub async fn embedded(opts: LabOptions) -> anyhow::Result<Lab> {
        Lab::from_bench_text(Path::new("rigs/emulator.yaml (embedded)"), EMULATOR_BENCH, opts).await
    }

    /// The lab a bench file describes (`--rig FILE`).
    pub async fn from_bench_file(file: &Path, opts: LabOptions) -> anyhow::Result<Lab> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("cannot read the bench file {}: {e}", file.display()))?;
        Lab::from_bench_text(file, &text, opts).await
    }

    /// The one place a bench file becomes a lab.
    pub async fn from_bench_text(file: &Path, text: &str, opts: LabOptions) -> anyhow::Result<Lab> {
        let bench = Bench::parse(file, text)?;
        // `driver: labgrid` parts come from the place's resources (the run holds the place by now).
        let bench = match &bench.labgrid {
            Some(place) => place.resolve(&bench).await?,
            None => bench,
        };
        let app = resetlab_app::bench::parse(file, text)?;
        let profile = bench.firmware_profile(opts.firmware.as_deref())?;
        let parts = Parts::of(&bench, app.as_ref());
        let app_defects: Vec<_> =
            opts.defects.iter().filter_map(|d| if let Injected::App(a) = d { Some(*a) } else { None }).collect();
        let source = if bench.uses_emulated() {
            let recorder = opts
                .defects
                .iter()
                .filter_map(|d| if let Injected::Recorder(r) = d { Some(*r) } else { None })
                .collect();
            let mut emulated = emulated::Emulated::new(profile.clone(), recorder, opts.modbus, app_defects.clone());
            emulated.relay_fault = opts.relay_fault;
            Source::Emulated(Box::new(emulated))
        } else {
            anyhow::ensure!(opts.defects.is_empty(), "--defect only applies to emulated parts (this bench has none)");
            anyhow::ensure!(
                opts.relay_fault.is_none(),
                "--relay-fault only applies to the embedded lab's relay (this bench has none of its own); put a forwarder of your own on a bench's network"
            );
            let baseline = bench.admin_password()?;
            Source::Bench(Arc::new(
                Station::from_bench(&bench, app.as_ref(), &profile, baseline, opts.answers.as_deref(), None).await?,
            ))
        };
        Ok(Lab { bench, app, profile, parts, app_defects, source })
    }

    /// Whether a person takes part in the run (see [`resetlab_app::bench::needs_operator`]).
    pub fn needs_operator(&self) -> bool {
        resetlab_app::bench::needs_operator(&self.bench, self.app.as_ref())
    }

    /// Whether the devices of this lab live beyond the run (their journal must outlive it too).
    pub fn is_real(&self) -> bool {
        matches!(self.source, Source::Bench(_))
    }

    /// Whether this bench has what `need` names.
    pub fn can(&self, need: Need) -> bool {
        self.parts.has(need)
    }

    /// Before any scenario: prove the bench's device takes the administrator password the bench
    /// file gives, so a wrong one is one clear error before anything is changed.
    pub async fn verify(&self) -> Result<(), LabError> {
        match &self.source {
            Source::Bench(s) => s.verify_found().await,
            Source::Emulated(_) => Ok(()),
        }
    }

    /// Hand a scenario its device: the bench's station (waiting for its turn), or a freshly
    /// started emulated one.
    pub async fn lease(&self, custody: &Custody) -> Result<Lease, LabError> {
        let station = match &self.source {
            Source::Bench(s) => s.clone(),
            Source::Emulated(e) => Arc::new(e.start_station(&self.bench, &self.profile).await?),
        };
        station.lease(custody, &self.profile).await
    }

    /// End of the run: put every bench back as it was found (the factory password, when the run
    /// replaced it at its start). Returns why that failed, if it did.
    pub async fn finish(&self, custody: &Custody) -> Result<Option<String>, String> {
        match &self.source {
            Source::Bench(s) => s.retire(custody, &self.profile).await,
            Source::Emulated(_) => Ok(None),
        }
    }

    /// The bench and what each of its parts resolved to, for the record.
    pub fn rig_description(&self) -> crate::record::RigDescription {
        use crate::record::{RigDescription, RigDriver};
        let part = |part: &str, driver: String| RigDriver { part: part.into(), driver, resource: None };
        let switch = |s: &SwitchSpec| match s {
            SwitchSpec::Coil(c) => match &c.board {
                resetlab_rig::bench::BoardSpec::Tcp { host, port } => {
                    format!("modbus-tcp {host}:{port} unit {} coil {}", c.unit, c.coil)
                }
                resetlab_rig::bench::BoardSpec::Rtu { path, baud } => {
                    format!("modbus-rtu {} @{baud} unit {} coil {}", path.display(), c.unit, c.coil)
                }
                resetlab_rig::bench::BoardSpec::Emulated => match &self.source {
                    Source::Emulated(e) => {
                        format!("{} (emulated relay board) unit {} coil {}", e.modbus.describe(), c.unit, c.coil)
                    }
                    Source::Bench(_) => "emulated".to_owned(),
                },
            },
            SwitchSpec::Command(t) => match &t.get {
                Some(get) => format!("command on `{}`, off `{}`, read back by `{get}`", t.on, t.off),
                None => format!("command on `{}`, off `{}` (no read-back)", t.on, t.off),
            },
            SwitchSpec::Operator { .. } => "operator (a person switches it)".to_owned(),
            SwitchSpec::Place { resource, .. } => format!("labgrid resource {resource} (not resolved)"),
            SwitchSpec::None => "none".to_owned(),
        };
        let console = match &self.bench.console.port {
            ConsolePort::Serial { path, baud } => format!("serial {} @{baud}", path.display()),
            ConsolePort::Command { command } => format!("command `{command}`"),
            ConsolePort::Network { host, port, protocol } => format!("network serial port {protocol}://{host}:{port}"),
            ConsolePort::Place { .. } => "labgrid NetworkSerialPort (not resolved)".to_owned(),
            ConsolePort::Emulated => "serial (emulated console on a pseudo-terminal)".to_owned(),
            ConsolePort::None => "none".to_owned(),
        };
        let app = match &self.source {
            Source::Emulated(_) => "webdriver (the emulated phone, through the embedded cloud relay)".to_owned(),
            Source::Bench(s) => s.app.as_ref().map_or("none".to_owned(), BenchApp::describe),
        };
        RigDescription {
            file: Some(self.bench.file.display().to_string()),
            drivers: vec![
                part("power", switch(&self.bench.power)),
                part("network", switch(&self.bench.network)),
                part("console", console),
                part("app", app),
            ],
        }
    }

    pub fn describe(&self) -> String {
        match &self.source {
            Source::Bench(s) => format!(
                "bench {} ({}:{}, profile {})",
                self.bench.rig, s.target.host, s.target.http_port, self.profile.name
            ),
            Source::Emulated(e) => format!(
                "embedded emulated lab (profile {}, defects: {}{})",
                self.profile.name,
                if e.defects.is_empty() && self.app_defects.is_empty() {
                    "none".to_owned()
                } else {
                    e.defects
                        .iter()
                        .map(|d| d.name())
                        .chain(self.app_defects.iter().map(|d| d.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                e.relay_fault.map(|f| format!(", relay-path fault: {}", f.name())).unwrap_or_default()
            ),
        }
    }

    /// Answers the lab spoiled on purpose (`--relay-fault`) so far; `None` without such a fault.
    pub fn spoiled_on_purpose(&self) -> Option<u64> {
        match &self.source {
            Source::Emulated(e) => e.spoiled_on_relay_path(),
            Source::Bench(_) => None,
        }
    }

    pub fn profile(&self) -> &FirmwareProfile {
        &self.profile
    }
}
