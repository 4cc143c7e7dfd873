//! Only the enrolled device opens its tunnel (issue 24): a local process that dials
//! `/tunnel/<serial>` without the device's secret, with a wrong one, or from a browser page of
//! another origin is refused — and the genuine tunnel stays the one the app's requests go through,
//! so such a process can no longer answer `modifyPassword` in the recorder's place.

mod relay_lab;

use futures::StreamExt;
use relay_lab::*;
use resetlab_app::{App, FormFactor, ModifyOutcome, Platform, RawRequest, Secret, flir_cloud_2017};
use resetlab_cloud_relay::{Relay, RelayConfig};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Dial `serial`'s tunnel with optional `Authorization` and `Origin` headers: the socket, or the
/// HTTP status the relay refused the upgrade with.
async fn dial(relay: &Relay, serial: &str, auth: Option<&str>, origin: Option<&str>) -> Result<Ws, u16> {
    let mut req = format!("ws://{}/tunnel/{serial}", relay.addr()).into_client_request().unwrap();
    if let Some(a) = auth {
        req.headers_mut().insert("authorization", a.parse().unwrap());
    }
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    match tokio::time::timeout(STEP, tokio_tungstenite::connect_async(req)).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(WsError::Http(resp))) => Err(resp.status().as_u16()),
        Ok(Err(e)) => panic!("upgrade neither accepted nor refused with a status: {e}"),
        Err(_) => panic!("upgrade not answered within {STEP:?}"),
    }
}

#[tokio::test]
async fn a_rogue_tunnel_is_refused_and_the_genuine_tunnel_keeps_carrying_the_change() {
    let lab = Lab::start().await;
    let received = lab.agent.received();

    assert_eq!(dial(&lab.relay, &lab.serial, None, None).await.err(), Some(401), "no secret");
    let guess = format!("Bearer {}", "0".repeat(64));
    assert_eq!(dial(&lab.relay, &lab.serial, Some(&guess), None).await.err(), Some(403), "wrong secret");
    assert_eq!(dial(&lab.relay, &lab.serial, Some("Basic YWRtaW46"), None).await.err(), Some(401), "not a bearer");
    // Another enrolled device's secret is not this device's.
    let other = lab.relay.enroll("FL17OTHER0001");
    let other = format!("Bearer {}", other.expose());
    assert_eq!(dial(&lab.relay, &lab.serial, Some(&other), None).await.err(), Some(403), "other device's secret");
    assert_eq!(lab.relay.refused_tunnels(), 4);

    // The genuine tunnel was never replaced: the change goes through it to the recorder.
    assert!(lab.relay.is_online(&lab.serial) && lab.agent.is_connected());
    let mut app = lab.admin_app(Platform::Ios, FormFactor::Phone, flir_cloud_2017()).await;
    let new = Secret::new("r0gue1");
    assert_eq!(app.reset_password(&lab.serial, &new, &new).await.unwrap(), ModifyOutcome::Changed);
    assert_eq!(lab.changes(), 1);
    assert!(lab.device_accepts("admin", "r0gue1").await);
    assert!(lab.agent.received() > received, "requests flowed through the genuine tunnel");
    lab.shutdown().await;
}

#[tokio::test]
async fn a_browser_page_of_another_origin_cannot_open_a_tunnel_even_with_the_secret() {
    let relay = Relay::start(RelayConfig::default()).await.unwrap();
    let secret = relay.enroll("SNORIGIN1");
    let auth = format!("Bearer {}", secret.expose());
    assert_eq!(dial(&relay, "SNORIGIN1", Some(&auth), Some("http://evil.example")).await.err(), Some(403));
    assert_eq!(dial(&relay, "SNORIGIN1", Some(&auth), Some("null")).await.err(), Some(403));
    // The relay's own origin, and no Origin at all (a device agent), are fine.
    let own = dial(&relay, "SNORIGIN1", Some(&auth), Some(&relay.url())).await.expect("own origin");
    drop(own);
    let _agent = dial(&relay, "SNORIGIN1", Some(&auth), None).await.expect("no origin");
    relay.wait_online("SNORIGIN1", STEP).await.unwrap();
    relay.shutdown().await;
}

#[tokio::test]
async fn a_newer_tunnel_wins_only_with_the_same_devices_secret() {
    let relay = Relay::start(RelayConfig::default()).await.unwrap();
    relay.add_account("a", "pw", ["SNNEWER1".to_owned()]);
    let secret = relay.enroll("SNNEWER1");
    let auth = format!("Bearer {}", secret.expose());
    let mut first = dial(&relay, "SNNEWER1", Some(&auth), None).await.unwrap();
    relay.wait_online("SNNEWER1", STEP).await.unwrap();
    assert_eq!(dial(&relay, "SNNEWER1", Some("Bearer nope"), None).await.err(), Some(403));

    // The first tunnel still gets (and answers) the app's request.
    let client = resetlab_app::RelayClient::login(&relay.url(), "a", &Secret::new("pw")).await.unwrap();
    let device = tokio::spawn(async move {
        while let Some(Ok(m)) = first.next().await {
            if let Message::Text(t) = m {
                let req: resetlab_cloud_relay::protocol::TunnelRequest = serde_json::from_str(&t).unwrap();
                let answer = serde_json::json!({"id": req.id, "response": {"status": 200, "body": "sn=SNNEWER1\r\n"}});
                futures::SinkExt::send(&mut first, Message::Text(answer.to_string().into())).await.unwrap();
            }
        }
    });
    let r = client.forward("SNNEWER1", &RawRequest::get("/cgi-bin/magicBox.cgi?action=getSerialNo")).await.unwrap();
    assert_eq!((r.status, r.body.as_str()), (200, "sn=SNNEWER1\r\n"));

    // The same device reconnecting does replace it.
    let _second = dial(&relay, "SNNEWER1", Some(&auth), None).await.expect("same secret");
    tokio::time::timeout(STEP, device).await.expect("the replaced tunnel is closed").unwrap();
    relay.shutdown().await;
}

#[tokio::test]
async fn enrolling_again_revokes_the_old_secret_and_closes_its_tunnel() {
    let relay = Relay::start(RelayConfig::default()).await.unwrap();
    let old = format!("Bearer {}", relay.enroll("SNREENROL1").expose());
    let _ws = dial(&relay, "SNREENROL1", Some(&old), None).await.unwrap();
    relay.wait_online("SNREENROL1", STEP).await.unwrap();
    let new = format!("Bearer {}", relay.enroll("SNREENROL1").expose());
    relay.wait_online_state("SNREENROL1", false, STEP).await.unwrap();
    assert_eq!(dial(&relay, "SNREENROL1", Some(&old), None).await.err(), Some(403));
    let _ws = dial(&relay, "SNREENROL1", Some(&new), None).await.unwrap();
    relay.wait_online("SNREENROL1", STEP).await.unwrap();
    relay.shutdown().await;
}
