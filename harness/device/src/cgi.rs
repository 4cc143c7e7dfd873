//! The HTTP CGI client: `magicBox.cgi` (identity) and `userManager.cgi` (accounts) with HTTP Digest,
//! as Dahua-family firmware serves them. A call makes at most one authenticated attempt (plus one
//! retry when the device says the nonce was stale), so it counts at most once against a lockout.
//! Once the target holds a challenge, a call answers it up front with the next nonce count: one
//! round trip instead of two (see `shared.rs`).

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::StatusCode;
use reqwest::header::AUTHORIZATION;
use resetlab_wire::Secret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::call::Call;
use crate::challenge::Challenge;
use crate::error::{DeviceError, ErrorKind, excerpt};
use crate::http::{self, HttpReply};
use crate::interface::Interface;
use crate::kv::KvBody;
use crate::shared::DigestRound;
use crate::target::{Credentials, Target};

/// Characters left as they are in a query value; everything else is percent-encoded.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

fn enc(s: &str) -> String {
    utf8_percent_encode(s, QUERY_VALUE).to_string()
}

/// The request target of `modifyPassword` for the account `name`, every value percent-encoded:
/// what [`Cgi::modify_password`] sends, and what the suite sends through the cloud relay the way
/// an app does.
pub fn modify_password_path(name: &str, new: &Secret, old: &Secret) -> String {
    format!(
        "/cgi-bin/userManager.cgi?action=modifyPassword&name={}&pwd={}&pwdOld={}",
        enc(name),
        enc(new.expose()),
        enc(old.expose())
    )
}

/// One account as `getUserInfoAll` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// Account name.
    pub name: String,
    /// Group, `admin` or `user` on stock firmware.
    pub group: String,
}

/// HTTP CGI client for one recorder.
#[derive(Debug, Clone)]
pub struct Cgi {
    target: Target,
    client: reqwest::Client,
}

impl Cgi {
    /// A client for `target`'s HTTP port.
    pub fn new(target: &Target) -> Self {
        Cgi { target: target.clone(), client: target.shared().http() }
    }

    /// GET `path_and_query` with Digest and return the `key=value` body. An `Error` body (under any
    /// status) is [`ErrorKind::Refused`]; 401 after answering the challenge is
    /// [`ErrorKind::Unauthorized`] (or [`ErrorKind::Locked`] when the body says so).
    pub async fn get(&self, creds: &Credentials, path_and_query: &str) -> Result<KvBody, DeviceError> {
        let call = Call::start(Interface::Http, format!("GET {path_and_query}"), &self.target);
        let reply = self.authenticated_get(&call, creds, path_and_query).await?;
        judge(&call, &reply)
    }

    /// Send `modifyPassword` (as [`Cgi::modify_password`]) and return as soon as the request is
    /// written, before its answer is read: ART-DURABLE cuts the power in that window, while the
    /// recorder may be processing the change. [`UnreadChange::answer`] reads what, if anything,
    /// came back.
    pub async fn send_modify_password(
        &self,
        creds: &Credentials,
        name: &str,
        new: &Secret,
        old: &Secret,
    ) -> Result<UnreadChange, DeviceError> {
        let path = modify_password_path(name, new, old);
        let call = Call::start(Interface::Http, format!("GET {path}"), &self.target);
        // A fresh challenge from a request that changes nothing: a Digest nonce is not bound to
        // the URI it was issued for.
        let probe = "/cgi-bin/magicBox.cgi?action=getDeviceType";
        let what = format!("HTTP response from {}", self.target.http_authority());
        let reply = http::exchange(
            &call.next(format!("GET {probe}")),
            &what,
            self.client.get(format!("{}{probe}", self.target.http_base())),
        )
        .await?;
        let mut challenge =
            Challenge::from_headers(reply.challenges()).map_err(|k| call.fail(k).with_reply(reply.summary()))?;
        let auth = challenge.authorization("GET", &path, &creds.user, &creds.password).map_err(|k| call.fail(k))?;
        let authority = self.target.http_authority();
        let tcp = call
            .step(|| format!("a TCP connection to {authority}"), TcpStream::connect(&authority))
            .await?
            .map_err(|e| call.fail(ErrorKind::Connect(e.to_string())))?;
        let mut stream: Box<dyn Wire> = match self.target.https() {
            None => Box::new(tcp),
            Some(https) => {
                let connect = crate::tls::connector(https).map_err(|e| call.fail(ErrorKind::Connect(e)))?;
                let name = crate::tls::server_name(&self.target.host).map_err(|e| call.fail(ErrorKind::Connect(e)))?;
                let tls = call
                    .step(|| format!("the TLS handshake with {authority}"), connect.connect(name, tcp))
                    .await?
                    .map_err(|e| call.fail(ErrorKind::Connect(format!("TLS: {e}"))))?;
                Box::new(tls)
            }
        };
        let head =
            format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n");
        call.count_request();
        call.step(|| "the request to be written".into(), stream.write_all(head.as_bytes()))
            .await?
            .map_err(|e| call.fail(ErrorKind::NoAnswer { detail: format!("the request could not be written: {e}") }))?;
        Ok(UnreadChange { stream, call })
    }
}

