//! The lab: where each scenario's device under test comes from.
//!
//! On the embedded emulated lab every scenario gets a freshly started recorder of its own (so
//! scenarios run concurrently and cannot disturb each other). On a bench there is one real device;
//! each scenario holds an exclusive lease on it for its whole run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use resetlab_device::Target;
use resetlab_emulator::{Defect, Recorder, RecorderConfig};
use resetlab_profile::FirmwareProfile;

use resetlab_cloud_relay::agent::AgentHandle;
use resetlab_cloud_relay::{Relay, RelayConfig};
use resetlab_rig::bench::Bench;
use resetlab_wire::Secret;

use crate::custody::Custody;
use crate::surroundings::{EmulatedModbus, Surroundings};
use crate::dut::Dut;

/// The embedded lab's bench file.
pub const EMULATOR_BENCH: &str = include_str!("../../../rigs/emulator.yaml");

/// How long a freshly started emulated recorder may take to answer.
const EMULATED_READY: Duration = Duration::from_secs(10);

/// Where devices come from. One value per run, so the size difference of the variants costs nothing.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Lab {
    /// In-process emulated recorders on loopback, one per scenario.
    Emulated(EmulatedLab),
    /// One device that already exists (a bench recorder, a field unit, or an emulator started
    /// elsewhere); scenarios take turns on it.
    Bench(BenchLab),
}

/// A single existing device, leased exclusively by one scenario at a time.
#[derive(Debug)]
pub struct BenchLab {
    pub name: String,
    /// How the app side is reached on this bench (`app:` of the bench file), if at all.
    pub app: Option<BenchApp>,
    /// Power, link and console of the bench, lent to each lease in turn.
    pub surroundings: Arc<Surroundings>,
    pub target: Target,
    pub profile: FirmwareProfile,
    pub admin_user: String,
    /// The administrator password the device has now; every scenario puts it back at teardown.
    pub baseline: resetlab_wire::Secret,
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl BenchLab {
    pub fn new(
        name: String,
        surroundings: Surroundings,
        target: Target,
        profile: FirmwareProfile,
        admin_user: String,
        baseline: resetlab_wire::Secret,
    ) -> Self {
        BenchLab { name, app: None, surroundings: Arc::new(surroundings), target, profile, admin_user, baseline, turn: Arc::default() }
    }
}

#[derive(Debug)]
pub struct EmulatedLab {
    /// The bench file (rigs/emulator.yaml): which coils and console the scenarios drive.
    pub bench: Bench,
    /// How the emulated relay board is reached.
    pub modbus: EmulatedModbus,
    pub profile: FirmwareProfile,
    pub defects: Vec<Defect>,
    /// Defects of the emulated app (applied to the app profile the app model gets).
    pub app_defects: Vec<crate::injected::AppDefect>,
    /// The cloud relay every emulated recorder of the run dials (started with the first lease).
    relay: tokio::sync::OnceCell<Relay>,
    /// Emulated boot time (the profile's real boot time is ~40 s; the lab scales it down).
    pub boot_time: Duration,
    next_instance: AtomicU64,
}

impl EmulatedLab {
    pub fn new(profile: FirmwareProfile, defects: Vec<Defect>) -> Self {
        let bench = Bench::parse("rigs/emulator.yaml (embedded)", EMULATOR_BENCH).expect("the embedded emulator bench is valid (tested)");
        EmulatedLab { bench, modbus: EmulatedModbus::Tcp, profile, defects, app_defects: Vec::new(), relay: Default::default(), boot_time: Duration::from_millis(300), next_instance: AtomicU64::new(1) }
    }
}

/// How long a recorder may take to show up as online at the relay.
const ONLINE_DEADLINE: Duration = Duration::from_secs(10);

/// The cloud side of one lease: a relay, an app account that owns the recorder, and the recorder's
/// own tunnel agent.
#[derive(Debug)]
pub struct Remote {
    pub relay: Relay,
    pub serial: String,
    pub account: String,
    pub password: Secret,
    pub agent: AgentHandle,
}

impl Remote {
    /// Sign into this lease's app account at the relay, on `session`'s device.
    pub async fn sign_in(&self, session: resetlab_app::AppSession) -> Result<resetlab_app::RelayApp, resetlab_app::AppError> {
        resetlab_app::RelayApp::sign_in(session, &self.relay.url(), &self.account, &self.password).await
    }

