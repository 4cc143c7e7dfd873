//! `resetlab fleet`: many benches at once, each a `resetlab emulate` process reached through its own
//! bench file. A missing bench and an unreachable one do not stop the others; the summary has one
//! JUnit test suite per bench; a Ctrl-C restores and gives back every bench.

use std::path::{Path, PathBuf};
use std::time::Duration;

use resetlab::record::RunRecord;
use resetlab::shapes::{EmulateProcess, Shape, Via, bench_text};
use resetlab_device::{Credentials, Interface, LoginOutcome, Target, try_login};
use resetlab_wire::Secret;

const EXE: &str = env!("CARGO_BIN_EXE_resetlab");
const FACTORY: &str = "000000";

fn profile() -> PathBuf {
    resetlab_profile::fixtures_dir().join("firmware/flir-2017-emulate.yaml")
}

async fn bench(dir: &Path, name: &str) -> (EmulateProcess, PathBuf) {
    let e = EmulateProcess::start(Path::new(EXE), &[], Duration::from_secs(30)).await.expect("resetlab emulate starts");
    let text = bench_text(&e.emulated, Shape::ModbusTcp, &profile(), "RESETLAB_FLEET_TEST_PASSWORD", Via::default())
        .replace("rig: emulate-modbus-tcp", &format!("rig: {name}"));
    let file = dir.join(format!("{name}.yaml"));
    std::fs::write(&file, text).unwrap();
    (e, file)
}

fn target(e: &EmulateProcess) -> Target {
    let http: std::net::SocketAddr = e.emulated.http.parse().unwrap();
    let rtsp: std::net::SocketAddr = e.emulated.rtsp.parse().unwrap();
    Target::new(http.ip().to_string(), http.port(), rtsp.port())
}

async fn holds(e: &EmulateProcess, password: &str) -> bool {
    try_login(&target(e), Interface::Http, &Credentials::new("admin", Secret::new(password))).await.unwrap()
        == LoginOutcome::Accepted
}

