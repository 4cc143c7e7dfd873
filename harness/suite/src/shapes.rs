//! Bench files for a recorder that `resetlab emulate` started in another process, written from the
//! JSON line it prints: every bench shape a lab has (Modbus TCP or RTU coils, a console, nothing
//! switchable at all; the app driven through the emulated phone's WebDriver endpoint, sent
//! directly, or absent), so the bench path is tested — and `selftest --bench` runs — against a recorder
//! resetlab did not start, reached only through what the bench file names.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The parts a generated bench file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Power and link on the emulated board's Modbus TCP coils, the console on its pty.
    ModbusTcp,
    /// The same coils over Modbus RTU on the board's pty, the console on its pty.
    ModbusRtu,
    /// Only the console; power and link cannot be switched.
    ConsoleOnly,
    /// `driver: none` everywhere: the recorder's own interfaces only.
    Nothing,
}

impl Shape {
    pub const ALL: [Shape; 4] = [Shape::ModbusTcp, Shape::ModbusRtu, Shape::ConsoleOnly, Shape::Nothing];

    pub fn name(self) -> &'static str {
        match self {
            Shape::ModbusTcp => "modbus-tcp",
            Shape::ModbusRtu => "modbus-rtu",
            Shape::ConsoleOnly => "console-only",
            Shape::Nothing => "nothing",
        }
    }
}

/// Where `resetlab emulate` put things (its JSON line).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Emulated {
    pub http: String,
    pub rtsp: String,
    pub modbus_tcp: String,
    pub modbus_rtu: String,
    pub console: String,
    pub modbus_unit: u8,
    pub power_coil: u16,
    pub link_coil: u16,
    /// The emulated phone's W3C WebDriver endpoint.
    #[serde(default)]
    pub phone: Option<String>,
    /// The app account that owns the recorder at the emulated relay.
    #[serde(default)]
    pub app_account: Option<String>,
    /// The environment variable its password came from (absent: nobody knows it).
    #[serde(default)]
    pub app_password_env: Option<String>,
}

/// How the bench's app side is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppShape {
    /// `driver: direct`: only the requests the app would send.
    Direct,
    /// No `app:` section.
    Absent,
    /// `driver: webdriver` at the emulated phone `resetlab emulate` printed (as a lab's Appium).
    WebDriver,
}

/// Where the bench reaches the recorder, when that is not where `emulate` listens (a forwarder).
#[derive(Debug, Clone, Copy, Default)]
pub struct Via {
    pub http: Option<std::net::SocketAddr>,
    pub rtsp: Option<std::net::SocketAddr>,
}

/// Write the firmware profile a bench file for a `resetlab emulate` process names — flir-2017 at the
/// emulator's default pace ([`resetlab_profile::FLIR_2017_EMULATE_YAML`]) — into `dir` and return
/// its path: the self-test and the fleet run from any directory, so it goes beside their benches.
pub fn write_emulate_profile(dir: &Path) -> std::io::Result<PathBuf> {
    let profile = dir.join("flir-2017.yaml");
    std::fs::write(&profile, resetlab_profile::FLIR_2017_EMULATE_YAML)?;
    Ok(profile)
}

/// The text of a bench file of `shape` for the recorder `e`, whose administrator password is in
/// the environment variable `password_env`, with the firmware profile `profile`.
pub fn bench_text(e: &Emulated, shape: Shape, profile: &Path, password_env: &str, via: Via) -> String {
    bench_text_with_app(e, shape, profile, password_env, via, AppShape::Direct)
}

