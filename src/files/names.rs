//! Stored file names, as PocketBase makes them: the client's name in
//! snake case (ASCII letters and digits only, at least three characters,
//! at most 100), a random suffix so two uploads never collide, and the
//! extension (up to two parts, `.tar.gz`) with anything odd removed. A
//! stored name is one plain path component, so no name can climb out of
//! its record's folder.

use crate::random;

const SUFFIX_LEN: usize = 10;
const MAX_BASE: usize = 100;
const MAX_EXT: usize = 20;

/// The extension of `name` with its leading dot: the last two dotted parts
/// when there are two (`.tar.gz`), else the last one, else nothing.
fn extension(name: &str) -> &str {
    let Some(last) = name.rfind('.') else {
        return "";
    };
    match name[..last].rfind('.') {
        Some(second) => &name[second..],
        None => &name[last..],
    }
}

fn ext_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_.*-+=#".contains(c)
}

/// `My FileName (1)` → `my_file_name_1`: words split at anything that is
/// not an ASCII letter or digit, and at a lower-to-upper case change.
fn snake_case(raw: &str) -> String {
    let mut out = String::new();
    for word in raw
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push('_');
        }
        let mut prev_upper = true;
        for c in word.chars() {
            if c.is_ascii_uppercase() && !prev_upper {
                out.push('_');
            }
            prev_upper = c.is_ascii_uppercase();
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The name a new upload is stored under. `fallback_ext` (from the
/// sniffed content) is used when the client's name has no usable extension.
pub fn stored_name(original: &str, fallback_ext: &str) -> String {
    // Browsers send a bare name; anything with a path keeps its last part.
    let original = original.rsplit(['/', '\\']).next().unwrap_or("");
    let raw_ext = extension(original);
    let mut ext: String = raw_ext.chars().filter(|c| ext_char(*c)).collect();
    if ext.trim_matches('.').is_empty() {
        ext = fallback_ext.to_owned();
    }
    if ext.len() > MAX_EXT {
        ext = format!(".{}", &ext[ext.len() - MAX_EXT..]);
    }
    let mut base = snake_case(&original[..original.len() - raw_ext.len()]);
    if base.len() < 3 {
        base.push_str(&random::lower_alphanumeric(SUFFIX_LEN));
    }
    base.truncate(MAX_BASE);
    format!("{base}_{}{ext}", random::lower_alphanumeric(SUFFIX_LEN))
}

/// Whether `name` can be a stored file name (or a collection or record
/// id): one path component of the characters stored names are made of.
pub fn is_safe(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && !name.starts_with('.') && name.chars().all(ext_char)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(name: &str) -> (String, String) {
        let (base, rest) = name.rsplit_once('_').expect("suffix");
        (base.to_owned(), rest[SUFFIX_LEN..].to_owned())
    }

    #[test]
    fn names_are_sanitized_and_suffixed() {
        assert_eq!(
            shape(&stored_name("My File (1).TXT", "")),
            ("my_file_1".into(), ".TXT".into())
        );
        assert_eq!(
            shape(&stored_name("../../etc/pa ss wd.txt", "")),
            ("pa_ss_wd".into(), ".txt".into())
        );
        assert_eq!(
            shape(&stored_name("ÜBER ñame.PNG", "")),
            ("ber_ame".into(), ".PNG".into())
        );
        assert_eq!(
            shape(&stored_name("myFileABC.png", "")),
            ("my_file_abc".into(), ".png".into())
        );
        assert_eq!(
            shape(&stored_name("archive.tar.gz", "")),
            ("archive".into(), ".tar.gz".into())
        );
        assert_eq!(shape(&stored_name("noext", ".html")).1, ".html");
        let short = stored_name("x.png", "");
        assert_eq!(short.len(), 1 + SUFFIX_LEN + 1 + SUFFIX_LEN + 4, "{short}");
        assert!(is_safe(&stored_name("..\\..\\a/b/c..", ".bin")));
    }

    #[test]
    fn only_plain_components_are_safe() {
        for bad in ["", "..", "../x", "a/b", "a\\b", ".hidden", "a b", "x%2f"] {
            assert!(!is_safe(bad), "{bad}");
        }
        assert!(is_safe("my_file_abcdefghij.tar.gz"));
    }
}
