//! The run record: one serde model that every output is made from (terminal summary, JUnit, reports).
//! [`RecordWriter`] builds it from Cucumber's events while the suite runs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use cucumber::event::{self, Cucumber, HookType};
use cucumber::{Event, parser};
use serde::{Deserialize, Serialize};

use crate::blame::Blame;
use crate::dut::Evidence;
use crate::requirements::{Catalogue, RequirementId};

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
}

impl std::fmt::Display for NetworkFigures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "requests sent: {}, answers lost: {}, retries: {}, reconciles: {}",
            self.requests, self.answers_lost, self.retries, self.reconciles
        )
    }
}

impl ScenarioRecord {
    /// Whether this scenario establishes `id`: it passed, or it ran to its end and failed only
    /// other requirements.
    pub fn establishes(&self, id: &RequirementId) -> bool {
        self.requirements.contains(id)
            && !self.unestablished.contains_key(id)
            && (self.verdict == Verdict::Pass
                || (self.verdict == Verdict::Fail && self.stopped_at.is_none() && !self.violates(id)))
    }

    /// Whether this scenario stopped at another requirement's failure before it could establish `id`.
    pub fn blocks(&self, id: &RequirementId) -> bool {
        self.requirements.contains(id)
            && self.verdict == Verdict::Fail
            && self.stopped_at.is_some()
            && !self.violates(id)
    }

    /// Whether this scenario's failure shows `id` broken.
    pub fn violates(&self, id: &RequirementId) -> bool {
        self.verdict == Verdict::Fail && self.broken().any(|r| r == id)
    }

    /// The requirements this failed scenario shows broken (all of its own when its failure
    /// named none, or in records written before failures named them).
    pub fn broken(&self) -> impl Iterator<Item = &RequirementId> {
        if self.violated.is_empty() { self.requirements.iter() } else { self.violated.iter() }
    }
}

/// What a device failure shows broken in a scenario about `own` requirements.
fn violated(own: &BTreeSet<RequirementId>, named: Option<crate::blame::Named>) -> BTreeSet<RequirementId> {
    use crate::blame::Named;
    // Only catalogued IDs: a misspelt name in a step must not take a failure off the matrix.
    let catalogue = Catalogue::embedded();
    let ids = |v: Vec<String>| {
        v.into_iter().filter(|id| catalogue.get(id).is_some()).map(RequirementId).collect::<BTreeSet<_>>()
    };
    match named {
        Some(Named::Violates(v)) if !ids(v.clone()).is_empty() => ids(v),
        Some(Named::Checks(v)) => {
            let mine: BTreeSet<RequirementId> = ids(v).intersection(own).cloned().collect();
            if mine.is_empty() { own.clone() } else { mine }
        }
        _ => own.clone(),
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

/// Where a failed scenario's report should point: the requirement(s), the step and the evidence.
#[derive(Debug, Clone)]
pub struct FailurePointer<'a> {
    pub requirements: Vec<&'a RequirementId>,
    pub scenario: &'a ScenarioRecord,
    /// The first step that did not pass (`None` when the scenario failed outside its steps).
    pub step: Option<&'a StepRecord>,
    /// Evidence entries that show the failure (the attempt the failure message names), in order.
    pub evidence: Vec<&'a Evidence>,
}

/// A fresh run id: UTC start time and 6 random hex digits (`20261125T102605Z-3fa2c1`).
pub fn new_run_id() -> String {
    format!("{}-{:06x}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ"), rand::random::<u32>() & 0xff_ffff)
}

