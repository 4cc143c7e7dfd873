//! A station: one bench turned into what scenarios lease — its drivers (power, link, console), its
//! device address, its app side — built from a bench file in one place, [`Station::from_bench`].
//!
//! A station replaces a factory default password once, at its first lease (journaled), hands every
//! scenario the device with that working password, and puts the password it found back when it is
//! retired (at the end of the run, or after its one lease on the embedded lab). The flash-commit
//! wait that follows a change is device physics: it is paid only before a power cut needs it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use resetlab_device::{Cgi, Credentials, Interface, Target};
use resetlab_ledger::{DeviceKey, Outcome};
use resetlab_profile::FirmwareProfile;
use resetlab_rig::bench::Bench;
use resetlab_wire::Secret;

use super::LabError;
use super::emulated::Remote;
use super::lease::Lease;
use crate::bench_drivers::BenchDrivers;
use crate::dut::Dut;
use crate::recovery::{Custody, device_key, probe, recover_key};

/// How a bench's scenarios reach the app side when there is no relay of ours: the app's requests
/// go straight to the recorder (the vendor's tunnel stands in), or a person holds the phone.
#[derive(Debug, Clone)]
pub enum BenchApp {
    /// `DirectApp`: requests to the recorder's address; remote clients to `remote` (a port forward).
    Direct { device: std::net::SocketAddr, remote: Option<std::net::SocketAddr> },
    /// `OperatorApp`: prompts the bench's one operator (who also switches power and link by hand).
    Operator { operator: Arc<resetlab_rig::Operator> },
    /// `WebDriverApp`: the real app through Appium (or an emulated phone) at the bench's `url:`.
    WebDriver { config: resetlab_app::WebDriverConfig },
}

impl BenchApp {
    pub fn describe(&self) -> String {
        match self {
            BenchApp::Direct { remote: Some(r), .. } => format!("direct (the app's requests only; remote through {r})"),
            BenchApp::Direct { remote: None, .. } => "direct (the app's requests only)".to_owned(),
            BenchApp::Operator { .. } => "operator (a person holds the phone)".to_owned(),
            BenchApp::WebDriver { config } => format!("webdriver (the app driven through {})", config.url),
        }
    }
}

/// The emulated parts behind an embedded-lab station, kept alive with it.
#[derive(Debug)]
pub struct EmulatedHandles {
    pub recorder: resetlab_emulator::Recorder,
    pub board: resetlab_emulated_rig::EmulatedBench,
    pub remote: Remote,
    pub agent: resetlab_cloud_relay::agent::AgentHandle,
}

/// One bench, leased by one scenario at a time.
#[derive(Debug)]
pub struct Station {
    pub name: String,
    pub drivers: Arc<BenchDrivers>,
    pub target: Target,
    /// Requests the recorder may have in flight at once (the bench's `device.concurrency`).
    pub concurrency: usize,
    /// How the app side is reached on a bench without our relay, if the bench file says.
    pub app: Option<BenchApp>,
    /// The relay side of an emulated station.
    pub remote: Option<Remote>,
    admin_user: String,
    /// The administrator password the station found the device with.
    as_found: Secret,
    /// Held by the scenario that has its turn; the state outlives the turns.
    state: Arc<tokio::sync::Mutex<StationState>>,
    /// An embedded-lab station: its emulated parts, and retired after its one lease.
    emulated: tokio::sync::Mutex<Option<EmulatedHandles>>,
}

/// What a station knows between turns.
#[derive(Debug, Default)]
pub(super) struct StationState {
    /// Set at the first lease.
    pub prepared: Option<Prepared>,
    /// When the device last took a password change from set-up or teardown: until its flash
    /// commit, a power cut may undo it.
    pub last_change: Option<Instant>,
    /// The last turn ended with the working password proven to log in.
    pub verified: bool,
    /// Set once retired; no further lease.
    pub retired: bool,
}

#[derive(Debug, Clone)]
pub(super) struct Prepared {
    pub key: DeviceKey,
    pub serial: String,
    /// The administrator password every scenario starts from and teardown puts back.
    pub working: Secret,
    /// Local services the device answers on that its profile does not list.
    pub unlisted: Vec<Interface>,
}

