//! Entry points for the cargo-fuzz targets in `fuzz/` (not an API): the parsers that read what a
//! device sends, reachable without a socket. Each returns normally on any input; a panic is a bug.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use resetlab_wire::Secret;

use crate::challenge::Challenge;
use crate::error::ErrorKind;

/// Pick and parse the Digest challenge among `values` (the `WWW-Authenticate` headers), then answer
/// it for `GET uri`; `Ok` is the `Authorization` value, `Err` the protocol error's text.
pub fn digest_challenge(values: &[&str], uri: &str) -> Result<String, String> {
    let text = |k: ErrorKind| k.to_string();
    let mut c = Challenge::from_headers(values.iter().copied()).map_err(text)?;
    let _ = c.stale();
    let _ = c.realm();
    let first = c.authorization("GET", uri, "admin", &Secret::new("fuzz-pw")).map_err(text)?;
    // The nonce count advances: answering twice must work too.
    c.authorization("DESCRIBE", uri, "admin", &Secret::new("fuzz-pw")).map_err(text)?;
    Ok(first)
}

/// Read one RTSP response from `bytes`; `Ok` is its status, `Err` the detail a device error would carry.
pub fn rtsp_response(bytes: &[u8]) -> Result<u16, String> {
    let mut reader = bytes;
    let fut = pin!(crate::rtsp::read_response(&mut reader));
    // A byte slice never makes a reader wait, so one poll finishes the read.
    match fut.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(r) => r.map(|resp| resp.status).map_err(|(detail, _)| detail),
        Poll::Pending => panic!("reading an RTSP response from a byte slice did not finish"),
    }
}