impl RunRecord {
    /// Requirement verdicts from the scenarios: fail if a scenario's failure shows it broken
    /// (wherever that scenario is), else error if a covering scenario errored, blocked if one
    /// failed on another requirement, pass if all passed, not applicable if none could run,
    /// `None` if no scenario covers it.
    pub fn judge(&mut self, catalogue: &Catalogue, profiles: &[String]) {
        self.requirements = catalogue
            .selected(profiles)
            .map(|req| {
                let tagged: Vec<&ScenarioRecord> =
                    self.scenarios.iter().filter(|s| s.requirements.contains(&req.id)).collect();
                let broken = self.scenarios.iter().filter(|s| s.violates(&req.id)).count();
                let count = |v: Verdict| tagged.iter().filter(|s| s.verdict == v).count();
                let established = tagged.iter().filter(|s| s.establishes(&req.id)).count();
                let blocked: Vec<&&ScenarioRecord> = tagged.iter().filter(|s| s.blocks(&req.id)).collect();
                let not_applicable = count(Verdict::NotApplicable);
                let half: Vec<&&ScenarioRecord> = tagged
                    .iter()
                    .filter(|s| s.unestablished.contains_key(&req.id) && !s.violates(&req.id) && s.stopped_at.is_none())
                    .collect();
                let verdict = if broken > 0 {
                    Some(Verdict::Fail)
                } else if tagged.is_empty() {
                    None
                } else if count(Verdict::Error) > 0 {
                    Some(Verdict::Error)
                } else if (established > 0 && (!blocked.is_empty() || not_applicable > 0)) || !half.is_empty() {
                    Some(Verdict::Partial)
                } else if established > 0 {
                    Some(Verdict::Pass)
                } else if !blocked.is_empty() {
                    Some(Verdict::Blocked)
                } else {
                    Some(Verdict::NotApplicable)
                };
                let elsewhere =
                    self.scenarios.iter().filter(|s| s.violates(&req.id) && !s.requirements.contains(&req.id)).count();
                // What kept the rest from being established: a part the rig lacks, or the failed
                // step a scenario stopped at (the dependency a blocked requirement waited for).
                let mut missing: Vec<String> = Vec::new();
                if matches!(verdict, Some(Verdict::Partial | Verdict::Blocked)) {
                    let reasons = tagged
                        .iter()
                        .filter(|s| s.verdict == Verdict::NotApplicable)
                        .map(|s| {
                            s.reason
                                .as_deref()
                                .unwrap_or("")
                                .trim_start_matches("not applicable on this rig: needs ")
                                .to_owned()
                        })
                        .chain(half.iter().filter_map(|s| s.unestablished.get(&req.id).cloned()))
                        .chain(blocked.iter().map(|s| {
                            format!(
                                "\"{}\" to pass (\"{}\" stopped there)",
                                s.stopped_at.as_deref().unwrap_or("?"),
                                s.name
                            )
                        }));
                    for need in reasons {
                        if !missing.contains(&need) {
                            missing.push(need);
                        }
                    }
                }
                RequirementRecord {
                    id: req.id.clone(),
                    text: req.text.clone(),
                    verdict,
                    scenarios: tagged.len() + elsewhere,
                    passed: established,
                    failed: broken,
                    missing,
                }
            })
            .collect();
    }

    /// The run as one word: `fail` if any scenario failed, else `error` if anything errored,
    /// else `pass` (not-applicable scenarios neither pass nor fail a run).
    pub fn overall(&self) -> Verdict {
        if self.scenarios.iter().any(|s| s.verdict == Verdict::Fail) {
            Verdict::Fail
        } else if !self.errors.is_empty() || self.scenarios.iter().any(|s| s.verdict == Verdict::Error) {
            Verdict::Error
        } else if self.scenarios.iter().any(|s| s.verdict == Verdict::Pass) {
            Verdict::Pass
        } else {
            Verdict::NotApplicable
        }
    }

