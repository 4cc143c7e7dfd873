//! Entry points for the cargo-fuzz targets in `fuzz/` (not an API): the ONVIF request reader —
//! SOAP envelope, WS-Security UsernameToken, digest check, replay and clock window — reachable
//! without a socket. Each returns normally on any input; a panic is a bug.

use std::time::Duration;

use crate::onvif::wsse::{SeenNonces, UsernameToken};
use crate::onvif::xml;

/// Read `body` as an ONVIF request: `Ok(operation)` when it is a SOAP envelope naming one (its
/// token, if any, judged against a fixed password), `Err` the fault reason otherwise.
pub fn onvif_request(body: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    let env = xml::parse(text).map_err(|e| e.to_string())?;
    let op = env.child("Body").and_then(|b| b.children.first()).map(|e| e.name.clone()).ok_or("no operation")?;
    if let Some(token) = UsernameToken::from_envelope(&env).map_err(|e| e.to_string())? {
        let _ = token.proves("fuzz-pw");
        let mut seen = SeenNonces::new(Duration::from_secs(300));
        let _ = seen.fresh(&token, chrono::Utc::now());
        let _ = seen.fresh(&token, chrono::Utc::now());
    }
    let _ = env.at(&["Body", "SetUser", "User", "Password"]);
    let _ = xml::escape(&op);
    Ok(op)
}
