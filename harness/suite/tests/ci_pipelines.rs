//! The pipelines a lab copies from ci/ are checked by real checkers, not by eye: actionlint (with
//! shellcheck for the `run:` scripts) for GitHub Actions, and GitLab's CI JSON schema (vendored in
//! fixtures/ci/, no network) with the jsonschema crate and, when installed, check-jsonschema. Each
//! checker is also shown a broken copy and must reject it, so a checker that checks nothing fails
//! here. Then the properties issue 19 asks for are asserted on the parsed files: per-bench
//! serialisation, the password from CI secrets, resetlab pinned to a commit, forks kept off benches,
//! JUnit to the test tab, report.md to the job summary, report.html kept.
//!
//! ci/install-test-tools.sh installs actionlint and check-jsonschema into the repo's
//! target/test-venv (`RESETLAB_TEST_VENV` points elsewhere); without them the actionlint part notes
//! it and passes, except under CI=true, where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn venv_tool(name: &str) -> Option<PathBuf> {
    let venv =
        std::env::var_os("RESETLAB_TEST_VENV").map(PathBuf::from).unwrap_or_else(|| repo().join("target/test-venv"));
    let tool = venv.join("bin").join(name);
    if tool.is_file() {
        return Some(tool);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{name} is required under CI=true: run ci/install-test-tools.sh"
    );
    eprintln!("note: {name} not installed (ci/install-test-tools.sh); skipping that check");
    None
}

fn yaml(path: &Path) -> yaml_serde::Value {
    yaml_serde::from_str(&std::fs::read_to_string(path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn actionlint(tool: &Path, workflow: &Path) -> std::process::Output {
    let mut cmd = Command::new(tool);
    cmd.arg("-config-file").arg(repo().join("ci/actionlint.yaml")).arg("-no-color");
    match which("shellcheck") {
        Some(sc) => {
            cmd.arg("-shellcheck").arg(sc);
        }
        None => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "shellcheck is required under CI=true: run ci/install-test-tools.sh"
            );
            cmd.args(["-shellcheck", ""]);
        }
    }
    cmd.arg(workflow).output().expect("actionlint runs")
}

fn which(tool: &str) -> Option<String> {
    let out = Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[test]
fn github_workflow_passes_actionlint_and_a_broken_copy_does_not() {
    let Some(tool) = venv_tool("actionlint") else {
        return;
    };
    let workflow = repo().join("ci/github-actions.yml");
    let out = actionlint(&tool, &workflow);
    assert!(
        out.status.success(),
        "actionlint rejects ci/github-actions.yml:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The checker checks: a typo'd key and an undefined matrix value must be caught.
    let tmp = tempfile::tempdir().unwrap();
    let broken = tmp.path().join("broken.yml");
    let text = std::fs::read_to_string(&workflow)
        .unwrap()
        .replace("cancel-in-progress: false", "cancel-in-progres: false")
        .replace("${{ matrix.bench }}.yaml", "${{ matrix.benchh }}.yaml");
    std::fs::write(
        &broken,
        text.replace("group: resetlab-bench-${{ matrix.bench }}", "group: resetlab-bench-${{ matrix.benchh }}"),
    )
    .unwrap();
    let out = actionlint(&tool, &broken);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success() && said.contains("cancel-in-progres") && said.contains("benchh"),
        "actionlint accepted a broken workflow:\n{said}"
    );
}

#[test]
fn github_workflow_serialises_benches_pins_resetlab_and_keeps_forks_off_benches() {
    let w = yaml(&repo().join("ci/github-actions.yml"));
    let triggers = w["on"].as_mapping().expect("`on:` is a mapping of triggers");
    assert!(
        triggers.contains_key("pull_request") && !triggers.contains_key("pull_request_target"),
        "pull_request_target would run fork code with secrets"
    );
    let commit = w["env"]["RESETLAB_COMMIT"].as_str().unwrap();
    assert!(
        commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit()),
        "resetlab is pinned to a full commit: {commit}"
    );
    let lab = &w["jobs"]["emulated-lab"];
    assert_eq!(lab["runs-on"].as_str(), Some("ubuntu-latest"));
    let steps = |job: &yaml_serde::Value| yaml_serde::to_string(&job["steps"]).unwrap();
    for job in [lab, &w["jobs"]["bench"]] {
        let s = steps(job);
        assert!(s.contains("ref: ${{ env.RESETLAB_COMMIT }}"), "checkout pinned:\n{s}");
        assert!(s.contains("action-junit-report") && s.contains("junit.xml"), "JUnit to the test results:\n{s}");
        assert!(
            s.lines().any(|l| l.contains("report.md") && l.contains(">> \"$GITHUB_STEP_SUMMARY\"")),
            "report.md to the job summary:\n{s}"
        );
        assert!(s.contains("upload-artifact") && s.contains("report.html"), "report.html kept:\n{s}");
    }
    let bench = &w["jobs"]["bench"];
    let runs_on = yaml_serde::to_string(&bench["runs-on"]).unwrap();
    assert!(
        runs_on.contains("self-hosted") && runs_on.contains("${{ matrix.bench }}"),
        "a runner labelled by bench: {runs_on}"
    );
    assert_eq!(bench["concurrency"]["group"].as_str(), Some("resetlab-bench-${{ matrix.bench }}"));
    assert_eq!(
        bench["concurrency"]["cancel-in-progress"].as_bool(),
        Some(false),
        "a running certification is never cancelled mid-way"
    );
    let guard = bench["if"].as_str().unwrap();
    assert!(guard.contains("github.event.pull_request.head.repo.full_name == github.repository"), "{guard}");
    assert!(steps(bench).contains("RESETLAB_ADMIN_PASSWORD: ${{ secrets.RESETLAB_ADMIN_PASSWORD }}"));
}

fn gitlab_as_json() -> serde_json::Value {
    // The YAML's anchors resolve in yaml_serde; GitLab reads it the same way.
    serde_json::to_value(yaml(&repo().join("ci/gitlab-ci.yml"))).unwrap()
}

fn gitlab_schema() -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("fixtures/ci/gitlab-ci.schema.json")).unwrap())
            .unwrap();
    jsonschema::validator_for(&schema).expect("GitLab's CI schema compiles")
}

