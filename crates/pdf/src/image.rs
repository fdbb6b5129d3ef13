//! Page pictures: [`PageImage`] and how each kind is stored in the PDF.

use crate::PdfError;

/// Resolution used when a [`PageImage`] has none.
pub const DEFAULT_DPI: f32 = 300.0;

/// The picture of one page, drawn to fill the whole page.
///
/// Build one with [`PageImage::jpeg`], [`PageImage::gray`], [`PageImage::rgb`]
/// or [`PageImage::bilevel`]; set its resolution with [`PageImage::with_dpi`]
/// (the page size in the PDF is `pixels × 72 / dpi` points).
#[derive(Debug, Clone, PartialEq)]
pub struct PageImage {
    width: u32,
    height: u32,
    dpi: Option<(f32, f32)>,
    data: ImageData,
}

/// The pixels of a [`PageImage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageData {
    /// A baseline or progressive JPEG file, embedded byte for byte (`/DCTDecode`).
    Jpeg {
        /// The whole JPEG file.
        bytes: Vec<u8>,
        /// Colour components from the frame header: 1 (gray), 3 (YCbCr/RGB) or 4 (CMYK/YCCK).
        components: u8,
        /// Whether an Adobe APP14 marker is present (Adobe CMYK JPEGs are stored inverted).
        adobe: bool,
    },
    /// 8-bit gray, one byte per pixel, rows top to bottom, 0 = black.
    Gray(Vec<u8>),
    /// 8-bit RGB, three bytes per pixel, rows top to bottom.
    Rgb(Vec<u8>),
    /// 1 bit per pixel, most significant bit first, each row padded to a whole
    /// byte; bit 1 = white, 0 = black (the PDF `DeviceGray` convention).
    Bilevel(Vec<u8>),
}

impl PageImage {
    /// A JPEG file, embedded unchanged. Width, height and colour components
    /// come from its frame (SOF) header, the resolution from its JFIF header
    /// when that gives one in physical units.
    ///
    /// # Errors
    /// [`PdfError::InvalidImage`] when the bytes are not a JPEG this can
    /// embed (no SOI/SOF marker, zero size, not 8 bits per sample, or 2 components).
    pub fn jpeg(bytes: Vec<u8>) -> Result<Self, PdfError> {
        let info = jpeg_info(&bytes)?;
        Ok(Self {
            width: info.width,
            height: info.height,
            dpi: info.dpi,
            data: ImageData::Jpeg { bytes, components: info.components, adobe: info.adobe },
        })
    }

    /// 8-bit gray pixels (`width × height` bytes). A gray image whose pixels
    /// are all 0 or 255 is stored at 1 bit per pixel; otherwise Flate-compressed.
    ///
    /// # Errors
    /// [`PdfError::InvalidImage`] when a dimension is zero or the buffer
    /// length is not `width × height`.
    pub fn gray(width: u32, height: u32, pixels: Vec<u8>) -> Result<Self, PdfError> {
        Self::raw(width, height, pixels, 1, ImageData::Gray)
    }

    /// 8-bit RGB pixels (`width × height × 3` bytes), Flate-compressed (lossless).
    ///
    /// # Errors
    /// [`PdfError::InvalidImage`] when a dimension is zero or the buffer
    /// length is not `width × height × 3`.
    pub fn rgb(width: u32, height: u32, pixels: Vec<u8>) -> Result<Self, PdfError> {
        Self::raw(width, height, pixels, 3, ImageData::Rgb)
    }

    /// Packed 1-bit pixels: `ceil(width / 8)` bytes per row, most significant
    /// bit first, 1 = white, 0 = black.
    ///
    /// # Errors
    /// [`PdfError::InvalidImage`] when a dimension is zero or the buffer
    /// length is not `ceil(width / 8) × height`.
    pub fn bilevel(width: u32, height: u32, packed: Vec<u8>) -> Result<Self, PdfError> {
        let row = u64::from(width).div_ceil(8);
        check_len(width, height, row, packed.len())?;
        Ok(Self { width, height, dpi: None, data: ImageData::Bilevel(packed) })
    }

    fn raw(
        width: u32,
        height: u32,
        pixels: Vec<u8>,
        channels: u64,
        wrap: fn(Vec<u8>) -> ImageData,
    ) -> Result<Self, PdfError> {
        check_len(width, height, u64::from(width) * channels, pixels.len())?;
        Ok(Self { width, height, dpi: None, data: wrap(pixels) })
    }

