//! The embedded lab's emulated parts: for each lease, a recorder, a relay board and a console
//! started on loopback, the recorder registered with the run's cloud relay, and the bench file's
//! `driver: emulated` parts resolved to their addresses. One emulated phone per run (an
//! Appium-compatible WebDriver endpoint, started with the relay) is the lab's app: scenarios drive
//! it with the same `webdriver` driver a lab points at Appium. What comes out is an ordinary bench file,
//! turned into a station by the same [`Station::from_bench`] a real bench goes through.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use std::net::SocketAddr;

use resetlab_cloud_relay::protocol::HttpRequest;
use resetlab_cloud_relay::{Relay, RelayConfig, Screened, TunnelEndpoint};
use resetlab_emulated_phone::{Phone, PhoneConfig, PhoneDefect};
use resetlab_emulator::{Defect, Recorder, RecorderConfig};
use resetlab_profile::FirmwareProfile;
use resetlab_rig::bench::Bench;
use resetlab_wire::Secret;

use super::LabError;
use super::station::{EmulatedHandles, Station};
use crate::lossy_link::{LossyLink, RelayFault};

/// The embedded lab's bench file.
pub const EMULATOR_BENCH: &str = include_str!("../../../../rigs/emulator.yaml");

/// How long a freshly started emulated recorder may take to answer.
const EMULATED_READY: Duration = Duration::from_secs(10);

/// How long a recorder may take to show up as online at the relay.
const ONLINE_DEADLINE: Duration = Duration::from_secs(10);

/// How the embedded lab's relay board is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum EmulatedModbus {
    /// Modbus TCP on 127.0.0.1.
    #[default]
    Tcp,
    /// Modbus RTU over a pseudo-terminal.
    Rtu,
}

impl EmulatedModbus {
    /// How the resolved bench reaches the emulated board.
    pub fn link(self) -> resetlab_emulated_rig::BoardLink {
        match self {
            EmulatedModbus::Tcp => resetlab_emulated_rig::BoardLink::Tcp,
            EmulatedModbus::Rtu => resetlab_emulated_rig::BoardLink::Rtu,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            EmulatedModbus::Tcp => "modbus-tcp",
            EmulatedModbus::Rtu => "modbus-rtu on a pseudo-terminal",
        }
    }
}

/// The cloud side of an emulated station: the run's relay, an app account that owns the
/// recorder, and the run's emulated phone whose app reaches the relay.
#[derive(Debug, Clone)]
pub struct Remote {
    pub relay: Relay,
    pub serial: String,
    pub account: String,
    pub password: Secret,
    /// The emulated phone's W3C WebDriver endpoint (`http://127.0.0.1:PORT`).
    pub phone_url: String,
}

impl Remote {
    /// How the `webdriver` driver reaches this station's app: the emulated phone, signed into the
    /// station's app account.
    pub fn webdriver_config(&self) -> resetlab_app::WebDriverConfig {
        resetlab_app::WebDriverConfig::new(self.phone_url.clone(), self.account.clone(), self.password.clone())
    }

    /// A raw-request backend signed into this station's app account at the relay (what a modified
    /// app could send; no app screen involved).
    pub async fn raw_backend(&self) -> Result<resetlab_app::RelayBackend, resetlab_app::AppError> {
        resetlab_app::RelayBackend::login(&self.relay.url(), &self.account, &self.password).await
    }

    /// Wait until the relay sees the recorder online (`true`) or offline (`false`).
    pub async fn wait_online(&self, online: bool) -> Result<(), String> {
        self.relay.wait_online_state(&self.serial, online, ONLINE_DEADLINE).await.map_err(|e| e.to_string())
    }
}

/// What the embedded lab starts for each lease.
#[derive(Debug)]
pub struct Emulated {
    pub profile: FirmwareProfile,
    pub defects: Vec<Defect>,
    pub modbus: EmulatedModbus,
    /// Emulated boot time (the profile's real boot time is ~40 s; the lab scales it down).
    pub boot_time: Duration,
    /// The cloud relay every emulated recorder of the run dials (started with the first lease).
    relay: tokio::sync::OnceCell<Relay>,
    /// The run's emulated phone (started with the relay); its app carries the app defects.
    phone: tokio::sync::OnceCell<Phone>,
    app_defects: Vec<PhoneDefect>,
    next_instance: AtomicU64,
    /// A rehearsed network fault on each recorder's relay path (`--relay-fault`).
    pub relay_fault: Option<RelayFault>,
    /// The lossy links of that fault, one per station, kept for the run (their counts go in the
    /// record).
    links: std::sync::Mutex<Vec<LossyLink>>,
    /// Changes those links matched, counted across all of them: the lab's stations share one
    /// flaky network, so "every second change" is every second change of the run.
    relay_changes: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Emulated {
    pub fn new(
        profile: FirmwareProfile,
        defects: Vec<Defect>,
        modbus: EmulatedModbus,
        app_defects: Vec<PhoneDefect>,
    ) -> Self {
        Emulated {
            profile,
            defects,
            modbus,
            boot_time: Duration::from_millis(300),
            relay: Default::default(),
            phone: Default::default(),
            app_defects,
            next_instance: AtomicU64::new(1),
            relay_fault: None,
            links: Default::default(),
            relay_changes: Default::default(),
        }
    }

    /// Answers the lossy links of `--relay-fault` spoiled so far (`None` without one).
    pub fn spoiled_on_relay_path(&self) -> Option<u64> {
        self.relay_fault?;
        Some(self.links.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|l| l.spoiled() as u64).sum())
    }

