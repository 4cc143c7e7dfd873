//! ETSI EN 303 645 5.1-1: what the recorder says about its factory password, per the profile's
//! `default_password` claim.

mod common;

use common::*;
use resetlab_profile::firmware::DefaultPasswordPolicy;

const MACHINE_NAME: &str = "/cgi-bin/magicBox.cgi?action=getMachineName";

#[tokio::test]
async fn must_change_before_remote_until_the_factory_password_is_changed() {
    let rec = start().await;
    assert_eq!(rec.default_password_policy(), DefaultPasswordPolicy::MustChangeBeforeRemote);
    assert_eq!(rec.factory_password("admin").unwrap().expose(), "000000");
    assert_eq!(rec.factory_password("nobody"), None);
    assert!(rec.has_factory_password("admin"));
    assert!(rec.refuses_remote_use("admin"));
    assert!(!rec.refuses_remote_use("nobody"));
    // Locally the default logs in (to set the recorder up).
    assert_eq!(cgi(rec.http_addr(), MACHINE_NAME, "admin", "000000").await.status, 200);
    let change = "/cgi-bin/userManager.cgi?action=modifyPassword&name=admin&pwd=abc123&pwdOld=000000";
    assert_eq!(cgi(rec.http_addr(), change, "admin", "000000").await.body, "OK\r\n");
    assert!(!rec.has_factory_password("admin"));
    assert!(!rec.refuses_remote_use("admin"));
    rec.shutdown().await;
}

#[tokio::test]
async fn unique_per_device_derives_each_units_password_from_its_serial() {
    let unique = |c: &mut resetlab_emulator::RecorderConfig| {
        c.profile.default_password = DefaultPasswordPolicy::UniquePerDevice;
    };
    let a = start_with(&[], |c| {
        unique(c);
        c.instance = Some("UA1".into());
    })
    .await;
    let b = start_with(&[], |c| {
        unique(c);
        c.instance = Some("UB2".into());
    })
    .await;
    let (pa, pb) = (a.factory_password("admin").unwrap(), b.factory_password("admin").unwrap());
    assert_ne!(pa.expose(), "000000");
    assert_ne!(pa, pb, "each unit has its own");
    let rule = &resetlab_profile::flir_2017().password_rule;
    assert_eq!(rule.violation(pa.expose()), None, "the unit password meets the rule");
    assert!(a.has_factory_password("admin"));
    assert!(!a.refuses_remote_use("admin"), "no universal default to refuse");
    assert_eq!(cgi(a.http_addr(), MACHINE_NAME, "admin", pa.expose()).await.status, 200);
    assert_eq!(cgi(a.http_addr(), MACHINE_NAME, "admin", "000000").await.status, 401);
    // Power cycles keep the unit's password (it is what flash held from the factory).
    a.set_power(false).await;
    a.set_power(true).await;
    a.wait_ready(STEP).await.unwrap();
    assert_eq!(cgi(a.http_addr(), MACHINE_NAME, "admin", pa.expose()).await.status, 200);
    a.shutdown().await;
    b.shutdown().await;
}
