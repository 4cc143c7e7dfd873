//! The ONVIF WS-Security UsernameToken digest (OASIS WSS UsernameToken Profile 1.0 §3.1, as the
//! ONVIF Core specification requires it): `PasswordDigest = Base64(SHA-1(nonce + created +
//! password))`, where `nonce` is the raw bytes the token carries Base64-encoded in `<Nonce>` and
//! `created` is the `<wsu:Created>` text exactly as sent.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

/// `Base64(SHA-1(nonce + created + password))` for raw `nonce` bytes.
pub fn password_digest(nonce: &[u8], created: &str, password: &str) -> String {
    let mut h = Sha1::new();
    h.update(nonce);
    h.update(created.as_bytes());
    h.update(password.as_bytes());
    STANDARD.encode(h.finalize())
}

/// The same for a nonce as the token carries it (Base64); `None` when it is not Base64.
pub fn password_digest_b64(nonce_b64: &str, created: &str, password: &str) -> Option<String> {
    let nonce = decode_nonce(nonce_b64)?;
    Some(password_digest(&nonce, created, password))
}

/// The raw bytes of a Base64 `<Nonce>`; `None` when it is not Base64.
pub fn decode_nonce(nonce_b64: &str) -> Option<Vec<u8>> {
    STANDARD.decode(nonce_b64.trim()).ok()
}

/// Base64 of raw nonce bytes, as `<Nonce EncodingType="…#Base64Binary">` carries them.
pub fn encode_nonce(nonce: &[u8]) -> String {
    STANDARD.encode(nonce)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check vector of the ONVIF Application Programmer's Guide (§6.1.1.3).
    #[test]
    fn onvif_programmers_guide_vector() {
        assert_eq!(
            password_digest_b64("LKqI6G/AikKCQrN0zqZFlg==", "2010-09-16T07:50:45Z", "userpassword").as_deref(),
            Some("tuOSpGlFlIXsozq4HFNeeGeFLEI=")
        );
        assert_eq!(password_digest_b64("not base64!", "x", "y"), None);
        let raw = decode_nonce("LKqI6G/AikKCQrN0zqZFlg==").unwrap();
        assert_eq!(raw.len(), 16);
        assert_eq!(encode_nonce(&raw), "LKqI6G/AikKCQrN0zqZFlg==");
    }
}
