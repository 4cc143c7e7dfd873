//! Fuzz target `ledger_journal`: see `resetlab_fuzz::ledger_journal` for what it feeds and what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| resetlab_fuzz::ledger_journal(data));
