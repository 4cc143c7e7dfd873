//! Fuzz target `profile_yaml`: see `resetlab_fuzz::profile_yaml` for what it feeds and what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| resetlab_fuzz::profile_yaml(data));
