//! Bench files (rigs/*.yaml, DESIGN.md §4): what exists on one bench — the recorder, the relay coils
//! for its power and network link, its console — and nothing about how to drive it. Errors name the
//! file, the line and the key; secrets are only ever named (an environment variable), never stored.
//!
//! This file is the bench as data: the spec types and what can be read off them. `parse.rs` turns
//! the YAML into that data ([`Bench::load`], [`Bench::parse`]); `resolve.rs` makes what a bench
//! names real at run time: the password from the environment or the operator, the recorder's
//! address by DNS, its firmware profile, and `driver: emulated` parts pointed at a started lab.

mod parse;
mod resolve;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use resetlab_profile::FixtureError;
use serde::Deserialize;

/// A bench file that could not be read or does not make sense (`file:line: key `k`: message`).
pub type BenchError = FixtureError;

/// Default per-request deadline for relay boards (their clients have none of their own).
pub const DEFAULT_RELAY_TIMEOUT: Duration = Duration::from_millis(1000);

/// One bench, loaded from a rig file. Its `app:` section is the app crate's
/// (`resetlab_app::bench::AppSpec`, parsed there once); the rig neither reads nor keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bench {
    /// The file it came from (for messages).
    pub file: PathBuf,
    /// The bench's name (`rig:`).
    pub rig: String,
    /// The recorder under test.
    pub device: DeviceSpec,
    /// What switches its power.
    pub power: SwitchSpec,
    /// What switches its network link.
    pub network: SwitchSpec,
    /// Its serial console.
    pub console: ConsoleSpec,
    /// The labgrid place the bench is shared through, acquired for a run.
    pub labgrid: Option<crate::labgrid::PlaceSpec>,
    /// What the bench accepts of TLS peers (`tls:`); verified certificates only, unless it says so.
    pub tls: TlsSpec,
}

/// `tls:` — what the bench accepts of the TLS peers it names (an `https://` relay; a recorder's
/// HTTPS): `tls: { accept_self_signed: true }`. Without it, a certificate must chain to a trusted
/// root (the system's CA store) and name the host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// Accept a certificate that cannot be verified (self-signed, as test relays and many recorders
    /// ship): the connection is encrypted but its peer is not authenticated. Only when the bench
    /// file says so; the report records that it did (provenance `bench.tls_accept_self_signed`).
    #[serde(default)]
    pub accept_self_signed: bool,
}

/// How long to wait for each answer from the recorder unless the bench file says otherwise.
pub const DEFAULT_DEVICE_TIMEOUT: Duration = Duration::from_secs(5);

/// `device:` — the recorder under test.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceSpec {
    /// Model under test.
    pub model: String,
    /// Host of its HTTP/RPC2/RTSP services (empty until a labgrid place's `NetworkService` gives it,
    /// when the bench file leaves it out: see [`DeviceSpec::service`]).
    pub address: String,
    /// The labgrid place's `NetworkService` that gives the address and HTTP port (`device.service`,
    /// or the place's service when the bench file names no address); `None`: the bench file's.
    pub service: Option<String>,
    /// HTTP port (0 in emulator.yaml: chosen when the lab starts).
    pub http_port: u16,
    /// RTSP port.
    pub rtsp_port: u16,
    /// Firmware profile file, relative to the working directory.
    pub profile: Option<PathBuf>,
    /// Administrator account name.
    pub admin_user: String,
    /// Environment variable holding the administrator password.
    pub admin_password_env: Option<String>,
    /// How long to wait for each answer from the recorder (`timeout_ms`, default 5000): a slow
    /// embedded CPU or a long path may need more, a fault test less.
    pub timeout: Duration,
    /// How many requests may be in flight to the recorder at once (`concurrency`, default 4: one
    /// per local interface); 1 for firmware that serves one connection at a time.
    pub concurrency: usize,
    /// HTTP CGI, RPC2 and ONVIF over HTTPS on `ports.http` (`https: true`; RTSP stays plain). The
    /// recorder's certificate must verify unless the bench says `tls: { accept_self_signed: true }`.
    pub https: bool,
}

/// `power:` or `network:` — one switch.
#[derive(Debug, Clone, PartialEq)]
pub enum SwitchSpec {
    /// A coil on a relay board (Modbus TCP, RTU, or the emulated board).
    Coil(CoilSpec),
    /// Command line templates (`driver: command`): on, off, and a `get` that reads the state back.
    Command(Box<crate::command::CommandTemplates>),
    /// A resource of the bench's labgrid place (`driver: labgrid`): its `ModbusTCPCoil` named
    /// `resource`, or the place's power driver; replaced by [`Bench::with_place_resources`].
    Place {
        /// The resource's name in the place (default `power` for power, `link` for the network).
        resource: String,
        /// Minimum off time.
        off: Duration,
        /// Deadline for each request.
        timeout: Duration,
    },
    /// A person does it when asked.
    Operator {
        /// Minimum off time.
        off: Duration,
    },
    /// The bench has no such switch.
    None,
}

