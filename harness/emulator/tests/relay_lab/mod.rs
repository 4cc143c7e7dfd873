//! The embedded lab for these tests: a real emulated recorder, the relay, the recorder's device
//! agent, and an app account owning the recorder; plus an independent check of the recorder's
//! password straight on its HTTP port.
#![allow(dead_code)]

use std::time::Duration;

use resetlab_app::digest::{Route, send_authenticated};
use resetlab_app::{
    App, AppProfile, AppSession, DeviceCredentials, DirectBackend, FormFactor, LoginOutcome, Platform, RawRequest,
    RelayBackend, Secret,
};
use resetlab_cloud_relay::agent::AgentHandle;
use resetlab_cloud_relay::{Relay, RelayConfig};
use resetlab_emulator::{Defect, Recorder, RecorderConfig};

/// Every wait in these tests gives up after this.
pub const STEP: Duration = Duration::from_secs(10);
/// The factory password of the flir-2017 profile.
pub const FACTORY: &str = "000000";
/// The admin password [`Lab::start`] sets locally first: flir-2017 is `must-change-before-remote`,
/// so the factory default is refused through the relay (ETSI EN 303 645 5.1-1).
pub const SETUP: &str = "setup1";
pub const ACCOUNT: &str = "owner@lab.test";
pub const ACCOUNT_PASSWORD: &str = "app-account-pw";

/// The app flow of the `resetlab-app` model over the relay's API: a client of the relay for these
/// tests (what the relay carries and counts), not a judge of any app requirement — the suite
/// judges the app only through a driven app (the emulated phone, Appium, a person).
pub type RelayApp = resetlab_app::FlowApp<RelayBackend>;

/// Sign into the lab's app account at `relay` on `session`'s device.
pub async fn sign_in(session: AppSession, relay: &str) -> RelayApp {
    let backend = RelayBackend::login(relay, ACCOUNT, &Secret::new(ACCOUNT_PASSWORD)).await.expect("app signs in");
    resetlab_app::FlowApp::new(session, backend)
}

pub struct Lab {
    pub recorder: Recorder,
    pub relay: Relay,
    pub agent: AgentHandle,
    pub serial: String,
    /// The admin password now (as the lab set it).
    pub admin_password: String,
    /// Password changes the lab made itself at set-up.
    set_up_changes: u64,
}

