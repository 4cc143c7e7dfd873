//! The report made from a fixed, hand-built run: Markdown and JSON snapshots (a change to the output
//! is reviewed), the JSON schema, the JUnit read by a third-party parser, the HTML's self-containment,
//! failure pointers and the diff of two runs.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use resetlab::blame::Blame;
use resetlab::dut::Evidence;
use resetlab::record::{
    ConsoleLine, DeviceIdentity, Measurement, RigDescription, RigDriver, RigEvent, RunRecord, ScenarioRecord,
    ScenarioRef, StepRecord, StepStatus, Verdict,
};
use resetlab::report;
use resetlab::requirements::{Catalogue, RequirementId};

fn step(keyword: &str, text: &str, status: StepStatus, started_ms: u64, error: Option<&str>) -> StepRecord {
    StepRecord {
        keyword: keyword.into(),
        text: text.into(),
        status,
        duration_ms: 10,
        error: error.map(Into::into),
        started_ms: Some(started_ms),
        failure: None,
    }
}

fn ev(at_ms: u64, interface: Option<&str>, action: &str, outcome: &str) -> Evidence {
    Evidence { at_ms, interface: interface.map(Into::into), action: action.into(), outcome: outcome.into() }
}

fn scenario(feature: &str, name: &str, line: usize, reqs: &[&str], verdict: Verdict) -> ScenarioRecord {
    ScenarioRecord {
        feature: feature.into(),
        name: name.into(),
        line,
        requirements: reqs.iter().map(|r| RequirementId((*r).into())).collect::<BTreeSet<_>>(),
        tags: reqs.iter().map(|r| (*r).into()).collect(),
        verdict,
        violated: BTreeSet::new(),
        blame: None,
        reason: None,
        duration_ms: 400,
        steps: Vec::new(),
        evidence: Vec::new(),
        stopped_at: None,
        unestablished: Default::default(),
        first_attempt: None,
    }
}

const STALE: &str = "[device] the old password of admin still logs in on RTSP";