/// A connection to the recorder's HTTP service, plain or TLS.
trait Wire: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Wire for T {}

/// A `modifyPassword` on the wire whose answer has not been read.
pub struct UnreadChange {
    stream: Box<dyn Wire>,
    call: Call,
}

impl std::fmt::Debug for UnreadChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnreadChange").field("request", &self.call.request).finish_non_exhaustive()
    }
}

impl UnreadChange {
    /// Read the answer (the connection closes after it): `Ok` on the recorder's `OK`; a
    /// connection that ends without a whole answer is [`ErrorKind::NoAnswer`].
    pub async fn answer(mut self) -> Result<(), DeviceError> {
        let call = self.call;
        let mut raw = Vec::new();
        let read = call
            .step(
                || "the answer to modifyPassword".into(),
                (&mut self.stream).take(http::MAX_BODY as u64).read_to_end(&mut raw),
            )
            .await?;
        let lost = |detail: String| call.fail(ErrorKind::NoAnswer { detail });
        if let Err(e) = read {
            return Err(lost(format!("the connection broke before the answer was read: {e}")));
        }
        let reply = parse_reply(&raw).ok_or_else(|| {
            lost(if raw.is_empty() {
                "the connection closed after the request was sent".into()
            } else {
                "the answer was cut short".into()
            })
        })?;
        let body = judge(&call, &reply)?;
        if body.is_ok() {
            Ok(())
        } else {
            Err(call.fail(ErrorKind::Protocol { detail: "expected body `OK`".into(), excerpt: excerpt(&reply.body) }))
        }
    }
}

/// A whole HTTP/1.1 answer read to the connection's end: status line, headers, and a body as long
/// as its `Content-Length` says (when it says).
fn parse_reply(raw: &[u8]) -> Option<HttpReply> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse::<u16>().ok()?;
    let mut headers = reqwest::header::HeaderMap::new();
    for line in lines {
        let (k, v) = line.split_once(':')?;
        let name = reqwest::header::HeaderName::from_bytes(k.trim().as_bytes()).ok()?;
        headers.append(name, reqwest::header::HeaderValue::from_str(v.trim()).ok()?);
    }
    if let Some(len) = headers.get(reqwest::header::CONTENT_LENGTH) {
        let len: usize = len.to_str().ok()?.parse().ok()?;
        if body.len() < len {
            return None;
        }
    }
    Some(HttpReply { status: StatusCode::from_u16(status).ok()?, headers, body: body.to_owned() })
}

/// What a CGI reply means: an `Error` body (under any status) is [`ErrorKind::Refused`]; 401 is
/// [`ErrorKind::Unauthorized`] (or [`ErrorKind::Locked`] when the body says so).
fn judge(call: &Call, reply: &HttpReply) -> Result<KvBody, DeviceError> {
    let body = KvBody::parse(&reply.body);
    // Credentials first: a 401 (or a 403 that speaks of a lock) is about who we are, whatever
    // its body; only then is an `Error` body a refusal of the action itself.
    match reply.status {
        StatusCode::UNAUTHORIZED => {
            return Err(call.fail(unauthorized_or_locked(&reply.body)).with_reply(reply.summary()));
        }
        StatusCode::FORBIDDEN if mentions_lock(&reply.body) => {
            return Err(call.fail(unauthorized_or_locked(&reply.body)).with_reply(reply.summary()));
        }
        _ => {}
    }
    if let Some(reason) = body.error_reason() {
        return Err(call.fail(ErrorKind::Refused { reason }).with_reply(reply.summary()));
    }
    match reply.status {
        StatusCode::OK => Ok(body),
        StatusCode::FORBIDDEN => Err(call
            .fail(ErrorKind::Refused { reason: first_line_or(&body, "HTTP 403 Forbidden") })
            .with_reply(reply.summary())),
        other => Err(call
            .fail(ErrorKind::Protocol {
                detail: format!("expected HTTP 200, got {other}"),
                excerpt: excerpt(&reply.body),
            })
            .with_reply(reply.summary())),
    }
}

