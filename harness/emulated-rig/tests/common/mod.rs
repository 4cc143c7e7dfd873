#![allow(dead_code)]
//! Shared set-up: one emulated recorder on a fresh emulated relay board.

use std::time::Duration;

use resetlab_emulated_rig::{EmulatedBench, Layout};
use resetlab_emulator::{Recorder, RecorderConfig};
use resetlab_rig::relay::{CoilOptions, RelayCoil};

pub async fn lab() -> EmulatedBench {
    let rec = Recorder::start(RecorderConfig::new(resetlab_profile::flir_2017())).await.expect("recorder starts");
    EmulatedBench::start(vec![rec], Layout::default()).await.expect("board starts")
}

pub fn opts(coil: u16, what: &str) -> CoilOptions {
    CoilOptions { unit: 1, coil, invert: false, write_multiple: false, off: Duration::ZERO, what: what.into() }
}

pub fn tcp(lab: &EmulatedBench, o: CoilOptions) -> RelayCoil {
    resetlab_rig::modbus_tcp::board("127.0.0.1", lab.modbus_tcp_addr().port(), Duration::from_millis(500)).coil(o)
}

pub fn rtu(lab: &EmulatedBench, o: CoilOptions) -> RelayCoil {
    resetlab_rig::modbus_rtu::board(lab.modbus_rtu_path(), 9600, Duration::from_millis(500)).coil(o)
}

pub fn rigs_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rigs")
}
