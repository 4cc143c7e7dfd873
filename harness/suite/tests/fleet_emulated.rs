//! The fleet benchmark's recorders: `resetlab fleet --emulated N` starts N `resetlab-emulated-bench`
//! processes (one recorder, its relay board and console each, nothing else) and certifies each
//! through a Modbus TCP + console bench file, exactly as a `resetlab emulate` recorder. Here with
//! N = 2 and a subset of the suite that switches power and reads the console, so a recorder that
//! answered differently from `resetlab emulate`, or a board or console that did not work, fails.

use std::path::Path;
use std::time::Duration;

const EXE: &str = env!("CARGO_BIN_EXE_resetlab");
const LEAN: &str = env!("CARGO_BIN_EXE_resetlab-emulated-bench");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emulated_fleet_runs_on_lean_recorders_and_certifies_each() {
    assert_eq!(Path::new(LEAN).parent(), Path::new(EXE).parent(), "the fleet finds its recorder beside resetlab");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("fleet");
    let ran = tokio::time::timeout(
        Duration::from_secs(300),
        tokio::process::Command::new(EXE)
            .args(["fleet", "--emulated", "2", "--tags", "@ART-DURABLE or @ART-LEN6", "--out"])
            .arg(&out)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the fleet ends within 300 s")
    .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&ran.stdout), String::from_utf8_lossy(&ran.stderr));
    assert!(ran.status.success(), "{said}");
    let fleet: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("fleet.json")).unwrap()).unwrap();
    assert_eq!(fleet["emulated"]["recorder_process"], "resetlab-emulated-bench", "{said}");
    assert_eq!(fleet["emulated"]["recorders"], 2);
    let benches = fleet["benches"].as_array().unwrap();
    assert_eq!(benches.len(), 2);
    for b in benches {
        assert_eq!(b["outcome"]["kind"], "certified", "{b}");
    }
    // The power scenarios really switched power and saw the console's boot marker on these recorders.
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("emulated-000/report.json")).unwrap()).unwrap();
    let passed_power = record["scenarios"].as_array().unwrap().iter().any(|s| {
        s["verdict"] == "pass"
            && s["tags"].as_array().unwrap().iter().any(|t| t.as_str().is_some_and(|t| t.ends_with("power")))
    });
    assert!(passed_power, "no power scenario passed on a lean recorder");
}

#[test]
fn the_lean_recorder_refuses_an_option_it_does_not_have() {
    let out = std::process::Command::new(LEAN).args(["emulate", "--phone"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown argument \"--phone\""));
}
