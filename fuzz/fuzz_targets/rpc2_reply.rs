//! Fuzz target `rpc2_reply`: see `resetlab_fuzz::rpc2_reply` for what it feeds and what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| resetlab_fuzz::rpc2_reply(data));
