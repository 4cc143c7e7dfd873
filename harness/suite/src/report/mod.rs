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
pub mod evidence;
pub mod html;
pub mod junit;
pub mod markdown;

use std::path::{Path, PathBuf};

use crate::record::{RunRecord, Verdict};

pub use diff::{DiffReport, diff};

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
/// `junit.xml` replaces Cucumber's own, which carries no requirement IDs. Owner-only: a report names
/// the device, its serial, firmware and evidence, so `out` is 0700 and every file 0600.
pub fn write_all(record: &RunRecord, out: &Path) -> Result<ReportPaths, ReportError> {
    private_dir(out)?;
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
    write_thumbnails(record, out)?;
    // Cucumber's own file is written by its writer while the suite runs; mask it too.
    let cucumber = out.join("cucumber.json");
    if let Ok(text) = std::fs::read_to_string(&cucumber) {
        // Rewritten even when nothing is masked: cucumber created it with the umask's mode.
        write(&cucumber, &resetlab_wire::secret::redact(&text))?;
    }
    dump_known_secrets_if_asked();
    Ok(paths)
}

/// The JUnit properties that make a test suite reproducible: resetlab's commit, the bench file
/// and its SHA-256, and the SHA-256 of the feature file the suite is (`feature`: its name).
pub fn provenance_properties(p: &crate::provenance::Provenance, feature: &str) -> Vec<(&'static str, String)> {
    let mut props = Vec::new();
    if let Some(c) = &p.git_commit {
        props.push(("resetlab.commit", c.clone()));
    }
    if let Some(b) = &p.bench {
        props.push(("bench.file", b.path.clone()));
        props.push(("bench.sha256", b.sha256.clone()));
    }
    if let Some(f) = p.feature(feature) {
        props.push(("feature.file", f.path.clone()));
        props.push(("feature.sha256", f.sha256.clone()));
    }
    props
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
        ro(&mut s.first_attempt);
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
    // Provenance: paths are text; the commit and the SHA-256 digests are hex, left alone like
    // numbers (a digest that happens to contain `000000` must stay a digest).
    if let Some(p) = &mut c.provenance {
        p.features.iter_mut().for_each(|f| r(&mut f.path));
        if let Some(b) = &mut p.bench {
            r(&mut b.path);
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
    for t in &mut c.thumbnails {
        rref(&mut t.scenario);
        r(&mut t.interface);
        r(&mut t.stream);
        r(&mut t.caption);
        r(&mut t.file);
    }
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

/// Write `text` to `path` owner-only (0600, also when the file existed with a wider mode), never
/// through a symlink.
fn write(path: &Path, text: &str) -> Result<(), ReportError> {
    use std::os::unix::fs::PermissionsExt;
    let err = |err| ReportError::Io { path: path.to_owned(), err };
    let mut f = owner_only_file(path).map_err(err)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    std::io::Write::write_all(&mut f, text.as_bytes()).map_err(err)
}

/// Each thumbnail's PNG into `out/thumbnails/` (0700, files 0600), where report.json points.
fn write_thumbnails(record: &RunRecord, out: &Path) -> Result<(), ReportError> {
    use std::os::unix::fs::DirBuilderExt;
    let kept: Vec<_> = record.thumbnails.iter().filter(|t| !t.png.is_empty() && !t.file.is_empty()).collect();
    if kept.is_empty() {
        return Ok(());
    }
    let dir = out.join("thumbnails");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|err| ReportError::Io { path: dir.clone(), err })?;
    for t in kept {
        let path = out.join(&t.file);
        let err = |err| ReportError::Io { path: path.clone(), err };
        let mut f = owner_only_file(&path).map_err(err)?;
        std::io::Write::write_all(&mut f, &t.png).map_err(err)?;
    }
    Ok(())
}

/// Open `path` for writing, truncated, created 0600, refusing a symlink (O_NOFOLLOW: ELOOP).
fn owner_only_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
}

/// What a run puts in its `--out` directory.
const RUN_ENTRIES: [&str; 9] = [
    "report.json",
    "report.html",
    "report.md",
    "junit.xml",
    "cucumber.json",
    "features",
    "state",
    crate::app_screens::DIR,
    "thumbnails",
];

/// Create `out` (and missing parents) 0700, or narrow it to 0700 when it exists and holds only a
/// run's files (the suite creates it before the run, with the umask's mode). A directory that holds
/// anything else (`--out .`, a shared folder) is left as it is; the report files in it are 0600.
fn private_dir(out: &Path) -> Result<(), ReportError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let err = |err| ReportError::Io { path: out.to_owned(), err };
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(out).map_err(err)?;
    let meta = std::fs::symlink_metadata(out).map_err(err)?;
    let only_run_files =
        std::fs::read_dir(out).map_err(err)?.all(|e| e.is_ok_and(|e| RUN_ENTRIES.iter().any(|n| e.file_name() == *n)));
    if meta.is_dir() && meta.permissions().mode() & 0o077 != 0 && only_run_files {
        std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
    }
    Ok(())
}

