//! A bench whose recorder serves HTTPS with a certificate of its own: `resetlab emulate` behind a
//! real TLS front on loopback (rustls, a self-signed certificate rcgen makes for 127.0.0.1), the
//! bench file saying `device: { https: true }`. Without `tls: { accept_self_signed: true }` the run
//! refuses the recorder before anything changes; with it, certify passes over TLS and the report
//! records that the bench accepted a self-signed certificate.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use resetlab::shapes::{EmulateProcess, Shape, Via, bench_text};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

const EXE: &str = env!("CARGO_BIN_EXE_resetlab");

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
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let Ok(mut plain) = TcpStream::connect(upstream).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    addr
}

/// `certify --rig` on a bench file ending in `tail`; exit success, stdout+stderr, report.json text.
async fn certify(bench: &str, dir: &Path) -> (bool, String, Option<String>) {
    let file = dir.join("bench.yaml");
    std::fs::write(&file, bench).unwrap();
    let out = dir.join("out");
    let _ = std::fs::remove_dir_all(&out);
    let output = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new(EXE)
            .args(["certify", "--quiet", "--tags", "@ART-LEN6 and not @remote", "--rig"])
            .arg(&file)
            .arg("--state-dir")
            .arg(dir.join("state"))
            .arg("--out")
            .arg(&out)
            .env("RESETLAB_HTTPS_PASSWORD", "000000")
            .stdin(std::process::Stdio::null())
            .output(),
    )
    .await
    .expect("certify finishes within 180 s")
    .unwrap();
    let said = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), said, std::fs::read_to_string(out.join("report.json")).ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_serving_https_is_certified_over_tls_only_when_the_bench_accepts_its_certificate() {
    let e = EmulateProcess::start(Path::new(EXE), &[], Duration::from_secs(30)).await.expect("resetlab emulate starts");
    let front = tls_front(e.emulated.http.parse().unwrap()).await;
    let profile = resetlab_profile::fixtures_dir().join("firmware/flir-2017-emulate.yaml");
    let bench = bench_text(
        &e.emulated,
        Shape::ModbusTcp,
        &profile,
        "RESETLAB_HTTPS_PASSWORD",
        Via { http: Some(front), rtsp: None },
    )
    .replace("  credentials:", "  https: true\n  credentials:");
    let tmp = tempfile::tempdir().unwrap();

    let (ok, said, _) = certify(&bench, tmp.path()).await;
    assert!(!ok, "a self-signed recorder was accepted without the bench saying so\n{said}");
    assert!(said.to_ascii_lowercase().contains("certificate"), "the refusal does not say why\n{said}");
    assert!(said.contains("accept_self_signed: true"), "the refusal does not say what to do\n{said}");
    assert!(said.contains("nothing was changed"), "{said}");

    let accepting = format!("{bench}tls: {{ accept_self_signed: true }}\n");
    let (ok, said, report) = certify(&accepting, tmp.path()).await;
    assert!(ok, "certify over TLS failed\n{said}");
    let record: serde_json::Value = serde_json::from_str(&report.expect("report.json")).unwrap();
    assert_eq!(record["provenance"]["bench"]["tls_accept_self_signed"], true, "{}", record["provenance"]);
    let scenarios = record["scenarios"].as_array().unwrap();
    assert!(!scenarios.is_empty() && scenarios.iter().all(|s| s["verdict"] == "pass"), "{said}");
}
