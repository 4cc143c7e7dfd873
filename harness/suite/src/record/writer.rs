//! The Cucumber writer that turns the suite's events into [`ScenarioRecord`]s in the shared
//! [`RunRecord`], and shows progress while it does.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use cucumber::event::{self, Cucumber, HookType};
use cucumber::{Event, gherkin, parser};

use super::judge::violated;
use super::progress::{LiveProgress, Progress};
use super::{RunRecord, ScenarioRecord, StepRecord, StepStatus, Verdict, new_run_id};
use crate::blame::Blame;
use crate::requirements::{Catalogue, RequirementId};

/// Scenario key across events and stores: feature name, scenario line (see [`key`]).
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
    live: Option<LiveProgress>,
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

/// The one key of a scenario in every store of the run (the writer's, the evidence and extras
/// stores, the requirements a scenario could not establish): its feature's name and its line,
/// unique per Examples row — the pair a record's [`super::ScenarioRecord`] and
/// [`super::ScenarioRef`] carry, so that a record finds what was stored for it.
pub fn key(feature: &gherkin::Feature, scenario: &gherkin::Scenario) -> Key {
    (feature.name.clone(), scenario.position.line)
}

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
                    self.live = Some(LiveProgress::start(scenarios));
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
                    first_attempt: None,
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