/// A run like `certify --defect rtsp-stale-credentials`: one pass, one RTSP failure, one scenario the
/// rig cannot run; fixed times and ids so the snapshots are stable.
fn fixed_run() -> RunRecord {
    let mut pass = scenario(
        "The new password holds \"from now on\"",
        "the new password survives a power cycle",
        10,
        &["ART-DURABLE"],
        Verdict::Pass,
    );
    pass.tags.push("power".into());
    pass.steps = vec![
        step("Given", "the recorder is powered on and connected to the network", StepStatus::Passed, 0, None),
        step("When", "the recorder's power is cut and restored", StepStatus::Passed, 20, None),
    ];
    pass.evidence = vec![
        ev(19, None, "cut the power", "device unreachable after 0 ms"),
        ev(60, None, "restore the power", "answering after 38 ms"),
        ev(70, Some("HTTP CGI"), "log in as admin with the new password", "Accepted (6 ms)"),
    ];

    let mut fail = scenario(
        "The new password is exactly 6 characters",
        "a 6-character password set by the administrator replaces the old one everywhere",
        10,
        &["ART-LEN6", "ART-LOCAL", "ETSI-OLD-CREDENTIAL"],
        Verdict::Fail,
    );
    fail.blame = Some(Blame::Device);
    fail.reason =
        Some(format!("And the old password logs in on none of them: Step panicked. Captured output: {STALE}"));
    fail.steps = vec![
        step("Given", "the recorder is powered on and connected to the network", StepStatus::Passed, 5, None),
        step(
            "When",
            "the administrator changes the password to a new 6-character password on the recorder",
            StepStatus::Passed,
            15,
            None,
        ),
        step("Then", "the new password logs in on every local interface", StepStatus::Passed, 25, None),
        step(
            "And",
            "the old password logs in on none of them",
            StepStatus::Failed,
            35,
            Some(&format!("Step panicked. Captured output: {STALE}")),
        ),
    ];
    fail.evidence = vec![
        ev(17, Some("HTTP CGI"), "admin changes the password of admin to a new 6-character password", "OK"),
        ev(41, Some("RTSP"), "log in as admin with the new password", "Accepted (7 ms)"),
        ev(49, Some("HTTP CGI"), "log in as admin with the old password", "Refused (6 ms)"),
        ev(52, Some("RPC2"), "log in as admin with the old password", "Refused (3 ms)"),
        ev(58, Some("RTSP"), "log in as admin with the old password", "Accepted (5 ms)"),
    ];

    let mut na = scenario(
        "The app says when the recorder is offline",
        "the app reports an unpowered recorder as offline",
        8,
        &["ART-PRE-POWER"],
        Verdict::NotApplicable,
    );
    na.reason = Some("not applicable on this rig: needs power control (a relay on the recorder's supply)".into());
    na.duration_ms = 0;

    let at = |s: &str| Some(chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc));
    let mut record = RunRecord {
        resetlab_version: "0.1.0".into(),
        lab: "embedded emulated lab (profile flir-2017, defects: rtsp-stale-credentials)".into(),
        started: at("2026-01-02T03:04:05Z"),
        finished: at("2026-01-02T03:04:06.5Z"),
        duration_ms: 1500,
        scenarios: vec![pass.clone(), fail.clone(), na],
        run_id: Some("20260102T030405Z-abcdef".into()),
        device: Some(DeviceIdentity {
            model: Some("DNR216P".into()),
            serial: Some("FLIR0000001".into()),
            machine_name: Some("FLIR-DVR".into()),
            firmware_version: Some("2.616.0000.0".into()),
            firmware_build: Some("2017-05-10".into()),
        }),
        rig: Some(RigDescription {
            file: Some("rigs/emulator.yaml".into()),
            drivers: vec![
                RigDriver { part: "power".into(), driver: "emulated".into(), resource: Some("coil 0".into()) },
                RigDriver { part: "network".into(), driver: "emulated".into(), resource: None },
            ],
        }),
        firmware_profile: Some("flir-2017".into()),
        app_profiles: vec!["iphone-2017".into()],
        requirement_profiles: vec!["etsi".into()],
        measurements: vec![
            Measurement {
                scenario: Some(ScenarioRef::of(&pass)),
                step: Some("the recorder's power is cut and restored".into()),
                ..Measurement::at_most("boot to service ready", 38.2, "s", 120.0)
            },
            Measurement {
                scenario: Some(ScenarioRef::of(&fail)),
                ..Measurement::recorded("login attempts", 5.0, "count")
            },
        ],
        timeline: vec![
            RigEvent {
                scenario: Some(ScenarioRef::of(&pass)),
                at_ms: 19,
                part: "power".into(),
                action: "off".into(),
                readback: Some("coil 0 = 0".into()),
                duration_ms: Some(3),
                ok: true,
            },
            RigEvent {
                scenario: Some(ScenarioRef::of(&pass)),
                at_ms: 60,
                part: "power".into(),
                action: "on".into(),
                readback: Some("coil 0 = 1".into()),
                duration_ms: Some(2),
                ok: true,
            },
        ],
        console: vec![
            ConsoleLine {
                scenario: Some(ScenarioRef::of(&pass)),
                at_ms: 19,
                text: String::new(),
                power_event: Some("power off".into()),
            },
            ConsoleLine {
                scenario: Some(ScenarioRef::of(&pass)),
                at_ms: 61,
                text: "U-Boot 2010.06 (FLIR)".into(),
                power_event: None,
            },
            ConsoleLine {
                scenario: Some(ScenarioRef::of(&pass)),
                at_ms: 95,
                text: "[DVR] service ready".into(),
                power_event: None,
            },
        ],
        ..Default::default()
    };
    record.judge(&Catalogue::embedded(), &["etsi".to_owned()]);
    record
}

#[test]
fn markdown_report_of_a_fixed_run() {
    insta::assert_snapshot!("report_md", report::markdown::render(&fixed_run()));
}

