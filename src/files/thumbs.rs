//! Thumbnails of png, jpg, gif and webp images, in PocketBase's sizes:
//! `WxH` (crop to fill, centred), `WxHt` / `WxHb` (crop from the top /
//! bottom), `WxHf` (fit inside, no crop), `0xH` and `Wx0` (one side fixed,
//! the other keeps the aspect ratio). A thumbnail keeps its source's
//! format. Generation is CPU work: callers run it on a blocking thread.

use image::{DynamicImage, ImageFormat, imageops::FilterType};

/// The size every image field offers, whatever its `thumbs` option says.
pub const ALWAYS: &str = "100x100";
/// No thumbnail side may exceed this: a request cannot make the server
/// allocate a huge image.
const MAX_SIDE: u32 = 4096;
/// The largest source image a thumbnail is made of, per side and in bytes.
const MAX_SOURCE_SIDE: u32 = 12_000;
const MAX_DECODE_BYTES: u64 = 256 << 20;

pub use crate::schema::thumb::Crop;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThumbSize {
    pub width: u32,
    pub height: u32,
    pub crop: Crop,
}

impl ThumbSize {
    /// A size (read by `schema::thumb`) this renderer draws: sides of at
    /// most `MAX_SIDE`, not both 0, and a crop mode only with both sides.
    pub fn parse(raw: &str) -> Option<Self> {
        let spec = crate::schema::thumb::ThumbSpec::parse(raw)?;
        let side = |s: &str| s.parse::<u32>().ok().filter(|&n| n <= MAX_SIDE);
        let (width, height, crop) = (side(spec.width)?, side(spec.height)?, spec.crop);
        let valid = (width > 0 || height > 0)
            // `0xH`/`Wx0` take no crop mode.
            && (crop == Crop::Center || (width > 0 && height > 0));
        valid.then_some(Self { width, height, crop })
    }
}

/// Whether a thumbnail can be made of a file of this type.
pub fn supported(mime: &str) -> bool {
    matches!(mime, "image/png" | "image/jpeg" | "image/gif" | "image/webp")
}

/// Renders `size` of the image in `bytes`, encoded in the source's format.
pub fn render(bytes: &[u8], size: ThumbSize) -> image::ImageResult<Vec<u8>> {
    let format = image::guess_format(bytes)?;
    // A tiny file can declare an enormous image; decoding is bounded so a
    // thumbnail request cannot exhaust memory.
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SOURCE_SIDE);
    limits.max_image_height = Some(MAX_SOURCE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    reader.limits(limits);
    let img = reader.decode()?;
    let out = resize(&img, size);
    let mut buf = std::io::Cursor::new(Vec::new());
    // The webp encoder is lossless-only and wants RGBA8; jpeg has no alpha.
    let out = match format {
        ImageFormat::Jpeg => DynamicImage::ImageRgb8(out.to_rgb8()),
        ImageFormat::WebP | ImageFormat::Gif => DynamicImage::ImageRgba8(out.to_rgba8()),
        _ => out,
    };
    out.write_to(&mut buf, format)?;
    Ok(buf.into_inner())
}

