//! HTTPS to the recorder. Many recorders serve their web interface, RPC2 and ONVIF over HTTPS on
//! 443, usually with a certificate they made themselves. A target reached over HTTPS verifies the
//! recorder's certificate against the system's CA store unless the bench file says
//! `tls: { accept_self_signed: true }` (the report records that it did); then the connection is
//! encrypted but the recorder is not authenticated. RTSP stays plain, as recorders serve it.
//!
//! reqwest (rustls) carries every call; this module serves the one request the client writes by
//! hand ([`crate::Cgi::send_modify_password`]: a change whose answer is read after a power cut).

use std::sync::Arc;

use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use tokio_rustls::rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{self, DigitallySignedStruct, SignatureScheme};

/// How a target speaks HTTPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Https {
    /// Accept a certificate that cannot be verified (self-signed): only when the bench says so.
    pub accept_self_signed: bool,
}

/// The reqwest client for a target over HTTPS with `https`'s policy (no proxy, no redirects, as
/// for plain HTTP).
pub(crate) fn client_builder(https: Option<Https>) -> reqwest::ClientBuilder {
    let b = reqwest::Client::builder();
    match https {
        Some(h) => b.https_only(true).danger_accept_invalid_certs(h.accept_self_signed),
        None => b,
    }
}

/// A connector for the hand-written request, with the same policy reqwest applies.
pub(crate) fn connector(https: Https) -> Result<TlsConnector, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?;
    let config = if https.accept_self_signed {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(AnyCertificate(provider))).with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for cert in found.certs {
            let _ = roots.add(cert);
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(TlsConnector::from(Arc::new(config)))
}

/// The server name to present and verify: the target's host (an IP address is a valid name).
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']').to_owned())
        .map_err(|e| format!("`{host}` is not a name a TLS certificate can carry: {e}"))
}

/// `accept_self_signed`: any certificate, but the handshake's signatures are still checked (the
/// peer holds the key of the certificate it showed).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