    /// Wait until the relay sees the recorder online (`true`) or offline (`false`).
    pub async fn wait_online(&self, online: bool) -> Result<(), String> {
        self.relay.wait_online_state(&self.serial, online, ONLINE_DEADLINE).await.map_err(|e| e.to_string())
    }
}

/// How a bench's scenarios reach the app side when there is no relay of ours: the app's requests
/// go straight to the recorder (the vendor's tunnel stands in), or a person holds the phone.
#[derive(Debug, Clone)]
pub enum BenchApp {
    /// `DirectApp`: requests to the recorder's address; remote clients to `remote` (a port forward).
    Direct { device: std::net::SocketAddr, remote: Option<std::net::SocketAddr> },
    /// `OperatorApp`: prompts a person; answers from a file when there is no terminal.
    Operator { answers: Option<std::path::PathBuf> },
}

/// A device held by one scenario; released at teardown.
#[derive(Debug)]
pub struct Lease {
    pub dut: Dut,
    /// The emulated recorder behind the device, when the lab is emulated.
    pub recorder: Option<Recorder>,
    /// Power, link and console around the device.
    pub surroundings: Arc<Surroundings>,
    /// The relay side, when the lab has one (the embedded lab does).
    pub remote: Option<Remote>,
    /// On a bench: how the app side is reached, if the bench file says.
    pub bench_app: Option<BenchApp>,
    /// As far as the harness switched it: teardown switches back what a scenario left off.
    pub powered: bool,
    pub linked: bool,
    /// On a bench: this scenario's exclusive turn on the device, held until release.
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("[rig] could not start the emulated recorder: {0}")]
    Emulator(String),
    #[error("[rig] the device does not answer with the baseline administrator password: {0}")]
    Unreachable(String),
    #[error("[harness] the credential journal refused the baseline: {0}")]
    Journal(String),
}

/// The device's account of itself, read over HTTP CGI with the current administrator password.
/// A field the device does not answer stays empty (the report shows it as unknown).
pub async fn read_identity(dut: &Dut) -> crate::record::DeviceIdentity {
    let cgi = resetlab_device::Cgi::new(&dut.target);
    let admin = dut.admin();
    let version = cgi.software_version(&admin).await.ok();
    let (firmware_version, firmware_build) = match version {
        Some(v) => match v.split_once(",build:") {
            Some((ver, build)) => (Some(ver.trim().to_owned()), Some(build.trim().to_owned())),
            None => (Some(v), None),
        },
        None => (None, None),
    };
    crate::record::DeviceIdentity {
        model: cgi.device_type(&admin).await.ok(),
        serial: cgi.serial_no(&admin).await.ok(),
        machine_name: cgi.machine_name(&admin).await.ok(),
        firmware_version,
        firmware_build,
    }
}

