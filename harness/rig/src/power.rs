//! The switch trait that power and network link drivers implement (labgrid's PowerProtocol), and the
//! driver chosen by name from a bench file.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::bench::{BoardSpec, SwitchSpec};
use crate::error::RigError;
use crate::operator::{Operator, OperatorSwitch};
use crate::relay::{CoilOptions, RelayBoard, RelayCoil};

/// What a completed switch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switched {
    /// The state now in force (verified by read-back where the driver can read back).
    pub on: bool,
    /// Time from the call to the verified state.
    pub took: Duration,
    /// Part of `took` spent waiting out the minimum off time.
    pub held_off: Duration,
}

/// Something that switches a part on and off: a power relay, a network-link relay, a person.
pub trait Switch {
    /// What this is, for messages.
    fn describe(&self) -> String;
    /// Switch and verify; `on` after an off waits out the minimum off time first.
    fn set(&self, on: bool) -> impl Future<Output = Result<Switched, RigError>> + Send;
    /// The current state, read from the hardware where possible.
    fn get(&self) -> impl Future<Output = Result<bool, RigError>> + Send;
}

/// A switch driver chosen by name in a bench file.
#[derive(Debug)]
pub enum SwitchDriver {
    /// modbus-tcp or modbus-rtu (or the emulated board, reached over Modbus TCP).
    Relay(RelayCoil),
    /// command: on/off/get templates.
    Command(crate::command::CommandSwitch),
    /// operator.
    Operator(OperatorSwitch),
}

impl SwitchDriver {
    /// How a switch is verified: "read-back" (relay) or "operator" (a person's word).
    pub fn verified_by(&self) -> &'static str {
        match self {
            SwitchDriver::Relay(_) => "read-back",
            SwitchDriver::Command(c) if c.reads_back() => "read-back",
            SwitchDriver::Command(_) => "exit status",
            SwitchDriver::Operator(_) => "operator",
        }
    }

    /// Who is blamed when the switch reports success but the device shows no effect.
    pub fn blame(&self) -> crate::error::Blame {
        match self {
            SwitchDriver::Relay(_) | SwitchDriver::Command(_) => crate::error::Blame::Relay,
            SwitchDriver::Operator(_) => crate::error::Blame::Operator,
        }
    }
}

impl Switch for SwitchDriver {
    fn describe(&self) -> String {
        match self {
            SwitchDriver::Relay(c) => c.describe(),
            SwitchDriver::Command(c) => c.describe(),
            SwitchDriver::Operator(o) => o.describe(),
        }
    }

    async fn set(&self, on: bool) -> Result<Switched, RigError> {
        match self {
            SwitchDriver::Relay(c) => c.set(on).await,
            SwitchDriver::Command(c) => c.set(on).await,
            SwitchDriver::Operator(o) => o.set(on).await,
        }
    }

    async fn get(&self) -> Result<bool, RigError> {
        match self {
            SwitchDriver::Relay(c) => c.get().await,
            SwitchDriver::Command(c) => c.get().await,
            SwitchDriver::Operator(o) => o.get().await,
        }
    }
}

/// Builds switch drivers from bench specs, sharing one connection per relay board.
#[derive(Default)]
pub struct Drivers {
    boards: HashMap<BoardSpec, Arc<RelayBoard>>,
    operator: Option<Arc<Operator>>,
}

impl Drivers {
    /// A builder; `operator` is used for `driver: operator` parts.
    pub fn new(operator: Option<Arc<Operator>>) -> Self {
        Drivers { boards: HashMap::new(), operator }
    }

    /// The driver for `spec` (`what` = "power" or "network link"); `None` for `driver: none`.
    pub fn switch(&mut self, spec: &SwitchSpec, what: &str) -> Result<Option<SwitchDriver>, RigError> {
        match spec {
            SwitchSpec::None => Ok(None),
            SwitchSpec::Place { resource, .. } => Err(RigError::Harness(format!(
                "{what} says driver: labgrid (resource {resource}) but the place's resources were not read (PlaceSpec::resolve)"
            ))),
            SwitchSpec::Command(t) => {
                Ok(Some(SwitchDriver::Command(crate::command::CommandSwitch::new((**t).clone(), what))))
            }
            SwitchSpec::Operator { off } => {
                let op = self.operator.clone().ok_or_else(|| {
                    RigError::Harness(format!(
                        "{what} is switched by an operator: run on a terminal or give an answers file"
                    ))
                })?;
                Ok(Some(SwitchDriver::Operator(OperatorSwitch::new(op, what, *off))))
            }
            SwitchSpec::Coil(c) => {
                let board = match &c.board {
                    BoardSpec::Tcp { host, port } => crate::modbus_tcp::board(host, *port, c.timeout),
                    BoardSpec::Rtu { path, baud } => crate::modbus_rtu::board(path, *baud, c.timeout),
                    BoardSpec::Emulated => {
                        return Err(RigError::Harness(format!(
                            "{what} says driver: emulated but no emulated lab was started (Bench::with_emulated_addresses)"
                        )));
                    }
                };
                let board = Arc::clone(self.boards.entry(c.board.clone()).or_insert(board));
                Ok(Some(SwitchDriver::Relay(board.coil(CoilOptions {
                    unit: c.unit,
                    coil: c.coil,
                    invert: c.invert,
                    write_multiple: c.write_multiple,
                    off: c.off,
                    what: what.to_owned(),
                }))))
            }
        }
    }
}
