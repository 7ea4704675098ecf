//! The rule compiler over a schema with relations (see `cairn_fuzz::rules`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn_fuzz::rules::run(data));
