//! The bench path against a recorder resetlab did not start: `resetlab emulate` runs as a separate
//! process, a bench file of each shape is written from the JSON line it prints, and
//! `resetlab certify --rig` must give 0 errors, pass every requirement the bench can establish,
//! report the rest not applicable with the reason, and leave the recorder at the password it found.

use std::path::{Path, PathBuf};
use std::time::Duration;

use resetlab::record::{RunRecord, Verdict};
use resetlab::shapes::{AppShape, EmulateProcess, Shape, Via, bench_text, bench_text_with_app};
use resetlab_device::{Credentials, Interface, LoginOutcome, Target, try_login};
use resetlab_wire::Secret;

const EXE: &str = env!("CARGO_BIN_EXE_resetlab");
const FACTORY: &str = "000000";
/// The app account's password at the emulated relay (`resetlab emulate --app-password-env`).
const APP_PASSWORD_ENV: &str = "RESETLAB_SHAPE_APP_PASSWORD";
const APP_PASSWORD: &str = "shape-app-account-1";

fn profile() -> PathBuf {
    // What a `resetlab emulate` process at its default pace keeps (its lock lasts 2.25 s).
    resetlab_profile::fixtures_dir().join("firmware/flir-2017-emulate.yaml")
}

async fn emulate() -> EmulateProcess {
    EmulateProcess::start(Path::new(EXE), &[], Duration::from_secs(30)).await.expect("resetlab emulate starts")
}

/// `certify --rig` on `bench` with `password` in the bench's environment variable; the record.
async fn certify(dir: &Path, bench: &str, password: &str, extra: &[&str]) -> (std::process::Output, Option<RunRecord>) {
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
            .env("RESETLAB_SHAPE_PASSWORD", password)
            .env(APP_PASSWORD_ENV, APP_PASSWORD)
            .stdin(std::process::Stdio::null())
            .output(),
    )
    .await
    .expect("certify --rig finishes within 180 s")
    .unwrap();
    let record = std::fs::read_to_string(out.join("report.json")).ok().map(|t| serde_json::from_str(&t).unwrap());
    (output, record)
}

fn verdict(record: &RunRecord, id: &str) -> Option<Verdict> {
    record.requirements.iter().find(|q| q.id.0 == id).and_then(|q| q.verdict)
}

async fn holds(e: &EmulateProcess, password: &str) -> bool {
    let http: std::net::SocketAddr = e.emulated.http.parse().unwrap();
    let rtsp: std::net::SocketAddr = e.emulated.rtsp.parse().unwrap();
    let target = Target::new(http.ip().to_string(), http.port(), rtsp.port());
    try_login(&target, Interface::Http, &Credentials::new("admin", Secret::new(password))).await.unwrap()
        == LoginOutcome::Accepted
}

