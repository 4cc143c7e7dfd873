//! Failure attribution. A failed check names who is to blame — the **device** (the recorder
//! misbehaved), the **rig** (power, console, network or relay did not do what was asked) or the
//! **harness** (our bug) — because only device failures count against a firmware.
//!
//! Failing a step is a panic (that is how Cucumber steps fail); the message is passed through
//! [`resetlab_wire::secret::redact`] first so no password can reach the output.

use std::fmt;

use resetlab_device::{DeviceError, ErrorKind};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Blame {
    Device,
    Rig,
    Harness,
}

impl fmt::Display for Blame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Blame::Device => "device",
            Blame::Rig => "rig",
            Blame::Harness => "harness",
        })
    }
}

impl Blame {
    /// Read the blame back from a failure message produced by [`fail`].
    pub fn of_message(message: &str) -> Blame {
        for b in [Blame::Device, Blame::Rig, Blame::Harness] {
            if message.contains(&format!("[{b}]")) {
                return b;
            }
        }
        // A panic we did not raise ourselves (an unwrap, an index) is our bug.
        Blame::Harness
    }

    /// Who is to blame when a device client call failed where it should have worked.
    pub fn of_error(err: &DeviceError) -> Blame {
        match err.kind {
            // The device did not answer at all: on a bench that is usually power, link or relay.
            ErrorKind::Timeout { .. } | ErrorKind::Connect(_) => Blame::Rig,
            _ => Blame::Device,
        }
    }
}

/// Fail the current step, blaming `blame`.
#[track_caller]
pub fn fail(blame: Blame, message: impl fmt::Display) -> ! {
    panic!("[{blame}] {}", resetlab_wire::secret::redact(&message.to_string()))
}

/// Which requirement(s) a device failure shows broken, when the failing check says so itself
/// (read back from the message by [`Named::of_message`]). A failure that names none counts
/// against every requirement of its scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    /// `[violates …]`: these requirements, wherever the failure was seen — a set-up step that
    /// finds the device breaking a requirement the scenario is not about.
    Violates(Vec<String>),
    /// `[checks …]`: these where the scenario is about them; otherwise what the scenario is
    /// about (a local login after a power cycle checks ART-DURABLE, not ART-LOCAL).
    Checks(Vec<String>),
}

impl Named {
    /// Read the naming back from a failure message produced by [`fail_violating`] or
    /// [`fail_check`].
    pub fn of_message(message: &str) -> Option<Named> {
        for (marker, make) in [("[violates ", Named::Violates as fn(Vec<String>) -> Named), ("[checks ", Named::Checks)] {
            if let Some(i) = message.find(marker) {
                let rest = &message[i + marker.len()..];
                let ids = rest.split(']').next().unwrap_or("");
                return Some(make(ids.split_whitespace().map(str::to_owned).collect()));
            }
        }
        None
    }
}

/// Fail the current step, blaming the device for breaking `requirements`, wherever this is seen.
#[track_caller]
pub fn fail_violating(requirements: &[&str], message: impl fmt::Display) -> ! {
    fail(Blame::Device, format!("[violates {}] {message}", requirements.join(" ")))
}

/// Fail a check of `requirements` (see [`Named::Checks`]), blaming the device.
#[track_caller]
pub fn fail_check(requirements: &[&str], message: impl fmt::Display) -> ! {
    fail(Blame::Device, format!("[checks {}] {message}", requirements.join(" ")))
}

#[cfg(test)]
mod named_tests {
    use super::*;

    fn message_of(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let err = std::panic::catch_unwind(f).unwrap_err();
        err.downcast_ref::<String>().cloned().unwrap()
    }

    #[test]
    fn failures_name_their_requirements_and_blame_the_device() {
        let m = message_of(|| fail_violating(&["ART-REMOTE"], "the recorder refuses remotely"));
        assert_eq!(Blame::of_message(&m), Blame::Device);
        assert_eq!(Named::of_message(&m), Some(Named::Violates(vec!["ART-REMOTE".into()])));
        let m = message_of(|| fail_check(&["ART-LOCAL", "ETSI-OLD-CREDENTIAL"], "old password logs in"));
        assert_eq!(Named::of_message(&m), Some(Named::Checks(vec!["ART-LOCAL".into(), "ETSI-OLD-CREDENTIAL".into()])));
        let m = message_of(|| fail(Blame::Device, "plain"));
        assert_eq!(Named::of_message(&m), None);
    }
}
