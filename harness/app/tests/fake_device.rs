//! The app flow against a scripted fake recorder behind a fake backend (no sockets): how each
//! answer — or missing answer — becomes what the app shows and what its saved entry holds.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use resetlab_app::{
    App, AppError, AppSession, Backend, DeviceCredentials, FlowApp, FormFactor, LoginOutcome, ModifyOutcome, Platform,
    RawRequest, RawResponse, Secret, TransportError, flir_cloud_2017,
};
use resetlab_wire::digest::{QopAuth, ha1, ha2, response};

const REALM: &str = "Login to FAKE1";

#[derive(Default)]
struct Device {
    password: String,
    /// Lose the answer to the next modifyPassword after applying it.
    lose_next_change: bool,
    /// Answer the next authenticated request with a stale challenge.
    stale_once: bool,
    nonce: u32,
    requests: Vec<String>,
}

#[derive(Clone, Default)]
struct Fake(Arc<Mutex<Device>>);

fn field(h: &str, k: &str) -> String {
    for part in h.trim_start_matches("Digest ").split(", ") {
        if let Some((key, v)) = part.split_once('=')
            && key.trim() == k
        {
            return v.trim_matches('"').to_owned();
        }
    }
    String::new()
}

fn challenge(nonce: u32, stale: bool) -> RawResponse {
    let stale = if stale { ", stale=true" } else { "" };
    RawResponse {
        status: 401,
        headers: vec![(
            "WWW-Authenticate".into(),
            format!("Digest realm=\"{REALM}\", qop=\"auth\", nonce=\"{nonce}\", opaque=\"op\"{stale}"),
        )],
        body: "Error\r\nUnauthorized\r\n".into(),
    }
}

#[async_trait]
impl Backend for Fake {
    fn describe(&self) -> String {
        "fake".into()
    }
    async fn online(&self, _serial: &str) -> Result<bool, AppError> {
        Ok(true)
    }
    async fn send(&self, _serial: &str, req: RawRequest) -> Result<RawResponse, TransportError> {
        let mut d = self.0.lock().unwrap();
        d.requests.push(
            req.path().to_owned() + "?" + req.uri.split("action=").nth(1).unwrap_or("").split('&').next().unwrap(),
        );
        d.nonce += 1;
        let nonce = d.nonce;
        let Some((_, auth)) = req.headers.iter().find(|(k, _)| k == "Authorization") else {
            return Ok(challenge(nonce, false));
        };
        if d.stale_once {
            d.stale_once = false;
            return Ok(challenge(nonce, true));
        }
        let expect = response(
            &ha1(&field(auth, "username"), REALM, &d.password),
            &field(auth, "nonce"),
            Some(QopAuth { nc: &field(auth, "nc"), cnonce: &field(auth, "cnonce") }),
            &ha2(&req.method, &req.uri),
        );
        if field(auth, "uri") != req.uri || field(auth, "response") != expect {
            return Ok(challenge(nonce, false));
        }
        if req.uri.contains("action=modifyPassword") {
            let pwd = req.uri.split("pwd=").nth(1).unwrap().split('&').next().unwrap().to_owned();
            d.password = pwd;
            if d.lose_next_change {
                d.lose_next_change = false;
                return Err(TransportError::Lost("tunnel lost with the request in flight".into()));
            }
            return Ok(RawResponse { status: 200, headers: vec![], body: "OK\r\n".into() });
        }
        if req.uri.contains("action=getUserInfo") {
            return Ok(RawResponse {
                status: 200,
                headers: vec![],
                body: "user.Group=admin\r\nuser.Name=admin\r\n".into(),
            });
        }
        Ok(RawResponse { status: 200, headers: vec![], body: "name=FAKE\r\n".into() })
    }
    async fn send_remote(&self, serial: &str, req: RawRequest) -> Result<RawResponse, TransportError> {
        self.send(serial, req).await
    }
}