impl Lab {
    /// The bench and what each of its parts resolved to, for the record.
    pub fn rig_description(&self) -> crate::record::RigDescription {
        use crate::record::{RigDescription, RigDriver};
        use resetlab_rig::Switch as _;
        let part = |part: &str, driver: &str, resource: Option<String>| RigDriver { part: part.into(), driver: driver.into(), resource };
        match self {
            Lab::Emulated(e) => {
                let relay = match e.modbus {
                    EmulatedModbus::Tcp => "modbus-tcp (emulated relay board)",
                    EmulatedModbus::Rtu => "modbus-rtu on a pseudo-terminal (emulated relay board)",
                };
                let layout = resetlab_emulated_rig::Layout::from_bench(&e.bench);
                RigDescription {
                    file: Some(e.bench.file.display().to_string()),
                    drivers: vec![
                        part("power", relay, Some(format!("unit {}, coil {}", layout.unit, layout.power_coil))),
                        part("network", relay, Some(format!("unit {}, coil {}", layout.unit, layout.link_coil))),
                        part("console", "serial (emulated console on a pseudo-terminal)", None),
                        part("app", "relay (embedded cloud relay)", None),
                    ],
                }
            }
            Lab::Bench(b) => RigDescription {
                file: Some(b.name.clone()),
                drivers: vec![
                    part("power", &b.surroundings.power.as_ref().map_or("none".to_owned(), |d| d.describe()), None),
                    part("network", &b.surroundings.link.as_ref().map_or("none".to_owned(), |d| d.describe()), None),
                    part("console", &b.surroundings.console.as_ref().map_or("none".to_owned(), |c| format!("serial {}", c.name())), None),
                    part("app", &b.app.as_ref().map_or("none".to_owned(), |a| format!("{a:?}")), None),
                ],
            },
        }
    }

    /// Whether devices of this lab can serve a rig capability (`power`, `network`, `console`).
    pub fn can(&self, capability: &str) -> bool {
        match self {
            Lab::Emulated(_) => ["power", "network", "console", "remote"].contains(&capability),
            Lab::Bench(b) if capability == "remote" => b.app.is_some(),
            Lab::Bench(b) => b.surroundings.can(capability),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Lab::Bench(b) => format!("bench {} ({}:{}, profile {})", b.name, b.target.host, b.target.http_port, b.profile.name),
            Lab::Emulated(e) => format!(
                "embedded emulated lab (profile {}, defects: {})",
                e.profile.name,
                if e.defects.is_empty() && e.app_defects.is_empty() {
                    "none".to_owned()
                } else {
                    e.defects.iter().map(|d| d.name()).chain(e.app_defects.iter().map(|d| d.name())).collect::<Vec<_>>().join(", ")
                }
            ),
        }
    }

    /// The app profile as this lab's app has it (a defect may have changed it).
    pub fn app_profile(&self, mut profile: resetlab_app::AppProfile) -> resetlab_app::AppProfile {
        if let Lab::Emulated(e) = self {
            for d in &e.app_defects {
                d.apply(&mut profile);
            }
        }
        profile
    }

    pub fn profile(&self) -> &FirmwareProfile {
        match self {
            Lab::Emulated(e) => &e.profile,
            Lab::Bench(b) => &b.profile,
        }
    }

    /// Hand a scenario its device.
    pub async fn lease(&self, custody: &Custody) -> Result<Lease, LabError> {
        match self {
            Lab::Emulated(lab) => {
                let n = lab.next_instance.fetch_add(1, Ordering::Relaxed);
                let mut cfg = RecorderConfig::new(lab.profile.clone());
                cfg.defects = lab.defects.clone();
                cfg.instance = Some(format!("{n:04}"));
                cfg.boot_time = lab.boot_time;
                let recorder = Recorder::start(cfg).await.map_err(|e| LabError::Emulator(e.to_string()))?;
                recorder.wait_ready(EMULATED_READY).await.map_err(|e| LabError::Emulator(e.to_string()))?;
                let http = recorder.http_addr();
                let rtsp = recorder.rtsp_addr();
                let target = Target::new(http.ip().to_string(), http.port(), rtsp.port());
                let admin = lab.profile.admin().password.clone();
                let dut = Dut::new(target, lab.profile.clone(), recorder.serial(), admin, custody.clone())
                    .map_err(|e| LabError::Journal(e.to_string()))?;
                let surroundings = lab.surroundings_for(&recorder).await?;
                let remote = lab.remote_for(&recorder).await?;
                Ok(Lease {
                    dut,
                    recorder: Some(recorder),
                    surroundings: Arc::new(surroundings),
                    remote: Some(remote),
                    bench_app: None,
                    powered: true,
                    linked: true,
                    _turn: None,
                })
            }
            Lab::Bench(bench) => {
                let turn = bench.turn.clone().lock_owned().await;
                let admin = resetlab_device::Credentials::new(bench.admin_user.clone(), bench.baseline.clone());
                let serial = resetlab_device::Cgi::new(&bench.target)
                    .serial_no(&admin)
                    .await
                    .map_err(|e| LabError::Unreachable(e.to_string()))?;
                let dut = Dut::new(bench.target.clone(), bench.profile.clone(), serial, bench.baseline.clone(), custody.clone())
                    .map_err(|e| LabError::Journal(e.to_string()))?;
                Ok(Lease {
                    dut,
                    recorder: None,
                    surroundings: bench.surroundings.clone(),
                    remote: None,
                    bench_app: bench.app.clone(),
                    powered: true,
                    linked: true,
                    _turn: Some(turn),
                })
            }
        }
    }
}

