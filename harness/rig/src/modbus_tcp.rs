//! Relay boards on Modbus TCP (one board per host:port; unit ids select a module behind a gateway).

use std::sync::Arc;
use std::time::Duration;

use crate::relay::{RelayBoard, Transport};

/// A Modbus TCP relay board at `host:port`; each request waits at most `timeout`.
pub fn board(host: &str, port: u16, timeout: Duration) -> Arc<RelayBoard> {
    RelayBoard::new(format!("modbus-tcp {host}:{port}"), Transport::Tcp { host: host.to_owned(), port }, timeout)
}
