//! `resetlab report diff A B`: what changed between two runs — requirements whose verdict flipped,
//! scenarios that appeared, vanished or flipped, and timings that got slower beyond a threshold.
//! This is how a lab compares two firmware builds on one bench.

use std::collections::BTreeMap;
use std::fmt;

use crate::record::{Measurement, RunRecord, ScenarioRecord, ScenarioRef, Verdict};
use crate::requirements::RequirementId;

/// Changes smaller than this are noise on a loaded machine, whatever the percentage says.
pub const MIN_REGRESSION_MS: f64 = 20.0;

/// What changed from run A to run B.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiffReport {
    pub a: String,
    pub b: String,
    pub requirements: Vec<RequirementFlip>,
    pub scenarios: Vec<ScenarioFlip>,
    pub timings: Vec<TimingChange>,
    pub threshold_pct: f64,
}

/// A requirement whose verdict differs (`None`: not covered in that run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequirementFlip {
    pub id: RequirementId,
    pub before: Option<Verdict>,
    pub after: Option<Verdict>,
}

/// A scenario whose verdict differs (`None`: not in that run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioFlip {
    pub scenario: ScenarioRef,
    pub name: String,
    pub before: Option<Verdict>,
    pub after: Option<Verdict>,
}

/// A timing that got slower by more than the threshold (a scenario's duration or a measurement).
#[derive(Debug, Clone, PartialEq)]
pub struct TimingChange {
    /// "scenario › name" or "scenario › measurement".
    pub what: String,
    pub before: f64,
    pub after: f64,
    pub unit: String,
    pub pct: f64,
}

impl DiffReport {
    /// Nothing flipped and nothing got slower.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty() && self.scenarios.is_empty() && self.timings.is_empty()
    }

    /// A requirement that passed in A and does not in B, or a timing regression.
    pub fn has_regressions(&self) -> bool {
        self.requirements.iter().any(|f| f.before == Some(Verdict::Pass) && f.after != Some(Verdict::Pass))
            || !self.timings.is_empty()
    }
}

/// Compare run `a` (before) with run `b` (after); timings count when slower by more than
/// `threshold_pct` percent (and by at least [`MIN_REGRESSION_MS`] for millisecond values).
pub fn diff(a: &RunRecord, b: &RunRecord, threshold_pct: f64) -> DiffReport {
    let name = |r: &RunRecord| {
        let fw = r.device.as_ref().and_then(|d| d.firmware_version.clone());
        match (&r.run_id, fw) {
            (Some(id), Some(fw)) => format!("{id} (firmware {fw})"),
            (Some(id), None) => id.clone(),
            (None, Some(fw)) => format!("firmware {fw}"),
            (None, None) => r.lab.clone(),
        }
    };
    let mut report = DiffReport { a: name(a), b: name(b), threshold_pct, ..Default::default() };

    let reqs = |r: &RunRecord| r.requirements.iter().map(|q| (q.id.clone(), q.verdict)).collect::<BTreeMap<_, _>>();
    let (ra, rb) = (reqs(a), reqs(b));
    for id in ra.keys().chain(rb.keys().filter(|k| !ra.contains_key(*k))) {
        let (before, after) = (ra.get(id).copied().flatten(), rb.get(id).copied().flatten());
        if before != after {
            report.requirements.push(RequirementFlip { id: id.clone(), before, after });
        }
    }

    let (sa, sb) = (scenarios_by_ref(a), scenarios_by_ref(b));
    for key in sa.keys().chain(sb.keys().filter(|k| !sa.contains_key(*k))) {
        let (x, y) = (sa.get(key), sb.get(key));
        let (before, after) = (x.map(|s| s.verdict), y.map(|s| s.verdict));
        let label = x.or(y).map_or_else(String::new, |s| s.name.clone());
        if before != after {
            report.scenarios.push(ScenarioFlip { scenario: key.clone(), name: label.clone(), before, after });
        }
        if let (Some(x), Some(y)) = (x, y)
            && x.verdict == Verdict::Pass
            && y.verdict == Verdict::Pass
        {
            push_slower(
                &mut report.timings,
                format!("{} › {}", x.feature, label),
                x.duration_ms as f64,
                y.duration_ms as f64,
                "ms",
                threshold_pct,
            );
        }
    }

    let (ma, mb) = (measurements_by_key(a), measurements_by_key(b));
    for (key, x) in &ma {
        if let Some(y) = mb.get(key) {
            let scenario =
                key.0.as_ref().and_then(|r| a.scenarios.iter().find(|s| r.is(s))).map_or("run", |s| s.name.as_str());
            push_slower(
                &mut report.timings,
                format!("{scenario} › {}", x.name),
                x.value,
                y.value,
                &x.unit,
                threshold_pct,
            );
        }
    }
    report.timings.sort_by(|p, q| q.pct.total_cmp(&p.pct));
    report
}

fn scenarios_by_ref(r: &RunRecord) -> BTreeMap<ScenarioRef, &ScenarioRecord> {
    r.scenarios.iter().map(|s| (ScenarioRef::of(s), s)).collect()
}

fn measurements_by_key(r: &RunRecord) -> BTreeMap<(Option<ScenarioRef>, String), &Measurement> {
    r.measurements.iter().map(|m| ((m.scenario.clone(), m.name.clone()), m)).collect()
}

fn push_slower(out: &mut Vec<TimingChange>, what: String, before: f64, after: f64, unit: &str, threshold_pct: f64) {
    let floor = match unit {
        "ms" => MIN_REGRESSION_MS,
        "s" => MIN_REGRESSION_MS / 1000.0,
        _ => 0.0,
    };
    if before <= 0.0 || after - before < floor {
        return;
    }
    let pct = (after - before) / before * 100.0;
    if pct > threshold_pct {
        out.push(TimingChange { what, before, after, unit: unit.to_owned(), pct });
    }
}

fn v(verdict: Option<Verdict>) -> &'static str {
    verdict.map_or("—", Verdict::label)
}

impl fmt::Display for DiffReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "A: {}\nB: {}", self.a, self.b)?;
        if self.is_empty() {
            return writeln!(
                f,
                "\nno requirement or scenario changed; nothing slower by more than {}%",
                self.threshold_pct
            );
        }
        if !self.requirements.is_empty() {
            writeln!(f, "\nRequirements that changed:")?;
            for r in &self.requirements {
                writeln!(f, "  {:<24} {:>14} → {}", r.id.0, v(r.before), v(r.after))?;
            }
        }
        if !self.scenarios.is_empty() {
            writeln!(f, "\nScenarios that changed:")?;
            for s in &self.scenarios {
                writeln!(
                    f,
                    "  {:>14} → {:<14} {} › {} (line {})",
                    v(s.before),
                    v(s.after),
                    s.scenario.feature,
                    s.name,
                    s.scenario.line
                )?;
            }
        }
        if !self.timings.is_empty() {
            writeln!(f, "\nSlower by more than {}%:", self.threshold_pct)?;
            for t in &self.timings {
                let n = crate::record::trim_float;
                writeln!(f, "  {:>+7.1}%  {} {} → {} {}  {}", t.pct, n(t.before), t.unit, n(t.after), t.unit, t.what)?;
            }
        }
        Ok(())
    }
}
