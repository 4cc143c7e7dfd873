//! Benchmark (not a timed test): the bench path against a recorder that answers like a real one.
//! `resetlab emulate --latency-ms 150` runs as a separate process, a Modbus TCP bench file points at
//! it, and `resetlab certify --rig` runs
//! - the 6-character and secondary-user scenarios (every change is a round trip of 150 ms), from
//!   the factory password and from a password an installer already set: wall time, requests per
//!   interface and per verified check;
//! - the power scenarios with a real-time boot (`--boot-ms`, the firmware profile's boot time
//!   unless `RESETLAB_BENCH_BOOT_MS` says otherwise): suite time against the waits no harness can
//!   avoid (minimum off time, boot to service, the flash commit delay), listed.
//!
//! Run with `cargo bench -p resetlab --bench bench_path` (about 4 minutes with the profile's 40 s
//! boot; `RESETLAB_BENCH_BOOT_MS=2000` for a quick look; `RESETLAB_BENCH_KEEP=DIR` keeps each run's
//! report.json there).

use std::path::Path;
use std::time::{Duration, Instant};

use resetlab::record::RunRecord;
use resetlab::shapes::{EmulateProcess, Shape, Via, bench_text};
use resetlab_wire::Secret;

const EXE: &str = env!("CARGO_BIN_EXE_resetlab");
const LATENCY_MS: u64 = 150;
const FACTORY: &str = "000000";

fn profile() -> std::path::PathBuf {
    resetlab_profile::fixtures_dir().join("firmware/flir-2017-emulate.yaml")
}

/// Certify `features` (file names under features/) with `tags` on a fresh `resetlab emulate
/// args…` whose administrator password is `start` (set over HTTP CGI before the run when it is
/// not the factory one); the record and the wall time.
async fn certify(args: &[&str], features: &[&str], tags: Option<&str>, start: &str) -> (RunRecord, Duration) {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let e =
        EmulateProcess::start(Path::new(EXE), &args, Duration::from_secs(60)).await.expect("resetlab emulate starts");
    if start != FACTORY {
        let http: std::net::SocketAddr = e.emulated.http.parse().unwrap();
        let target = resetlab_device::Target::new(http.ip().to_string(), http.port(), 1);
        let admin = resetlab_device::Credentials::new("admin", Secret::new(FACTORY));
        resetlab_device::Cgi::new(&target)
            .modify_password(&admin, "admin", &Secret::new(start), &Secret::new(FACTORY))
            .await
            .expect("the installer's password is set");
    }
    let tmp = tempfile::tempdir().unwrap();
    let profile = profile();
    let bench = bench_text(&e.emulated, Shape::ModbusTcp, &profile, "RESETLAB_BENCH_PASSWORD", Via::default());
    std::fs::write(tmp.path().join("bench.yaml"), bench).unwrap();
    let dir = tmp.path().join("features");
    std::fs::create_dir(&dir).unwrap();
    let source = resetlab_profile::fixtures_dir().join("../features");
    for f in features {
        std::fs::copy(source.join(f), dir.join(f)).unwrap();
    }
    let mut cmd = std::process::Command::new(EXE);
    cmd.args(["certify", "--quiet", "--profile", "etsi,asvs,cve", "--rig"])
        .arg(tmp.path().join("bench.yaml"))
        .arg("--features")
        .arg(&dir)
        .arg("--state-dir")
        .arg(tmp.path().join("state"))
        .arg("--out")
        .arg(tmp.path().join("out"))
        .env("RESETLAB_BENCH_PASSWORD", start)
        .stdout(std::process::Stdio::null());
    if let Some(t) = tags {
        cmd.args(["--tags", t]);
    }
    let t = Instant::now();
    let status = cmd.status().unwrap();
    let wall = t.elapsed();
    let text = std::fs::read_to_string(tmp.path().join("out/report.json")).unwrap();
    if let Ok(keep) = std::env::var("RESETLAB_BENCH_KEEP") {
        // Keep each run's record for a look at where the time went (step start times, evidence).
        let n = std::fs::read_dir(&keep).map_or(0, |d| d.count());
        let from = if start == FACTORY { "factory" } else { "installer" };
        std::fs::write(Path::new(&keep).join(format!("{n:02}-{from}.json")), &text).unwrap();
    }
    let record: RunRecord = serde_json::from_str(&text).unwrap();
    assert!(status.success(), "certify failed during the benchmark: {:?}", record.errors);
    (record, wall)
}