fn fleet_command(out: &Path, state: &Path, benches: &[&Path]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(EXE);
    cmd.arg("fleet")
        .args(benches)
        .arg("--out")
        .arg(out)
        .arg("--state-dir")
        .arg(state)
        .args(["--profile", "etsi,asvs,cve"]);
    cmd.env("RESETLAB_FLEET_TEST_PASSWORD", FACTORY).stdin(std::process::Stdio::null()).kill_on_drop(true);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_and_an_unreachable_bench_do_not_stop_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let (e1, b1) = bench(tmp.path(), "bench-one").await;
    let (e2, b2) = bench(tmp.path(), "bench-two").await;
    // A bench whose recorder is gone: its emulate process is stopped before the fleet starts.
    let (mut gone, b3) = bench(tmp.path(), "bench-unplugged").await;
    gone.child.kill().await.unwrap();
    let missing = tmp.path().join("bench-missing.yaml");
    let out = tmp.path().join("fleet");
    let output = tokio::time::timeout(
        Duration::from_secs(300),
        fleet_command(&out, &tmp.path().join("state"), &[&b1, &b2, &b3, &missing]).output(),
    )
    .await
    .expect("the fleet finishes within 300 s")
    .unwrap();
    let said = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "a fleet with a broken bench is not green\n{said}");
    for name in ["bench-one", "bench-two"] {
        let record: RunRecord = serde_json::from_str(
            &std::fs::read_to_string(out.join(name).join("report.json"))
                .unwrap_or_else(|e| panic!("{name}: {e}\n{said}")),
        )
        .unwrap();
        assert!(record.is_green(), "{name} was not certified: {:?}\n{said}", record.errors);
        assert!(
            record
                .provenance
                .as_ref()
                .and_then(|p| p.bench.as_ref())
                .is_some_and(|b| b.path.ends_with(&format!("{name}.yaml")))
        );
    }
    assert!(
        !out.join("bench-unplugged/report.json").exists()
            || !serde_json::from_str::<RunRecord>(
                &std::fs::read_to_string(out.join("bench-unplugged/report.json")).unwrap()
            )
            .unwrap()
            .is_green()
    );
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    for name in ["bench-one", "bench-two", "bench-unplugged", "bench-missing"] {
        assert_eq!(
            junit.matches(&format!("<testsuite name=\"{name}\"")).count(),
            1,
            "{name} is one test suite:\n{junit}"
        );
    }
    assert!(junit.contains("bench-missing.yaml is missing"), "{junit}");
    let html = std::fs::read_to_string(out.join("fleet.html")).unwrap();
    assert!(html.contains("2 of 4 benches certified"), "{html}");
    assert!(html.contains("href=\"bench-one/report.html\""));
    if let Some(parsed) = python_junit(&out.join("junit.xml")) {
        assert!(parsed.lines().filter(|l| l.starts_with("case\t")).count() > 40, "{parsed}");
    }
    assert!(holds(&e1, FACTORY).await && holds(&e2, FACTORY).await, "the benches were not given back as found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_restores_and_gives_back_every_bench() {
    let tmp = tempfile::tempdir().unwrap();
    let (e1, b1) = bench(tmp.path(), "bench-a").await;
    let (e2, b2) = bench(tmp.path(), "bench-b").await;
    let out = tmp.path().join("fleet");
    let state = tmp.path().join("state");
    let mut fleet = fleet_command(&out, &state, &[&b1, &b2])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Both benches are mid-run once both recorders refuse the factory password (each certify
    // replaced it with its own for the run).
    let underway = async {
        loop {
            if !holds(&e1, FACTORY).await && !holds(&e2, FACTORY).await {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(120), underway).await.expect("both benches started within 120 s");
    let pid = rustix::process::Pid::from_raw(fleet.id().unwrap() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let output = tokio::time::timeout(Duration::from_secs(180), async {
        let status = fleet.wait().await.unwrap();
        let mut said = String::new();
        use tokio::io::AsyncReadExt;
        let _ = fleet.stdout.take().unwrap().read_to_string(&mut said).await;
        let _ = fleet.stderr.take().unwrap().read_to_string(&mut said).await;
        (status, said)
    })
    .await
    .expect("the fleet ends within 180 s of Ctrl-C");
    let (status, said) = output;
    assert_eq!(status.code(), Some(1), "an interrupted fleet is not green\n{said}");
    assert!(said.contains("interrupted"), "{said}");
    assert!(holds(&e1, FACTORY).await, "bench-a was not given back at its factory password\n{said}");
    assert!(holds(&e2, FACTORY).await, "bench-b was not given back at its factory password\n{said}");
    for name in ["bench-a", "bench-b"] {
        // The Ctrl-C reached the bench's certify: the scenarios after it were not started.
        let record = std::fs::read_to_string(out.join(name).join("report.json"))
            .unwrap_or_else(|e| panic!("{name}: {e}\n{said}"));
        assert!(
            record.contains("not started: the run was interrupted"),
            "{name} ran to its end: the Ctrl-C was not forwarded\n{said}"
        );
        let journal = resetlab_ledger::Journal::open(&state.join(name)).unwrap();
        assert!(journal.is_clean(), "{name}: the journal has unfinished work\n{said}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("fleet.json")).unwrap()).unwrap();
    assert_eq!(summary["interrupted"], true);
}

fn python_junit(path: &Path) -> Option<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/report_junit_check.py");
    match std::process::Command::new("python3").arg(&script).arg(path).output() {
        Ok(out) => {
            assert!(
                out.status.success(),
                "python rejected {}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            Some(String::from_utf8(out.stdout).unwrap())
        }
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("note: python3 not available ({e}); the fleet junit.xml is not checked by a third-party parser");
            None
        }
        Err(e) => panic!("python3 is needed in CI ({e}); run ci/install-test-tools.sh"),
    }
}
