//! `resetlab certify --out DIR` on the embedded lab, as a user runs it: all five files are written,
//! report.json matches its schema, junit.xml is read by a JUnit parser that is not ours, a defect's
//! report points at the failing requirement, step and evidence, and no password the run used appears
//! in any output file or on the terminal.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FILES: [&str; 5] = ["report.json", "report.html", "report.md", "junit.xml", "cucumber.json"];

struct Run {
    _tmp: tempfile::TempDir,
    /// The --out directory.
    dir: PathBuf,
    output: Output,
    /// Every password the run's process knew (RESETLAB_TEST_SECRETS_FILE) plus the profile's factory ones.
    secrets: Vec<String>,
}

impl Run {
    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name))
            .unwrap_or_else(|e| panic!("{name} was not written: {e}\n{}", self.terminal()))
    }

    fn terminal(&self) -> String {
        format!("{}{}", String::from_utf8_lossy(&self.output.stdout), String::from_utf8_lossy(&self.output.stderr))
    }
}

fn certify(extra: &[&str]) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let secrets_file = tmp.path().join("secrets.txt");
    let output = Command::new(env!("CARGO_BIN_EXE_resetlab"))
        .arg("certify")
        .arg("--out")
        .arg(&dir)
        .args(extra)
        .env("RESETLAB_TEST_SECRETS_FILE", &secrets_file)
        // Every log line of our crates at debug, unmasked: the grep below must find no password in
        // them on its own merit.
        .env(
            "RESETLAB_LOG",
            "debug,hyper=info,hyper_util=info,reqwest=info,h2=info,tungstenite=info,tokio_tungstenite=info",
        )
        .env("RESETLAB_LOG_UNREDACTED", "1")
        .output()
        .expect("run resetlab certify");
    let mut secrets: Vec<String> = std::fs::read_to_string(&secrets_file)
        .unwrap_or_else(|e| {
            panic!("the run did not list its secrets in RESETLAB_TEST_SECRETS_FILE ({e}); is report::write_all called?")
        })
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    for account in resetlab_profile::flir_2017().accounts {
        secrets.push(account.password.expose().to_owned());
    }
    secrets.sort();
    secrets.dedup();
    Run { _tmp: tmp, dir, output, secrets }
}

/// `secret` standing alone in `text` (not inside a longer run of letters and digits, so the factory
/// default 000000 is not "found" in a serial number like FLIR0000001 or in nanoseconds).
fn leaks(text: &str, secret: &str) -> bool {
    text.match_indices(secret).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + secret.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Files the run wrote for people and CI (not its inputs: the materialised features, and not the
/// credential journal in state/, which holds secrets on purpose in a file only the user can read).
fn output_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            out.push(path);
        }
    }
    out
}

