//! A lab for the phone's tests: a real emulated recorder registered with a real cloud relay under
//! an app account, and the emulated phone pointed at the relay; plus a check of the recorder's
//! password on its own HTTP port with resetlab's device client (not through the phone or relay).
#![allow(dead_code)]

use std::time::Duration;

use resetlab_cloud_relay::agent::AgentHandle;
use resetlab_cloud_relay::{Relay, RelayConfig};
use resetlab_device::{Cgi, Credentials, Secret, Target};
use resetlab_emulated_phone::{Phone, PhoneConfig, PhoneDefect};
use resetlab_emulator::{Recorder, RecorderConfig};

/// Every wait gives up after this.
pub const STEP: Duration = Duration::from_secs(10);
pub const FACTORY: &str = "000000";
/// flir-2017 refuses its factory password remotely: the installer sets this one locally first.
pub const SETUP: &str = "setup1";
pub const ACCOUNT: &str = "owner@phone.test";
pub const ACCOUNT_PASSWORD: &str = "app-account-pw";

pub struct Lab {
    pub recorder: Recorder,
    pub relay: Relay,
    pub agent: AgentHandle,
    pub phone: Phone,
    pub serial: String,
    /// Password changes the lab made itself (the local set-up).
    set_up_changes: u64,
}

static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Lab {
    pub async fn start(defects: &[PhoneDefect]) -> Lab {
        let mut rc = RecorderConfig::new(resetlab_profile::flir_2017());
        rc.instance = Some(format!(
            "P{}x{}",
            std::process::id() % 10000,
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let recorder = tokio::time::timeout(STEP, Recorder::start(rc))
            .await
            .expect("recorder start in time")
            .expect("recorder starts");
        recorder.wait_ready(STEP).await.expect("recorder ready");
        let serial = recorder.serial();
        let cgi = Lab::cgi_of(&recorder);
        cgi.modify_password(
            &Credentials::new("admin", Secret::new(FACTORY)),
            "admin",
            &Secret::new(SETUP),
            &Secret::new(FACTORY),
        )
        .await
        .expect("the installer sets the admin password locally");
        let relay = Relay::start(RelayConfig::default()).await.expect("relay starts");
        relay.add_account(ACCOUNT, ACCOUNT_PASSWORD, [serial.clone()]);
        let agent = relay.attach(&recorder);
        relay.wait_online(&serial, STEP).await.expect("recorder registers at the relay");
        let phone = Phone::start(PhoneConfig::new(relay.url()).with_defects(defects.iter().copied()))
            .await
            .expect("phone starts");
        let set_up_changes = recorder.stats().password_changes;
        Lab { recorder, relay, agent, phone, serial, set_up_changes }
    }

    fn cgi_of(recorder: &Recorder) -> Cgi {
        let http = recorder.http_addr();
        Cgi::new(&Target::new(http.ip().to_string(), http.port(), recorder.rtsp_addr().port()).with_timeout(STEP))
    }

    /// Whether the recorder itself accepts `admin`/`password` on its own HTTP port.
    pub async fn admin_accepts(&self, password: &str) -> bool {
        Lab::cgi_of(&self.recorder).machine_name(&Credentials::new("admin", Secret::new(password))).await.is_ok()
    }

    /// Password changes since the lab's set-up.
    pub fn changes(&self) -> u64 {
        self.recorder.stats().password_changes - self.set_up_changes
    }

    pub async fn shutdown(self) {
        self.phone.shutdown().await;
        self.agent.detach().await;
        self.relay.shutdown().await;
        self.recorder.shutdown().await;
    }
}
