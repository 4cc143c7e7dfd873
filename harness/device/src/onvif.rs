//! The ONVIF client: Device service (`GetSystemDateAndTime`, `GetDeviceInformation`, `GetUsers`,
//! `SetUser`) and Media service (`GetStreamUri`) over SOAP 1.2, authenticated with a WS-Security
//! UsernameToken (PasswordDigest, `resetlab_wire::wsse`) whose `Created` follows the device's clock
//! (read once per target, unauthenticated, as ONVIF clients do). A device that wants HTTP Digest
//! instead answers 401; the Digest challenge is then answered like the CGI's (`shared.rs`).
//!
//! Classification matches the other interfaces: `ter:NotAuthorized` is [`ErrorKind::Unauthorized`]
//! (or [`ErrorKind::Locked`] when its reason speaks of a lock), any other fault a refusal of the
//! action with its subcodes. A call sends one token, so it counts once against a lockout.

use chrono::{NaiveDate, TimeDelta, Utc};
use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use resetlab_wire::Secret;

use crate::call::Call;
use crate::error::{DeviceError, ErrorKind, excerpt};
use crate::http::{self, HttpReply};
use crate::interface::Interface;
use crate::shared::DigestRound;
use crate::soap::{Element, Fault, escape, read_reply};
use crate::target::{Credentials, Target};

/// The Device service path on Dahua-family firmware (and most others).
pub const DEVICE_SERVICE: &str = "/onvif/device_service";
/// The Media service path.
pub const MEDIA_SERVICE: &str = "/onvif/media_service";

const SOAP_CONTENT_TYPE: &str = "application/soap+xml; charset=utf-8";

/// `GetDeviceInformation`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInformation {
    /// Manufacturer name.
    pub manufacturer: String,
    /// Model.
    pub model: String,
    /// Firmware version.
    pub firmware_version: String,
    /// Serial number.
    pub serial_number: String,
}

/// One account as `GetUsers` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnvifUser {
    /// Account name.
    pub username: String,
    /// `Administrator`, `Operator`, `User` (or `Anonymous`, `Extended`).
    pub level: String,
}

/// ONVIF client for one recorder (the HTTP port).
#[derive(Debug, Clone)]
pub struct Onvif {
    target: Target,
    client: reqwest::Client,
}

fn envelope(header: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema"><s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"#
    )
}

/// A UsernameToken with PasswordDigest for `creds`, created at `created` (device time).
fn token(creds: &Credentials, created: &str) -> String {
    let nonce: [u8; 16] = rand::rng().random();
    let digest = resetlab_wire::wsse::password_digest(&nonce, created, creds.password.expose());
    format!(
        r#"<wsse:Security s:mustUnderstand="true" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><wsse:UsernameToken><wsse:Username>{}</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">{digest}</wsse:Password><wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">{}</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security>"#,
        escape(&creds.user),
        resetlab_wire::wsse::encode_nonce(&nonce)
    )
}

fn fault_kind(f: &Fault) -> ErrorKind {
    if f.not_authorized() {
        if f.reason.to_ascii_lowercase().contains("lock") {
            return ErrorKind::Locked { remaining_s: crate::error::seconds_after_lock(&f.reason) };
        }
        return ErrorKind::Unauthorized;
    }
    let mut codes = vec![f.code.clone()];
    codes.extend(f.subcodes.iter().cloned());
    ErrorKind::Refused { reason: format!("{}: {}", codes.join("/"), f.reason) }
}

impl Onvif {
    /// A client for `target`'s HTTP port.
    pub fn new(target: &Target) -> Self {
        Onvif { target: target.clone(), client: target.shared().http() }
    }

    /// `GetSystemDateAndTime` (no login): the device's UTC clock.
    pub async fn system_date_and_time(&self) -> Result<chrono::DateTime<Utc>, DeviceError> {
        let call = Call::start(Interface::Onvif, format!("POST {DEVICE_SERVICE} GetSystemDateAndTime"), &self.target);
        let reply = self.post(&call, DEVICE_SERVICE, &envelope("", "<tds:GetSystemDateAndTime/>"), None).await?;
        let body = self.answer(&call, reply)?;
        let utc = body
            .at(&["SystemDateAndTime", "UTCDateTime"])
            .ok_or_else(|| protocol(&call, "GetSystemDateAndTime without UTCDateTime", ""))?;
        let num = |path: &[&str]| utc.text_at(path).and_then(|v| v.parse::<u32>().ok());
        let at = (|| {
            NaiveDate::from_ymd_opt(num(&["Date", "Year"])? as i32, num(&["Date", "Month"])?, num(&["Date", "Day"])?)?
                .and_hms_opt(num(&["Time", "Hour"])?, num(&["Time", "Minute"])?, num(&["Time", "Second"])?)
        })()
        .ok_or_else(|| protocol(&call, "UTCDateTime is not a valid date and time", ""))?;
        Ok(at.and_utc())
    }

