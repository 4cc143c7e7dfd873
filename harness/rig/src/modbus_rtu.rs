//! Relay boards on Modbus RTU over a serial line (USB RS-485 adapter). The port is opened through
//! tokio-serial without libudev; all coils on one line share one open port.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::relay::{RelayBoard, Transport};

/// A Modbus RTU relay board on serial `path` at `baud` (8N1); each request waits at most `timeout`.
pub fn board(path: &Path, baud: u32, timeout: Duration) -> Arc<RelayBoard> {
    RelayBoard::new(
        format!("modbus-rtu {}@{baud}", path.display()),
        Transport::Rtu { path: path.to_owned(), baud },
        timeout,
    )
}
