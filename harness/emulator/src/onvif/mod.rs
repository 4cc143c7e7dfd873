//! ONVIF on the HTTP port: the Device service (`/onvif/device_service`) and the Media service
//! (`/onvif/media_service`), SOAP 1.2. `GetSystemDateAndTime` answers anyone (clients read the
//! clock before they can build a token); every other operation needs a WS-Security UsernameToken
//! (`wsse.rs`) or HTTP Digest, judged by the same account store and lockout as HTTP CGI, RPC2 and
//! RTSP. `SetUser` changes a password through the same rule as `modifyPassword`.
//!
//! Whatever arrives — garbage, a DTD, an entity bomb — gets a SOAP fault, never a panic.

pub(crate) mod soap;
pub(crate) mod wsse;
pub(crate) mod xml;

use std::sync::Arc;

use chrono::{Datelike, Timelike, Utc};
use hyper::header::{self, HeaderMap};
use resetlab_profile::Group;

use crate::accounts::Via;
use crate::cgi::Reply;
use crate::firmware::{Auth, Caller, Firmware};
use soap::{Code, fault, not_authorized, ok};
use wsse::UsernameToken;
use xml::{Element, escape};

/// Paths the services answer on.
pub(crate) const PATHS: [&str; 2] = ["/onvif/device_service", "/onvif/media_service"];

/// The one stream's media profile token.
const PROFILE_TOKEN: &str = "MainStream";

/// The HTTP request the services read: its head (headers, and method and URI for a Digest check)
/// and its body.
pub(crate) struct SoapRequest<'a> {
    pub(crate) head: &'a hyper::Request<()>,
    pub(crate) body: &'a [u8],
}

impl SoapRequest<'_> {
    fn headers(&self) -> &HeaderMap {
        self.head.headers()
    }
}

/// What the request asks for, read without trusting any of it.
fn operation(body: &[u8]) -> Result<(Element, String), Box<Reply>> {
    let malformed = |why: &str| Box::new(fault(Code::Sender, &["ter:WellFormed"], why));
    let text = std::str::from_utf8(body).map_err(|_| malformed("the request is not UTF-8"))?;
    let env = xml::parse(text).map_err(|e| malformed(&format!("XML not accepted: {e}")))?;
    if env.name != "Envelope" {
        return Err(malformed("the root element is not a SOAP Envelope"));
    }
    let op = env
        .child("Body")
        .and_then(|b| b.children.first())
        .map(|e| e.name.clone())
        .ok_or_else(|| malformed("the SOAP Body names no operation"))?;
    Ok((env, op))
}

/// Serve one SOAP request.
pub(crate) async fn handle(fw: &Arc<Firmware>, req: SoapRequest<'_>) -> Reply {
    let (env, op) = match operation(req.body) {
        Ok(x) => x,
        Err(reply) => return *reply,
    };
    tracing::debug!(serial = %fw.serial, operation = %op, "ONVIF request");
    if op == "GetSystemDateAndTime" {
        return system_date_and_time();
    }
    let caller = match authenticate(fw, &env, &req) {
        Ok(c) => c,
        Err(reply) => return *reply,
    };
    let body = env.child("Body").and_then(|b| b.children.first()).cloned().unwrap_or_default();
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or("127.0.0.1")
        .to_owned();
    match op.as_str() {
        "GetDeviceInformation" => device_information(fw),
        "GetCapabilities" => capabilities(&host),
        "GetServices" => services(&host),
        "GetUsers" => users(fw),
        "SetUser" => set_user(fw, &caller, &body).await,
        "GetProfiles" => ok(&format!(
            r#"<trt:GetProfilesResponse><trt:Profiles token="{PROFILE_TOKEN}" fixed="true"><tt:Name>{PROFILE_TOKEN}</tt:Name></trt:Profiles></trt:GetProfilesResponse>"#
        )),
        "GetStreamUri" => stream_uri(fw, &host, &body),
        other => fault(
            Code::Receiver,
            &["ter:ActionNotSupported"],
            &format!("operation {} is not supported", other.chars().take(64).collect::<String>()),
        ),
    }
}

