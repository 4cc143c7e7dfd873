//! What a labgrid place has, and a bench file's `driver: labgrid` parts taken from it.
//!
//! A bench shared through a labgrid place need not repeat what the place already knows: with
//! `driver: labgrid` its power and link are the place's `ModbusTCPCoil` resources (named `power`
//! and `link` unless the bench says `resource:`), or for power the place's power driver
//! (`labgrid-client power`, for a PDU, Tasmota, YKUSH … port); its console is the place's
//! `NetworkSerialPort` (ser2net); and a bench file without `device.address` reaches the recorder
//! at the place's `NetworkService` (`http`, and `rtsp` for the RTSP port when the place has one).
//!
//! The resources are read with `labgrid-client -p PLACE env`, once the run holds the place: it
//! prints labgrid's own environment file for the place (`targets: {PLACE: {resources: [{Class:
//! {name, params…}}]}}`), the format labgrid users already write by hand, documented and kept
//! stable by labgrid for its pytest plugin. The alternatives are worse: `show` prints Python
//! reprs meant for people, and the coordinator's gRPC API is labgrid's internal protocol (its
//! messages changed in 24.0 and may again). The env output is never logged: a `NetworkService`
//! may carry a password, which resetlab ignores (the recorder's comes from the bench's variable).

use crate::bench::{Bench, BoardSpec, CoilSpec, ConsolePort, SwitchSpec};
use crate::command::{CommandTemplates, run};
use crate::error::{Blame, RigError};
use crate::labgrid::{DEFAULT_LABGRID_TIMEOUT, PlaceSpec};
use crate::network_serial::SerialProtocol;

/// Resource classes `labgrid-client power` switches (its `power` command's drivers).
const POWER_CLASSES: [&str; 7] = [
    "NetworkPowerPort",
    "PDUDaemonPort",
    "TasmotaPowerPort",
    "NetworkUSBPowerPort",
    "NetworkSiSPMPowerPort",
    "NetworkYKUSHPowerPort",
    "NetworkSysfsGPIO",
];

/// One resource of a place, as far as resetlab uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceResource {
    /// A coil on a Modbus TCP relay board.
    ModbusTcpCoil { name: String, host: String, port: u16, coil: u16, invert: bool, write_multiple: bool },
    /// A serial port served over the network (ser2net).
    NetworkSerialPort { name: String, host: String, port: u16, protocol: SerialProtocol },
    /// A network service of the device (its address and port; a password in it is ignored).
    NetworkService { name: String, address: String, port: u16 },
    /// Anything else (a power port labgrid switches, a USB device …): its class and name.
    Other { name: String, class: String },
}

impl PlaceResource {
    /// The resource's name in the place (its class when it has no name of its own).
    pub fn name(&self) -> &str {
        match self {
            PlaceResource::ModbusTcpCoil { name, .. }
            | PlaceResource::NetworkSerialPort { name, .. }
            | PlaceResource::NetworkService { name, .. }
            | PlaceResource::Other { name, .. } => name,
        }
    }

    /// labgrid's class name.
    pub fn class(&self) -> &str {
        match self {
            PlaceResource::ModbusTcpCoil { .. } => "ModbusTCPCoil",
            PlaceResource::NetworkSerialPort { .. } => "NetworkSerialPort",
            PlaceResource::NetworkService { .. } => "NetworkService",
            PlaceResource::Other { class, .. } => class,
        }
    }
}

/// The resources of one place.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlaceResources {
    pub resources: Vec<PlaceResource>,
}

/// `host:port`, `[v6]:port` or a bare host (then `default_port`).
fn host_and_port(s: &str, default_port: u16) -> Option<(String, u16)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        return Some((host.to_owned(), port));
    }
    match s.rsplit_once(':') {
        Some((host, p)) if !host.contains(':') => Some((host.to_owned(), p.parse().ok()?)),
        Some(_) => Some((s.to_owned(), default_port)),
        None => Some((s.to_owned(), default_port)),
    }
}

