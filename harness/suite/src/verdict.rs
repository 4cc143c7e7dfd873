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
