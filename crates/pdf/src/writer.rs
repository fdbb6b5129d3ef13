//! Searchable ("sandwich") PDF writer: page image + text layer.

use std::fmt::Write as _;

use lopdf::{dictionary, Dictionary, Document, Object, ObjectId, Stream};

use crate::font::{self, CidMap, VisibleMap};
use crate::image::{deflate, PageImage};
use crate::placement::{cap_heights, level_baselines, line_height_caps, widen_small_words, Band};
use crate::text::{is_cjk, normalize, TextLine};
use crate::PdfError;

/// One page to write: its picture and the words found on it.
#[derive(Debug, Clone, PartialEq)]
pub struct PdfPage {
    /// The page picture; it fills the page, whose size is `pixels × 72 / dpi` points.
    pub image: PageImage,
    /// Lines in reading order, word boxes in image pixels (top-left origin).
    pub lines: Vec<TextLine>,
}

/// How the text layer is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextLayer {
    /// Invisible text (render mode 3) in a blank font: the page looks exactly
    /// like the image, text can be searched, selected and copied.
    #[default]
    Hidden,
    /// Text painted in red Courier over the image, to compare OCR with the
    /// scan. Characters outside WinAnsi are drawn as `?` but still extract
    /// as themselves (up to 28 distinct ones per document, `?` after that).
    Visible,
}

/// Writes a PDF with one page per [`PdfPage`]: the image fills the page and
/// the words are laid over it, each stretched to its box.
///
/// The output is deterministic (no dates or random IDs). Word boxes are
/// clamped to the image; words whose text is empty after NFKC
/// normalisation are skipped.
///
/// # Errors
/// [`PdfError::NoPages`] for an empty slice, [`PdfError::InvalidWord`] for a
/// word box with a non-finite coordinate or a negative size,
/// [`PdfError::TooManyCharacters`], or [`PdfError::Write`].
pub fn write_searchable_pdf(pages: &[PdfPage], layer: TextLayer) -> Result<Vec<u8>, PdfError> {
    if pages.is_empty() {
        return Err(PdfError::NoPages);
    }
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.new_object_id();
    let mut glyphs = Glyphs::new(layer);
    let mut kids = Vec::with_capacity(pages.len());
    for (index, page) in pages.iter().enumerate() {
        kids.push(add_page(&mut doc, page, index + 1, pages_id, font_id, &mut glyphs)?.into());
    }
    let count = kids.len() as i64;
    doc.objects
        .insert(pages_id, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }));
    let font = glyphs.font_object(&mut doc);
    doc.objects.insert(font_id, font);
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).map_err(|e| PdfError::Write(e.to_string()))?;
    Ok(out)
}

/// Adds one page (image, content stream, page dictionary); returns its id.
fn add_page(
    doc: &mut Document,
    page: &PdfPage,
    number: usize,
    parent: ObjectId,
    font_id: ObjectId,
    glyphs: &mut Glyphs,
) -> Result<ObjectId, PdfError> {
    let (dpi_x, dpi_y) = page.image.effective_dpi();
    let geo = Geometry {
        sx: 72.0 / dpi_x,
        sy: 72.0 / dpi_y,
        img_w: page.image.width() as f32,
        img_h: page.image.height() as f32,
    };
    let (w_pt, h_pt) = (geo.img_w * geo.sx, geo.img_h * geo.sy);

    let (dict, data) = page.image.to_xobject();
    let image_id = doc.add_object(Stream::new(dict, data));

    let mut content = String::with_capacity(64 + 96 * page.lines.len() * 8);
    let _ = writeln!(content, "q {} 0 0 {} 0 0 cm /Im0 Do Q", num(w_pt), num(h_pt));
    let mut text = String::new();
    let caps = line_height_caps(&page.lines);
    for (line, cap) in page.lines.iter().zip(caps) {
        write_line(&mut text, line, cap, &geo, h_pt, number, glyphs)?;
    }
    if !text.is_empty() {
        content.push_str(glyphs.begin_text());
        content.push_str(&text);
        content.push_str("ET\n");
    }
    let content_id =
        doc.add_object(Stream::new(dictionary! { "Filter" => "FlateDecode" }, deflate(content.as_bytes())));

    let media_box: Vec<Object> = [0.0, 0.0, w_pt, h_pt].iter().map(|&v| Object::Real(v)).collect();
    Ok(doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => parent,
        "MediaBox" => media_box,
        "Resources" => dictionary! {
            "XObject" => dictionary! { "Im0" => image_id },
            "Font" => dictionary! { "F1" => font_id },
        },
        "Contents" => content_id,
    }))
}

/// Pixel → point conversion of one page.
struct Geometry {
    sx: f32,
    sy: f32,
    img_w: f32,
    img_h: f32,
}

/// A word ready to place: clamped pixel box and encoded glyph string.
struct Placed {
    left: f32,
    right: f32,
    top: f32,
    bottom: f32,
    hex: String,
    glyph_count: usize,
    first: char,
    last: char,
}

