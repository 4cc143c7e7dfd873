//! The RPC2 client: the two-step `global.login` on `/RPC2_Login` (challenge, then the
//! `resetlab_wire::rpc2::login_hash` answer) and session calls on `/RPC2`. Replies are read
//! leniently, as real firmware writes them: `session` as string or number, extra keys, error codes
//! as numbers or strings, lock time in `params` or only in the message.

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::StatusCode;
use resetlab_wire::Secret;
use serde_json::{Value, json};

use crate::call::Call;
use crate::error::{DeviceError, ErrorKind, excerpt};
use crate::http;
use crate::interface::Interface;
use crate::target::{Credentials, Target};

/// RPC2 error codes of Dahua-family firmware.
pub mod codes {
    /// First `global.login` answer: here are realm and random, send the hash.
    pub const LOGIN_CHALLENGE: i64 = 268632079;
    /// Wrong user name or password.
    pub const BAD_CREDENTIALS: i64 = 268632085;
    /// Account locked.
    pub const LOCKED: i64 = 268632081;
    /// Session unknown or expired.
    pub const INVALID_SESSION: i64 = 287637505;
}

/// The client type the vendor's web UI sends.
pub const WEB_CLIENT_TYPE: &str = "Web3.0";

/// A parsed RPC2 reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Rpc2Reply {
    /// `result`: usually `true`/`false`, sometimes an object.
    pub result: Value,
    /// `params`, `Value::Null` when absent.
    pub params: Value,
    /// `error.code` and `error.message`, when present.
    pub error: Option<(i64, String)>,
    /// `session`, as text even when the firmware sends a number.
    pub session: Option<String>,
}

impl Rpc2Reply {
    /// Parse a reply body; `Err` says what was wrong with it.
    pub fn parse(body: &str) -> Result<Self, String> {
        let v: Value = serde_json::from_str(body.trim().trim_start_matches('\u{feff}'))
            .map_err(|e| format!("reply is not JSON: {e}"))?;
        let Value::Object(map) = &v else {
            return Err("reply is not a JSON object".into());
        };
        let error = match map.get("error") {
            None | Some(Value::Null) => None,
            Some(Value::Object(e)) => {
                let code = match e.get("code") {
                    Some(Value::Number(n)) => n.as_i64(),
                    Some(Value::String(s)) => s.trim().parse().ok(),
                    _ => None,
                }
                .ok_or("`error` without a numeric `code`")?;
                let message = e.get("message").and_then(Value::as_str).unwrap_or("").to_owned();
                Some((code, message))
            }
            Some(_) => return Err("`error` is not an object".into()),
        };
        let session = match map.get("session") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        if error.is_none() && !map.contains_key("result") {
            return Err("reply has neither `result` nor `error`".into());
        }
        Ok(Rpc2Reply {
            result: map.get("result").cloned().unwrap_or(Value::Null),
            params: map.get("params").cloned().unwrap_or(Value::Null),
            error,
            session,
        })
    }

    /// True for a successful call: no error and a result that is not `false`/`null`.
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && !matches!(self.result, Value::Bool(false) | Value::Null)
    }

    /// Remaining lock seconds: a `params` number whose key speaks of a lock (`remainLockSeconds`,
    /// `lockLeftTime`…), else a number after "lock" in the message.
    pub fn lock_seconds(&self) -> Option<u64> {
        if let Value::Object(p) = &self.params {
            for (k, v) in p {
                if k.to_ascii_lowercase().contains("lock")
                    && let Some(n) = v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                {
                    return Some(n);
                }
            }
        }
        self.error.as_ref().and_then(|(_, m)| crate::error::seconds_after_lock(m))
    }
}

/// What a login error code means for the caller.
fn login_error(reply: &Rpc2Reply) -> ErrorKind {
    match &reply.error {
        Some((codes::LOCKED, _)) => ErrorKind::Locked { remaining_s: reply.lock_seconds() },
        // Some firmware keeps answering "bad credentials" while locked, with the lock time in params.
        Some((codes::BAD_CREDENTIALS, _)) if reply.lock_seconds().is_some_and(|s| s > 0) => {
            ErrorKind::Locked { remaining_s: reply.lock_seconds() }
        }
        Some((codes::BAD_CREDENTIALS, _)) => ErrorKind::Unauthorized,
        Some((code, message)) => ErrorKind::Refused { reason: format!("error {code}: {message}") },
        None => ErrorKind::Refused { reason: "result false without an error".into() },
    }
}

