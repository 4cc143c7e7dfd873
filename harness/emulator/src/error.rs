//! Errors of the emulator's own API (starting, waiting). Protocol refusals are not errors here: they
//! are answers the emulated firmware sends on the wire.

use std::net::SocketAddr;
use std::time::Duration;

/// Why the emulated recorder could not do what its owner asked.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// A listening port could not be reserved or opened.
    #[error("[emulator] could not bind the {service} port on {addr}: {source}")]
    Bind {
        /// `http` or `rtsp`.
        service: &'static str,
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The recorder did not become ready in time.
    #[error(
        "[emulator] recorder {serial} was not ready (powered {powered}, link {linked}, booted {booted}) within {deadline:?}"
    )]
    NotReady {
        /// The recorder's serial.
        serial: String,
        /// Whether power was on when the wait gave up.
        powered: bool,
        /// Whether the link was up.
        linked: bool,
        /// Whether the boot log had reached its ready marker.
        booted: bool,
        /// How long the wait was.
        deadline: Duration,
    },
    /// The recorder was shut down.
    #[error("[emulator] recorder {serial} was shut down")]
    ShutDown {
        /// The recorder's serial.
        serial: String,
    },
}
