//! Image decoding with limits: JPEG, PNG, GIF (every frame), BMP, WebP and
//! TIFF (every page), EXIF orientation applied, transparency flattened onto
//! white, and pixel budgets (per page, and for all pages together) checked
//! from the headers before any pixel buffer is allocated.
//!
//! [`for_each_page`] decodes one page at a time, so a multi-page input never
//! holds more than one decoded page; GIF frames are composited onto one RGB
//! canvas that is reused from frame to frame. [`decode_image`] collects
//! every page.

use std::borrow::Cow;
use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Rgb, RgbImage, RgbaImage};

use crate::{EngineError, Result};

/// Limits applied while decoding untrusted input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted width x height of one page or frame, in pixels.
    pub max_pixels: u64,
    /// Largest number of pages (TIFF) or frames (GIF) decoded from one file.
    pub max_pages: usize,
    /// Smallest accepted width and height, in pixels.
    pub min_side: u32,
    /// Largest number of pixels of all pages or frames together (a GIF
    /// frame counts its whole canvas), charged before each page is decoded.
    pub max_total_pixels: u64,
    /// Pixels all pages together may have per byte of input, beyond one
    /// page of [`max_pixels`](Self::max_pixels): a multi-page input may
    /// decode to at most `max(max_pixels, bytes × this)` pixels (and never
    /// more than [`max_total_pixels`](Self::max_total_pixels)). Compressed
    /// scans stay far below 1000 pixels per byte; a bomb (a 150-byte GIF of
    /// three 6000 × 6000 frames) is far above.
    pub max_pixels_per_byte: u64,
}

impl Default for DecodeLimits {
    /// 64 megapixels per page (an A4 page scanned at 600 dpi is 35 MP),
    /// 999 pages, at least 8 pixels per side, 1 billion pixels in all
    /// (115 A4 pages at 300 dpi), 1000 pixels per input byte.
    fn default() -> Self {
        Self {
            max_pixels: 64_000_000,
            max_pages: 999,
            min_side: 8,
            max_total_pixels: 1_000_000_000,
            max_pixels_per_byte: 1000,
        }
    }
}

/// An image container format recognised from its leading bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// JPEG / JFIF.
    Jpeg,
    /// PNG.
    Png,
    /// GIF (possibly animated).
    Gif,
    /// Windows bitmap.
    Bmp,
    /// WebP.
    WebP,
    /// TIFF (possibly multi-page).
    Tiff,
}

impl ImageKind {
    /// Recognises the format from magic bytes; `None` for anything else.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        match image::guess_format(bytes).ok()? {
            ImageFormat::Jpeg => Some(Self::Jpeg),
            ImageFormat::Png => Some(Self::Png),
            ImageFormat::Gif => Some(Self::Gif),
            ImageFormat::Bmp => Some(Self::Bmp),
            ImageFormat::WebP => Some(Self::WebP),
            ImageFormat::Tiff => Some(Self::Tiff),
            _ => None,
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            Self::Jpeg => ImageFormat::Jpeg,
            Self::Png => ImageFormat::Png,
            Self::Gif => ImageFormat::Gif,
            Self::Bmp => ImageFormat::Bmp,
            Self::WebP => ImageFormat::WebP,
            Self::Tiff => ImageFormat::Tiff,
        }
    }
}

/// Decodes every page or frame of an image file into RGB pixels.
///
/// Single-image formats give one page; TIFF gives every page and GIF every
/// frame. Errors are typed: empty input, unknown format, corrupt data, or a
/// limit exceeded (checked from the header, before allocation).
pub fn decode_image(bytes: &[u8], limits: &DecodeLimits) -> Result<Vec<RgbImage>> {
    let mut pages = Vec::new();
    for_each_page(bytes, limits, |_, page| {
        pages.push(page.into_owned());
        Ok(())
    })?;
    Ok(pages)
}