impl Cgi {
    /// GET an action whose success body is `OK`.
    async fn action(&self, creds: &Credentials, path_and_query: &str) -> Result<(), DeviceError> {
        let body = self.get(creds, path_and_query).await?;
        if body.is_ok() {
            Ok(())
        } else {
            let text = body.lines().join("\n");
            Err(DeviceError::new(
                Interface::Http,
                format!("GET {path_and_query}"),
                ErrorKind::Protocol { detail: "expected body `OK`".into(), excerpt: excerpt(&text) },
            ))
        }
    }

    /// GET a `magicBox` query and return the value of `key`.
    async fn value(&self, creds: &Credentials, action: &str, key: &str) -> Result<String, DeviceError> {
        let pq = format!("/cgi-bin/magicBox.cgi?action={action}");
        let body = self.get(creds, &pq).await?;
        body.get(key).map(str::to_owned).ok_or_else(|| {
            DeviceError::new(
                Interface::Http,
                format!("GET {pq}"),
                ErrorKind::Protocol {
                    detail: format!("expected a `{key}=` line"),
                    excerpt: excerpt(&body.lines().join("\n")),
                },
            )
        })
    }

    /// `getMachineName` → `name`.
    pub async fn machine_name(&self, creds: &Credentials) -> Result<String, DeviceError> {
        self.value(creds, "getMachineName", "name").await
    }

    /// `getSerialNo` → `sn`.
    pub async fn serial_no(&self, creds: &Credentials) -> Result<String, DeviceError> {
        self.value(creds, "getSerialNo", "sn").await
    }

    /// `getDeviceType` → `type`.
    pub async fn device_type(&self, creds: &Credentials) -> Result<String, DeviceError> {
        self.value(creds, "getDeviceType", "type").await
    }

    /// `getSoftwareVersion` → `version`.
    pub async fn software_version(&self, creds: &Credentials) -> Result<String, DeviceError> {
        self.value(creds, "getSoftwareVersion", "version").await
    }

    /// `getSystemInfo`: every `key=value` line.
    pub async fn system_info(&self, creds: &Credentials) -> Result<KvBody, DeviceError> {
        self.get(creds, "/cgi-bin/magicBox.cgi?action=getSystemInfo").await
    }

    /// `getUserInfoAll`: the accounts, in index order.
    pub async fn users(&self, creds: &Credentials) -> Result<Vec<UserInfo>, DeviceError> {
        let body = self.get(creds, "/cgi-bin/userManager.cgi?action=getUserInfoAll").await?;
        Ok(parse_users(&body))
    }

    /// `addUser` with the stock flags (`Sharable=true`, `Reserved=false`).
    pub async fn add_user(
        &self,
        creds: &Credentials,
        name: &str,
        password: &Secret,
        group: &str,
    ) -> Result<(), DeviceError> {
        let pq = format!(
            "/cgi-bin/userManager.cgi?action=addUser&user.Name={}&user.Password={}&user.Group={}&user.Sharable=true&user.Reserved=false",
            enc(name),
            enc(password.expose()),
            enc(group)
        );
        self.action(creds, &pq).await
    }

    /// `deleteUser&name=N`.
    pub async fn delete_user(&self, creds: &Credentials, name: &str) -> Result<(), DeviceError> {
        self.action(creds, &format!("/cgi-bin/userManager.cgi?action=deleteUser&name={}", enc(name))).await
    }

    /// `modifyPassword&name=N&pwd=NEW&pwdOld=OLD`.
    pub async fn modify_password(
        &self,
        creds: &Credentials,
        name: &str,
        new: &Secret,
        old: &Secret,
    ) -> Result<(), DeviceError> {
        self.action(creds, &modify_password_path(name, new, old)).await
    }

