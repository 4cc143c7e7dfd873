//! HTTP Digest hashes (RFC 2617, MD5): HA1, HA2 and the response, with and without `qop=auth`.
//!
//! HTTP CGI uses `qop=auth`; RTSP uses the RFC 2069 form without qop. Both share these functions.

use md5::{Digest, Md5};

/// Lower-case hex MD5 of `data`, the form every Digest field uses.
pub fn md5_hex(data: &str) -> String {
    format!("{:x}", Md5::digest(data.as_bytes()))
}

/// HA1 = MD5(user:realm:password).
pub fn ha1(user: &str, realm: &str, password: &str) -> String {
    md5_hex(&format!("{user}:{realm}:{password}"))
}

/// HA2 = MD5(method:uri) for `qop=auth` or no qop.
pub fn ha2(method: &str, uri: &str) -> String {
    md5_hex(&format!("{method}:{uri}"))
}

/// The `qop=auth` part of a response: nonce count, client nonce and the qop token itself.
#[derive(Debug, Clone, Copy)]
pub struct QopAuth<'a> {
    pub nc: &'a str,
    pub cnonce: &'a str,
}

/// The Digest `response` value: MD5(HA1:nonce:nc:cnonce:auth:HA2) with qop, MD5(HA1:nonce:HA2) without.
pub fn response(ha1: &str, nonce: &str, qop: Option<QopAuth<'_>>, ha2: &str) -> String {
    match qop {
        Some(q) => md5_hex(&format!("{ha1}:{nonce}:{}:{}:auth:{ha2}", q.nc, q.cnonce)),
        None => md5_hex(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2617 §3.5: Mufasa / "Circle Of Life" on testrealm@host.com.
    #[test]
    fn rfc2617_example_response() {
        let h1 = ha1("Mufasa", "testrealm@host.com", "Circle Of Life");
        assert_eq!(h1, "939e7578ed9e3c518a452acee763bce9");
        let h2 = ha2("GET", "/dir/index.html");
        let r = response(
            &h1,
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            Some(QopAuth { nc: "00000001", cnonce: "0a4f113b" }),
            &h2,
        );
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
    }

    /// RFC 2069 form (no qop), as RTSP cameras use it. RFC 2069's own example (password
    /// "CircleOfLife"); its printed response is a known erratum, this is the corrected value.
    #[test]
    fn rfc2069_example_without_qop() {
        let h1 = ha1("Mufasa", "testrealm@host.com", "CircleOfLife");
        let h2 = ha2("GET", "/dir/index.html");
        let r = response(&h1, "dcd98b7102dd2f0e8b11d0f600bfb0c093", None, &h2);
        assert_eq!(r, "1949323746fe6a43ef61f9606e7febea");
    }
}
