//! Fuzz target `rtsp_response`: see `resetlab_fuzz::rtsp_response` for what it feeds and what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| resetlab_fuzz::rtsp_response(data));
