//! Record values coerced and checked for every kind of field (see
//! `cairn_fuzz::values`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn_fuzz::values::run(data));