/// Which relay board a coil is on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BoardSpec {
    /// Modbus TCP at host:port.
    Tcp { host: String, port: u16 },
    /// Modbus RTU on a serial line.
    Rtu { path: PathBuf, baud: u32 },
    /// The embedded lab's board; replaced by [`Bench::with_emulated_addresses`].
    Emulated,
}

/// A coil on a relay board, with its wiring options.
#[derive(Debug, Clone, PartialEq)]
pub struct CoilSpec {
    /// The board.
    pub board: BoardSpec,
    /// Modbus unit (slave) id.
    pub unit: u8,
    /// Coil address (0-based).
    pub coil: u16,
    /// Normally-closed wiring: the coil reads 0 when the part is on.
    pub invert: bool,
    /// The board accepts only "write multiple coils" (function 15).
    pub write_multiple: bool,
    /// Minimum off time before switching back on.
    pub off: Duration,
    /// Deadline for each Modbus request.
    pub timeout: Duration,
}

/// `console:` — the serial console.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleSpec {
    /// Where it is.
    pub port: ConsolePort,
    /// The boot marker; `None` means the firmware profile's `boot.ready_marker`.
    pub ready: Option<String>,
    /// Extra crash patterns beyond the built-in ones.
    pub crash: Vec<String>,
}

/// Where a console is.
#[derive(Debug, Clone, PartialEq)]
pub enum ConsolePort {
    /// A serial device (USB adapter, pseudo-terminal).
    Serial { path: PathBuf, baud: u32 },
    /// The output of a long-running command (`driver: command`, e.g. `labgrid-client console`).
    Command { command: String },
    /// The embedded lab's console; replaced by [`Bench::with_emulated_addresses`].
    Emulated,
    /// A serial port on the network (ser2net, a console server): labgrid's `NetworkSerialPort`.
    Network {
        /// Host of the serial server.
        host: String,
        /// Its TCP port.
        port: u16,
        /// `raw` TCP or telnet with RFC 2217 (ser2net's `telnet(rfc2217)`, labgrid's default).
        protocol: crate::network_serial::SerialProtocol,
    },
    /// The bench's labgrid place's `NetworkSerialPort` (`driver: labgrid`; `None`: the place's only
    /// one, or the one named `console`); replaced by [`Bench::with_place_resources`].
    Place { resource: Option<String> },
    /// No console on this bench.
    None,
}

/// Where the embedded lab put things (given by the crate that starts it), for
/// [`Bench::with_emulated_addresses`].
#[derive(Debug, Clone, PartialEq)]
pub struct EmulatedAddresses {
    /// How the emulated relay board is reached: Modbus TCP on loopback, or RTU on its
    /// pseudo-terminal (never [`BoardSpec::Emulated`]).
    pub board: BoardSpec,
    /// The emulated relay board's unit id.
    pub unit: u8,
    /// Power and link coils of this recorder on that board.
    pub power_coil: u16,
    /// Link coil.
    pub link_coil: u16,
    /// The recorder's console pseudo-terminal.
    pub console: PathBuf,
    /// The recorder's HTTP address.
    pub http: SocketAddr,
    /// The recorder's RTSP address.
    pub rtsp: SocketAddr,
}

impl Bench {
    /// Whether some part comes from the labgrid place's resources (`driver: labgrid`, or a device
    /// address from its NetworkService): [`Bench::with_place_resources`] must resolve it first.
    pub fn takes_from_place(&self) -> bool {
        let sw = |s: &SwitchSpec| matches!(s, SwitchSpec::Place { .. });
        sw(&self.power)
            || sw(&self.network)
            || matches!(self.console.port, ConsolePort::Place { .. })
            || self.device.service.is_some()
    }

    /// Whether any part says `driver: emulated` (the embedded lab must be started).
    pub fn uses_emulated(&self) -> bool {
        let sw = |s: &SwitchSpec| matches!(s, SwitchSpec::Coil(c) if c.board == BoardSpec::Emulated);
        sw(&self.power) || sw(&self.network) || self.console.port == ConsolePort::Emulated
    }

    /// Whether a person switches the power or the network link (`driver: operator`). Whether a
    /// person also holds the app's phone is the app crate's to say: a run needs an operator when
    /// either does (`resetlab_app::bench::needs_operator`).
    pub fn switched_by_hand(&self) -> bool {
        let by_hand = |s: &SwitchSpec| matches!(s, SwitchSpec::Operator { .. });
        by_hand(&self.power) || by_hand(&self.network)
    }
}
