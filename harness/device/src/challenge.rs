//! A Digest challenge (`WWW-Authenticate: Digest …`) as HTTP CGI and RTSP send it, and the
//! `Authorization` answer to it. Parsing and answering are the `digest_auth` crate's; this file picks
//! the Digest challenge among several headers, accepts any capitalisation of the scheme, and turns a
//! challenge the crate cannot read into a clear protocol error instead of a guess.
//!
//! The one Digest client of the harness: the device clients (HTTP CGI, RTSP) and the app's Digest
//! through any relay or direct backend (`resetlab_app::digest`) both answer challenges here.

use digest_auth::{AuthContext, HttpMethod, WwwAuthenticateHeader};
use resetlab_wire::Secret;

use crate::error::{ErrorKind, excerpt};

/// A parsed Digest challenge, ready to answer (its nonce count advances with each answer).
#[derive(Debug, Clone)]
pub struct Challenge {
    header: WwwAuthenticateHeader,
}

impl Challenge {
    /// The first Digest challenge among the values of every `WWW-Authenticate` header.
    /// `Err` is a [`ErrorKind::Protocol`] naming what was wrong.
    pub fn from_headers<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Self, ErrorKind> {
        let values: Vec<&str> = values.into_iter().collect();
        let Some(params) = values.iter().find_map(|v| digest_params(v)) else {
            return Err(ErrorKind::Protocol {
                detail: if values.is_empty() {
                    "401 without a WWW-Authenticate challenge".into()
                } else {
                    "401 without a Digest challenge (only other schemes offered)".into()
                },
                excerpt: excerpt(&values.join(" | ")),
            });
        };
        // digest_auth 0.3 slices the header by character count as if it were a byte offset: any
        // non-ASCII character panics it or misreads the names after it. Found by fuzzing.
        if !params.is_ascii() {
            return Err(ErrorKind::Protocol {
                detail: "Digest challenge with non-ASCII characters (not readable)".into(),
                excerpt: excerpt(params),
            });
        }
        let header = WwwAuthenticateHeader::parse(params).map_err(|e| ErrorKind::Protocol {
            detail: format!("unreadable Digest challenge: {e}"),
            excerpt: excerpt(params),
        })?;
        if header.nonce.is_empty() {
            return Err(ErrorKind::Protocol {
                detail: "Digest challenge with an empty nonce".into(),
                excerpt: excerpt(params),
            });
        }
        // Offered both, digest_auth would pick auth-int; recorders implement auth, so prefer it.
        let mut header = header;
        if let Some(qops) = &header.qop
            && qops.contains(&digest_auth::Qop::AUTH)
        {
            header.qop = Some(vec![digest_auth::Qop::AUTH]);
        }
        Ok(Challenge { header })
    }

    /// True when the server says our nonce expired (`stale=true`): answer again with the new one.
    pub fn stale(&self) -> bool {
        self.header.stale
    }

    /// Realm the device announced (`Login to <serial>` on HTTP CGI).
    pub fn realm(&self) -> &str {
        &self.header.realm
    }

    /// The `Authorization` header value answering this challenge for `method uri`.
    pub fn authorization(
        &mut self,
        method: &str,
        uri: &str,
        user: &str,
        password: &Secret,
    ) -> Result<String, ErrorKind> {
        self.authorization_with_body(method, uri, user, password, None)
    }

    /// The same for a request with a `body` (hashed only under `qop=auth-int`, which a challenge
    /// that also offers `auth` never gets).
    pub fn authorization_with_body(
        &mut self,
        method: &str,
        uri: &str,
        user: &str,
        password: &Secret,
        body: Option<&[u8]>,
    ) -> Result<String, ErrorKind> {
        let ctx = AuthContext::new_with_method(user, password.expose(), uri, body, HttpMethod::from(method));
        self.header.respond(&ctx).map(|h| h.to_header_string()).map_err(|e| ErrorKind::Protocol {
            detail: format!("cannot answer Digest challenge: {e}"),
            excerpt: String::new(),
        })
    }
}

