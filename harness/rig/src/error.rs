//! Rig errors, each attributed: the rig (relay, console, link, operator) did not do what was asked,
//! the device misbehaved, or the harness itself is wrong. Only device faults count against firmware.

use std::path::PathBuf;
use std::time::Duration;

/// Which part a failure is blamed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Blame {
    /// The relay board or its wiring (power or link coil did not switch, board did not answer).
    Relay,
    /// The serial console (port missing, silent cable).
    Console,
    /// The person asked to do a step (field use).
    Operator,
    /// The recorder under test.
    Device,
    /// resetlab itself or its configuration.
    Harness,
}

impl Blame {
    /// Whether this is a rig fault (not counted against the firmware).
    pub fn is_rig(self) -> bool {
        matches!(self, Blame::Relay | Blame::Console | Blame::Operator)
    }

    /// Lower-case name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Blame::Relay => "relay",
            Blame::Console => "console",
            Blame::Operator => "operator",
            Blame::Device => "device",
            Blame::Harness => "harness",
        }
    }
}

impl std::fmt::Display for Blame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.is_rig() { "rig" } else { "" };
        if kind.is_empty() { f.write_str(self.as_str()) } else { write!(f, "{kind} ({})", self.as_str()) }
    }
}

/// Something the rig or the device did not do.
#[derive(Debug, thiserror::Error)]
pub enum RigError {
    /// A wait expired; `what` names what was waited for.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout { what: String, after: Duration, blame: Blame },
    /// A coil was written but reads back otherwise: the relay did not switch.
    #[error("relay {board}: {what} coil {coil} (unit {unit}) written {} but reads back {} — the relay did not switch", *wrote as u8, *read as u8)]
    ReadBack { board: String, what: String, unit: u8, coil: u16, wrote: bool, read: bool },
    /// The relay board answered with a Modbus exception or a transport error.
    #[error("relay {board}: {op} failed: {message}")]
    Modbus { board: String, op: String, message: String },
    /// A `driver: command` tool failed; `command` is the template as the bench file wrote it (an
    /// expanded secret never appears), `message` its exit status and last line, redacted.
    #[error("rig command for {what} `{command}` {message}")]
    Command { what: String, command: String, message: String, blame: Blame },
    /// The bench's labgrid place is held by someone else (or by a run of ours that crashed).
    #[error(
        "labgrid place {place} on {coordinator} is held by {holder}; nothing was touched. Wait for it to be released, or if {holder} is a run that crashed: labgrid-client -x {coordinator} -p {place} release --kick"
    )]
    PlaceHeld { place: String, coordinator: String, holder: String },
    /// The bench file takes a part from its labgrid place, and the place does not have it (or
    /// describes it in a way resetlab cannot use).
    #[error("labgrid place {place} on {coordinator}: {message}")]
    PlaceResource { place: String, coordinator: String, message: String },
    /// The console could not be opened or read.
    #[error("console {port}: {message}")]
    ConsoleIo { port: String, message: String },
    /// The console printed a line that means the firmware crashed.
    #[error("device crashed: console printed {line:?} (matched {pattern:?}) {after:?} after the mark")]
    Crash { pattern: String, line: String, after: Duration },
    /// The device did something it should not (kept answering with power off, never booted…).
    #[error("device: {0}")]
    Device(String),
    /// The operator said a step could not be done, or never answered.
    #[error("operator: {0}")]
    Operator(String),
    /// A part the check needs is not on this bench (`driver: none`).
    #[error("{part} is not on this bench (driver: none)")]
    Absent { part: &'static str },
    /// Wrong configuration or harness bug.
    #[error("harness: {0}")]
    Harness(String),
    /// A secret was asked for but none was given.
    #[error("secret {what}: set environment variable {env} (secrets never come from bench files)")]
    MissingSecret { what: String, env: String },
    /// A file (operator answers, evidence log) could not be used.
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
}

impl RigError {
    /// Who is to blame for this error.
    pub fn blame(&self) -> Blame {
        match self {
            RigError::Timeout { blame, .. } | RigError::Command { blame, .. } => *blame,
            RigError::ReadBack { .. } | RigError::Modbus { .. } => Blame::Relay,
            RigError::ConsoleIo { .. } => Blame::Console,
            RigError::Crash { .. } | RigError::Device(_) => Blame::Device,
            RigError::Operator(_) => Blame::Operator,
            RigError::Absent { .. }
            | RigError::PlaceHeld { .. }
            | RigError::PlaceResource { .. }
            | RigError::Harness(_)
            | RigError::MissingSecret { .. }
            | RigError::File { .. } => Blame::Harness,
        }
    }
}

/// Run `fut` with a deadline; on expiry the error names `what` and blames `blame`.
pub async fn within<T>(
    what: impl FnOnce() -> String,
    after: Duration,
    blame: Blame,
    fut: impl std::future::Future<Output = Result<T, RigError>>,
) -> Result<T, RigError> {
    match tokio::time::timeout(after, fut).await {
        Ok(r) => r,
        Err(_) => Err(RigError::Timeout { what: what(), after, blame }),
    }
}
