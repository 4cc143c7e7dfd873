//! Clients for a recorder's own interfaces — HTTP CGI (Digest), RPC2 (JSON login + session), RTSP
//! (Digest, no qop; DESCRIBE, and a check that plays a stream to a decoded key frame) and ONVIF
//! (SOAP 1.2, WS-Security UsernameToken) — written against real
//! Dahua-family firmware (FLIR/Lorex OEM), not against our emulator: they tolerate CRLF or LF bodies, extra keys, `Error` bodies under HTTP 200, Digest
//! challenges with or without qop and stale nonces.
//!
//! Every call has a deadline ([`Target::timeout`]) and every failure is a [`DeviceError`] that says
//! which interface, what was sent (passwords masked as `•••`) and what came back.

#![warn(missing_docs)]

mod call;
pub mod cgi;
pub mod challenge;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod h264;
mod http;
pub mod interface;
pub mod kv;
pub mod login;
pub mod onvif;
pub mod picture;
pub mod play;
pub mod redact;
pub mod rpc2;
pub mod rtsp;
mod shared;
pub mod soap;
pub mod stats;
pub mod stream;
pub mod target;
pub mod tls;

pub use cgi::{Cgi, UnreadChange, UserInfo};
pub use error::{DeviceError, ErrorKind};
pub use interface::Interface;
pub use kv::KvBody;
pub use login::{LoginOutcome, try_login};
pub use onvif::{DeviceInformation, Onvif, OnvifUser};
pub use picture::Picture;
pub use play::{PlayOutcome, PlayStep, Played};
pub use resetlab_wire::Secret;
pub use rpc2::Rpc2Session;
pub use rtsp::{Rtsp, RtspResponse};
pub use stats::{RequestCounters, RequestStats};
pub use stream::Stream;
pub use target::{Credentials, Target};
