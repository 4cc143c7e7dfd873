//! The article's flow over the relay against a real emulated recorder: who may change the password,
//! from which app, what the app refuses by itself, and what works remotely afterwards.

mod relay_lab;

use relay_lab::*;
use resetlab_app::digest::{Route, send_authenticated};
use resetlab_app::{
    App, DeviceCredentials, FormFactor, LoginOutcome, ModifyOutcome, Platform, RawRequest, Secret, SettingsItem,
    UserGroup, flir_cloud_2017, flir_cloud_fixed,
};

async fn full_flow_as_admin(form: FormFactor) {
    let lab = Lab::start().await;
    let mut app = lab.admin_app(Platform::Ios, form, flir_cloud_2017()).await;
    assert_eq!(app.saved_entry().unwrap().group, Some(UserGroup::Administrator));
    app.open_menu().await.unwrap();
    let devices = app.device_manager().await.unwrap();
    assert!(devices.iter().any(|d| d.serial == lab.serial && d.online), "{devices:?}");
    app.tap_device(&lab.serial).await.unwrap();
    assert!(app.settings().await.unwrap().contains(&SettingsItem::ModifyPassword));
    let new = Secret::new(format!("n{}", &"a1b2c3"[..5]));
    assert_eq!(app.modify_password(&new, &new).await.unwrap(), ModifyOutcome::Changed);
    assert_eq!(lab.changes(), 1);

    // The saved entry keeps working without re-adding the device.
    assert_eq!(app.saved_entry().unwrap().credentials.password, new);
    saved_entry_connects(&mut app).await;

    let new_creds = DeviceCredentials { user: "admin".into(), password: new.clone() };
    let old_creds = DeviceCredentials::new("admin", SETUP);
    for f in FormFactor::ALL {
        assert_eq!(app.remote_login(f, &new_creds).await.unwrap(), LoginOutcome::Accepted, "new password from a {f}");
        assert!(
            matches!(app.remote_login(f, &old_creds).await.unwrap(), LoginOutcome::Refused(_)),
            "old password from a {f}"
        );
    }
    assert!(lab.device_accepts("admin", new.expose()).await);
    lab.shutdown().await;
}

#[tokio::test]
async fn admin_on_iphone_changes_password_new_works_remotely_old_refused() {
    full_flow_as_admin(FormFactor::Phone).await;
}

#[tokio::test]
async fn admin_on_ipad_changes_password_new_works_remotely_old_refused() {
    full_flow_as_admin(FormFactor::Tablet).await;
}

#[tokio::test]
async fn android_with_2017_app_is_not_offered_modify_password_and_nothing_is_sent() {
    let lab = Lab::start().await;
    let mut app = lab.admin_app(Platform::Android, FormFactor::Phone, flir_cloud_2017()).await;
    app.open_menu().await.unwrap();
    app.device_manager().await.unwrap();
    app.tap_device(&lab.serial).await.unwrap();
    assert!(!app.settings().await.unwrap().contains(&SettingsItem::ModifyPassword));
    let before = lab.relay.forwarded(&lab.serial);
    let new = Secret::new("andr01");
    assert_eq!(app.modify_password(&new, &new).await.unwrap(), ModifyOutcome::NotOffered);
    assert_eq!(lab.relay.forwarded(&lab.serial), before, "nothing reached the tunnel");
    assert_eq!(lab.changes(), 0);
    saved_entry_connects(&mut app).await;
    lab.shutdown().await;
}

#[tokio::test]
async fn android_with_fixed_app_changes_password() {
    let lab = Lab::start().await;
    let mut app = lab.admin_app(Platform::Android, FormFactor::Tablet, flir_cloud_fixed()).await;
    let new = Secret::new("andr02");
    assert_eq!(app.reset_password(&lab.serial, &new, &new).await.unwrap(), ModifyOutcome::Changed);
    saved_entry_connects(&mut app).await;
    assert!(lab.device_accepts("admin", "andr02").await);
    assert!(!lab.device_accepts("admin", SETUP).await);
    lab.shutdown().await;
}

