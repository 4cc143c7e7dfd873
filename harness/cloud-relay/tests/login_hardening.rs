//! App sign-in at the relay (issue 24): guessing is throttled by a lockout, tokens expire and end
//! with the password, and what a caller types as a password never becomes part of the run's
//! redaction list (it would mask ordinary words in every report and grow without bound).

use std::time::{Duration, Instant};

use resetlab_cloud_relay::{LoginLockout, Relay, RelayConfig};
use resetlab_wire::secret;

const STEP: Duration = Duration::from_secs(10);

async fn relay(cfg: RelayConfig) -> (Relay, reqwest::Client) {
    let relay = Relay::start(cfg).await.unwrap();
    relay.add_account("owner@lab.test", "right-pass-1", ["SNLOGIN1".to_owned()]);
    (relay, reqwest::Client::builder().timeout(STEP).build().unwrap())
}

async fn login(http: &reqwest::Client, relay: &Relay, user: &str, password: &str) -> (u16, serde_json::Value) {
    let r = http
        .post(format!("{}/api/login", relay.url()))
        .json(&serde_json::json!({"user": user, "password": password}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

async fn devices_status(http: &reqwest::Client, relay: &Relay, token: &str) -> u16 {
    http.get(format!("{}/api/devices", relay.url())).bearer_auth(token).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_hundred_wrong_logins_lock_the_account_and_even_the_right_password_waits() {
    let lock_for = Duration::from_millis(400);
    let (relay, http) =
        relay(RelayConfig { login_lockout: LoginLockout { after: 5, lock_for }, ..RelayConfig::default() }).await;
    let started = Instant::now();
    let mut statuses = Vec::new();
    for i in 0..100 {
        statuses.push(login(&http, &relay, "owner@lab.test", &format!("guess-{i}")).await.0);
    }
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    let locked = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((wrong, locked), (5, 95), "{statuses:?}");
    let (status, body) = login(&http, &relay, "owner@lab.test", "right-pass-1").await;
    if started.elapsed() < lock_for {
        assert_eq!(status, 429, "the right password is refused while locked: {body}");
        assert!(body["error"].as_str().unwrap().contains("try again"), "{body}");
    }
    // The lock ends by itself.
    let deadline = Instant::now() + STEP;
    loop {
        let (status, body) = login(&http, &relay, "owner@lab.test", "right-pass-1").await;
        if status == 200 {
            assert!(body["token"].is_string());
            break;
        }
        assert_eq!(status, 429, "{body}");
        assert!(Instant::now() < deadline, "the lock did not end within {STEP:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(started.elapsed() >= lock_for);
    relay.shutdown().await;
}

#[tokio::test]
async fn unknown_accounts_are_locked_like_real_ones() {
    let (relay, http) = relay(RelayConfig::default()).await;
    let statuses: Vec<u16> = wrong_logins(&http, &relay, "nobody@lab.test", 8).await;
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 3, "{statuses:?}");
    relay.shutdown().await;
}

async fn wrong_logins(http: &reqwest::Client, relay: &Relay, user: &str, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(login(http, relay, user, &format!("guess-{i}")).await.0);
    }
    out
}

#[tokio::test]
async fn a_token_ends_when_the_password_changes_and_after_its_ttl() {
    let (relay, http) = relay(RelayConfig { token_ttl: Duration::from_millis(500), ..RelayConfig::default() }).await;
    let token = |b: serde_json::Value| b["token"].as_str().unwrap().to_owned();
    let t1 = token(login(&http, &relay, "owner@lab.test", "right-pass-1").await.1);
    assert_eq!(devices_status(&http, &relay, &t1).await, 200);
    // The same password again (the lab re-adding the account) keeps the session.
    relay.add_account("owner@lab.test", "right-pass-1", ["SNLOGIN1".to_owned()]);
    assert_eq!(devices_status(&http, &relay, &t1).await, 200);
    relay.add_account("owner@lab.test", "new-pass-2", ["SNLOGIN1".to_owned()]);
    assert_eq!(devices_status(&http, &relay, &t1).await, 401, "password changed: token ended");
    assert_eq!(login(&http, &relay, "owner@lab.test", "right-pass-1").await.0, 401);

    let t2 = token(login(&http, &relay, "owner@lab.test", "new-pass-2").await.1);
    let issued = Instant::now();
    assert_eq!(devices_status(&http, &relay, &t2).await, 200);
    let deadline = Instant::now() + STEP;
    while devices_status(&http, &relay, &t2).await == 200 {
        assert!(Instant::now() < deadline, "the token never expired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(issued.elapsed() >= Duration::from_millis(450), "expired early");
    relay.shutdown().await;
}

#[tokio::test]
async fn the_admin_api_wants_the_exact_token() {
    let (relay, http) = relay(RelayConfig {
        admin_token: Some(resetlab_wire::Secret::new("relay-admin-token")),
        ..RelayConfig::default()
    })
    .await;
    let call = |token: &'static str| {
        http.post(format!("{}/admin/accounts", relay.url()))
            .bearer_auth(token)
            .json(&serde_json::json!({"user": "x", "password": "pw-x-1", "devices": []}))
            .send()
    };
    for wrong in ["relay-admin-tokeN", "relay-admin-toke", "relay-admin-token-", ""] {
        assert_eq!(call(wrong).await.unwrap().status().as_u16(), 401, "{wrong:?}");
    }
    assert_eq!(call("relay-admin-token").await.unwrap().status().as_u16(), 204);
    assert_eq!(login(&http, &relay, "x", "pw-x-1").await.0, 200);
    relay.shutdown().await;
}

#[tokio::test]
async fn what_callers_type_as_a_password_is_never_remembered_for_redaction() {
    let (relay, http) = relay(RelayConfig::default()).await;
    for word in ["report", "device", "passed"] {
        assert_eq!(login(&http, &relay, "owner@lab.test", word).await.0, 401);
    }
    let text = "the device passed; see the report";
    assert_eq!(secret::redact(text), text, "ordinary words stay readable");
    for word in ["report", "device", "passed"] {
        assert!(!secret::known().iter().any(|k| k == word), "{word} joined the redaction list");
    }

    // A megabyte-sized password is refused at the edge, not hashed, not kept.
    let huge = "x".repeat(1_900_000);
    let (status, _) = login(&http, &relay, "someone@lab.test", &huge).await;
    assert!(status == 413 || status == 400, "status {status}");
    let long = "y".repeat(300);
    let (status, body) = login(&http, &relay, "someone@lab.test", &long).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("password longer than"), "{body}");
    assert!(!secret::known().iter().any(|k| k.len() >= 300));
    relay.shutdown().await;
}
