//! report.md: the run for a pull request or a ticket — verdict, what failed and why (requirement,
//! step, evidence), the requirement matrix, measurements, and every scenario in one table.

use std::fmt::Write as _;

use crate::record::{RunRecord, Verdict};

use super::{counts, headline};

/// The Markdown report (not yet redacted; [`super::write_all`] redacts on write).
pub fn render(r: &RunRecord) -> String {
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# resetlab certification report\n");
    let _ = writeln!(w, "**{}**\n", headline(r));
    let _ = writeln!(w, "| | |\n|---|---|");
    for (k, v) in facts(r) {
        let _ = writeln!(w, "| {k} | {} |", cell(&v));
    }

    let failures = r.failing_evidence();
    if !failures.is_empty() {
        let _ = writeln!(w, "\n## What failed\n");
        for p in &failures {
            let s = p.scenario;
            let ids: Vec<&str> = p.requirements.iter().map(|id| id.0.as_str()).collect();
            let _ = writeln!(w, "### {} {} — {}\n", s.verdict.label(), ids.join(", "), inline(&s.name));
            for id in &p.requirements {
                let _ = writeln!(w, "- Requirement **{id}**: {}", inline(&super::requirement_text(r, id)));
            }
            let _ = writeln!(w, "- Scenario: {} › {} (line {})", inline(&s.feature), inline(&s.name), s.line);
            if let Some(step) = p.step {
                let _ = writeln!(w, "- Failing step: **{} {}**", step.keyword, inline(&step.text));
                if let Some(e) = &step.error {
                    let _ = writeln!(w, "- Error: {}", code(e));
                }
            } else if let Some(reason) = &s.reason {
                let _ = writeln!(w, "- Reason: {}", code(reason));
            }
            if let Some(blame) = s.blame {
                let _ = writeln!(w, "- Blame: {blame}");
            }
            if let Some(first) = &s.first_attempt {
                let _ = writeln!(w, "- Re-run once after a network fault; the first attempt: {}", code(first));
            }
            if !p.evidence.is_empty() {
                let _ = writeln!(w, "- Evidence:");
                for e in &p.evidence {
                    let _ = writeln!(
                        w,
                        "  - +{} ms {}: {} → **{}**",
                        e.at_ms,
                        e.interface.as_deref().unwrap_or("rig"),
                        inline(&e.action),
                        inline(&e.outcome)
                    );
                }
            }
            let _ = writeln!(w);
        }
    }

    let _ = writeln!(w, "\n## Requirement matrix\n");
    let _ = writeln!(w, "| Requirement | Verdict | Scenarios | Passed | Failed | Text |\n|---|---|--:|--:|--:|---|");
    for q in &r.requirements {
        let verdict = q.verdict.map_or("not covered", Verdict::label);
        let verdict = if q.verdict == Some(Verdict::Fail) { format!("**{verdict}**") } else { verdict.to_owned() };
        let verdict =
            if q.missing.is_empty() { verdict } else { format!("{verdict} (needs {})", q.missing.join("; ")) };
        let _ =
            writeln!(w, "| {} | {verdict} | {} | {} | {} | {} |", q.id, q.scenarios, q.passed, q.failed, cell(&q.text));
    }
    if super::any_blocked(r) {
        let _ = writeln!(w, "\n_{}._", super::BLOCKED_MEANS);
    }

    if !r.measurements.is_empty() {
        let _ = writeln!(w, "\n## Measurements\n");
        let _ = writeln!(w, "| Scenario | Measurement | Value | Limit | |\n|---|---|--:|--:|---|");
        for m in &r.measurements {
            let scenario = m
                .scenario
                .as_ref()
                .and_then(|sr| r.scenarios.iter().find(|s| sr.is(s)))
                .map_or_else(|| "run".to_owned(), |s| s.name.clone());
            let limit = m.limit.map_or_else(String::new, |l| format!("{} {}", crate::record::trim_float(l), m.unit));
            let _ = writeln!(
                w,
                "| {} | {} | {} {} | {limit} | {} |",
                cell(&scenario),
                cell(&m.name),
                crate::record::trim_float(m.value),
                m.unit,
                if m.ok { "ok" } else { "**over limit**" }
            );
        }
    }

    let _ = writeln!(w, "\n## Scenarios\n");
    let _ = writeln!(w, "| Verdict | Feature | Scenario | Line | Duration |\n|---|---|---|--:|--:|");
    for s in &r.scenarios {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} ms |",
            s.verdict.label(),
            cell(&s.feature),
            cell(&s.name),
            s.line,
            s.duration_ms
        );
    }

    if !r.errors.is_empty() {
        let _ = writeln!(w, "\n## Errors\n");
        for e in &r.errors {
            let _ = writeln!(w, "- {}", code(e));
        }
    }
    md
}

