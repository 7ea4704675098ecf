//! The filter parser must never panic, whatever it is given.

pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = cairn::query::parser::parse(&text);
}
