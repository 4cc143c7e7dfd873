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
        let row =
            stdout.lines().find(|l| l.starts_with(defect.name())).unwrap_or_else(|| panic!("no row for {defect}"));
        assert!(row.contains("CAUGHT"), "{defect} not caught: {row}");
    }
    // One defect, one failure: the other requirements still get verdicts of their own.
    let line = stdout.lines().find(|l| l.starts_with("blocked requirements per defect")).expect("the blocked figure");
    let mean: f64 = line.split("mean ").nth(1).and_then(|t| t.split(',').next()).and_then(|t| t.parse().ok()).unwrap();
    let max: usize = line.split("max ").nth(1).and_then(|t| t.trim().parse().ok()).unwrap();
    assert!(mean <= 0.3 && max <= 2, "{line}");
}

/// Two unrelated defects in one firmware: one run reports both failures.
#[test]
fn two_unrelated_defects_are_both_reported_in_one_run() {
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_resetlab"))
        .args([
            "certify",
            "--quiet",
            "--profile",
            "etsi,asvs,cve",
            "--defect",
            "rtsp-stale-credentials",
            "--defect",
            "ack-before-flash",
            "--out",
        ])
        .arg(out.path())
        .output()
        .expect("resetlab runs");
    let record: resetlab::record::RunRecord =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap()).unwrap();
    let failed: Vec<&str> = record
        .requirements
        .iter()
        .filter(|q| q.verdict == Some(resetlab::record::Verdict::Fail))
        .map(|q| q.id.0.as_str())
        .collect();
    assert_eq!(
        failed,
        ["ART-LOCAL", "ART-DURABLE", "ETSI-OLD-CREDENTIAL"],
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        record.requirements.iter().all(|q| q.verdict != Some(resetlab::record::Verdict::Blocked)),
        "nothing blocked"
    );
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
    for defect in resetlab::lab_defects::Injected::all()
        .into_iter()
        .filter(|d| matches!(d, resetlab::lab_defects::Injected::Recorder(_)))
    {
        let row =
            stdout.lines().find(|l| l.starts_with(defect.name())).unwrap_or_else(|| panic!("no row for {defect}"));
        assert!(row.contains(" ok "), "{defect}: {row}");
        assert!(
            row.contains("CAUGHT") || row.contains("n/a on this bench"),
            "{defect} neither caught nor out of this bench's sight: {row}"
        );
    }
}
