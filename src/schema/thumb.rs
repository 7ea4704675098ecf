//! A file field's thumb size as written (`WxH` with an optional crop
//! letter: `t` top, `b` bottom, `f` fit; `0xH` and `Wx0` keep the aspect
//! ratio), read once here for both of its readers: the collection checks,
//! which refuse a size that is not this shape (and `0x0`, which is no size
//! at all), and the thumbnail renderer (`files::thumbs`), which further
//! bounds the numbers it will draw. The two differ on purpose: a save
//! accepts `0x100t` as PocketBase does, while rendering refuses it.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crop {
    Center,
    Top,
    Bottom,
    Fit,
}

/// A size's parts: the sides' digits as written (any length; the renderer
/// decides which numbers it draws) and the crop mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThumbSpec<'a> {
    pub width: &'a str,
    pub height: &'a str,
    pub crop: Crop,
}

impl<'a> ThumbSpec<'a> {
    /// `raw` as a size, if it has the shape of one.
    pub fn parse(raw: &'a str) -> Option<Self> {
        let (body, crop) = match raw.as_bytes().last()? {
            b't' => (&raw[..raw.len() - 1], Crop::Top),
            b'b' => (&raw[..raw.len() - 1], Crop::Bottom),
            b'f' => (&raw[..raw.len() - 1], Crop::Fit),
            _ => (raw, Crop::Center),
        };
        let (width, height) = body.split_once('x')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        (digits(width) && digits(height)).then_some(Self { width, height, crop })
    }

    /// `0x0` (however many zeros): no size at all.
    pub fn is_empty(&self) -> bool {
        let zero = |s: &str| s.bytes().all(|b| b == b'0');
        zero(self.width) && zero(self.height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_shape_of_a_size() {
        let spec = ThumbSpec::parse("120x0080b").expect("a size");
        assert_eq!(
            (spec.width, spec.height, spec.crop),
            ("120", "0080", Crop::Bottom)
        );
        assert_eq!(ThumbSpec::parse("0x100t").map(|s| s.crop), Some(Crop::Top));
        for bad in [
            "",
            "x",
            "100",
            "100x",
            "x100",
            "100x100q",
            "-1x5",
            "1 x5",
            "100X100",
            "100x100tt",
        ] {
            assert_eq!(ThumbSpec::parse(bad), None, "{bad:?}");
        }
        assert!(ThumbSpec::parse("00x0f").expect("a shape").is_empty());
        assert!(!ThumbSpec::parse("0x1").expect("a shape").is_empty());
    }
}
