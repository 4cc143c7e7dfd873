//! Wire primitives that both sides of the recorder protocols need: the hashes of HTTP Digest (RFC 2617),
//! of the RPC2 login and of the ONVIF WS-Security UsernameToken, and the `Secret` type that keeps passwords out of every printed byte.
//!
//! Besides them: [`encoded`], the spellings a secret takes in text (so redaction finds it percent-,
//! JSON- or XML-encoded), and [`error_text`], HTTP client errors without their URL (which may carry
//! `pwd=`), shared by every crate that makes such calls.
//!
//! Only hashes and these helpers live here, never request/response logic: the device clients and the emulator each parse
//! and build their own messages, so one bug cannot make a broken client and a broken emulator agree.
//! Every function is pinned by a published vector in its unit tests.

pub mod digest;
pub mod encoded;
pub mod error_text;
pub mod rpc2;
pub mod secret;
pub mod wsse;

pub use secret::Secret;
