//! Provenance, so that a certification can be reproduced: report.json and junit.xml name resetlab's
//! version and the git commit it was built from, and the SHA-256 of every feature file that ran and
//! of the bench file — checked here against `git rev-parse HEAD` and coreutils' `sha256sum`, not
//! against our own hashing.

use std::path::Path;
use std::process::Command;

fn tool(cmd: &str, args: &[&str], dir: &Path) -> Option<String> {
    let out = Command::new(cmd).args(args).current_dir(dir).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn sha256sum(file: &Path) -> String {
    let out = tool("sha256sum", &[&file.display().to_string()], Path::new(".")).expect("sha256sum (coreutils) runs");
    out.split_whitespace().next().unwrap().to_owned()
}

#[test]
fn report_json_and_junit_name_the_commit_and_hash_every_feature_and_the_bench_file() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let run = Command::new(env!("CARGO_BIN_EXE_resetlab"))
        .args(["certify", "--quiet", "--tags", "@ART-CONFIRM", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let p = &json["provenance"];
    assert_eq!(p["resetlab_version"], env!("CARGO_PKG_VERSION"));
    // Built from this checkout: the commit is HEAD's (when git is here to say so).
    match tool("git", &["rev-parse", "HEAD"], &repo) {
        Some(head) => assert_eq!(p["git_commit"].as_str(), Some(head.as_str()), "{p}"),
        None => eprintln!("note: no git here; the commit is not checked"),
    }
    // Every feature that ran (materialised into the run directory) is hashed by file name.
    let features = p["features"].as_array().unwrap();
    let on_disk: Vec<_> = std::fs::read_dir(out.join("features")).unwrap().flatten().collect();
    assert_eq!(features.len(), on_disk.len(), "{p}");
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    for f in features {
        let name = f["path"].as_str().unwrap();
        let sha = f["sha256"].as_str().unwrap();
        assert_eq!(sha, sha256sum(&out.join("features").join(name)), "{name}");
    }
    // The embedded lab's bench file is rigs/emulator.yaml, built in.
    assert_eq!(p["bench"]["sha256"].as_str().unwrap(), sha256sum(&repo.join("rigs/emulator.yaml")));
    // JUnit: each test suite (a feature) carries the commit, the bench file's hash and its own.
    let ran = features
        .iter()
        .find(|f| f["feature"].as_str().is_some_and(|n| junit.contains(&format!("<testsuite name=\"{n}\""))))
        .expect("a feature that ran is a test suite");
    assert!(
        junit.contains(&format!("<property name=\"feature.sha256\" value=\"{}\"/>", ran["sha256"].as_str().unwrap())),
        "{junit}"
    );
    assert!(
        junit.contains(&format!(
            "<property name=\"bench.sha256\" value=\"{}\"/>",
            p["bench"]["sha256"].as_str().unwrap()
        )),
        "{junit}"
    );
    if let Some(c) = p["git_commit"].as_str() {
        assert!(junit.contains(&format!("<property name=\"resetlab.commit\" value=\"{c}\"/>")), "{junit}");
    }
}