/// What a session-call error means: locks stay locks, everything else is a refusal with the code.
fn call_error(reply: &Rpc2Reply) -> ErrorKind {
    match &reply.error {
        Some((codes::LOCKED, _)) => ErrorKind::Locked { remaining_s: reply.lock_seconds() },
        Some((codes::INVALID_SESSION, message)) => {
            ErrorKind::Refused { reason: format!("invalid session (error {}): {message}", codes::INVALID_SESSION) }
        }
        Some((code, message)) => ErrorKind::Refused { reason: format!("error {code}: {message}") },
        None => ErrorKind::Refused { reason: format!("result {} without an error", reply.result) },
    }
}

/// A logged-in RPC2 session. Its Debug hides the session id, which works as a credential.
pub struct Rpc2Session {
    target: Target,
    client: reqwest::Client,
    session: String,
    next_id: AtomicU64,
}

impl std::fmt::Debug for Rpc2Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rpc2Session")
            .field("target", &self.target)
            .field("session", &resetlab_wire::secret::MASK)
            .finish()
    }
}

impl Rpc2Session {
    /// Log in as the vendor's web UI does (`clientType` `Web3.0`, `loginType` `Direct`).
    pub async fn login(target: &Target, creds: &Credentials) -> Result<Self, DeviceError> {
        Self::login_as(target, creds, WEB_CLIENT_TYPE, "Direct").await
    }

    /// Log in with another `clientType` (for bypass regressions: `Local`, `NetKeyboard`…).
    pub async fn login_as_client_type(
        target: &Target,
        creds: &Credentials,
        client_type: &str,
    ) -> Result<Self, DeviceError> {
        Self::login_as(target, creds, client_type, "Direct").await
    }

    /// Log in with any `clientType` and `loginType` (e.g. `Loopback`). If the device grants a session
    /// on the first, password-less call, that session is returned: the caller decides whether that
    /// is a bypass.
    pub async fn login_as(
        target: &Target,
        creds: &Credentials,
        client_type: &str,
        login_type: &str,
    ) -> Result<Self, DeviceError> {
        Self::login_proving(target, &creds.user, Proof::Password(&creds.password), client_type, login_type).await
    }

    /// Log in as the vendor's web UI does, but answer the challenge from a stored hash
    /// (`UPPER(MD5(user:realm:password))`, what the firmware keeps and a leaked account database
    /// holds) instead of the password: the published pass-the-hash attack on this family. On the
    /// wire it is an ordinary login; whether it gets in says which hashes the recorder still takes.
    pub async fn login_with_stored_hash(target: &Target, user: &str, stored: &Secret) -> Result<Self, DeviceError> {
        Self::login_proving(target, user, Proof::StoredHash(stored), WEB_CLIENT_TYPE, "Direct").await
    }

    /// The hash this recorder stores for `creds` (`UPPER(MD5(user:realm:password))` with the realm
    /// its login challenge announces): what a leak of its account database would reveal. Asks for
    /// a challenge only; no login is attempted, so nothing counts against the account.
    pub async fn stored_hash(target: &Target, creds: &Credentials) -> Result<Secret, DeviceError> {
        let client = target.shared().http();
        let (call, reply) = challenge(&client, target, &creds.user, WEB_CLIENT_TYPE, "Direct").await?;
        let Some(Challenge { realm, .. }) = read_challenge(&call, &reply)? else {
            return Err(call
                .fail(ErrorKind::Protocol {
                    detail: "a session was granted on the password-less first call; no realm to read".into(),
                    excerpt: String::new(),
                })
                .with_reply(&reply.0));
        };
        Ok(Secret::new(resetlab_wire::rpc2::stored_hash(&creds.user, &realm, creds.password.expose())))
    }

    async fn login_proving(
        target: &Target,
        user: &str,
        proof: Proof<'_>,
        client_type: &str,
        login_type: &str,
    ) -> Result<Self, DeviceError> {
        let client = target.shared().http();
        // One deadline for both steps: the login is one call.
        let (call, reply) = challenge(&client, target, user, client_type, login_type).await?;
        let Some(Challenge { realm, random }) = read_challenge(&call, &reply)? else {
            let session = reply.1.session.clone().ok_or_else(|| no_session(&call, &reply.0))?;
            return Ok(Self::new(target, client, session));
        };
        let hash = Secret::new(match proof {
            Proof::Password(p) => resetlab_wire::rpc2::login_hash(user, &realm, &random, p.expose()),
            Proof::StoredHash(h) => {
                resetlab_wire::rpc2::login_hash_from_stored(user, &random, &h.expose().to_ascii_uppercase())
            }
        });
        let mut second = json!({
            "method": "global.login",
            "params": {
                "userName": user,
                "password": hash.expose(),
                "clientType": client_type,
                "loginType": login_type,
                "passwordType": "Default",
            },
            "id": 2,
        });
        if let Some(s) = &reply.1.session {
            // Echo the session as the firmware typed it (some send a number).
            second["session"] = s.parse::<u64>().map(Value::from).unwrap_or_else(|_| Value::from(s.clone()));
        }
        let call = call.next(describe("/RPC2_Login", &second));
        let answer = post(&client, &call, target, "/RPC2_Login", &second).await?;
        if !answer.1.succeeded() {
            return Err(call.fail(login_error(&answer.1)).with_reply(&answer.0));
        }
        let session =
            answer.1.session.clone().or(reply.1.session.clone()).ok_or_else(|| no_session(&call, &answer.0))?;
        tracing::debug!(user, client_type, "RPC2 login accepted");
        Ok(Self::new(target, client, session))
    }

