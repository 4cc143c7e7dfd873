//! A bench shared through a labgrid place, whose parts come from the place: a real labgrid
//! coordinator and a real labgrid exporter (labgrid 25.0.1 from PyPI, in target/test-venv from
//! ci/install-test-tools.sh) export an emulated recorder's relay coils (`ModbusTCPCoil` power and
//! link on the emulated board's Modbus TCP server), its console (`NetworkSerialPort`: the console
//! pseudo-terminal served by ser2net 4 from Debian, telnet with RFC 2217 as labgrid's own exporter
//! serves it) and its address (`NetworkService` http and rtsp) as the place `bench-lg`. The bench
//! file names only the place and `driver: labgrid`; `certify` acquires the place, reads its
//! resources, passes through them, and releases it; a certify started meanwhile is refused naming
//! the holder, before anything is touched.
//!
//! ser2net is started by the test rather than by the exporter: labgrid's exporter starts it for a
//! local serial port listening on every interface, and these tests listen on loopback only. The
//! exporter then exports it as labgrid does a console server's port (a `NetworkSerialPort` entry).

use std::path::{Path, PathBuf};
use std::time::Duration;

use resetlab::shapes::EmulateProcess;

const EXE: &str = env!("CARGO_BIN_EXE_resetlab");

/// labgrid's bin directory and ser2net, or `None` (a note) when they are missing outside CI.
fn tools() -> Option<(PathBuf, PathBuf)> {
    let venv = std::env::var_os("RESETLAB_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-venv"));
    let bin = venv.join("bin");
    let labgrid = ["labgrid-coordinator", "labgrid-client", "labgrid-exporter"].iter().all(|t| bin.join(t).is_file());
    let ser2net = ["/usr/sbin/ser2net", "/usr/bin/ser2net"].iter().map(PathBuf::from).find(|p| p.is_file());
    if let (true, Some(ser2net)) = (labgrid, ser2net.clone()) {
        return Some((bin, ser2net));
    }
    let missing = match (labgrid, ser2net) {
        (false, None) => "labgrid and ser2net",
        (false, Some(_)) => "labgrid",
        _ => "ser2net",
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{missing} required under CI=true: run ci/install-test-tools.sh"
    );
    eprintln!("note: {missing} not installed (ci/install-test-tools.sh); skipping the labgrid place test");
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn listening(address: &str, what: &str) {
    let up = async {
        while tokio::net::TcpStream::connect(address).await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), up).await.unwrap_or_else(|_| panic!("{what} listens within 30 s"));
}

fn quiet(cmd: &mut tokio::process::Command) -> &mut tokio::process::Command {
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
}

async fn client(bin: &Path, coordinator: &str, user: &str, args: &[&str]) -> std::process::Output {
    tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(bin.join("labgrid-client"))
            .args(["-x", coordinator, "-p", "bench-lg"])
            .args(args)
            .env("LG_USERNAME", user)
            .output(),
    )
    .await
    .expect("labgrid-client answers within 30 s")
    .unwrap()
}

