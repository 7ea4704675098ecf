//! The filter parser must never panic, whatever it is given (the body is
//! `cairn_fuzz::filter_parser`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn_fuzz::filter_parser::run(data));
