//! The bench drivers: what surrounds a leased device — its power and network-link switches and its serial console —
//! built from a bench file with the rig crate's real drivers. On the embedded lab the bench's
//! `driver: emulated` parts point at an emulated relay board (Modbus TCP, or RTU on a
//! pseudo-terminal) and a console on a pseudo-terminal, so CI drives exactly the code a lab bench
//! runs.

use std::net::SocketAddr;

use resetlab_rig::bench::{Bench, ConsolePort};
use resetlab_rig::{Console, CrashPatterns, Drivers, RigError, Switch as _, SwitchDriver};

use crate::blame::{Blame, fail};

/// Our blame for a rig error: relay, console and operator are the rig's.
pub fn blame_of(err: &RigError) -> Blame {
    match err.blame() {
        resetlab_rig::Blame::Device => Blame::Device,
        resetlab_rig::Blame::Harness => Blame::Harness,
        _ => Blame::Rig,
    }
}

/// Power, link and console of one device.
pub struct BenchDrivers {
    pub power: Option<SwitchDriver>,
    pub link: Option<SwitchDriver>,
    pub console: Option<Console>,
    /// The device's HTTP service, which "up" and "down" are judged by.
    pub service: SocketAddr,
    pub ready_marker: String,
}

impl std::fmt::Debug for BenchDrivers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BenchDrivers")
            .field("power", &self.power.as_ref().map(|p| p.describe()))
            .field("link", &self.link.as_ref().map(|p| p.describe()))
            .field("console", &self.console.as_ref().map(|c| c.name().to_owned()))
            .field("service", &self.service)
            .finish()
    }
}

impl BenchDrivers {
    /// Drivers for a bench whose parts are all real (or resolved from the emulated lab).
    pub fn from_bench(
        bench: &Bench,
        service: SocketAddr,
        operator: Option<std::sync::Arc<resetlab_rig::Operator>>,
    ) -> Result<Self, RigError> {
        let mut drivers = Drivers::new(operator);
        let power = drivers.switch(&bench.power, "power")?;
        let link = drivers.switch(&bench.network, "network link")?;
        let console = match &bench.console.port {
            ConsolePort::Serial { path, baud } => {
                Some(Console::open_serial(path, *baud, CrashPatterns::with(&bench.console.crash), None)?)
            }
            // A labgrid place's NetworkSerialPort (ser2net), resolved from the place.
            ConsolePort::Network { host, port, protocol } => {
                Some(Console::open_network(host, *port, *protocol, CrashPatterns::with(&bench.console.crash), None)?)
            }
            _ => None,
        };
        Ok(BenchDrivers { power, link, console, service, ready_marker: bench.ready_marker() })
    }

    /// Rig tags (`power`, `network`, `console`) this device's bench can serve.
    pub fn can(&self, capability: &str) -> bool {
        match capability {
            "power" => self.power.is_some(),
            "network" => self.link.is_some(),
            "console" => self.console.is_some(),
            _ => false,
        }
    }

    pub fn console(&self) -> Option<&Console> {
        self.console.as_ref()
    }

    /// The driver of the power or link switch; a rig without it stops the step.
    pub fn driver(&self, which: Which) -> &SwitchDriver {
        let driver = match which {
            Which::Power => &self.power,
            Which::Link => &self.link,
        };
        driver.as_ref().unwrap_or_else(|| {
            fail(Blame::Harness, format!("this rig cannot switch the {which} (the scenario should be not applicable)"))
        })
    }
}

/// Which of the two switches (the rig crate's [`resetlab_rig::Part`]).
pub use resetlab_rig::Part as Which;
