//! An independent client: Selenium's Python client (Debian's python3-selenium, or a venv under
//! target/, installed by ci/install-test-tools.sh) drives the emulated phone through the article's
//! whole flow over the W3C wire; the recorder itself is then asked, with HTTP Digest on its own port,
//! whether it really holds the new password. Without python/selenium this test prints a note and
//! passes on a developer machine, and fails under CI=true.

mod common;

use std::path::PathBuf;
use std::process::Stdio;

use common::*;

/// A python that can `import selenium`: $RESETLAB_SELENIUM_PYTHON, the venv the installer makes,
/// Debian's python3, or whatever python3 is on PATH.
fn selenium_python() -> Option<PathBuf> {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/selenium-venv/bin/python");
    let candidates = std::env::var_os("RESETLAB_SELENIUM_PYTHON").map(PathBuf::from).into_iter().chain([
        venv,
        "/usr/bin/python3".into(),
        "python3".into(),
    ]);
    candidates.into_iter().find(|p| {
        std::process::Command::new(p)
            .args(["-c", "import selenium"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selenium_walks_the_article_on_the_emulated_phone_and_the_recorder_changes() {
    let Some(python) = selenium_python() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "Selenium's Python client is required in CI (ci/install-test-tools.sh installs python3-selenium)"
        );
        eprintln!("note: no python with selenium found; skipping the Selenium test (run ci/install-test-tools.sh)");
        return;
    };
    let lab = Lab::start(&[]).await;
    let new = "selen6";
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/selenium_flow.py");
    let run = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(lab.phone.url())
        .arg(&lab.serial)
        .env("APP_ACCOUNT", ACCOUNT)
        .env("APP_PASSWORD", ACCOUNT_PASSWORD)
        .env("DEVICE_PASSWORD", SETUP)
        .env("NEW_PASSWORD", new)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), run)
        .await
        .expect("selenium finishes within 60 s")
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{} {} failed:\n{stdout}\n{stderr}", python.display(), script.display());
    let result: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(result["message"], "Password modified successfully", "{result}");
    assert_eq!(result["cell_value"], "online", "{result}");
    assert_eq!(result["tag"], "XCUIElementTypeStaticText", "{result}");
    for check in
        ["session", "enabled", "source_is_xcuitest", "source_has_no_password", "screenshot_is_png", "no_such_element"]
    {
        assert_eq!(result[check], true, "{check}: {result}");
    }
    assert_eq!(result["menu_rect"]["x"], 8, "the menu is in the upper-left corner: {result}");
    assert_eq!(lab.phone.open_sessions(), 0, "Selenium's quit ended the session");
    // The recorder itself, over HTTP Digest on its own port.
    assert_eq!(lab.changes(), 1);
    assert!(lab.admin_accepts(new).await, "the recorder accepts the new password");
    assert!(!lab.admin_accepts(SETUP).await, "and refuses the old one");
    lab.shutdown().await;
}