    /// Sets the horizontal and vertical resolution in pixels per inch.
    /// Values that are not finite and positive are ignored when writing
    /// (the default, [`DEFAULT_DPI`], is used instead).
    #[must_use]
    pub fn with_dpi(mut self, x: f32, y: f32) -> Self {
        self.dpi = Some((x, y));
        self
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The resolution given with [`PageImage::with_dpi`], if any.
    pub fn dpi(&self) -> Option<(f32, f32)> {
        self.dpi
    }

    /// The resolution the writer uses: the one set, or [`DEFAULT_DPI`].
    pub fn effective_dpi(&self) -> (f32, f32) {
        let ok = |v: f32| v.is_finite() && v > 0.0;
        match self.dpi {
            Some((x, y)) if ok(x) && ok(y) => (x, y),
            _ => (DEFAULT_DPI, DEFAULT_DPI),
        }
    }

    /// The pixels.
    pub fn data(&self) -> &ImageData {
        &self.data
    }

    /// The pixels, taking ownership.
    pub fn into_data(self) -> ImageData {
        self.data
    }

    /// The image XObject: its dictionary entries (after the common ones) and stream bytes.
    pub(crate) fn to_xobject(&self) -> (lopdf::Dictionary, Vec<u8>) {
        use lopdf::dictionary;
        use lopdf::Object::{Integer, Name, Real};
        let mut dict = dictionary! {
            "Type" => "XObject",
            "Subtype" => "Image",
            "Width" => i64::from(self.width),
            "Height" => i64::from(self.height),
        };
        let gray = || Name(b"DeviceGray".to_vec());
        match &self.data {
            ImageData::Jpeg { bytes, components, adobe } => {
                let space = match components {
                    1 => "DeviceGray",
                    3 => "DeviceRGB",
                    _ => "DeviceCMYK",
                };
                dict.set("ColorSpace", Name(space.as_bytes().to_vec()));
                dict.set("BitsPerComponent", Integer(8));
                if *components == 4 && *adobe {
                    let decode = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
                    dict.set("Decode", decode.iter().map(|&v| Real(v)).collect::<Vec<_>>());
                }
                dict.set("Filter", Name(b"DCTDecode".to_vec()));
                (dict, bytes.clone())
            }
            ImageData::Rgb(px) => {
                dict.set("ColorSpace", Name(b"DeviceRGB".to_vec()));
                dict.set("BitsPerComponent", Integer(8));
                dict.set("Filter", Name(b"FlateDecode".to_vec()));
                (dict, deflate(px))
            }
            ImageData::Gray(px) if px.iter().all(|&v| v == 0 || v == 255) => {
                dict.set("ColorSpace", gray());
                dict.set("BitsPerComponent", Integer(1));
                dict.set("Filter", Name(b"FlateDecode".to_vec()));
                (dict, deflate(&pack_bits(px, self.width as usize)))
            }
            ImageData::Gray(px) => {
                dict.set("ColorSpace", gray());
                dict.set("BitsPerComponent", Integer(8));
                dict.set("Filter", Name(b"FlateDecode".to_vec()));
                (dict, deflate(px))
            }
            ImageData::Bilevel(bits) => {
                dict.set("ColorSpace", gray());
                dict.set("BitsPerComponent", Integer(1));
                dict.set("Filter", Name(b"FlateDecode".to_vec()));
                (dict, deflate(bits))
            }
        }
    }
}

fn check_len(width: u32, height: u32, row_bytes: u64, len: usize) -> Result<(), PdfError> {
    if width == 0 || height == 0 {
        return Err(PdfError::InvalidImage(format!("image is {width}×{height} pixels")));
    }
    let want = row_bytes * u64::from(height);
    if want != len as u64 {
        return Err(PdfError::InvalidImage(format!(
            "pixel buffer of a {width}×{height} image has {len} bytes, expected {want}"
        )));
    }
    Ok(())
}

/// Packs 0/255 gray pixels into 1-bit rows (255 → 1 = white).
fn pack_bits(px: &[u8], width: usize) -> Vec<u8> {
    let row_bytes = width.div_ceil(8);
    let mut out = Vec::with_capacity(row_bytes * px.len() / width.max(1));
    for row in px.chunks_exact(width) {
        for chunk in row.chunks(8) {
            let byte = chunk.iter().enumerate().fold(0u8, |b, (i, &v)| b | (u8::from(v != 0) << (7 - i)));
            out.push(byte);
        }
    }
    out
}

/// zlib (Flate) compression at the default level.
pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc =
        flate2::write::ZlibEncoder::new(Vec::with_capacity(data.len() / 4 + 64), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// What the frame header of a JPEG says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct JpegInfo {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) components: u8,
    pub(crate) adobe: bool,
    /// Resolution from a JFIF header that gives one (units dpi or dots/cm).
    pub(crate) dpi: Option<(f32, f32)>,
}

/// The resolution a JFIF APP0 segment declares, when it declares one in
/// physical units and it is plausible (36 to 4800 dpi).
fn jfif_dpi(segment: &[u8]) -> Option<(f32, f32)> {
    if !segment.starts_with(b"JFIF\0") || segment.len() < 12 {
        return None;
    }
    let per_inch = match segment[7] {
        1 => 1.0,
        2 => 2.54,
        _ => return None,
    };
    let x = f32::from(u16::from_be_bytes([segment[8], segment[9]])) * per_inch;
    let y = f32::from(u16::from_be_bytes([segment[10], segment[11]])) * per_inch;
    let plausible = |d: f32| (36.0..=4800.0).contains(&d);
    (plausible(x) && plausible(y)).then_some((x, y))
}

/// Reads size and components from the first SOF marker of a JPEG, walking
/// the marker segments (never reading past the end of `bytes`).
pub(crate) fn jpeg_info(bytes: &[u8]) -> Result<JpegInfo, PdfError> {
    let bad = |why: &str| PdfError::InvalidImage(format!("not a usable JPEG: {why}"));
    if bytes.len() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8 {
        return Err(bad("no SOI marker"));
    }
    let mut adobe = false;
    let mut dpi = None;
    let mut i = 2;
    loop {
        // Skip fill bytes before a marker.
        while i < bytes.len() && bytes[i] == 0xFF && bytes.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (bytes.get(i), bytes.get(i + 1)) else {
            return Err(bad("no frame header before the end of the data"));
        };
        i += 2;
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            continue; // stand-alone markers
        }
        if marker == 0xD9 || marker == 0xDA {
            return Err(bad("no frame header before the scan"));
        }
        let len = match bytes.get(i..i + 2) {
            Some(b) => usize::from(u16::from_be_bytes([b[0], b[1]])),
            None => return Err(bad("truncated marker segment")),
        };
        let seg = bytes.get(i + 2..i + len).filter(|_| len >= 2).ok_or_else(|| bad("truncated marker segment"))?;
        if marker == 0xEE && seg.starts_with(b"Adobe") {
            adobe = true;
        }
        if marker == 0xE0 && dpi.is_none() {
            dpi = jfif_dpi(seg);
        }
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            if seg.len() < 6 {
                return Err(bad("short frame header"));
            }
            let precision = seg[0];
            let height = u32::from(u16::from_be_bytes([seg[1], seg[2]]));
            let width = u32::from(u16::from_be_bytes([seg[3], seg[4]]));
            let components = seg[5];
            if precision != 8 {
                return Err(bad("only 8-bit samples are supported"));
            }
            if width == 0 || height == 0 {
                return Err(bad("zero width or height"));
            }
            if !matches!(components, 1 | 3 | 4) {
                return Err(bad("only 1, 3 or 4 colour components are supported"));
            }
            return Ok(JpegInfo { width, height, components, adobe, dpi });
        }
        i += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jfif_resolution_is_read_when_physical() {
        let app0 = |units: u8, density: u16| {
            let mut seg = b"JFIF\0\x01\x02".to_vec();
            seg.push(units);
            seg.extend_from_slice(&density.to_be_bytes());
            seg.extend_from_slice(&density.to_be_bytes());
            seg.extend_from_slice(&[0, 0]);
            seg
        };
        assert_eq!(jfif_dpi(&app0(1, 200)), Some((200.0, 200.0)));
        assert_eq!(jfif_dpi(&app0(2, 100)), Some((254.0, 254.0)));
        assert_eq!(jfif_dpi(&app0(0, 1)), None, "aspect ratio only");
        assert_eq!(jfif_dpi(&app0(1, 1)), None, "implausible");
        assert_eq!(jfif_dpi(b"Exif"), None);
    }