impl Station {
    /// The one place a bench file becomes a station: its drivers, the device address, its app side.
    /// `bench` is resolved (real addresses only); `as_found` is the administrator password the
    /// device has now.
    pub async fn from_bench(
        bench: &Bench,
        app: Option<&resetlab_app::bench::AppSpec>,
        _profile: &FirmwareProfile,
        as_found: Secret,
        answers: Option<&std::path::Path>,
        emulated: Option<EmulatedHandles>,
    ) -> anyhow::Result<Station> {
        use resetlab_app::bench::AppDriver;
        let service = bench.http_addr().await?;
        // One person, one answers file: the switches and the app ask the same operator, in order.
        let answers = answers.map(|a| a.to_owned()).or_else(|| app.and_then(|a| a.answers.clone()));
        let operator = if resetlab_app::bench::needs_operator(bench, app) {
            Some(Arc::new(
                resetlab_rig::Operator::auto(answers.as_deref(), resetlab_rig::operator::DEFAULT_ANSWER_TIMEOUT)
                    .await?,
            ))
        } else {
            None
        };
        let mut drivers = BenchDrivers::from_bench(bench, service, operator.clone())?;
        // `driver: command` console: the output of the bench's console command.
        if let resetlab_rig::bench::ConsolePort::Command { command } = &bench.console.port {
            drivers.console = Some(resetlab_rig::Console::open_command(
                command,
                resetlab_rig::CrashPatterns::with(&bench.console.crash),
                None,
            )?);
        }
        let mut target = Target::new(bench.device.address.clone(), bench.device.http_port, bench.device.rtsp_port)
            .with_timeout(bench.device.timeout);
        if bench.device.https {
            target = target.with_https(bench.tls.accept_self_signed);
        }
        let app = match app {
            Some(spec) => match spec.driver {
                AppDriver::Direct => Some(BenchApp::Direct { device: service, remote: spec.remote }),
                AppDriver::Operator => Some(BenchApp::Operator {
                    operator: operator
                        .clone()
                        .ok_or_else(|| anyhow::anyhow!("[harness] an operator app without an operator"))?,
                }),
                AppDriver::WebDriver => Some(BenchApp::WebDriver {
                    config: spec.webdriver_config().map_err(|e| anyhow::anyhow!("{}: {e}", bench.file.display()))?,
                }),
                AppDriver::Relay => {
                    eprintln!(
                        "note: `app: {{ driver: relay }}` needs resetlab's relay reachable by the recorder; scenarios needing the app are not applicable here"
                    );
                    None
                }
                _ => None,
            },
            None => None,
        };
        let remote = emulated.as_ref().map(|e| e.remote.clone());
        Ok(Station {
            name: bench.rig.clone(),
            drivers: Arc::new(drivers),
            target,
            concurrency: bench.device.concurrency,
            app,
            remote,
            admin_user: bench.device.admin_user.clone(),
            as_found,
            state: Arc::default(),
            emulated: tokio::sync::Mutex::new(emulated),
        })
    }

    /// Whether the station is the embedded lab's (retired after its one lease).
    pub async fn is_emulated(&self) -> bool {
        self.emulated.lock().await.is_some()
    }

    /// The emulated recorder, on the embedded lab.
    pub async fn recorder(&self) -> Option<resetlab_emulator::Recorder> {
        self.emulated.lock().await.as_ref().map(|e| e.recorder.clone())
    }

    /// Prove the device takes the password the station was given (one login, nothing changed).
    pub async fn verify_found(&self) -> Result<(), LabError> {
        let found = Credentials::new(self.admin_user.clone(), self.as_found.clone());
        match resetlab_device::try_login(&self.target, Interface::Http, &found).await {
            Ok(resetlab_device::LoginOutcome::Accepted) => Ok(()),
            Ok(other) => Err(LabError::Unreachable(format!(
                "{other:?} for {} on HTTP CGI at {}:{}; nothing was changed — check the password the bench file's environment variable gives",
                self.admin_user, self.target.host, self.target.http_port
            ))),
            Err(e) if matches!(e.kind, resetlab_device::ErrorKind::Connect(_)) => {
                let hint = if self.target.https().is_some()
                    && e.to_string().to_ascii_lowercase().contains("certificate")
                {
                    " (a recorder whose certificate is its own: say `tls: { accept_self_signed: true }` in the bench file to accept it)"
                } else {
                    ""
                };
                Err(LabError::NoConnection(format!("{e}; nothing was changed{hint}")))
            }
            Err(e) => Err(LabError::Unreachable(format!("{e}; nothing was changed"))),
        }
    }