    /// The device's clock minus ours, read once per target.
    async fn clock_offset(&self) -> Result<TimeDelta, DeviceError> {
        if let Some(off) = self.target.shared().onvif_clock() {
            return Ok(off);
        }
        let before = Utc::now();
        let device = self.system_date_and_time().await?;
        let ours = before + (Utc::now() - before) / 2;
        let offset = device - ours;
        // Within a second either way the clocks agree as far as a token's Created can tell.
        let offset = if offset.num_seconds().abs() <= 1 { TimeDelta::zero() } else { offset };
        self.target.shared().set_onvif_clock(offset);
        Ok(offset)
    }

    /// One authenticated operation: `body` (the operation element) on `path`; `what` names it in
    /// errors (no password in it). Returns the response element.
    async fn operation(&self, creds: &Credentials, path: &str, what: &str, body: &str) -> Result<Element, DeviceError> {
        let offset = self.clock_offset().await?;
        let call = Call::start(Interface::Onvif, format!("POST {path} {what}"), &self.target);
        let mut round = DigestRound::new(self.target.shared(), Interface::Onvif, self.target.reuses_challenges());
        let mut auth = round.first("POST", path, &creds.user, &creds.password).map_err(|k| call.fail(k))?;
        loop {
            let created = (Utc::now() + offset).format("%Y-%m-%dT%H:%M:%SZ").to_string();
            let xml = envelope(&token(creds, &created), body);
            let reply = self.post(&call, path, &xml, auth.take()).await?;
            if reply.status != StatusCode::UNAUTHORIZED {
                return self.answer(&call, reply);
            }
            // The device wants HTTP Digest (some firmware ignores WS-Security).
            auth = round
                .on_401(reply.challenges(), "POST", path, &creds.user, &creds.password)
                .map_err(|k| call.fail(k).with_reply(reply.summary()))?;
            if auth.is_none() {
                let kind = match read_reply(&reply.body) {
                    Ok(Err(f)) => fault_kind(&f),
                    _ => ErrorKind::Unauthorized,
                };
                return Err(call.fail(kind).with_reply(reply.summary()));
            }
        }
    }

    async fn post(
        &self,
        call: &Call,
        path: &str,
        xml: &str,
        authorization: Option<String>,
    ) -> Result<HttpReply, DeviceError> {
        let what = format!("ONVIF reply from {}", self.target.http_authority());
        let mut req = self
            .client
            .post(format!("{}{path}", self.target.http_base()))
            .header(CONTENT_TYPE, SOAP_CONTENT_TYPE)
            .body(xml.to_owned());
        if let Some(a) = authorization {
            req = req.header(AUTHORIZATION, a);
        }
        http::exchange(call, &what, req).await
    }

    /// The response element of a reply, or the error its fault or garbage means.
    fn answer(&self, call: &Call, reply: HttpReply) -> Result<Element, DeviceError> {
        match read_reply(&reply.body) {
            Ok(Ok(el)) if reply.status.is_success() => Ok(el),
            Ok(Ok(_)) => Err(call
                .fail(ErrorKind::Protocol {
                    detail: format!("HTTP {} without a SOAP fault", reply.status),
                    excerpt: excerpt(&reply.body),
                })
                .with_reply(reply.summary())),
            Ok(Err(fault)) => Err(call.fail(fault_kind(&fault)).with_reply(reply.summary())),
            Err(detail) => Err(call
                .fail(ErrorKind::Protocol {
                    detail: format!("not a SOAP reply: {detail}"),
                    excerpt: excerpt(&reply.body),
                })
                .with_reply(reply.summary())),
        }
    }

    /// `GetDeviceInformation` (the login check of [`crate::try_login`]).
    pub async fn device_information(&self, creds: &Credentials) -> Result<DeviceInformation, DeviceError> {
        let el = self.operation(creds, DEVICE_SERVICE, "GetDeviceInformation", "<tds:GetDeviceInformation/>").await?;
        let f = |name: &str| el.text_at(&[name]).unwrap_or("").to_owned();
        Ok(DeviceInformation {
            manufacturer: f("Manufacturer"),
            model: f("Model"),
            firmware_version: f("FirmwareVersion"),
            serial_number: f("SerialNumber"),
        })
    }

