//! HTTP CGI (`/cgi-bin/magicBox.cgi`, `/cgi-bin/userManager.cgi`): Digest authentication with
//! `qop=auth`, then `key=value` text bodies with CRLF, `OK` for a done action and `Error` plus a
//! reason line (HTTP 400) for a refused one. Query strings carry passwords: never log them.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode, header};
use percent_encoding::percent_decode_str;
use resetlab_profile::Group;
use resetlab_wire::Secret;

use crate::accounts::{Account, Via};
use crate::defects::Defect;
use crate::digest::{DigestAuth, NonceState};
use crate::firmware::{Auth, Caller, Firmware};

pub(crate) type Reply = Response<Full<Bytes>>;

/// A text/plain reply.
pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(body.into())));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain;charset=utf-8"));
    r
}

fn ok() -> Reply {
    text(StatusCode::OK, "OK\r\n")
}

fn bad_request() -> Reply {
    text(StatusCode::BAD_REQUEST, "Error\r\nBad Request!\r\n")
}

fn refused(reason: &str) -> Reply {
    text(StatusCode::BAD_REQUEST, format!("Error\r\n{reason}\r\n"))
}

/// The 401 with a fresh challenge; `stale` when only the nonce was out of date.
fn challenge(fw: &Firmware, stale: bool, body: &str) -> Reply {
    let (nonce, opaque) = {
        let mut ram = fw.ram();
        (ram.nonces.issue(), ram.opaque.clone())
    };
    let stale = if stale { ", stale=true" } else { "" };
    let value = format!(r#"Digest realm="{}", qop="auth", nonce="{nonce}", opaque="{opaque}"{stale}"#, fw.realm);
    let mut r = text(StatusCode::UNAUTHORIZED, body);
    if let Ok(v) = header::HeaderValue::from_str(&value) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

/// Decoded `key=value` pairs of a query string, in order.
pub(crate) fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
            (dec(k), dec(v))
        })
        .collect()
}

struct Query(Vec<(String, String)>);