    /// A scenario's turn: wait for the station, prepare it at the first turn, prove the working
    /// password where the last turn could not, and hand over a device that starts from it.
    pub(super) async fn lease(
        self: Arc<Self>,
        custody: &Custody,
        profile: &FirmwareProfile,
    ) -> Result<Lease, LabError> {
        let mut state = self.state.clone().lock_owned().await;
        if state.retired {
            return Err(LabError::Unreachable("the bench was already given back at the end of the run".into()));
        }
        let mut notes = Vec::new();
        let prepared = match state.prepared.clone() {
            Some(p) => {
                if !state.verified {
                    self.reconcile(custody, profile, &p, &mut state, &mut notes).await?;
                }
                p
            }
            None => {
                let p = self.prepare(custody, profile, &mut state, &mut notes).await?;
                state.prepared = Some(p.clone());
                p
            }
        };
        state.verified = false;
        let mut dut = Dut::new(
            self.target.clone(),
            profile.clone(),
            prepared.serial.clone(),
            prepared.working.clone(),
            custody.clone(),
        )
        .map_err(|e| LabError::Journal(e.to_string()))?;
        dut.concurrency = self.concurrency;
        dut.unlisted_services = prepared.unlisted.clone();
        for (action, outcome) in notes {
            dut.note(Some(Interface::Http), action, outcome);
        }
        let recorder = self.recorder().await;
        let commit_delay = match &recorder {
            Some(r) => r.flash_commit_delay(),
            None => Duration::from_millis(profile.flash.commit_delay_ms),
        };
        // A change set-up or the last teardown made is still on its way to flash until then.
        let inherited_commit = state
            .last_change
            .map(|t| t + commit_delay + super::lease::commit_margin(commit_delay))
            .filter(|t| *t > Instant::now());
        Ok(Lease::new(dut, recorder, self.clone(), inherited_commit, state))
    }

    /// First turn: learn the serial with the password the device was found with (a wrong one is a
    /// clear error before anything changes), journal it as the baseline, and replace a factory
    /// default password once for the whole run — the set-up every installer does.
    async fn prepare(
        &self,
        custody: &Custody,
        profile: &FirmwareProfile,
        state: &mut StationState,
        notes: &mut Vec<(String, String)>,
    ) -> Result<Prepared, LabError> {
        let found = Credentials::new(self.admin_user.clone(), self.as_found.clone());
        let serial =
            Cgi::new(&self.target).serial_no(&found).await.map_err(|e| LabError::Unreachable(e.to_string()))?;
        let key = device_key(&serial, &self.target, &self.admin_user);
        custody.baseline(&key, &self.as_found).map_err(|e| LabError::Journal(e.to_string()))?;
        let unlisted = unlisted_services(&self.target, profile).await;
        for i in &unlisted {
            notes.push((format!("probe: the device answers on {i}"), "the firmware profile does not list it".into()));
        }
        let factory = &profile.admin().password;
        if self.as_found != *factory {
            state.verified = true;
            return Ok(Prepared { key, serial, working: self.as_found.clone(), unlisted });
        }
        let rule = &profile.password_rule;
        let own = crate::password::generate_other_than(rule, rule.max_len, factory);
        let id = custody.intend(&key, factory, &own).map_err(|e| LabError::Journal(e.to_string()))?;
        let result = crate::recovery::change_confirmed(&self.target, &self.admin_user, factory, &own).await;
        let outcome = if result.is_ok() { Outcome::Committed } else { Outcome::Unknown };
        custody.outcome(id, outcome).map_err(|e| LabError::Journal(e.to_string()))?;
        if let Err(e) = result {
            return Err(LabError::SetUp(e.to_string()));
        }
        state.last_change = Some(Instant::now());
        state.verified = true;
        notes.push((
            "set-up (once for this bench): replace the factory default administrator password".into(),
            "OK".into(),
        ));
        Ok(Prepared { key, serial, working: own, unlisted })
    }