    #[test]
    fn jpeg_header_is_parsed_and_garbage_rejected() {
        // SOI, APP14 "Adobe", SOF0 3×2 with 4 components, EOI.
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xEE, 0x00, 0x07];
        j.extend_from_slice(b"Adobe");
        j.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x0B, 8, 0, 2, 0, 3, 4, 0, 0, 0]);
        let info = jpeg_info(&j).unwrap();
        assert_eq!((info.width, info.height, info.components), (3, 2, 4));
        assert!(info.adobe);
        for bad in [&[][..], b"\xFF\xD8", b"GIF89a", &j[..12]] {
            assert!(jpeg_info(bad).is_err());
        }
    }

    #[test]
    fn buffer_length_is_checked() {
        assert!(PageImage::gray(2, 2, vec![0; 3]).is_err());
        assert!(PageImage::rgb(2, 2, vec![0; 12]).is_ok());
        assert!(PageImage::bilevel(9, 2, vec![0; 4]).is_ok());
        assert!(PageImage::bilevel(9, 2, vec![0; 2]).is_err());
        assert!(PageImage::gray(0, 2, vec![]).is_err());
    }

    #[test]
    fn two_level_gray_is_packed() {
        assert_eq!(pack_bits(&[255, 0, 0, 255, 0, 0, 0, 0, 255], 9), vec![0x90, 0x80]);
    }
}
