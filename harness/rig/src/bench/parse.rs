//! A bench file's YAML becomes a [`Bench`]: every key checked, errors naming the file, the line and
//! the key (`file:line: key `k`: message`), secrets refused. The `app:` section is accepted here
//! and parsed by the app crate (`resetlab_app::bench`), its one reader.

use std::path::{Path, PathBuf};
use std::time::Duration;

use resetlab_profile::FixtureError;
use serde::Deserialize;

use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBench {
    rig: String,
    device: RawDevice,
    #[serde(default)]
    power: Option<RawSwitch>,
    #[serde(default)]
    network: Option<RawSwitch>,
    #[serde(default)]
    console: Option<RawConsole>,
    /// The app crate's section (`resetlab_app::bench::AppSpec`): allowed here, read there.
    #[serde(default, rename = "app")]
    _app: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    labgrid: Option<RawLabgrid>,
    #[serde(default)]
    tls: Option<TlsSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLabgrid {
    coordinator: String,
    place: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDevice {
    model: String,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    ports: RawPorts,
    #[serde(default)]
    profile: Option<PathBuf>,
    #[serde(default)]
    credentials: Option<RawCredentials>,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    concurrency: Option<usize>,
    #[serde(default)]
    https: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPorts {
    #[serde(default = "http80")]
    http: u16,
    #[serde(default = "rtsp554")]
    rtsp: u16,
}

impl Default for RawPorts {
    fn default() -> Self {
        RawPorts { http: 80, rtsp: 554 }
    }
}

fn http80() -> u16 {
    80
}
fn rtsp554() -> u16 {
    554
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredentials {
    admin_user: String,
    #[serde(default)]
    admin_password_env: Option<String>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Debug)]
#[serde(rename_all = "kebab-case")]
enum SwitchDriverName {
    ModbusTcp,
    ModbusRtu,
    Command,
    Operator,
    Emulated,
    Labgrid,
    None,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSwitch {
    driver: SwitchDriverName,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    port: Option<yaml_serde::Value>,
    #[serde(default)]
    baud: Option<u32>,
    #[serde(default)]
    unit: Option<u8>,
    #[serde(default)]
    coil: Option<u16>,
    #[serde(default)]
    invert: bool,
    #[serde(default)]
    write_multiple: bool,
    #[serde(default)]
    off_ms: Option<u64>,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    on: Option<String>,
    #[serde(default)]
    off: Option<String>,
    #[serde(default)]
    get: Option<String>,
    #[serde(default)]
    resource: Option<String>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Debug)]
#[serde(rename_all = "kebab-case")]
enum ConsoleDriverName {
    Serial,
    Command,
    Emulated,
    Labgrid,
    None,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsole {
    driver: ConsoleDriverName,
    #[serde(default)]
    port: Option<PathBuf>,
    #[serde(default)]
    baud: Option<u32>,
    #[serde(default)]
    ready: Option<String>,
    #[serde(default)]
    crash: Vec<String>,
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    resource: Option<String>,
}

fn invalid(file: &Path, text: &str, key: &str, message: impl Into<String>) -> BenchError {
    FixtureError::semantic(file, text, key, message)
}

impl Bench {
    /// Read and check a bench file.
    pub fn load(file: impl AsRef<Path>) -> Result<Bench, BenchError> {
        let file = file.as_ref();
        let text =
            std::fs::read_to_string(file).map_err(|source| FixtureError::Read { file: file.to_owned(), source })?;
        Bench::parse(file, &text)
    }

    /// Check a bench file's text, named `file` in errors.
    pub fn parse(file: impl AsRef<Path>, text: &str) -> Result<Bench, BenchError> {
        let file = file.as_ref();
        refuse_secrets(file, text)?;
        let raw: RawBench = resetlab_profile::parse_yaml(file, text)?;
        let device = raw.device;
        let creds =
            device.credentials.unwrap_or(RawCredentials { admin_user: "admin".into(), admin_password_env: None });
        if let Some(env) = &creds.admin_password_env
            && (env.is_empty() || env.contains(['=', ' ']))
        {
            return Err(invalid(
                file,
                text,
                "device.credentials.admin_password_env",
                "must be an environment variable name",
            ));
        }
        let device_timeout = match device.timeout_ms {
            Some(0) => return Err(invalid(file, text, "device.timeout_ms", "must be more than 0")),
            Some(ms) => Duration::from_millis(ms),
            None => DEFAULT_DEVICE_TIMEOUT,
        };
        let (address, service) = match (device.address, device.service) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    file,
                    text,
                    "device.service",
                    "give either `address` or `service` (a NetworkService of the labgrid place), not both",
                ));
            }
            (Some(a), None) => (a, None),
            (None, service) if raw.labgrid.is_some() => (String::new(), Some(service.unwrap_or_default())),
            (None, Some(_)) => {
                return Err(invalid(file, text, "device.service", "`service` names a resource of a `labgrid:` place"));
            }
            (None, None) => {
                return Err(invalid(
                    file,
                    text,
                    "device",
                    "`address` is required (or name a `labgrid:` place whose NetworkService gives it)",
                ));
            }
        };
        let bench = Bench {
            file: file.to_owned(),
            rig: raw.rig,
            device: DeviceSpec {
                model: device.model,
                address,
                service,
                http_port: device.ports.http,
                rtsp_port: device.ports.rtsp,
                profile: device.profile,
                admin_user: creds.admin_user,
                admin_password_env: creds.admin_password_env,
                timeout: device_timeout,
                concurrency: match device.concurrency {
                    Some(0) => return Err(invalid(file, text, "device.concurrency", "must be at least 1")),
                    Some(n) => n,
                    None => 4,
                },
                https: device.https,
            },
            power: switch(file, text, "power", raw.power)?,
            network: switch(file, text, "network", raw.network)?,
            console: console(file, text, raw.console)?,
            labgrid: match raw.labgrid {
                Some(l) if l.coordinator.trim().is_empty() || l.place.trim().is_empty() => {
                    return Err(invalid(file, text, "labgrid", "needs a coordinator (HOST:PORT) and a place name"));
                }
                Some(l) => Some(crate::labgrid::PlaceSpec { coordinator: l.coordinator, place: l.place }),
                None => None,
            },
            tls: raw.tls.unwrap_or_default(),
        };
        if bench.labgrid.is_none() && bench.takes_from_place() {
            let key = if matches!(bench.power, SwitchSpec::Place { .. }) {
                "power.driver"
            } else if matches!(bench.network, SwitchSpec::Place { .. }) {
                "network.driver"
            } else {
                "console.driver"
            };
            return Err(invalid(file, text, key, "driver labgrid needs a `labgrid: { coordinator, place }` section"));
        }
        Ok(bench)
    }
}