/// The parameters after a `Digest` scheme token in one header value, if it has one.
fn digest_params(value: &str) -> Option<&str> {
    let lower = value.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("digest") {
        let start = from + i;
        let end = start + "digest".len();
        let before_ok = start == 0 || matches!(lower.as_bytes()[start - 1], b' ' | b',' | b'\t');
        let after_ok = end == lower.len() || lower.as_bytes()[end].is_ascii_whitespace();
        if before_ok && after_ok {
            return Some(value[end..].trim());
        }
        from = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use resetlab_wire::digest;

    fn param<'a>(header: &'a str, name: &str) -> &'a str {
        let key = format!("{name}=");
        let i =
            header.find(&format!(" {key}")).or_else(|| header.find(&format!(",{key}"))).expect(name) + 1 + key.len();
        let rest = &header[i..];
        match rest.strip_prefix('"') {
            Some(q) => &q[..q.find('"').unwrap()],
            None => rest.split(',').next().unwrap().trim(),
        }
    }

    #[test]
    fn qop_auth_answer_matches_the_pinned_hashes() {
        let mut c = Challenge::from_headers([
            r#"Digest realm="Login to ABC123", qop="auth", nonce="1234567890", opaque="", algorithm="MD5""#,
        ])
        .unwrap();
        assert_eq!(c.realm(), "Login to ABC123");
        let pw = Secret::new("chal-pw-1");
        let h = c.authorization("GET", "/cgi-bin/magicBox.cgi?action=getSerialNo", "admin", &pw).unwrap();
        assert!(h.starts_with("Digest "));
        assert_eq!(param(&h, "uri"), "/cgi-bin/magicBox.cgi?action=getSerialNo");
        assert_eq!(param(&h, "nc"), "00000001");
        let expected = digest::response(
            &digest::ha1("admin", "Login to ABC123", "chal-pw-1"),
            "1234567890",
            Some(digest::QopAuth { nc: "00000001", cnonce: param(&h, "cnonce") }),
            &digest::ha2("GET", "/cgi-bin/magicBox.cgi?action=getSerialNo"),
        );
        assert_eq!(param(&h, "response"), expected);
        assert!(!h.contains("chal-pw-1"));
    }

    #[test]
    fn no_qop_unquoted_answer_is_rfc2069_form() {
        let mut c = Challenge::from_headers([r#"digest realm=IPCam, nonce=abc123def"#]).unwrap();
        let pw = Secret::new("chal-pw-2");
        let uri = "rtsp://127.0.0.1:554/cam/realmonitor?channel=1&subtype=0";
        let h = c.authorization("DESCRIBE", uri, "admin", &pw).unwrap();
        assert!(!h.contains("qop") && !h.contains("cnonce"), "{h}");
        let expected = digest::response(
            &digest::ha1("admin", "IPCam", "chal-pw-2"),
            "abc123def",
            None,
            &digest::ha2("DESCRIBE", uri),
        );
        assert_eq!(param(&h, "response"), expected);
    }

    #[test]
    fn digest_is_picked_among_basic_and_stale_is_seen() {
        let c =
            Challenge::from_headers([r#"Basic realm="x""#, r#"Digest realm="r", nonce="n2", stale=true, qop="auth""#])
                .unwrap();
        assert!(c.stale());
        let mut c = Challenge::from_headers([r#"Digest realm="r", nonce="n3", qop="auth-int,auth""#]).unwrap();
        let h = c.authorization("GET", "/", "admin", &Secret::new("chal-pw-3")).unwrap();
        assert_eq!(param(&h, "qop"), "auth");
    }

    #[test]
    fn garbage_or_missing_challenges_are_protocol_errors() {
        for (values, needle) in [
            (vec![r#"Digest realm="unterminated"#], "unreadable Digest challenge"),
            (vec![r#"Digest nonce="only""#], "unreadable Digest challenge"),
            (vec!["Digest ???"], "unreadable Digest challenge"),
            (vec![r#"Basic realm="x""#], "without a Digest challenge"),
            (vec![], "without a WWW-Authenticate"),
        ] {
            match Challenge::from_headers(values.clone()) {
                Err(ErrorKind::Protocol { detail, .. }) => {
                    assert!(detail.contains(needle), "{values:?}: {detail}")
                }
                other => panic!("{values:?}: {other:?}"),
            }
        }
    }
}
