//! The public face of one emulated recorder: configuration, start, addresses, the rig's power and
//! link switches, the console cable, counters, shutdown. Many recorders can live in one process;
//! each has its own ports, serial and state.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use resetlab_profile::FirmwareProfile;
use resetlab_profile::firmware::DefaultPasswordPolicy;
use resetlab_wire::Secret;
use tokio::sync::broadcast;

use crate::defects::Defect;
use crate::error::EmulatorError;
use crate::firmware::{Firmware, P2pLogin, Stats};
use crate::latency::Latency;
use crate::power::Plant;

/// How to build a recorder.
#[derive(Debug, Clone)]
pub struct RecorderConfig {
    /// The firmware it runs.
    pub profile: FirmwareProfile,
    /// Bugs it is built with (none for a conforming recorder).
    pub defects: Vec<Defect>,
    /// Address its services listen on (127.0.0.1).
    pub bind: IpAddr,
    /// HTTP CGI + RPC2 port; 0 picks a free one, kept across power cycles.
    pub http_port: u16,
    /// RTSP port; 0 picks a free one, kept across power cycles.
    pub rtsp_port: u16,
    /// Appended to the profile's serial so that each recorder is distinct.
    pub instance: Option<String>,
    /// Emulated power-on-to-ready time; the flash commit delay is scaled by the same factor.
    /// [`RecorderConfig::real_time`] sets it to the profile's own boot time (40 s for flir-2017).
    pub boot_time: Duration,
    /// Round trip added to every answer on every interface (HTTP CGI, RPC2, RTSP requests, and
    /// the 401 challenges), as a real recorder on a lab LAN takes 50–300 ms. Zero by default.
    pub latency: Duration,
    /// Up to this much more per answer, uniformly drawn.
    pub jitter: Duration,
    /// Seed of the jitter's RNG (reproducible delays); `None` seeds from the OS.
    pub latency_seed: Option<u64>,
}

impl RecorderConfig {
    /// A conforming recorder on 127.0.0.1, free ports, 300 ms boot.
    pub fn new(profile: FirmwareProfile) -> Self {
        RecorderConfig {
            profile,
            defects: Vec::new(),
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            http_port: 0,
            rtsp_port: 0,
            instance: None,
            boot_time: Duration::from_millis(300),
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            latency_seed: None,
        }
    }

    /// The same recorder on hardware time: it boots in the profile's `boot.time_ms` and commits
    /// flash after the profile's `flash.commit_delay_ms`, unscaled.
    pub fn real_time(mut self) -> Self {
        self.boot_time = Duration::from_millis(self.profile.boot.time_ms);
        self
    }

    /// The same recorder answering after `latency` (plus up to `jitter`) on every interface.
    pub fn with_latency(mut self, latency: Duration, jitter: Duration) -> Self {
        self.latency = latency;
        self.jitter = jitter;
        self
    }
}

/// A running emulated recorder; clones share it.
#[derive(Clone)]
pub struct Recorder {
    plant: Arc<Plant>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("serial", &self.plant.fw.serial)
            .field("http", &self.plant.http_addr)
            .field("rtsp", &self.plant.rtsp_addr)
            .field("powered", &self.is_powered())
            .field("linked", &self.is_linked())
            .finish()
    }
}

impl Recorder {
    /// Build, power on and wait until the services answer.
    pub async fn start(cfg: RecorderConfig) -> Result<Recorder, EmulatorError> {
        let serial = format!("{}{}", cfg.profile.identity.serial, cfg.instance.as_deref().unwrap_or(""));
        let latency = Latency::new(cfg.latency, cfg.jitter, cfg.latency_seed);
        let fw = Arc::new(Firmware::new(cfg.profile, &cfg.defects, serial, cfg.boot_time, latency));
        let plant = Arc::new(Plant::new(fw, cfg.bind, cfg.http_port, cfg.rtsp_port, cfg.boot_time)?);
        let _ = plant.fw.rtsp_port.set(plant.rtsp_addr.port());
        let r = Recorder { plant };
        r.plant.set_power(true).await;
        r.wait_ready(cfg.boot_time * 20 + Duration::from_secs(10)).await?;
        Ok(r)
    }

    /// Where HTTP CGI and RPC2 listen.
    pub fn http_addr(&self) -> SocketAddr {
        self.plant.http_addr
    }

    /// Where RTSP listens.
    pub fn rtsp_addr(&self) -> SocketAddr {
        self.plant.rtsp_addr
    }

