//! `try_login`: one login attempt on one interface, reduced to what the article's requirements ask —
//! accepted, refused, or locked — while anything else (timeouts, garbage) stays an error, so a dead
//! interface is never mistaken for a refused password.

use crate::cgi::Cgi;
use crate::error::{DeviceError, ErrorKind};
use crate::interface::Interface;
use crate::onvif::Onvif;
use crate::rpc2::Rpc2Session;
use crate::rtsp::Rtsp;
use crate::target::{Credentials, Target};

/// What one login attempt showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The credentials were accepted.
    Accepted,
    /// The credentials were refused.
    Refused,
    /// The account is locked.
    Locked {
        /// Seconds until the lock ends, when the device says.
        remaining_s: Option<u64>,
    },
}

/// One login attempt on `interface` with `creds`; it counts at most once as a wrong password.
///
/// HTTP CGI: `magicBox.cgi?action=getMachineName` with Digest. RPC2: the two-step `global.login`
/// (then `global.logout`, best effort). RTSP: DESCRIBE with Digest. ONVIF: `GetDeviceInformation`
/// with a WS-Security UsernameToken (the device's clock is read once per target first).
pub async fn try_login(
    target: &Target,
    interface: Interface,
    creds: &Credentials,
) -> Result<LoginOutcome, DeviceError> {
    let result = match interface {
        Interface::Http => Cgi::new(target).machine_name(creds).await.map(drop),
        Interface::Rpc2 => match Rpc2Session::login(target, creds).await {
            Ok(session) => {
                if let Err(e) = session.logout().await {
                    tracing::debug!(error = %e, "RPC2 logout after a test login failed; the session will expire");
                }
                Ok(())
            }
            Err(e) => Err(e),
        },
        Interface::Rtsp => Rtsp::describe(target, creds).await.map(drop),
        Interface::Onvif => Onvif::new(target).device_information(creds).await.map(drop),
    };
    let outcome = match result {
        Ok(()) => LoginOutcome::Accepted,
        Err(e) => match e.kind {
            ErrorKind::Unauthorized => LoginOutcome::Refused,
            ErrorKind::Locked { remaining_s } => LoginOutcome::Locked { remaining_s },
            _ => return Err(e),
        },
    };
    tracing::info!(%interface, user = %creds.user, ?outcome, "login attempt");
    Ok(outcome)
}
