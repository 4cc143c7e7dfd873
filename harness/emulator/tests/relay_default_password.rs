//! ETSI EN 303 645 5.1-1 over the relay (`default_password: must-change-before-remote` in
//! flir-2017): remote use with the universal factory default is refused by the recorder's P2P
//! module with the reason, local logins with it keep working so the owner can set the recorder
//! up, and once the password was changed locally remote use works. The `default-password-remote`
//! defect lets the factory default in remotely.

mod relay_lab;

use relay_lab::*;
use resetlab_app::digest::{Route, send_authenticated};
use resetlab_app::{
    App, AppError, Backend, DeviceCredentials, FormFactor, LoginOutcome, Platform, RawRequest, flir_cloud_2017,
};
use resetlab_emulator::DEFAULT_PASSWORD_REFUSED;
use resetlab_emulator::Defect;

const MACHINE_NAME: &str = "/cgi-bin/magicBox.cgi?action=getMachineName";

/// A remote client's (smartphone app's) Digest login through the relay.
async fn remote(app: &RelayApp, serial: &str, user: &str, password: &str) -> resetlab_app::RawResponse {
    let req = RawRequest::get(MACHINE_NAME).with_header("User-Agent", FormFactor::Phone.user_agent());
    send_authenticated(app.backend(), Route::Remote, serial, &DeviceCredentials::new(user, password), req)
        .await
        .expect("the recorder answered through the relay")
}

fn header<'a>(r: &'a resetlab_app::RawResponse, name: &str) -> Option<&'a str> {
    r.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn factory_default_is_refused_remotely_with_the_reason_but_works_locally() {
    let lab = Lab::factory(&[]).await;
    assert!(lab.recorder.has_factory_password("admin"));
    assert!(lab.recorder.refuses_remote_use("admin"));
    let mut app = lab.signed_in_app(Platform::Ios, FormFactor::Phone, flir_cloud_2017()).await;

    let r = remote(&app, &lab.serial, "admin", FACTORY).await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(r.body, DEFAULT_PASSWORD_REFUSED);
    assert_eq!(r.reason(), "Default password must be changed before remote access");
    let www = header(&r, "WWW-Authenticate").expect("a Digest challenge comes with the refusal");
    assert!(www.starts_with("Digest ") && www.contains(&format!("Login to {}", lab.serial)), "{www}");

    // The app's own add-device check gets the same refusal, with the reason to show.
    match app.add_device(&lab.serial, DeviceCredentials::new("admin", FACTORY)).await {
        Err(AppError::AddRefused { reason, .. }) => {
            assert_eq!(reason, "Default password must be changed before remote access")
        }
        other => panic!("adding the device with the factory default: {other:?}"),
    }

    // An RPC2 login through the tunnel is refused as well.
    let rpc2 = RawRequest {
        method: "POST".into(),
        uri: "/RPC2_Login".into(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: r#"{"method":"global.login","params":{"userName":"admin","password":"","clientType":"Web3.0"},"id":1}"#
            .into(),
    };
    let r = app.backend().send_remote(&lab.serial, rpc2).await.expect("answered");
    assert_eq!((r.status, r.body.as_str()), (401, DEFAULT_PASSWORD_REFUSED));

    // Nothing of this counted as a wrong password, and locally the default still logs in.
    assert_eq!(lab.recorder.stats().login_failures, 0);
    assert!(lab.device_accepts("admin", FACTORY).await);
    assert_eq!(lab.recorder.stats().password_changes, 0);
    lab.shutdown().await;
}

#[tokio::test]
async fn after_a_local_change_the_new_password_works_remotely() {
    let mut lab = Lab::factory(&[]).await;
    lab.set_admin_password_locally("local1").await;
    assert!(!lab.recorder.has_factory_password("admin"));
    assert!(!lab.recorder.refuses_remote_use("admin"));
    let mut app = lab.signed_in_app(Platform::Ios, FormFactor::Phone, flir_cloud_2017()).await;

    let r = remote(&app, &lab.serial, "admin", "local1").await;
    assert_eq!(r.status, 200, "{r:?}");
    app.add_device(&lab.serial, DeviceCredentials::new("admin", "local1"))
        .await
        .expect("device added with the changed password");
    saved_entry_connects(&mut app).await;
    for f in FormFactor::ALL {
        assert_eq!(
            app.remote_login(f, &DeviceCredentials::new("admin", "local1")).await.unwrap(),
            LoginOutcome::Accepted,
            "from a {f}"
        );
    }
    // The factory default is now simply a wrong password (the recorder's own refusal).
    let r = remote(&app, &lab.serial, "admin", FACTORY).await;
    assert_eq!(r.status, 401);
    assert_ne!(r.body, DEFAULT_PASSWORD_REFUSED);

    // Setting the factory text back makes it the universal default again: refused remotely.
    lab.set_admin_password_locally(FACTORY).await;
    assert!(lab.recorder.refuses_remote_use("admin"));
    let r = remote(&app, &lab.serial, "admin", FACTORY).await;
    assert_eq!((r.status, r.body.as_str()), (401, DEFAULT_PASSWORD_REFUSED));
    lab.shutdown().await;
}

#[tokio::test]
async fn accounts_added_locally_are_not_factory_accounts() {
    let mut lab = Lab::factory(&[]).await;
    lab.add_secondary("guest", "guest1").await;
    assert!(!lab.recorder.refuses_remote_use("guest"));
    let app = lab.signed_in_app(Platform::Ios, FormFactor::Phone, flir_cloud_2017()).await;
    assert_eq!(remote(&app, &lab.serial, "guest", "guest1").await.status, 200);
    // admin is still at factory state.
    let r = remote(&app, &lab.serial, "admin", FACTORY).await;
    assert_eq!(r.body, DEFAULT_PASSWORD_REFUSED);
    lab.set_admin_password_locally("local2").await;
    lab.shutdown().await;
}

#[tokio::test]
async fn default_password_remote_defect_lets_the_factory_default_in_remotely() {
    let lab = Lab::factory(&[Defect::DefaultPasswordRemote]).await;
    assert!(lab.recorder.has_factory_password("admin"));
    assert!(!lab.recorder.refuses_remote_use("admin"));
    let mut app = lab.signed_in_app(Platform::Ios, FormFactor::Phone, flir_cloud_2017()).await;
    let r = remote(&app, &lab.serial, "admin", FACTORY).await;
    assert_eq!(r.status, 200, "{r:?}");
    app.add_device(&lab.serial, DeviceCredentials::new("admin", FACTORY))
        .await
        .expect("the defective firmware takes the factory default remotely");
    assert_eq!(
        app.remote_login(FormFactor::Computer, &DeviceCredentials::new("admin", FACTORY)).await.unwrap(),
        LoginOutcome::Accepted
    );
    lab.shutdown().await;
}