impl PlaceResources {
    /// Parse the output of `labgrid-client -p PLACE env`. Errors say which resource and key are
    /// wrong, never the text itself (it may hold a service's password).
    pub fn parse(place: &str, env: &str) -> Result<PlaceResources, String> {
        use yaml_serde::Value;
        let doc: Value = yaml_serde::from_str(env).map_err(|e| format!("`env` printed no YAML ({e})"))?;
        let list = doc
            .get("targets")
            .and_then(|t| t.get(place))
            .and_then(|t| t.get("resources"))
            .ok_or_else(|| format!("`env` printed no targets.{place}.resources"))?;
        let Value::Sequence(list) = list else {
            return Err(format!("targets.{place}.resources is not a list"));
        };
        let mut resources = Vec::new();
        for item in list {
            let Some((class, params)) = item.as_mapping().and_then(|m| m.iter().next()) else {
                return Err("a resource is not a `Class: {params}` entry".into());
            };
            let class = class.as_str().ok_or("a resource class is not a string")?.to_owned();
            let name = params.get("name").and_then(Value::as_str).unwrap_or(&class).to_owned();
            let text = |k: &str| params.get(k).and_then(Value::as_str).map(str::to_owned);
            let number = |k: &str| params.get(k).and_then(Value::as_u64);
            let flag = |k: &str| params.get(k).and_then(Value::as_bool).unwrap_or(false);
            let bad = |k: &str, expected: &str| format!("{class} `{name}`: `{k}` should be {expected}");
            let port16 = |k: &str| -> Result<u16, String> {
                number(k).and_then(|p| u16::try_from(p).ok()).ok_or_else(|| bad(k, "a TCP port number"))
            };
            resources.push(match class.as_str() {
                "ModbusTCPCoil" => {
                    let (host, port) = text("host")
                        .and_then(|h| host_and_port(&h, 502))
                        .ok_or_else(|| bad("host", "HOST or HOST:PORT"))?;
                    let coil = number("coil")
                        .and_then(|c| u16::try_from(c).ok())
                        .ok_or_else(|| bad("coil", "a coil number"))?;
                    PlaceResource::ModbusTcpCoil {
                        name,
                        host,
                        port,
                        coil,
                        invert: flag("invert"),
                        write_multiple: flag("write_multiple_coils"),
                    }
                }
                "NetworkSerialPort" => {
                    let host = text("host").ok_or_else(|| bad("host", "a host name"))?;
                    let port = port16("port")?;
                    let p = text("protocol").unwrap_or_else(|| "rfc2217".into());
                    let protocol = SerialProtocol::from_labgrid(&p).ok_or_else(|| bad("protocol", "raw or rfc2217"))?;
                    PlaceResource::NetworkSerialPort { name, host, port, protocol }
                }
                "NetworkService" => {
                    let address = text("address").ok_or_else(|| bad("address", "a host name or address"))?;
                    // labgrid's default for a NetworkService is 22 (ssh); a recorder's is its HTTP port.
                    let port = if params.get("port").is_some() { port16("port")? } else { 22 };
                    PlaceResource::NetworkService { name, address, port }
                }
                _ => PlaceResource::Other { name, class },
            });
        }
        Ok(PlaceResources { resources })
    }

    /// The resource of `class` named `name`; with `name` `None`, the one named `fallback`, else the
    /// only one of its class.
    fn find(&self, class: &str, name: Option<&str>, fallback: &str) -> Result<&PlaceResource, String> {
        let of_class: Vec<&PlaceResource> = self.resources.iter().filter(|r| r.class() == class).collect();
        let names = || of_class.iter().map(|r| r.name()).collect::<Vec<_>>().join(", ");
        match name {
            Some(n) => of_class
                .iter()
                .copied()
                .find(|r| r.name() == n)
                .ok_or_else(|| format!("has no {class} named `{n}` (its {class} resources: {})", or_none(&names()))),
            None => match of_class.iter().copied().find(|r| r.name() == fallback) {
                Some(r) => Ok(r),
                None if of_class.len() == 1 => Ok(of_class[0]),
                None => Err(format!(
                    "has no {class} named `{fallback}` and not exactly one {class} (it has: {})",
                    or_none(&names())
                )),
            },
        }
    }