impl Query {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Serve one CGI request.
pub(crate) async fn handle<B>(fw: &Arc<Firmware>, req: &Request<B>) -> Reply {
    let caller = match digest_caller(fw, req, Via::Http) {
        Ok(c) => c,
        Err(reply) => return *reply,
    };
    let query = Query(query_pairs(req.uri().query().unwrap_or("")));
    let action = query.get("action").unwrap_or("").to_owned();
    // The path and action only: the query holds passwords.
    tracing::debug!(serial = %fw.serial, path = req.uri().path(), action, user = %caller.user, "CGI request");
    match req.uri().path() {
        "/cgi-bin/magicBox.cgi" => magic_box(fw, &action),
        "/cgi-bin/userManager.cgi" => user_manager(fw, &caller, &action, &query, req.uri().query().unwrap_or("")).await,
        _ => text(StatusCode::NOT_FOUND, "Error\r\nNot Found!\r\n"),
    }
}

/// The 401 with a fresh challenge and the CGI's text body.
pub(crate) fn digest_challenge(fw: &Firmware, stale: bool) -> Reply {
    challenge(fw, stale, "Error\r\nUnauthorized\r\n")
}

/// Digest check of an HTTP request arriving on `via` (CGI, or ONVIF with HTTP Digest): the
/// caller, or the 401 to send.
pub(crate) fn digest_caller<B>(fw: &Firmware, req: &Request<B>, via: Via) -> Result<Caller, Box<Reply>> {
    let unauthorized = "Error\r\nUnauthorized\r\n";
    let Some(d) = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(DigestAuth::parse)
    else {
        // Nothing, Basic, or garbage: answer with the Digest challenge, count nothing.
        return Err(Box::new(challenge(fw, false, unauthorized)));
    };
    let target = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    if d.realm != fw.realm || d.uri != target {
        return Err(Box::new(challenge(fw, false, unauthorized)));
    }
    // The nonce count is taken whatever the password: a replayed request never gets in.
    let state = fw.ram().nonces.use_nonce(&d.nonce, d.counted_nc());
    let fresh = state == NonceState::Fresh;
    let refusal = match fw.authenticate(via, &d.username, fresh, |pw| d.matches(pw, req.method().as_str())) {
        Auth::Stale => challenge(fw, true, unauthorized),
        Auth::Granted { user, group } => {
            return Ok(Caller { user, group, session: None });
        }
        Auth::Refused { .. } => challenge(fw, false, unauthorized),
        Auth::Locked { remaining_s } => {
            challenge(fw, false, &format!("Error\r\nUser locked, {remaining_s} s left\r\n"))
        }
    };
    Err(Box::new(refusal))
}

fn magic_box(fw: &Firmware, action: &str) -> Reply {
    let id = &fw.profile.identity;
    let body = match action {
        "getMachineName" => format!("name={}\r\n", id.machine_name),
        "getSerialNo" => format!("sn={}\r\n", fw.serial),
        "getDeviceType" => format!("type={}\r\n", id.device_type),
        "getSoftwareVersion" => format!("version={},build:{}\r\n", id.software_version, id.build_date),
        "getHardwareVersion" => "version=1.00\r\n".to_owned(),
        "getSystemInfo" => format!(
            "deviceType={}\r\nhardwareVersion=1.00\r\nprocessor=ST7108\r\nserialNumber={}\r\nupdateSerial={}\r\nupdateSerialCloudUpgrade={}:01:02:03:00:00:00\r\n",
            id.device_type, fw.serial, id.model, id.model
        ),
        _ => return bad_request(),
    };
    text(StatusCode::OK, body)
}

fn user_lines(prefix: &str, index: usize, a: &Account) -> String {
    let memo = if a.group == Group::Admin { "admin 's account" } else { "user 's account" };
    format!(
        "{prefix}.Group={}\r\n{prefix}.Id={}\r\n{prefix}.Memo={memo}\r\n{prefix}.Name={}\r\n{prefix}.Reserved={}\r\n{prefix}.Sharable={}\r\n",
        a.group.as_str(),
        index + 1,
        a.name,
        a.reserved,
        a.sharable
    )
}

async fn user_manager(fw: &Arc<Firmware>, caller: &Caller, action: &str, q: &Query, raw_query: &str) -> Reply {
    match action {
        "getUserInfoAll" => {
            let ram = fw.ram();
            let body: String =
                ram.accounts.list().iter().enumerate().map(|(i, a)| user_lines(&format!("users[{i}]"), i, a)).collect();
            text(StatusCode::OK, body)
        }
        "getUserInfo" => {
            let ram = fw.ram();
            let name = q.get("name").unwrap_or("");
            match ram.accounts.list().iter().enumerate().find(|(_, a)| a.name == name) {
                Some((i, a)) => text(StatusCode::OK, user_lines("user", i, a)),
                None => bad_request(),
            }
        }
        "getGroupInfoAll" => text(
            StatusCode::OK,
            "groups[0].Id=1\r\ngroups[0].Memo=administrator group\r\ngroups[0].Name=admin\r\n\
             groups[1].Id=2\r\ngroups[1].Memo=user group\r\ngroups[1].Name=user\r\n",
        ),
        "getActiveUserInfoAll" => {
            let ram = fw.ram();
            let mut active = vec![(caller.user.clone(), caller.group, "Web3.0")];
            active.extend(ram.sessions.active().into_iter().map(|s| (s.user, s.group, "RPC2")));
            let body: String = active
                .iter()
                .enumerate()
                .map(|(i, (name, group, client))| {
                    format!(
                        "users[{i}].ClientAddress=127.0.0.1\r\nusers[{i}].ClientType={client}\r\nusers[{i}].Group={}\r\nusers[{i}].Id={}\r\nusers[{i}].Name={name}\r\n",
                        group.as_str(),
                        i + 1
                    )
                })
                .collect();
            text(StatusCode::OK, body)
        }
        "addUser" => {
            let group = match q.get("user.Group") {
                Some("admin") => Group::Admin,
                Some("user") => Group::User,
                _ => return bad_request(),
            };
            let (Some(name), Some(password)) = (q.get("user.Name"), q.get("user.Password")) else {
                return bad_request();
            };
            let account = Account {
                name: name.to_owned(),
                group,
                password: Secret::new(password),
                sharable: q.get("user.Sharable") != Some("false"),
                reserved: q.get("user.Reserved") == Some("true"),
            };
            match fw.add_user(caller, account).await {
                Ok(()) => ok(),
                Err(e) => refused(&e.0),
            }
        }
        "deleteUser" => match q.get("name") {
            Some(name) => match fw.delete_user(caller, name).await {
                Ok(()) => ok(),
                Err(e) => refused(&e.0),
            },
            None => bad_request(),
        },
        "modifyPassword" => {
            let (Some(name), Some(new)) = (q.get("name"), q.get("pwd")) else {
                return bad_request();
            };
            match fw.change_password(caller, name, new, q.get("pwdOld")).await {
                Ok(()) => {
                    if fw.has(Defect::RtspPasswordUndecoded) {
                        // The web handler passes the RTSP daemon the value as it came in the query.
                        let raw = raw_query.split('&').find_map(|p| p.strip_prefix("pwd=")).unwrap_or(new);
                        fw.ram().accounts.set_rtsp_copy(name, Secret::new(raw));
                    }
                    ok()
                }
                Err(e) => refused(&e.0),
            }
        }
        _ => bad_request(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_decoded_in_order() {
        let q = query_pairs("action=modifyPassword&name=ad%6Din&pwd=a%26b%3D1+2&pwdOld=&flag");
        assert_eq!(
            q,
            vec![
                ("action".into(), "modifyPassword".into()),
                ("name".into(), "admin".into()),
                ("pwd".into(), "a&b=1+2".into()),
                ("pwdOld".into(), "".into()),
                ("flag".into(), "".into()),
            ]
        );
    }
}