/// Decodes the pages or frames of an image file one at a time, calling
/// `read(index, page)` with each (0-based) before the next is decoded, and
/// returns the number of pages. Limits are as for [`decode_image`]; the
/// pixels of all pages together are charged against
/// [`DecodeLimits::max_total_pixels`] and
/// [`DecodeLimits::max_pixels_per_byte`] before each page is decoded, and the
/// current [`crate::cancel`] token is checked between pages. An error from
/// `read` stops decoding and is returned.
pub fn for_each_page(
    bytes: &[u8],
    limits: &DecodeLimits,
    mut read: impl FnMut(usize, Cow<'_, RgbImage>) -> Result<()>,
) -> Result<usize> {
    if bytes.is_empty() {
        return Err(EngineError::EmptyInput);
    }
    let kind = ImageKind::sniff(bytes).ok_or(EngineError::UnsupportedFormat)?;
    let amplified = (bytes.len() as u64).saturating_mul(limits.max_pixels_per_byte).max(limits.max_pixels);
    let mut budget = Budget { used: 0, total: limits.max_total_pixels.min(amplified), limits };
    match kind {
        ImageKind::Tiff => decode_tiff(bytes, &mut budget, &mut read),
        ImageKind::Gif => crate::gif_frames::decode_gif(bytes, &mut budget, &mut read),
        _ => {
            let page = decode_single(bytes, kind, &mut budget)?;
            read(0, Cow::Owned(page))?;
            Ok(1)
        }
    }
}

/// The pixels charged so far for one input, against its limits.
pub(crate) struct Budget<'l> {
    used: u64,
    /// Pixels this input may decode to in all.
    pub(crate) total: u64,
    pub(crate) limits: &'l DecodeLimits,
}

impl Budget<'_> {
    /// Checks a page of `width` × `height` (per-page limits) and charges it
    /// to the total; checks the cancellation token too.
    pub(crate) fn charge(&mut self, width: u32, height: u32) -> Result<()> {
        crate::cancel::checkpoint()?;
        check_size(width, height, self.limits)?;
        self.used = self.used.saturating_add(u64::from(width) * u64::from(height));
        if self.used > self.total {
            return Err(EngineError::TotalPixels { limit: self.total });
        }
        Ok(())
    }
}

/// Counts the pages (TIFF) or frames (GIF) of an image file without
/// decoding any pixels, so a page limit can be enforced before any work;
/// single-image formats count 1.
pub fn count_pages(bytes: &[u8]) -> Result<usize> {
    if bytes.is_empty() {
        return Err(EngineError::EmptyInput);
    }
    match ImageKind::sniff(bytes).ok_or(EngineError::UnsupportedFormat)? {
        ImageKind::Tiff => {
            let mut decoder = tiff::decoder::Decoder::new(Cursor::new(bytes)).map_err(decode_error)?;
            let mut pages = 1;
            while decoder.more_images() {
                decoder.next_image().map_err(decode_error)?;
                pages += 1;
            }
            Ok(pages)
        }
        ImageKind::Gif => count_gif_frames(bytes),
        _ => Ok(1),
    }
}

/// Whether decoding turns or flips the stored pixels (an EXIF orientation
/// other than "as stored"), i.e. whether the decoded page differs in
/// geometry from the file's own pixel grid.
pub fn is_reoriented(bytes: &[u8]) -> bool {
    let Some(kind) = ImageKind::sniff(bytes) else { return false };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.image_format());
    reader.no_limits();
    let Ok(mut decoder) = reader.into_decoder() else { return false };
    decoder.orientation().is_ok_and(|o| o != image::metadata::Orientation::NoTransforms)
}

/// Walks a GIF's block structure and counts its image descriptors.
pub(crate) fn count_gif_frames(bytes: &[u8]) -> Result<usize> {
    let truncated = || EngineError::Decode("truncated GIF".into());
    let byte = |at: usize| bytes.get(at).copied().ok_or_else(truncated);
    // Skips data sub-blocks starting at `at`; returns the offset after the terminator.
    let skip_sub_blocks = |mut at: usize| -> Result<usize> {
        loop {
            let len = byte(at)? as usize;
            at += 1 + len;
            if len == 0 {
                return Ok(at);
            }
        }
    };
    let flags = byte(10)?;
    let mut at = 13 + if flags & 0x80 != 0 { 3 << ((flags & 7) + 1) } else { 0 };
    let mut frames = 0;
    loop {
        // A GIF cut after its last frame (no trailer) still counts its frames.
        let Some(&block) = bytes.get(at) else {
            if frames > 0 {
                break;
            }
            return Err(truncated());
        };
        match block {
            0x3B => break,
            0x21 => at = skip_sub_blocks(at + 2)?,
            0x2C => {
                let local = byte(at + 9)?;
                at += 10 + if local & 0x80 != 0 { 3 << ((local & 7) + 1) } else { 0 };
                at = skip_sub_blocks(at + 1)?;
                frames += 1;
            }
            other => return Err(EngineError::Decode(format!("corrupt GIF: unexpected block 0x{other:02X}"))),
        }
    }
    if frames == 0 {
        return Err(EngineError::Decode("the GIF has no frames".into()));
    }
    Ok(frames)
}