    /// A resource `labgrid-client power` switches, named `name` (or the place's only one).
    fn power_port(&self, name: &str) -> Option<&PlaceResource> {
        let ports: Vec<&PlaceResource> = self.resources.iter().filter(|r| POWER_CLASSES.contains(&r.class())).collect();
        ports.iter().copied().find(|r| r.name() == name).or(if ports.len() == 1 { Some(ports[0]) } else { None })
    }

    /// A one-line list for messages: `power (ModbusTCPCoil), console (NetworkSerialPort)`.
    pub fn summary(&self) -> String {
        or_none(&self.resources.iter().map(|r| format!("{} ({})", r.name(), r.class())).collect::<Vec<_>>().join(", "))
    }
}

fn or_none(s: &str) -> String {
    if s.is_empty() { "none".into() } else { s.to_owned() }
}

impl PlaceSpec {
    /// The place's resources (`labgrid-client -p PLACE env`); the run must hold the place.
    pub async fn resources(&self) -> Result<PlaceResources, RigError> {
        let what = format!("resources of labgrid place {}", self.place);
        let ran = run(&self.client_command("env"), &what, DEFAULT_LABGRID_TIMEOUT, Blame::Harness).await?;
        PlaceResources::parse(&self.place, &ran.stdout).map_err(|message| self.resource_error(message))
    }

    /// `bench` with its `driver: labgrid` parts taken from this place's resources.
    pub async fn resolve(&self, bench: &Bench) -> Result<Bench, RigError> {
        if !bench.takes_from_place() {
            return Ok(bench.clone());
        }
        bench.with_place_resources(self, &self.resources().await?)
    }

    fn resource_error(&self, message: String) -> RigError {
        RigError::PlaceResource { place: self.place.clone(), coordinator: self.coordinator.clone(), message }
    }
}

impl Bench {
    /// The same bench with every part that comes from the labgrid place `spec` (`driver: labgrid`,
    /// a device without an address) pointed at the place's resources `res`. Afterwards only real
    /// drivers remain: Modbus TCP coils, `labgrid-client power` commands, a network console.
    pub fn with_place_resources(&self, spec: &PlaceSpec, res: &PlaceResources) -> Result<Bench, RigError> {
        let err = |part: &str, m: String| {
            spec.resource_error(format!(
                "{part} says driver labgrid, but the place {m}; its resources: {}",
                res.summary()
            ))
        };
        let mut b = self.clone();
        let switch = |s: &mut SwitchSpec, part: &str| -> Result<(), RigError> {
            let SwitchSpec::Place { resource, off, timeout } = s.clone() else {
                return Ok(());
            };
            if let Some(PlaceResource::ModbusTcpCoil { host, port, coil, invert, write_multiple, .. }) =
                res.resources.iter().find(|r| r.class() == "ModbusTCPCoil" && r.name() == resource)
            {
                *s = SwitchSpec::Coil(CoilSpec {
                    board: BoardSpec::Tcp { host: host.clone(), port: *port },
                    // labgrid's ModbusTCPCoil has no unit id: its driver talks to unit 1.
                    unit: 1,
                    coil: *coil,
                    invert: *invert,
                    write_multiple: *write_multiple,
                    off,
                    timeout,
                });
                return Ok(());
            }
            if part == "power"
                && let Some(port) = res.power_port(&resource)
            {
                let name = port.name().to_owned();
                let cmd = |action: &str| spec.client_command(&format!("power {action} --name {}", quote_name(&name)));
                *s = SwitchSpec::Command(Box::new(CommandTemplates {
                    on: cmd("on"),
                    off: cmd("off"),
                    get: Some(cmd("get")),
                    timeout: timeout.max(DEFAULT_LABGRID_TIMEOUT),
                    off_time: off,
                }));
                return Ok(());
            }
            let also = if part == "power" { " nor a power port labgrid switches" } else { "" };
            Err(err(part, format!("has no ModbusTCPCoil named `{resource}`{also}")))
        };
        switch(&mut b.power, "power")?;
        switch(&mut b.network, "network")?;
        if let ConsolePort::Place { resource } = &b.console.port {
            match res.find("NetworkSerialPort", resource.as_deref(), "console").map_err(|m| err("console", m))? {
                PlaceResource::NetworkSerialPort { host, port, protocol, .. } => {
                    b.console.port = ConsolePort::Network { host: host.clone(), port: *port, protocol: *protocol };
                }
                _ => unreachable!("found by class"),
            }
        }
        if let Some(service) = &b.device.service {
            let name = (!service.is_empty()).then_some(service.as_str());
            let found = res.find("NetworkService", name, "http").map_err(|m| {
                spec.resource_error(format!(
                    "the bench file gives no device address and the place {m}; its resources: {}",
                    res.summary()
                ))
            })?;
            if let PlaceResource::NetworkService { address, port, .. } = found {
                b.device.address = address.clone();
                b.device.http_port = *port;
            }
            if let Some(PlaceResource::NetworkService { port, .. }) =
                res.resources.iter().find(|r| r.class() == "NetworkService" && r.name() == "rtsp")
            {
                b.device.rtsp_port = *port;
            }
            b.device.service = None;
        }
        Ok(b)
    }
}

