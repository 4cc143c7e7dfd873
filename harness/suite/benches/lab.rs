//! Benchmarks (not timed tests): what one HTTP Digest login costs against an emulated recorder, and
//! how long `resetlab certify` takes on the embedded lab. Run with `cargo bench -p resetlab`.

use std::time::{Duration, Instant};

use resetlab_device::{Credentials, Interface, LoginOutcome, Target, try_login};
use resetlab_emulator::{Recorder, RecorderConfig};

const LOGINS: usize = 2_000;

async fn digest_logins(target: &Target, creds: &Credentials, n: usize) -> Duration {
    let t = Instant::now();
    for _ in 0..n {
        assert_eq!(try_login(target, Interface::Http, creds).await.unwrap(), LoginOutcome::Accepted);
    }
    t.elapsed()
}

#[tokio::main]
async fn main() {
    let recorder = Recorder::start(RecorderConfig::new(resetlab_profile::flir_2017())).await.expect("emulator starts");
    let http = recorder.http_addr();
    let target = Target::new(http.ip().to_string(), http.port(), recorder.rtsp_addr().port());
    let creds = Credentials::new("admin", resetlab_profile::flir_2017().admin().password.clone());

    // Each login is a fresh client: challenge (401) + authenticated request, as the suite does.
    let one = digest_logins(&target, &creds, LOGINS).await;
    println!(
        "http digest login, 1 client:  {:>8.0} logins/s  ({:.2} ms each, {LOGINS} logins)",
        LOGINS as f64 / one.as_secs_f64(),
        one.as_secs_f64() * 1000.0 / LOGINS as f64
    );

    let clients = 8;
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (target, creds) = (target.clone(), creds.clone());
        set.spawn(async move { digest_logins(&target, &creds, LOGINS / clients).await });
    }
    while set.join_next().await.is_some() {}
    let many = t.elapsed();
    println!("http digest login, {clients} clients: {:>8.0} logins/s", LOGINS as f64 / many.as_secs_f64());
    recorder.shutdown().await;

    let runs = 3;
    let mut walls = Vec::new();
    for _ in 0..runs {
        let out = tempfile::tempdir().unwrap();
        let t = Instant::now();
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_resetlab"))
            .args(["certify", "--quiet", "--profile", "etsi,asvs,cve", "--out"])
            .arg(out.path())
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "certify failed during the benchmark");
        walls.push(t.elapsed().as_secs_f64());
    }
    walls.sort_by(f64::total_cmp);
    println!(
        "certify wall time (embedded lab, all profiles): median {:.2} s, min {:.2} s, max {:.2} s over {runs} runs",
        walls[runs / 2],
        walls[0],
        walls[runs - 1]
    );
}
