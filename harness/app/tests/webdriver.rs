//! The `webdriver` driver against the emulated phone over real HTTP: a real recorder behind the
//! real relay, the phone's app reaching it through the relay, and the driver only tapping and
//! reading the screen. For each app defect, the driven app shows it — the outcomes come from the
//! screen, and the recorder (checked on its own port, not through the app) says what really happened.

use std::time::{Duration, Instant};

use resetlab_app::{
    App, AppSession, DeviceCredentials, FormFactor, LoginOutcome, MenuItem, ModifyOutcome, Platform, Secret,
    SettingsItem, WebDriverApp, WebDriverConfig, flir_cloud_2017, flir_cloud_fixed,
};
use resetlab_cloud_relay::agent::AgentHandle;
use resetlab_cloud_relay::{Relay, RelayConfig};
use resetlab_device::{Cgi, Credentials, Target};
use resetlab_emulated_phone::{Phone, PhoneConfig, PhoneDefect};
use resetlab_emulator::{Recorder, RecorderConfig};

const STEP: Duration = Duration::from_secs(10);
const FACTORY: &str = "000000";
const SETUP: &str = "setup1";
const NEW: &str = "newpw1";
const ACCOUNT: &str = "owner@driver.test";
const ACCOUNT_PASSWORD: &str = "app-account-pw";

static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

struct Lab {
    recorder: Recorder,
    relay: Relay,
    agent: AgentHandle,
    phone: Phone,
    serial: String,
    set_up_changes: u64,
}