/// The first number after `after` in `text` (`service answering after 812 ms` → 812).
fn number_after(text: &str, after: &str) -> Option<f64> {
    let rest = &text[text.find(after)? + after.len()..];
    let digits: String = rest.trim_start().chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    digits.parse().ok()
}

/// Milliseconds of a `Duration`'s Debug text at the start of `text` (`98.5ms`, `1.2s`, `0ns`).
fn debug_duration_ms(text: &str) -> f64 {
    let text = text.trim_start();
    let n: String = text.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let value: f64 = n.parse().unwrap_or(0.0);
    let unit = &text[n.len()..];
    if unit.starts_with("ms") {
        value
    } else if unit.starts_with("µs") || unit.starts_with("us") {
        value / 1000.0
    } else if unit.starts_with("ns") {
        value / 1_000_000.0
    } else if unit.starts_with('s') {
        value * 1000.0
    } else {
        0.0
    }
}

#[tokio::main]
async fn main() {
    let latency = LATENCY_MS.to_string();
    for (start, from) in [(FACTORY, "the factory password"), ("Inst4l", "an installer's password")] {
        let features = ["six_characters.feature", "secondary_user.feature"];
        let (record, wall) = certify(&["--latency-ms", &latency], &features, None, start).await;
        let net = record.network.clone().unwrap_or_default();
        let checks = record.scenarios.iter().flat_map(|s| &s.evidence).filter(|e| e.interface.is_some()).count();
        let mut per_interface = std::collections::BTreeMap::<String, usize>::new();
        for e in record.scenarios.iter().flat_map(|s| &s.evidence) {
            if let Some(i) = &e.interface {
                *per_interface.entry(i.clone()).or_default() += 1;
            }
        }
        println!(
            "bench path from {from}, {} scenarios (six_characters + secondary_user), {LATENCY_MS} ms per request: {:.1} s wall, {} requests, {:.2} requests per verified check ({checks} checks)",
            record.scenarios.len(),
            wall.as_secs_f64(),
            net.requests,
            net.requests as f64 / checks.max(1) as f64
        );
        println!("  checks per interface: {per_interface:?}");
    }

    let boot_ms = std::env::var("RESETLAB_BENCH_BOOT_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or_else(|| resetlab_profile::FirmwareProfile::load(profile()).expect("the profile loads").boot.time_ms);
    let boot = boot_ms.to_string();
    let (record, wall) =
        certify(&["--latency-ms", &latency, "--boot-ms", &boot], &["durable.feature"], Some("@power"), FACTORY).await;
    let (mut active, mut off, mut booting, mut flash) = (0.0, 0.0, 0.0, 0.0);
    for s in &record.scenarios {
        active += s.steps.iter().map(|st| st.duration_ms as f64).sum::<f64>();
        for e in &s.evidence {
            if e.action.starts_with("switch the power off") || e.action.starts_with("switch the power on") {
                off += e.outcome.find("held_off:").map_or(0.0, |i| debug_duration_ms(&e.outcome[i + 9..]));
                booting += number_after(&e.outcome, "service answering after").unwrap_or(0.0);
            }
            if e.action.contains("must be in flash") {
                flash += number_after(&e.outcome, "").unwrap_or(0.0);
            }
        }
    }
    let waits = off + booting + flash;
    println!(
        "power scenarios ({} with a {boot_ms} ms boot, {LATENCY_MS} ms per request): {:.1} s wall, {:.1} s in steps; unavoidable waits {:.1} s (off {:.1} s, boot {:.1} s, flash commit {:.1} s): ratio {:.2}",
        record.scenarios.len(),
        wall.as_secs_f64(),
        active / 1000.0,
        waits / 1000.0,
        off / 1000.0,
        booting / 1000.0,
        flash / 1000.0,
        active / waits.max(1.0)
    );
}
