//! A recorder behind HTTPS: a real TLS server on loopback (rustls, a self-signed certificate rcgen
//! makes for 127.0.0.1) in front of an emulated recorder's HTTP service, as a recorder serving its
//! web interface on 443 with a certificate of its own. The clients refuse it unless the target
//! accepts self-signed certificates, and then log in and change the password over TLS — the
//! change written by hand too (`Cgi::send_modify_password`).

mod emulated;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use emulated::{admin, recorder};
use resetlab_device::{Cgi, ErrorKind, Interface, LoginOutcome, Secret, Target, try_login};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

/// A TLS front on loopback for `upstream` (plain HTTP); its address.
async fn tls_front(upstream: SocketAddr) -> SocketAddr {
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
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake here.
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let Ok(mut plain) = TcpStream::connect(upstream).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    addr
}

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f).await.expect("within 10 s")
}

#[tokio::test]
async fn a_self_signed_recorder_is_refused_unless_accepted_and_then_spoken_to_over_tls() {
    let rec = recorder("TLS", |_| {}).await;
    let front = tls_front(rec.http_addr()).await;
    let strict = Target::new("127.0.0.1", front.port(), rec.rtsp_addr().port()).with_https(false);
    let e = within(try_login(&strict, Interface::Http, &admin("000000"))).await.unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Connect(_)), "{e}");
    assert!(e.to_string().to_ascii_lowercase().contains("certificate"), "{e}");
    // Plain HTTP to a TLS port is no answer either: nothing is sent in the clear by accident.
    let plain = Target::new("127.0.0.1", front.port(), rec.rtsp_addr().port());
    assert!(within(try_login(&plain, Interface::Http, &admin("000000"))).await.is_err());

    let accepting = Target::new("127.0.0.1", front.port(), rec.rtsp_addr().port()).with_https(true);
    for i in [Interface::Http, Interface::Rpc2, Interface::Rtsp] {
        let outcome = within(try_login(&accepting, i, &admin("000000"))).await.unwrap();
        assert_eq!(outcome, LoginOutcome::Accepted, "{i} over the TLS target");
    }
    let cgi = Cgi::new(&accepting);
    within(cgi.modify_password(&admin("000000"), "admin", &Secret::new("Tl5ab1"), &Secret::new("000000")))
        .await
        .expect("a change over TLS");
    // The change written by hand, its answer read afterwards, over TLS as well.
    let sent =
        within(cgi.send_modify_password(&admin("Tl5ab1"), "admin", &Secret::new("Tl5ab2"), &Secret::new("Tl5ab1")))
            .await
            .expect("the request is written over TLS");
    within(sent.answer()).await.expect("the recorder's OK, read over TLS");
    assert_eq!(within(try_login(&accepting, Interface::Http, &admin("Tl5ab2"))).await.unwrap(), LoginOutcome::Accepted);
    assert_eq!(within(try_login(&accepting, Interface::Http, &admin("Tl5ab1"))).await.unwrap(), LoginOutcome::Refused);
    rec.shutdown().await;
}
