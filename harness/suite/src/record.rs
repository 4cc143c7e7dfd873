//! The run record: one serde model that every output is made from (terminal summary, JUnit, reports).
//! [`RecordWriter`] builds it from Cucumber's events while the suite runs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use cucumber::event::{self, Cucumber, HookType};
use cucumber::{parser, Event};
use serde::{Deserialize, Serialize};

use crate::dut::Evidence;
use crate::requirements::{Catalogue, RequirementId};
use crate::verdict::Blame;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    Fail,
    /// The rig cannot run it (no power control, no console …); never counted as passed.
    NotApplicable,
    /// The harness or rig failed; says nothing about the device.
    Error,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::NotApplicable => "not applicable",
            Verdict::Error => "ERROR",
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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioRecord {
    pub feature: String,
    pub name: String,
    pub line: usize,
    pub requirements: BTreeSet<RequirementId>,
    pub tags: Vec<String>,
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blame: Option<Blame>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub duration_ms: u64,
    pub steps: Vec<StepRecord>,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequirementRecord {
    pub id: RequirementId,
    pub text: String,
    pub verdict: Option<Verdict>,
    pub scenarios: usize,
    pub passed: usize,
    pub failed: usize,
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
}

impl RunRecord {
    /// Requirement verdicts from the scenarios: fail if any scenario failed, error if any errored,
    /// pass if all passed, not applicable if none could run, `None` if no scenario covers it.
    pub fn judge(&mut self, catalogue: &Catalogue, profiles: &[String]) {
        self.requirements = catalogue
            .selected(profiles)
            .map(|req| {
                let mine: Vec<&ScenarioRecord> =
                    self.scenarios.iter().filter(|s| s.requirements.contains(&req.id)).collect();
                let count = |v: Verdict| mine.iter().filter(|s| s.verdict == v).count();
                let verdict = if mine.is_empty() {
                    None
                } else if count(Verdict::Fail) > 0 {
                    Some(Verdict::Fail)
                } else if count(Verdict::Error) > 0 {
                    Some(Verdict::Error)
                } else if count(Verdict::Pass) > 0 {
                    Some(Verdict::Pass)
                } else {
                    Some(Verdict::NotApplicable)
                };
                RequirementRecord {
                    id: req.id.clone(),
                    text: req.text.clone(),
                    verdict,
                    scenarios: mine.len(),
                    passed: count(Verdict::Pass),
                    failed: count(Verdict::Fail),
                }
            })
            .collect();
    }

    /// True when every requirement that could be run passed and nothing errored.
    pub fn is_green(&self) -> bool {
        self.errors.is_empty()
            && self.scenarios.iter().all(|s| matches!(s.verdict, Verdict::Pass | Verdict::NotApplicable))
    }
}

/// Scenario key across events: feature file, scenario line (unique per Examples row).
type Key = (String, usize);

#[derive(Debug)]
struct Running {
    record: ScenarioRecord,
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
    Quiet,
}

/// A Cucumber writer that turns events into [`ScenarioRecord`]s in a shared [`RunRecord`].
#[derive(Debug)]
pub struct RecordWriter {
    record: Arc<Mutex<RunRecord>>,
    running: HashMap<Key, Running>,
    progress: Progress,
    done: usize,
    total: usize,
}

impl RecordWriter {
    pub fn new(record: Arc<Mutex<RunRecord>>, progress: Progress) -> Self {
        RecordWriter { record, running: HashMap::new(), progress, done: 0, total: 0 }
    }

    fn finish(&mut self, key: &Key, at: SystemTime) {
        let Some(mut run) = self.running.remove(key) else { return };
        let r = &mut run.record;
        r.duration_ms = ms_between(run.started, at);
        let failed = r.steps.iter().find(|s| s.status != StepStatus::Passed);
        (r.verdict, r.blame, r.reason) = match failed {
            None => (Verdict::Pass, None, None),
            Some(step) => {
                let msg = step.error.clone().unwrap_or_else(|| "step skipped (undefined or not run)".to_owned());
                let blame = if step.status == StepStatus::Skipped { Blame::Harness } else { Blame::of_message(&msg) };
                let verdict = if blame == Blame::Device { Verdict::Fail } else { Verdict::Error };
                (verdict, Some(blame), Some(format!("{} {}: {msg}", step.keyword.trim(), step.text)))
            }
        };
        self.done += 1;
        if self.progress == Progress::Lines {
            let mark = match r.verdict {
                Verdict::Pass => "ok  ",
                Verdict::Fail => "FAIL",
                Verdict::NotApplicable => "n/a ",
                Verdict::Error => "ERR ",
            };
            println!("[{:>3}/{:<3}] {mark} {} › {} ({} ms)", self.done, self.total, r.feature, r.name, r.duration_ms);
            if let (Some(reason), Some(blame)) = (&r.reason, r.blame) {
                println!("            {blame} fault at {reason}");
            }
        }
        self.record.lock().unwrap_or_else(|e| e.into_inner()).scenarios.push(run.record);
    }
}

fn key(feature: &gherkin::Feature, scenario: &gherkin::Scenario) -> Key {
    let file = feature.path.as_ref().and_then(|p| p.file_name()).map_or_else(|| feature.name.clone(), |f| f.to_string_lossy().into_owned());
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
                    blame: None,
                    reason: None,
                    duration_ms: 0,
                    steps: Vec::new(),
                    evidence: Vec::new(),
                };
                self.running.insert(key, Running { record, started: at, step_started: at });
            }
            event::Scenario::Step(step, ev) | event::Scenario::Background(step, ev) => {
                let Some(run) = self.running.get_mut(&key) else { return };
                let (status, error) = match ev {
                    event::Step::Started => {
                        run.step_started = at;
                        return;
                    }
                    event::Step::Passed(..) => (StepStatus::Passed, None),
                    event::Step::Skipped => (StepStatus::Skipped, Some("[harness] step is undefined or was skipped".to_owned())),
                    event::Step::Failed(_, _, _, err) => (StepStatus::Failed, Some(resetlab_wire::secret::redact(&err.to_string()))),
                };
                run.record.steps.push(StepRecord {
                    keyword: step.keyword.trim().to_owned(),
                    text: step.value.clone(),
                    status,
                    duration_ms: ms_between(run.step_started, at),
                    error,
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
                run.record.steps.push(StepRecord {
                    keyword: "Hook".to_owned(),
                    text: hook.to_owned(),
                    status: StepStatus::Failed,
                    duration_ms: 0,
                    error: Some(resetlab_wire::secret::redact(&msg)),
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

/// Wall-clock time for the record.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::<chrono::Utc>::from(SystemTime::now())
}