pub(crate) fn check_size(width: u32, height: u32, limits: &DecodeLimits) -> Result<()> {
    if width as u64 * height as u64 > limits.max_pixels {
        return Err(EngineError::TooManyPixels { width, height, limit: limits.max_pixels });
    }
    if width < limits.min_side || height < limits.min_side {
        return Err(EngineError::ImageTooSmall { width, height, min: limits.min_side });
    }
    Ok(())
}

fn decoder_limits(limits: &DecodeLimits) -> image::Limits {
    let mut l = image::Limits::default();
    // Room for one RGBA buffer of the largest accepted page plus decoder scratch.
    l.max_alloc = Some(limits.max_pixels.saturating_mul(4).saturating_add(64 << 20));
    l
}

pub(crate) fn decode_error(e: impl std::fmt::Display) -> EngineError {
    EngineError::Decode(e.to_string())
}

fn decode_single(bytes: &[u8], kind: ImageKind, budget: &mut Budget<'_>) -> Result<RgbImage> {
    let limits = budget.limits;
    if kind == ImageKind::Jpeg && !has_jpeg_end_marker(bytes) {
        // The JPEG decoder fills missing data with grey instead of failing.
        return Err(EngineError::Decode("truncated JPEG: no end-of-image marker".into()));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.image_format());
    reader.limits(decoder_limits(limits));
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    budget.charge(width, height)?;
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    image.apply_orientation(orientation);
    Ok(flatten(image))
}

/// Whether the end-of-image marker (FF D9) occurs in the file's last 4 KiB.
/// It cannot occur inside entropy-coded data (a data FF byte is followed by
/// 00), so a file cut short inside its image data has none there.
fn has_jpeg_end_marker(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    tail.windows(2).any(|w| w == [0xFF, 0xD9])
}

/// Converts to RGB, compositing any transparency onto a white background
/// (text drawn on a transparent canvas stays readable).
fn flatten(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    flatten_rgba(&image.into_rgba8())
}

fn flatten_rgba(rgba: &RgbaImage) -> RgbImage {
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y).0;
        let a = p[3] as u32;
        let blend = |c: u8| ((c as u32 * a + 255 * (255 - a) + 127) / 255) as u8;
        Rgb([blend(p[0]), blend(p[1]), blend(p[2])])
    })
}

