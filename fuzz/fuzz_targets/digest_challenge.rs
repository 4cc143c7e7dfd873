//! Fuzz target `digest_challenge`: see `resetlab_fuzz::digest_challenge` for what it feeds and what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| resetlab_fuzz::digest_challenge(data));
