//! A third-party ONVIF client keeps the emulator honest: onvif-zeep (zeep, with the ONVIF WSDLs it
//! bundles) reads the clock, builds its own WS-Security PasswordDigest token, logs in with the
//! right password, is refused with a wrong one, and changes the password with SetUser.
//! ci/install-test-tools.sh puts it in a venv under the repo's `target/test-venv`
//! (`RESETLAB_TEST_VENV` points elsewhere); without it the test notes that and passes, except
//! under CI, where it fails.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use resetlab_emulator::Recorder;

fn venv_python() -> Option<PathBuf> {
    let venv = std::env::var_os("RESETLAB_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-venv"));
    let python = venv.join("bin/python");
    let ok = std::process::Command::new(&python)
        .args(["-c", "import onvif, zeep"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "onvif-zeep is required under CI but {} cannot import it; run ci/install-test-tools.sh",
            python.display()
        );
    }
    eprintln!("note: onvif-zeep is not installed ({}); skipping this test", python.display());
    None
}

/// Run the client script; (exit code, stdout + stderr).
async fn zeep(python: &PathBuf, rec: &Recorder, password: &str, new: Option<&str>) -> (i32, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/onvif_zeep_login.py");
    let mut cmd = tokio::process::Command::new(python);
    cmd.arg(script)
        .args(["127.0.0.1", &rec.http_addr().port().to_string(), "admin", password])
        .args(new)
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("onvif-zeep finished within 60 s")
        .expect("python runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn onvif_zeep_logs_in_with_the_right_password_only_and_sets_a_new_one() {
    let Some(python) = venv_python() else { return };
    let rec = start_with(&[], |c| c.profile.interfaces.push(resetlab_profile::Interface::Onvif)).await;
    let (code, out) = zeep(&python, &rec, "000000", None).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("serial {}", rec.serial())), "{out}");
    let (code, out) = zeep(&python, &rec, "bad000", None).await;
    assert_eq!(code, 3, "a wrong password is NotAuthorized: {out}");
    assert_eq!(rec.stats().login_failures, 1, "one wrong password counted");
    let (code, out) = zeep(&python, &rec, "000000", Some("zeep12")).await;
    assert_eq!((code, out.contains("set")), (0, true), "{out}");
    assert_eq!(zeep(&python, &rec, "zeep12", None).await.0, 0, "the new password logs in");
    assert_eq!(zeep(&python, &rec, "000000", None).await.0, 3, "the old one no longer does");
    let r = cgi(rec.http_addr(), "/cgi-bin/magicBox.cgi?action=getMachineName", "admin", "zeep12").await;
    assert_eq!(r.status, 200, "one account store");
    rec.shutdown().await;
}
