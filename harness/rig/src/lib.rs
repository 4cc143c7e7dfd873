//! Rig drivers: power and network link through Modbus relay boards, the serial console, operator
//! prompts, bench files, readiness and the `rig check` procedure.
//!
//! Laid out like labgrid: what exists on a bench (a resource, [`bench`]) is separate from how it is
//! switched (a driver: [`modbus_tcp`], [`modbus_rtu`], [`command`], [`operator`], all behind [`power::Switch`]) and
//! from how a target reaches a state ([`ready`], [`cycle`], [`check`]). This crate never imports the emulator:
//! the emulated lab is reached through the same Modbus and serial drivers as a real bench.

pub mod bench;
pub mod check;
pub mod command;
pub mod console;
pub mod cycle;
pub mod error;
pub mod labgrid;
pub mod modbus_rtu;
pub mod modbus_tcp;
pub mod network_serial;
pub mod operator;
pub mod place;
pub mod power;
pub mod ready;
pub mod relay;
mod serial;

pub use bench::{Bench, BenchError, EmulatedAddresses};
pub use check::{Check, CheckOptions, CheckReport, Outcome, rig_check};
pub use command::{CommandSwitch, CommandTemplates};
pub use console::{Console, CrashPatterns, Cursor, Seen};
pub use cycle::{Deadlines, Part};
pub use error::{Blame, RigError};

pub use operator::{Operator, OperatorSwitch};
pub use power::{Drivers, Switch, SwitchDriver, Switched};
pub use ready::{Ready, wait_down, wait_ready};
pub use relay::{CoilOptions, RelayBoard, RelayCoil};
