//! Latency-faithful emulation: with `latency: 150 ms` every answer on every interface (HTTP CGI and
//! its 401 challenge, RPC2, each RTSP request) takes a real recorder's round trip, and a real-time
//! boot takes the profile's boot time. Measured over real sockets with the tiny independent client.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use tokio::net::TcpStream;

const LATENCY: Duration = Duration::from_millis(150);
/// What a loaded 2-core CI machine may add on top of the configured latency.
const SLACK: Duration = Duration::from_millis(120);

async fn slow_recorder() -> resetlab_emulator::Recorder {
    start_with(&[], |c| {
        c.latency = LATENCY;
        c.jitter = Duration::ZERO;
    })
    .await
}

/// The round trip of `f`, which must be within [LATENCY, LATENCY + SLACK).
async fn timed<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    let t = Instant::now();
    let out = f.await;
    let took = t.elapsed();
    assert!(
        took >= LATENCY && took < LATENCY + SLACK,
        "{what}: round trip {took:?}, expected at least {LATENCY:?} and under {:?}",
        LATENCY + SLACK
    );
    out
}

#[tokio::test]
async fn http_cgi_answers_and_its_401_challenge_take_the_configured_latency() {
    let rec = slow_recorder().await;
    assert_eq!(rec.latency(), LATENCY);
    let path = "/cgi-bin/magicBox.cgi?action=getMachineName";
    let first = timed("CGI 401 challenge", http(rec.http_addr(), "GET", path, &[], "")).await.unwrap();
    assert_eq!(first.status, 401);
    let ch = first.header("WWW-Authenticate").unwrap().to_owned();
    let nonce = param(&ch, "nonce").unwrap();
    let auth = digest_header_nc("admin", "000000", &rec.realm(), &nonce, "GET", path, "00000001");
    let ok = timed("CGI answer", http(rec.http_addr(), "GET", path, &[("Authorization", auth)], "")).await.unwrap();
    assert_eq!((ok.status, ok.body.as_str()), (200, "name=FLIR-DVR\r\n"));
    let missing = timed("CGI 404", http(rec.http_addr(), "GET", "/nothing", &[], "")).await.unwrap();
    assert_eq!(missing.status, 404);
    rec.shutdown().await;
}

#[tokio::test]
async fn rpc2_answers_take_the_configured_latency() {
    let rec = slow_recorder().await;
    let first = timed(
        "RPC2 login challenge",
        rpc2_post(
            rec.http_addr(),
            "/RPC2_Login",
            &json!({"method": "global.login", "params": {"userName": "admin", "password": "", "clientType": "Web3.0"}, "id": 1}),
        ),
    )
    .await;
    assert_eq!(first["error"]["code"], json!(268632079));
    let started = Instant::now();
    let session = rpc2_login(rec.http_addr(), "admin", "000000").await.expect("login");
    assert!(started.elapsed() >= LATENCY * 2, "two-step login: two round trips");
    let alive =
        timed("RPC2 keepAlive", rpc2_call(rec.http_addr(), &session, "global.keepAlive", json!({"timeout": 60}))).await;
    assert_eq!(alive["result"], json!(true));
    rec.shutdown().await;
}

#[tokio::test]
async fn each_rtsp_request_takes_the_configured_latency() {
    let rec = slow_recorder().await;
    let addr = rec.rtsp_addr();
    let url = format!("rtsp://{addr}/cam/realmonitor?channel=1&subtype=0");
    let mut s = tokio::time::timeout(STEP, TcpStream::connect(addr)).await.unwrap().unwrap();
    let (st, _, _) =
        timed("RTSP OPTIONS", rtsp_exchange(&mut s, &format!("OPTIONS {url} RTSP/1.0\r\nCSeq: 1\r\n\r\n"), 1)).await;
    assert_eq!(st, 200);
    let (st, head, _) =
        timed("RTSP DESCRIBE 401", rtsp_exchange(&mut s, &format!("DESCRIBE {url} RTSP/1.0\r\nCSeq: 2\r\n\r\n"), 2))
            .await;
    assert_eq!(st, 401);
    let ch = head.lines().find(|l| l.to_ascii_lowercase().starts_with("www-authenticate:")).unwrap().to_owned();
    let auth =
        digest_header("admin", "000000", &rec.realm(), &param(&ch, "nonce").unwrap(), "DESCRIBE", &url, false, None);
    let (st, _, body) = timed(
        "RTSP DESCRIBE",
        rtsp_exchange(&mut s, &format!("DESCRIBE {url} RTSP/1.0\r\nCSeq: 3\r\nAuthorization: {auth}\r\n\r\n"), 3),
    )
    .await;
    assert_eq!(st, 200);
    assert!(body.starts_with("v=0"), "{body}");
    rec.shutdown().await;
}

#[tokio::test]
async fn jitter_adds_at_most_its_bound() {
    let rec = start_with(&[], |c| {
        c.latency = Duration::from_millis(50);
        c.jitter = Duration::from_millis(60);
        c.latency_seed = Some(17);
    })
    .await;
    let path = "/cgi-bin/magicBox.cgi?action=getMachineName";
    let mut took = Vec::new();
    for _ in 0..6 {
        let t = Instant::now();
        assert_eq!(http(rec.http_addr(), "GET", path, &[], "").await.unwrap().status, 401);
        took.push(t.elapsed());
    }
    assert!(
        took.iter().all(|d| *d >= Duration::from_millis(50) && *d < Duration::from_millis(110) + SLACK),
        "{took:?}"
    );
    rec.shutdown().await;
}

#[tokio::test]
async fn real_time_boot_takes_the_profile_boot_time_and_flash_its_commit_delay() {
    let mut profile = resetlab_profile::flir_2017();
    profile.boot.time_ms = 1500;
    profile.flash.commit_delay_ms = 500;
    let cfg = resetlab_emulator::RecorderConfig::new(profile).real_time();
    assert_eq!(cfg.boot_time, Duration::from_millis(1500));
    let t = Instant::now();
    let rec = tokio::time::timeout(Duration::from_secs(20), resetlab_emulator::Recorder::start(cfg))
        .await
        .expect("start within 20 s")
        .expect("recorder starts");
    let booted = t.elapsed();
    assert!(booted >= Duration::from_millis(1500), "ready after {booted:?}, before the 1.5 s boot");
    assert_eq!(rec.flash_commit_delay(), Duration::from_millis(500), "unscaled flash commit");
    rec.shutdown().await;
}
