//! Random strings from the operating system's generator, for ids, token
//! keys and secrets; `pattern` draws one from a regular expression (a text
//! field's `autogeneratePattern`).

mod pattern;

pub use pattern::{PatternError, from_pattern};

use rand::{Rng, RngCore, distr::Alphanumeric};

const LOWER_ALNUM: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// The largest multiple of 36 a byte can hold: bytes below it map evenly
/// onto the alphabet, the few above are drawn again.
const EVEN_BYTES: u8 = 252;

/// `len` characters of `[a-z0-9]`, each equally likely: record ids and
/// other row ids. Drawn as bytes in bulk rather than one bounded draw per
/// character, which cost a third more.
pub fn lower_alphanumeric(len: usize) -> String {
    let mut rng = rand::rng();
    let mut out = String::with_capacity(len);
    let mut bytes = [0u8; 32];
    while out.len() < len {
        rng.fill_bytes(&mut bytes);
        for &b in bytes.iter().filter(|&&b| b < EVEN_BYTES).take(len - out.len()) {
            out.push(char::from(LOWER_ALNUM[usize::from(b % 36)]));
        }
    }
    out
}

/// `len` characters of `[A-Za-z0-9]`: token keys and secrets.
pub fn alphanumeric(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_alphanumeric_draws_every_character_of_its_alphabet_evenly() {
        let mut seen = [0u32; 36];
        for len in [0, 1, 15, 20, 31, 32, 33, 100] {
            assert_eq!(lower_alphanumeric(len).len(), len);
        }
        for _ in 0..20_000 {
            for c in lower_alphanumeric(18).bytes() {
                let i = LOWER_ALNUM.iter().position(|&a| a == c).expect("in the alphabet");
                seen[i] += 1;
            }
        }
        // 360,000 draws, 10,000 expected per character (one standard
        // deviation is about 100). Taking every byte modulo 36 would give
        // four characters 8/7 the share of the rest, about 11,250 draws.
        let (least, most) = (seen.iter().min(), seen.iter().max());
        assert!(least >= Some(&9_500) && most <= Some(&10_500), "{seen:?}");
    }
}