#[test]
fn gitlab_pipeline_matches_gitlabs_ci_schema_and_a_broken_copy_does_not() {
    let schema = gitlab_schema();
    let ci = gitlab_as_json();
    let errors: Vec<String> = schema.iter_errors(&ci).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "ci/gitlab-ci.yml does not match GitLab's CI schema:\n{}", errors.join("\n"));
    let mut broken = ci.clone();
    broken["resetlab:bench"]["resource_group"] = serde_json::json!(["not", "a", "string"]);
    broken["resetlab:emulated-lab"]["artifacts"]["reports"]["junit"] = serde_json::json!(42);
    assert!(!schema.is_valid(&broken), "the schema accepted a broken pipeline");
    // A second, independent validator when installed.
    if let Some(check) = venv_tool("check-jsonschema") {
        let out = Command::new(check)
            .arg("--schemafile")
            .arg(repo().join("fixtures/ci/gitlab-ci.schema.json"))
            .arg(repo().join("ci/gitlab-ci.yml"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "check-jsonschema rejects ci/gitlab-ci.yml:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn gitlab_pipeline_serialises_benches_pins_resetlab_and_keeps_merge_requests_off_benches() {
    let ci = gitlab_as_json();
    let commit = ci["variables"]["RESETLAB_COMMIT"].as_str().unwrap();
    assert!(
        commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit()),
        "resetlab is pinned to a full commit: {commit}"
    );
    let lab = &ci["resetlab:emulated-lab"];
    assert_eq!(lab["artifacts"]["reports"]["junit"], "reports/emulated/junit.xml");
    assert!(lab["artifacts"]["paths"].as_array().unwrap().iter().any(|p| p == "reports/emulated/report.html"));
    assert!(lab["after_script"].to_string().contains("report.md"), "report.md into the job log's summary section");
    let bench = &ci["resetlab:bench"];
    assert_eq!(bench["resource_group"], "resetlab-$BENCH", "one job at a time per bench");
    assert!(bench["tags"].as_array().unwrap().iter().any(|t| t == "$BENCH"), "a runner tagged by bench");
    assert_eq!(bench["artifacts"]["reports"]["junit"], "reports/$BENCH/junit.xml");
    let rules = bench["rules"].as_array().unwrap();
    assert_eq!(rules[0]["if"], "$CI_PIPELINE_SOURCE == \"merge_request_event\"");
    assert_eq!(rules[0]["when"], "never", "merge requests (a fork's included) never reach a bench");
    assert_eq!(
        rules[1]["if"], "$CI_COMMIT_REF_PROTECTED == \"true\"",
        "only protected branches get the protected password"
    );
    let script = bench["script"].to_string();
    assert!(script.contains("$RESETLAB_COMMIT") && script.contains("RESETLAB_ADMIN_PASSWORD"), "{script}");
}