    /// For every scenario that failed or errored: its requirements, the failing step and the
    /// evidence that shows it (device failures first).
    pub fn failing_evidence(&self) -> Vec<FailurePointer<'_>> {
        let mut out: Vec<FailurePointer<'_>> = self
            .scenarios
            .iter()
            .filter(|s| matches!(s.verdict, Verdict::Fail | Verdict::Error))
            .map(|s| {
                let step = s.steps.iter().find(|st| st.status != StepStatus::Passed);
                let message = step.and_then(|st| st.error.as_deref()).or(s.reason.as_deref()).unwrap_or("");
                let requirements =
                    if s.verdict == Verdict::Fail { s.broken().collect() } else { s.requirements.iter().collect() };
                FailurePointer { requirements, scenario: s, step, evidence: telling_evidence(s, message) }
            })
            .collect();
        out.sort_by_key(|p| p.scenario.verdict != Verdict::Fail);
        out
    }

    /// Measurements taken in scenario `s`.
    pub fn measurements_of<'a>(&'a self, s: &'a ScenarioRecord) -> impl Iterator<Item = &'a Measurement> + 'a {
        self.measurements.iter().filter(move |m| m.scenario.as_ref().is_some_and(|r| r.is(s)))
    }

    /// Rig events of scenario `s`.
    pub fn timeline_of<'a>(&'a self, s: &'a ScenarioRecord) -> impl Iterator<Item = &'a RigEvent> + 'a {
        self.timeline.iter().filter(move |e| e.scenario.as_ref().is_some_and(|r| r.is(s)))
    }

    /// Console lines of scenario `s`.
    pub fn console_of<'a>(&'a self, s: &'a ScenarioRecord) -> impl Iterator<Item = &'a ConsoleLine> + 'a {
        self.console.iter().filter(move |c| c.scenario.as_ref().is_some_and(|r| r.is(s)))
    }

    /// Requirements of the selected profiles this run did not establish: no scenario of the run
    /// covers them (a `--tags` subset), none could run on this rig, or only some could (partly).
    pub fn unestablished(&self) -> Vec<&RequirementRecord> {
        self.requirements
            .iter()
            .filter(|q| matches!(q.verdict, None | Some(Verdict::NotApplicable | Verdict::Partial)))
            .collect()
    }

    /// True when every requirement that could be run passed and nothing errored.
    pub fn is_green(&self) -> bool {
        self.errors.is_empty()
            && self.scenarios.iter().all(|s| matches!(s.verdict, Verdict::Pass | Verdict::NotApplicable))
    }
}

/// The evidence entries a failure message points at: attempts on the interface it names whose
/// action shares its words ("old password … RTSP" → "log in as admin with the old password" on RTSP).
/// Falls back to the last entry before the failure when nothing matches.
fn telling_evidence<'a>(s: &'a ScenarioRecord, message: &str) -> Vec<&'a Evidence> {
    let msg = message.to_lowercase();
    let names_interface = |e: &Evidence| e.interface.as_ref().is_some_and(|i| msg.contains(&i.to_lowercase()));
    // Words of the action that also appear in the message, ignoring the common ones.
    let shared = |e: &Evidence| {
        e.action
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() >= 3 && !["with", "password", "from", "the", "and", "into", "log", "logs"].contains(w))
            .filter(|w| msg.contains(w))
            .count()
    };
    let best = s.evidence.iter().filter(|e| names_interface(e)).map(shared).max().unwrap_or(0);
    let hits: Vec<&Evidence> = s.evidence.iter().filter(|e| names_interface(e) && shared(e) == best).collect();
    if !hits.is_empty() {
        return hits;
    }
    s.evidence.last().into_iter().collect()
}

/// Scenario key across events: feature file, scenario line (unique per Examples row).
pub type Key = (String, usize);

#[derive(Debug)]
struct Running {
    record: ScenarioRecord,
    /// Steps whose failure was raised (a panic), which stops the scenario.
    raised: Vec<String>,
    /// Event timestamps, not arrival times: normalisation replays a scenario's events in a burst.
    started: SystemTime,
    step_started: SystemTime,
}