/// The caller, or the reply refusing it: a UsernameToken when the request has one, else HTTP
/// Digest, else a 401 Digest challenge with a `ter:NotAuthorized` fault.
fn authenticate(fw: &Firmware, env: &Element, req: &SoapRequest<'_>) -> Result<Caller, Box<Reply>> {
    let token = UsernameToken::from_envelope(env)
        .map_err(|e| Box::new(not_authorized(&format!("Sender not authorized: {e}"))))?;
    let Some(token) = token else {
        if req.headers().contains_key(header::AUTHORIZATION) {
            return crate::cgi::digest_caller(fw, req.head, Via::Onvif)
                .map_err(|reply| Box::new(with_fault_body(*reply)));
        }
        return Err(Box::new(with_fault_body(crate::cgi::digest_challenge(fw, false))));
    };
    let fresh = fw.ram().wsse_nonces.fresh(&token, Utc::now());
    match fw.authenticate(Via::Onvif, &token.username, fresh, |pw| token.proves(pw)) {
        Auth::Granted { user, group } => Ok(Caller { user, group, session: None }),
        Auth::Stale => Err(Box::new(not_authorized(
            "Sender not authorized: the token's Created is outside the clock window or its Nonce was used before",
        ))),
        Auth::Refused { .. } => Err(Box::new(not_authorized("Sender not authorized"))),
        Auth::Locked { remaining_s } => {
            Err(Box::new(not_authorized(&format!("Sender not authorized: user locked, {remaining_s} s left"))))
        }
    }
}

/// A Digest 401 (or a lock message) with its text body replaced by the SOAP fault.
fn with_fault_body(reply: Reply) -> Reply {
    let (parts, body) = reply.into_parts();
    let locked = format!("{body:?}").to_ascii_lowercase().contains("lock");
    let mut f = not_authorized(if locked { "Sender not authorized: user locked" } else { "Sender not authorized" });
    *f.status_mut() = parts.status;
    if let Some(v) = parts.headers.get(header::WWW_AUTHENTICATE) {
        f.headers_mut().insert(header::WWW_AUTHENTICATE, v.clone());
    }
    f
}

fn system_date_and_time() -> Reply {
    let now = Utc::now();
    let dt = format!(
        "<tt:Time><tt:Hour>{}</tt:Hour><tt:Minute>{}</tt:Minute><tt:Second>{}</tt:Second></tt:Time><tt:Date><tt:Year>{}</tt:Year><tt:Month>{}</tt:Month><tt:Day>{}</tt:Day></tt:Date>",
        now.hour(),
        now.minute(),
        now.second(),
        now.year(),
        now.month(),
        now.day()
    );
    ok(&format!(
        "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone><tt:UTCDateTime>{dt}</tt:UTCDateTime><tt:LocalDateTime>{dt}</tt:LocalDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
    ))
}

fn device_information(fw: &Firmware) -> Reply {
    let id = &fw.profile.identity;
    ok(&format!(
        "<tds:GetDeviceInformationResponse><tds:Manufacturer>FLIR</tds:Manufacturer><tds:Model>{}</tds:Model><tds:FirmwareVersion>{}</tds:FirmwareVersion><tds:SerialNumber>{}</tds:SerialNumber><tds:HardwareId>1.00</tds:HardwareId></tds:GetDeviceInformationResponse>",
        escape(&id.model),
        escape(&id.software_version),
        escape(&fw.serial)
    ))
}

fn capabilities(host: &str) -> Reply {
    let h = escape(host);
    ok(&format!(
        "<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Device><tt:XAddr>http://{h}/onvif/device_service</tt:XAddr></tt:Device><tt:Media><tt:XAddr>http://{h}/onvif/media_service</tt:XAddr><tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media></tds:Capabilities></tds:GetCapabilitiesResponse>"
    ))
}