/// Certify `shape` and check the outcome a conforming recorder must give on it.
async fn conforming_recorder_on(shape: Shape, via: impl FnOnce(&EmulateProcess) -> Via) {
    let e = emulate().await;
    let tmp = tempfile::tempdir().unwrap();
    let bench = bench_text(&e.emulated, shape, &profile(), "RESETLAB_SHAPE_PASSWORD", via(&e));
    let (output, record) = certify(tmp.path(), &bench, FACTORY, &[]).await;
    let said = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let record = record.unwrap_or_else(|| panic!("{}: no record\n{said}", shape.name()));
    assert!(output.status.success(), "{}: certify failed\n{said}", shape.name());
    assert!(record.errors.is_empty(), "{}: run errors {:?}", shape.name(), record.errors);
    for s in &record.scenarios {
        match s.verdict {
            Verdict::Pass => {}
            Verdict::NotApplicable => {
                let why = s.reason.as_deref().unwrap_or("");
                assert!(
                    why.starts_with("not applicable on this rig: needs "),
                    "{}: {} is not applicable without a reason: {why:?}",
                    shape.name(),
                    s.name
                );
            }
            other => panic!("{}: {} › {} is {other:?}: {:?}\n{said}", shape.name(), s.feature, s.name, s.reason),
        }
    }
    for q in &record.requirements {
        assert!(
            matches!(q.verdict, Some(Verdict::Pass | Verdict::Partial | Verdict::NotApplicable)),
            "{}: {} is {:?}",
            shape.name(),
            q.id.0,
            q.verdict
        );
        assert_eq!(
            q.verdict == Some(Verdict::Partial),
            !q.missing.is_empty(),
            "{}: {} names what is missing exactly when partial",
            shape.name(),
            q.id.0
        );
    }
    let switches = matches!(shape, Shape::ModbusTcp | Shape::ModbusRtu);
    let console = shape != Shape::Nothing;
    let established = |id: &str| matches!(verdict(&record, id), Some(Verdict::Pass | Verdict::Partial));
    // What the recorder side of the article needs only the recorder's own interfaces for.
    for id in [
        "ART-ADMIN",
        "ART-SECONDARY",
        "ART-LEN6",
        "ART-LOCAL",
        "ETSI-OLD-CREDENTIAL",
        "ASVS-CURRENT-PW",
        "ASVS-SESSIONS-END",
        "CVE-LOOPBACK-BYPASS",
        "CVE-HASH-AS-PASSWORD",
    ] {
        assert!(established(id), "{}: {id} not established: {:?}", shape.name(), verdict(&record, id));
    }
    assert_eq!(
        verdict(&record, "ART-DURABLE") == Some(Verdict::Pass),
        switches,
        "{}: ART-DURABLE needs power and link",
        shape.name()
    );
    assert_eq!(
        verdict(&record, "ETSI-BRUTE-FORCE") == Some(Verdict::Pass),
        switches,
        "{}: the lockout scenarios clear the lock by a power cycle",
        shape.name()
    );
    assert_eq!(established("ASVS-NO-SECRETS-LOGGED"), console, "{}: the console scenarios", shape.name());
    // Scanning the console through the next boot needs the power too.
    assert_eq!(
        verdict(&record, "ASVS-NO-SECRETS-LOGGED") == Some(Verdict::Pass),
        console && switches,
        "{}: the console through a boot",
        shape.name()
    );
    // A direct app drives no app and has no remote path: those are not applicable, never pass.
    for id in ["ART-FLOW", "ART-IOS", "ART-ANDROID", "ART-CONFIRM", "ART-KEEP-DEVICE", "ART-REMOTE", "ETSI-DEFAULT-PW"]
    {
        assert_eq!(verdict(&record, id), Some(Verdict::NotApplicable), "{}: {id}", shape.name());
    }
    // ART-LOCAL's RTSP part is video: both streams the profile lists played to a decoded key frame,
    // and the main stream's frame is kept next to the report.
    for stream in ["channel 1 main stream", "channel 1 sub-stream"] {
        let played = record
            .scenarios
            .iter()
            .flat_map(|s| &s.evidence)
            .filter(|ev| ev.action.starts_with(&format!("play the {stream} ")) && ev.outcome.starts_with("played: "))
            .count();
        assert!(played > 0, "{}: the {stream} never played", shape.name());
    }
    assert!(!record.thumbnails.is_empty(), "{}: no video frame kept", shape.name());
    for t in &record.thumbnails {
        assert!(tmp.path().join("out").join(&t.file).is_file(), "{}: {} missing", shape.name(), t.file);
    }
    assert!(holds(&e, FACTORY).await, "{}: the recorder was not left at the password it was found with", shape.name());
}

