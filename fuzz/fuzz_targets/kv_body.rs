//! Fuzz target `kv_body`: see `resetlab_fuzz::kv_body` for what it feeds and what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| resetlab_fuzz::kv_body(data));
