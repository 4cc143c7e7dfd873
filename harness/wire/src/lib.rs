//! Wire primitives that both sides of the recorder protocols need: the hashes of HTTP Digest (RFC 2617),
//! of the RPC2 login and of the ONVIF WS-Security UsernameToken, and the `Secret` type that keeps passwords out of every printed byte.
//!
//! Only hashes live here, never request/response logic: the device clients and the emulator each parse
//! and build their own messages, so one bug cannot make a broken client and a broken emulator agree.
//! Every function is pinned by a published vector in its unit tests.

pub mod digest;
pub mod rpc2;
pub mod secret;
pub mod wsse;

pub use secret::Secret;
