//! The compliance suite as a test target: every scenario in features/ against the embedded emulated
//! lab, exactly as `resetlab certify` runs it. Cucumber prints no libtest line, so this prints the
//! `N passed, N failed` line .ci/run adds up.

use std::process::ExitCode;

use resetlab::lab::{Lab, LabOptions};
use resetlab::record::{Progress, Verdict};
use resetlab::run::{RunOptions, run_suite, summary};

#[tokio::main]
async fn main() -> ExitCode {
    resetlab::cli::init_logging();
    let out = std::env::temp_dir().join(format!("resetlab-compliance-{}", std::process::id()));
    let record = run_suite(RunOptions {
        lab: Lab::embedded(LabOptions::default()).await.expect("the embedded lab's bench file builds"),
        tags: std::env::var("RESETLAB_TAGS").ok(),
        profiles: vec!["etsi".into(), "asvs".into(), "cve".into()],
        features: Some(resetlab::features::repo_dir()),
        out: out.clone(),
        state_dir: None,
        progress: Progress::Lines,
        max_concurrent: 16,
    })
    .await
    .expect("the suite runs");
    println!("{}", summary(&record));
    let passed = record.scenarios.iter().filter(|s| s.verdict == Verdict::Pass).count();
    let failed = record.scenarios.len() - passed + record.errors.len();
    println!("compliance: {passed} passed, {failed} failed");
    let _ = std::fs::remove_dir_all(&out);
    if failed == 0 && passed > 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