fn services(host: &str) -> Reply {
    let h = escape(host);
    let service = |ns: &str, path: &str| {
        format!(
            "<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>http://{h}{path}</tds:XAddr><tds:Version><tt:Major>2</tt:Major><tt:Minor>40</tt:Minor></tds:Version></tds:Service>"
        )
    };
    ok(&format!(
        "<tds:GetServicesResponse>{}{}</tds:GetServicesResponse>",
        service("http://www.onvif.org/ver10/device/wsdl", PATHS[0]),
        service("http://www.onvif.org/ver10/media/wsdl", PATHS[1])
    ))
}

fn level(group: Group) -> &'static str {
    match group {
        Group::Admin => "Administrator",
        Group::User => "User",
    }
}

fn users(fw: &Firmware) -> Reply {
    let list: String = fw
        .ram()
        .accounts
        .list()
        .iter()
        .map(|a| {
            format!(
                "<tds:User><tt:Username>{}</tt:Username><tt:UserLevel>{}</tt:UserLevel></tds:User>",
                escape(&a.name),
                level(a.group)
            )
        })
        .collect();
    ok(&format!("<tds:GetUsersResponse>{list}</tds:GetUsersResponse>"))
}

async fn set_user(fw: &Arc<Firmware>, caller: &Caller, body: &Element) -> Reply {
    let users: Vec<&Element> = body.children_named("User").collect();
    if users.is_empty() {
        return fault(Code::Sender, &["ter:InvalidArgVal", "ter:UsernameMissing"], "SetUser names no User");
    }
    for u in users {
        let (Some(name), Some(password)) = (u.text_at(&["Username"]), u.text_at(&["Password"])) else {
            return fault(
                Code::Sender,
                &["ter:InvalidArgVal", "ter:UsernameMissing"],
                "a User without Username and Password",
            );
        };
        if fw.ram().accounts.get(name).is_none() {
            return fault(Code::Sender, &["ter:InvalidArgVal", "ter:UsernameMissing"], "User not exist");
        }
        if let Err(refusal) = fw.set_user_password(caller, name, password).await {
            let reason = refusal.0;
            let sub: &[&str] = if reason.starts_with("Password does not meet the rule") {
                if password.chars().count() > fw.profile.password_rule.max_len {
                    &["ter:InvalidArgVal", "ter:PasswordTooLong"]
                } else {
                    &["ter:InvalidArgVal", "ter:PasswordTooWeak"]
                }
            } else {
                &["ter:OperationProhibited"]
            };
            return fault(Code::Sender, sub, &reason);
        }
    }
    ok("<tds:SetUserResponse/>")
}

fn stream_uri(fw: &Firmware, host: &str, body: &Element) -> Reply {
    if body.text_at(&["ProfileToken"]).is_some_and(|t| t != PROFILE_TOKEN) {
        return fault(Code::Sender, &["ter:InvalidArgVal", "ter:NoProfile"], "no such profile");
    }
    let hostname = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let port = fw.rtsp_port.get().copied().unwrap_or(554);
    let uri = format!("rtsp://{hostname}:{port}/cam/realmonitor?channel=1&subtype=0");
    ok(&format!(
        "<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>{}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetStreamUriResponse>",
        escape(&uri)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::StatusCode;

    #[test]
    fn garbage_and_bombs_are_faults_not_panics() {
        for body in [
            &b""[..],
            b"\xff\xfe",
            b"<notsoap/>",
            b"<Envelope><Body/></Envelope>",
            b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]><Envelope><Body><a>&a;</a></Body></Envelope>",
            b"<Envelope><Body><GetUsers>&ext;</GetUsers></Body></Envelope>",
        ] {
            let reply = operation(body).map(|_| ()).expect_err("a fault");
            assert_eq!(reply.status(), StatusCode::BAD_REQUEST, "{body:?}");
        }
        let (_, op) =
            operation(br#"<s:Envelope xmlns:s="e"><s:Body><tds:GetUsers xmlns:tds="d"/></s:Body></s:Envelope>"#)
                .unwrap();
        assert_eq!(op, "GetUsers");
    }
}
