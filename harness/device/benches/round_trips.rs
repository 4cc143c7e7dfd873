//! What a login check costs against a recorder that answers like hardware (150 ms per round trip):
//! with a fresh client (new connections, no known Digest challenge: the first contact) and with the
//! target's shared state (kept-alive connections, the challenge answered up front). Prints requests
//! and wall time per login check on HTTP CGI, RPC2, RTSP and ONVIF. Not a timed test.
//!
//! `cargo bench -p resetlab-device --bench round_trips` (`RESETLAB_BENCH_LATENCY_MS`, default 150;
//! `RESETLAB_BENCH_LOGINS`, default 5).

use std::time::{Duration, Instant};

use resetlab_device::{Credentials, Interface, LoginOutcome, Secret, Target, try_login};
use resetlab_emulator::{Recorder, RecorderConfig};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn check(t: &Target, i: Interface, creds: &Credentials) {
    let outcome = tokio::time::timeout(Duration::from_secs(30), try_login(t, i, creds))
        .await
        .expect("login check within 30 s")
        .unwrap_or_else(|e| panic!("{i}: {e}"));
    assert_eq!(outcome, LoginOutcome::Accepted, "{i}");
}

fn main() {
    let latency = Duration::from_millis(env_u64("RESETLAB_BENCH_LATENCY_MS", 150));
    let logins = env_u64("RESETLAB_BENCH_LOGINS", 5).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    rt.block_on(async move {
        let mut cfg = RecorderConfig::new(resetlab_profile::flir_2017()).with_latency(latency, Duration::ZERO);
        cfg.profile.interfaces.push(resetlab_profile::Interface::Onvif);
        let rec = Recorder::start(cfg).await.expect("emulated recorder starts");
        let base = Target::new("127.0.0.1", rec.http_addr().port(), rec.rtsp_addr().port());
        let admin = Credentials::new("admin", Secret::new("000000"));
        println!("login check against an emulated recorder with {latency:?} per round trip, {logins} checks each");
        println!(
            "{:<9} {:<22} {:>14} {:>16} {:>12}",
            "interface", "client", "requests/check", "challenges/check", "ms/check"
        );
        for i in [Interface::Http, Interface::Rpc2, Interface::Rtsp, Interface::Onvif] {
            // Fresh: every check on a detached target (new connections, no known challenge).
            let mut requests = 0;
            let mut challenges = 0;
            let started = Instant::now();
            for _ in 0..logins {
                let t = base.detached();
                check(&t, i, &admin).await;
                requests += t.requests().get(i);
                challenges += t.requests().challenges;
            }
            let fresh = started.elapsed();
            row(i, "fresh client", requests, challenges, fresh, logins);
            // Reuse: one target, warmed by one check, then the measured ones.
            let t = base.detached();
            check(&t, i, &admin).await;
            let before = t.requests();
            let started = Instant::now();
            for _ in 0..logins {
                check(&t, i, &admin).await;
            }
            let reused = started.elapsed();
            let d = t.requests() - before;
            row(i, "challenge reuse", d.get(i), d.challenges, reused, logins);
        }
        rec.shutdown().await;
    });
}

fn row(i: Interface, client: &str, requests: u64, challenges: u64, took: Duration, logins: u64) {
    println!(
        "{:<9} {:<22} {:>14.1} {:>16.1} {:>12.0}",
        i.to_string(),
        client,
        requests as f64 / logins as f64,
        challenges as f64 / logins as f64,
        took.as_secs_f64() * 1000.0 / logins as f64
    );
}
