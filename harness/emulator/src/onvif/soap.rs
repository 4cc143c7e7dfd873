//! SOAP 1.2 answers of the ONVIF services: the envelope with the namespaces ONVIF clients expect,
//! and faults (`env:Sender` / `ter:NotAuthorized` for a refused login, as ONVIF Core §5.11.2 lists
//! them) with the HTTP status the SOAP 1.2 HTTP binding gives them (400 Sender, 500 Receiver).

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode, header};

use super::xml::escape;
use crate::cgi::Reply;

const NAMESPACES: &str = concat!(
    r#"xmlns:env="http://www.w3.org/2003/05/soap-envelope" "#,
    r#"xmlns:tds="http://www.onvif.org/ver10/device/wsdl" "#,
    r#"xmlns:trt="http://www.onvif.org/ver10/media/wsdl" "#,
    r#"xmlns:tt="http://www.onvif.org/ver10/schema" "#,
    r#"xmlns:ter="http://www.onvif.org/ver10/error""#
);

/// A SOAP 1.2 reply with `body` (already XML) inside `env:Body`.
pub(crate) fn envelope(status: StatusCode, body: &str) -> Reply {
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><env:Envelope {NAMESPACES}><env:Body>{body}</env:Body></env:Envelope>"#
    );
    let mut r = Response::new(Full::new(Bytes::from(xml)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/soap+xml; charset=utf-8"));
    r
}

/// A successful answer.
pub(crate) fn ok(body: &str) -> Reply {
    envelope(StatusCode::OK, body)
}

/// Who a fault blames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    Sender,
    Receiver,
}

/// A fault: `code`, then ONVIF subcodes (outermost first, e.g. `ter:InvalidArgVal`,
/// `ter:PasswordTooWeak`), and a human reason.
pub(crate) fn fault(code: Code, subcodes: &[&str], reason: &str) -> Reply {
    let (value, status) = match code {
        Code::Sender => ("env:Sender", StatusCode::BAD_REQUEST),
        Code::Receiver => ("env:Receiver", StatusCode::INTERNAL_SERVER_ERROR),
    };
    let mut sub = String::new();
    for s in subcodes.iter().rev() {
        sub = format!("<env:Subcode><env:Value>{s}</env:Value>{sub}</env:Subcode>");
    }
    envelope(
        status,
        &format!(
            r#"<env:Fault><env:Code><env:Value>{value}</env:Value>{sub}</env:Code><env:Reason><env:Text xml:lang="en">{}</env:Text></env:Reason></env:Fault>"#,
            escape(reason)
        ),
    )
}

/// The refused-login fault.
pub(crate) fn not_authorized(reason: &str) -> Reply {
    fault(Code::Sender, &["ter:NotAuthorized"], reason)
}