    /// The last turn could not prove the working password: find what the device holds among the
    /// journal's candidates (within the lockout budget) and put the working password back.
    async fn reconcile(
        &self,
        custody: &Custody,
        profile: &FirmwareProfile,
        prepared: &Prepared,
        state: &mut StationState,
        notes: &mut Vec<(String, String)>,
    ) -> Result<(), LabError> {
        if probe(&self.target, &self.admin_user, prepared.working.clone()).await
            == resetlab_ledger::recover::ProbeResult::Accepted
        {
            state.verified = true;
            return Ok(());
        }
        let budget = profile.lockout.threshold.saturating_sub(2).max(1);
        let report = recover_key(&custody.journal, &prepared.key, Some(&self.target), budget, Some(&prepared.working))
            .await
            .map_err(|e| LabError::Journal(e.to_string()))?;
        notes.push(("before the scenario: put the working administrator password back".into(), report.to_string()));
        if !report.is_finished() {
            return Err(LabError::Unreachable(report.to_string()));
        }
        if matches!(report.outcome, resetlab_ledger::recover::RecoveryOutcome::Restored { .. }) {
            state.last_change = Some(Instant::now());
        }
        state.verified = true;
        Ok(())
    }

    /// Give the bench back as it was found: the password it had before the run (and, on the
    /// embedded lab, stop its emulated parts). Returns a line for the record, or why it failed.
    pub async fn retire(&self, custody: &Custody, profile: &FirmwareProfile) -> Result<Option<String>, String> {
        let mut state = self.state.lock().await;
        self.retire_locked(custody, profile, &mut state).await
    }

    pub(super) async fn retire_locked(
        &self,
        custody: &Custody,
        profile: &FirmwareProfile,
        state: &mut StationState,
    ) -> Result<Option<String>, String> {
        if state.retired {
            return Ok(None);
        }
        state.retired = true;
        let result = match &state.prepared {
            Some(p) if p.working != self.as_found => {
                let budget = profile.lockout.threshold.saturating_sub(1).max(1);
                match recover_key(&custody.journal, &p.key, Some(&self.target), budget, None).await {
                    Ok(r) if r.is_finished() => Ok(Some(format!("end of run: {r}"))),
                    Ok(r) => Err(r.to_string()),
                    Err(e) => Err(e.to_string()),
                }
            }
            _ => Ok(None),
        };
        if let Some(e) = self.emulated.lock().await.take() {
            e.agent.detach().await;
            e.recorder.shutdown().await;
            drop(e.board);
        }
        result
    }
}

/// The device's account of itself, read over HTTP CGI with the current administrator password.
/// A field the device does not answer stays empty (the report shows it as unknown).
pub async fn read_identity(dut: &Dut) -> crate::record::DeviceIdentity {
    let cgi = Cgi::new(&dut.target);
    let admin = dut.admin();
    // Four independent reads at once: on a bench each is a round trip of 50–300 ms.
    let (version, model, serial, machine_name) = tokio::join!(
        cgi.software_version(&admin),
        cgi.device_type(&admin),
        cgi.serial_no(&admin),
        cgi.machine_name(&admin)
    );
    let (firmware_version, firmware_build) = match version.ok() {
        Some(v) => match v.split_once(",build:") {
            Some((ver, build)) => (Some(ver.trim().to_owned()), Some(build.trim().to_owned())),
            None => (Some(v), None),
        },
        None => (None, None),
    };
    crate::record::DeviceIdentity {
        model: model.ok(),
        serial: serial.ok(),
        machine_name: machine_name.ok(),
        firmware_version,
        firmware_build,
    }
}

/// The local services the device answers on, without credentials, that `profile` does not list
/// (RTSP `OPTIONS`, ONVIF `GetSystemDateAndTime`; HTTP CGI is how the device is reached at all, and
/// RPC2 cannot be probed without a login attempt that would count against the lockout).
async fn unlisted_services(target: &Target, profile: &FirmwareProfile) -> Vec<Interface> {
    let mut out = Vec::new();
    for i in Interface::ALL {
        if profile.has(crate::dut::profile_interface(i)) {
            continue;
        }
        let answers = match i {
            Interface::Rtsp => resetlab_device::Rtsp::options(target).await.is_ok(),
            Interface::Onvif => resetlab_device::Onvif::new(target).system_date_and_time().await.is_ok(),
            Interface::Http | Interface::Rpc2 => false,
        };
        if answers {
            out.push(i);
        }
    }
    out
}
