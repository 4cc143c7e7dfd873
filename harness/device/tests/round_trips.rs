//! Round trips against the emulated recorder: a target's clients answer a known Digest challenge up
//! front with the next nonce count, keep connections alive, and count every request — without ever
//! sending a wrong password twice or taking a stale nonce for a wrong password.

use std::time::Duration;

use resetlab_device::{Interface, LoginOutcome, Rtsp};
use resetlab_emulator::{Recorder, RecorderConfig};

mod emulated;
use emulated::{admin, login, target};

async fn recorder(tweak: impl FnOnce(&mut RecorderConfig)) -> Recorder {
    emulated::recorder("RT", tweak).await
}

#[tokio::test]
async fn a_known_challenge_costs_one_request_per_login_on_http_and_rtsp() {
    let rec = recorder(|_| {}).await;
    let t = target(&rec);
    for i in [Interface::Http, Interface::Rtsp] {
        let before = t.requests();
        assert_eq!(login(&t, i, "000000").await, LoginOutcome::Accepted);
        assert_eq!((t.requests() - before).get(i), 2, "{i}: first contact, 401 then the answer");
        for _ in 0..3 {
            let before = t.requests();
            assert_eq!(login(&t, i, "000000").await, LoginOutcome::Accepted);
            let d = t.requests() - before;
            assert_eq!((d.get(i), d.challenges), (1, 0), "{i}: the challenge is answered up front ({d})");
        }
    }
    assert_eq!(t.requests().rtsp_connections, 1, "one RTSP connection for every DESCRIBE");
    // A detached target starts from zero: the first-contact cost again.
    let fresh = t.detached();
    assert_eq!(login(&fresh, Interface::Http, "000000").await, LoginOutcome::Accepted);
    assert_eq!(fresh.requests().http, 2);
    // And without reuse every request pays its 401.
    let no_reuse = t.detached().with_challenge_reuse(false);
    for _ in 0..2 {
        assert_eq!(login(&no_reuse, Interface::Http, "000000").await, LoginOutcome::Accepted);
    }
    assert_eq!((no_reuse.requests().http, no_reuse.requests().challenges), (4, 2));
    rec.shutdown().await;
}

#[tokio::test]
async fn a_wrong_password_on_a_reused_nonce_is_refused_and_counted_once() {
    let rec = recorder(|_| {}).await;
    let t = target(&rec);
    for i in [Interface::Http, Interface::Rtsp] {
        assert_eq!(login(&t, i, "000000").await, LoginOutcome::Accepted);
        let failures = rec.stats().login_failures;
        let before = t.requests();
        assert_eq!(login(&t, i, "bad000").await, LoginOutcome::Refused, "{i}");
        assert_eq!(rec.stats().login_failures, failures + 1, "{i}: one wrong password, one count");
        assert_eq!((t.requests() - before).get(i), 1, "{i}: refused on the reused nonce, no retry");
        assert_eq!(login(&t, i, "000000").await, LoginOutcome::Accepted, "{i}");
    }
    rec.shutdown().await;
}

#[tokio::test]
async fn an_expired_nonce_is_renewed_once_for_a_right_password_and_never_for_a_wrong_one() {
    let rec = recorder(|c| c.profile.sessions.digest_nonce_lifetime_s = 1).await;
    let t = target(&rec);
    for i in [Interface::Http, Interface::Rtsp] {
        assert_eq!(login(&t, i, "000000").await, LoginOutcome::Accepted);
        // Let the nonce age past its lifetime (the emulator's model time, not a wait on a condition).
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let before = t.requests();
        assert_eq!(login(&t, i, "000000").await, LoginOutcome::Accepted, "{i}");
        let d = t.requests() - before;
        assert_eq!((d.get(i), d.challenges), (2, 1), "{i}: stale=true, answered once more ({d})");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let failures = rec.stats().login_failures;
        let before = t.requests();
        assert_eq!(login(&t, i, "bad000").await, LoginOutcome::Refused, "{i}");
        assert_eq!(rec.stats().login_failures, failures + 1, "{i}: a stale nonce never doubles a wrong password");
        assert_eq!((t.requests() - before).get(i), 1, "{i}");
    }
    rec.shutdown().await;
}

#[tokio::test]
async fn after_a_power_cycle_the_forgotten_nonce_and_dead_connections_are_replaced() {
    let rec = recorder(|_| {}).await;
    let t = target(&rec);
    for i in [Interface::Http, Interface::Rpc2, Interface::Rtsp] {
        assert_eq!(login(&t, i, "000000").await, LoginOutcome::Accepted, "{i}");
    }
    rec.set_power(false).await;
    rec.set_power(true).await;
    rec.wait_ready(Duration::from_secs(20)).await.expect("boots again");
    let failures = rec.stats().login_failures;
    for i in [Interface::Http, Interface::Rpc2, Interface::Rtsp] {
        assert_eq!(login(&t, i, "000000").await, LoginOutcome::Accepted, "{i}");
    }
    assert_eq!(rec.stats().login_failures, failures);
    assert_eq!(t.requests().rtsp_connections, 2, "the RTSP connection the power cut closed was replaced");
    assert_eq!(login(&t, Interface::Rtsp, "bad000").await, LoginOutcome::Refused);
    rec.shutdown().await;
}

#[tokio::test]
async fn rtsp_options_and_describe_share_one_kept_connection() {
    let rec = recorder(|_| {}).await;
    let t = target(&rec);
    assert_eq!(Rtsp::options(&t).await.unwrap().status, 200);
    Rtsp::describe(&t, &admin("000000")).await.unwrap();
    Rtsp::describe(&t.clone(), &admin("000000")).await.unwrap();
    let r = t.requests();
    assert_eq!((r.rtsp, r.rtsp_connections), (4, 1), "{r:?}");
    rec.shutdown().await;
}
