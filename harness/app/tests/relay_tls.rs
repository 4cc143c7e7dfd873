//! An `https://` relay with a self-signed certificate, served by a real TLS server on loopback
//! (rustls, a certificate rcgen makes for 127.0.0.1): the app refuses it unless the bench file says
//! `tls: { accept_self_signed: true }`, and then signs in over TLS.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use resetlab_app::{AppError, RelayClient, Secret};
use resetlab_rig::bench::{Bench, TlsSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

/// A relay's `POST /api/login` over TLS with a fresh self-signed certificate; counts the requests
/// that arrived over a completed handshake.
async fn self_signed_relay() -> (String, Arc<AtomicUsize>) {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let key = pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let (acceptor, count) = (acceptor.clone(), count.clone());
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake here.
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                count.fetch_add(1, Ordering::SeqCst);
                let body = r#"{"token":"tls-token-1"}"#;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(reply.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (format!("https://127.0.0.1:{}", addr.port()), served)
}

/// The bench file's `tls:` as the rig crate reads it.
fn tls_of(bench_tail: &str) -> TlsSpec {
    let text = format!("rig: b\ndevice: {{ model: X, address: 127.0.0.1 }}\n{bench_tail}");
    Bench::parse("bench.yaml", &text).unwrap().tls
}

#[tokio::test]
async fn a_self_signed_relay_is_refused_unless_the_bench_accepts_it_and_then_spoken_to_over_tls() {
    let (url, served) = self_signed_relay().await;
    let password = Secret::new("tls-app-pw-1");
    let login = |tls| RelayClient::login_with_tls(&url, "owner@lab.test", &password, tls);

    let refused = tokio::time::timeout(Duration::from_secs(10), login(tls_of(""))).await.expect("refused in time");
    match refused {
        Err(AppError::SignIn { reason, .. }) => {
            assert!(
                reason.to_ascii_lowercase().contains("certificate") || reason.contains("error sending"),
                "{reason}"
            );
            assert!(!reason.contains("tls-app-pw-1"), "{reason}");
        }
        other => panic!("a self-signed relay was accepted without the bench saying so: {other:?}"),
    }
    assert_eq!(served.load(Ordering::SeqCst), 0, "a request crossed an unverified TLS connection");

    let accepted = tokio::time::timeout(Duration::from_secs(10), login(tls_of("tls: { accept_self_signed: true }\n")))
        .await
        .expect("signed in in time");
    assert!(accepted.is_ok(), "{accepted:?}");
    assert_eq!(served.load(Ordering::SeqCst), 1, "the sign-in went over the TLS connection");
}