fn resize(img: &DynamicImage, size: ThumbSize) -> DynamicImage {
    let (iw, ih) = (img.width().max(1), img.height().max(1));
    let filter = FilterType::Lanczos3;
    let ThumbSize {
        width: w,
        height: h,
        crop,
    } = size;
    if w == 0 {
        let nw = ((u64::from(iw) * u64::from(h)) / u64::from(ih)).max(1) as u32;
        return img.resize_exact(nw, h, filter);
    }
    if h == 0 {
        let nh = ((u64::from(ih) * u64::from(w)) / u64::from(iw)).max(1) as u32;
        return img.resize_exact(w, nh, filter);
    }
    if crop == Crop::Fit {
        return img.resize(w, h, filter);
    }
    // Scale to cover the box, then cut the box out.
    let scale = (f64::from(w) / f64::from(iw)).max(f64::from(h) / f64::from(ih));
    let sw = ((f64::from(iw) * scale).round() as u32).max(w);
    let sh = ((f64::from(ih) * scale).round() as u32).max(h);
    let scaled = img.resize_exact(sw, sh, filter);
    let x = (sw - w) / 2;
    let y = match crop {
        Crop::Top => 0,
        Crop::Bottom => sh - h,
        _ => (sh - h) / 2,
    };
    scaled.crop_imm(x, y, w, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_pocketbase() {
        let s = |w, h, crop| {
            Some(ThumbSize {
                width: w,
                height: h,
                crop,
            })
        };
        assert_eq!(ThumbSize::parse("100x100"), s(100, 100, Crop::Center));
        assert_eq!(ThumbSize::parse("50x20t"), s(50, 20, Crop::Top));
        assert_eq!(ThumbSize::parse("50x20b"), s(50, 20, Crop::Bottom));
        assert_eq!(ThumbSize::parse("50x20f"), s(50, 20, Crop::Fit));
        assert_eq!(ThumbSize::parse("0x20"), s(0, 20, Crop::Center));
        assert_eq!(ThumbSize::parse("20x0"), s(20, 0, Crop::Center));
        for bad in [
            "", "0x0", "x", "10x", "ax10", "10x10z", "0x10t", "99999x1", "../1x1", "1x1/",
        ] {
            assert_eq!(ThumbSize::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn renders_each_mode_at_the_asked_size() {
        let src = DynamicImage::new_rgb8(40, 20);
        let mut png = std::io::Cursor::new(Vec::new());
        src.write_to(&mut png, ImageFormat::Png).expect("png");
        let png = png.into_inner();
        for (raw, want) in [
            ("10x10", (10, 10)),
            ("10x10t", (10, 10)),
            ("10x10f", (10, 5)),
            ("0x10", (20, 10)),
            ("10x0", (10, 5)),
        ] {
            let out = render(&png, ThumbSize::parse(raw).expect("size")).expect("render");
            let img = image::load_from_memory(&out).expect("decode");
            assert_eq!((img.width(), img.height()), want, "{raw}");
        }
    }

    #[test]
    fn a_huge_declared_size_is_refused_not_decoded() {
        // A valid PNG header claiming 60000 x 60000 pixels, and no pixels.
        let mut png = Vec::new();
        let src = DynamicImage::new_rgb8(1, 1);
        src.write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
            .expect("png");
        png[16..20].copy_from_slice(&60_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&60_000u32.to_be_bytes());
        // A correct chunk checksum, so only the size can be the problem.
        let crc = crc32fast::hash(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(
            image::ImageReader::new(std::io::Cursor::new(&png))
                .with_guessed_format()
                .expect("reader")
                .into_dimensions()
                .expect("a readable header"),
            (60_000, 60_000)
        );
        assert!(render(&png, ThumbSize::parse("10x10").expect("size")).is_err());
    }

    #[test]
    fn every_supported_format_keeps_its_format() {
        let src = DynamicImage::new_rgba8(30, 30);
        for format in [
            ImageFormat::Jpeg,
            ImageFormat::Gif,
            ImageFormat::WebP,
            ImageFormat::Png,
        ] {
            let src = match format {
                ImageFormat::Jpeg => DynamicImage::ImageRgb8(src.to_rgb8()),
                _ => src.clone(),
            };
            let mut bytes = std::io::Cursor::new(Vec::new());
            src.write_to(&mut bytes, format).expect("encode");
            let out = render(&bytes.into_inner(), ThumbSize::parse("10x10").expect("size")).expect("render");
            assert_eq!(image::guess_format(&out).expect("format"), format);
            let img = image::load_from_memory(&out).expect("decode");
            assert_eq!((img.width(), img.height()), (10, 10), "{format:?}");
        }
    }
}
