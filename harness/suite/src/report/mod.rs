//! The certification report: every file a run leaves in `--out`, made from the one [`RunRecord`].
//!
//! [`write_all`] writes `report.json` (the record), `report.html` (one self-contained page),
//! `report.md` (for pull requests and tickets) and `junit.xml` (one testcase per scenario, requirement
//! IDs as properties). Every text field of the record passes through [`resetlab_wire::secret::redact`]
//! before anything is rendered ([`redacted`]); numbers and timestamps are left alone, so a secret such
//! as the factory default `000000` cannot turn `"duration_ms": 3000000` into invalid JSON.
//! [`diff`] compares two records (two firmware builds on the same bench).

pub mod command;
pub mod diff;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod progress;

use std::path::{Path, PathBuf};

use crate::record::{RunRecord, Verdict};

pub use diff::{diff, DiffReport};

/// The files [`write_all`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPaths {
    pub json: PathBuf,
    pub html: PathBuf,
    pub markdown: PathBuf,
    pub junit: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    // `err`, not `source`: the message already carries it, and anyhow would print it twice.
    #[error("[harness] cannot write the report file {path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
    #[error("cannot read the run record {path}: {err} (give a report.json or the --out directory of a run)")]
    Read { path: PathBuf, err: std::io::Error },
    #[error("{path} is not a resetlab run record: {err}")]
    Parse { path: PathBuf, err: serde_json::Error },
}

/// Write report.json, report.html, report.md and junit.xml into `out` (created if missing).
/// `junit.xml` replaces Cucumber's own, which carries no requirement IDs.
pub fn write_all(record: &RunRecord, out: &Path) -> Result<ReportPaths, ReportError> {
    std::fs::create_dir_all(out).map_err(|err| ReportError::Io { path: out.to_owned(), err })?;
    let paths = ReportPaths {
        json: out.join("report.json"),
        html: out.join("report.html"),
        markdown: out.join("report.md"),
        junit: out.join("junit.xml"),
    };
    let record = &redacted(record);
    write(&paths.json, &serde_json::to_string_pretty(record).expect("the record serialises"))?;
    write(&paths.html, &html::render(record))?;
    write(&paths.markdown, &markdown::render(record))?;
    write(&paths.junit, &junit::render(record))?;
    // Cucumber's own files are written by its writers while the suite runs; mask them too.
    for name in ["cucumber.json", "cucumber-junit.xml"] {
        let path = out.join(name);
        if let Ok(text) = std::fs::read_to_string(&path) {
            let clean = resetlab_wire::secret::redact(&text);
            if clean != text {
                write(&path, &clean)?;
            }
        }
    }
    dump_known_secrets_if_asked();
    Ok(paths)
}

/// The record as pretty JSON (what report.json holds), redacted.
pub fn to_json(record: &RunRecord) -> String {
    serde_json::to_string_pretty(&redacted(record)).expect("the record serialises")
}

/// A copy of the record with every known secret masked in every text field. Keep in step with
/// record.rs: a new text field must be listed here (numbers, enums and timestamps need not be).
pub fn redacted(record: &RunRecord) -> RunRecord {
    fn r(text: &mut String) {
        if !text.is_empty() {
            *text = resetlab_wire::secret::redact(text);
        }
    }
    fn ro(text: &mut Option<String>) {
        if let Some(t) = text {
            r(t);
        }
    }
    fn rref(sr: &mut Option<crate::record::ScenarioRef>) {
        if let Some(sr) = sr {
            r(&mut sr.feature);
        }
    }
    let mut c = record.clone();
    r(&mut c.resetlab_version);
    r(&mut c.lab);
    c.errors.iter_mut().for_each(r);
    ro(&mut c.run_id);
    for s in &mut c.scenarios {
        r(&mut s.feature);
        r(&mut s.name);
        s.tags.iter_mut().for_each(r);
        ro(&mut s.reason);
        for st in &mut s.steps {
            r(&mut st.keyword);
            r(&mut st.text);
            ro(&mut st.error);
        }
        for e in &mut s.evidence {
            ro(&mut e.interface);
            r(&mut e.action);
            r(&mut e.outcome);
        }
    }
    for q in &mut c.requirements {
        r(&mut q.text);
    }
    if let Some(d) = &mut c.device {
        for f in [&mut d.model, &mut d.serial, &mut d.machine_name, &mut d.firmware_version, &mut d.firmware_build] {
            ro(f);
        }
    }
    if let Some(rig) = &mut c.rig {
        ro(&mut rig.file);
        for d in &mut rig.drivers {
            r(&mut d.part);
            r(&mut d.driver);
            ro(&mut d.resource);
        }
    }
    ro(&mut c.firmware_profile);
    c.app_profiles.iter_mut().for_each(r);
    c.requirement_profiles.iter_mut().for_each(r);
    for m in &mut c.measurements {
        rref(&mut m.scenario);
        ro(&mut m.step);
        r(&mut m.name);
        r(&mut m.unit);
    }
    for e in &mut c.timeline {
        rref(&mut e.scenario);
        r(&mut e.part);
        r(&mut e.action);
        ro(&mut e.readback);
    }
    for l in &mut c.console {
        rref(&mut l.scenario);
        r(&mut l.text);
        ro(&mut l.power_event);
    }
    c
}