/// Appends the operators of one line: per word an absolute `Tm` at its left
/// edge on its baseline and a `Tz` stretching it to its box, then a space
/// glyph stretched over the gap to the next word (none between CJK words).
/// Words are no taller than `height_cap` and levelled (`placement`).
fn write_line(
    out: &mut String,
    line: &TextLine,
    height_cap: f32,
    geo: &Geometry,
    h_pt: f32,
    page: usize,
    glyphs: &mut Glyphs,
) -> Result<(), PdfError> {
    let mut words = Vec::with_capacity(line.words.len());
    for word in &line.words {
        let [left, top, width, height] = [word.left, word.top, word.width, word.height];
        if ![left, top, width, height].iter().all(|v| v.is_finite()) {
            let reason = format!("{:?} has a coordinate that is not a number", word.text);
            return Err(PdfError::InvalidWord { page, reason });
        }
        if width < 0.0 || height < 0.0 {
            let reason = format!("{:?} has a negative width or height", word.text);
            return Err(PdfError::InvalidWord { page, reason });
        }
        let text = normalize(&word.text);
        let (Some(first), Some(last)) = (text.chars().next(), text.chars().last()) else {
            continue;
        };
        let (left, right) = clamp_span(left, left + width, geo.img_w);
        let (top, bottom) = clamp_span(top, top + height, geo.img_h);
        let mut hex = String::with_capacity(text.len() * 4);
        let mut glyph_count = 0;
        for c in text.chars() {
            glyphs.encode(c, &mut hex)?;
            glyph_count += 1;
        }
        words.push(Placed { left, right, top, bottom, hex, glyph_count, first, last });
    }
    if words.is_empty() {
        return Ok(());
    }
    let mut bands: Vec<Band> = words.iter().map(|w| Band { top: w.top, bottom: w.bottom }).collect();
    cap_heights(&mut bands, height_cap);
    widen_small_words(&mut bands);
    level_baselines(&mut bands);
    for (word, band) in words.iter_mut().zip(bands) {
        (word.top, word.bottom) = (band.top, band.bottom);
    }
    // Each word is set at its own height: one size for the whole line (its
    // union box) would make the text far larger than the gaps between words,
    // which text extractors then read as no gap at all.
    for (i, w) in words.iter().enumerate() {
        let size = (w.bottom - w.top) * geo.sy;
        let baseline = h_pt - w.bottom * geo.sy - f32::from(font::DESCENT) / 1000.0 * size;
        let em = glyphs.advance() / 1000.0 * size;
        let _ = writeln!(out, "/F1 {} Tf", num(size));
        let x = w.left * geo.sx;
        // Text extractors (pdftotext) join two words whose gap is a small
        // fraction of the font size; a word printed close to the next one
        // is set a little narrower so that a gap of MIN_WORD_GAP em stays.
        let right = match words.get(i + 1) {
            Some(next) if !(is_cjk(w.last) && is_cjk(next.first)) => {
                let wanted = next.left - MIN_WORD_GAP * (w.bottom - w.top) * geo.sy / geo.sx;
                w.right.min(wanted).max(w.left + (w.right - w.left) * 0.6)
            }
            _ => w.right,
        };
        let width = (right - w.left) * geo.sx;
        let tz = 100.0 * width / (w.glyph_count as f32 * em);
        let _ = writeln!(out, "1 0 0 1 {} {} Tm {} Tz <{}> Tj", num(x), num(baseline), num(tz), w.hex);
        let Some(next) = words.get(i + 1) else { break };
        if is_cjk(w.last) && is_cjk(next.first) {
            continue;
        }
        let mut space = String::new();
        glyphs.encode(' ', &mut space)?;
        let gap = ((next.left - right) * geo.sx).max(0.01);
        let tz = 100.0 * gap / em;
        let end = x + width;
        let _ = writeln!(out, "1 0 0 1 {} {} Tm {} Tz <{}> Tj", num(end), num(baseline), num(tz), space);
    }
    Ok(())
}

/// Gap kept between two words of a line, in ems of the first word's size.
const MIN_WORD_GAP: f32 = 0.25;

/// Clamps `[a, b]` into `[0, max]` and widens it to at least one pixel.
fn clamp_span(a: f32, b: f32, max: f32) -> (f32, f32) {
    let a = a.clamp(0.0, max);
    let b = b.clamp(a, max);
    if b - a >= 1.0 {
        (a, b)
    } else {
        let b = (a + 1.0).min(max);
        ((b - 1.0).max(0.0), b)
    }
}

/// Number formatting for content streams: at most 3 decimals, no trailing zeros.
fn num(v: f32) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// The document's text font and its character codes.
enum Glyphs {
    Hidden(CidMap),
    Visible(VisibleMap),
}

impl Glyphs {
    fn new(layer: TextLayer) -> Self {
        match layer {
            TextLayer::Hidden => Self::Hidden(CidMap::default()),
            TextLayer::Visible => Self::Visible(VisibleMap::default()),
        }
    }