    /// Start a recorder, its relay board and console, register it with the relay, resolve `bench`
    /// to them and build the station from the resolved bench file.
    pub async fn start_station(&self, bench: &Bench, profile: &FirmwareProfile) -> Result<Station, LabError> {
        let n = self.next_instance.fetch_add(1, Ordering::Relaxed);
        let mut cfg = RecorderConfig::new(profile.clone());
        cfg.defects = self.defects.clone();
        cfg.instance = Some(format!("{n:04}"));
        cfg.boot_time = self.boot_time;
        let recorder = Recorder::start(cfg).await.map_err(|e| LabError::Emulator(e.to_string()))?;
        recorder.wait_ready(EMULATED_READY).await.map_err(|e| LabError::Emulator(e.to_string()))?;
        let layout = resetlab_emulated_rig::Layout::from_bench(bench);
        let board = resetlab_emulated_rig::EmulatedBench::start(vec![recorder.clone()], layout)
            .await
            .map_err(|e| LabError::Emulator(e.to_string()))?;
        let resolved = resetlab_emulated_rig::resolve(bench, &board, 0, self.modbus.link());
        let (remote, agent) = self.remote_for(&recorder).await?;
        // A recorder fresh from the factory: its administrator password is the profile's default.
        let as_found = profile.admin().password.clone();
        let handles = EmulatedHandles { recorder, board, remote, agent };
        Station::from_bench(&resolved, None, profile, as_found, None, Some(handles))
            .await
            .map_err(|e| LabError::Emulator(format!("{e:#}")))
    }

    /// Register `recorder` with the run's relay under a fresh app account and attach its tunnel.
    async fn remote_for(
        &self,
        recorder: &Recorder,
    ) -> Result<(Remote, resetlab_cloud_relay::agent::AgentHandle), LabError> {
        let relay = self
            .relay
            .get_or_try_init(|| Relay::start(RelayConfig::default()))
            .await
            .map_err(|e| LabError::Emulator(format!("cloud relay: {e}")))?
            .clone();
        let serial = recorder.serial();
        let account = format!("owner-{serial}@lab.invalid");
        let password = crate::password::generate(&self.profile.password_rule, 12);
        relay.add_account(&account, password.expose().to_owned(), [serial.clone()]);
        let agent = match self.relay_fault {
            None => relay.attach(recorder),
            Some(fault) => {
                let link = LossyLink::start_counting(recorder.http_addr(), fault.rule(), self.relay_changes.clone())
                    .await
                    .map_err(|e| LabError::Emulator(format!("lossy link for --relay-fault: {e}")))?;
                let agent = relay.attach(&BehindLink { recorder: recorder.clone(), http: link.addr });
                self.links.lock().unwrap_or_else(|e| e.into_inner()).push(link);
                agent
            }
        };
        let phone = self
            .phone
            .get_or_try_init(|| {
                Phone::start(PhoneConfig::new(relay.url()).with_defects(self.app_defects.iter().copied()))
            })
            .await
            .map_err(|e| LabError::Emulator(format!("emulated phone: {e}")))?;
        let remote = Remote { relay, serial, account, password, phone_url: phone.url() };
        remote.wait_online(true).await.map_err(LabError::Emulator)?;
        Ok((remote, agent))
    }
}

/// The recorder as its P2P client reaches it through a lossy link on the device's own network:
/// every tunneled request crosses the link; the recorder's P2P module still screens it.
#[derive(Clone)]
struct BehindLink {
    recorder: Recorder,
    http: SocketAddr,
}

impl TunnelEndpoint for BehindLink {
    fn serial(&self) -> String {
        self.recorder.serial()
    }

    fn is_up(&self) -> bool {
        TunnelEndpoint::is_up(&self.recorder)
    }

    fn http_addr(&self) -> SocketAddr {
        self.http
    }

    fn screen(&self, request: HttpRequest) -> Screened {
        TunnelEndpoint::screen(&self.recorder, request)
    }
}

/// The cloud side `resetlab emulate` starts beside its recorder: a relay the recorder dials, an app
/// account that owns it, and an emulated phone whose app reaches it through the relay — so a bench
/// file can drive the app with `app: { driver: webdriver, url: <phone> }` as a lab drives Appium.
#[derive(Debug)]
pub struct EmulatedCloud {
    pub relay: Relay,
    pub phone: Phone,
    pub account: String,
    agent: resetlab_cloud_relay::agent::AgentHandle,
}

impl EmulatedCloud {
    /// Start the relay and the phone for `recorder`; the app account's password is `password`.
    pub async fn start(
        recorder: &Recorder,
        password: &Secret,
        app_defects: Vec<PhoneDefect>,
    ) -> Result<EmulatedCloud, LabError> {
        let relay =
            Relay::start(RelayConfig::default()).await.map_err(|e| LabError::Emulator(format!("cloud relay: {e}")))?;
        let serial = recorder.serial();
        let account = format!("owner-{serial}@lab.invalid");
        relay.add_account(&account, password.expose().to_owned(), [serial.clone()]);
        let agent = relay.attach(recorder);
        relay.wait_online_state(&serial, true, ONLINE_DEADLINE).await.map_err(|e| LabError::Emulator(e.to_string()))?;
        let phone = Phone::start(PhoneConfig::new(relay.url()).with_defects(app_defects))
            .await
            .map_err(|e| LabError::Emulator(format!("emulated phone: {e}")))?;
        Ok(EmulatedCloud { relay, phone, account, agent })
    }

    /// The fields `resetlab emulate` adds to its JSON line.
    pub fn json_fields(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        m.insert("relay".into(), self.relay.url().into());
        m.insert("phone".into(), self.phone.url().into());
        m.insert("app_account".into(), self.account.clone().into());
        m
    }

    pub async fn shutdown(self) {
        self.phone.shutdown().await;
        self.agent.detach().await;
    }
}
