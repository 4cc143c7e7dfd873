//! Errors of the relay's own lifecycle (binding, waiting for a device); API errors are HTTP statuses.

use std::time::Duration;

/// What went wrong starting or observing the relay.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The listening socket could not be bound.
    #[error("cloud relay: cannot listen on {addr}: {source}")]
    Bind {
        /// Address asked for.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A wait expired; names what was awaited.
    #[error("cloud relay: waited {deadline:?} for {what}, it did not happen")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        deadline: Duration,
    },
}
