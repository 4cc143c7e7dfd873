//! An emulated recorder on loopback for the device clients' tests, and the few helpers every such
//! test uses (one copy instead of one per test file).

#![allow(dead_code)] // each test file uses its own subset

use std::time::Duration;

use resetlab_device::{Credentials, Interface, LoginOutcome, Secret, Target, try_login};
use resetlab_emulator::{Recorder, RecorderConfig};

/// A flir-2017 recorder whose instance name starts with `tag` (its serial, per test file), as
/// `tweak` configures it.
pub async fn recorder(tag: &str, tweak: impl FnOnce(&mut RecorderConfig)) -> Recorder {
    let mut cfg = RecorderConfig::new(resetlab_profile::flir_2017());
    cfg.instance = Some(format!("{tag}{}", std::process::id() % 10000));
    tweak(&mut cfg);
    tokio::time::timeout(Duration::from_secs(20), Recorder::start(cfg))
        .await
        .expect("recorder start timed out")
        .expect("recorder starts")
}

pub fn target(rec: &Recorder) -> Target {
    Target::new("127.0.0.1", rec.http_addr().port(), rec.rtsp_addr().port())
}

pub fn admin(pw: &str) -> Credentials {
    Credentials::new("admin", Secret::new(pw))
}

/// One login as admin with `pw` on `i`, within 10 s; an error fails the test.
pub async fn login(t: &Target, i: Interface, pw: &str) -> LoginOutcome {
    tokio::time::timeout(Duration::from_secs(10), try_login(t, i, &admin(pw)))
        .await
        .expect("login within 10 s")
        .unwrap_or_else(|e| panic!("{i} login: {e}"))
}