/// The article's app scenarios on a bench whose app is the emulated phone of a separate `resetlab
/// emulate` process, driven through WebDriver exactly as a lab drives Appium: they pass. On the
/// same recorder, a bench with `app: direct` (even with a remote path) or with no app at all drives
/// no app, so the same scenarios are not applicable on that rig — never pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_scenarios_pass_through_the_phone_and_are_not_applicable_without_a_driven_app() {
    let args = ["--app-password-env".to_owned(), APP_PASSWORD_ENV.to_owned()];
    let e = EmulateProcess::start_with_env(
        Path::new(EXE),
        &args,
        &[(APP_PASSWORD_ENV, APP_PASSWORD)],
        Duration::from_secs(30),
    )
    .await
    .expect("resetlab emulate starts");
    let phone = e.emulated.phone.clone().expect("resetlab emulate prints the phone's WebDriver URL");
    assert!(phone.starts_with("http://127.0.0.1:"), "{phone}");
    assert_eq!(e.emulated.app_password_env.as_deref(), Some(APP_PASSWORD_ENV));
    // Only what the app side needs: the @app scenarios, and the factory-state remote check whose
    // clients (phone, tablet, computer) sign in without a saved entry.
    let tags = ["--tags", "@app or @ETSI-DEFAULT-PW"];
    let app_only = [
        "ART-FLOW",
        "ART-IOS",
        "ART-ANDROID",
        "ART-CONFIRM",
        "ART-KEEP-DEVICE",
        "ART-PRE-POWER",
        "ART-PRE-NET",
        "ART-REMOTE",
    ];
    for app in [AppShape::WebDriver, AppShape::Direct, AppShape::Absent] {
        let tmp = tempfile::tempdir().unwrap();
        let mut bench = bench_text_with_app(
            &e.emulated,
            Shape::ModbusTcp,
            &profile(),
            "RESETLAB_SHAPE_PASSWORD",
            Via::default(),
            app,
        );
        if app == AppShape::Direct {
            // A remote path the direct driver can use (as a router's port forward would be): then
            // only the missing driven app can make these scenarios not applicable.
            bench = bench.replace("driver: direct,", &format!("driver: direct, remote: '{}',", e.emulated.http));
            assert!(bench.contains("remote: '127.0.0.1:"), "{bench}");
        }
        let (output, record) = certify(tmp.path(), &bench, FACTORY, &tags).await;
        let said = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        let record = record.unwrap_or_else(|| panic!("{app:?}: no record\n{said}"));
        assert!(record.errors.is_empty(), "{app:?}: run errors {:?}\n{said}", record.errors);
        let app_scenarios: Vec<_> =
            record.scenarios.iter().filter(|s| s.tags.iter().any(|t| t.trim_start_matches('@') == "app")).collect();
        assert!(app_scenarios.len() >= 8, "{app:?}: only {} @app scenarios ran", app_scenarios.len());
        for s in &app_scenarios {
            match app {
                AppShape::WebDriver => {
                    assert_eq!(s.verdict, Verdict::Pass, "{app:?}: {} › {}: {:?}\n{said}", s.feature, s.name, s.reason)
                }
                AppShape::Direct | AppShape::Absent => {
                    assert_eq!(
                        s.verdict,
                        Verdict::NotApplicable,
                        "{app:?}: {} › {} must not be judged without a driven app: {:?}",
                        s.feature,
                        s.name,
                        s.reason
                    );
                    let why = s.reason.as_deref().unwrap_or("");
                    assert!(
                        why.starts_with("not applicable on this rig: needs ")
                            && why.contains("a driven app (webdriver or operator)"),
                        "{app:?}: {}: {why:?}",
                        s.name
                    );
                    if app == AppShape::Direct {
                        assert_eq!(
                            why, "not applicable on this rig: needs a driven app (webdriver or operator)",
                            "{}",
                            s.name
                        );
                    }
                }
            }
        }
        for id in app_only {
            let expected = if app == AppShape::WebDriver { Verdict::Pass } else { Verdict::NotApplicable };
            assert_eq!(verdict(&record, id), Some(expected), "{app:?}: {id}\n{said}");
        }
        if app == AppShape::WebDriver {
            assert!(output.status.success(), "certify through the phone failed\n{said}");
            assert_eq!(
                verdict(&record, "ETSI-DEFAULT-PW"),
                Some(Verdict::Pass),
                "the factory password from a phone, tablet and computer\n{said}"
            );
            let drivers = &record.rig.as_ref().expect("the record describes the rig").drivers;
            assert!(
                drivers.iter().any(|d| d.part == "app" && d.driver.contains(&phone)),
                "the record names the phone: {drivers:?}"
            );
        }
        assert!(holds(&e, FACTORY).await, "{app:?}: the recorder was not left at the password it was found with");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modbus_tcp_power_and_link_with_console() {
    conforming_recorder_on(Shape::ModbusTcp, |_| Via::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modbus_rtu_power_and_link_with_console() {
    conforming_recorder_on(Shape::ModbusRtu, |_| Via::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_only() {
    conforming_recorder_on(Shape::ConsoleOnly, |_| Via::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_but_the_recorder() {
    conforming_recorder_on(Shape::Nothing, |_| Via::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_baseline_password_is_a_clear_error_before_any_change() {
    let e = emulate().await;
    let tmp = tempfile::tempdir().unwrap();
    let bench = bench_text(&e.emulated, Shape::Nothing, &profile(), "RESETLAB_SHAPE_PASSWORD", Via::default());
    let (output, _) = certify(tmp.path(), &bench, "Wrong1", &[]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("does not answer with the baseline administrator password"), "{stderr}");
    assert!(
        !stderr.contains("Wrong1") && !String::from_utf8_lossy(&output.stdout).contains("Wrong1"),
        "the password was printed"
    );
    assert!(holds(&e, FACTORY).await, "the recorder's password changed");
}

/// A plain TCP forwarder (socat) in front of `to`, listening on a free loopback port.
struct Forwarder {
    _child: tokio::process::Child,
    addr: std::net::SocketAddr,
}

async fn socat(to: &str) -> Option<Forwarder> {
    if std::process::Command::new("socat").arg("-V").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "socat is required in CI (ci/install-test-tools.sh installs it)");
        eprintln!("note: socat not installed; the forwarder test is skipped");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = tokio::process::Command::new("socat")
        .arg(format!("TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr"))
        .arg(format!("TCP:{to}"))
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Some(Forwarder { _child: child, addr });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("socat did not start listening on {addr} within 5 s");
}

/// A second hop that adds nothing changes nothing: the same verdicts through socat, on other
/// ports than the recorder's own (no check may depend on them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_plain_tcp_forwarder() {
    let e = emulate().await;
    let (Some(http), Some(rtsp)) = (socat(&e.emulated.http).await, socat(&e.emulated.rtsp).await) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let bench = bench_text(
        &e.emulated,
        Shape::ModbusTcp,
        &profile(),
        "RESETLAB_SHAPE_PASSWORD",
        Via { http: Some(http.addr), rtsp: Some(rtsp.addr) },
    );
    assert!(bench.contains(&format!("http: {}", http.addr.port())) && !bench.contains(&e.emulated.http));
    let (output, record) = certify(tmp.path(), &bench, FACTORY, &[]).await;
    let record = record.unwrap_or_else(|| panic!("no record: {}", String::from_utf8_lossy(&output.stderr)));
    let direct = {
        let e2 = emulate().await;
        let tmp2 = tempfile::tempdir().unwrap();
        let bench = bench_text(&e2.emulated, Shape::ModbusTcp, &profile(), "RESETLAB_SHAPE_PASSWORD", Via::default());
        certify(tmp2.path(), &bench, FACTORY, &[]).await.1.expect("a record")
    };
    let verdicts = |r: &RunRecord| r.requirements.iter().map(|q| (q.id.0.clone(), q.verdict)).collect::<Vec<_>>();
    assert_eq!(verdicts(&record), verdicts(&direct), "verdicts through the forwarder differ from those without it");
    assert!(output.status.success() && record.errors.is_empty(), "{:?}", record.errors);
    assert!(holds(&e, FACTORY).await);
}

/// A pseudo-terminal: the child gets the slave as its stdin (a person's terminal), the test
/// types into the master.
fn pty() -> (std::fs::File, std::os::fd::OwnedFd) {
    use std::os::fd::FromRawFd;
    let (mut master, mut slave) = (0, 0);
    let rc =
        unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(rc, 0, "openpty");
    unsafe { (std::fs::File::from_raw_fd(master), std::os::fd::OwnedFd::from_raw_fd(slave)) }
}

/// The person at a field unit: switches power and link by hand (here: mbpoll on the bench's
/// relay board, a tool a lab has) and holds a phone whose app reaches the recorder (here: the
/// recorder's own HTTP Digest interface, as the app's request would).
struct Person {
    target: Target,
    modbus_port: String,
    saved: Secret,
    typed: Option<(Secret, Secret)>,
    pending_password_for: Option<&'static str>,
}

impl Person {
    async fn reachable(&self) -> bool {
        tokio::time::timeout(
            Duration::from_millis(500),
            tokio::net::TcpStream::connect((self.target.host.as_str(), self.target.http_port)),
        )
        .await
        .is_ok_and(|c| c.is_ok())
    }

    async fn login(&self, password: &Secret) -> bool {
        self.reachable().await
            && try_login(&self.target, Interface::Http, &Credentials::new("admin", password.clone())).await.ok()
                == Some(LoginOutcome::Accepted)
    }

    fn coil(&self, reference: u16, on: bool) {
        let status = std::process::Command::new("mbpoll")
            .args([
                "-m",
                "tcp",
                "-p",
                &self.modbus_port,
                "-a",
                "1",
                "-t",
                "0",
                "-r",
                &reference.to_string(),
                "-1",
                "127.0.0.1",
                if on { "1" } else { "0" },
            ])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("mbpoll runs");
        assert!(status.success(), "mbpoll could not switch coil {reference}");
    }

    /// What the person answers to one line the harness printed, if it asks for an answer.
    async fn respond(&mut self, line: &str) -> Option<String> {
        // A prompt that waits for its answer ends without a newline, so what is printed next
        // shares its line: read from the last prompt mark on.
        let text = [">>> ", "  ? ", "  > "].iter().fold(line, |t, mark| match (t.rfind(mark), *mark) {
            (Some(i), ">>> " | "  ? ") => &t[i..],
            (Some(i), "  > ") => &t[i + mark.len()..],
            _ => t,
        });
        let text = text.trim();
        if let Some(instruction) = text.strip_prefix(">>> ") {
            // mbpoll references are 1-based: coil 0 (power) is 1, coil 1 (link) is 2.
            match instruction {
                i if i.starts_with("Switch the recorder's power OFF") => self.coil(1, false),
                i if i.starts_with("Switch the recorder's power ON") => self.coil(1, true),
                i if i.starts_with("Unplug the recorder's network cable") => self.coil(2, false),
                i if i.starts_with("Plug the recorder's network cable back in") => self.coil(2, true),
                other => panic!("the person does not know how to: {other}"),
            }
            return Some("done".into());
        }
        if let Some(rest) = text.strip_prefix("Add the recorder ") {
            let password =
                rest.rsplit_once("the password ").map(|(_, p)| p.trim_end_matches('.')).expect("the password to type");
            self.saved = Secret::new(password);
            return None;
        }
        if let Some(rest) = text.strip_prefix("Step 5. Enter the new password ") {
            let (new, rest) = rest.split_once(" and confirm it as ").unwrap();
            let confirm = rest.split_once(", then tap").unwrap().0;
            self.typed = Some((Secret::new(new), Secret::new(confirm)));
            return None;
        }
        if text.contains("log into") && text.contains("remotely") {
            let password = text.rsplit_once("with the password ").map(|(_, p)| p.trim_end_matches('.')).unwrap();
            self.typed = Some((Secret::new(password), Secret::new(password)));
            self.pending_password_for = Some("remote");
            return None;
        }
        let question = text.strip_prefix("? ")?;
        Some(match question {
            q if q.starts_with("Is the recorder") && q.contains("Device Manager, saved") => "no".into(),
            q if q.starts_with("Does the menu show Device Manager") => "yes".into(),
            q if q.starts_with("Is the recorder") && q.contains("online") => {
                if self.reachable().await { "yes" } else { "no" }.into()
            }
            q if q.starts_with("Does Settings show Modify password") => "yes".into(),
            q if q.starts_with("What did the screen show") => {
                let (new, confirm) = self.typed.take().expect("the person was told what to type");
                if !self.reachable().await {
                    "offline".into()
                } else if new.char_len() != 6 || new != confirm {
                    "error: the app refused the password".into()
                } else {
                    let creds = Credentials::new("admin", self.saved.clone());
                    match resetlab_device::Cgi::new(&self.target)
                        .modify_password(&creds, "admin", &new, &self.saved)
                        .await
                    {
                        Ok(()) => {
                            self.saved = new;
                            "success".into()
                        }
                        Err(e) => format!("error: {}", e.kind),
                    }
                }
            }
            q if q.starts_with("Does the live view open") => {
                if self.login(&self.saved.clone()).await { "yes" } else { "no: wrong password" }.into()
            }
            q if q.starts_with("Did the login work") => {
                let (p, _) = self.typed.take().unwrap();
                if self.login(&p).await { "yes" } else { "no: wrong password" }.into()
            }
            other => panic!("the person does not know the answer to: {other}"),
        })
    }
}

/// The field shape: power and link switched by a person, the app on the person's phone, every
/// prompt on one terminal in the order the harness asks (one prompter for rig and app).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_unit_with_a_person_for_power_link_and_app() {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};
    if std::process::Command::new("mbpoll").arg("-V").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "mbpoll is required in CI (ci/install-test-tools.sh installs it)");
        eprintln!("note: mbpoll not installed; the field-shape test is skipped");
        return;
    }
    let e = emulate().await;
    let tmp = tempfile::tempdir().unwrap();
    let bench = bench_text(&e.emulated, Shape::Nothing, &profile(), "RESETLAB_SHAPE_PASSWORD", Via::default())
        .replace("power:   { driver: none }", "power:   { driver: operator, off_ms: 100 }")
        .replace("network: { driver: none }", "network: { driver: operator, off_ms: 100 }")
        .replace(
            "app:     { driver: direct, platform: ios, form: phone }",
            "app:     { driver: operator, platform: ios, form: phone }",
        );
    let file = tmp.path().join("field.yaml");
    std::fs::write(&file, &bench).unwrap();
    let (master, slave) = pty();
    let mut child = tokio::process::Command::new(EXE)
        .args([
            "certify",
            "--quiet",
            "--tags",
            &std::env::var("FIELD_TAGS").unwrap_or("@power or @network".into()),
            "--rig",
        ])
        .arg(&file)
        .arg("--state-dir")
        .arg(tmp.path().join("state"))
        .arg("--out")
        .arg(tmp.path().join("out"))
        .env("RESETLAB_SHAPE_PASSWORD", FACTORY)
        .stdin(std::process::Stdio::from(slave))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let http: std::net::SocketAddr = e.emulated.http.parse().unwrap();
    let mut person = Person {
        target: Target::new(http.ip().to_string(), http.port(), 554),
        modbus_port: e.emulated.modbus_tcp.rsplit_once(':').unwrap().1.to_owned(),
        saved: Secret::new(FACTORY),
        typed: None,
        pending_password_for: None,
    };
    let mut keyboard = tokio::fs::File::from_std(master);
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let transcript = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (mut answered, mut switched) = (0, 0);
    let seen = transcript.clone();
    let run = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            seen.lock().unwrap().push_str(&format!("{line}\n"));
            if let Some(answer) = person.respond(&line).await {
                if answer == "done" {
                    switched += 1;
                }
                answered += 1;
                keyboard.write_all(format!("{answer}\n").as_bytes()).await.unwrap();
                keyboard.flush().await.unwrap();
            }
        }
        child.wait().await.unwrap()
    };
    let status = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .unwrap_or_else(|_| panic!("the field run did not finish within 120 s:\n{}", transcript.lock().unwrap()));
    let transcript = transcript.lock().unwrap().clone();
    let record: RunRecord =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("out/report.json")).unwrap()).unwrap();
    let failing: Vec<String> = record
        .scenarios
        .iter()
        .filter(|s| !matches!(s.verdict, Verdict::Pass | Verdict::NotApplicable))
        .map(|s| format!("{} › {}: {:?}", s.feature, s.name, s.reason))
        .collect();
    assert!(
        status.success() && failing.is_empty() && record.errors.is_empty(),
        "{failing:#?}\n{:?}\n{transcript}",
        record.errors
    );
    let passed = record.scenarios.iter().filter(|s| s.verdict == Verdict::Pass).count();
    assert!(passed >= 10, "only {passed} power/network scenarios passed by hand:\n{transcript}");
    assert!(switched >= 10 && answered > switched, "{switched} switches and {answered} answers:\n{transcript}");
    assert_eq!(verdict(&record, "ART-PRE-POWER"), Some(Verdict::Pass), "the app on the person's phone");
    assert!(holds(&e, FACTORY).await, "the recorder was not left at its password");
}