    /// `GetUsers`: the accounts and their levels.
    pub async fn users(&self, creds: &Credentials) -> Result<Vec<OnvifUser>, DeviceError> {
        let el = self.operation(creds, DEVICE_SERVICE, "GetUsers", "<tds:GetUsers/>").await?;
        Ok(el
            .children
            .iter()
            .filter(|c| c.name == "User")
            .map(|u| OnvifUser {
                username: u.text_at(&["Username"]).unwrap_or("").to_owned(),
                level: u.text_at(&["UserLevel"]).unwrap_or("").to_owned(),
            })
            .collect())
    }

    /// `SetUser`: give `name` (at `level`, e.g. `Administrator`) the password `new`. ONVIF has no
    /// old-password field: the caller's own token proves who asks.
    pub async fn set_user(
        &self,
        creds: &Credentials,
        name: &str,
        new: &Secret,
        level: &str,
    ) -> Result<(), DeviceError> {
        let body = format!(
            "<tds:SetUser><tds:User><tt:Username>{}</tt:Username><tt:Password>{}</tt:Password><tt:UserLevel>{}</tt:UserLevel></tds:User></tds:SetUser>",
            escape(name),
            escape(new.expose()),
            escape(level)
        );
        // The request names the account, never the password.
        self.operation(creds, DEVICE_SERVICE, &format!("SetUser {name} Password=•••"), &body).await.map(drop)
    }

    /// `GetStreamUri` of `profile_token` (RTP over RTSP).
    pub async fn stream_uri(&self, creds: &Credentials, profile_token: &str) -> Result<String, DeviceError> {
        let body = format!(
            "<trt:GetStreamUri><trt:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream><tt:Transport><tt:Protocol>RTSP</tt:Protocol></tt:Transport></trt:StreamSetup><trt:ProfileToken>{}</trt:ProfileToken></trt:GetStreamUri>",
            escape(profile_token)
        );
        let el = self.operation(creds, MEDIA_SERVICE, "GetStreamUri", &body).await?;
        el.text_at(&["MediaUri", "Uri"])
            .map(str::to_owned)
            .ok_or_else(|| protocol_for(Interface::Onvif, "GetStreamUri", "reply without MediaUri/Uri"))
    }
}

fn protocol(call: &Call, detail: &str, got: &str) -> DeviceError {
    call.fail(ErrorKind::Protocol { detail: detail.to_owned(), excerpt: excerpt(got) })
}

fn protocol_for(interface: Interface, request: &str, detail: &str) -> DeviceError {
    DeviceError::new(interface, request, ErrorKind::Protocol { detail: detail.to_owned(), excerpt: String::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_classify_like_the_other_interfaces() {
        let f = |sub: &[&str], reason: &str| Fault {
            code: "Sender".into(),
            subcodes: sub.iter().map(|s| s.to_string()).collect(),
            reason: reason.into(),
        };
        assert_eq!(fault_kind(&f(&["NotAuthorized"], "Sender not authorized")), ErrorKind::Unauthorized);
        assert_eq!(
            fault_kind(&f(&["NotAuthorized"], "Sender not authorized: user locked, 120 s left")),
            ErrorKind::Locked { remaining_s: Some(120) }
        );
        assert!(matches!(
            fault_kind(&f(&["InvalidArgVal", "PasswordTooWeak"], "too short")),
            ErrorKind::Refused { reason } if reason == "Sender/InvalidArgVal/PasswordTooWeak: too short"
        ));
    }

    #[test]
    fn the_token_carries_a_digest_never_the_password() {
        let c = Credentials::new("ad<min", Secret::new("onvif-tok-pw1"));
        let t = token(&c, "2010-09-16T07:50:45Z");
        assert!(!t.contains("onvif-tok-pw1"));
        assert!(t.contains("<wsse:Username>ad&lt;min</wsse:Username>"));
        let el = crate::soap::parse(&envelope(&t, "<x/>")).unwrap();
        let tok = el.at(&["Header", "Security", "UsernameToken"]).unwrap();
        let (nonce, created, digest) =
            (tok.text_at(&["Nonce"]).unwrap(), tok.text_at(&["Created"]).unwrap(), tok.text_at(&["Password"]).unwrap());
        assert_eq!(resetlab_wire::wsse::password_digest_b64(nonce, created, "onvif-tok-pw1").as_deref(), Some(digest));
    }
}