async fn app_on(fake: &Fake) -> FlowApp<Fake> {
    fake.0.lock().unwrap().password = "oldpw1".into();
    let session = AppSession::new(Platform::Ios, FormFactor::Phone, flir_cloud_2017(), "owner");
    let mut app = FlowApp::new(session, fake.clone());
    app.add_device("FAKE1", DeviceCredentials::new("admin", "oldpw1")).await.unwrap();
    app
}

#[tokio::test]
async fn lost_answer_after_the_change_is_unknown_and_reconcile_adopts_the_new_password() {
    let fake = Fake::default();
    let mut app = app_on(&fake).await;
    fake.0.lock().unwrap().lose_next_change = true;
    let new = Secret::new("newpw1");
    let o = app.reset_password("FAKE1", &new, &new).await.unwrap();
    assert!(matches!(o, ModifyOutcome::Unknown(_)), "{o:?}");
    assert!(!o.shows_success() && !o.shows_not_changed());
    let entry = app.saved_entry().unwrap();
    assert_eq!(entry.credentials.password.expose(), "oldpw1", "not adopted without proof");
    assert_eq!(entry.unconfirmed.as_ref().map(Secret::expose), Some("newpw1"));
    assert_eq!(app.reconcile().await.unwrap(), LoginOutcome::Accepted);
    let entry = app.saved_entry().unwrap();
    assert_eq!(entry.credentials.password.expose(), "newpw1");
    assert_eq!(entry.unconfirmed, None);
    assert_eq!(app.connect_saved_entry().await.unwrap(), LoginOutcome::Accepted);
}

#[tokio::test]
async fn stale_nonce_is_answered_once_more_and_the_change_goes_through_once() {
    let fake = Fake::default();
    let mut app = app_on(&fake).await;
    fake.0.lock().unwrap().stale_once = true;
    let new = Secret::new("newpw2");
    assert_eq!(app.reset_password("FAKE1", &new, &new).await.unwrap(), ModifyOutcome::Changed);
    assert_eq!(fake.0.lock().unwrap().password, "newpw2");
    assert_eq!(app.saved_entry().unwrap().credentials.password.expose(), "newpw2");
}

#[tokio::test]
async fn saved_entry_with_a_password_changed_elsewhere_is_refused_by_the_device() {
    let fake = Fake::default();
    let mut app = app_on(&fake).await;
    fake.0.lock().unwrap().password = "other1".into();
    let new = Secret::new("newpw3");
    let o = app.reset_password("FAKE1", &new, &new).await.unwrap();
    assert!(matches!(&o, ModifyOutcome::RefusedByDevice(why) if why.contains("saved credentials")), "{o:?}");
    assert_eq!(fake.0.lock().unwrap().password, "other1");
}

#[tokio::test]
async fn steps_out_of_order_are_a_harness_error_not_an_app_screen() {
    let fake = Fake::default();
    let mut app = app_on(&fake).await;
    let new = Secret::new("newpw4");
    let err = app.modify_password(&new, &new).await.unwrap_err();
    assert!(err.to_string().contains("Settings"), "{err}");
    let err = app.tap_device("FAKE1").await.unwrap_err();
    assert!(err.to_string().contains("Device Manager"), "{err}");
}

#[tokio::test]
async fn app_side_refusals_send_nothing() {
    let fake = Fake::default();
    let mut app = app_on(&fake).await;
    app.open_menu().await.unwrap();
    app.device_manager().await.unwrap();
    app.tap_device("FAKE1").await.unwrap();
    app.settings().await.unwrap();
    let before = fake.0.lock().unwrap().requests.len();
    for (n, c) in [("abcdef", "abcdeg"), ("abcde", "abcde"), ("abcdefg", "abcdefg")] {
        let o = app.modify_password(&Secret::new(n), &Secret::new(c)).await.unwrap();
        assert!(matches!(o, ModifyOutcome::RefusedByApp(_)), "{o:?}");
    }
    assert_eq!(fake.0.lock().unwrap().requests.len(), before);
}