#[test]
fn json_record_of_a_fixed_run() {
    insta::assert_json_snapshot!("report_json", fixed_run(), {
        ".run_id" => "[run-id]",
        ".started" => "[time]",
        ".finished" => "[time]",
        ".duration_ms" => "[ms]",
        ".scenarios[].duration_ms" => "[ms]",
        ".scenarios[].steps[].duration_ms" => "[ms]",
        ".scenarios[].steps[].started_ms" => "[ms]",
        ".scenarios[].evidence[].at_ms" => "[ms]",
        ".timeline[].at_ms" => "[ms]",
        ".console[].at_ms" => "[ms]",
        ".device.serial" => "[serial]",
    });
}

fn schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/report.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("fixtures/report.schema.json is a valid JSON Schema")
}

fn assert_valid(json: &serde_json::Value) {
    let errors: Vec<String> = schema().iter_errors(json).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "report.json does not match fixtures/report.schema.json:\n{}", errors.join("\n"));
}

#[test]
fn fixed_run_validates_against_the_checked_in_schema() {
    assert_valid(&serde_json::from_str(&report::to_json(&fixed_run())).unwrap());
    assert_valid(&serde_json::to_value(RunRecord::default()).unwrap());
}

#[test]
fn schema_rejects_a_record_with_an_unknown_verdict() {
    let mut json = serde_json::to_value(fixed_run()).unwrap();
    json["scenarios"][0]["verdict"] = "maybe".into();
    assert!(!schema().is_valid(&json));
}

#[test]
fn a_record_from_before_the_report_fields_still_loads() {
    let mut json = serde_json::to_value(fixed_run()).unwrap();
    let obj = json.as_object_mut().unwrap();
    for k in [
        "run_id",
        "device",
        "rig",
        "firmware_profile",
        "app_profiles",
        "requirement_profiles",
        "measurements",
        "timeline",
        "console",
    ] {
        obj.remove(k);
    }
    for s in obj["scenarios"].as_array_mut().unwrap() {
        for st in s["steps"].as_array_mut().unwrap() {
            st.as_object_mut().unwrap().remove("started_ms");
        }
    }
    let old: RunRecord = serde_json::from_value(json).unwrap();
    assert_eq!(old.scenarios.len(), 3);
    assert!(old.device.is_none() && old.measurements.is_empty());
    // And its reports still render.
    assert!(report::html::render(&old).contains("Requirement matrix"));
}

#[test]
fn failure_points_at_the_requirement_the_step_and_the_rtsp_evidence() {
    let run = fixed_run();
    let pointers = run.failing_evidence();
    assert_eq!(pointers.len(), 1);
    let p = &pointers[0];
    assert!(p.requirements.iter().any(|id| id.0 == "ART-LOCAL"));
    assert_eq!(p.step.unwrap().text, "the old password logs in on none of them");
    assert_eq!(p.evidence.len(), 1, "{:?}", p.evidence);
    assert_eq!(p.evidence[0].interface.as_deref(), Some("RTSP"));
    assert_eq!(p.evidence[0].action, "log in as admin with the old password");
    assert!(p.evidence[0].outcome.starts_with("Accepted"));
}

#[test]
fn html_is_self_contained_and_shows_verdict_matrix_and_evidence() {
    let html = report::html::render(&fixed_run());
    for needle in [
        "id=\"verdict\"",
        "NOT CERTIFIED",
        "Requirement matrix",
        "ART-LOCAL",
        "<details",
        "<svg",
        "log in as admin with the old password",
        "tr class=\"key\"",
    ] {
        assert!(html.contains(needle), "report.html lacks {needle}");
    }
    // No external assets: the only URL is the SVG namespace.
    for needle in ["<link", "src=", "@import", "url("] {
        assert!(!html.contains(needle), "report.html loads something: {needle}");
    }
    let urls = html.matches("http").count();
    assert_eq!(urls, html.matches("http://www.w3.org/2000/svg").count(), "report.html names a URL");
}

