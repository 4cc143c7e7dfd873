//! Issue 8 (bad input): a cloud relay that answers garbage — not JSON, truncated JSON, JSON of the
//! wrong shape, statuses the API does not define, bytes that are not HTTP. The app's `RelayClient`
//! turns each into an `AppError` or `TransportError` that names the relay, never a panic.

use std::future::Future;
use std::time::Duration;

use resetlab_app::{AppError, RawRequest, RelayClient, Secret, TransportError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f).await.expect("test exceeded its bound")
}

/// What the fake relay writes for a request to `path` (an empty answer: close at once).
type Route = fn(&str) -> Vec<u8>;

/// A complete HTTP/1.1 response (Connection: close).
fn http(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn token(path: &str) -> Option<Vec<u8>> {
    (path == "/api/login").then(|| http("200 OK", "application/json", r#"{"token":"t0k3n"}"#))
}

/// A fake relay on 127.0.0.1 answering `/api/login` with a token (or, with `login_too`, with
/// `route` as well) and everything else with `route(path)`, then closing.
async fn fake_relay(route: Route, login_too: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head);
                let path = text.split_whitespace().nth(1).unwrap_or("").to_owned();
                let reply = match token(&path) {
                    Some(ok) if !login_too => ok,
                    _ => route(&path),
                };
                let _ = sock.write_all(&reply).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    base
}

/// With symbols, so the leak check covers its percent-, JSON- and XML-encoded spellings too.
const PW: &str = "app p@ss&1\"<%";

fn pw() -> Secret {
    Secret::new(PW)
}

async fn signed_in(base: &str) -> RelayClient {
    RelayClient::login(base, "alice@example.com", &pw()).await.unwrap()
}

fn assert_names_relay(text: &str, base: &str) {
    assert!(text.contains(base), "error does not name the relay {base}: {text}");
    for form in resetlab_wire::secret::forms(PW) {
        assert!(!text.contains(&form), "password leaked as {form}: {text}");
    }
}

#[tokio::test]
async fn sign_in_answered_with_garbage_names_the_relay() {
    let routes: &[Route] = &[
        |_| http("200 OK", "text/html", "<html>captive portal</html>"),
        |_| http("200 OK", "application/json", r#"{"tok"#),
        |_| http("200 OK", "application/json", r#"{"token":42}"#),
        |_| http("200 OK", "application/json", "[]"),
        |_| http("500 Internal Server Error", "text/plain", "oops"),
        |_| b"\x00\x01\x02 not http at all\r\n\r\n".to_vec(),
        |_| b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"token\":\"ab".to_vec(),
        |_| Vec::new(),
    ];
    bounded(async {
        for route in routes {
            let base = fake_relay(*route, true).await;
            let err = RelayClient::login(&base, "alice@example.com", &pw()).await.unwrap_err();
            assert!(matches!(err, AppError::SignIn { .. }), "{err:?}");
            assert_names_relay(&err.to_string(), &base);
        }
    })
    .await
}

#[tokio::test]
async fn device_list_that_is_not_the_api_names_the_relay_and_status() {
    let routes: &[(Route, u16)] = &[
        (|_| http("200 OK", "application/json", r#"[{"serial":"SN1","onl"#), 200),
        (|_| http("200 OK", "application/json", r#"{"devices":[]}"#), 200),
        (|_| http("200 OK", "application/json", r#"[{"serial":7,"online":"yes"}]"#), 200),
        (|_| http("200 OK", "text/html", "<html></html>"), 200),
        (|_| http("418 I'm a teapot", "text/plain", "short and stout"), 418),
        (|_| b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[{\"serial\"".to_vec(), 200),
        (|_| b"garbage".to_vec(), 0),
    ];
    bounded(async {
        for (route, status) in routes {
            let base = fake_relay(*route, false).await;
            let err = signed_in(&base).await.devices().await.unwrap_err();
            match &err {
                AppError::Relay { relay, status: s, .. } => {
                    assert_eq!(relay, &base);
                    assert_eq!(s, status, "{err}");
                }
                other => panic!("{other:?}"),
            }
            assert_names_relay(&err.to_string(), &base);
        }
    })
    .await
}

#[tokio::test]
async fn forwarded_request_answered_with_garbage_names_the_relay() {
    let routes: &[Route] = &[
        |_| http("200 OK", "application/json", "not json"),
        |_| http("200 OK", "application/json", r#"{"status":"200","headers":{},"body":1}"#),
        |_| http("200 OK", "application/json", r#"{"status":200,"headers":[],"bo"#),
        |_| b"HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n{\"status\":200".to_vec(),
        |_| http("502 Bad Gateway", "text/html", "<html>nginx</html>"),
        |_| http("503 Service Unavailable", "text/html", "<html>down</html>"),
        |_| http("404 Not Found", "text/html", "<html>no such route</html>"),
        |_| http("500 Internal Server Error", "application/json", r#"{"error":"boom"}"#),
    ];
    bounded(async {
        for route in routes {
            let base = fake_relay(*route, false).await;
            let client = signed_in(&base).await;
            let err = client
                .forward("SN0123456789", &RawRequest::get("/cgi-bin/magicBox.cgi?action=getSerialNo"))
                .await
                .unwrap_err();
            assert_names_relay(&err.to_string(), &base);
        }
    })
    .await
}

#[tokio::test]
async fn relay_api_errors_keep_the_relays_own_words() {
    bounded(async {
        let base =
            fake_relay(|_| http("503 Service Unavailable", "application/json", r#"{"error":"device offline"}"#), false)
                .await;
        let err = signed_in(&base).await.forward("SN1", &RawRequest::get("/")).await.unwrap_err();
        assert_eq!(err, TransportError::Offline("device offline".into()));
    })
    .await
}

#[tokio::test]
async fn relay_that_hangs_up_or_is_not_listening_is_named() {
    bounded(async {
        let base = fake_relay(|_| Vec::new(), false).await;
        let client = signed_in(&base).await;
        // Same client, relay gone: a port nobody listens on.
        let dead = {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            format!("http://{}", l.local_addr().unwrap())
        };
        let err = RelayClient::login(&dead, "alice@example.com", &pw()).await.unwrap_err();
        assert_names_relay(&err.to_string(), &dead);
        let err = client.forward("SN1", &RawRequest::get("/")).await.unwrap_err();
        assert!(matches!(err, TransportError::Lost(_) | TransportError::Offline(_)), "{err:?}");
        assert_names_relay(&err.to_string(), &base);
    })
    .await
}

// ---------------------------------------------------------------- garbage Digest challenges

/// A backend whose recorder answers every request with a 401 carrying `challenge`.
struct Challenging(&'static str);

#[async_trait::async_trait]
impl resetlab_app::Backend for Challenging {
    fn describe(&self) -> String {
        "garbage challenger".into()
    }
    async fn online(&self, _serial: &str) -> Result<bool, AppError> {
        Ok(true)
    }
    async fn send(&self, _serial: &str, _req: RawRequest) -> Result<resetlab_app::RawResponse, TransportError> {
        Ok(resetlab_app::RawResponse {
            status: 401,
            headers: vec![("WWW-Authenticate".into(), self.0.into())],
            body: String::new(),
        })
    }
    async fn send_remote(&self, serial: &str, req: RawRequest) -> Result<resetlab_app::RawResponse, TransportError> {
        self.send(serial, req).await
    }
}

#[tokio::test]
async fn garbage_digest_challenges_relayed_to_the_app_are_refused_not_a_panic() {
    use resetlab_app::digest::{DigestError, Route, send_authenticated};
    let challenges = [
        // digest_auth 0.3 panicked on this one (character count used as a byte offset).
        "Digest realm=\"Überwachung €€\", nonce=\"n1\"",
        "Digest realm=\"unterminated, nonce",
        "Digest",
        "Digest ,,,,=,=\"",
        "Digest realm=\"r\", nonce=\"n\", qop=\"auth-conf\", algorithm=SHA-999",
    ];
    bounded(async {
        for c in challenges {
            let creds = resetlab_app::DeviceCredentials::new("admin", "dc-pw-1");
            let r = send_authenticated(
                &Challenging(c),
                Route::App,
                "SN1",
                &creds,
                RawRequest::get("/cgi-bin/magicBox.cgi?action=getSerialNo"),
            )
            .await;
            match r {
                Err(DigestError::NoChallenge(resp)) => assert_eq!(resp.status, 401, "{c}"),
                // A challenge digest_auth reads is answered, and the recorder refuses again.
                Ok(resp) => assert_eq!(resp.status, 401, "{c}"),
                Err(other) => panic!("{c}: {other:?}"),
            }
        }
    })
    .await
}

#[tokio::test]
async fn a_forwarded_answer_larger_than_the_limit_is_refused_naming_the_relay() {
    bounded(async {
        // Two MiB with no length: read until the limit, then refused instead of buffered.
        let base = fake_relay(
            |_| {
                let mut reply =
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n".to_vec();
                reply.extend(std::iter::repeat_n(b' ', 2 << 20));
                reply
            },
            false,
        )
        .await;
        let client = signed_in(&base).await;
        let err = client
            .forward("SN0123456789", &RawRequest::get("/cgi-bin/magicBox.cgi?action=getSerialNo"))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert_names_relay(&text, &base);
        assert!(text.contains("larger than 1024 KiB"), "{text}");
    })
    .await
}
