//! Requirement verdicts from the scenarios (a failure counts against what it shows broken, not
//! against everything its scenario is about), and the evidence that shows each failure.

use std::collections::BTreeSet;

use super::{
    ConsoleLine, Evidence, Measurement, RequirementRecord, RigEvent, RunRecord, ScenarioRecord, StepRecord, StepStatus,
    Verdict,
};
use crate::requirements::{Catalogue, RequirementId};

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
pub(super) fn violated(own: &BTreeSet<RequirementId>, named: Option<crate::blame::Named>) -> BTreeSet<RequirementId> {
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