/// Run tests/report_junit_check.py on a junit.xml; `None` when python3 is missing outside CI.
/// Debian's python first: ci/install-test-tools.sh installs junitparser there (python3-junitparser),
/// which a pyenv or venv python3 earlier on PATH would not see.
pub fn python_junit(path: &Path) -> Option<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/report_junit_check.py");
    let python = if Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" };
    match Command::new(python).arg(&script).arg(path).output() {
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
                "note: python3 not available ({e}); JUnit not checked by a third-party parser (ci/install-test-tools.sh installs it)"
            );
            None
        }
        Err(e) => panic!("python3 is needed in CI to check junit.xml ({e}); run ci/install-test-tools.sh"),
    }
}

#[test]
fn junit_has_one_testcase_per_scenario_with_requirement_properties_for_a_python_parser() {
    let dir = tempfile::tempdir().unwrap();
    let paths = report::write_all(&fixed_run(), dir.path()).unwrap();
    let Some(out) = python_junit(&paths.junit) else { return };
    let cases: Vec<&str> = out.lines().filter(|l| l.starts_with("case\t")).collect();
    assert_eq!(cases.len(), 3, "{out}");
    assert!(cases.iter().any(|l| l.starts_with("case\tfailure\tART-LEN6,ART-LOCAL,ETSI-OLD-CREDENTIAL\t")), "{out}");
    assert!(cases.iter().any(|l| l.starts_with("case\tskipped\tART-PRE-POWER\t")), "{out}");
    assert!(cases.iter().any(|l| l.starts_with("case\tpass\tART-DURABLE\t")), "{out}");
    let jp = out.lines().find(|l| l.starts_with("junitparser\t")).unwrap_or("junitparser\tmissing");
    if jp.ends_with("missing") {
        // ci/install-test-tools.sh installs it (python3-junitparser); without it CI checks less.
        assert!(std::env::var_os("CI").is_none(), "junitparser is needed in CI: run ci/install-test-tools.sh");
        eprintln!("note: junitparser not installed; junit.xml read with xml.etree only");
    } else {
        assert_eq!(jp, "junitparser\t3\t1", "{out}");
    }
}

/// CI keeps a test's history by its name: editing a feature file (scenarios moving to other lines)
/// must not rename its testcases, the examples of one outline get distinct names, and `file=` is
/// the feature's path.
#[test]
fn junit_testcase_names_survive_edits_to_the_feature_file_and_file_is_the_features_path() {
    use resetlab::provenance::{FileDigest, Provenance};
    let mut run = fixed_run();
    run.provenance = Some(Provenance {
        features: vec![FileDigest {
            path: "six_characters.feature".into(),
            sha256: "0".repeat(64),
            feature: Some("The new password is exactly 6 characters".into()),
            tls_accept_self_signed: false,
        }],
        ..Default::default()
    });
    // A second example of the failing scenario's outline: same name, another line.
    let mut example = run.scenarios[1].clone();
    example.line = 31;
    run.scenarios.push(example);
    let mut edited = run.clone();
    for s in &mut edited.scenarios {
        s.line += 7;
    }
    let names = |r: &RunRecord| {
        let dir = tempfile::tempdir().unwrap();
        let paths = report::write_all(r, dir.path()).unwrap();
        let xml = std::fs::read_to_string(&paths.junit).unwrap();
        assert!(!xml.contains("(line "), "a line number in a name: {xml}");
        let out = python_junit(&paths.junit)?;
        let cases: Vec<String> = out
            .lines()
            .filter(|l| l.starts_with("case\t"))
            .map(|l| l.splitn(4, '\t').nth(3).unwrap().to_owned())
            .collect();
        Some(cases)
    };
    let (Some(before), Some(after)) = (names(&run), names(&edited)) else { return };
    assert_eq!(before, after, "testcase names changed when the feature file was edited");
    let six = "a 6-character password set by the administrator replaces the old one everywhere";
    assert!(before.contains(&format!("{six} [1]\tfeatures/six_characters.feature")), "{before:#?}");
    assert!(before.contains(&format!("{six} [2]\tfeatures/six_characters.feature")), "{before:#?}");
    assert!(before.contains(&"the new password survives a power cycle\t".to_owned()), "{before:#?}");
}