fn ms_between(from: SystemTime, to: SystemTime) -> u64 {
    to.duration_since(from).map_or(0, |d| d.as_millis() as u64)
}

/// Live output while the suite runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// One line per finished scenario, failures with their step and message.
    Lines,
    /// A progress bar (scenarios done/total, current step, elapsed) with failures printed above
    /// it; for a terminal. Falls back to [`Progress::Lines`] when stdout is not one.
    Live,
    Quiet,
}

impl Progress {
    /// What a terminal user gets: nothing with `quiet`, lines with `verbose` or when stdout is not
    /// a terminal (CI logs), the live bar otherwise.
    pub fn for_terminal(quiet: bool, verbose: bool) -> Progress {
        use std::io::IsTerminal as _;
        if quiet {
            Progress::Quiet
        } else if verbose || !std::io::stdout().is_terminal() {
            Progress::Lines
        } else {
            Progress::Live
        }
    }
}

/// A Cucumber writer that turns events into [`ScenarioRecord`]s in a shared [`RunRecord`].
#[derive(Debug)]
pub struct RecordWriter {
    record: Arc<Mutex<RunRecord>>,
    running: HashMap<Key, Running>,
    progress: Progress,
    done: usize,
    total: usize,
    /// Step start times are kept relative to this, so the report can draw the run's timeline.
    run_started: SystemTime,
    live: Option<crate::report::progress::LiveProgress>,
}

impl RecordWriter {
    pub fn new(record: Arc<Mutex<RunRecord>>, progress: Progress) -> Self {
        use std::io::IsTerminal as _;
        let progress =
            if progress == Progress::Live && !std::io::stdout().is_terminal() { Progress::Lines } else { progress };
        let run_started =
            record.lock().unwrap_or_else(|e| e.into_inner()).started.map_or_else(SystemTime::now, SystemTime::from);
        RecordWriter { record, running: HashMap::new(), progress, done: 0, total: 0, run_started, live: None }
    }

    fn finish(&mut self, key: &Key, at: SystemTime) {
        let Some(mut run) = self.running.remove(key) else { return };
        let r = &mut run.record;
        r.duration_ms = ms_between(run.started, at);
        // Checks that failed without stopping the scenario, each on the step that made it.
        for (when, failure) in crate::run::take_findings(key) {
            let at_ms = ms_between(self.run_started, when);
            let step = r.steps.iter_mut().rev().find(|s| s.started_ms.is_some_and(|t| t <= at_ms));
            if let Some(step) = step {
                step.status = StepStatus::Failed;
                let text = failure.to_string();
                step.error = Some(match step.error.take() {
                    Some(e) => format!("{e}; {text}"),
                    None => text,
                });
                if step.failure.is_none() {
                    step.failure = Some(failure);
                } else {
                    r.violated.extend(violated(&r.requirements, failure.named.clone()));
                }
            }
        }
        for (id, why) in crate::run::take_unestablished(key) {
            let id = RequirementId(id);
            if r.requirements.contains(&id) {
                r.unestablished.entry(id).or_insert(why);
            }
        }
        let failures: Vec<&StepRecord> = r.steps.iter().filter(|s| s.status != StepStatus::Passed).collect();
        let first = failures.first();
        let device = failures.iter().any(|s| s.failure.as_ref().is_some_and(|f| f.blame == Blame::Device));
        let harness_or_rig = failures.iter().find(|s| s.failure.as_ref().is_none_or(|f| f.blame != Blame::Device));
        (r.verdict, r.blame, r.reason) = match first {
            None => (Verdict::Pass, None, None),
            // A harness or rig fault makes the run inconclusive even beside a device failure.
            Some(_) if let Some(step) = harness_or_rig => {
                let blame = step.failure.as_ref().map_or(Blame::Harness, |f| f.blame);
                let msg = step.error.clone().unwrap_or_else(|| "step skipped (undefined or not run)".to_owned());
                (Verdict::Error, Some(blame), Some(format!("{} {}: {msg}", step.keyword.trim(), step.text)))
            }
            Some(step) => {
                let msg = step.error.clone().unwrap_or_default();
                let _ = device;
                for f in failures.iter().filter_map(|s| s.failure.as_ref()) {
                    r.violated.extend(violated(&r.requirements, f.named.clone()));
                }
                (Verdict::Fail, Some(Blame::Device), Some(format!("{} {}: {msg}", step.keyword.trim(), step.text)))
            }
        };
        // A step that raised (rather than recorded) its failure stopped the scenario there.
        r.stopped_at = r
            .steps
            .iter()
            .find(|s| s.status != StepStatus::Passed && run.raised.contains(&s.text))
            .map(|s| s.text.clone());
        self.done += 1;
        if let Some(live) = &self.live {
            live.finished(self.done, r);
        } else if self.progress == Progress::Lines {
            let mark = match r.verdict {
                Verdict::Pass => "ok  ",
                Verdict::Fail => "FAIL",
                Verdict::NotApplicable | Verdict::Partial => "n/a ",
                Verdict::Error | Verdict::Blocked => "ERR ",
            };
            let line = format!(
                "[{:>3}/{:<3}] {mark} {} › {} ({} ms)",
                self.done, self.total, r.feature, r.name, r.duration_ms
            );
            println!("{}", resetlab_wire::secret::redact(&line));
            if let (Some(reason), Some(blame)) = (&r.reason, r.blame) {
                println!("            {}", resetlab_wire::secret::redact(&format!("{blame} fault at {reason}")));
            }
        }
        self.record.lock().unwrap_or_else(|e| e.into_inner()).scenarios.push(run.record);
    }
}

