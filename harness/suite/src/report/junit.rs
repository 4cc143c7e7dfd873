//! junit.xml for CI test tabs: one testsuite per feature, one testcase per scenario, the scenario's
//! requirement IDs as `<property name="requirement">`. A device failure is a `<failure>`, a rig or
//! harness failure an `<error>`, a scenario the rig cannot run `<skipped>` — each with the blame,
//! the failing step and the evidence that shows it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::record::{RunRecord, ScenarioRecord, Verdict};

use super::escape_xml as x;

/// The JUnit XML document (not yet redacted; [`super::write_all`] redacts on write).
pub fn render(r: &RunRecord) -> String {
    let mut features: BTreeMap<&str, Vec<&ScenarioRecord>> = BTreeMap::new();
    for s in &r.scenarios {
        features.entry(s.feature.as_str()).or_default().push(s);
    }
    let pointers = r.failing_evidence();
    let (_, fail, err, na) = super::counts(r);
    let secs = |ms: u64| format!("{:.3}", ms as f64 / 1000.0);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"resetlab certify\" tests=\"{}\" failures=\"{fail}\" errors=\"{}\" skipped=\"{na}\" time=\"{}\">",
        r.scenarios.len(),
        err + r.errors.len(),
        secs(r.duration_ms)
    );
    let timestamp = r.started.map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string());
    for (feature, scenarios) in &features {
        let count = |v| scenarios.iter().filter(|s| s.verdict == v).count();
        let _ = write!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\"",
            x(feature),
            scenarios.len(),
            count(Verdict::Fail),
            count(Verdict::Error),
            count(Verdict::NotApplicable),
            secs(scenarios.iter().map(|s| s.duration_ms).sum())
        );
        if let Some(t) = &timestamp {
            let _ = write!(out, " timestamp=\"{t}\"");
        }
        let _ = writeln!(out, ">");
        let _ = writeln!(out, "    <properties>");
        let _ = writeln!(out, "      <property name=\"resetlab.version\" value=\"{}\"/>", x(&r.resetlab_version));
        let _ = writeln!(out, "      <property name=\"lab\" value=\"{}\"/>", x(&r.lab));
        if let Some(id) = &r.run_id {
            let _ = writeln!(out, "      <property name=\"run.id\" value=\"{}\"/>", x(id));
        }
        if let Some(p) = &r.provenance {
            for (name, value) in super::provenance_properties(p, feature) {
                let _ = writeln!(out, "      <property name=\"{name}\" value=\"{}\"/>", x(&value));
            }
        }
        let _ = writeln!(out, "    </properties>");
        for s in scenarios {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" line=\"{}\" time=\"{}\">",
                x(feature),
                x(&format!("{} (line {})", s.name, s.line)),
                x(feature),
                s.line,
                secs(s.duration_ms)
            );
            let _ = writeln!(out, "      <properties>");
            for id in &s.requirements {
                let _ = writeln!(out, "        <property name=\"requirement\" value=\"{}\"/>", x(&id.0));
            }
            if let Some(b) = s.blame {
                let _ = writeln!(out, "        <property name=\"blame\" value=\"{b}\"/>");
            }
            let _ = writeln!(out, "      </properties>");
            let reason = s.reason.clone().unwrap_or_default();
            let body = || {
                let mut text = String::new();
                if let Some(p) = pointers.iter().find(|p| std::ptr::eq(p.scenario, *s)) {
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
            match s.verdict {
                Verdict::Pass => {}
                Verdict::Fail => {
                    let _ = writeln!(
                        out,
                        "      <failure type=\"device\" message=\"{}\">{}</failure>",
                        x(&reason),
                        x(&body())
                    );
                }
                Verdict::Error | Verdict::Blocked => {
                    let kind = s.blame.map_or_else(|| "harness".to_owned(), |b| b.to_string());
                    let _ =
                        writeln!(out, "      <error type=\"{kind}\" message=\"{}\">{}</error>", x(&reason), x(&body()));
                }
                Verdict::NotApplicable | Verdict::Partial => {
                    let _ = writeln!(out, "      <skipped message=\"{}\"/>", x(&reason));
                }
            }
            let _ = writeln!(out, "    </testcase>");
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    if !r.errors.is_empty() {
        let _ = writeln!(
            out,
            "  <testsuite name=\"run\" tests=\"{0}\" failures=\"0\" errors=\"{0}\" skipped=\"0\" time=\"0\">",
            r.errors.len()
        );
        for (i, e) in r.errors.iter().enumerate() {
            let _ = writeln!(out, "    <testcase classname=\"run\" name=\"run error {}\" time=\"0\">", i + 1);
            let _ = writeln!(out, "      <error type=\"harness\" message=\"{}\"/>", x(e));
            let _ = writeln!(out, "    </testcase>");
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    out.push_str("</testsuites>\n");
    out
}