#[test]
fn write_all_writes_json_html_markdown_and_junit() {
    let dir = tempfile::tempdir().unwrap();
    let paths = report::write_all(&fixed_run(), dir.path()).unwrap();
    for p in [&paths.json, &paths.html, &paths.markdown, &paths.junit] {
        assert!(std::fs::metadata(p).unwrap().len() > 0, "{} is empty", p.display());
    }
    let back = report::load(&paths.json).unwrap();
    assert_eq!(back.run_id, fixed_run().run_id);
}

#[test]
fn diff_shows_flipped_requirements_and_slower_timings() {
    let a = fixed_run();
    let mut b = fixed_run();
    b.run_id = Some("20260103T000000Z-123456".into());
    // B: the RTSP defect is fixed, but booting got slower and the power-cycle scenario too.
    b.scenarios[1].verdict = Verdict::Pass;
    b.scenarios[1].blame = None;
    b.scenarios[1].reason = None;
    for st in &mut b.scenarios[1].steps {
        st.status = StepStatus::Passed;
        st.error = None;
    }
    b.scenarios[0].duration_ms = 900;
    b.measurements[0].value = 61.0;
    b.judge(&Catalogue::embedded(), &["etsi".to_owned()]);

    let d = report::diff(&a, &b, 20.0);
    let flipped: Vec<&str> = d.requirements.iter().map(|f| f.id.0.as_str()).collect();
    assert_eq!(flipped, ["ART-LEN6", "ART-LOCAL", "ETSI-OLD-CREDENTIAL"]);
    assert!(d.requirements.iter().all(|f| f.before == Some(Verdict::Fail) && f.after == Some(Verdict::Pass)));
    assert_eq!(d.timings.len(), 2, "{d}");
    assert!(d.has_regressions());
    let text = d.to_string();
    assert!(text.contains("ART-LOCAL") && text.contains("FAIL → pass"), "{text}");
    assert!(text.contains("boot to service ready"), "{text}");

    let same = report::diff(&a, &a, 20.0);
    assert!(same.is_empty() && !same.has_regressions());
}

#[test]
fn scenario_extras_land_on_the_run_timeline_tagged_with_their_scenario() {
    let mut run = fixed_run();
    run.measurements.clear();
    run.timeline.clear();
    let failing = &run.scenarios[1];
    let key = (failing.feature.clone(), failing.line);
    let store = resetlab::report::evidence::ExtrasStore::default();
    store.lock().unwrap().insert(
        key,
        resetlab::report::evidence::ScenarioExtras {
            measurements: vec![Measurement::at_most("boot to service ready", 130.0, "s", 120.0)],
            timeline: vec![RigEvent {
                scenario: None,
                at_ms: 7,
                part: "network".into(),
                action: "down".into(),
                readback: None,
                duration_ms: Some(1),
                ok: true,
            }],
            console: Vec::new(),
            thumbnails: Vec::new(),
        },
    );
    resetlab::report::evidence::attach_extras(&mut run, &store);
    let s = &run.scenarios[1];
    assert_eq!(run.measurements_of(s).count(), 1);
    assert!(!run.measurements[0].ok);
    assert_eq!(run.measurements[0].to_string(), "boot to service ready: 130 s, limit 120 s — OVER LIMIT");
    let ev: Vec<_> = run.timeline_of(s).collect();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].at_ms, 5 + 7, "shifted to the run's clock from the scenario's first step");
}

