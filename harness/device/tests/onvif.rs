//! The ONVIF client against the emulated recorder: login, refusal and lockout classified like the
//! other interfaces, SetUser as a change path under the 6-character rule, no password in any error.

use resetlab_device::{ErrorKind, Interface, LoginOutcome, Onvif, Rtsp, Secret, try_login};
use resetlab_emulator::Recorder;

mod emulated;
use emulated::{admin, login, target};

async fn recorder() -> Recorder {
    emulated::recorder("OV", |cfg| cfg.profile.interfaces.push(resetlab_profile::Interface::Onvif)).await
}

#[tokio::test]
async fn onvif_login_is_accepted_refused_once_and_locked_like_the_others() {
    let rec = recorder().await;
    let t = target(&rec);
    assert_eq!(login(&t, Interface::Onvif, "000000").await, LoginOutcome::Accepted);
    assert_eq!(t.requests().onvif, 2, "the clock once, then the login");
    assert_eq!(login(&t, Interface::Onvif, "000000").await, LoginOutcome::Accepted);
    assert_eq!(t.requests().onvif, 3, "one request per login once the clock is known");
    for n in 1..=4 {
        assert_eq!(login(&t, Interface::Onvif, "bad000").await, LoginOutcome::Refused);
        assert_eq!(rec.stats().login_failures, n, "one wrong password, one count");
    }
    assert!(
        matches!(login(&t, Interface::Onvif, "bad000").await, LoginOutcome::Locked { remaining_s: Some(s) } if s > 0)
    );
    assert!(
        matches!(login(&t, Interface::Http, "000000").await, LoginOutcome::Locked { .. }),
        "one lockout for every interface"
    );
    rec.shutdown().await;
}

#[tokio::test]
async fn set_user_is_a_change_path_under_the_rule() {
    let rec = recorder().await;
    let t = target(&rec);
    let onvif = Onvif::new(&t);
    let info = onvif.device_information(&admin("000000")).await.unwrap();
    assert_eq!(info.serial_number, rec.serial());
    let users = onvif.users(&admin("000000")).await.unwrap();
    assert_eq!((users[0].username.as_str(), users[0].level.as_str()), ("admin", "Administrator"));
    let short = Secret::new("ovf12");
    let e = onvif.set_user(&admin("000000"), "admin", &short, "Administrator").await.unwrap_err();
    assert!(matches!(&e.kind, ErrorKind::Refused { reason } if reason.contains("PasswordTooWeak")), "{e}");
    assert!(!e.to_string().contains("ovf12") && !format!("{e:?}").contains("ovf12"), "{e}");
    let new = Secret::new("ovf123");
    onvif.set_user(&admin("000000"), "admin", &new, "Administrator").await.unwrap();
    for i in [Interface::Http, Interface::Rpc2, Interface::Rtsp, Interface::Onvif] {
        assert_eq!(login(&t, i, "ovf123").await, LoginOutcome::Accepted, "{i}: new");
        assert_eq!(login(&t, i, "000000").await, LoginOutcome::Refused, "{i}: old");
    }
    let uri = onvif.stream_uri(&admin("ovf123"), "MainStream").await.unwrap();
    assert_eq!(uri, Rtsp::stream_url(&t));
    rec.shutdown().await;
}

#[tokio::test]
async fn a_recorder_without_onvif_is_a_protocol_error_not_a_refusal() {
    let rec = emulated::recorder("NOONVIF", |cfg| {
        cfg.profile.interfaces.retain(|i| *i != resetlab_profile::Interface::Onvif)
    })
    .await;
    let t = target(&rec);
    let e = try_login(&t, Interface::Onvif, &admin("000000")).await.unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Protocol { .. }), "{e}");
    rec.shutdown().await;
}