/// A resource name as one shell word (labgrid names are identifiers; anything else is quoted).
fn quote_name(name: &str) -> String {
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        name.to_owned()
    } else {
        format!("'{}'", name.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// What labgrid 25.0.1's `labgrid-client -p bench-lg env` printed for the test place.
    const ENV: &str = "targets:
  bench-lg:
    resources:
    - NetworkSerialPort:
        name: console
        host: 127.0.0.1
        speed: 115200
        protocol: rfc2217
        port: 45999
    - NetworkService:
        name: http
        address: 127.0.0.1
        username: admin
        password: not-used
        port: 46693
    - NetworkService:
        name: rtsp
        address: 127.0.0.1
        username: admin
        port: 39755
    - ModbusTCPCoil:
        name: link
        coil: 1
        host: 127.0.0.1:45071
    - ModbusTCPCoil:
        name: power
        coil: 0
        host: 127.0.0.1:45071
        invert: true
";

    const BENCH: &str = "rig: bench-lg
device:
  model: DNR216
  credentials: { admin_user: admin, admin_password_env: RESETLAB_LG_PASSWORD }
power:   { driver: labgrid, off_ms: 100 }
network: { driver: labgrid }
console: { driver: labgrid }
labgrid: { coordinator: \"127.0.0.1:20408\", place: bench-lg }
";

    fn spec() -> PlaceSpec {
        PlaceSpec { coordinator: "127.0.0.1:20408".into(), place: "bench-lg".into() }
    }

    #[test]
    fn labgrid_env_output_is_read_into_resources() {
        let r = PlaceResources::parse("bench-lg", ENV).unwrap();
        assert_eq!(r.resources.len(), 5);
        assert_eq!(
            r.resources[4],
            PlaceResource::ModbusTcpCoil {
                name: "power".into(),
                host: "127.0.0.1".into(),
                port: 45071,
                coil: 0,
                invert: true,
                write_multiple: false
            }
        );
        assert_eq!(
            r.resources[0],
            PlaceResource::NetworkSerialPort {
                name: "console".into(),
                host: "127.0.0.1".into(),
                port: 45999,
                protocol: SerialProtocol::Rfc2217
            }
        );
        let e = PlaceResources::parse("other", ENV).unwrap_err();
        assert!(e.contains("targets.other.resources"), "{e}");
        let e = PlaceResources::parse("bench-lg", &ENV.replace("coil: 1", "coil: one")).unwrap_err();
        assert!(e.contains("ModbusTCPCoil `link`: `coil`"), "{e}");
        assert!(!PlaceResources::parse("bench-lg", ENV).unwrap().summary().contains("not-used"));
    }

    #[test]
    fn labgrid_parts_of_a_bench_are_taken_from_the_place() {
        let bench = Bench::parse("b.yaml", BENCH).unwrap();
        assert!(bench.takes_from_place());
        let r = PlaceResources::parse("bench-lg", ENV).unwrap();
        let b = bench.with_place_resources(&spec(), &r).unwrap();
        assert!(!b.takes_from_place());
        let SwitchSpec::Coil(p) = &b.power else { panic!("{:?}", b.power) };
        assert_eq!(
            (p.board.clone(), p.unit, p.coil, p.invert),
            (BoardSpec::Tcp { host: "127.0.0.1".into(), port: 45071 }, 1, 0, true)
        );
        assert_eq!(p.off, Duration::from_millis(100));
        let SwitchSpec::Coil(l) = &b.network else { panic!("{:?}", b.network) };
        assert_eq!(l.coil, 1);
        assert_eq!(
            b.console.port,
            ConsolePort::Network { host: "127.0.0.1".into(), port: 45999, protocol: SerialProtocol::Rfc2217 }
        );
        assert_eq!((b.device.address.as_str(), b.device.http_port, b.device.rtsp_port), ("127.0.0.1", 46693, 39755));
    }

    #[test]
    fn a_place_without_the_resource_is_an_error_naming_what_it_has() {
        let bench = Bench::parse(
            "b.yaml",
            &BENCH.replace("network: { driver: labgrid }", "network: { driver: labgrid, resource: uplink }"),
        )
        .unwrap();
        let r = PlaceResources::parse("bench-lg", ENV).unwrap();
        let e = bench.with_place_resources(&spec(), &r).unwrap_err().to_string();
        assert!(e.starts_with("labgrid place bench-lg on 127.0.0.1:20408: network says driver labgrid"), "{e}");
        assert!(e.contains("no ModbusTCPCoil named `uplink`") && e.contains("power (ModbusTCPCoil)"), "{e}");
    }

    #[test]
    fn power_falls_back_to_the_places_power_driver() {
        let env = "targets:\n  p:\n    resources:\n    - NetworkPowerPort: {name: pdu, model: gude, host: pdu.lab, index: 3}\n    - NetworkService: {name: web, address: 127.0.0.1, username: admin, port: 8080}\n";
        let bench =
            Bench::parse("b.yaml", &BENCH.replace("network: { driver: labgrid }\nconsole: { driver: labgrid }\n", ""))
                .unwrap();
        let spec = PlaceSpec { coordinator: "127.0.0.1:20408".into(), place: "p".into() };
        let b = bench.with_place_resources(&spec, &PlaceResources::parse("p", env).unwrap()).unwrap();
        let SwitchSpec::Command(t) = &b.power else { panic!("{:?}", b.power) };
        assert!(t.on.ends_with("-x 127.0.0.1:20408 -p p power on --name pdu"), "{}", t.on);
        assert!(t.get.as_deref().unwrap().ends_with("power get --name pdu"));
        // The only NetworkService gives the address when none is named `http`.
        assert_eq!((b.device.address.as_str(), b.device.http_port), ("127.0.0.1", 8080));
    }

    #[test]
    fn hosts_with_and_without_ports() {
        assert_eq!(host_and_port("10.0.0.5", 502), Some(("10.0.0.5".into(), 502)));
        assert_eq!(host_and_port("relay:1502", 502), Some(("relay".into(), 1502)));
        assert_eq!(host_and_port("[::1]:1502", 502), Some(("::1".into(), 1502)));
        assert_eq!(host_and_port("relay:x", 502), None);
    }
}
