//! Credentials never appear in the relay's, the agent's or the app's logs (ASVS: no credentials in
//! logs), even though CGI carries `pwd=` in the request line that crosses the relay.

mod relay_lab;

use std::io::Write;
use std::sync::{Arc, Mutex};

use relay_lab::*;
use resetlab_app::{App, FormFactor, ModifyOutcome, Platform, Secret, flir_cloud_2017};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_password_or_token_reaches_the_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        // Our crates at trace; libraries at debug (tungstenite's trace level dumps raw frames, which no
        // deployment enables).
        .with_env_filter("debug,resetlab_cloud_relay=trace,resetlab_app=trace,resetlab_emulator=trace")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let lab = Lab::start().await;
    let mut app = lab.admin_app(Platform::Ios, FormFactor::Phone, flir_cloud_2017()).await;
    let new = Secret::new("lgsec1");
    assert_eq!(app.reset_password(&lab.serial, &new, &new).await.unwrap(), ModifyOutcome::Changed);
    lab.agent.cut_on(resetlab_cloud_relay::agent::CutPoint::AfterDeviceAnswered, "modifyPassword");
    let newer = Secret::new("lgsec2");
    app.reset_password(&lab.serial, &newer, &newer).await.unwrap();
    lab.shutdown().await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("modify password"), "the flow was logged at all:\n{logs}");
    for secret in ["lgsec1", "lgsec2", FACTORY, SETUP, ACCOUNT_PASSWORD] {
        assert!(!logs.contains(secret), "a secret reached the logs:\n{logs}");
    }
    // Every secret the process holds (device and app passwords, the app's token, the device
    // tunnel secret), in every spelling: raw, percent-, form-, JSON- and XML-encoded.
    for known in resetlab_wire::secret::known() {
        for form in resetlab_wire::secret::forms(&known) {
            assert!(!logs.contains(&form), "a remembered secret reached the logs");
        }
    }
}