fn assert_no_password_anywhere(run: &Run) {
    assert!(run.secrets.iter().any(|s| s == "000000"), "the factory default is among the secrets checked");
    assert!(run.secrets.len() > 2, "the run generated passwords: {}", run.secrets.len());
    let mut found = Vec::new();
    let mut texts: Vec<(String, String)> = output_files(&run.dir)
        .into_iter()
        .map(|p| (p.display().to_string(), String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned()))
        .collect();
    texts.push(("terminal output".to_owned(), run.terminal()));
    for (name, text) in &texts {
        for s in &run.secrets {
            // Raw, percent-encoded (either case, `+` for space), JSON- and XML-escaped.
            for form in resetlab_wire::secret::forms(s) {
                if leaks(text, &form) {
                    found.push(format!("a password ({} chars) appears in {name}", s.chars().count()));
                }
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

fn schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/report.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn python_junit(path: &Path) -> Option<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/report_junit_check.py");
    match Command::new("python3").arg(&script).arg(path).output() {
        Ok(out) => {
            assert!(
                out.status.success(),
                "python rejected {}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            Some(String::from_utf8(out.stdout).unwrap())
        }
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!(
                "note: python3 not available ({e}); junit.xml not checked by a third-party parser (ci/install-test-tools.sh installs it)"
            );
            None
        }
        Err(e) => panic!("python3 is needed in CI to check junit.xml ({e}); run ci/install-test-tools.sh"),
    }
}

fn check_common(run: &Run) {
    for f in FILES {
        assert!(run.dir.join(f).is_file(), "certify did not write {f}\n{}", run.terminal());
    }
    // Owner-only: the run directory 0700, every file in it 0600.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&run.dir), 0o700, "{}", run.dir.display());
    for p in output_files(&run.dir) {
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    let json: serde_json::Value = serde_json::from_str(&run.read("report.json")).unwrap();
    let errors: Vec<String> = schema().iter_errors(&json).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "report.json does not match fixtures/report.schema.json:\n{}", errors.join("\n"));
    let scenarios = json["scenarios"].as_array().unwrap().len();
    assert!(scenarios > 10);

    let cucumber: serde_json::Value = serde_json::from_str(&run.read("cucumber.json")).expect("cucumber.json is JSON");
    assert!(cucumber.as_array().is_some_and(|features| !features.is_empty()));

    let html = run.read("report.html");
    assert!(html.contains("id=\"verdict\"") && html.contains("Requirement matrix"));
    assert!(run.terminal().contains("report.html"), "the terminal names the HTML report:\n{}", run.terminal());

    if let Some(out) = python_junit(&run.dir.join("junit.xml")) {
        let cases: Vec<&str> = out.lines().filter(|l| l.starts_with("case\t")).collect();
        assert_eq!(cases.len(), scenarios, "one testcase per scenario:\n{out}");
        for c in &cases {
            let fields: Vec<&str> = c.split('\t').collect();
            assert!(!fields[2].is_empty(), "testcase without requirement properties: {c}");
            // Stable names (no line number) and the feature's path, for CI test history.
            assert!(!fields[3].contains("(line "), "a line number in a testcase name: {c}");
            assert!(
                fields[4].starts_with("features/") && fields[4].ends_with(".feature"),
                "file= is not the feature: {c}"
            );
        }
    }
    assert_no_password_anywhere(run);
}

#[test]
fn certify_writes_all_five_files_and_they_check_out() {
    let run = certify(&[]);
    assert!(run.output.status.success(), "the conforming lab certifies:\n{}", run.terminal());
    check_common(&run);
    assert!(run.read("report.md").contains("**CERTIFIED"));
}

#[test]
fn defect_run_report_points_at_the_requirement_the_step_and_the_rtsp_evidence() {
    let run = certify(&["--defect", "rtsp-stale-credentials"]);
    assert_eq!(run.output.status.code(), Some(1), "{}", run.terminal());
    check_common(&run);
    let md = run.read("report.md");
    let what_failed =
        md.split("## What failed").nth(1).expect("report.md has a What failed section").split("\n## ").next().unwrap();
    for needle in [
        "ART-LOCAL",
        "Failing step: **And the old password logs in on none of them**",
        "Blame: device",
        "RTSP: log in as admin with the old password → **Accepted",
    ] {
        assert!(what_failed.contains(needle), "report.md's failures lack {needle:?}:\n{what_failed}");
    }
    assert!(md.contains("| ART-LOCAL | **FAIL** |"), "{md}");
    let junit = run.read("junit.xml");
    assert!(
        junit.contains("evidence: +") && junit.contains("RTSP: log in as admin with the old password -&gt; Accepted"),
        "{junit}"
    );
}

#[test]
fn a_tag_subset_that_passes_says_it_is_not_a_full_certification() {
    let run = certify(&["--quiet", "--tags", "@ART-CONFIRM"]);
    assert!(run.output.status.success(), "a green subset exits 0:\n{}", run.terminal());
    let said = run.terminal();
    assert!(said.contains("PASSED, NOT A FULL CERTIFICATION"), "{said}");
    assert!(!said.contains("\nCERTIFIED"), "a subset must not claim certification:\n{said}");
    // The requirements the subset left out are named, in the terminal and in the reports.
    for text in [said.as_str(), &run.read("report.md"), &run.read("report.html")] {
        assert!(text.contains("NOT A FULL CERTIFICATION"), "{text}");
        assert!(text.contains("ART-LEN6") && text.contains("ART-DURABLE"), "{text}");
    }
    assert_no_password_anywhere(&run);
}
