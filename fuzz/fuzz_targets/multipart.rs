//! Record bodies, multipart forms above all (see `cairn_fuzz::multipart`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cairn_fuzz::multipart::run(data));
