//! The same power and network scenarios pass whether the relay board is reached over Modbus TCP
//! (the default, run by the compliance target) or over Modbus RTU on a pseudo-terminal.

use std::process::Command;

#[test]
fn power_and_network_scenarios_pass_over_modbus_rtu() {
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_resetlab"))
        .args(["certify", "--quiet", "--emulated-modbus", "rtu", "--tags", "@power or @network", "--out"])
        .arg(out.path())
        .output()
        .expect("resetlab runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "over RTU:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let line = stdout.lines().find(|l| l.contains(" scenarios: ")).expect("a summary line");
    let passed: usize =
        line.split(" passed").next().and_then(|s| s.rsplit(' ').next()).and_then(|n| n.parse().ok()).unwrap();
    assert!(passed >= 8, "only {passed} power/network scenarios passed over RTU: {line}");
}