/// The typed failure behind a step's error: the one the step raised, by its exact panic text.
fn failure_of_step_error(err: &event::StepError) -> crate::blame::Failure {
    match err {
        event::StepError::Panic(info) => {
            let text =
                info.downcast_ref::<String>().cloned().or_else(|| info.downcast_ref::<&str>().map(|s| (*s).to_owned()));
            match text {
                Some(t) => crate::blame::failure_of_panic(&t),
                None => crate::blame::Failure::unexpected("a step panicked with a payload that is not text"),
            }
        }
        other => crate::blame::Failure::new(Blame::Harness, None, other),
    }
}

/// The one key of a scenario in every store of the run: feature file name, scenario line (unique
/// per Examples row).
pub fn key(feature: &gherkin::Feature, scenario: &gherkin::Scenario) -> Key {
    let file = feature
        .path
        .as_ref()
        .and_then(|p| p.file_name())
        .map_or_else(|| feature.name.clone(), |f| f.to_string_lossy().into_owned());
    (file, scenario.position.line)
}

use cucumber::gherkin;

impl<W: cucumber::World> cucumber::Writer<W> for RecordWriter {
    type Cli = cucumber::cli::Empty;

    async fn handle_event(&mut self, event: parser::Result<Event<Cucumber<W>>>, _cli: &Self::Cli) {
        let (ev, at) = match event {
            Ok(ev) => {
                let at = ev.at;
                (ev.into_inner(), at)
            }
            Err(e) => {
                let msg = format!("[harness] a feature file could not be used: {e}");
                eprintln!("{msg}");
                self.record.lock().unwrap_or_else(|e| e.into_inner()).errors.push(msg);
                return;
            }
        };
        let (feature, scenario, ev) = match ev {
            Cucumber::ParsingFinished { scenarios, .. } => {
                self.total = scenarios;
                self.record.lock().unwrap_or_else(|e| e.into_inner()).run_id.get_or_insert_with(new_run_id);
                if self.progress == Progress::Live {
                    self.live = Some(crate::report::progress::LiveProgress::start(scenarios));
                }
                return;
            }
            Cucumber::Finished => {
                if let Some(live) = self.live.take() {
                    live.finish();
                }
                return;
            }
            Cucumber::Feature(f, event::Feature::Scenario(s, ev)) => (f, s, ev),
            Cucumber::Feature(f, event::Feature::Rule(_, event::Rule::Scenario(s, ev))) => (f, s, ev),
            _ => return,
        };
        let key = key(&feature, &scenario);
        match ev.event {
            event::Scenario::Started => {
                let tags: Vec<String> = feature.tags.iter().chain(scenario.tags.iter()).cloned().collect();
                let record = ScenarioRecord {
                    feature: feature.name.clone(),
                    name: scenario.name.clone(),
                    line: scenario.position.line,
                    requirements: Catalogue::requirement_tags(&tags),
                    tags,
                    verdict: Verdict::Error,
                    violated: BTreeSet::new(),
                    blame: None,
                    reason: None,
                    duration_ms: 0,
                    steps: Vec::new(),
                    evidence: Vec::new(),
                    stopped_at: None,
                    unestablished: BTreeMap::new(),
                };
                self.running.insert(key, Running { record, raised: Vec::new(), started: at, step_started: at });
            }
            event::Scenario::Step(step, ev) | event::Scenario::Background(step, ev) => {
                let Some(run) = self.running.get_mut(&key) else { return };
                let (status, failure) = match ev {
                    event::Step::Started => {
                        run.step_started = at;
                        if let Some(live) = &self.live {
                            live.step(&run.record.name, &step.value);
                        }
                        return;
                    }
                    event::Step::Passed(..) => (StepStatus::Passed, None),
                    event::Step::Skipped => (
                        StepStatus::Skipped,
                        Some(crate::blame::Failure::new(Blame::Harness, None, "step is undefined or was skipped")),
                    ),
                    event::Step::Failed(_, _, _, err) => {
                        run.raised.push(step.value.clone());
                        (StepStatus::Failed, Some(failure_of_step_error(&err)))
                    }
                };
                if status == StepStatus::Skipped {
                    run.raised.push(step.value.clone());
                }
                run.record.steps.push(StepRecord {
                    keyword: step.keyword.trim().to_owned(),
                    text: step.value.clone(),
                    status,
                    duration_ms: ms_between(run.step_started, at),
                    error: failure.as_ref().map(|f| f.to_string()),
                    started_ms: Some(ms_between(self.run_started, run.step_started)),
                    failure,
                });
            }
            event::Scenario::Hook(which, event::Hook::Failed(_, info)) => {
                let Some(run) = self.running.get_mut(&key) else { return };
                let msg = info
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| info.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "hook panicked".to_owned());
                let hook = if matches!(which, HookType::Before) { "before" } else { "after" };
                let failure = crate::blame::failure_of_panic(&msg);
                run.raised.push(hook.to_owned());
                run.record.steps.push(StepRecord {
                    keyword: "Hook".to_owned(),
                    text: hook.to_owned(),
                    status: StepStatus::Failed,
                    duration_ms: 0,
                    error: Some(failure.to_string()),
                    started_ms: Some(ms_between(self.run_started, at)),
                    failure: Some(failure),
                });
            }
            event::Scenario::Finished => self.finish(&key, at),
            _ => {}
        }
    }
}

