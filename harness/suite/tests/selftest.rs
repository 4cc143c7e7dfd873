//! `resetlab selftest` is part of `cargo test`: the conforming emulated firmware must pass every
//! requirement and every catalogued defect must be caught by a requirement it violates.

use std::process::Command;

#[test]
fn selftest_catches_every_defect_and_passes_the_conforming_firmware() {
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_resetlab"))
        .args(["selftest", "--jobs", "3", "--out"])
        .arg(out.path())
        .output()
        .expect("resetlab runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "selftest failed:\n{stdout}");
    assert!(stdout.contains("(conforming)") && stdout.contains("all requirements pass"), "{stdout}");
    for defect in resetlab::injected::Injected::all() {
        let row = stdout.lines().find(|l| l.starts_with(defect.name())).unwrap_or_else(|| panic!("no row for {defect}"));
        assert!(row.contains("CAUGHT"), "{defect} not caught: {row}");
    }
}
