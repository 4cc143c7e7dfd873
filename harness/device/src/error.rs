//! `DeviceError`: one failure of a device client, saying which interface, what was sent (passwords
//! masked) and what came back, so a report can attribute it to the device, the rig or the harness.

use std::fmt;
use std::time::Duration;

use crate::interface::Interface;
use crate::redact;

/// Longest body excerpt an error carries.
const EXCERPT_CHARS: usize = 160;

/// A device client call that did not give the expected answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DeviceError {
    /// Interface the call went to.
    pub interface: Interface,
    /// What was sent, e.g. `GET /cgi-bin/userManager.cgi?action=modifyPassword&name=admin&pwd=•••`.
    pub request: String,
    /// What went wrong.
    pub kind: ErrorKind,
    /// What came back, when something did: status and a short, redacted body excerpt.
    pub reply: Option<String>,
}

/// The kinds of failure a caller branches on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// No answer before the deadline; `waited_for` names the step.
    Timeout {
        /// What was awaited, e.g. `RTSP response to DESCRIBE (CSeq 2) from 10.0.0.5:554`.
        waited_for: String,
        /// The deadline that expired.
        after: Duration,
    },
    /// The TCP connection could not be made.
    Connect(String),
    /// The credentials were refused (HTTP/RTSP 401 after a Digest answer, RPC2 wrong user/password).
    Unauthorized,
    /// The account is locked; the device may say for how long.
    Locked {
        /// Seconds until the lock ends, when the device says.
        remaining_s: Option<u64>,
    },
    /// The device understood and refused the action (`Error` body, RPC2 error code).
    Refused {
        /// The device's reason (`Bad Request!`, `error 268632085: …`).
        reason: String,
    },
    /// The request was sent (or may have been) and no complete answer came back: the connection
    /// closed or was reset, or the answer was cut short. The device may or may not have acted on
    /// it, so the caller must find out (a lost answer is the network's until shown otherwise).
    NoAnswer {
        /// What happened, e.g. `the connection closed after the request was sent`.
        detail: String,
    },
    /// The reply was not what the protocol allows (garbage challenge, bad JSON…).
    Protocol {
        /// What was wrong with the reply.
        detail: String,
        /// A short, redacted excerpt of what came back (may be empty).
        excerpt: String,
    },
}

impl DeviceError {
    /// An error for `request` (redacted here, whatever the caller passed) on `interface`.
    pub fn new(interface: Interface, request: impl AsRef<str>, kind: ErrorKind) -> Self {
        DeviceError { interface, request: redact::request(request.as_ref()), kind, reply: None }
    }

    /// The same error with a summary of what came back.
    pub fn with_reply(mut self, reply: impl AsRef<str>) -> Self {
        self.reply = Some(redact::text(reply.as_ref()));
        self
    }

    /// True for a refused password (not a lock, not a transport problem).
    pub fn is_unauthorized(&self) -> bool {
        matches!(self.kind, ErrorKind::Unauthorized)
    }

    /// True when the request may have reached the device but its answer did not reach us (a
    /// timeout or a lost answer): what the device did is unknown until someone asks it.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self.kind, ErrorKind::Timeout { .. } | ErrorKind::NoAnswer { .. })
    }

    /// True when the account is locked.
    pub fn is_locked(&self) -> bool {
        matches!(self.kind, ErrorKind::Locked { .. })
    }
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}`: {}", self.interface, self.request, self.kind)?;
        if let Some(reply) = &self.reply {
            write!(f, " (device answered {reply})")?;
        }
        Ok(())
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Timeout { waited_for, after } => {
                write!(f, "timed out after {after:?} waiting for {waited_for}")
            }
            ErrorKind::Connect(why) => write!(f, "could not connect: {why}"),
            ErrorKind::Unauthorized => f.write_str("credentials refused"),
            ErrorKind::Locked { remaining_s: Some(s) } => write!(f, "account locked, {s} s remaining"),
            ErrorKind::Locked { remaining_s: None } => f.write_str("account locked (remaining time not given)"),
            ErrorKind::Refused { reason } => write!(f, "refused: {reason}"),
            ErrorKind::NoAnswer { detail } => write!(f, "no answer: {detail}"),
            ErrorKind::Protocol { detail, excerpt } => {
                write!(f, "unexpected reply: {detail}")?;
                if !excerpt.is_empty() {
                    write!(f, "; got \"{excerpt}\"")?;
                }
                Ok(())
            }
        }
    }
}

/// A short, printable, redacted excerpt of a body: control characters escaped (`\r\n` stays visible,
/// which matters when CRLF vs LF is the question), cut at [`EXCERPT_CHARS`].
pub fn excerpt(body: &str) -> String {
    let mut out = String::new();
    for (n, c) in body.chars().enumerate() {
        if n == EXCERPT_CHARS {
            out.push('…');
            break;
        }
        match c {
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    redact::text(&out)
}

/// `<status> "<excerpt>"`, the usual `reply` summary.
pub(crate) fn reply_summary(status: impl fmt::Display, body: &str) -> String {
    format!("{status} \"{}\"", excerpt(body))
}

/// The first whole number after the word "lock" in a device message, read as seconds
/// ("User has been locked, please try again after 178 seconds" → 178).
pub(crate) fn seconds_after_lock(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let from = lower.find("lock")?;
    let rest = &lower[from..];
    let start = rest.find(|c: char| c.is_ascii_digit())?;
    let digits: String = rest[start..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use resetlab_wire::Secret;

    #[test]
    fn display_names_interface_request_and_masks_passwords() {
        let pw = Secret::new("err-secret-9");
        let e = DeviceError::new(
            Interface::Http,
            format!("GET /cgi-bin/userManager.cgi?action=modifyPassword&name=admin&pwd={}&pwdOld=old1", pw.expose()),
            ErrorKind::Refused { reason: "Bad Request!".into() },
        )
        .with_reply("HTTP 400 \"Error\\r\\nBad Request!\\r\\n\"");
        let shown = e.to_string();
        assert!(shown.starts_with("HTTP CGI `GET /cgi-bin/userManager.cgi"), "{shown}");
        assert!(shown.contains("pwd=•••&pwdOld=•••"), "{shown}");
        assert!(shown.contains("refused: Bad Request!"), "{shown}");
        assert!(shown.contains("HTTP 400"), "{shown}");
        assert!(!shown.contains("err-secret-9") && !format!("{e:?}").contains("err-secret-9"));
    }

    #[test]
    fn timeout_names_what_was_awaited() {
        let e = DeviceError::new(
            Interface::Rtsp,
            "DESCRIBE rtsp://127.0.0.1:554/cam/realmonitor?channel=1&subtype=0",
            ErrorKind::Timeout { waited_for: "RTSP response to DESCRIBE".into(), after: Duration::from_millis(300) },
        );
        assert!(e.to_string().contains("timed out after 300ms waiting for RTSP response to DESCRIBE"));
    }

    #[test]
    fn lock_seconds_are_read_after_the_word_lock() {
        assert_eq!(seconds_after_lock("User has been locked, please try again after 178 seconds"), Some(178));
        assert_eq!(seconds_after_lock("3 tries left; locked"), None);
        assert_eq!(seconds_after_lock("no such word 12"), None);
    }

    #[test]
    fn excerpt_shows_line_endings_and_is_bounded() {
        assert_eq!(excerpt("Error\r\nBad Request!\r\n"), "Error\\r\\nBad Request!\\r\\n");
        assert_eq!(excerpt(&"x".repeat(500)).chars().count(), EXCERPT_CHARS + 1);
    }
}
