//! The bench path against a recorder resetlab did not start: `resetlab emulate` runs as a separate
//! process, a bench file of each shape is written from the JSON line it prints, and
//! `resetlab certify --rig` must give 0 errors, pass every requirement the bench can establish,
//! report the rest not applicable with the reason, and leave the recorder at the password it found.

use std::path::{Path, PathBuf};
use std::time::Duration;

use resetlab::record::{RunRecord, Verdict};
use resetlab::shapes::{bench_text, EmulateProcess, Shape, Via};
use resetlab_device::{try_login, Credentials, Interface, LoginOutcome, Target};
use resetlab_wire::Secret;

const EXE: &str = env!("CARGO_BIN_EXE_resetlab");
const FACTORY: &str = "000000";

fn profile() -> PathBuf {
    resetlab_profile::fixtures_dir().join("firmware/flir-2017.yaml")
}

async fn emulate() -> EmulateProcess {
    EmulateProcess::start(Path::new(EXE), &[], Duration::from_secs(30)).await.expect("resetlab emulate starts")
}

/// `certify --rig` on `bench` with `password` in the bench's environment variable; the record.
async fn certify(dir: &Path, bench: &str, password: &str, extra: &[&str]) -> (std::process::Output, Option<RunRecord>) {
    let file = dir.join("bench.yaml");
    std::fs::write(&file, bench).unwrap();
    let out = dir.join("out");
    let output = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new(EXE)
            .args(["certify", "--quiet", "--profile", "etsi,asvs,cve", "--rig"])
            .arg(&file)
            .arg("--state-dir")
            .arg(dir.join("state"))
            .arg("--out")
            .arg(&out)
            .args(extra)
            .env("RESETLAB_SHAPE_PASSWORD", password)
            .stdin(std::process::Stdio::null())
            .output(),
    )
    .await
    .expect("certify --rig finishes within 180 s")
    .unwrap();
    let record = std::fs::read_to_string(out.join("report.json")).ok().map(|t| serde_json::from_str(&t).unwrap());
    (output, record)
}

fn verdict(record: &RunRecord, id: &str) -> Option<Verdict> {
    record.requirements.iter().find(|q| q.id.0 == id).and_then(|q| q.verdict)
}

async fn holds(e: &EmulateProcess, password: &str) -> bool {
    let http: std::net::SocketAddr = e.emulated.http.parse().unwrap();
    let rtsp: std::net::SocketAddr = e.emulated.rtsp.parse().unwrap();
    let target = Target::new(http.ip().to_string(), http.port(), rtsp.port());
    try_login(&target, Interface::Http, &Credentials::new("admin", Secret::new(password))).await.unwrap() == LoginOutcome::Accepted
}