/// `certify --rig bench` as `user`; `tags` narrows the run (None: the whole suite).
fn certify(
    bin: &Path,
    bench: &Path,
    out: &Path,
    state: &Path,
    user: &str,
    tags: Option<&str>,
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(EXE);
    cmd.arg("certify").arg("--quiet");
    if let Some(t) = tags {
        cmd.args(["--tags", t]);
    }
    cmd.arg("--rig")
        .arg(bench)
        .arg("--out")
        .arg(out)
        .arg("--state-dir")
        .arg(state)
        .env("RESETLAB_LG_PASSWORD", "000000")
        .env("RESETLAB_LABGRID_CLIENT", bin.join("labgrid-client"))
        .env("LG_USERNAME", user)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certify_takes_power_link_console_and_address_from_the_place_and_a_second_certify_is_refused() {
    let Some((bin, ser2net)) = tools() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let split = |a: &str| {
        let (h, p) = a.rsplit_once(':').unwrap();
        (h.to_owned(), p.parse::<u16>().unwrap())
    };

    // The recorder, its relay board and its console pty, in a process of their own.
    let emulate = EmulateProcess::start(Path::new(EXE), &[], Duration::from_secs(30)).await.unwrap();
    let e = emulate.emulated.clone();
    let (modbus, http, rtsp) = (e.modbus_tcp.clone(), split(&e.http), split(&e.rtsp));

    // ser2net serves the console pty on loopback, telnet with RFC 2217.
    let serial_port = free_port();
    let mut s2n = tokio::process::Command::new(&ser2net);
    quiet(s2n.args([
        "-d",
        "-n",
        "-Y",
        "connection: &console",
        "-Y",
        &format!("  accepter: telnet(rfc2217),tcp,127.0.0.1,{serial_port}"),
        "-Y",
        &format!("  connector: serialdev(nouucplock=true),{},115200n81,local", e.console),
    ]));
    let _ser2net = s2n.spawn().unwrap();

    // The coordinator, and the exporter that exports the recorder's parts as group bench-lg.
    let coordinator = format!("127.0.0.1:{}", free_port());
    let _coordinator = quiet(
        tokio::process::Command::new(bin.join("labgrid-coordinator"))
            .args(["-l", &coordinator])
            .current_dir(tmp.path()),
    )
    .spawn()
    .unwrap();
    listening(&coordinator, "the labgrid coordinator").await;
    listening(&format!("127.0.0.1:{serial_port}"), "ser2net").await;
    let exporter_yaml = format!(
        "bench-lg:
  power:
    cls: ModbusTCPCoil
    host: \"{modbus}\"
    coil: {power}
  link:
    cls: ModbusTCPCoil
    host: \"{modbus}\"
    coil: {link}
  console:
    cls: NetworkSerialPort
    host: 127.0.0.1
    port: {serial_port}
    speed: 115200
    protocol: rfc2217
  http:
    cls: NetworkService
    address: \"{http_host}\"
    username: admin
    port: {http_port}
  rtsp:
    cls: NetworkService
    address: \"{http_host}\"
    username: admin
    port: {rtsp_port}
",
        power = e.power_coil,
        link = e.link_coil,
        http_host = http.0,
        http_port = http.1,
        rtsp_port = rtsp.1,
    );
    let exporter_file = tmp.path().join("exporter.yaml");
    std::fs::write(&exporter_file, exporter_yaml).unwrap();
    let _exporter = quiet(tokio::process::Command::new(bin.join("labgrid-exporter")).args([
        "-c",
        &coordinator,
        "-n",
        "resetlab-test",
        "--hostname",
        "127.0.0.1",
    ]))
    .arg(&exporter_file)
    .current_dir(tmp.path())
    .spawn()
    .unwrap();

    let ok = |o: std::process::Output| assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    ok(client(&bin, &coordinator, "lab-admin", &["create"]).await);
    ok(client(&bin, &coordinator, "lab-admin", &["add-match", "resetlab-test/bench-lg/*"]).await);
    let exported = async {
        loop {
            let show = client(&bin, &coordinator, "lab-admin", &["show"]).await;
            let show = String::from_utf8_lossy(&show.stdout).into_owned();
            if ["power", "link", "console", "http", "rtsp"]
                .iter()
                .all(|r| show.contains(&format!("Matching resource '{r}'")))
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), exported)
        .await
        .expect("the exporter's resources reach the place within 60 s");

    // The bench file names the place and nothing the place knows: no address, no coil, no port.
    let profile = resetlab_profile::fixtures_dir().join("firmware/flir-2017-emulate.yaml");
    let bench = tmp.path().join("bench.yaml");
    std::fs::write(
        &bench,
        format!(
            "rig: bench-lg
device:
  model: DNR216
  profile: {}
  credentials: {{ admin_user: admin, admin_password_env: RESETLAB_LG_PASSWORD }}
power:   {{ driver: labgrid, off_ms: 100 }}
network: {{ driver: labgrid, off_ms: 100 }}
console: {{ driver: labgrid, ready: \"System init done\" }}
app:     {{ driver: direct, platform: ios, form: phone }}
labgrid: {{ coordinator: \"{coordinator}\", place: bench-lg }}
",
            profile.display()
        ),
    )
    .unwrap();

    // bob's certify holds the place for its run; carol's, started meanwhile, is refused naming bob.
    let first = certify(&bin, &bench, &tmp.path().join("out1"), &tmp.path().join("state"), "bob", None)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let held = async {
        loop {
            let show = client(&bin, &coordinator, "carol", &["show"]).await;
            if String::from_utf8_lossy(&show.stdout).contains("/bob") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), held).await.expect("certify acquired the place within 60 s");
    let second =
        certify(&bin, &bench, &tmp.path().join("out2"), &tmp.path().join("state2"), "carol", Some("@ART-LEN6"))
            .output()
            .await
            .unwrap();
    let said2 = String::from_utf8_lossy(&second.stderr);
    assert!(
        !second.status.success()
            && said2.contains("labgrid place bench-lg")
            && said2.contains("is held by")
            && said2.contains("/bob"),
        "carol's certify was not refused naming bob: {said2}{}",
        String::from_utf8_lossy(&second.stdout)
    );
    assert!(!tmp.path().join("out2/report.json").exists(), "carol's run started although bob held the place");

    let first = tokio::time::timeout(Duration::from_secs(240), first.wait_with_output())
        .await
        .expect("certify ends within 240 s")
        .unwrap();
    let said1 = format!("{}{}", String::from_utf8_lossy(&first.stdout), String::from_utf8_lossy(&first.stderr));
    assert!(first.status.success(), "certify through the place failed:\n{said1}");

    // The parts really were the place's: the record names the resolved drivers, and the power,
    // link and console scenarios ran (none is "not applicable on this rig").
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("out1/report.json")).unwrap()).unwrap();
    let drivers = record["rig"]["drivers"].to_string();
    assert!(drivers.contains(&format!("modbus-tcp {modbus} unit 1 coil {}", e.power_coil)), "{drivers}");
    assert!(drivers.contains(&format!("modbus-tcp {modbus} unit 1 coil {}", e.link_coil)), "{drivers}");
    assert!(drivers.contains(&format!("network serial port rfc2217://127.0.0.1:{serial_port}")), "{drivers}");
    // A scenario that also needs a driven app is not applicable with `app: direct`; none may be
    // for want of power, link or console.
    let scenarios = record["scenarios"].as_array().unwrap();
    for s in scenarios {
        let reason = s["reason"].as_str().unwrap_or("");
        assert!(
            !["power control", "network-link control", "a serial console"].iter().any(|n| reason.contains(n)),
            "scenario {} was not applicable through the place: {reason}",
            s["name"]
        );
    }
    for need in ["power", "network", "console"] {
        let passed = scenarios.iter().any(|s| {
            s["verdict"] == "pass"
                && s["tags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t.as_str().map(|t| t.trim_start_matches('@')) == Some(need))
        });
        assert!(passed, "no @{need} scenario passed through the place");
    }
    // Released at the end of the run.
    let show = client(&bin, &coordinator, "carol", &["show"]).await;
    let show = String::from_utf8_lossy(&show.stdout);
    assert!(!show.contains("/bob"), "the place is still held after the run:\n{show}");
}

/// Someone else holds the place: certify is refused naming them before anything is touched (no
/// resource is read, no report written).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certify_on_a_place_someone_else_holds_is_refused_naming_them() {
    let Some((bin, _)) = tools() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let coordinator = format!("127.0.0.1:{}", free_port());
    let _coordinator = quiet(
        tokio::process::Command::new(bin.join("labgrid-coordinator"))
            .args(["-l", &coordinator])
            .current_dir(tmp.path()),
    )
    .spawn()
    .unwrap();
    listening(&coordinator, "the labgrid coordinator").await;
    assert!(client(&bin, &coordinator, "lab-admin", &["create"]).await.status.success());
    assert!(client(&bin, &coordinator, "alice", &["acquire"]).await.status.success());
    let bench = tmp.path().join("bench.yaml");
    std::fs::write(
        &bench,
        format!(
            "rig: bench-lg\ndevice: {{ model: DNR216 }}\npower: {{ driver: labgrid }}\nconsole: {{ driver: labgrid }}\nlabgrid: {{ coordinator: \"{coordinator}\", place: bench-lg }}\n"
        ),
    )
    .unwrap();
    let refused = certify(&bin, &bench, &tmp.path().join("out0"), &tmp.path().join("state"), "bob", Some("@ART-LEN6"))
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "certify ran on a place alice holds");
    assert!(
        said.contains("labgrid place bench-lg") && said.contains("is held by") && said.contains("/alice"),
        "{said}"
    );
    assert!(!tmp.path().join("out0/report.json").exists(), "the run started although the place was held");
}