impl EmulatedLab {
    /// Register `recorder` with the run's relay under a fresh app account and attach its tunnel.
    async fn remote_for(&self, recorder: &Recorder) -> Result<Remote, LabError> {
        let relay = self
            .relay
            .get_or_try_init(|| Relay::start(RelayConfig::default()))
            .await
            .map_err(|e| LabError::Emulator(format!("cloud relay: {e}")))?
            .clone();
        let serial = recorder.serial();
        let account = format!("owner-{serial}@lab.invalid");
        let password = crate::steps::generate_password(&self.profile.password_rule, 12);
        relay.add_account(&account, password.expose().to_owned(), [serial.clone()]);
        let agent = relay.attach(recorder);
        let remote = Remote { relay, serial, account, password, agent };
        remote.wait_online(true).await.map_err(LabError::Emulator)?;
        Ok(remote)
    }

    /// Start the emulated relay board and console bridge for `recorder` and build the same drivers
    /// a bench uses from the resolved bench file.
    async fn surroundings_for(&self, recorder: &Recorder) -> Result<Surroundings, LabError> {
        let layout = resetlab_emulated_rig::Layout::from_bench(&self.bench);
        let board = resetlab_emulated_rig::EmulatedBench::start(vec![recorder.clone()], layout)
            .await
            .map_err(|e| LabError::Emulator(e.to_string()))?;
        let mut bench = resetlab_emulated_rig::resolve(&self.bench, &board, 0);
        if self.modbus == EmulatedModbus::Rtu {
            crate::surroundings::over_rtu(&mut bench, &self.bench, board.modbus_rtu_path().to_owned());
        }
        let mut s = Surroundings::from_bench(&bench, recorder.http_addr(), None).map_err(|e| LabError::Emulator(e.to_string()))?;
        s.emulated = Some(board);
        Ok(s)
    }
}

impl Lease {
    /// Give the device back as it was found: baseline password restored, then an emulated recorder
    /// is shut down. Returns why the restore failed, if it did.
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
            let engaged = r.stats().lockouts_engaged;
            (engaged > 0 && self.dut.lockouts_expected == 0)
                .then(|| format!("[harness] the account was locked {engaged} time(s) though no step asked for it"))
        });
        let mut restored = self.dut.restore_baseline().await;
        if restored.is_err() && self.dut.profile.lockout.cleared_by_power_cycle && self.surroundings.can("power") {
            // Out of login budget with candidates left (a defect that lost passwords across a
            // power cycle, say): a reboot clears this firmware's failure count, as its profile
            // says, and gives the search a fresh budget. The reboot itself checks nothing.
            self.dut.saved = false;
            self.dut.note(None, "teardown: reboot for a fresh login budget", "the baseline was not found within the first budget");
            self.power_off().await;
            self.power_on().await;
            restored = self.dut.restore_baseline().await;
        }
        if let Some(remote) = self.remote.take() {
            remote.agent.detach().await;
        }
        if let Some(r) = self.recorder {
            r.shutdown().await;
        }
        match unexpected_lock {
            Some(why) => Err(why),
            None => restored,
        }
    }
}
