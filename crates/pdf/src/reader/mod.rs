//! PDF input: page count, born-digital text, embedded scans, rasterising.
//!
//! The decision rules are described in the crate documentation.

mod bounds;
mod raster;
mod scan;
mod words;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use hayro::hayro_interpret::hayro_syntax::page::Page;
use hayro::hayro_interpret::hayro_syntax::{LoadPdfError, Pdf};
use hayro::hayro_interpret::util::TransformExt;
use hayro::hayro_interpret::{interpret_page, Context, InterpreterCache, InterpreterSettings};
use hayro::kurbo::Rect;

use crate::{PageImage, PdfError, TextLine};
use scan::{FirstImage, Grabbed, PageScan};

/// Bounds on the work [`read_pages`] may do for one document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadLimits {
    /// Most pages a document may have (checked before any page is read).
    pub max_pages: usize,
    /// Largest accepted input, in bytes.
    pub max_bytes: usize,
    /// Resolution for rasterised pages, in pixels per inch (1 to 2400).
    pub dpi: f32,
    /// Most pixels (width × height) a rasterised page, or an image that has
    /// to be decoded, may have.
    pub max_pixels_per_page: u64,
}

impl Default for ReadLimits {
    /// 100 pages, 100 MiB, 300 dpi, 50 million pixels per page (A3 at 300 dpi is 17.4 million).
    fn default() -> Self {
        Self { max_pages: 100, max_bytes: 100 << 20, dpi: 300.0, max_pixels_per_page: 50_000_000 }
    }
}

/// One page of an input PDF, in the form the OCR server needs.
#[derive(Debug, Clone, PartialEq)]
pub enum InputPage {
    /// Born-digital: the page's own text, no OCR needed.
    Text {
        /// Page width in points (after rotation and cropping).
        width_pt: f32,
        /// Page height in points.
        height_pt: f32,
        /// Lines in content order; word boxes in points, top-left origin.
        lines: Vec<TextLine>,
    },
    /// Scanned: the page is one upright full-page image, taken as it is
    /// stored (a JPEG's own bytes) or decoded to gray/RGB pixels. Its
    /// [`PageImage::dpi`] is set from the size it is drawn at.
    EmbeddedImage {
        /// The image.
        image: PageImage,
        /// Page width in points.
        width_pt: f32,
        /// Page height in points.
        height_pt: f32,
    },
    /// Anything else, rendered on white.
    Raster {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// RGB, 3 bytes per pixel, rows top to bottom.
        pixels: Vec<u8>,
        /// Resolution it was rendered at, pixels per inch.
        dpi: f32,
    },
}

/// Number of pages of a PDF. Parses only the cross-reference data and page
/// tree, so it is cheap enough to enforce a page limit before any other work.
///
/// # Errors
/// [`PdfError::Malformed`] (including a document without pages) or
/// [`PdfError::Encrypted`].
pub fn page_count(bytes: &[u8]) -> Result<usize, PdfError> {
    let pdf = open(bytes)?;
    guard("counting pages", || pdf.pages().len())
}

/// Reads every page of a PDF (see the crate documentation for how each page
/// is classified).
///
/// # Errors
/// [`PdfError::TooLarge`], [`PdfError::Malformed`], [`PdfError::Encrypted`],
/// [`PdfError::TooManyPages`] (before any page is interpreted),
/// [`PdfError::PageTooLarge`] or [`PdfError::Render`].
pub fn read_pages(bytes: &[u8], limits: &ReadLimits) -> Result<Vec<InputPage>, PdfError> {
    if !(1.0..=2400.0).contains(&limits.dpi) {
        return Err(PdfError::InvalidLimits(format!("dpi {} is not between 1 and 2400", limits.dpi)));
    }
    if bytes.len() > limits.max_bytes {
        return Err(PdfError::TooLarge { bytes: bytes.len(), max: limits.max_bytes });
    }
    let pdf = open(bytes)?;
    let count = guard("counting pages", || pdf.pages().len())?;
    if count > limits.max_pages {
        return Err(PdfError::TooManyPages { pages: count, max: limits.max_pages });
    }
    let per_stream = limits.max_pixels_per_page.saturating_mul(4).saturating_add(16 << 20);
    guard("checking stream sizes", || bounds::check_flate_streams(&pdf, per_stream))??;
    let settings = InterpreterSettings::default();
    let mut out = Vec::with_capacity(count);
    for (index, page) in pdf.pages().iter().enumerate() {
        out.push(read_page(page, index + 1, &settings, limits)?);
    }
    Ok(out)
}

/// Renders page `number` (1-based) to pixels at `limits.dpi`, whatever its
/// kind, as an [`InputPage::Raster`]: the picture of a born-digital page, for
/// a searchable PDF made from it.
///
/// # Errors
/// As [`read_pages`]; [`PdfError::InvalidLimits`] for a page number out of range.
pub fn render_page(bytes: &[u8], number: usize, limits: &ReadLimits) -> Result<InputPage, PdfError> {
    if bytes.len() > limits.max_bytes {
        return Err(PdfError::TooLarge { bytes: bytes.len(), max: limits.max_bytes });
    }
    let pdf = open(bytes)?;
    let pages = pdf.pages();
    let page = number
        .checked_sub(1)
        .and_then(|i| pages.get(i))
        .ok_or_else(|| PdfError::InvalidLimits(format!("page {number} is not in the document")))?;
    raster::render_page(page, number, &InterpreterSettings::default(), limits)
}