/// A profile that leaves out a service the recorder serves would quietly narrow "every local way
/// in": the probe at the first lease finds RTSP answering, and ART-LOCAL is not established.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_the_profile_omits_leaves_art_local_unestablished() {
    let e = emulate().await;
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(profile()).unwrap();
    let narrowed = text.replace(
        "interfaces: [http, rpc2, rtsp, console, relay, onvif]",
        "interfaces: [http, rpc2, console, relay, onvif]",
    );
    assert_ne!(narrowed, text, "the profile's interface list changed shape; update this test");
    let file = tmp.path().join("no-rtsp.yaml");
    std::fs::write(&file, narrowed).unwrap();
    let bench = bench_text(&e.emulated, Shape::Nothing, &file, "RESETLAB_SHAPE_PASSWORD", Via::default());
    let (output, record) = certify(tmp.path(), &bench, FACTORY, &["--tags", "@ART-LOCAL and not @remote"]).await;
    let record = record.unwrap_or_else(|| panic!("no record: {}", String::from_utf8_lossy(&output.stderr)));
    let local = record.requirements.iter().find(|q| q.id.0 == "ART-LOCAL").unwrap();
    assert_ne!(local.verdict, Some(Verdict::Pass), "ART-LOCAL passed though RTSP was never checked");
    let why = record.scenarios.iter().flat_map(|s| s.unestablished.values()).find(|w| w.contains("RTSP"));
    assert!(
        why.is_some_and(|w| w.contains("does not list")),
        "no scenario says why: {:?}",
        record.scenarios.iter().map(|s| &s.unestablished).collect::<Vec<_>>()
    );
    assert!(holds(&e, FACTORY).await);
}