#[tokio::test]
async fn confirm_mismatch_and_wrong_length_are_refused_by_the_app_before_anything_reaches_the_device() {
    let lab = Lab::start().await;
    let mut app = lab.admin_app(Platform::Ios, FormFactor::Phone, flir_cloud_2017()).await;
    app.open_menu().await.unwrap();
    app.device_manager().await.unwrap();
    app.tap_device(&lab.serial).await.unwrap();
    app.settings().await.unwrap();
    let (relay_before, agent_before) = (lab.relay.forwarded(&lab.serial), lab.agent.received());
    let cases = [("abc123", "abc124"), ("abc12", "abc12"), ("abc1234", "abc1234"), ("", "")];
    for (new, confirm) in cases {
        let o = app.modify_password(&Secret::new(new), &Secret::new(confirm)).await.unwrap();
        assert!(matches!(o, ModifyOutcome::RefusedByApp(_)), "{new:?}/{confirm:?}: {o:?}");
        assert!(o.shows_not_changed());
    }
    assert_eq!(lab.relay.forwarded(&lab.serial), relay_before, "relay forwarded nothing");
    assert_eq!(lab.agent.received(), agent_before, "the tunnel carried nothing");
    assert_eq!(lab.changes(), 0);
    assert_eq!(app.saved_entry().unwrap().credentials.password.expose(), SETUP);
    saved_entry_connects(&mut app).await;
    lab.shutdown().await;
}

#[tokio::test]
async fn secondary_user_request_sent_raw_through_the_relay_is_refused_by_the_device() {
    let lab = Lab::start().await;
    lab.add_secondary("guest", "guest1").await;
    let app = lab.app(Platform::Ios, FormFactor::Phone, flir_cloud_2017(), "guest", "guest1").await;
    assert_eq!(app.saved_entry().unwrap().group, Some(UserGroup::Secondary));

    // Not the app's flow: a hand-made request through the relay, as a secondary user, for admin.
    let guest = DeviceCredentials::new("guest", "guest1");
    let forwarded_before = lab.agent.forwarded();
    for uri in [
        "/cgi-bin/userManager.cgi?action=modifyPassword&name=admin&pwd=hackd1&pwdOld=setup1",
        "/cgi-bin/userManager.cgi?action=modifyPassword&name=guest&pwd=hackd2&pwdOld=guest1",
    ] {
        let r = send_authenticated(app.backend(), Route::App, &lab.serial, &guest, RawRequest::get(uri))
            .await
            .expect("device answered through the relay");
        assert_ne!(r.body.trim(), "OK", "{uri}: the device accepted a secondary user's change");
        assert!(r.body.starts_with("Error"), "{uri}: {:?}", r.body);
    }
    assert!(lab.agent.forwarded() > forwarded_before, "the requests did reach the device");
    assert_eq!(lab.changes(), 0);
    assert!(lab.device_accepts("admin", SETUP).await);
    assert!(lab.device_accepts("guest", "guest1").await);
    lab.shutdown().await;
}

#[tokio::test]
async fn secondary_user_in_the_app_sees_the_devices_refusal() {
    let lab = Lab::start().await;
    lab.add_secondary("guest", "guest1").await;
    let mut app = lab.app(Platform::Ios, FormFactor::Phone, flir_cloud_2017(), "guest", "guest1").await;
    let new = Secret::new("guest9");
    let o = app.reset_password(&lab.serial, &new, &new).await.unwrap();
    assert!(matches!(&o, ModifyOutcome::RefusedByDevice(why) if why.contains("No authority")), "{o:?}");
    assert_eq!(lab.changes(), 0);
    saved_entry_connects(&mut app).await;
    lab.shutdown().await;
}

#[tokio::test]
async fn deleting_and_re_adding_the_device_is_possible_with_the_new_password() {
    let lab = Lab::start().await;
    let mut app = lab.admin_app(Platform::Ios, FormFactor::Phone, flir_cloud_2017()).await;
    let new = Secret::new("readd1");
    assert_eq!(app.reset_password(&lab.serial, &new, &new).await.unwrap(), ModifyOutcome::Changed);
    app.remove_device(&lab.serial).await.unwrap();
    assert!(app.saved_entries().is_empty());
    app.add_device(&lab.serial, DeviceCredentials::new("admin", "readd1")).await.unwrap();
    saved_entry_connects(&mut app).await;
    lab.shutdown().await;
}
