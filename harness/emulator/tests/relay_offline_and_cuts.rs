//! ART-PRE-POWER / ART-PRE-NET over the relay: a recorder without power or link is offline in the
//! app and nothing changes; a tunnel cut in the middle of Modify password never leaves the app
//! claiming the opposite of what the recorder did.

mod relay_lab;

use relay_lab::*;
use resetlab_app::{App, FormFactor, LoginOutcome, ModifyOutcome, Platform, Secret, flir_cloud_2017};
use resetlab_cloud_relay::agent::CutPoint;

async fn to_settings(app: &mut RelayApp, serial: &str) {
    app.open_menu().await.unwrap();
    app.device_manager().await.unwrap();
    app.tap_device(serial).await.unwrap();
    app.settings().await.unwrap();
}

#[tokio::test]
async fn powered_off_recorder_is_offline_in_the_app_and_nothing_changes() {
    let lab = Lab::start().await;
    let mut app = lab.admin_app(Platform::Ios, FormFactor::Phone, flir_cloud_2017()).await;
    lab.recorder.set_power(false).await;
    lab.relay.wait_online_state(&lab.serial, false, STEP).await.unwrap();
    app.open_menu().await.unwrap();
    let list = app.device_manager().await.unwrap();
    assert!(list.iter().all(|d| !d.online), "{list:?}");
    app.tap_device(&lab.serial).await.unwrap();
    app.settings().await.unwrap();
    let new = Secret::new("poff01");
    assert_eq!(app.modify_password(&new, &new).await.unwrap(), ModifyOutcome::Offline);
    assert_eq!(app.connect_saved_entry().await.unwrap(), LoginOutcome::Offline);

    // Power back: the agent redials, the old password is the one that works.
    lab.recorder.set_power(true).await;
    lab.recorder.wait_ready(STEP).await.unwrap();
    lab.relay.wait_online(&lab.serial, STEP).await.unwrap();
    assert_eq!(lab.changes(), 0);
    saved_entry_connects(&mut app).await;
    assert!(lab.device_accepts("admin", SETUP).await);
    lab.shutdown().await;
}

#[tokio::test]
async fn link_down_recorder_is_offline_in_the_app_and_reconnects_when_the_link_returns() {
    let lab = Lab::start().await;
    let mut app = lab.admin_app(Platform::Ios, FormFactor::Tablet, flir_cloud_2017()).await;
    to_settings(&mut app, &lab.serial).await;
    lab.recorder.set_link(false).await;
    lab.relay.wait_online_state(&lab.serial, false, STEP).await.unwrap();
    let new = Secret::new("ldwn01");
    let o = app.modify_password(&new, &new).await.unwrap();
    assert_eq!(o, ModifyOutcome::Offline);
    lab.recorder.set_link(true).await;
    lab.relay.wait_online(&lab.serial, STEP).await.unwrap();
    assert_eq!(lab.changes(), 0);
    saved_entry_connects(&mut app).await;
    lab.shutdown().await;
}

/// The one invariant: what the app shows and what the recorder did never contradict each other.
async fn check_agreement(lab: &Lab, app: &mut RelayApp, outcome: &ModifyOutcome, new: &str) {
    lab.relay.wait_online(&lab.serial, STEP).await.unwrap();
    let old_ok = lab.device_accepts("admin", SETUP).await;
    let new_ok = lab.device_accepts("admin", new).await;
    assert!(old_ok != new_ok, "exactly one of old/new is valid (old {old_ok}, new {new_ok})");
    if outcome.shows_success() {
        assert!(new_ok, "the app reported success while the recorder kept the old password");
    }
    if outcome.shows_not_changed() {
        assert!(old_ok, "the app reported no change while the recorder took the new password: {outcome:?}");
    }
    // Whatever happened, the app can bring its saved entry back in line without re-adding the device.
    assert_eq!(app.reconcile().await.unwrap(), LoginOutcome::Accepted);
    saved_entry_connects(app).await;
    let saved = app.saved_entry().unwrap().credentials.password;
    assert_eq!(saved.expose(), if new_ok { new } else { SETUP });
}

async fn cut(point: CutPoint, on: &str, new: &str) -> ModifyOutcome {
    let lab = Lab::start().await;
    let mut app = lab.admin_app(Platform::Ios, FormFactor::Phone, flir_cloud_2017()).await;
    to_settings(&mut app, &lab.serial).await;
    lab.agent.cut_on(point, on);
    let new_s = Secret::new(new);
    let outcome = app.modify_password(&new_s, &new_s).await.unwrap();
    check_agreement(&lab, &mut app, &outcome, new).await;
    lab.shutdown().await;
    outcome
}

#[tokio::test]
async fn tunnel_cut_while_fetching_the_challenge_shows_offline_and_nothing_changes() {
    let o = cut(CutPoint::BeforeForward, "getMachineName", "cut001").await;
    assert_eq!(o, ModifyOutcome::Offline);
}

#[tokio::test]
async fn tunnel_cut_before_the_change_reaches_the_recorder_is_never_success() {
    let o = cut(CutPoint::BeforeForward, "modifyPassword", "cut002").await;
    assert!(matches!(o, ModifyOutcome::Unknown(_)), "{o:?}");
}

#[tokio::test]
async fn tunnel_cut_after_the_recorder_applied_the_change_is_unknown_not_failure() {
    let o = cut(CutPoint::AfterDeviceAnswered, "modifyPassword", "cut003").await;
    assert!(matches!(o, ModifyOutcome::Unknown(_)), "{o:?}");
}

#[tokio::test]
async fn tunnel_cut_after_the_challenge_answer_shows_offline_and_nothing_changes() {
    // The probe's answer is lost: nothing but a read-only request reached the recorder.
    let o = cut(CutPoint::AfterDeviceAnswered, "getMachineName", "cut004").await;
    assert_eq!(o, ModifyOutcome::Offline);
}

#[tokio::test]
async fn link_cut_while_the_change_is_in_flight_never_contradicts_the_recorder() {
    // A real network cut rather than an agent fault: the link drops as soon as the change is sent.
    let lab = Lab::start().await;
    let mut app = lab.admin_app(Platform::Ios, FormFactor::Phone, flir_cloud_2017()).await;
    to_settings(&mut app, &lab.serial).await;
    let rec = lab.recorder.clone();
    let received = lab.agent.received();
    let agent_rx = &lab.agent;
    let new = Secret::new("cut005");
    let (outcome, _) = tokio::join!(app.modify_password(&new, &new), async {
        // The probe is request received+1, the change received+2: cut right after the change arrives.
        let deadline = tokio::time::Instant::now() + STEP;
        while agent_rx.received() < received + 2 && tokio::time::Instant::now() < deadline {
            tokio::task::yield_now().await;
        }
        rec.set_link(false).await;
    });
    let outcome = outcome.unwrap();
    lab.recorder.set_link(true).await;
    check_agreement(&lab, &mut app, &outcome, "cut005").await;
    lab.shutdown().await;
}
