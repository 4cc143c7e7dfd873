//! HTTP Digest nonce counts as RFC 7616 §3.3 has the server keep them: a client may answer one
//! challenge many times with increasing `nc` (one round trip per request instead of two), a
//! replayed `nc` never gets in, and `stale=true` is said only for a right digest — so a client can
//! tell "your nonce is out of date" from "your password is wrong" without a second wrong attempt.

mod common;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PATH: &str = "/cgi-bin/magicBox.cgi?action=getMachineName";

/// A nonce from a 401.
async fn nonce(rec: &resetlab_emulator::Recorder) -> String {
    let first = http(rec.http_addr(), "GET", PATH, &[], "").await.unwrap();
    param(first.header("WWW-Authenticate").unwrap(), "nonce").unwrap()
}

async fn get_nc(rec: &resetlab_emulator::Recorder, nonce: &str, password: &str, nc: &str) -> HttpReply {
    let auth = digest_header_nc("admin", password, &rec.realm(), nonce, "GET", PATH, nc);
    http(rec.http_addr(), "GET", PATH, &[("Authorization", auth)], "").await.unwrap()
}

#[tokio::test]
async fn one_nonce_answers_many_requests_with_increasing_counts_and_a_replay_is_stale() {
    let rec = start().await;
    let n = nonce(&rec).await;
    for nc in ["00000001", "00000002", "00000004", "00000003"] {
        let r = get_nc(&rec, &n, "000000", nc).await;
        assert_eq!((r.status, r.body.as_str()), (200, "name=FLIR-DVR\r\n"), "nc {nc}");
    }
    let replay = get_nc(&rec, &n, "000000", "00000002").await;
    assert_eq!(replay.status, 401, "a replayed nonce count must not get in");
    let ch = replay.header("WWW-Authenticate").unwrap();
    assert!(ch.contains("stale=true"), "right digest, used count: stale ({ch})");
    assert_ne!(param(ch, "nonce").unwrap(), n, "a new nonce comes with it");
    assert_eq!(rec.stats().login_failures, 0, "a replay is no wrong password");
    rec.shutdown().await;
}

#[tokio::test]
async fn a_wrong_password_on_a_reused_nonce_is_refused_without_stale_and_counts_once() {
    let rec = start().await;
    let n = nonce(&rec).await;
    assert_eq!(get_nc(&rec, &n, "000000", "00000001").await.status, 200);
    let wrong = get_nc(&rec, &n, "bad000", "00000002").await;
    assert_eq!(wrong.status, 401);
    let ch = wrong.header("WWW-Authenticate").unwrap();
    assert!(!ch.contains("stale"), "a wrong password is never stale: {ch}");
    assert_eq!(rec.stats().login_failures, 1);
    assert_eq!(get_nc(&rec, &n, "000000", "00000003").await.status, 200, "the nonce is still good");
    rec.shutdown().await;
}

#[tokio::test]
async fn a_replayed_good_request_does_not_reset_the_lockout_count() {
    let rec = start().await;
    let n = nonce(&rec).await;
    assert_eq!(get_nc(&rec, &n, "000000", "00000001").await.status, 200);
    for i in 0..4 {
        let m = nonce(&rec).await;
        assert_eq!(get_nc(&rec, &m, "bad000", "00000001").await.status, 401, "wrong password {i}");
    }
    // An eavesdropper replays the administrator's captured request: were it accepted, the count
    // of wrong passwords would start again and brute force would never lock.
    assert_eq!(get_nc(&rec, &n, "000000", "00000001").await.status, 401);
    let m = nonce(&rec).await;
    get_nc(&rec, &m, "bad000", "00000001").await;
    assert_eq!(rec.stats().lockouts_engaged, 1, "the fifth wrong password locks");
    rec.shutdown().await;
}

#[tokio::test]
async fn http_connections_are_kept_alive_across_requests() {
    let rec = start().await;
    let mut s = tokio::time::timeout(STEP, TcpStream::connect(rec.http_addr())).await.unwrap().unwrap();
    let req = format!("GET {PATH} HTTP/1.1\r\nHost: {}\r\n\r\n", rec.http_addr());
    let mut replies = 0;
    let mut buf = Vec::new();
    for _ in 0..2 {
        s.write_all(req.as_bytes()).await.unwrap();
        // Read until this reply's (empty-body-free) head and body are in: count status lines.
        loop {
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(STEP, s.read(&mut chunk)).await.unwrap().unwrap();
            assert!(n > 0, "the server closed a keep-alive connection after {replies} replies");
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf);
            if text.matches("HTTP/1.1 401").count() > replies && text.ends_with("Unauthorized\r\n") {
                replies += 1;
                break;
            }
        }
    }
    assert_eq!(replies, 2);
    rec.shutdown().await;
}