static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Lab {
    pub async fn start() -> Lab {
        Lab::start_with(RelayConfig::default()).await
    }

    /// The lab with the recorder set up: the admin password changed locally from the factory
    /// default to [`SETUP`], as an installer does before remote use.
    pub async fn start_with(cfg: RelayConfig) -> Lab {
        let mut lab = Lab::factory_with(cfg, &[]).await;
        lab.set_admin_password_locally(SETUP).await;
        lab.set_up_changes = lab.recorder.stats().password_changes;
        // The set-up is in flash before the tests cut power (flir-2017 commits after a delay).
        let saved = async {
            while lab.recorder.stats().flash_commits < lab.set_up_changes {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(STEP, saved).await.expect("the set-up password reaches flash");
        lab
    }

    /// The lab with the recorder at factory state (admin still has [`FACTORY`]).
    pub async fn factory(defects: &[Defect]) -> Lab {
        Lab::factory_with(RelayConfig::default(), defects).await
    }

    pub async fn factory_with(cfg: RelayConfig, defects: &[Defect]) -> Lab {
        let mut rc = RecorderConfig::new(resetlab_profile::flir_2017());
        rc.defects = defects.to_vec();
        rc.instance = Some(format!(
            "R{}x{}",
            std::process::id() % 10000,
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let recorder = tokio::time::timeout(Duration::from_secs(20), Recorder::start(rc))
            .await
            .expect("recorder start timed out")
            .expect("recorder starts");
        let relay = Relay::start(cfg).await.expect("relay starts");
        let serial = recorder.serial();
        relay.add_account(ACCOUNT, ACCOUNT_PASSWORD, [serial.clone()]);
        let agent = relay.attach(&recorder);
        relay.wait_online(&serial, STEP).await.expect("recorder registers at the relay");
        Lab { recorder, relay, agent, serial, admin_password: FACTORY.to_owned(), set_up_changes: 0 }
    }

    /// Password changes since the lab's own set-up.
    pub fn changes(&self) -> u64 {
        self.recorder.stats().password_changes - self.set_up_changes
    }

    /// Change admin's password on the recorder's own HTTP port (local use), with Digest.
    pub async fn set_admin_password_locally(&mut self, new: &str) {
        let direct = DirectBackend::new(self.recorder.http_addr(), None);
        let creds = DeviceCredentials::new("admin", self.admin_password.as_str());
        let req = RawRequest::get(format!(
            "/cgi-bin/userManager.cgi?action=modifyPassword&name=admin&pwd={new}&pwdOld={}",
            self.admin_password
        ));
        let r =
            send_authenticated(&direct, Route::App, &self.serial, &creds, req).await.expect("modifyPassword answered");
        assert_eq!((r.status, r.body.trim()), (200, "OK"), "local modifyPassword of admin");
        self.admin_password = new.to_owned();
    }

    /// The app signed into the lab's account, no device saved yet.
    pub async fn signed_in_app(&self, platform: Platform, form: FormFactor, profile: AppProfile) -> RelayApp {
        let session = AppSession::new(platform, form, profile, ACCOUNT);
        sign_in(session, &self.relay.url()).await
    }

    /// The app signed into the lab's account with the recorder saved as `user`/`password`.
    pub async fn app(
        &self,
        platform: Platform,
        form: FormFactor,
        profile: AppProfile,
        user: &str,
        password: &str,
    ) -> RelayApp {
        let session = AppSession::new(platform, form, profile, ACCOUNT);
        let mut app = sign_in(session, &self.relay.url()).await;
        app.add_device(&self.serial, DeviceCredentials::new(user, password)).await.expect("device added");
        app
    }

    pub async fn admin_app(&self, platform: Platform, form: FormFactor, profile: AppProfile) -> RelayApp {
        self.app(platform, form, profile, "admin", &self.admin_password).await
    }

    /// Whether the recorder itself (its own HTTP port, not the relay) accepts `user`/`password`.
    pub async fn device_accepts(&self, user: &str, password: &str) -> bool {
        let direct = DirectBackend::new(self.recorder.http_addr(), None);
        let creds = DeviceCredentials::new(user, password);
        let req = RawRequest::get("/cgi-bin/magicBox.cgi?action=getSerialNo");
        match send_authenticated(&direct, Route::App, &self.serial, &creds, req).await {
            Ok(r) => r.status == 200,
            Err(e) => panic!("recorder at {} did not answer the check: {e:?}", self.recorder.http_addr()),
        }
    }

    /// Add a secondary (group `user`) account on the recorder, as the administrator.
    pub async fn add_secondary(&self, name: &str, password: &str) {
        let direct = DirectBackend::new(self.recorder.http_addr(), None);
        let creds = DeviceCredentials::new("admin", self.admin_password.as_str());
        let req = RawRequest::get(format!(
            "/cgi-bin/userManager.cgi?action=addUser&user.Name={name}&user.Password={password}&user.Group=user&user.Sharable=true&user.Reserved=false"
        ));
        let r = send_authenticated(&direct, Route::App, &self.serial, &creds, req).await.expect("addUser answered");
        assert_eq!((r.status, r.body.trim()), (200, "OK"), "addUser of a secondary user");
    }

    pub async fn shutdown(self) {
        self.agent.detach().await;
        self.relay.shutdown().await;
        self.recorder.shutdown().await;
    }
}

/// Assert the app's saved entry connects through the relay.
pub async fn saved_entry_connects(app: &mut RelayApp) {
    assert_eq!(app.connect_saved_entry().await.expect("saved entry check runs"), LoginOutcome::Accepted);
}
