//! `rig check` on rigs/emulator.yaml against the emulated lab: passes with timings; each injected
//! fault ends with a verdict blaming the right part, within its deadline.

mod common;

use std::time::{Duration, Instant};

use common::*;
use resetlab_rig::{Bench, Blame, CheckOptions, CheckReport, Outcome, rig_check};

async fn check(lab: &resetlab_emulated_rig::EmulatedBench) -> CheckReport {
    let bench = Bench::load(rigs_dir().join("emulator.yaml")).unwrap();
    assert!(bench.uses_emulated());
    let bench = resetlab_emulated_rig::resolve(&bench, lab, 0, resetlab_emulated_rig::BoardLink::Tcp);
    assert!(!bench.uses_emulated());
    let opts = CheckOptions {
        boot_deadline: Some(Duration::from_secs(3)),
        down_deadline: Duration::from_secs(2),
        ..Default::default()
    };
    let t = Instant::now();
    let report = rig_check(&bench, &opts).await;
    println!("{report}\n(total {:?})", t.elapsed());
    report
}

fn blamed(report: &CheckReport) -> (String, Blame) {
    let (c, b) = report.fault().expect("a fault");
    (c.name.clone(), b)
}

#[tokio::test]
async fn rig_check_passes_on_the_emulated_lab_and_prints_timings() {
    let lab = lab().await;
    let report = check(&lab).await;
    assert!(report.passed(), "{report}");
    assert_eq!(report.exit_code(), 0);
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    for want in [
        "power off (read-back)",
        "device stops answering",
        "console alive",
        "service answers after boot",
        "link down (read-back)",
        "service answers after link up",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    assert!(report.checks.iter().all(|c| c.outcome == Outcome::Ok), "{report}");
    let text = report.to_string();
    assert!(text.contains(" ms") && text.contains("verdict: PASS"), "{text}");
    assert!(lab.recorder(0).is_powered() && lab.recorder(0).is_linked());
}

#[tokio::test]
async fn rig_check_blames_the_relay_when_it_ignores_writes() {
    let lab = lab().await;
    lab.ignore_writes(true);
    let report = check(&lab).await;
    let (name, blame) = blamed(&report);
    assert_eq!(blame, Blame::Relay, "{report}");
    assert_eq!(name, "power off (read-back)");
    assert_eq!(report.exit_code(), 2);
    let text = report.to_string();
    assert!(text.contains("rig fault, blame the relay") && text.contains("coil 0"), "{text}");
}

#[tokio::test]
async fn rig_check_blames_the_relay_when_the_board_is_dead() {
    let lab = lab().await;
    lab.mute(true);
    let t = Instant::now();
    let report = check(&lab).await;
    assert_eq!(blamed(&report).1, Blame::Relay, "{report}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}

#[tokio::test]
async fn rig_check_blames_the_console_when_it_stays_silent() {
    let lab = lab().await;
    lab.console_silent(0, true);
    let report = check(&lab).await;
    assert_eq!(blamed(&report), ("console alive".to_owned(), Blame::Console), "{report}");
    assert_eq!(report.exit_code(), 2);
}

#[tokio::test]
async fn rig_check_blames_the_device_when_boot_never_finishes() {
    let lab = lab().await;
    lab.hang_at_boot(0, true).await;
    let t = Instant::now();
    let report = check(&lab).await;
    let (name, blame) = blamed(&report);
    assert_eq!(blame, Blame::Device, "{report}");
    assert!(name.starts_with("boot marker"), "{report}");
    assert_eq!(report.exit_code(), 3);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

#[tokio::test]
async fn rig_check_blames_the_device_when_boot_panics() {
    let lab = lab().await;
    lab.panic_at_boot(0, true).await;
    let t = Instant::now();
    let report = check(&lab).await;
    let (_, blame) = blamed(&report);
    assert_eq!(blame, Blame::Device, "{report}");
    assert!(report.to_string().contains("Kernel panic"), "{report}");
    assert!(t.elapsed() < Duration::from_secs(2), "fails fast: {:?}", t.elapsed());
}

#[tokio::test]
async fn one_call_rig_check_from_the_bench_file_passes_and_fails_on_ignore_writes() {
    use resetlab_emulated_rig::{EmulatedFault, rig_check_emulated};
    let bench = Bench::load(rigs_dir().join("emulator.yaml")).unwrap();
    let ok = rig_check_emulated(&bench, &[], &CheckOptions::default()).await.unwrap();
    println!("{ok}");
    assert!(ok.passed(), "{ok}");
    let fault: EmulatedFault = "ignore-writes".parse().unwrap();
    let bad = rig_check_emulated(&bench, &[fault], &CheckOptions::default()).await.unwrap();
    assert_eq!(bad.fault().unwrap().1, Blame::Relay, "{bad}");
    assert!("no-such-fault".parse::<EmulatedFault>().unwrap_err().contains("ignore-writes"));
}
