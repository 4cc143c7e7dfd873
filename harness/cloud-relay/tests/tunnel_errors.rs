//! The relay's answers when a tunnel misbehaves, with a hand-written device end instead of the
//! agent: a device that never answers (504), one that drops the tunnel with a request in flight
//! (502), none at all (503) — and how the app reads each (maybe applied vs certainly not sent).

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use resetlab_app::{RawRequest, RelayClient, Secret, TransportError};
use resetlab_cloud_relay::protocol::{TUNNEL_LOST, TUNNEL_TIMEOUT, TunnelRequest};
use resetlab_cloud_relay::{Relay, RelayConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const STEP: Duration = Duration::from_secs(10);

/// Open `serial`'s tunnel as its device would: with the secret it was enrolled with.
async fn dial(
    relay: &Relay,
    serial: &str,
    secret: &Secret,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut req = format!("ws://{}/tunnel/{serial}", relay.addr()).into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {}", secret.expose()).parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

async fn relay_with_account(serial: &str) -> (Relay, RelayClient, Secret) {
    let relay = Relay::start(RelayConfig { forward_timeout: Duration::from_millis(300), ..RelayConfig::default() })
        .await
        .unwrap();
    relay.add_account("a", "pw", [serial.to_owned()]);
    let client = RelayClient::login(&relay.url(), "a", &Secret::new("pw")).await.unwrap();
    let secret = relay.enroll(serial);
    (relay, client, secret)
}

#[tokio::test]
async fn no_tunnel_is_device_offline_and_certainly_not_sent() {
    let (relay, client, _) = relay_with_account("SNX1").await;
    let r = client.forward("SNX1", &RawRequest::get("/cgi-bin/magicBox.cgi?action=getSerialNo")).await;
    assert!(matches!(r, Err(TransportError::Offline(ref m)) if m == "device offline"), "{r:?}");
    assert_eq!(relay.forwarded("SNX1"), 0);
    relay.shutdown().await;
}

#[tokio::test]
async fn silent_device_is_a_timeout_that_may_have_been_applied() {
    let (relay, client, secret) = relay_with_account("SNX2").await;
    let ws = dial(&relay, "SNX2", &secret).await;
    relay.wait_online("SNX2", STEP).await.unwrap();
    let r = client.forward("SNX2", &RawRequest::get("/cgi-bin/magicBox.cgi?action=getSerialNo")).await;
    assert!(matches!(r, Err(TransportError::Lost(ref m)) if m == TUNNEL_TIMEOUT), "{r:?}");
    drop(ws);
    relay.shutdown().await;
}

#[tokio::test]
async fn tunnel_closed_with_the_request_in_flight_is_lost_not_offline() {
    let (relay, client, secret) = relay_with_account("SNX3").await;
    let mut ws = dial(&relay, "SNX3", &secret).await;
    relay.wait_online("SNX3", STEP).await.unwrap();
    let device = tokio::spawn(async move {
        // Read the request, then hang up without answering.
        if let Some(Ok(Message::Text(t))) = ws.next().await {
            let req: TunnelRequest = serde_json::from_str(&t).unwrap();
            assert_eq!(req.request.uri, "/cgi-bin/magicBox.cgi?action=getSerialNo");
        }
        let _ = ws.close(None).await;
    });
    let r = client.forward("SNX3", &RawRequest::get("/cgi-bin/magicBox.cgi?action=getSerialNo")).await;
    assert!(matches!(r, Err(TransportError::Lost(ref m)) if m == TUNNEL_LOST), "{r:?}");
    device.await.unwrap();
    relay.wait_online_state("SNX3", false, STEP).await.unwrap();
    relay.shutdown().await;
}

#[tokio::test]
async fn device_answer_comes_back_unchanged_and_a_newer_tunnel_replaces_the_older() {
    let (relay, client, secret) = relay_with_account("SNX4").await;
    let _old = dial(&relay, "SNX4", &secret).await;
    relay.wait_online("SNX4", STEP).await.unwrap();
    let mut ws = dial(&relay, "SNX4", &secret).await;
    let device = tokio::spawn(async move {
        // Every frame, not only text: on a loaded machine the relay's keep-alive ping can come
        // first, and a loop that ended there closed this tunnel (the serial went offline for good).
        while let Some(Ok(message)) = ws.next().await {
            let Message::Text(t) = message else { continue };
            let req: TunnelRequest = serde_json::from_str(&t).unwrap();
            let answer = serde_json::json!({"id": req.id, "response": {"status": 401,
                "headers": [["WWW-Authenticate", "Digest realm=\"Login to SNX4\", qop=\"auth\", nonce=\"1\""]],
                "body": "Error\r\nUnauthorized\r\n"}});
            ws.send(Message::Text(answer.to_string().into())).await.unwrap();
        }
    });
    let mut answered = None;
    for _ in 0..50 {
        // The old tunnel may still be the registered one for a moment: it never answers (504).
        let mut req = RawRequest::get("/cgi-bin/magicBox.cgi?action=getSerialNo");
        req.headers.push(("User-Agent".into(), "test".into()));
        match client.forward("SNX4", &req).await {
            Ok(r) => {
                answered = Some(r);
                break;
            }
            Err(TransportError::Lost(_)) => continue,
            // Between the old tunnel's close and the newer one's registration the serial is
            // briefly offline: wait (with a deadline) until it is back, then ask again.
            Err(TransportError::Offline(_)) => relay.wait_online("SNX4", STEP).await.unwrap(),
            Err(e) => panic!("{e}"),
        }
    }
    let r = answered.expect("the newer tunnel answered");
    assert_eq!(r.status, 401);
    assert_eq!(r.body, "Error\r\nUnauthorized\r\n");
    assert_eq!(
        r.header_values("www-authenticate").next(),
        Some("Digest realm=\"Login to SNX4\", qop=\"auth\", nonce=\"1\"")
    );
    relay.shutdown().await;
    device.abort();
}