    fn begin_text(&self) -> &'static str {
        match self {
            Self::Hidden(_) => "BT\n3 Tr\n",
            Self::Visible(_) => "BT\n0 Tr 0.85 0.05 0.05 rg\n",
        }
    }

    fn advance(&self) -> f32 {
        match self {
            Self::Hidden(_) => font::GLYPHLESS_ADVANCE,
            Self::Visible(_) => font::COURIER_ADVANCE,
        }
    }

    /// Appends the hex code of `c` to `hex`.
    fn encode(&mut self, c: char, hex: &mut String) -> Result<(), PdfError> {
        match self {
            Self::Hidden(map) => {
                let cid = map.cid(c).ok_or(PdfError::TooManyCharacters)?;
                let _ = write!(hex, "{cid:04X}");
            }
            Self::Visible(map) => {
                let _ = write!(hex, "{:02X}", map.code(c));
            }
        }
        Ok(())
    }

    /// Adds the font's helper objects and returns the font dictionary.
    fn font_object(&self, doc: &mut Document) -> Object {
        match self {
            Self::Hidden(map) => glyphless_font(doc, map),
            Self::Visible(map) => {
                let to_unicode = doc.add_object(Stream::new(Dictionary::new(), map.to_unicode()));
                let mut differences = Vec::new();
                for code in map.differences() {
                    differences.push(Object::Integer(i64::from(code)));
                    differences.push(Object::Name(b"question".to_vec()));
                }
                let encoding: Object = if differences.is_empty() {
                    "WinAnsiEncoding".into()
                } else {
                    dictionary! {
                        "Type" => "Encoding",
                        "BaseEncoding" => "WinAnsiEncoding",
                        "Differences" => differences,
                    }
                    .into()
                };
                dictionary! {
                    "Type" => "Font",
                    "Subtype" => "Type1",
                    "BaseFont" => "Courier",
                    "Encoding" => encoding,
                    "ToUnicode" => to_unicode,
                }
                .into()
            }
        }
    }
}

/// The Type0 / CIDFontType2 glyphless font with its descriptor, embedded
/// TrueType program, `CIDToGIDMap` and `ToUnicode` CMap.
fn glyphless_font(doc: &mut Document, map: &CidMap) -> Object {
    let ttf = font::glyphless_ttf();
    let ttf_len = ttf.len() as i64;
    let font_file =
        doc.add_object(Stream::new(dictionary! { "Length1" => ttf_len, "Filter" => "FlateDecode" }, deflate(&ttf)));
    let bbox: Vec<Object> =
        [0, i64::from(font::DESCENT), 500, i64::from(font::ASCENT)].iter().map(|&v| Object::Integer(v)).collect();
    let descriptor = doc.add_object(dictionary! {
        "Type" => "FontDescriptor",
        "FontName" => font::GLYPHLESS_NAME,
        "Flags" => 5,
        "FontBBox" => bbox,
        "ItalicAngle" => 0,
        "Ascent" => i64::from(font::ASCENT),
        "Descent" => i64::from(font::DESCENT),
        "CapHeight" => 700,
        "StemV" => 80,
        "FontFile2" => font_file,
    });
    let cid_to_gid =
        doc.add_object(Stream::new(dictionary! { "Filter" => "FlateDecode" }, deflate(&map.cid_to_gid_map())));
    let cid_font = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "CIDFontType2",
        "BaseFont" => font::GLYPHLESS_NAME,
        "CIDSystemInfo" => dictionary! {
            "Registry" => Object::string_literal("Adobe"),
            "Ordering" => Object::string_literal("Identity"),
            "Supplement" => 0,
        },
        "FontDescriptor" => descriptor,
        "DW" => font::GLYPHLESS_ADVANCE as i64,
        "CIDToGIDMap" => cid_to_gid,
    });
    let to_unicode = doc.add_object(Stream::new(dictionary! { "Filter" => "FlateDecode" }, deflate(&map.to_unicode())));
    dictionary! {
        "Type" => "Font",
        "Subtype" => "Type0",
        "BaseFont" => font::GLYPHLESS_NAME,
        "Encoding" => "Identity-H",
        "DescendantFonts" => vec![Object::Reference(cid_font)],
        "ToUnicode" => to_unicode,
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(0.12345), "0.123");
        assert_eq!(num(-0.0001), "0");
        assert_eq!(num(12.5), "12.5");
    }

    #[test]
    fn spans_are_clamped_and_at_least_a_pixel() {
        assert_eq!(clamp_span(-5.0, 10.0, 100.0), (0.0, 10.0));
        assert_eq!(clamp_span(99.5, 120.0, 100.0), (99.0, 100.0));
        assert_eq!(clamp_span(10.0, 10.0, 100.0), (10.0, 11.0));
        assert_eq!(clamp_span(200.0, 300.0, 100.0), (99.0, 100.0));
    }
}