impl<W: cucumber::World> cucumber::writer::Stats<W> for RecordWriter {
    fn passed_steps(&self) -> usize {
        0
    }
    fn skipped_steps(&self) -> usize {
        0
    }
    fn failed_steps(&self) -> usize {
        0
    }
    fn retried_steps(&self) -> usize {
        0
    }
    fn parsing_errors(&self) -> usize {
        0
    }
    fn hook_errors(&self) -> usize {
        0
    }
}

impl<W: cucumber::World, V> cucumber::writer::Arbitrary<W, V> for RecordWriter {
    async fn write(&mut self, _val: V) {}
}

/// Evidence collected by scenarios' teardown, merged into the record after the run.
pub type EvidenceStore = Mutex<BTreeMap<Key, Vec<Evidence>>>;

/// Attach each scenario's evidence to its record.
pub fn attach_evidence(record: &mut RunRecord, store: &EvidenceStore) {
    let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
    for s in &mut record.scenarios {
        if let Some(ev) = store.remove(&(s.feature.clone(), s.line)) {
            s.evidence = ev;
        }
    }
}

/// What a scenario measured besides its evidence, collected by its teardown like the evidence
/// (times in ms on the scenario's own clock, as [`Evidence::at_ms`]).
#[derive(Debug, Clone, Default)]
pub struct ScenarioExtras {
    pub measurements: Vec<Measurement>,
    pub timeline: Vec<RigEvent>,
    pub console: Vec<ConsoleLine>,
    pub thumbnails: Vec<Thumbnail>,
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

/// Extras collected by scenarios' teardown, keyed like [`EvidenceStore`].
pub type ExtrasStore = Mutex<BTreeMap<Key, ScenarioExtras>>;

/// Move each scenario's extras into the run-level lists: tag them with the scenario and shift their
/// times from the scenario's clock to the run's (the scenario starts at its first step).
pub fn attach_extras(record: &mut RunRecord, store: &ExtrasStore) {
    let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
    for s in &record.scenarios {
        let Some(extras) = store.remove(&(s.feature.clone(), s.line)) else { continue };
        let start = s.steps.iter().filter_map(|st| st.started_ms).min().unwrap_or(0);
        let me = Some(ScenarioRef::of(s));
        record.measurements.extend(extras.measurements.into_iter().map(|m| Measurement { scenario: me.clone(), ..m }));
        record.timeline.extend(extras.timeline.into_iter().map(|e| RigEvent {
            scenario: me.clone(),
            at_ms: start + e.at_ms,
            ..e
        }));
        record.console.extend(extras.console.into_iter().map(|c| ConsoleLine {
            scenario: me.clone(),
            at_ms: start + c.at_ms,
            ..c
        }));
        for t in extras.thumbnails {
            let file = format!("thumbnails/{:03}.png", record.thumbnails.len() + 1);
            record.thumbnails.push(Thumbnail { scenario: me.clone(), at_ms: start + t.at_ms, file, ..t });
        }
    }
    record.timeline.sort_by_key(|e| e.at_ms);
    record.console.sort_by_key(|c| c.at_ms);
}

/// Wall-clock time for the record.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::<chrono::Utc>::from(SystemTime::now())
}