fn decode_tiff(
    bytes: &[u8],
    budget: &mut Budget<'_>,
    read: &mut dyn FnMut(usize, Cow<'_, RgbImage>) -> Result<()>,
) -> Result<usize> {
    let limits = budget.limits;
    let mut decoder = tiff::decoder::Decoder::new(Cursor::new(bytes)).map_err(decode_error)?;
    let mut tiff_limits = tiff::decoder::Limits::default();
    tiff_limits.decoding_buffer_size = usize::try_from(limits.max_pixels.saturating_mul(8)).unwrap_or(usize::MAX);
    decoder = decoder.with_limits(tiff_limits);
    let mut index = 0;
    loop {
        if index == limits.max_pages {
            return Err(EngineError::TooManyPages { limit: limits.max_pages });
        }
        let (width, height) = decoder.dimensions().map_err(decode_error)?;
        budget.charge(width, height)?;
        let color = decoder.colortype().map_err(decode_error)?;
        let data = decoder.read_image().map_err(decode_error)?;
        read(index, Cow::Owned(tiff_to_rgb(width, height, color, data)?))?;
        index += 1;
        if !decoder.more_images() {
            break;
        }
        decoder.next_image().map_err(decode_error)?;
    }
    Ok(index)
}

/// Converts one decoded TIFF page to RGB. 16-bit samples keep their high
/// byte; 1-bit pages are unpacked (rows are byte-aligned).
fn tiff_to_rgb(
    width: u32,
    height: u32,
    color: tiff::ColorType,
    data: tiff::decoder::DecodingResult,
) -> Result<RgbImage> {
    use tiff::decoder::DecodingResult as D;
    use tiff::ColorType as C;
    let samples: Vec<u8> = match data {
        D::U8(v) => v,
        D::U16(v) => v.into_iter().map(|s| (s >> 8) as u8).collect(),
        other => return Err(EngineError::Decode(format!("unsupported TIFF sample format {:?}", sample_kind(&other)))),
    };
    let (w, h) = (width as usize, height as usize);
    let short = || EngineError::Decode("TIFF page data is shorter than its dimensions".into());
    let pixel_from = |channels: usize, f: &dyn Fn(&[u8]) -> [u8; 3]| -> Result<RgbImage> {
        if samples.len() < w * h * channels {
            return Err(short());
        }
        let mut out = Vec::with_capacity(w * h * 3);
        for px in samples.chunks_exact(channels).take(w * h) {
            out.extend_from_slice(&f(px));
        }
        RgbImage::from_raw(width, height, out).ok_or_else(short)
    };
    match color {
        C::Gray(1) => {
            let stride = w.div_ceil(8);
            if samples.len() < stride * h {
                return Err(short());
            }
            Ok(RgbImage::from_fn(width, height, |x, y| {
                let byte = samples[y as usize * stride + x as usize / 8];
                let v = if byte & (0x80 >> (x % 8)) != 0 { 255 } else { 0 };
                Rgb([v, v, v])
            }))
        }
        C::Gray(8) | C::Gray(16) => pixel_from(1, &|p| [p[0]; 3]),
        C::GrayA(8) | C::GrayA(16) => pixel_from(2, &|p| {
            let v = blend_white(p[0], p[1]);
            [v; 3]
        }),
        C::RGB(8) | C::RGB(16) => pixel_from(3, &|p| [p[0], p[1], p[2]]),
        C::RGBA(8) | C::RGBA(16) => {
            pixel_from(4, &|p| [blend_white(p[0], p[3]), blend_white(p[1], p[3]), blend_white(p[2], p[3])])
        }
        C::CMYK(8) => pixel_from(4, &|p| {
            let k = 255 - p[3] as u32;
            let c = |v: u8| ((255 - v as u32) * k / 255) as u8;
            [c(p[0]), c(p[1]), c(p[2])]
        }),
        other => Err(EngineError::Decode(format!("unsupported TIFF colour type {other:?}"))),
    }
}

fn blend_white(c: u8, a: u8) -> u8 {
    ((c as u32 * a as u32 + 255 * (255 - a as u32) + 127) / 255) as u8
}

fn sample_kind(d: &tiff::decoder::DecodingResult) -> &'static str {
    use tiff::decoder::DecodingResult as D;
    match d {
        D::U32(_) => "u32",
        D::U64(_) => "u64",
        D::F16(_) | D::F32(_) | D::F64(_) => "float",
        _ => "signed integer",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_bytes(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_pixel(w, h, Rgb([255, 255, 255]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
        out
    }

    #[test]
    fn empty_input_is_a_typed_error() {
        assert!(matches!(decode_image(&[], &DecodeLimits::default()), Err(EngineError::EmptyInput)));
    }

    #[test]
    fn garbage_is_unsupported() {
        let r = decode_image(b"this is not an image at all", &DecodeLimits::default());
        assert!(matches!(r, Err(EngineError::UnsupportedFormat)), "{r:?}");
    }

    #[test]
    fn truncated_png_is_a_decode_error() {
        let bytes = png_bytes(64, 64);
        let r = decode_image(&bytes[..bytes.len() / 2], &DecodeLimits::default());
        assert!(matches!(r, Err(EngineError::Decode(_))), "{r:?}");
    }

    #[test]
    fn truncated_jpeg_is_a_decode_error() {
        let img = RgbImage::from_fn(64, 64, |x, y| Rgb([(x * 4) as u8, (y * 4) as u8, 0]));
        let mut bytes = Vec::new();
        img.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Jpeg).unwrap();
        assert_eq!(decode_image(&bytes, &DecodeLimits::default()).unwrap().len(), 1);
        let r = decode_image(&bytes[..bytes.len() - 40], &DecodeLimits::default());
        assert!(matches!(r, Err(EngineError::Decode(_))), "{r:?}");
    }

    #[test]
    fn one_pixel_image_is_too_small() {
        let r = decode_image(&png_bytes(1, 1), &DecodeLimits::default());
        assert!(matches!(r, Err(EngineError::ImageTooSmall { width: 1, height: 1, .. })), "{r:?}");
    }

    /// A PNG header claiming 30000x30000 pixels (and nothing else) must be
    /// refused from the header without allocating 2.7 GB.
    #[test]
    fn huge_png_header_is_refused_before_allocation() {
        let mut bytes = png_bytes(16, 16);
        bytes[16..20].copy_from_slice(&30000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&30000u32.to_be_bytes());
        // Fix the IHDR CRC so the decoder trusts the header.
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        let r = decode_image(&bytes, &DecodeLimits::default());
        assert!(matches!(r, Err(EngineError::TooManyPixels { width: 30000, height: 30000, .. })), "{r:?}");
    }

    #[test]
    fn multi_page_tiff_gives_every_page() {
        let mut out = Cursor::new(Vec::new());
        let mut enc = tiff::encoder::TiffEncoder::new(&mut out).unwrap();
        for shade in [0u8, 128, 255] {
            let data = vec![shade; 20 * 10];
            enc.write_image::<tiff::encoder::colortype::Gray8>(20, 10, &data).unwrap();
        }
        let pages = decode_image(out.get_ref(), &DecodeLimits::default()).unwrap();
        assert_eq!(pages.len(), 3);
        assert_eq!(pages[1].get_pixel(3, 3).0, [128, 128, 128]);
        let limited = DecodeLimits { max_pages: 2, ..Default::default() };
        assert!(matches!(decode_image(out.get_ref(), &limited), Err(EngineError::TooManyPages { limit: 2 })));
    }

    #[test]
    fn pages_are_counted_without_decoding() {
        let mut out = Cursor::new(Vec::new());
        let mut enc = tiff::encoder::TiffEncoder::new(&mut out).unwrap();
        for _ in 0..4 {
            enc.write_image::<tiff::encoder::colortype::Gray8>(20, 10, &[200u8; 200]).unwrap();
        }
        assert_eq!(count_pages(out.get_ref()).unwrap(), 4);
        assert_eq!(count_pages(&png_bytes(16, 16)).unwrap(), 1);
        let mut gif = Vec::new();
        {
            let mut enc = image::codecs::gif::GifEncoder::new(&mut gif);
            for shade in [0u8, 90, 180] {
                let frame = image::Frame::new(RgbaImage::from_pixel(12, 9, image::Rgba([shade, shade, shade, 255])));
                enc.encode_frame(frame).unwrap();
            }
        }
        assert_eq!(count_pages(&gif).unwrap(), 3);
        assert_eq!(decode_image(&gif, &DecodeLimits::default()).unwrap().len(), 3);
        assert!(count_pages(&gif[..20]).is_err(), "a GIF cut inside its first frame has no countable frame");
        assert!(matches!(count_pages(b""), Err(EngineError::EmptyInput)));
    }

    #[test]
    fn every_supported_format_decodes() {
        let img = RgbImage::from_fn(40, 30, |x, y| Rgb([(x * 6) as u8, (y * 8) as u8, 128]));
        for format in [
            ImageFormat::Png,
            ImageFormat::Jpeg,
            ImageFormat::Gif,
            ImageFormat::Bmp,
            ImageFormat::WebP,
            ImageFormat::Tiff,
        ] {
            let mut bytes = Vec::new();
            img.write_to(&mut Cursor::new(&mut bytes), format).unwrap();
            let pages = decode_image(&bytes, &DecodeLimits::default()).unwrap_or_else(|e| panic!("{format:?}: {e}"));
            assert_eq!(pages.len(), 1, "{format:?}");
            assert_eq!((pages[0].width(), pages[0].height()), (40, 30), "{format:?}");
        }
    }

    #[test]
    fn transparent_pixels_become_white() {
        let img = RgbaImage::from_pixel(10, 10, image::Rgba([0, 0, 0, 0]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
        let pages = decode_image(&out, &DecodeLimits::default()).unwrap();
        assert_eq!(pages[0].get_pixel(0, 0).0, [255, 255, 255]);
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in data {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
}
