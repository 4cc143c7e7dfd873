//! The emulated lab's recorder: a Dahua-family DVR/NVR that speaks HTTP CGI (Digest), RPC2 and RTSP
//! on loopback, with a firmware profile, a power and link model, a serial console and injectable
//! defects. Third-party clients (curl, ffmpeg) and resetlab's own device clients cannot tell it from
//! the real thing for what the suite certifies.
//!
//! ```no_run
//! # async fn demo() -> Result<(), resetlab_emulator::EmulatorError> {
//! use resetlab_emulator::{Recorder, RecorderConfig};
//! let rec = Recorder::start(RecorderConfig::new(resetlab_profile::flir_2017())).await?;
//! println!("curl --digest -u admin:000000 'http://{}/cgi-bin/magicBox.cgi?action=getMachineName'", rec.http_addr());
//! rec.shutdown().await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod accounts;
mod cgi;
mod clock;
mod console;
mod defects;
mod digest;
mod error;
mod firmware;
mod flash;
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod latency;
mod lockout;
mod media;
mod onvif;
mod p2p;
mod power;
mod recorder;
mod rpc2;
mod rtsp;
mod sessions;

pub use defects::{Defect, UnknownDefect};
pub use error::EmulatorError;
pub use firmware::{P2pLogin, Stats};
pub use p2p::DEFAULT_PASSWORD_REFUSED;
pub use recorder::{Recorder, RecorderConfig};
