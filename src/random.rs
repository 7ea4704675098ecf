//! Random strings from the operating system's generator, for ids, token
//! keys and secrets.

use rand::{Rng, distr::Alphanumeric};

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// `len` characters of `[a-z0-9]`: record ids.
pub fn lower_alphanumeric(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| LOWER_ALNUM[rng.random_range(0..LOWER_ALNUM.len())] as char)
        .collect()
}

/// `len` characters of `[A-Za-z0-9]`: token keys and secrets.
pub fn alphanumeric(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}