    /// The serial number (profile serial plus instance suffix).
    pub fn serial(&self) -> String {
        self.plant.fw.serial.clone()
    }

    /// The Digest and RPC2 realm, `Login to <serial>`.
    pub fn realm(&self) -> String {
        self.plant.fw.realm.clone()
    }

    /// What the firmware claims about its factory default password (the profile's
    /// `default_password`).
    pub fn default_password_policy(&self) -> DefaultPasswordPolicy {
        self.plant.fw.profile.default_password
    }

    /// The password `user` had when this unit left the factory, as a lab reads it off the label
    /// on the box: the profile's literal, or the unit's own for `unique-per-device` firmware.
    /// `None` for an account the factory did not create.
    pub fn factory_password(&self, user: &str) -> Option<Secret> {
        self.plant.fw.factory_password(user)
    }

    /// Whether `user` exists and its password is still the factory one (changing it back to the
    /// factory text counts as not changed).
    pub fn has_factory_password(&self, user: &str) -> bool {
        self.plant.fw.has_factory_password(user)
    }

    /// Whether this firmware refuses remote use (through its P2P tunnel) as `user` right now:
    /// the profile says `must-change-before-remote` and `user` still has the factory password
    /// (never, when built with [`Defect::DefaultPasswordRemote`]). The recorder's P2P module
    /// (`p2p.rs`, the recorder as a relay tunnel's endpoint) asks this before passing a tunneled
    /// request on.
    pub fn refuses_remote_use(&self, user: &str) -> bool {
        self.plant.fw.refuses_remote_use(user)
    }

    /// What the recorder's P2P module (`p2p.rs`) does with the
    /// `Authorization` header of a tunneled `method` request before passing it on: pass it on,
    /// re-sign it, or refuse it (see [`P2pLogin`]).
    pub fn p2p_login(&self, method: &str, authorization: &str) -> P2pLogin {
        self.plant.fw.p2p_login(method, authorization)
    }

    /// The power relay: off cuts everything at once; on boots (see [`Recorder::wait_ready`]).
    pub async fn set_power(&self, on: bool) {
        self.plant.set_power(on).await;
    }

    /// The network relay: down closes services and drops connections; the box keeps running.
    pub async fn set_link(&self, up: bool) {
        self.plant.set_link(up).await;
    }

    /// Whether power is on.
    pub fn is_powered(&self) -> bool {
        self.plant.is_powered()
    }

    /// Whether the network link is up.
    pub fn is_linked(&self) -> bool {
        self.plant.is_linked()
    }

    /// Wait until the services answer (powered, booted, link up), or fail after `deadline`.
    pub async fn wait_ready(&self, deadline: Duration) -> Result<(), EmulatorError> {
        let mut rx = self.plant.serving();
        match tokio::time::timeout(deadline, rx.wait_for(|s| *s)).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(EmulatorError::NotReady {
                serial: self.serial(),
                powered: self.is_powered(),
                linked: self.is_linked(),
                booted: self.plant.is_booted(),
                deadline,
            }),
        }
    }

    /// Counters since start (they survive power cycles: they are the lab's, not the firmware's).
    pub fn stats(&self) -> Stats {
        self.plant.fw.stats()
    }

    /// The serial console's raw byte stream from now on.
    pub fn console(&self) -> broadcast::Receiver<Bytes> {
        self.plant.fw.console.subscribe()
    }

    /// The delay between an accepted change and its flash write in this emulation (the profile's
    /// `flash.commit_delay_ms` scaled like the boot time).
    pub fn flash_commit_delay(&self) -> Duration {
        self.plant.fw.flash_delay
    }

    /// How long a lockout lasts in this emulation (the profile's `lockout.duration_s` scaled like
    /// the boot time).
    pub fn lockout_duration(&self) -> Duration {
        // What the profile promises at this pace; a defective lock timer is not what the lab says.
        crate::clock::scaled(&self.plant.fw.profile, self.plant.boot_time, self.plant.fw.profile.lockout.duration())
    }

    /// The emulated boot time.
    pub fn boot_time(&self) -> Duration {
        self.plant.boot_time
    }

    /// The configured base round-trip latency (without jitter).
    pub fn latency(&self) -> Duration {
        self.plant.fw.latency.base()
    }

    /// Power off for good and release the ports.
    pub async fn shutdown(&self) {
        self.plant.shutdown().await;
    }
}