/// Parses the document, mapping failures (and panics) to errors.
fn open(bytes: &[u8]) -> Result<Pdf, PdfError> {
    let data = Arc::new(bytes.to_vec());
    let pdf = guard("parsing", || Pdf::new(data))?.map_err(|e| match e {
        LoadPdfError::Decryption(d) => PdfError::Encrypted(format!("{d:?}")),
        LoadPdfError::Invalid => PdfError::Malformed("no valid cross-reference data or page tree".into()),
    })?;
    let pages = guard("counting pages", || pdf.pages().len())?;
    if pages == 0 {
        return Err(PdfError::Malformed("the document has no pages".into()));
    }
    Ok(pdf)
}

/// Runs third-party code, turning a panic into [`PdfError::Malformed`].
fn guard<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, PdfError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| PdfError::Malformed(format!("the PDF parser failed while {what}")))
}

/// Runs the page's content through `device` in top-left page points.
fn interpret<'a>(
    page: &Page<'a>,
    settings: &InterpreterSettings,
    device: &mut impl hayro::hayro_interpret::Device<'a>,
) {
    let (w, h) = page.render_dimensions();
    let cache = InterpreterCache::new();
    let mut ctx = Context::new(
        page.initial_transform(true).to_kurbo(),
        Rect::new(0.0, 0.0, f64::from(w), f64::from(h)),
        &cache,
        page.xref(),
        settings.clone(),
    );
    interpret_page(page, &mut ctx, device);
}

fn read_page(
    page: &Page<'_>,
    number: usize,
    settings: &InterpreterSettings,
    limits: &ReadLimits,
) -> Result<InputPage, PdfError> {
    let render_err = |reason: &str| PdfError::Render { page: number, reason: reason.to_owned() };
    let (width_pt, height_pt) = page.render_dimensions();
    let mut scan = PageScan::default();
    catch_unwind(AssertUnwindSafe(|| interpret(page, settings, &mut scan)))
        .map_err(|_| render_err("the interpreter panicked"))?;

    let visible: Vec<&scan::GlyphBox> = scan.glyphs.iter().filter(|g| g.visible).collect();
    let mapped = visible.iter().filter(|g| g.text.as_deref().is_some_and(|t| t != "\u{FFFD}")).count();
    if !visible.is_empty() && mapped * 10 >= visible.len() * 9 {
        let all: Vec<&scan::GlyphBox> = scan.glyphs.iter().collect();
        return Ok(InputPage::Text { width_pt, height_pt, lines: words::group(&all) });
    }
    if scan.glyphs.is_empty() && scan.image_count == 0 && scan.paths == 0 {
        return Ok(InputPage::Text { width_pt, height_pt, lines: Vec::new() });
    }
    check_pixels(number, scan.largest_image.0, scan.largest_image.1, limits)?;
    if visible.is_empty() && scan.paths == 0 && scan.image_count == 1 {
        let img = scan.images[0];
        if img.plain {
            if let Some(image) = embedded_image(page, settings, &img, width_pt, height_pt, number)? {
                return Ok(InputPage::EmbeddedImage { image, width_pt, height_pt });
            }
        }
    }
    raster::render_page(page, number, settings, limits)
}

/// The page's single image, when it is drawn upright over ≥ 90 % of the page.
fn embedded_image(
    page: &Page<'_>,
    settings: &InterpreterSettings,
    img: &scan::DrawnImage,
    width_pt: f32,
    height_pt: f32,
    number: usize,
) -> Result<Option<PageImage>, PdfError> {
    let [a, b, c, d, _, _] = img.transform.as_coeffs();
    if b.abs() > 1e-6 || c.abs() > 1e-6 || a <= 0.0 || d <= 0.0 {
        return Ok(None);
    }
    let drawn = img.transform.transform_rect_bbox(Rect::new(0.0, 0.0, f64::from(img.width), f64::from(img.height)));
    let page_rect = Rect::new(0.0, 0.0, f64::from(width_pt), f64::from(height_pt));
    if drawn.intersect(page_rect).area() < 0.9 * page_rect.area() {
        return Ok(None);
    }
    let mut grab = FirstImage::default();
    catch_unwind(AssertUnwindSafe(|| interpret(page, settings, &mut grab)))
        .map_err(|_| PdfError::Render { page: number, reason: "the image decoder panicked".into() })?;
    let dpi_of = |px: u32, pt: f64| (f64::from(px) * 72.0 / pt) as f32;
    let image = match grab.found {
        Some(Grabbed::Jpeg(bytes)) => PageImage::jpeg(bytes)?,
        Some(Grabbed::Pixels(w, h, 1, px)) => PageImage::gray(w, h, px)?,
        Some(Grabbed::Pixels(w, h, _, px)) => PageImage::rgb(w, h, px)?,
        Some(Grabbed::Failed) | None => return Ok(None),
    };
    let dpi = (dpi_of(image.width(), drawn.width()), dpi_of(image.height(), drawn.height()));
    Ok(Some(image.with_dpi(dpi.0, dpi.1)))
}

fn check_pixels(page: usize, width: u64, height: u64, limits: &ReadLimits) -> Result<(), PdfError> {
    if width.saturating_mul(height) > limits.max_pixels_per_page {
        return Err(PdfError::PageTooLarge { page, width, height, max: limits.max_pixels_per_page });
    }
    Ok(())
}

impl InputPage {
    /// A short name of the variant, for logs: `"text"`, `"image"` or `"raster"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::EmbeddedImage { .. } => "image",
            Self::Raster { .. } => "raster",
        }
    }
}
