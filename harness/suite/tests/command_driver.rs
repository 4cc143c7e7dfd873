//! `driver: command` end to end: a PDU-style command line tool (a script written here, `pductl`, that
//! switches outlets of the emulated relay board with `mbpoll` over Modbus TCP and asks for a PDU
//! password) drives power and link of a recorder that `resetlab emulate` runs as a separate process,
//! and the console is `socat` reading the recorder's console pty. `certify --rig` through that bench
//! must behave exactly like the Modbus TCP bench; a PDU that refuses its password is a rig fault
//! naming the command — and never the password.

use std::path::{Path, PathBuf};
use std::time::Duration;

use resetlab::blame::Blame;
use resetlab::record::{RunRecord, Verdict};
use resetlab::shapes::EmulateProcess;

const EXE: &str = env!("CARGO_BIN_EXE_resetlab");
const PDU_PASSWORD: &str = "Pdu-s3cret-77";

/// A PDU command line tool: `pductl --host H --port P --outlet N on|off|status`, password in
/// `--password`, as real PDU CLIs take it. It prints `outlet N is on|off` for status.
const PDUCTL: &str = r#"#!/bin/sh
set -eu
while [ $# -gt 1 ]; do
  case "$1" in
    --host) host=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --outlet) outlet=$2; shift 2 ;;
    --password) password=$2; shift 2 ;;
    *) echo "pductl: unknown option $1" >&2; exit 2 ;;
  esac
done
if [ "$password" != "$PDUCTL_EXPECTS" ]; then
  echo "pductl: login to $host refused for password $password" >&2
  exit 5
fi
ref=$((outlet + 1))
case "$1" in
  on)  mbpoll -m tcp -p "$port" -a 1 -t 0 -r "$ref" -1 -o 2 "$host" 1 >/dev/null ;;
  off) mbpoll -m tcp -p "$port" -a 1 -t 0 -r "$ref" -1 -o 2 "$host" 0 >/dev/null ;;
  status)
    v=$(mbpoll -m tcp -p "$port" -a 1 -t 0 -r "$ref" -c 1 -1 -o 2 "$host" | sed -n 's/^\[[0-9]*\]:[[:space:]]*//p')
    if [ "$v" = 1 ]; then echo "outlet $outlet is on"; else echo "outlet $outlet is off"; fi ;;
  *) echo "pductl: unknown command $1" >&2; exit 2 ;;
esac
"#;

fn tools_present() -> bool {
    let have = |t: &str| {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {t}"))
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if have("mbpoll") && have("socat") {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "mbpoll and socat are required under CI=true (ci/install-test-tools.sh installs them)"
    );
    eprintln!("note: mbpoll or socat missing; run ci/install-test-tools.sh. Skipping the command driver test.");
    false
}

fn profile() -> PathBuf {
    resetlab_profile::fixtures_dir().join("firmware/flir-2017-emulate.yaml")
}

/// A bench file whose power, link and console are all `driver: command`.
fn bench(e: &EmulateProcess, pductl: &Path) -> String {
    let (mhost, mport) = e.emulated.modbus_tcp.rsplit_once(':').unwrap();
    let (host, http) = e.emulated.http.rsplit_once(':').unwrap();
    let rtsp = e.emulated.rtsp.rsplit_once(':').unwrap().1;
    let tool = |outlet: u16, verb: &str| {
        format!(
            "{} --host {mhost} --port {mport} --outlet {outlet} --password \\\"$PDU_PASSWORD\\\" {verb}",
            pductl.display()
        )
    };
    let switch = |outlet: u16| {
        format!(
            "{{ driver: command, on: \"{}\", off: \"{}\", get: \"{}\", timeout_ms: 5000, off_ms: 100 }}",
            tool(outlet, "on"),
            tool(outlet, "off"),
            tool(outlet, "status")
        )
    };
    format!(
        "rig: pdu-bench\ndevice:\n  model: DNR216\n  address: {host}\n  ports: {{ http: {http}, rtsp: {rtsp} }}\n  profile: {}\n  credentials: {{ admin_user: admin, admin_password_env: RESETLAB_CMD_PASSWORD }}\npower:   {}\nnetwork: {}\nconsole: {{ driver: command, command: \"socat -u FILE:{},rawer,b115200 STDOUT\", ready: \"System init done\" }}\napp:     {{ driver: direct, platform: ios, form: phone }}\n",
        profile().display(),
        switch(e.emulated.power_coil),
        switch(e.emulated.link_coil),
        e.emulated.console,
    )
}

async fn certify(dir: &Path, bench: &str, pdu_password: &str, extra: &[&str]) -> (String, Option<RunRecord>, bool) {
    let file = dir.join("bench.yaml");
    std::fs::write(&file, bench).unwrap();
    let out = dir.join("out");
    let output = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new(EXE)
            .args(["certify", "--quiet", "--profile", "etsi,asvs,cve", "--rig"])
            .arg(&file)
            .arg("--state-dir")
            .arg(dir.join("state"))
            .arg("--out")
            .arg(&out)
            .args(extra)
            .env("RESETLAB_CMD_PASSWORD", "000000")
            .env("PDU_PASSWORD", pdu_password)
            .env("PDUCTL_EXPECTS", PDU_PASSWORD)
            .stdin(std::process::Stdio::null())
            .output(),
    )
    .await
    .expect("certify --rig finishes within 180 s")
    .unwrap();
    let said = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let record = std::fs::read_to_string(out.join("report.json")).ok().map(|t| serde_json::from_str(&t).unwrap());
    (said, record, output.status.success())
}

