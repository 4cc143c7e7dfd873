//! junit.xml for CI test tabs: one testsuite per feature, one testcase per scenario, the scenario's
//! requirement IDs as `<property name="requirement">`. A device failure is a `<failure>`, a rig or
//! harness failure an `<error>`, a scenario the rig cannot run `<skipped>` — each with the blame,
//! the failing step and the evidence that shows it.
//!
//! Written with `quick-junit` (nextest's JUnit model and serializer: escaping, counts and the
//! attributes CI test tabs read). A testcase is named by its scenario alone, so CI keeps its history
//! when a feature file is edited above it; `file=` is the feature's path (`features/<file>`, as in
//! the repository and the run directory) and `line=` where the scenario starts today.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::record::{RunRecord, ScenarioRecord, Verdict};

/// The JUnit XML document (not yet redacted; [`super::write_all`] redacts on write).
pub fn render(r: &RunRecord) -> String {
    let ms = Duration::from_millis;
    let mut report = Report::new("resetlab certify");
    report.set_time(ms(r.duration_ms));
    for (feature, cases) in feature_cases(r) {
        let mut suite = TestSuite::new(feature);
        if let Some(t) = r.started {
            suite.set_timestamp(t.fixed_offset());
        }
        suite.set_time(cases.iter().filter_map(|c| c.time).sum());
        suite.add_property(Property::new("resetlab.version", r.resetlab_version.as_str()));
        suite.add_property(Property::new("lab", r.lab.as_str()));
        if let Some(id) = &r.run_id {
            suite.add_property(Property::new("run.id", id.as_str()));
        }
        if let Some(p) = &r.provenance {
            for (name, value) in super::provenance_properties(p, feature) {
                suite.add_property(Property::new(name, value));
            }
        }
        suite.add_test_cases(cases);
        report.add_test_suite(suite);
    }
    let errors = run_error_cases(r);
    if !errors.is_empty() {
        let mut suite = TestSuite::new("run");
        suite.add_test_cases(errors);
        report.add_test_suite(suite);
    }
    report.to_string().expect("a JUnit report of strings serialises")
}

/// One testcase per scenario of `r`, grouped by feature (features by name, scenarios by line):
/// classname the feature, a name stable across edits ([`case_name`]), `file=` the feature's path
/// and `line=` where the scenario starts today. The certify report makes a suite of each feature;
/// the fleet's summary puts them all in its bench's suite.
pub(crate) fn feature_cases(r: &RunRecord) -> BTreeMap<&str, Vec<TestCase>> {
    let mut features: BTreeMap<&str, Vec<&ScenarioRecord>> = BTreeMap::new();
    for s in &r.scenarios {
        features.entry(s.feature.as_str()).or_default().push(s);
    }
    let pointers = r.failing_evidence();
    let ms = Duration::from_millis;
    let mut out = BTreeMap::new();
    for (feature, mut scenarios) in features {
        scenarios.sort_by_key(|s| s.line);
        let file = r.provenance.as_ref().and_then(|p| p.feature(feature)).map(|f| format!("features/{}", f.path));
        let mut cases = Vec::with_capacity(scenarios.len());
        for (i, s) in scenarios.iter().enumerate() {
            let mut case = TestCase::new(case_name(&scenarios, i), status(s, &pointers));
            case.set_classname(feature);
            case.set_time(ms(s.duration_ms));
            if let Some(f) = &file {
                case.extra.insert("file".into(), f.as_str().into());
            }
            case.extra.insert("line".into(), s.line.to_string().into());
            for id in &s.requirements {
                case.add_property(Property::new("requirement", id.0.as_str()));
            }
            if let Some(b) = s.blame {
                case.add_property(Property::new("blame", b.to_string()));
            }
            cases.push(case);
        }
        out.insert(feature, cases);
    }
    out
}

/// One testcase in error per run error of `r` (classname `run`, named `run error N`).
pub(crate) fn run_error_cases(r: &RunRecord) -> Vec<TestCase> {
    r.errors
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_type("harness").set_message(e.as_str());
            let mut case = TestCase::new(format!("run error {}", i + 1), status);
            case.set_classname("run");
            case
        })
        .collect()
}

/// A testcase name CI can keep history by: the scenario's name; the examples of a Scenario Outline
/// (same name) get their place among them, `name [2]`, which editing other scenarios never changes.
fn case_name(scenarios: &[&ScenarioRecord], i: usize) -> String {
    let name = &scenarios[i].name;
    let same = scenarios.iter().filter(|s| s.name == *name).count();
    if same == 1 {
        return name.clone();
    }
    let nth = scenarios[..=i].iter().filter(|s| s.name == *name).count();
    format!("{name} [{nth}]")
}

/// The testcase's outcome: pass, a device `<failure>`, a rig/harness `<error>`, or `<skipped>`.
fn status(s: &ScenarioRecord, pointers: &[crate::record::FailurePointer<'_>]) -> TestCaseStatus {
    let reason = s.reason.clone().unwrap_or_default();
    let body = || {
        let mut text = String::new();
        if let Some(p) = pointers.iter().find(|p| std::ptr::eq(p.scenario, s)) {
            let ids: Vec<&str> = p.requirements.iter().map(|i| i.0.as_str()).collect();
            let _ = writeln!(text, "requirements: {}", ids.join(", "));
            if let Some(step) = p.step {
                let _ = writeln!(text, "failing step: {} {}", step.keyword, step.text);
                if let Some(e) = &step.error {
                    let _ = writeln!(text, "error: {e}");
                }
            }
            for e in &p.evidence {
                let _ = writeln!(
                    text,
                    "evidence: +{} ms {}: {} -> {}",
                    e.at_ms,
                    e.interface.as_deref().unwrap_or("rig"),
                    e.action,
                    e.outcome
                );
            }
        }
        text
    };
    let failed = |kind, ty: String| {
        let mut status = TestCaseStatus::non_success(kind);
        status.set_type(ty).set_message(reason.as_str()).set_description(body());
        status
    };
    match s.verdict {
        Verdict::Pass => TestCaseStatus::success(),
        Verdict::Fail => failed(NonSuccessKind::Failure, "device".into()),
        Verdict::Error | Verdict::Blocked => {
            failed(NonSuccessKind::Error, s.blame.map_or_else(|| "harness".to_owned(), |b| b.to_string()))
        }
        Verdict::NotApplicable | Verdict::Partial => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(reason.as_str());
            status
        }
    }
}
