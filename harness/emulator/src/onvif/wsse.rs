//! WS-Security UsernameToken as ONVIF devices check it (ONVIF Core §5.12.2, WSS UsernameToken
//! Profile 1.0): `PasswordDigest = Base64(SHA-1(nonce + created + password))` over the nonce's raw
//! bytes (the hash is `resetlab_wire::wsse`, pinned by the ONVIF programmer's guide vector). A
//! token whose `Created` is outside the firmware's window, or whose nonce was already seen inside
//! it, is refused like a stale Digest nonce: no login, and no count against the lockout unless the
//! password was wrong too.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::xml::Element;

/// Most nonces remembered at once; past it, the oldest go (their tokens expire with the window
/// anyway for a client that keeps time).
const MAX_SEEN: usize = 4096;

/// A `<wsse:UsernameToken>` as the request carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UsernameToken {
    pub(crate) username: String,
    /// The `<Password>` text: a digest (Base64) or, for `#PasswordText`, the password itself.
    pub(crate) password: String,
    pub(crate) digest: bool,
    pub(crate) nonce: Option<String>,
    pub(crate) created: Option<String>,
}

/// Why a token cannot be judged at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TokenError {
    #[error("UsernameToken without a Username")]
    NoUsername,
    #[error("PasswordDigest without a Nonce and Created")]
    NoNonce,
    #[error("Nonce is not Base64")]
    BadNonce,
}

impl UsernameToken {
    /// The token in `envelope`'s `Header/Security`, if there is one.
    pub(crate) fn from_envelope(envelope: &Element) -> Result<Option<Self>, TokenError> {
        let Some(token) = envelope.at(&["Header", "Security", "UsernameToken"]) else {
            return Ok(None);
        };
        let username = token.text_at(&["Username"]).unwrap_or("").to_owned();
        if username.is_empty() {
            return Err(TokenError::NoUsername);
        }
        let password = token.child("Password");
        let digest = password.and_then(|p| p.attr("Type")).is_some_and(|t| t.ends_with("#PasswordDigest"));
        let t = UsernameToken {
            username,
            password: password.map(|p| p.text.trim().to_owned()).unwrap_or_default(),
            digest,
            nonce: token.text_at(&["Nonce"]).filter(|n| !n.is_empty()).map(str::to_owned),
            created: token.text_at(&["Created"]).filter(|c| !c.is_empty()).map(str::to_owned),
        };
        if t.digest {
            let (Some(nonce), Some(_)) = (&t.nonce, &t.created) else {
                return Err(TokenError::NoNonce);
            };
            if resetlab_wire::wsse::decode_nonce(nonce).is_none() {
                return Err(TokenError::BadNonce);
            }
        }
        Ok(Some(t))
    }

    /// Whether this token proves `password`.
    pub(crate) fn proves(&self, password: &str) -> bool {
        if !self.digest {
            return self.password == password;
        }
        let (Some(nonce), Some(created)) = (&self.nonce, &self.created) else {
            return false;
        };
        resetlab_wire::wsse::password_digest_b64(nonce, created, password).as_deref() == Some(self.password.as_str())
    }
}

/// Token nonces seen within the window; lost with RAM on a power cut.
#[derive(Debug)]
pub(crate) struct SeenNonces {
    seen: HashMap<String, Instant>,
    window: Duration,
}

impl SeenNonces {
    pub(crate) fn new(window: Duration) -> Self {
        SeenNonces { seen: HashMap::new(), window }
    }

    /// Whether `token` is fresh: its `Created` within the window of `now`, its nonce not seen
    /// before (and now remembered). A `#PasswordText` token has neither and is always fresh.
    pub(crate) fn fresh(&mut self, token: &UsernameToken, now: DateTime<Utc>) -> bool {
        if !token.digest {
            return true;
        }
        let (Some(nonce), Some(created)) = (&token.nonce, &token.created) else {
            return false;
        };
        let Ok(created) = DateTime::parse_from_rfc3339(created) else {
            return false;
        };
        let skew = (now - created.with_timezone(&Utc)).abs();
        if skew.to_std().map_or(true, |s| s > self.window) {
            return false;
        }
        let t = Instant::now();
        let window = self.window;
        self.seen.retain(|_, at| t.duration_since(*at) <= window * 2);
        if self.seen.len() >= MAX_SEEN
            && let Some(oldest) = self.seen.iter().min_by_key(|(_, at)| **at).map(|(k, _)| k.clone())
        {
            self.seen.remove(&oldest);
        }
        self.seen.insert(nonce.clone(), t).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onvif::xml::parse;

    fn envelope(password_type: &str, password: &str, nonce: &str, created: &str) -> Element {
        parse(&format!(
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="u"><wsse:UsernameToken><wsse:Username>admin</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0{password_type}">{password}</wsse:Password><wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">{nonce}</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header><s:Body/></s:Envelope>"#
        ))
        .unwrap()
    }

    #[test]
    fn the_programmers_guide_token_proves_its_password_once_within_the_window() {
        let env = envelope(
            "#PasswordDigest",
            "tuOSpGlFlIXsozq4HFNeeGeFLEI=",
            "LKqI6G/AikKCQrN0zqZFlg==",
            "2010-09-16T07:50:45Z",
        );
        let t = UsernameToken::from_envelope(&env).unwrap().unwrap();
        assert!(t.digest && t.proves("userpassword") && !t.proves("userpassworD"));
        let mut seen = SeenNonces::new(Duration::from_secs(300));
        let then = DateTime::parse_from_rfc3339("2010-09-16T07:52:00Z").unwrap().with_timezone(&Utc);
        assert!(seen.fresh(&t, then));
        assert!(!seen.fresh(&t, then), "the same nonce again is a replay");
        let late = DateTime::parse_from_rfc3339("2010-09-16T08:00:46Z").unwrap().with_timezone(&Utc);
        let mut other = SeenNonces::new(Duration::from_secs(300));
        assert!(!other.fresh(&t, late), "Created 15 min ago is outside a 5 min window");
        let early = DateTime::parse_from_rfc3339("2010-09-16T07:40:00Z").unwrap().with_timezone(&Utc);
        assert!(!other.fresh(&t, early), "Created in the future beyond the window");
    }

    #[test]
    fn text_passwords_and_broken_tokens() {
        let env = envelope("#PasswordText", "000000", "", "");
        let t = UsernameToken::from_envelope(&env).unwrap().unwrap();
        assert!(!t.digest && t.proves("000000"));
        let env = envelope("#PasswordDigest", "x", "", "");
        assert_eq!(UsernameToken::from_envelope(&env), Err(TokenError::NoNonce));
        let env = envelope("#PasswordDigest", "x", "!!", "2010-09-16T07:50:45Z");
        assert_eq!(UsernameToken::from_envelope(&env), Err(TokenError::BadNonce));
        let none = parse("<Envelope><Body/></Envelope>").unwrap();
        assert_eq!(UsernameToken::from_envelope(&none), Ok(None));
    }
}