    fn new(target: &Target, client: reqwest::Client, session: String) -> Self {
        Rpc2Session { target: target.clone(), client, session, next_id: AtomicU64::new(3) }
    }

    /// The session id the device issued.
    pub fn session_id(&self) -> &str {
        &self.session
    }

    /// Call `method` with `params` on `/RPC2`; returns the reply's `params` (or `result` when there
    /// are none) on success.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, DeviceError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let session =
            self.session.parse::<u64>().map(Value::from).unwrap_or_else(|_| Value::from(self.session.clone()));
        let body = json!({"method": method, "params": params, "session": session, "id": id});
        let call = Call::start(Interface::Rpc2, describe("/RPC2", &body), &self.target);
        let (summary, reply) = post(&self.client, &call, &self.target, "/RPC2", &body).await?;
        if reply.succeeded() {
            Ok(if reply.params.is_null() { reply.result } else { reply.params })
        } else {
            Err(call.fail(call_error(&reply)).with_reply(summary))
        }
    }

    /// `userManager.modifyPassword {name, pwd, pwdOld}`.
    pub async fn modify_password(&self, name: &str, new: &Secret, old: &Secret) -> Result<(), DeviceError> {
        self.call("userManager.modifyPassword", json!({"name": name, "pwd": new.expose(), "pwdOld": old.expose()}))
            .await
            .map(drop)
    }

    /// `global.keepAlive {timeout: 300, active: true}`.
    pub async fn keep_alive(&self) -> Result<(), DeviceError> {
        self.call("global.keepAlive", json!({"timeout": 300, "active": true})).await.map(drop)
    }

    /// `global.logout`.
    pub async fn logout(self) -> Result<(), DeviceError> {
        self.call("global.logout", Value::Null).await.map(drop)
    }
}

