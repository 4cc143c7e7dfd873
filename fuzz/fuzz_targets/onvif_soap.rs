//! Fuzz target `onvif_soap`: see `resetlab_fuzz::onvif_soap` for what it feeds and what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| resetlab_fuzz::onvif_soap(data));