fn refuse_secrets(file: &Path, text: &str) -> Result<(), BenchError> {
    for (i, line) in text.lines().enumerate() {
        let code = line.split(" #").next().unwrap_or(line);
        for (pos, _) in code.match_indices(':') {
            let before = &code[..pos];
            let key = before.rsplit([' ', '{', ',', '\t']).next().unwrap_or(before).trim_start_matches("- ");
            let k = key.to_ascii_lowercase();
            if (k.ends_with("password") || k.ends_with("secret") || k.ends_with("token")) && !k.ends_with("_env") {
                return Err(FixtureError::Invalid {
                    file: file.to_owned(),
                    line: i + 1,
                    key: key.to_owned(),
                    message: format!(
                        "secrets never come from bench files: name an environment variable with `{key}_env` instead"
                    ),
                });
            }
        }
    }
    Ok(())
}

fn switch(file: &Path, text: &str, part: &str, raw: Option<RawSwitch>) -> Result<SwitchSpec, BenchError> {
    let Some(raw) = raw else {
        return Ok(SwitchSpec::None);
    };
    let key = |k: &str| format!("{part}.{k}");
    let off = Duration::from_millis(raw.off_ms.unwrap_or(match raw.driver {
        SwitchDriverName::Emulated => 0,
        _ => 5000,
    }));
    let timeout = raw.timeout_ms.map_or(
        if raw.driver == SwitchDriverName::Command {
            crate::command::DEFAULT_COMMAND_TIMEOUT
        } else {
            DEFAULT_RELAY_TIMEOUT
        },
        Duration::from_millis,
    );
    if raw.resource.is_some() && raw.driver != SwitchDriverName::Labgrid {
        return Err(invalid(
            file,
            text,
            &key("resource"),
            "`resource` names a labgrid resource: it needs driver: labgrid",
        ));
    }
    let templates = [("on", &raw.on), ("off", &raw.off), ("get", &raw.get)];
    if raw.driver != SwitchDriverName::Command
        && let Some((k, _)) = templates.iter().find(|(_, v)| v.is_some())
    {
        return Err(invalid(file, text, &key(k), format!("`{k}` is a command template: it needs driver: command")));
    }
    if timeout.is_zero() {
        return Err(invalid(file, text, &key("timeout_ms"), "must be more than 0"));
    }
    let coil = |board| -> Result<SwitchSpec, BenchError> {
        let Some(coil) = raw.coil else {
            return Err(invalid(file, text, &key("driver"), format!("`coil` is required for driver {:?}", raw.driver)));
        };
        Ok(SwitchSpec::Coil(CoilSpec {
            board,
            unit: raw.unit.unwrap_or(1),
            coil,
            invert: raw.invert,
            write_multiple: raw.write_multiple,
            off,
            timeout,
        }))
    };
    match raw.driver {
        SwitchDriverName::ModbusTcp => {
            let Some(host) = raw.host.clone() else {
                return Err(invalid(file, text, &key("driver"), "`host` is required for driver modbus-tcp"));
            };
            let port = match &raw.port {
                None => 502,
                Some(v) => v.as_u64().and_then(|p| u16::try_from(p).ok()).ok_or_else(|| {
                    invalid(file, text, &key("port"), "must be a TCP port number for driver modbus-tcp")
                })?,
            };
            coil(BoardSpec::Tcp { host, port })
        }
        SwitchDriverName::ModbusRtu => {
            let path = match &raw.port {
                Some(yaml_serde::Value::String(s)) => PathBuf::from(s),
                _ => {
                    return Err(invalid(
                        file,
                        text,
                        &key(if raw.port.is_some() { "port" } else { "driver" }),
                        "`port` must name a serial device (e.g. /dev/ttyUSB1) for driver modbus-rtu",
                    ));
                }
            };
            if raw.host.is_some() {
                return Err(invalid(file, text, &key("host"), "driver modbus-rtu has no host (it is a serial line)"));
            }
            coil(BoardSpec::Rtu { path, baud: raw.baud.unwrap_or(9600) })
        }
        SwitchDriverName::Emulated => coil(BoardSpec::Emulated),
        SwitchDriverName::Command => {
            let need = |k: &str, v: &Option<String>| match v.as_deref().map(str::trim) {
                Some(t) if !t.is_empty() => Ok(t.to_owned()),
                _ => Err(invalid(
                    file,
                    text,
                    &key(if v.is_some() { k } else { "driver" }),
                    format!("driver command needs a non-empty `{k}` command template"),
                )),
            };
            let on = need("on", &raw.on)?;
            let off_cmd = need("off", &raw.off)?;
            let get = match &raw.get {
                Some(_) => Some(need("get", &raw.get)?),
                None => None,
            };
            Ok(SwitchSpec::Command(Box::new(crate::command::CommandTemplates {
                on,
                off: off_cmd,
                get,
                timeout,
                off_time: off,
            })))
        }
        SwitchDriverName::Labgrid => Ok(SwitchSpec::Place {
            resource: raw.resource.clone().unwrap_or_else(|| if part == "power" { "power" } else { "link" }.into()),
            off,
            timeout,
        }),
        SwitchDriverName::Operator => Ok(SwitchSpec::Operator { off }),
        SwitchDriverName::None => Ok(SwitchSpec::None),
    }
}