#[test]
fn report_diff_reads_two_out_directories() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut later = fixed_run();
    later.scenarios[0].verdict = Verdict::Fail;
    later.judge(&Catalogue::embedded(), &["etsi".to_owned()]);
    report::write_all(&fixed_run(), a.path()).unwrap();
    report::write_all(&later, b.path()).unwrap();
    let d = report::command::diff_files(a.path(), &b.path().join("report.json"), 20.0).unwrap();
    assert_eq!(d.requirements.len(), 1, "{d}");
    assert_eq!(d.requirements[0].id.0, "ART-DURABLE");
    assert!(d.has_regressions());
    assert!(report::command::diff_files(a.path(), Path::new("/nonexistent"), 20.0).is_err());
}

/// A failure counts against the requirement it names, even from a scenario about another one;
/// that scenario's own requirement is then blocked, not failed, when the failure stopped it. Old
/// records (no `violated`) count a failure against all of the scenario's requirements.
#[test]
fn judge_counts_a_failure_against_the_requirement_it_names() {
    let mut blocked = scenario("Preconditions", "powered off", 5, &["ART-PRE-POWER"], Verdict::Fail);
    blocked.violated = [RequirementId("ART-REMOTE".into())].into();
    blocked.stopped_at = Some("I am signed into the app as the administrator on an iPhone".into());
    let remote_ok = scenario("App", "change from an iPhone", 9, &["ART-REMOTE", "ART-LOCAL"], Verdict::Pass);
    let old_style = scenario("Durable", "power cycle", 12, &["ART-DURABLE"], Verdict::Fail);
    let mut record = RunRecord { scenarios: vec![blocked, remote_ok, old_style], ..Default::default() };
    record.judge(&Catalogue::embedded(), &[]);
    let of = |id: &str| record.requirements.iter().find(|r| r.id.0 == id).unwrap().clone();
    let remote = of("ART-REMOTE");
    assert_eq!((remote.verdict, remote.scenarios, remote.passed, remote.failed), (Some(Verdict::Fail), 2, 1, 1));
    assert_eq!(of("ART-PRE-POWER").verdict, Some(Verdict::Blocked));
    assert_eq!(of("ART-LOCAL").verdict, Some(Verdict::Pass));
    assert_eq!(of("ART-DURABLE").verdict, Some(Verdict::Fail));
    assert_eq!(of("ART-LEN6").verdict, None);
    let pointers = record.failing_evidence();
    assert_eq!(pointers[0].requirements.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["ART-REMOTE"]);
}

/// One defect, one failure: a scenario that failed a check and ran to its end establishes its other
/// requirements; one that stopped leaves them blocked, and where another scenario established
/// them they are partly established, naming the step that stopped the other.
#[test]
fn a_failed_check_that_did_not_stop_its_scenario_leaves_the_other_requirements_established() {
    let mut went_on =
        scenario("App", "change from an iPhone", 9, &["ART-IOS", "ART-LOCAL", "ART-REMOTE"], Verdict::Fail);
    went_on.violated = [RequirementId("ART-LOCAL".into())].into();
    let mut stopped = scenario("App", "change from an iPad", 10, &["ART-IOS", "ART-REMOTE", "ART-FLOW"], Verdict::Fail);
    stopped.violated = [RequirementId("ART-FLOW".into())].into();
    stopped.stopped_at = Some("the app shows that the password was changed".into());
    let mut record = RunRecord { scenarios: vec![went_on, stopped], ..Default::default() };
    record.judge(&Catalogue::embedded(), &[]);
    let of = |id: &str| record.requirements.iter().find(|r| r.id.0 == id).unwrap().clone();
    assert_eq!(of("ART-LOCAL").verdict, Some(Verdict::Fail));
    assert_eq!(of("ART-FLOW").verdict, Some(Verdict::Fail));
    let ios = of("ART-IOS");
    assert_eq!(ios.verdict, Some(Verdict::Partial), "established on the iPhone, blocked on the iPad");
    assert!(ios.missing.iter().any(|m| m.contains("the app shows that the password was changed")), "{:?}", ios.missing);
    assert_eq!(of("ART-REMOTE").verdict, Some(Verdict::Partial));
}