/// Test hook for the leak check: when `RESETLAB_TEST_SECRETS_FILE` names a file, every secret this
/// process has known is written there, one per line (mode 0600, never through a symlink), so a test
/// can grep every output for every password the run used. Compiled into debug builds only — the
/// integration tests run the debug binary — so a release `resetlab` has no switch that writes its
/// passwords to a file. Without the variable nothing is written.
pub fn dump_known_secrets_if_asked() {
    #[cfg(debug_assertions)]
    if let Some(path) = std::env::var_os("RESETLAB_TEST_SECRETS_FILE") {
        let _ = dump_known_secrets(Path::new(&path));
    }
}

#[cfg(debug_assertions)]
fn dump_known_secrets(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut text = resetlab_wire::secret::known().join("\n");
    text.push('\n');
    let mut f = owner_only_file(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    std::io::Write::write_all(&mut f, text.as_bytes())
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
        Verdict::Error | Verdict::Blocked => {
            "INCONCLUSIVE — the rig or the harness failed; nothing is said about the device"
        }
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
    let slug: String =
        feature.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let slug: Vec<&str> = slug.split('-').filter(|p| !p.is_empty()).take(6).collect();
    format!("s-{}-{line}", slug.join("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_masks_text_but_never_breaks_numbers_or_timestamps() {
        let pw = resetlab_wire::Secret::new("000000");
        let mut rec =
            RunRecord { lab: format!("lab with pwd={}", pw.expose()), duration_ms: 3_000_000, ..Default::default() };
        rec.started = Some(
            chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00.100000000Z").unwrap().with_timezone(&chrono::Utc),
        );
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

    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn reports_are_owner_only_also_in_a_run_directory_made_with_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("reports").join("run");
        let paths = write_all(&RunRecord::default(), &out).unwrap();
        assert_eq!(mode(&out), 0o700);
        for p in [&paths.json, &paths.html, &paths.markdown, &paths.junit] {
            assert_eq!(mode(p), 0o600, "{}", p.display());
        }
        // As the suite leaves it before the report: created with the umask, cucumber's files 0644.
        let out = tmp.path().join("run2");
        std::fs::create_dir(&out).unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(out.join("cucumber.json"), "[]").unwrap();
        std::fs::set_permissions(out.join("cucumber.json"), std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(out.join("report.json"), "{}").unwrap();
        std::fs::set_permissions(out.join("report.json"), std::fs::Permissions::from_mode(0o644)).unwrap();
        write_all(&RunRecord::default(), &out).unwrap();
        assert_eq!(mode(&out), 0o700);
        assert_eq!(mode(&out.join("cucumber.json")), 0o600);
        assert_eq!(mode(&out.join("report.json")), 0o600);
        // A shared directory keeps its mode; the report files in it are still 0600.
        let shared = tmp.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(shared.join("notes.txt"), "mine").unwrap();
        write_all(&RunRecord::default(), &shared).unwrap();
        assert_eq!(mode(&shared), 0o755);
        assert_eq!(mode(&shared.join("report.md")), 0o600);
    }

    #[test]
    fn a_report_file_that_is_a_symlink_is_refused_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("elsewhere");
        std::fs::write(&target, "untouched").unwrap();
        let out = tmp.path().join("run");
        std::fs::create_dir(&out).unwrap();
        std::os::unix::fs::symlink(&target, out.join("report.md")).unwrap();
        assert!(write_all(&RunRecord::default(), &out).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
    }

    #[test]
    fn the_secrets_dump_never_follows_a_symlink_and_is_owner_only() {
        let _s = resetlab_wire::Secret::new("dump-me-1");
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("target");
        std::fs::write(&target, "untouched").unwrap();
        let link = tmp.path().join("secrets");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(dump_known_secrets(&link).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
        let real = tmp.path().join("real");
        dump_known_secrets(&real).unwrap();
        assert!(std::fs::read_to_string(&real).unwrap().lines().any(|l| l == "dump-me-1"));
        assert_eq!(mode(&real), 0o600);
    }

    #[test]
    fn anchors_are_stable_slugs() {
        assert_eq!(anchor("The new password holds \"from now on\"", 18), "s-the-new-password-holds-from-now-18");
    }
}
