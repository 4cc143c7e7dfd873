//! The emulated lab's cloud relay (DESIGN.md §3 "Cloud relay"), with the same shape as the vendor's
//! proprietary P2P service: recorders keep an outbound WebSocket tunnel to it, registered by serial
//! number; app accounts log in, list their devices and send HTTP requests that the relay forwards
//! through the device's tunnel. The app answers the recorder's Digest challenge itself, so the relay
//! only ever carries Digest responses and request lines; it stores no device password and logs no
//! request query (where CGI puts `pwd=`).
//!
//! - [`Relay`] — the service (HTTP API + tunnel endpoint), see docs/relay-api.md.
//! - [`Relay::attach`] / [`agent::attach`] — the device's side: the P2P client that dials the relay while the
//!   device is up and hands tunneled requests to the device's own HTTP port. The device is a
//!   [`TunnelEndpoint`] (the emulated recorder is one: its P2P policy is firmware, in
//!   `resetlab-emulator`); this crate depends on no emulator.
//!
//! ```no_run
//! # async fn demo(rec: impl resetlab_cloud_relay::TunnelEndpoint + Clone) -> Result<(), resetlab_cloud_relay::RelayError> {
//! use resetlab_cloud_relay::{Relay, RelayConfig};
//! let relay = Relay::start(RelayConfig::default()).await?;
//! relay.add_account("owner@example.com", "app-pass", [rec.serial()]);
//! let tunnel = relay.attach(&rec); // enrols the recorder: its tunnel secret goes to the agent only
//! relay.wait_online(&rec.serial(), std::time::Duration::from_secs(5)).await?;
//! # tunnel.detach().await; Ok(()) }
//! ```

#![warn(missing_docs)]

mod accounts;
pub mod agent;
mod credentials;
mod endpoint;
mod error;
mod limits;
mod password;
pub mod protocol;
mod server;
mod tunnels;

pub use accounts::LoginLockout;
pub use endpoint::{Screened, TunnelEndpoint};
pub use error::RelayError;
pub use limits::RelayLimits;
pub use password::HashCost;
pub use server::{Relay, RelayConfig};
