//! Failure attribution. A failed check names who is to blame — the **device** (the recorder
//! misbehaved), the **rig** (power, console, network or relay did not do what was asked) or the
//! **harness** (our bug) — because only device failures count against a firmware, and which
//! requirement(s) it shows broken.
//!
//! A verdict is data: a [`Failure`] carries its blame and requirements as types from the step to the
//! record. A failure that stops its scenario is raised with [`fail`] (a panic: that is how Cucumber
//! steps fail) and registered under its exact text, which the record writer looks up — the text is
//! never parsed. A check that does not stop its scenario records a [`Failure`] in the World
//! instead ([`crate::world::LabWorld::check_failed`]). Messages pass through
//! [`resetlab_wire::secret::redact`] first, so no password can reach the output.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};

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
    /// Who is to blame when a device client call failed where it should have worked.
    pub fn of_error(err: &DeviceError) -> Blame {
        match err.kind {
            // The device did not answer at all, or its answer was lost on the way: on a bench that
            // is usually power, link, cabling or relay (see `Dut` for when a lost answer is the
            // device's after all).
            ErrorKind::Timeout { .. } | ErrorKind::Connect(_) | ErrorKind::NoAnswer { .. } => Blame::Rig,
            _ => Blame::Device,
        }
    }
}

/// Which requirement(s) a device failure shows broken, when the failing check says so itself. A
/// failure that names none counts against every requirement of its scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Named {
    /// These requirements, wherever the failure was seen — a set-up step that finds the device
    /// breaking a requirement the scenario is not about.
    Violates(Vec<String>),
    /// These where the scenario is about them; otherwise what the scenario is about (a local
    /// login after a power cycle checks ART-DURABLE, not ART-LOCAL).
    Checks(Vec<String>),
}

/// One failed check: who is to blame, what it shows broken, and what was seen (redacted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub blame: Blame,
    pub named: Option<Named>,
    pub message: String,
    /// The network lost an answer (a rig fault a second attempt may not meet): the scenario is
    /// run once more from its set-up.
    pub network: bool,
}

impl Failure {
    pub fn new(blame: Blame, named: Option<Named>, message: impl fmt::Display) -> Failure {
        Failure { blame, named, message: resetlab_wire::secret::redact(&message.to_string()), network: false }
    }

    /// The network lost an answer, so the step has nothing of the device's to judge: the rig's
    /// fault, and worth one more attempt of the scenario.
    pub fn network_fault(message: impl fmt::Display) -> Failure {
        Failure { network: true, ..Failure::new(Blame::Rig, None, message) }
    }

    /// A device failure that breaks `requirements` wherever it is seen.
    pub fn violating(requirements: &[&str], message: impl fmt::Display) -> Failure {
        Failure::new(
            Blame::Device,
            Some(Named::Violates(requirements.iter().map(|s| (*s).to_owned()).collect())),
            message,
        )
    }

    /// A device failure of a check of `requirements` (see [`Named::Checks`]).
    pub fn checking(requirements: &[&str], message: impl fmt::Display) -> Failure {
        Failure::new(
            Blame::Device,
            Some(Named::Checks(requirements.iter().map(|s| (*s).to_owned()).collect())),
            message,
        )
    }

    /// The failure of a panic we did not raise ourselves (an unwrap, an index): our bug.
    pub fn unexpected(text: &str) -> Failure {
        Failure::new(Blame::Harness, None, text)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] ", self.blame)?;
        match &self.named {
            Some(Named::Violates(ids)) => write!(f, "[violates {}] ", ids.join(" "))?,
            Some(Named::Checks(ids)) => write!(f, "[checks {}] ", ids.join(" "))?,
            None => {}
        }
        f.write_str(&self.message)
    }
}

/// Failures raised by [`raise`], by their exact panic text.
fn raised() -> &'static Mutex<HashMap<String, Failure>> {
    static RAISED: OnceLock<Mutex<HashMap<String, Failure>>> = OnceLock::new();
    RAISED.get_or_init(Default::default)
}

/// The failure a step's panic text stands for: the one raised with that exact text, else an
/// unexpected panic (the harness's).
pub fn failure_of_panic(text: &str) -> Failure {
    raised().lock().unwrap_or_else(|e| e.into_inner()).get(text).cloned().unwrap_or_else(|| Failure::unexpected(text))
}