#[cfg(test)]
mod attribution_tests {
    use super::*;
    use crate::blame::Named;

    fn ids(v: &[&str]) -> BTreeSet<RequirementId> {
        v.iter().map(|s| RequirementId((*s).to_owned())).collect()
    }

    #[test]
    fn a_failure_is_attributed_to_what_it_names_or_to_the_scenario() {
        let own = ids(&["ART-LEN6", "ART-LOCAL"]);
        // Unnamed: everything the scenario is about.
        assert_eq!(violated(&own, None), own);
        // A check of a requirement the scenario is about: that one only.
        assert_eq!(violated(&own, Some(Named::Checks(vec!["ART-LOCAL".into()]))), ids(&["ART-LOCAL"]));
        // A check of a requirement the scenario is not about: what the scenario is about.
        let durable = ids(&["ART-DURABLE"]);
        assert_eq!(violated(&durable, Some(Named::Checks(vec!["ART-LOCAL".into()]))), durable);
        // A named violation: that, wherever it was seen.
        assert_eq!(violated(&durable, Some(Named::Violates(vec!["ART-REMOTE".into()]))), ids(&["ART-REMOTE"]));
        // A name that is not in the catalogue counts as no name.
        assert_eq!(violated(&durable, Some(Named::Violates(vec!["ART-REMOET".into()]))), durable);
    }
}
