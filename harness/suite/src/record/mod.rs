//! The run record: one serde model that every output is made from (terminal summary, JUnit,
//! reports). Its parts:
//! - this file, the model: a run, its scenarios and steps, requirement verdicts, evidence,
//!   measurements, rig events, console lines, thumbnails;
//! - [`judge`]: requirement verdicts from the scenarios, and the evidence that shows a failure;
//! - [`writer`]: the Cucumber writer that builds the record from the suite's events while it runs;
//! - [`progress`]: what the terminal shows meanwhile.
//!
//! What scenarios collect on the side (evidence, measurements…) is merged in by
//! [`crate::report::evidence`]. Nothing here depends on the device session or the report writers.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::blame::Blame;
use crate::requirements::RequirementId;

pub mod judge;
pub mod progress;
pub mod writer;

pub use judge::FailurePointer;
pub use progress::Progress;
pub use writer::{Key, RecordWriter, key};

/// One line of evidence: what the harness did and what came back, with no secret in it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Evidence {
    pub at_ms: u64,
    pub interface: Option<String>,
    pub action: String,
    pub outcome: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    Fail,
    /// The rig cannot run it (no power control, no console …); never counted as passed.
    NotApplicable,
    /// The harness or rig failed; says nothing about the device.
    Error,
    /// Requirements only: a scenario covering it stopped at a device failure of another
    /// requirement, so this one was not established either way.
    Blocked,
    /// Requirements only: the scenarios that ran passed, but others covering it could not run on
    /// this rig; what they needed is named. Never counted as a pass of the whole requirement.
    Partial,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::NotApplicable => "not applicable",
            Verdict::Error => "ERROR",
            Verdict::Blocked => "blocked",
            Verdict::Partial => "partly established",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Passed,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    pub keyword: String,
    pub text: String,
    pub status: StepStatus,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the step started, in ms from the start of the run (places scenarios on the timeline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<u64>,
    /// The failure as data (blame and requirements), while the record is being built.
    #[serde(skip)]
    pub failure: Option<crate::blame::Failure>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioRecord {
    pub feature: String,
    pub name: String,
    pub line: usize,
    pub requirements: BTreeSet<RequirementId>,
    pub tags: Vec<String>,
    pub verdict: Verdict,
    /// For a failed scenario: the requirement(s) its failure shows broken (see
    /// [`crate::blame::Named`]); empty in records written before this was kept, when every
    /// requirement of the scenario counts.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub violated: BTreeSet<RequirementId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blame: Option<Blame>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub duration_ms: u64,
    pub steps: Vec<StepRecord>,
    pub evidence: Vec<Evidence>,
    /// The step a failure stopped the scenario at (the steps after it did not run); absent when
    /// the scenario ran to its end, failed checks included, so what it did not fail it established.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
    /// Requirements of this scenario it could not establish, and why (the app flow could not run,
    /// so only the recorder-side half did): partly established at best, never passed by it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unestablished: BTreeMap<RequirementId, String>,
    /// This scenario was run once more because a network fault left its first attempt
    /// inconclusive: what that attempt ended with. The verdict is the second attempt's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_attempt: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequirementRecord {
    pub id: RequirementId,
    pub text: String,
    pub verdict: Option<Verdict>,
    pub scenarios: usize,
    pub passed: usize,
    pub failed: usize,
    /// Partly established: what the scenarios that could not run on this rig needed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunRecord {
    pub resetlab_version: String,
    pub lab: String,
    pub started: Option<chrono::DateTime<chrono::Utc>>,
    pub finished: Option<chrono::DateTime<chrono::Utc>>,
    pub duration_ms: u64,
    pub scenarios: Vec<ScenarioRecord>,
    pub requirements: Vec<RequirementRecord>,
    /// Problems that are not one scenario's (a feature that did not parse, an unknown tag).
    pub errors: Vec<String>,
    /// Names this run in reports and diffs (UTC start time plus a random suffix).
    #[serde(default)]
    pub run_id: Option<String>,
    /// The device under test as it describes itself (read from the device, not from the profile).
    #[serde(default)]
    pub device: Option<DeviceIdentity>,
    /// The bench: its file and the driver resolved for each part.
    #[serde(default)]
    pub rig: Option<RigDescription>,
    /// Firmware profile name (`flir-2017`).
    #[serde(default)]
    pub firmware_profile: Option<String>,
    /// App profiles used (`iphone-2017` …).
    #[serde(default)]
    pub app_profiles: Vec<String>,
    /// Requirement profiles selected besides `article` (`etsi`, `asvs`, `cve`).
    #[serde(default)]
    pub requirement_profiles: Vec<String>,
    /// Timings and counts the harness observed, with their limits (OpenHTF measurements).
    #[serde(default)]
    pub measurements: Vec<Measurement>,
    /// Every power/link/console switch the rig made, with read-back and timing.
    #[serde(default)]
    pub timeline: Vec<RigEvent>,
    /// Serial console capture, power events marked.
    #[serde(default)]
    pub console: Vec<ConsoleLine>,
    /// What the run was made of: resetlab version and commit, feature and bench file hashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<crate::provenance::Provenance>,
    /// What crossed the network to the device: tells a flaky bench from a flaky firmware.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkFigures>,
    /// Video frames kept as evidence (ART-LOCAL's RTSP part), in run order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thumbnails: Vec<Thumbnail>,
}

/// Requests sent to the device and what the network did to them, over the whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkFigures {
    /// Requests the device clients sent (every interface, challenges included).
    pub requests: u64,
    /// Password changes whose answer was lost (reconciled from what the device then held).
    pub answers_lost: u64,
    /// Changes sent again because the request itself had been lost.
    pub retries: u64,
    /// Times the harness asked the device which password it holds.
    pub reconciles: u64,
    /// Answers the lab itself spoiled on the relay path (`certify --relay-fault`, a rehearsal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spoiled_on_purpose: Option<u64>,
}