/// Read a report.json back (for `resetlab report diff`).
pub fn load(path: &Path) -> Result<RunRecord, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|err| ReportError::Read { path: path.to_owned(), err })?;
    serde_json::from_str(&text).map_err(|err| ReportError::Parse { path: path.to_owned(), err })
}

fn write(path: &Path, text: &str) -> Result<(), ReportError> {
    std::fs::write(path, text).map_err(|err| ReportError::Io { path: path.to_owned(), err })
}

/// Test hook for the leak check: when `RESETLAB_TEST_SECRETS_FILE` names a file, every secret this
/// process has known is written there, one per line (mode 0600), so a test can grep every output
/// for every password the run used. Without the variable nothing is written.
pub fn dump_known_secrets_if_asked() {
    let Some(path) = std::env::var_os("RESETLAB_TEST_SECRETS_FILE") else { return };
    let mut text = resetlab_wire::secret::known().join("\n");
    text.push('\n');
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    if let Ok(mut f) = opts.open(&path) {
        let _ = std::io::Write::write_all(&mut f, text.as_bytes());
    }
}

/// What a "blocked" requirement verdict means, printed under every matrix that shows one.
pub const BLOCKED_MEANS: &str = "blocked: a scenario covering it stopped at a device failure of another requirement, so it was not established either way";

/// Whether any requirement of the run is blocked.
pub fn any_blocked(record: &RunRecord) -> bool {
    record.requirements.iter().any(|q| q.verdict == Some(Verdict::Blocked))
}

/// The run's one-line verdict, as the banner and the summary say it. A green run that left
/// requirements unestablished (a tag subset, a rig without power control) passes but certifies
/// only what it ran: a lab must not hand that on as a full certification.
pub fn headline(record: &RunRecord) -> String {
    let missing = record.unestablished();
    if record.overall() == Verdict::Pass && !missing.is_empty() {
        let ids: Vec<&str> = missing.iter().map(|q| q.id.0.as_str()).collect();
        return format!(
            "PASSED, NOT A FULL CERTIFICATION — every requirement this run established passed; {} not established (not covered by the selected scenarios, or not applicable on this rig): {}",
            ids.len(),
            ids.join(", ")
        );
    }
    match record.overall() {
        Verdict::Pass => "CERTIFIED — every applicable requirement passed",
        Verdict::Fail => "NOT CERTIFIED — the device failed requirements",
        Verdict::Error | Verdict::Blocked => "INCONCLUSIVE — the rig or the harness failed; nothing is said about the device",
        Verdict::NotApplicable | Verdict::Partial => "INCONCLUSIVE — no scenario could run on this rig",
    }
    .to_owned()
}

/// A requirement's text: from the record, else from the embedded catalogue (a scenario may carry the
/// tag of a profile this run did not select).
pub fn requirement_text(record: &RunRecord, id: &crate::requirements::RequirementId) -> String {
    if let Some(q) = record.requirements.iter().find(|q| &q.id == id) {
        return q.text.clone();
    }
    match crate::requirements::Catalogue::embedded().get(&id.0) {
        Some(q) => format!("{} (profile `{}` not selected in this run)", q.text, q.profile),
        None => String::new(),
    }
}

/// Counts of scenarios by verdict: (pass, fail, error, not applicable).
pub fn counts(record: &RunRecord) -> (usize, usize, usize, usize) {
    let n = |v| record.scenarios.iter().filter(|s| s.verdict == v).count();
    (n(Verdict::Pass), n(Verdict::Fail), n(Verdict::Error), n(Verdict::NotApplicable))
}

/// Text safe inside XML/HTML element content and attribute values; drops characters XML 1.0 forbids.
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A stable anchor for a scenario (`s-durable-feature-18`).
pub fn anchor(feature: &str, line: usize) -> String {
    let slug: String = feature.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let slug: Vec<&str> = slug.split('-').filter(|p| !p.is_empty()).take(6).collect();
    format!("s-{}-{line}", slug.join("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_masks_text_but_never_breaks_numbers_or_timestamps() {
        let pw = resetlab_wire::Secret::new("000000");
        let mut rec = RunRecord { lab: format!("lab with pwd={}", pw.expose()), duration_ms: 3_000_000, ..Default::default() };
        rec.started = Some(chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00.100000000Z").unwrap().with_timezone(&chrono::Utc));
        rec.errors.push(format!("login with {} failed", pw.expose()));
        let json = to_json(&rec);
        assert!(json.contains("3000000"), "{json}");
        assert!(!json.contains("pwd=000000") && !json.contains("with 000000"), "{json}");
        let back: RunRecord = serde_json::from_str(&json).expect("redacted JSON still loads");
        assert_eq!(back.started, rec.started);
    }

    #[test]
    fn xml_escape_handles_markup_quotes_and_control_characters() {
        assert_eq!(escape_xml(r#"<a href="x">&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");
        assert_eq!(escape_xml("bell\u{7}"), "bell\u{FFFD}");
    }

    #[test]
    fn anchors_are_stable_slugs() {
        assert_eq!(anchor("The new password holds \"from now on\"", 18), "s-the-new-password-holds-from-now-18");
    }
}
