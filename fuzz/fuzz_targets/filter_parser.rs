//! The filter parser must never panic, whatever it is given; the compiler
//! must never panic on anything the parser accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = cairn::query::parser::parse(&text);
});