/// Stop the current step (and its scenario) with `failure`.
#[track_caller]
pub fn raise(failure: Failure) -> ! {
    let text = failure.to_string();
    raised().lock().unwrap_or_else(|e| e.into_inner()).insert(text.clone(), failure);
    panic!("{text}")
}

/// Fail the current step, blaming `blame`.
#[track_caller]
pub fn fail(blame: Blame, message: impl fmt::Display) -> ! {
    raise(Failure::new(blame, None, message))
}

/// Fail the current step because the network lost an answer (see [`Failure::network_fault`]).
#[track_caller]
pub fn fail_network(message: impl fmt::Display) -> ! {
    raise(Failure::network_fault(message))
}

/// Fail the current step, blaming the device for breaking `requirements`, wherever this is seen.
#[track_caller]
pub fn fail_violating(requirements: &[&str], message: impl fmt::Display) -> ! {
    raise(Failure::violating(requirements, message))
}

/// Fail a check of `requirements` (see [`Named::Checks`]), blaming the device.
#[track_caller]
pub fn fail_check(requirements: &[&str], message: impl fmt::Display) -> ! {
    raise(Failure::checking(requirements, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let err = std::panic::catch_unwind(f).unwrap_err();
        err.downcast_ref::<String>().cloned().unwrap()
    }

    #[test]
    fn a_failure_reads_as_who_is_to_blame_and_what_it_breaks() {
        assert_eq!(Blame::Device.to_string(), "device");
        assert_eq!(Blame::Rig.to_string(), "rig");
        assert_eq!(Blame::Harness.to_string(), "harness");
        assert_eq!(
            Failure::violating(&["ART-LEN6"], "5 characters taken").to_string(),
            "[device] [violates ART-LEN6] 5 characters taken"
        );
        assert_eq!(Failure::checking(&["ART-LOCAL"], "old works").to_string(), "[device] [checks ART-LOCAL] old works");
        assert_eq!(Failure::new(Blame::Rig, None, "relay board silent").to_string(), "[rig] relay board silent");
    }

    #[test]
    fn a_lost_answer_is_the_network_and_worth_one_more_attempt() {
        let f = Failure::network_fault("no answer");
        assert_eq!((f.blame, f.network, f.named), (Blame::Rig, true, None));
        assert!(!Failure::new(Blame::Rig, None, "relay board silent").network, "other rig faults are not re-run");
        let err = |kind| DeviceError::new(resetlab_device::Interface::Http, "GET /", kind);
        for kind in [
            ErrorKind::Timeout { waited_for: "an answer".into(), after: std::time::Duration::from_secs(5) },
            ErrorKind::Connect("refused".into()),
            ErrorKind::NoAnswer { detail: "closed".into() },
        ] {
            assert_eq!(Blame::of_error(&err(kind.clone())), Blame::Rig, "{kind:?}");
        }
        for kind in [ErrorKind::Unauthorized, ErrorKind::Refused { reason: "Error".into() }] {
            assert_eq!(Blame::of_error(&err(kind.clone())), Blame::Device, "{kind:?}");
        }
    }

    #[test]
    fn a_raised_failure_is_found_by_its_text_as_data() {
        let t = text_of(|| fail_violating(&["ART-REMOTE"], "the recorder refuses remotely"));
        let f = failure_of_panic(&t);
        assert_eq!(f.blame, Blame::Device);
        assert_eq!(f.named, Some(Named::Violates(vec!["ART-REMOTE".into()])));
        let t = text_of(|| fail_check(&["ART-LOCAL", "ETSI-OLD-CREDENTIAL"], "old password logs in"));
        assert_eq!(
            failure_of_panic(&t).named,
            Some(Named::Checks(vec!["ART-LOCAL".into(), "ETSI-OLD-CREDENTIAL".into()]))
        );
        let t = text_of(|| fail(Blame::Rig, "plain"));
        assert_eq!(
            failure_of_panic(&t),
            Failure { blame: Blame::Rig, named: None, message: "plain".into(), network: false }
        );
    }

    /// A message that merely looks like one of ours is not taken for one: rewording or quoting a
    /// marker cannot misattribute a failure.
    #[test]
    fn text_that_only_looks_like_a_failure_is_the_harness_s() {
        let f = failure_of_panic("[device] [violates ART-LEN6] typed by hand, never raised");
        assert_eq!(f.blame, Blame::Harness);
        assert_eq!(f.named, None);
    }
}