/// [`bench_text`] with the app side `app`.
pub fn bench_text_with_app(
    e: &Emulated,
    shape: Shape,
    profile: &Path,
    password_env: &str,
    via: Via,
    app: AppShape,
) -> String {
    let split = |a: &str| a.rsplit_once(':').map(|(h, p)| (h.to_owned(), p.to_owned())).unwrap_or_default();
    let (host, http_port) = match via.http {
        Some(a) => (a.ip().to_string(), a.port().to_string()),
        None => split(&e.http),
    };
    let rtsp_port = via.rtsp.map_or_else(|| split(&e.rtsp).1, |a| a.port().to_string());
    let (mhost, mport) = split(&e.modbus_tcp);
    let mut t = String::new();
    let _ = writeln!(t, "# Generated for a recorder started by `resetlab emulate` ({} shape).", shape.name());
    let _ = writeln!(t, "rig: emulate-{}", shape.name());
    let _ =
        writeln!(t, "device:\n  model: DNR216\n  address: {host}\n  ports: {{ http: {http_port}, rtsp: {rtsp_port} }}");
    let _ = writeln!(t, "  profile: {}", profile.display());
    let _ = writeln!(t, "  credentials: {{ admin_user: admin, admin_password_env: {password_env} }}");
    let coil = |c: u16| match shape {
        Shape::ModbusTcp => format!(
            "{{ driver: modbus-tcp, host: {mhost}, port: {mport}, unit: {}, coil: {c}, off_ms: 100 }}",
            e.modbus_unit
        ),
        Shape::ModbusRtu => format!(
            "{{ driver: modbus-rtu, port: {}, baud: 9600, unit: {}, coil: {c}, off_ms: 100 }}",
            e.modbus_rtu, e.modbus_unit
        ),
        Shape::ConsoleOnly | Shape::Nothing => "{ driver: none }".to_owned(),
    };
    let _ = writeln!(t, "power:   {}", coil(e.power_coil));
    let _ = writeln!(t, "network: {}", coil(e.link_coil));
    match shape {
        Shape::Nothing => {
            let _ = writeln!(t, "console: {{ driver: none }}");
        }
        _ => {
            let _ = writeln!(
                t,
                "console: {{ driver: serial, port: {}, baud: 115200, ready: \"System init done\" }}",
                e.console
            );
        }
    }
    match app {
        AppShape::Direct => {
            let _ = writeln!(t, "app:     {{ driver: direct, platform: ios, form: phone }}");
        }
        AppShape::Absent => {}
        AppShape::WebDriver => {
            let _ = writeln!(
                t,
                "app:     {{ driver: webdriver, url: '{}', platform: ios, form: phone, account: '{}', account_password_env: {} }}",
                e.phone.as_deref().unwrap_or("(resetlab emulate printed no phone)"),
                e.app_account.as_deref().unwrap_or(""),
                e.app_password_env.as_deref().unwrap_or("(resetlab emulate printed no app_password_env)"),
            );
        }
    }
    t
}

/// A `resetlab emulate` process and what it printed; killed when dropped.
#[derive(Debug)]
pub struct EmulateProcess {
    pub child: tokio::process::Child,
    pub emulated: Emulated,
}

impl EmulateProcess {
    /// Start `exe emulate` with `args` and read its JSON line (within `deadline`).
    pub async fn start(exe: &Path, args: &[String], deadline: std::time::Duration) -> anyhow::Result<EmulateProcess> {
        EmulateProcess::start_with_env(exe, args, &[], deadline).await
    }

    /// The same with `env` added to its environment (the app account's password variable).
    pub async fn start_with_env(
        exe: &Path,
        args: &[String],
        env: &[(&str, &str)],
        deadline: std::time::Duration,
    ) -> anyhow::Result<EmulateProcess> {
        use tokio::io::AsyncBufReadExt as _;
        let mut child = tokio::process::Command::new(exe)
            .arg("emulate")
            .args(args)
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout from resetlab emulate"))?;
        let mut line = String::new();
        tokio::time::timeout(deadline, tokio::io::BufReader::new(stdout).read_line(&mut line))
            .await
            .map_err(|_| anyhow::anyhow!("resetlab emulate printed no JSON line within {} s", deadline.as_secs()))??;
        let emulated =
            serde_json::from_str(&line).map_err(|e| anyhow::anyhow!("resetlab emulate printed {line:?}: {e}"))?;
        Ok(EmulateProcess { child, emulated })
    }
}