impl std::fmt::Display for NetworkFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "requests sent: {}, answers lost: {}, retries: {}, reconciles: {}",
            self.requests, self.answers_lost, self.retries, self.reconciles
        )?;
        if let Some(n) = self.spoiled_on_purpose {
            write!(f, "; the lab's --relay-fault spoiled {n} on purpose")?;
        }
        Ok(())
    }
}

/// Which scenario an item belongs to: feature name and scenario line (unique per Examples row).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ScenarioRef {
    pub feature: String,
    pub line: usize,
}

impl ScenarioRef {
    pub fn of(s: &ScenarioRecord) -> Self {
        ScenarioRef { feature: s.feature.clone(), line: s.line }
    }

    pub fn is(&self, s: &ScenarioRecord) -> bool {
        self.feature == s.feature && self.line == s.line
    }
}

/// The device's own account of itself (system info read over its interfaces).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceIdentity {
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub serial: Option<String>,
    #[serde(default)]
    pub machine_name: Option<String>,
    #[serde(default)]
    pub firmware_version: Option<String>,
    #[serde(default)]
    pub firmware_build: Option<String>,
}

/// The bench file and what each part resolved to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RigDescription {
    /// The bench file (`rigs/emulator.yaml`), or `None` for the embedded lab.
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub drivers: Vec<RigDriver>,
}

/// One rig part and its driver ("power: modbus-tcp coil 3 at 10.0.0.5").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RigDriver {
    /// `power`, `network`, `console`, `app` …
    pub part: String,
    pub driver: String,
    #[serde(default)]
    pub resource: Option<String>,
}

/// A value the harness measured, with its limit ("boot to service ready: 38.2 s, limit 120 s").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    #[serde(default)]
    pub scenario: Option<ScenarioRef>,
    /// The step text it was measured in.
    #[serde(default)]
    pub step: Option<String>,
    pub name: String,
    pub value: f64,
    pub unit: String,
    /// Upper limit; `None` when the value is only recorded.
    #[serde(default)]
    pub limit: Option<f64>,
    pub ok: bool,
}

impl Measurement {
    /// A measurement that must not exceed `limit`.
    pub fn at_most(name: impl Into<String>, value: f64, unit: impl Into<String>, limit: f64) -> Self {
        Measurement {
            scenario: None,
            step: None,
            name: name.into(),
            value,
            unit: unit.into(),
            limit: Some(limit),
            ok: value <= limit,
        }
    }

    /// A measurement that is only recorded.
    pub fn recorded(name: impl Into<String>, value: f64, unit: impl Into<String>) -> Self {
        Measurement { scenario: None, step: None, name: name.into(), value, unit: unit.into(), limit: None, ok: true }
    }
}

impl std::fmt::Display for Measurement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} {}", self.name, trim_float(self.value), self.unit)?;
        if let Some(limit) = self.limit {
            write!(f, ", limit {} {}", trim_float(limit), self.unit)?;
        }
        if !self.ok {
            f.write_str(" — OVER LIMIT")?;
        }
        Ok(())
    }
}

/// `38.2`, `120`, `0.004`: no trailing zeros.
pub fn trim_float(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" { "0".to_owned() } else { s.to_owned() }
}

/// One switch the rig made (power off, link up …), with what it read back and how long it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RigEvent {
    #[serde(default)]
    pub scenario: Option<ScenarioRef>,
    /// ms from the start of the run.
    pub at_ms: u64,
    /// `power`, `network`, `console`.
    pub part: String,
    /// `off`, `on`, `down`, `up`.
    pub action: String,
    /// What reading the part back showed (`coil 3 = 0`).
    #[serde(default)]
    pub readback: Option<String>,
    #[serde(default)]
    pub duration_ms: Option<u64>,
    pub ok: bool,
}

/// One line of the serial console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleLine {
    #[serde(default)]
    pub scenario: Option<ScenarioRef>,
    /// ms from the start of the run.
    pub at_ms: u64,
    pub text: String,
    /// Set on the marker lines the harness inserts (`power off`, `power on`).
    #[serde(default)]
    pub power_event: Option<String>,
}

/// A fresh run id: UTC start time and 6 random hex digits (`20261125T102605Z-3fa2c1`).
pub fn new_run_id() -> String {
    format!("{}-{:06x}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ"), rand::random::<u32>() & 0xff_ffff)
}

/// A decoded video frame kept as evidence: what a password opened on a stream (the main stream
/// after a change), scaled down. The PNG is written next to the report (`file`) and shown in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thumbnail {
    #[serde(default)]
    pub scenario: Option<ScenarioRef>,
    /// On the run's clock.
    pub at_ms: u64,
    pub interface: String,
    pub stream: String,
    pub caption: String,
    /// Of the thumbnail.
    pub width: u32,
    pub height: u32,
    /// The PNG, relative to the report directory (`thumbnails/001.png`).
    pub file: String,
    /// The PNG itself until the report is written (report.json names the file).
    #[serde(skip)]
    pub png: Vec<u8>,
}

/// Wall-clock time for the record.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::<chrono::Utc>::from(SystemTime::now())
}