/// The facts at the top of every report: run, time, version, lab, device, firmware, rig, profiles.
pub fn facts(r: &RunRecord) -> Vec<(&'static str, String)> {
    let mut f = Vec::new();
    if let Some(id) = &r.run_id {
        f.push(("Run", id.clone()));
    }
    let when = match (r.started, r.finished) {
        (Some(a), Some(b)) => format!(
            "{} → {} ({:.1} s)",
            a.format("%Y-%m-%d %H:%M:%S UTC"),
            b.format("%H:%M:%S UTC"),
            r.duration_ms as f64 / 1000.0
        ),
        (Some(a), None) => format!("{} (unfinished)", a.format("%Y-%m-%d %H:%M:%S UTC")),
        _ => format!("{:.1} s", r.duration_ms as f64 / 1000.0),
    };
    f.push(("When", when));
    let commit = r.provenance.as_ref().and_then(|p| p.git_commit.as_deref());
    f.push((
        "resetlab",
        match commit {
            Some(c) => format!("{} (commit {c})", r.resetlab_version),
            None => r.resetlab_version.clone(),
        },
    ));
    if let Some(b) = r.provenance.as_ref().and_then(|p| p.bench.as_ref()) {
        f.push(("Bench file", format!("{} (sha256 {})", b.path, b.sha256)));
    }
    f.push(("Lab", r.lab.clone()));
    if let Some(d) = &r.device {
        let mut parts = Vec::new();
        if let Some(m) = &d.model {
            parts.push(m.clone());
        }
        if let Some(s) = &d.serial {
            parts.push(format!("serial {s}"));
        }
        if let Some(n) = &d.machine_name {
            parts.push(format!("name {n}"));
        }
        f.push(("Device", if parts.is_empty() { "unknown".to_owned() } else { parts.join(", ") }));
        if d.firmware_version.is_some() || d.firmware_build.is_some() {
            let v = d.firmware_version.clone().unwrap_or_else(|| "?".to_owned());
            let b = d.firmware_build.as_ref().map_or_else(String::new, |b| format!(" (build {b})"));
            f.push(("Firmware", format!("{v}{b}")));
        }
    }
    if let Some(p) = &r.firmware_profile {
        f.push(("Firmware profile", p.clone()));
    }
    if !r.app_profiles.is_empty() {
        f.push(("App profiles", r.app_profiles.join(", ")));
    }
    if let Some(rig) = &r.rig {
        let mut text = rig.file.clone().unwrap_or_else(|| "embedded".to_owned());
        if !rig.drivers.is_empty() {
            let drivers: Vec<String> = rig
                .drivers
                .iter()
                .map(|d| match &d.resource {
                    Some(res) => format!("{}: {} ({res})", d.part, d.driver),
                    None => format!("{}: {}", d.part, d.driver),
                })
                .collect();
            text.push_str(&format!(" — {}", drivers.join("; ")));
        }
        f.push(("Rig", text));
    }
    let mut profiles = vec!["article".to_owned()];
    profiles.extend(r.requirement_profiles.iter().cloned());
    f.push(("Requirement profiles", profiles.join(", ")));
    let (p, fl, e, na) = counts(r);
    f.push(("Scenarios", format!("{}: {p} passed, {fl} failed, {e} errors, {na} not applicable", r.scenarios.len())));
    f
}

/// Text for a table cell: no pipes or line breaks.
fn cell(text: &str) -> String {
    inline(text).replace('|', "\\|")
}

/// Text in running Markdown: one line, no emphasis or HTML surprises.
fn inline(text: &str) -> String {
    text.replace(['\n', '\r'], " ").replace('<', "&lt;").replace('*', "\\*").replace('_', "\\_")
}

/// A code span that survives backticks in the text.
fn code(text: &str) -> String {
    let one_line = text.replace(['\n', '\r'], " ");
    let fence = if one_line.contains('`') { "``" } else { "`" };
    format!("{fence} {one_line} {fence}")
}
