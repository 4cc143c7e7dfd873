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
    for defect in resetlab::lab_defects::Injected::all() {
        let row = stdout.lines().find(|l| l.starts_with(defect.name())).unwrap_or_else(|| panic!("no row for {defect}"));
        assert!(row.contains("CAUGHT"), "{defect} not caught: {row}");
    }
}

/// The bench path: every recorder defect in a separate `resetlab emulate --defect X` process,
/// certified through a generated bench file, is caught by exactly its own requirements (those the
/// bench can see), and the conforming recorder raises nothing.
#[test]
fn bench_selftest_catches_every_recorder_defect_through_a_bench_file() {
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_resetlab"))
        .args(["selftest", "--bench", "--jobs", "4", "--out"])
        .arg(out.path())
        .output()
        .expect("resetlab runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "bench selftest failed:\n{stdout}");
    assert!(stdout.contains("(conforming)") && stdout.contains("all requirements pass"), "{stdout}");
    for defect in resetlab::lab_defects::Injected::all().into_iter().filter(|d| matches!(d, resetlab::lab_defects::Injected::Recorder(_))) {
        let row = stdout.lines().find(|l| l.starts_with(defect.name())).unwrap_or_else(|| panic!("no row for {defect}"));
        assert!(row.contains(" ok "), "{defect}: {row}");
        assert!(row.contains("CAUGHT") || row.contains("n/a on this bench"), "{defect} neither caught nor out of this bench's sight: {row}");
    }
}