fn console(file: &Path, text: &str, raw: Option<RawConsole>) -> Result<ConsoleSpec, BenchError> {
    let Some(raw) = raw else {
        return Ok(ConsoleSpec { port: ConsolePort::None, ready: None, crash: vec![] });
    };
    let port = match raw.driver {
        ConsoleDriverName::Serial => match raw.port {
            Some(path) => ConsolePort::Serial { path, baud: raw.baud.unwrap_or(115_200) },
            None => {
                return Err(invalid(file, text, "console.driver", "`port` is required for driver serial"));
            }
        },
        ConsoleDriverName::Command => match raw.command.as_deref().map(str::trim) {
            Some(c) if !c.is_empty() => ConsolePort::Command { command: c.to_owned() },
            _ => {
                return Err(invalid(
                    file,
                    text,
                    if raw.command.is_some() { "console.command" } else { "console.driver" },
                    "driver command needs a non-empty `command` (its output is the console)",
                ));
            }
        },
        ConsoleDriverName::Emulated => ConsolePort::Emulated,
        ConsoleDriverName::Labgrid => ConsolePort::Place { resource: raw.resource.clone() },
        ConsoleDriverName::None => ConsolePort::None,
    };
    if raw.resource.is_some() && raw.driver != ConsoleDriverName::Labgrid {
        return Err(invalid(
            file,
            text,
            "console.resource",
            "`resource` names a labgrid resource: it needs driver: labgrid",
        ));
    }
    if raw.command.is_some() && raw.driver != ConsoleDriverName::Command {
        return Err(invalid(file, text, "console.command", "`command` needs driver: command"));
    }
    if raw.ready.as_deref() == Some("") {
        return Err(invalid(file, text, "console.ready", "the boot marker cannot be empty"));
    }
    Ok(ConsoleSpec { port, ready: raw.ready, crash: raw.crash })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TLS_BENCH: &str = "rig: b\ndevice: { model: X, address: 10.0.0.2 }\n";

    #[test]
    fn tls_is_verified_unless_the_bench_file_accepts_self_signed_explicitly() {
        assert!(!Bench::parse("b.yaml", TLS_BENCH).unwrap().tls.accept_self_signed);
        let text = format!("{TLS_BENCH}tls: {{ accept_self_signed: false }}\n");
        assert!(!Bench::parse("b.yaml", &text).unwrap().tls.accept_self_signed);
        let text = format!("{TLS_BENCH}tls: {{ accept_self_signed: true }}\n");
        assert!(Bench::parse("b.yaml", &text).unwrap().tls.accept_self_signed);
    }

    #[test]
    fn a_tls_section_that_does_not_make_sense_names_file_line_and_key() {
        let text = format!("{TLS_BENCH}\ntls: {{ accept_self_signed: please }}\n");
        let e = Bench::parse("rigs/tls.yaml", &text).unwrap_err().to_string();
        assert!(e.starts_with("rigs/tls.yaml:4: key `tls.accept_self_signed`"), "{e}");
        let text = format!("{TLS_BENCH}tls:\n  accept_selfsigned: true\n");
        let e = Bench::parse("rigs/tls.yaml", &text).unwrap_err().to_string();
        assert!(
            e.starts_with("rigs/tls.yaml:4: key `tls.accept_selfsigned`")
                && e.contains("expected `accept_self_signed`"),
            "{e}"
        );
    }

    const LAB: &str = "rig: lab-bench-3
device:
  model: DNR216
  address: 192.168.1.108
  ports: { http: 80, rtsp: 554 }
  credentials: { admin_user: admin, admin_password_env: RESETLAB_ADMIN_PASSWORD }
power:   { driver: modbus-tcp, host: 192.168.1.200, port: 502, unit: 1, coil: 0, off_ms: 5000, invert: true }
network: { driver: modbus-rtu, port: /dev/ttyUSB1, baud: 9600, unit: 1, coil: 1, write_multiple: true }
console: { driver: serial, port: /dev/ttyUSB0, baud: 115200, ready: \"System init done\" }
app:     { driver: relay, relay: https://relay.example/, platform: ios, form: phone }
";

    #[test]
    fn design_example_loads() {
        let b = Bench::parse("lab.yaml", LAB).unwrap();
        let SwitchSpec::Coil(p) = &b.power else { panic!() };
        assert_eq!(p.board, BoardSpec::Tcp { host: "192.168.1.200".into(), port: 502 });
        assert!(p.invert && !p.write_multiple);
        assert_eq!(p.off, Duration::from_secs(5));
        let SwitchSpec::Coil(n) = &b.network else { panic!() };
        assert_eq!(n.board, BoardSpec::Rtu { path: "/dev/ttyUSB1".into(), baud: 9600 });
        assert!(n.write_multiple);
        assert_eq!(b.console.port, ConsolePort::Serial { path: "/dev/ttyUSB0".into(), baud: 115_200 });
    }

    #[test]
    fn bench_error_names_file_line_and_key_for_a_type_error() {
        let bad = LAB.replace("coil: 1,", "coil: one,");
        let e = Bench::parse("rigs/lab.yaml", &bad).unwrap_err().to_string();
        assert!(e.starts_with("rigs/lab.yaml:8: key `network.coil`"), "{e}");
    }

    #[test]
    fn bench_error_names_file_line_and_key_for_a_missing_host() {
        let bad = LAB.replace("host: 192.168.1.200, ", "");
        let e = Bench::parse("rigs/lab.yaml", &bad).unwrap_err().to_string();
        assert!(e.starts_with("rigs/lab.yaml:7: key `power.driver`"), "{e}");
        assert!(e.contains("host"), "{e}");
    }

    #[test]
    fn bench_error_names_unknown_driver_and_typo_keys() {
        let e =
            Bench::parse("b.yaml", &LAB.replace("driver: modbus-rtu", "driver: modbus-udp")).unwrap_err().to_string();
        assert!(e.starts_with("b.yaml:8: key `network.driver`"), "{e}");
        let e = Bench::parse("b.yaml", &LAB.replace("coil: 0,", "coill: 0,")).unwrap_err().to_string();
        assert!(e.starts_with("b.yaml:7: key `power"), "{e}");
        assert!(e.contains("coill"), "{e}");
    }

    #[test]
    fn a_password_in_a_bench_file_is_refused() {
        let bad = LAB.replace("admin_password_env: RESETLAB_ADMIN_PASSWORD", "admin_password: hunter2");
        let e = Bench::parse("b.yaml", &bad).unwrap_err().to_string();
        assert!(e.starts_with("b.yaml:6: key `admin_password`"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn command_driver_templates_load_and_are_required() {
        let text = LAB
            .replace(
                "{ driver: modbus-tcp, host: 192.168.1.200, port: 502, unit: 1, coil: 0, off_ms: 5000, invert: true }",
                "{ driver: command, on: \"pduclient --daemon pdu --port 3 --command on\", off: \"pduclient --daemon pdu --port 3 --command off\", get: \"labgrid-client -p bench-3 power get\", off_ms: 2000 }",
            )
            .replace(
                "{ driver: serial, port: /dev/ttyUSB0, baud: 115200, ready: \"System init done\" }",
                "{ driver: command, command: \"labgrid-client -p bench-3 console\" }",
            );
        let b = Bench::parse("b.yaml", &text).unwrap();
        let SwitchSpec::Command(t) = &b.power else { panic!("{:?}", b.power) };
        assert_eq!(t.on, "pduclient --daemon pdu --port 3 --command on");
        assert_eq!(t.get.as_deref(), Some("labgrid-client -p bench-3 power get"));
        assert_eq!((t.off_time, t.timeout), (Duration::from_secs(2), crate::command::DEFAULT_COMMAND_TIMEOUT));
        assert_eq!(b.console.port, ConsolePort::Command { command: "labgrid-client -p bench-3 console".into() });
        let e = Bench::parse("b.yaml", &text.replace("off: \"pduclient --daemon pdu --port 3 --command off\", ", ""))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("b.yaml:7: key `power.driver`") && e.contains("`off`"), "{e}");
        let e = Bench::parse("b.yaml", &LAB.replace("coil: 1,", "coil: 1, on: \"x\",")).unwrap_err().to_string();
        assert!(e.starts_with("b.yaml:8: key `network.on`"), "{e}");
    }

    #[test]
    fn shipped_rig_files_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rigs");
        for f in [
            "emulator.yaml",
            "lab-modbus-tcp.yaml",
            "lab-modbus-rtu.yaml",
            "field.yaml",
            "lab-command.yaml",
            "lab-labgrid.yaml",
        ] {
            Bench::load(dir.join(f)).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