/// Certify `shape` and check the outcome a conforming recorder must give on it.
async fn conforming_recorder_on(shape: Shape, via: impl FnOnce(&EmulateProcess) -> Via) {
    let e = emulate().await;
    let tmp = tempfile::tempdir().unwrap();
    let bench = bench_text(&e.emulated, shape, &profile(), "RESETLAB_SHAPE_PASSWORD", via(&e));
    let (output, record) = certify(tmp.path(), &bench, FACTORY, &[]).await;
    let said = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let record = record.unwrap_or_else(|| panic!("{}: no record\n{said}", shape.name()));
    assert!(output.status.success(), "{}: certify failed\n{said}", shape.name());
    assert!(record.errors.is_empty(), "{}: run errors {:?}", shape.name(), record.errors);
    for s in &record.scenarios {
        match s.verdict {
            Verdict::Pass => {}
            Verdict::NotApplicable => {
                let why = s.reason.as_deref().unwrap_or("");
                assert!(why.starts_with("not applicable on this rig: needs "), "{}: {} is not applicable without a reason: {why:?}", shape.name(), s.name);
            }
            other => panic!("{}: {} › {} is {other:?}: {:?}\n{said}", shape.name(), s.feature, s.name, s.reason),
        }
    }
    for q in &record.requirements {
        assert!(
            matches!(q.verdict, Some(Verdict::Pass | Verdict::Partial | Verdict::NotApplicable)),
            "{}: {} is {:?}",
            shape.name(),
            q.id.0,
            q.verdict
        );
        assert_eq!(q.verdict == Some(Verdict::Partial), !q.missing.is_empty(), "{}: {} names what is missing exactly when partial", shape.name(), q.id.0);
    }
    let switches = matches!(shape, Shape::ModbusTcp | Shape::ModbusRtu);
    let console = shape != Shape::Nothing;
    let established = |id: &str| matches!(verdict(&record, id), Some(Verdict::Pass | Verdict::Partial));
    // What the recorder side of the article needs only the recorder's own interfaces for.
    for id in ["ART-ADMIN", "ART-SECONDARY", "ART-LEN6", "ART-LOCAL", "ETSI-OLD-CREDENTIAL", "ASVS-CURRENT-PW", "ASVS-SESSIONS-END", "CVE-LOOPBACK-BYPASS", "CVE-HASH-AS-PASSWORD"] {
        assert!(established(id), "{}: {id} not established: {:?}", shape.name(), verdict(&record, id));
    }
    assert_eq!(verdict(&record, "ART-DURABLE") == Some(Verdict::Pass), switches, "{}: ART-DURABLE needs power and link", shape.name());
    assert_eq!(verdict(&record, "ETSI-BRUTE-FORCE") == Some(Verdict::Pass), switches, "{}: the lockout scenarios clear the lock by a power cycle", shape.name());
    assert_eq!(verdict(&record, "ASVS-NO-SECRETS-LOGGED") == Some(Verdict::Pass), console, "{}: the console scenario", shape.name());
    // A direct app drives no app and has no remote path: those are not applicable, never pass.
    for id in ["ART-FLOW", "ART-IOS", "ART-ANDROID", "ART-CONFIRM", "ART-KEEP-DEVICE", "ART-REMOTE", "ETSI-DEFAULT-PW"] {
        assert_eq!(verdict(&record, id), Some(Verdict::NotApplicable), "{}: {id}", shape.name());
    }
    assert!(holds(&e, FACTORY).await, "{}: the recorder was not left at the password it was found with", shape.name());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modbus_tcp_power_and_link_with_console() {
    conforming_recorder_on(Shape::ModbusTcp, |_| Via::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modbus_rtu_power_and_link_with_console() {
    conforming_recorder_on(Shape::ModbusRtu, |_| Via::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_only() {
    conforming_recorder_on(Shape::ConsoleOnly, |_| Via::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_but_the_recorder() {
    conforming_recorder_on(Shape::Nothing, |_| Via::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_baseline_password_is_a_clear_error_before_any_change() {
    let e = emulate().await;
    let tmp = tempfile::tempdir().unwrap();
    let bench = bench_text(&e.emulated, Shape::Nothing, &profile(), "RESETLAB_SHAPE_PASSWORD", Via::default());
    let (output, _) = certify(tmp.path(), &bench, "Wrong1", &[]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("does not answer with the baseline administrator password"), "{stderr}");
    assert!(!stderr.contains("Wrong1") && !String::from_utf8_lossy(&output.stdout).contains("Wrong1"), "the password was printed");
    assert!(holds(&e, FACTORY).await, "the recorder's password changed");
}

/// A plain TCP forwarder (socat) in front of `to`, listening on a free loopback port.
struct Forwarder {
    _child: tokio::process::Child,
    addr: std::net::SocketAddr,
}

async fn socat(to: &str) -> Option<Forwarder> {
    if std::process::Command::new("socat").arg("-V").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "socat is required in CI (ci/install-test-tools.sh installs it)");
        eprintln!("note: socat not installed; the forwarder test is skipped");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = tokio::process::Command::new("socat")
        .arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr"))
        .arg(format!("TCP:{to}"))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Some(Forwarder { _child: child, addr });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("socat did not start listening on {addr} within 5 s");
}

/// A second hop that adds nothing changes nothing: the same verdicts through socat, on other
/// ports than the recorder's own (no check may depend on them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_plain_tcp_forwarder() {
    let e = emulate().await;
    let (Some(http), Some(rtsp)) = (socat(&e.emulated.http).await, socat(&e.emulated.rtsp).await) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let bench = bench_text(&e.emulated, Shape::ModbusTcp, &profile(), "RESETLAB_SHAPE_PASSWORD", Via { http: Some(http.addr), rtsp: Some(rtsp.addr) });
    assert!(bench.contains(&format!("http: {}", http.addr.port())) && !bench.contains(&e.emulated.http));
    let (output, record) = certify(tmp.path(), &bench, FACTORY, &[]).await;
    let record = record.unwrap_or_else(|| panic!("no record: {}", String::from_utf8_lossy(&output.stderr)));
    let direct = {
        let e2 = emulate().await;
        let tmp2 = tempfile::tempdir().unwrap();
        let bench = bench_text(&e2.emulated, Shape::ModbusTcp, &profile(), "RESETLAB_SHAPE_PASSWORD", Via::default());
        certify(tmp2.path(), &bench, FACTORY, &[]).await.1.expect("a record")
    };
    let verdicts = |r: &RunRecord| r.requirements.iter().map(|q| (q.id.0.clone(), q.verdict)).collect::<Vec<_>>();
    assert_eq!(verdicts(&record), verdicts(&direct), "verdicts through the forwarder differ from those without it");
    assert!(output.status.success() && record.errors.is_empty(), "{:?}", record.errors);
    assert!(holds(&e, FACTORY).await);
}
