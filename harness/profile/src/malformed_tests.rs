//! Issue 8 (bad input) for firmware profiles: empty files, YAML of the wrong shape, tabs, huge or
//! deeply nested files, bytes that are not UTF-8. Each is a `FixtureError` that starts with the file
//! (and, where YAML can say, `:line: key`), never a panic or a stack overflow.

use crate::{FLIR_2017_YAML, FirmwareProfile};

fn err(file: &str, text: &str) -> String {
    let e = FirmwareProfile::parse(file, text).expect_err(file).to_string();
    assert!(e.starts_with(file), "error does not name {file}: {e}");
    e
}

#[test]
fn empty_profile_is_an_error_naming_the_file() {
    for text in ["", "\n", "# nothing but a comment\n", "---\n", "~\n"] {
        let e = err("fixtures/firmware/empty.yaml", text);
        assert!(e.starts_with("fixtures/firmware/empty.yaml:"), "{e}");
    }
}

#[test]
fn profile_of_the_wrong_shape_names_the_key() {
    let e = err("p.yaml", "- name: a\n- name: b\n");
    assert!(e.contains("expected struct"), "{e}");
    let e = err("p.yaml", "a sentence instead of a profile\n");
    assert!(e.starts_with("p.yaml:1"), "{e}");
    let text = FLIR_2017_YAML.replace(
        "accounts:                 # factory state\n  - name: admin\n    group: admin\n    password: \"000000\"    # the documented factory default\n",
        "accounts: { admin: \"000000\" }\n",
    );
    assert_ne!(text, FLIR_2017_YAML, "fixture changed; update this test");
    let e = err("p.yaml", &text);
    assert!(e.contains("key `accounts`"), "{e}");
    let text = FLIR_2017_YAML.replace("group: admin", "group: [admin]");
    let e = err("p.yaml", &text);
    assert!(e.contains("key `accounts[0].group`"), "{e}");
}

#[test]
fn profile_without_an_admin_account_is_named() {
    let text = FLIR_2017_YAML.replace("group: admin", "group: user");
    let e = err("p.yaml", &text);
    assert!(e.contains("key `accounts`") && e.contains("admin"), "{e}");
}

#[test]
fn profile_indented_with_tabs_names_the_line() {
    let text = FLIR_2017_YAML.replace("  model: DNR216", "\tmodel: DNR216");
    let line = text.lines().position(|l| l.starts_with('\t')).unwrap() + 1;
    let e = err("tabs.yaml", &text);
    assert!(e.starts_with(&format!("tabs.yaml:{line}")), "{e}");
}

#[test]
fn huge_profile_is_refused_quickly_naming_the_first_unknown_key() {
    let mut text = FLIR_2017_YAML.to_owned();
    while text.len() < 4 << 20 {
        text.push_str("padding_that_no_profile_has: 0123456789abcdef\n");
    }
    let started = std::time::Instant::now();
    let e = err("huge.yaml", &text);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(e.contains("padding_that_no_profile_has"), "{e}");
    // A megabyte of comment is just a comment.
    let commented = format!("{FLIR_2017_YAML}#{}\n", "x".repeat(1 << 20));
    FirmwareProfile::parse("commented.yaml", &commented).unwrap();
}

#[test]
fn deeply_nested_yaml_is_an_error_not_a_stack_overflow() {
    // Beyond yaml_serde's recursion limit (128). Parsing is superlinear in depth (100 000 levels take
    // about a minute in a debug build), so the test stays at a depth that shows the limit works.
    let depth = 3_000;
    let text = format!("name: {}{}\n", "[".repeat(depth), "]".repeat(depth));
    err("deep.yaml", &text);
    let text = format!("name: {}1{}\n", "{a: ".repeat(depth), "}".repeat(depth));
    err("deep.yaml", &text);
}

#[test]
fn profile_file_that_is_not_utf8_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.yaml");
    std::fs::write(&path, b"name: flir-caf\xe9\n").unwrap();
    let e = FirmwareProfile::load(&path).unwrap_err().to_string();
    assert!(e.contains(&path.display().to_string()), "{e}");
}
