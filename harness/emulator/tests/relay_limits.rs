//! The relay's limits (issue 24): a forward call cannot point the device agent at another host or
//! wait without bound, a half-open tunnel stops showing "online", oversized frames and too many
//! tunnels are refused, and a device whose secret is refused backs off instead of redialing every
//! 20 ms.

mod relay_lab;

use std::time::{Duration, Instant};

use relay_lab::*;
use resetlab_app::{RawRequest, RelayClient, Secret};
use resetlab_cloud_relay::{Relay, RelayConfig, RelayLimits};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn dial(relay: &Relay, serial: &str, secret: &Secret) -> Result<Ws, u16> {
    let mut req = format!("ws://{}/tunnel/{serial}", relay.addr()).into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {}", secret.expose()).parse().unwrap());
    match tokio::time::timeout(STEP, tokio_tungstenite::connect_async(req)).await.expect("upgrade answered") {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

/// POST a forward call as JSON, returning status and `error`.
async fn forward_raw(lab: &Lab, body: serde_json::Value) -> (u16, String) {
    let http = reqwest::Client::builder().timeout(STEP).build().unwrap();
    let login: serde_json::Value = http
        .post(format!("{}/api/login", lab.relay.url()))
        .json(&serde_json::json!({"user": ACCOUNT, "password": ACCOUNT_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = http
        .post(format!("{}/api/devices/{}/http", lab.relay.url(), lab.serial))
        .bearer_auth(login["token"].as_str().unwrap())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let v: serde_json::Value = r.json().await.unwrap_or_default();
    (status, v["error"].as_str().unwrap_or("").to_owned())
}

#[tokio::test]
async fn a_forward_uri_that_is_not_a_path_never_reaches_the_agent_or_another_host() {
    let lab = Lab::start().await;
    // The host such an URI would have reached: it must hear nothing.
    let elsewhere = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = elsewhere.local_addr().unwrap().port();
    let received = lab.agent.received();
    for uri in [format!("@127.0.0.1:{port}/x"), "cgi-bin/magicBox.cgi".into(), "/a b".into()] {
        let (status, error) = forward_raw(&lab, serde_json::json!({"method": "GET", "uri": uri})).await;
        assert_eq!(status, 400, "{uri}: {error}");
        assert!(error.contains("uri"), "{error}");
    }
    assert_eq!(lab.agent.received(), received, "nothing went into the tunnel");
    let accepted = tokio::time::timeout(Duration::from_millis(200), elsewhere.accept()).await;
    assert!(accepted.is_err(), "another host was contacted");
    let (status, _) =
        forward_raw(&lab, serde_json::json!({"method": "GET", "uri": "/cgi-bin/magicBox.cgi?action=getSerialNo"}))
            .await;
    assert_eq!(status, 200, "a path still goes through");
    lab.shutdown().await;
}

#[tokio::test]
async fn a_caller_cannot_make_the_relay_wait_longer_than_its_limit() {
    let lab = Lab::start().await;
    let (status, error) = forward_raw(
        &lab,
        serde_json::json!({"method": "GET", "uri": "/cgi-bin/magicBox.cgi?action=getSerialNo", "timeout_ms": 86_400_000u64}),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert!(error.contains("timeout_ms"), "{error}");
    let huge = "x".repeat(200 * 1024);
    let (status, _) = forward_raw(&lab, serde_json::json!({"method": "POST", "uri": "/RPC2", "body": huge})).await;
    assert!(status == 413 || status == 400, "oversized body: {status}");
    lab.shutdown().await;
}

#[tokio::test]
async fn a_half_open_tunnel_stops_showing_online_after_the_idle_timeout() {
    let relay = Relay::start(RelayConfig {
        limits: RelayLimits {
            ping_interval: Duration::from_millis(50),
            idle_timeout: Duration::from_millis(300),
            ..RelayLimits::default()
        },
        ..RelayConfig::default()
    })
    .await
    .unwrap();
    let secret = relay.enroll("SNIDLE1");
    // Never read: pings stay unanswered, as from a device whose link died without a FIN.
    let _silent = dial(&relay, "SNIDLE1", &secret).await.unwrap();
    relay.wait_online("SNIDLE1", STEP).await.unwrap();
    let up = Instant::now();
    relay.wait_online_state("SNIDLE1", false, STEP).await.expect("the silent tunnel is dropped");
    assert!(up.elapsed() >= Duration::from_millis(250), "dropped before the idle timeout");

    // A device that answers pings stays online past several idle timeouts.
    let mut live = dial(&relay, "SNIDLE1", &secret).await.unwrap();
    relay.wait_online("SNIDLE1", STEP).await.unwrap();
    let reader = tokio::spawn(async move { while let Some(Ok(_)) = futures::StreamExt::next(&mut live).await {} });
    let gone = relay.wait_online_state("SNIDLE1", false, Duration::from_millis(1000)).await;
    assert!(gone.is_err(), "a live tunnel was dropped");
    reader.abort();
    relay.shutdown().await;
}

#[tokio::test]
async fn tunnels_per_source_are_capped_and_an_oversized_frame_closes_the_tunnel() {
    let relay = Relay::start(RelayConfig {
        limits: RelayLimits { max_tunnels_per_source: 2, max_frame: 1024, ..RelayLimits::default() },
        ..RelayConfig::default()
    })
    .await
    .unwrap();
    let secrets: Vec<Secret> = (1..=3).map(|i| relay.enroll(&format!("SNCAP{i}"))).collect();
    let _a = dial(&relay, "SNCAP1", &secrets[0]).await.unwrap();
    let mut b = dial(&relay, "SNCAP2", &secrets[1]).await.unwrap();
    assert_eq!(dial(&relay, "SNCAP3", &secrets[2]).await.err(), Some(503));
    // The first device reconnecting still may (it replaces its own tunnel).
    let _a2 = dial(&relay, "SNCAP1", &secrets[0]).await.expect("reconnect at the cap");

    relay.wait_online("SNCAP2", STEP).await.unwrap();
    futures::SinkExt::send(&mut b, Message::Text("x".repeat(2048).into())).await.unwrap();
    relay.wait_online_state("SNCAP2", false, STEP).await.expect("oversized frame ends the tunnel");
    relay.shutdown().await;
}

#[tokio::test]
async fn a_refused_agent_backs_off_instead_of_redialing_every_poll() {
    let lab = Lab::start().await;
    let rogue_agent =
        resetlab_cloud_relay::agent::attach(&lab.recorder, &lab.relay.url(), Secret::new("not-the-secret"));
    let started = Instant::now();
    let deadline = started + STEP;
    while lab.relay.refused_tunnels() < 6 {
        assert!(Instant::now() < deadline, "the agent stopped dialing");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Redial waits 20, 40, 80, 160, 320 ms: the sixth attempt comes after ~620 ms, not ~100 ms.
    assert!(started.elapsed() >= Duration::from_millis(500), "6 attempts in {:?}", started.elapsed());
    rogue_agent.detach().await;
    // The genuine tunnel was never disturbed.
    assert!(lab.relay.is_online(&lab.serial));
    let client = RelayClient::login(&lab.relay.url(), ACCOUNT, &Secret::new(ACCOUNT_PASSWORD)).await.unwrap();
    let r = client.forward(&lab.serial, &RawRequest::get("/cgi-bin/magicBox.cgi?action=getSerialNo")).await.unwrap();
    assert_eq!(r.status, 401, "the recorder's own challenge came back");
    lab.shutdown().await;
}