/// What a login's second call is computed from.
#[derive(Clone, Copy)]
enum Proof<'a> {
    Password(&'a Secret),
    /// `UPPER(MD5(user:realm:password))`, as the firmware stores it.
    StoredHash(&'a Secret),
}

/// The first `global.login` answer's `realm` and `random`.
struct Challenge {
    realm: String,
    random: String,
}

/// The password-less first `global.login` call.
async fn challenge(
    client: &reqwest::Client,
    target: &Target,
    user: &str,
    client_type: &str,
    login_type: &str,
) -> Result<(Call, (String, Rpc2Reply)), DeviceError> {
    let first = json!({
        "method": "global.login",
        "params": {"userName": user, "password": "", "clientType": client_type, "loginType": login_type},
        "id": 1,
    });
    let call = Call::start(Interface::Rpc2, describe("/RPC2_Login", &first), target);
    let reply = post(client, &call, target, "/RPC2_Login", &first).await?;
    Ok((call, reply))
}

/// The challenge in a first answer; `None` when that answer already granted a session.
fn read_challenge(call: &Call, reply: &(String, Rpc2Reply)) -> Result<Option<Challenge>, DeviceError> {
    if reply.1.succeeded() {
        return Ok(None);
    }
    if !matches!(reply.1.error, Some((codes::LOGIN_CHALLENGE, _))) {
        return Err(call.fail(login_error(&reply.1)).with_reply(&reply.0));
    }
    let field = |name: &str| reply.1.params.get(name).and_then(Value::as_str).map(str::to_owned);
    let (Some(realm), Some(random)) = (field("realm"), field("random")) else {
        return Err(call
            .fail(ErrorKind::Protocol {
                detail: "login challenge without `realm` and `random`".into(),
                excerpt: String::new(),
            })
            .with_reply(&reply.0));
    };
    let encryption = field("encryption").unwrap_or_else(|| "Default".into());
    if encryption != "Default" {
        return Err(call
            .fail(ErrorKind::Protocol {
                detail: format!("login challenge asks for encryption `{encryption}`; only `Default` is implemented"),
                excerpt: String::new(),
            })
            .with_reply(&reply.0));
    }
    Ok(Some(Challenge { realm, random }))
}

/// `POST /RPC2 {…redacted JSON…}`.
fn describe(path: &str, body: &Value) -> String {
    format!("POST {path} {}", crate::redact::json(body))
}

fn no_session(call: &Call, summary: &str) -> DeviceError {
    call.fail(ErrorKind::Protocol { detail: "login accepted without a `session`".into(), excerpt: String::new() })
        .with_reply(summary)
}

/// POST a JSON request and parse the reply; returns the reply summary with it.
async fn post(
    client: &reqwest::Client,
    call: &Call,
    target: &Target,
    path: &str,
    body: &Value,
) -> Result<(String, Rpc2Reply), DeviceError> {
    let what = format!("RPC2 reply from {}", target.http_authority());
    let req = client
        .post(format!("{}{path}", target.http_base()))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string());
    let reply = http::exchange(call, &what, req).await?;
    let summary = reply.summary();
    if reply.status != StatusCode::OK {
        return Err(call
            .fail(ErrorKind::Protocol {
                detail: format!("expected HTTP 200, got {}", reply.status),
                excerpt: excerpt(&reply.body),
            })
            .with_reply(summary));
    }
    let parsed = Rpc2Reply::parse(&reply.body).map_err(|detail| {
        call.fail(ErrorKind::Protocol { detail, excerpt: excerpt(&reply.body) }).with_reply(&summary)
    })?;
    Ok((summary, parsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_world_challenge_reply_parses() {
        let body = r#"{ "error" : { "code" : 268632079, "message" : "Component error: login challenge!" }, "id" : 1, "params" : { "authorization" : "b8b0c5f3", "encryption" : "Default", "mac" : "3CEF8C000000", "random" : "1172275829", "realm" : "Login to a0c50bcd05b2f03d067e530d9bf069af" }, "result" : false, "session" : "f1b2e2b0b2d1c3e4" }"#;
        let r = Rpc2Reply::parse(body).unwrap();
        assert_eq!(r.error, Some((codes::LOGIN_CHALLENGE, "Component error: login challenge!".into())));
        assert_eq!(r.params["random"], "1172275829");
        assert_eq!(r.session.as_deref(), Some("f1b2e2b0b2d1c3e4"));
        assert!(!r.succeeded());
    }

    #[test]
    fn numeric_session_string_code_and_crlf_are_tolerated() {
        let r = Rpc2Reply::parse(
            "{\"id\":2,\"params\":{\"keepAliveInterval\":60},\"result\":true,\"session\":1234567}\r\n",
        )
        .unwrap();
        assert!(r.succeeded());
        assert_eq!(r.session.as_deref(), Some("1234567"));
        let r = Rpc2Reply::parse(
            r#"{"error":{"code":"268632085","message":"User or password not valid!"},"result":false}"#,
        )
        .unwrap();
        assert_eq!(login_error(&r), ErrorKind::Unauthorized);
    }

    #[test]
    fn lock_time_comes_from_params_or_message() {
        let r = Rpc2Reply::parse(r#"{"error":{"code":268632081,"message":"User has been locked!"},"params":{"remainLockSeconds":178,"remainLoginTimes":0},"result":false,"session":"x"}"#).unwrap();
        assert_eq!(login_error(&r), ErrorKind::Locked { remaining_s: Some(178) });
        let r = Rpc2Reply::parse(
            r#"{"error":{"code":268632081,"message":"User locked, try again after 299 seconds"},"result":false}"#,
        )
        .unwrap();
        assert_eq!(login_error(&r), ErrorKind::Locked { remaining_s: Some(299) });
        let r = Rpc2Reply::parse(r#"{"error":{"code":268632081,"message":"locked"},"result":false}"#).unwrap();
        assert_eq!(login_error(&r), ErrorKind::Locked { remaining_s: None });
        let r = Rpc2Reply::parse(r#"{"error":{"code":268632085,"message":"bad"},"params":{"remainLockSeconds":0,"remainLoginTimes":4},"result":false}"#).unwrap();
        assert_eq!(login_error(&r), ErrorKind::Unauthorized);
    }

    #[test]
    fn invalid_session_and_garbage_are_reported() {
        let r = Rpc2Reply::parse(
            r#"{"error":{"code":287637505,"message":"Invalid session in request data!"},"id":5,"result":false}"#,
        )
        .unwrap();
        assert!(matches!(call_error(&r), ErrorKind::Refused { reason } if reason.contains("invalid session")));
        assert!(Rpc2Reply::parse("Error\r\nBad Request!\r\n").unwrap_err().contains("not JSON"));
        assert!(Rpc2Reply::parse(r#"{"id":1}"#).is_err());
    }

    #[test]
    fn described_requests_mask_password_fields() {
        let d = describe(
            "/RPC2",
            &json!({"method":"userManager.modifyPassword","params":{"name":"admin","pwd":"rpcnew1","pwdOld":"rpcold1"}}),
        );
        assert!(d.contains("\"pwd\":\"•••\"") && !d.contains("rpcnew1") && !d.contains("rpcold1"), "{d}");
    }
}