impl Lab {
    async fn start(defects: &[PhoneDefect]) -> Lab {
        let mut rc = RecorderConfig::new(resetlab_profile::flir_2017());
        rc.instance = Some(format!(
            "W{}x{}",
            std::process::id() % 10000,
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let recorder = tokio::time::timeout(STEP, Recorder::start(rc))
            .await
            .expect("recorder starts in time")
            .expect("recorder starts");
        recorder.wait_ready(STEP).await.expect("recorder ready");
        let cgi = Lab::cgi_of(&recorder);
        // flir-2017 refuses its factory password remotely: the installer sets one locally first.
        cgi.modify_password(
            &Credentials::new("admin", Secret::new(FACTORY)),
            "admin",
            &Secret::new(SETUP),
            &Secret::new(FACTORY),
        )
        .await
        .expect("local set-up");
        let serial = recorder.serial();
        let relay = Relay::start(RelayConfig::default()).await.expect("relay starts");
        relay.add_account(ACCOUNT, ACCOUNT_PASSWORD, [serial.clone()]);
        let agent = relay.attach(&recorder);
        relay.wait_online(&serial, STEP).await.expect("recorder online at the relay");
        let phone = Phone::start(PhoneConfig::new(relay.url()).with_defects(defects.iter().copied()))
            .await
            .expect("phone starts");
        let set_up_changes = recorder.stats().password_changes;
        // The set-up must be in flash before a test cuts power (flir-2017 commits after a delay).
        let saved = async {
            while recorder.stats().flash_commits < set_up_changes {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(STEP, saved).await.expect("the set-up password reaches flash");
        Lab { recorder, relay, agent, phone, serial, set_up_changes }
    }

    fn cgi_of(recorder: &Recorder) -> Cgi {
        let a = recorder.http_addr();
        Cgi::new(&Target::new(a.ip().to_string(), a.port(), recorder.rtsp_addr().port()).with_timeout(STEP))
    }

    /// Whether the recorder itself (its own port) accepts admin with `password`.
    async fn accepts(&self, password: &str) -> bool {
        Lab::cgi_of(&self.recorder).machine_name(&Credentials::new("admin", Secret::new(password))).await.is_ok()
    }

    fn changes(&self) -> u64 {
        self.recorder.stats().password_changes - self.set_up_changes
    }

    /// The app on `platform`/`form` with `release`, signed in, the recorder added as admin.
    async fn app(&self, platform: Platform, form: FormFactor, release: resetlab_app::AppProfile) -> WebDriverApp {
        let session = AppSession::new(platform, form, release, ACCOUNT);
        let config = WebDriverConfig::new(self.phone.url(), ACCOUNT, Secret::new(ACCOUNT_PASSWORD));
        let mut app = WebDriverApp::open(session, config).await.expect("app opens and signs in");
        app.add_device(&self.serial, DeviceCredentials::new("admin", SETUP)).await.expect("recorder added");
        app
    }

    async fn power(&self, on: bool) {
        self.recorder.set_power(on).await;
        self.relay.wait_online_state(&self.serial, on, STEP).await.expect("relay sees the power state");
        if on {
            self.recorder.wait_ready(STEP).await.expect("recorder boots");
        }
    }

    async fn shutdown(self) {
        self.phone.shutdown().await;
        self.agent.detach().await;
        self.relay.shutdown().await;
        self.recorder.shutdown().await;
    }
}

fn s(p: &str) -> Secret {
    Secret::new(p)
}

async fn reset(app: &mut WebDriverApp, lab: &Lab, new: &str, confirm: &str) -> ModifyOutcome {
    app.reset_password(&lab.serial, &s(new), &s(confirm)).await.expect("the driver completes the steps")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iphone_changes_the_password_and_it_works_remotely_from_phone_tablet_and_computer() {
    let lab = Lab::start(&[]).await;
    let mut app = lab.app(Platform::Ios, FormFactor::Phone, flir_cloud_2017()).await;
    let t = Instant::now();
    assert_eq!(reset(&mut app, &lab, NEW, NEW).await, ModifyOutcome::Changed);
    println!("menu → Device Manager → device → Settings → Modify password → check mark: {:?}", t.elapsed());
    assert_eq!(lab.changes(), 1);
    assert!(lab.accepts(NEW).await && !lab.accepts(SETUP).await, "the recorder holds the new password only");
    assert_eq!(app.connect_saved_entry().await.unwrap(), LoginOutcome::Accepted);
    for form in FormFactor::ALL {
        let t = Instant::now();
        assert_eq!(
            app.remote_login(form, &DeviceCredentials::new("admin", NEW)).await.unwrap(),
            LoginOutcome::Accepted,
            "new from a {form}"
        );
        println!("remote login from a {form}: {:?}", t.elapsed());
        let old = app.remote_login(form, &DeviceCredentials::new("admin", SETUP)).await.unwrap();
        assert!(matches!(old, LoginOutcome::Refused(_)), "old from a {form}: {old:?}");
    }
    assert_eq!(lab.phone.open_sessions(), 1, "remote clients close their sessions");
    app.close().await;
    assert_eq!(lab.phone.open_sessions(), 0);
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_own_refusals_and_the_offline_message_come_from_the_screen() {
    let lab = Lab::start(&[]).await;
    let mut app = lab.app(Platform::Ios, FormFactor::Tablet, flir_cloud_2017()).await;
    let before = lab.relay.forwarded(&lab.serial);
    assert!(
        matches!(reset(&mut app, &lab, "abc12", "abc12").await, ModifyOutcome::RefusedByApp(t) if t.contains("6 characters"))
    );
    assert!(
        matches!(reset(&mut app, &lab, NEW, "other1").await, ModifyOutcome::RefusedByApp(t) if t.contains("do not match"))
    );
    assert_eq!(lab.relay.forwarded(&lab.serial), before, "nothing reached the recorder");
    let evidence = app.last_failure_artifacts().expect("a refusal keeps the screen");
    assert!(evidence.screenshot_png.starts_with(b"\x89PNG\r\n\x1a\n"), "{evidence:?}");
    assert!(
        evidence.page_source.contains("password-hint") && !evidence.page_source.contains("other1"),
        "{}",
        evidence.page_source
    );
    lab.power(false).await;
    assert_eq!(reset(&mut app, &lab, NEW, NEW).await, ModifyOutcome::Offline);
    lab.power(true).await;
    assert_eq!(lab.changes(), 0);
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn android_2017_offers_no_modify_password_and_the_fixed_release_does() {
    let lab = Lab::start(&[]).await;
    let mut old = lab.app(Platform::Android, FormFactor::Phone, flir_cloud_2017()).await;
    assert_eq!(reset(&mut old, &lab, NEW, NEW).await, ModifyOutcome::NotOffered);
    assert_eq!(lab.changes(), 0);
    let mut fixed = lab.app(Platform::Android, FormFactor::Phone, flir_cloud_fixed()).await;
    assert_eq!(reset(&mut fixed, &lab, NEW, NEW).await, ModifyOutcome::Changed);
    assert!(lab.accepts(NEW).await);
    lab.shutdown().await;
}

// ---- Each app defect, as the driven app shows it ------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defect_confirm_not_checked_lets_a_mismatch_reach_the_recorder() {
    let lab = Lab::start(&[PhoneDefect::ConfirmNotChecked]).await;
    let mut app = lab.app(Platform::Ios, FormFactor::Phone, flir_cloud_2017()).await;
    assert_eq!(reset(&mut app, &lab, NEW, "other1").await, ModifyOutcome::Changed);
    assert!(lab.accepts(NEW).await, "the first entry was stored although the confirmation differed");
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defect_android_offered_2017_offers_modify_password_on_the_2017_android_app() {
    let lab = Lab::start(&[PhoneDefect::AndroidOffered2017]).await;
    let mut app = lab.app(Platform::Android, FormFactor::Phone, flir_cloud_2017()).await;
    assert_eq!(app.open_menu().await.unwrap(), vec![MenuItem::DeviceManager]);
    app.device_manager().await.unwrap();
    app.tap_device(&lab.serial).await.unwrap();
    assert!(app.settings().await.unwrap().contains(&SettingsItem::ModifyPassword));
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defect_success_while_offline_shows_success_and_nothing_changed() {
    let lab = Lab::start(&[PhoneDefect::SuccessWhileOffline]).await;
    let mut app = lab.app(Platform::Ios, FormFactor::Phone, flir_cloud_2017()).await;
    lab.power(false).await;
    assert_eq!(reset(&mut app, &lab, NEW, NEW).await, ModifyOutcome::Changed);
    lab.power(true).await;
    let (kept, changes) = (lab.accepts(SETUP).await, lab.changes());
    assert!(kept && changes == 0, "the recorder never changed: old accepted {kept}, changes {changes}");
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defect_length_not_checked_sends_a_short_password_to_the_recorder() {
    let lab = Lab::start(&[PhoneDefect::LengthNotChecked]).await;
    let mut app = lab.app(Platform::Ios, FormFactor::Phone, flir_cloud_2017()).await;
    let before = lab.relay.forwarded(&lab.serial);
    let outcome = reset(&mut app, &lab, "abc12", "abc12").await;
    assert!(matches!(outcome, ModifyOutcome::RefusedByDevice(_)), "the recorder, not the app, refused: {outcome:?}");
    assert!(lab.relay.forwarded(&lab.serial) > before, "the request reached the recorder");
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defect_entry_keeps_old_password_breaks_the_saved_entry() {
    let lab = Lab::start(&[PhoneDefect::EntryKeepsOldPassword]).await;
    let mut app = lab.app(Platform::Ios, FormFactor::Phone, flir_cloud_2017()).await;
    assert_eq!(reset(&mut app, &lab, NEW, NEW).await, ModifyOutcome::Changed);
    assert!(lab.accepts(NEW).await);
    let saved = app.connect_saved_entry().await.unwrap();
    assert!(matches!(saved, LoginOutcome::Refused(_)), "the saved entry still holds the old password: {saved:?}");
    assert!(app.last_failure_artifacts().unwrap().page_source.contains("login-error"));
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defect_ipad_not_offered_hides_modify_password_on_the_ipad_only() {
    let lab = Lab::start(&[PhoneDefect::IpadNotOffered]).await;
    let mut ipad = lab.app(Platform::Ios, FormFactor::Tablet, flir_cloud_2017()).await;
    assert_eq!(reset(&mut ipad, &lab, NEW, NEW).await, ModifyOutcome::NotOffered);
    let mut iphone = lab.app(Platform::Ios, FormFactor::Phone, flir_cloud_2017()).await;
    assert_eq!(reset(&mut iphone, &lab, NEW, NEW).await, ModifyOutcome::Changed);
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defect_menu_without_device_manager_breaks_the_articles_path() {
    let lab = Lab::start(&[PhoneDefect::MenuWithoutDeviceManager]).await;
    let mut app = lab.app(Platform::Ios, FormFactor::Phone, flir_cloud_2017()).await;
    assert_eq!(app.open_menu().await.unwrap(), Vec::<MenuItem>::new());
    assert!(matches!(reset(&mut app, &lab, NEW, NEW).await, ModifyOutcome::PathNotAsWritten(_)));
    let ev = app.last_failure_artifacts().expect("the menu's screen is kept");
    assert!(
        ev.step.contains("Device Manager")
            && ev.page_source.contains("menu-live-view")
            && !ev.page_source.contains("menu-device-manager")
    );
    assert!(ev.screenshot_png.starts_with(b"\x89PNG"));
    assert_eq!(lab.changes(), 0);
    // Remote clients reach the recorder without the menu: only the article's path is broken.
    let remote =
        app.remote_login_to(&lab.serial, FormFactor::Computer, &DeviceCredentials::new("admin", SETUP)).await.unwrap();
    assert_eq!(remote, LoginOutcome::Accepted);
    lab.shutdown().await;
}

/// What the embedded suite asks of the driven app, in one lab: 11 sign-ins with the recorder added,
/// 8 Modify password flows (3 of them refused), 12 remote logins (ART-REMOTE from an iPhone and an
/// iPad: new and old password from a smartphone, tablet and computer), a saved-entry check and a
/// delete and re-add. The suite's whole run must stay under 5 s; this is the app's share of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suites_app_load_takes_a_fraction_of_the_budget() {
    let lab = Lab::start(&[]).await;
    let t = Instant::now();
    let mut current = SETUP.to_owned();
    let passwords = ["dr1ve1", "dr1ve2", "dr1ve3", "dr1ve4", "dr1ve5"];
    let mut next = passwords.iter();
    let forms = [FormFactor::Phone, FormFactor::Tablet, FormFactor::Phone, FormFactor::Tablet, FormFactor::Phone];
    for (i, form) in forms.into_iter().enumerate() {
        let session = AppSession::new(Platform::Ios, form, flir_cloud_2017(), ACCOUNT);
        let config = WebDriverConfig::new(lab.phone.url(), ACCOUNT, s(ACCOUNT_PASSWORD));
        let mut app = WebDriverApp::open(session, config).await.unwrap();
        app.add_device(&lab.serial, DeviceCredentials::new("admin", current.as_str())).await.unwrap();
        let new = next.next().unwrap().to_string();
        assert_eq!(reset(&mut app, &lab, &new, &new).await, ModifyOutcome::Changed);
        let old = std::mem::replace(&mut current, new);
        if i < 2 {
            for f in FormFactor::ALL {
                assert_eq!(
                    app.remote_login(f, &DeviceCredentials::new("admin", current.as_str())).await.unwrap(),
                    LoginOutcome::Accepted
                );
                let refused = app.remote_login(f, &DeviceCredentials::new("admin", old.as_str())).await.unwrap();
                assert!(matches!(refused, LoginOutcome::Refused(_)), "{refused:?}");
            }
        }
        if i == 2 {
            assert_eq!(app.connect_saved_entry().await.unwrap(), LoginOutcome::Accepted);
            app.remove_device(&lab.serial).await.unwrap();
            app.add_device(&lab.serial, DeviceCredentials::new("admin", current.as_str())).await.unwrap();
            assert_eq!(app.connect_saved_entry().await.unwrap(), LoginOutcome::Accepted);
        }
        app.close().await;
    }
    for (new, confirm) in [("abc12", "abc12"), ("abcd123", "abcd123"), ("other1", "other2")] {
        let session = AppSession::new(Platform::Ios, FormFactor::Phone, flir_cloud_2017(), ACCOUNT);
        let mut app = WebDriverApp::open(session, WebDriverConfig::new(lab.phone.url(), ACCOUNT, s(ACCOUNT_PASSWORD)))
            .await
            .unwrap();
        app.add_device(&lab.serial, DeviceCredentials::new("admin", current.as_str())).await.unwrap();
        assert!(matches!(reset(&mut app, &lab, new, confirm).await, ModifyOutcome::RefusedByApp(_)));
        app.close().await;
    }
    let took = t.elapsed();
    println!("the suite's app load (8 sign-ins, 8 flows, 12 remote logins, re-add): {took:?}");
    assert!(took < Duration::from_secs(3), "the driven app alone took {took:?} of the suite's 5 s");
    assert_eq!(lab.phone.open_sessions(), 0);
    lab.shutdown().await;
}