    /// GET with the target's known Digest challenge answered up front, or without credentials
    /// when none is known; on 401 answer the new challenge once, and once more only if the device
    /// marks our nonce stale. Returns the last reply, whatever its status.
    async fn authenticated_get(
        &self,
        call: &Call,
        creds: &Credentials,
        path_and_query: &str,
    ) -> Result<HttpReply, DeviceError> {
        if !path_and_query.starts_with('/') {
            return Err(call.fail(ErrorKind::Protocol {
                detail: "harness bug: CGI path must start with `/`".into(),
                excerpt: String::new(),
            }));
        }
        let url = format!("{}{}", self.target.http_base(), path_and_query);
        let parsed = reqwest::Url::parse(&url).map_err(|e| {
            call.fail(ErrorKind::Protocol { detail: format!("harness bug: invalid URL: {e}"), excerpt: String::new() })
        })?;
        // The Digest uri must be the request-target exactly as reqwest sends it.
        let uri = match parsed.query() {
            Some(q) => format!("{}?{}", parsed.path(), q),
            None => parsed.path().to_owned(),
        };
        let what = format!("HTTP response from {}", self.target.http_authority());
        let mut round = DigestRound::new(self.target.shared(), Interface::Http, self.target.reuses_challenges());
        let mut auth = round.first("GET", &uri, &creds.user, &creds.password).map_err(|k| call.fail(k))?;
        loop {
            let mut req = self.client.get(parsed.clone());
            if let Some(a) = auth {
                req = req.header(AUTHORIZATION, a);
            }
            let reply = http::exchange(call, &what, req).await?;
            if reply.status != StatusCode::UNAUTHORIZED {
                return Ok(reply);
            }
            auth = round
                .on_401(reply.challenges(), "GET", &uri, &creds.user, &creds.password)
                .map_err(|k| call.fail(k).with_reply(reply.summary()))?;
            if auth.is_none() {
                return Ok(reply);
            }
            tracing::debug!(request = %call.request, "answering the Digest challenge");
        }
    }
}

/// `users[N].Name` / `users[N].Group` lines into accounts, ordered by N.
pub(crate) fn parse_users(body: &KvBody) -> Vec<UserInfo> {
    let mut by_index: BTreeMap<u32, (Option<String>, Option<String>)> = BTreeMap::new();
    for (k, v) in body.pairs() {
        let Some(open) = k.find('[') else { continue };
        let Some(close) = k[open..].find("].").map(|i| open + i) else {
            continue;
        };
        let Ok(n) = k[open + 1..close].trim().parse::<u32>() else {
            continue;
        };
        let field = &k[close + 2..];
        let entry = by_index.entry(n).or_default();
        if field.eq_ignore_ascii_case("Name") {
            entry.0 = Some(v.clone());
        } else if field.eq_ignore_ascii_case("Group") {
            entry.1 = Some(v.clone());
        }
    }
    by_index
        .into_values()
        .filter_map(|(name, group)| Some(UserInfo { name: name?, group: group.unwrap_or_default() }))
        .collect()
}

fn mentions_lock(body: &str) -> bool {
    body.to_ascii_lowercase().contains("lock")
}

fn unauthorized_or_locked(body: &str) -> ErrorKind {
    if mentions_lock(body) {
        ErrorKind::Locked { remaining_s: crate::error::seconds_after_lock(body) }
    } else {
        ErrorKind::Unauthorized
    }
}

fn first_line_or(body: &KvBody, default: &str) -> String {
    body.lines().first().cloned().unwrap_or_else(|| default.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_parse_in_index_order_with_extra_keys() {
        let body = KvBody::parse(
            "users[1].Name=operator\r\nusers[1].Group=user\r\nusers[0].Name=admin\r\nusers[0].Group=admin\r\nusers[0].Sharable=true\r\nusers[10].Name=late\r\n",
        );
        assert_eq!(
            parse_users(&body),
            vec![
                UserInfo { name: "admin".into(), group: "admin".into() },
                UserInfo { name: "operator".into(), group: "user".into() },
                UserInfo { name: "late".into(), group: String::new() },
            ]
        );
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(enc("a&b=c d#%"), "a%26b%3Dc%20d%23%25");
        assert_eq!(enc("abc-12_3.~"), "abc-12_3.~");
    }

    #[test]
    fn lock_wording_in_a_401_body_is_a_lock() {
        assert_eq!(
            unauthorized_or_locked("Error\r\nUser locked, 120 s left\r\n"),
            ErrorKind::Locked { remaining_s: Some(120) }
        );
        assert_eq!(unauthorized_or_locked("Unauthorized"), ErrorKind::Unauthorized);
    }
}