fn write_pductl(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("pductl");
    std::fs::write(&p, PDUCTL).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn verdict(record: &RunRecord, id: &str) -> Option<Verdict> {
    record.requirements.iter().find(|q| q.id.0 == id).and_then(|q| q.verdict)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certify_through_a_pdu_command_line_tool_and_a_console_command() {
    if !tools_present() {
        return;
    }
    let e = EmulateProcess::start(Path::new(EXE), &[], Duration::from_secs(30)).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let pductl = write_pductl(tmp.path());
    let (said, record, ok) = certify(tmp.path(), &bench(&e, &pductl), PDU_PASSWORD, &[]).await;
    let record = record.unwrap_or_else(|| panic!("no record\n{said}"));
    assert!(ok, "certify failed\n{said}");
    assert!(record.errors.is_empty(), "run errors {:?}", record.errors);
    // Power and link cycles happened through pductl: the requirements that need them are established.
    assert_eq!(verdict(&record, "ART-DURABLE"), Some(Verdict::Pass), "{said}");
    assert_eq!(verdict(&record, "ETSI-BRUTE-FORCE"), Some(Verdict::Pass), "{said}");
    // The console scenario read the recorder through socat.
    assert_eq!(verdict(&record, "ASVS-NO-SECRETS-LOGGED"), Some(Verdict::Pass), "{said}");
    let rig = record.rig.as_ref().expect("rig description");
    let power = rig.drivers.iter().find(|d| d.part == "power").unwrap();
    assert!(power.driver.starts_with("command on `") && power.driver.contains("$PDU_PASSWORD"), "{power:?}");
    let everything = format!("{said}{}", dir_text(&tmp.path().join("out")));
    assert!(!everything.contains(PDU_PASSWORD), "the PDU password reached the output or the report");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pdu_that_refuses_its_password_is_a_rig_fault_naming_the_command_not_the_password() {
    if !tools_present() {
        return;
    }
    let e = EmulateProcess::start(Path::new(EXE), &[], Duration::from_secs(30)).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let pductl = write_pductl(tmp.path());
    let wrong = "Wrong-pdu-pw-42";
    let (said, record, ok) =
        certify(tmp.path(), &bench(&e, &pductl), wrong, &["--tags", "@ART-DURABLE and @power"]).await;
    assert!(!ok, "certify passed with a PDU that refuses every command\n{said}");
    let record = record.unwrap_or_else(|| panic!("no record\n{said}"));
    let failed: Vec<_> =
        record.scenarios.iter().filter(|s| s.verdict == Verdict::Fail || s.verdict == Verdict::Error).collect();
    assert!(!failed.is_empty(), "no scenario failed\n{said}");
    for s in failed {
        assert_eq!(s.blame, Some(Blame::Rig), "{} blamed on {:?}: {:?}", s.name, s.blame, s.reason);
        assert!(s.violated.is_empty(), "a rig fault counted against the firmware: {:?}", s.violated);
    }
    let everything = format!("{said}{}", dir_text(&tmp.path().join("out")));
    assert!(everything.contains("rig command for power"), "the failure does not name the command\n{said}");
    assert!(everything.contains("pductl") && everything.contains("refused"), "{said}");
    assert!(!everything.contains(wrong), "the PDU password reached the output or the report");
}

fn dir_text(dir: &Path) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            all.push_str(&dir_text(&p));
        } else if let Ok(t) = std::fs::read_to_string(&p) {
            all.push_str(&t);
        }
    }
    all
}
