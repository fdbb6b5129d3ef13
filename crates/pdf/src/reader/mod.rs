//! PDF input: page count, born-digital text, embedded scans, rasterising.
//!
//! The decision rules are described in the crate documentation.

mod bounds;
mod budget;
mod filters;
mod raster;
mod scan;
mod words;

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use hayro::hayro_interpret::hayro_syntax::page::Page;
use hayro::hayro_interpret::hayro_syntax::{LoadPdfError, Pdf};
use hayro::hayro_interpret::util::TransformExt;
use hayro::hayro_interpret::{interpret_page, Context, InterpreterCache, InterpreterSettings};
use hayro::kurbo::Rect;

use crate::{PageImage, PdfError, TextLine};
use budget::{Meter, Stop};
use scan::{FirstImage, Grabbed, PageScan};

/// Bounds on the work [`read_pages`] and [`PdfReader`] may do for one document.
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
    /// Most pixels all pages of the document may have together (rasterised
    /// pages, and decoded or passed-through page images), charged before
    /// each page's pixels are allocated.
    pub max_total_pixels: u64,
    /// Most operators one page may run with its Form XObjects expanded,
    /// and most units of drawing work it may do: one per drawing call and
    /// per glyph, plus one per 2,000 rendered pixels a fill, stroke or image
    /// covers (so that rasterising the page takes about 2 seconds at most).
    pub max_operations: u64,
}

impl Default for ReadLimits {
    /// 100 pages, 100 MiB, 300 dpi, 50 million pixels per page (A3 at 300
    /// dpi is 17.4 million), 1 billion pixels in all, 5 million operations per page.
    fn default() -> Self {
        Self {
            max_pages: 100,
            max_bytes: 100 << 20,
            dpi: 300.0,
            max_pixels_per_page: 50_000_000,
            max_total_pixels: 1_000_000_000,
            max_operations: 5_000_000,
        }
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
/// is classified), all at once; [`PdfReader`] reads them one at a time.
///
/// # Errors
/// As [`PdfReader::open`] and [`PdfReader::read_page`].
pub fn read_pages(bytes: &[u8], limits: &ReadLimits) -> Result<Vec<InputPage>, PdfError> {
    let never = AtomicBool::new(false);
    let reader = PdfReader::open(bytes, limits, &never)?;
    (1..=reader.page_count()).map(|n| reader.read_page(n, &never)).collect()
}

/// Renders page `number` (1-based) to pixels at `limits.dpi`, whatever its
/// kind, as an [`InputPage::Raster`]: the picture of a born-digital page, for
/// a searchable PDF made from it.
///
/// # Errors
/// As [`PdfReader::render_page`].
pub fn render_page(bytes: &[u8], number: usize, limits: &ReadLimits) -> Result<InputPage, PdfError> {
    let never = AtomicBool::new(false);
    PdfReader::open(bytes, limits, &never)?.render_page(number, &never)
}

/// A PDF opened for reading page by page, so that a caller holds the pixels
/// of one page at a time. Every bound of [`ReadLimits`] applies: the page
/// count and the decoded size of every stream are checked by
/// [`open`](Self::open); each page's work and pixels when it is read.
///
/// Every method takes a cancellation flag: once it is set, the work stops
/// at the next check (between streams, and between the interpreter's
/// drawing calls) with [`PdfError::Cancelled`]. Rasterising a page (after
/// its work was measured within the budget) cannot be interrupted.
pub struct PdfReader {
    pdf: Pdf,
    limits: ReadLimits,
    settings: InterpreterSettings,
    pages: usize,
    /// Pixels charged so far against [`ReadLimits::max_total_pixels`].
    pixels: Cell<u64>,
}

impl PdfReader {
    /// Parses the document and checks its size, page count and the decoded
    /// size of every stream (through its whole filter chain).
    ///
    /// # Errors
    /// [`PdfError::InvalidLimits`], [`PdfError::TooLarge`], [`PdfError::Malformed`],
    /// [`PdfError::Encrypted`], [`PdfError::TooManyPages`],
    /// [`PdfError::DecompressionLimit`] or [`PdfError::Cancelled`].
    pub fn open(bytes: &[u8], limits: &ReadLimits, cancel: &AtomicBool) -> Result<Self, PdfError> {
        if !(1.0..=2400.0).contains(&limits.dpi) {
            return Err(PdfError::InvalidLimits(format!("dpi {} is not between 1 and 2400", limits.dpi)));
        }
        if bytes.len() > limits.max_bytes {
            return Err(PdfError::TooLarge { bytes: bytes.len(), max: limits.max_bytes });
        }
        let pdf = open(bytes)?;
        let pages = guard("counting pages", || pdf.pages().len())?;
        if pages > limits.max_pages {
            return Err(PdfError::TooManyPages { pages, max: limits.max_pages });
        }
        let per_stream = per_stream(limits);
        guard("checking stream sizes", || bounds::check_streams(&pdf, per_stream, cancel))??;
        let settings = InterpreterSettings::default();
        Ok(Self { pdf, limits: *limits, settings, pages, pixels: Cell::new(0) })
    }

    /// Number of pages.
    pub fn page_count(&self) -> usize {
        self.pages
    }

    /// Reads page `number` (1-based).
    ///
    /// # Errors
    /// [`PdfError::InvalidLimits`] for a page number out of range,
    /// [`PdfError::TooMuchWork`], [`PdfError::PageTooLarge`],
    /// [`PdfError::PixelBudget`], [`PdfError::DecompressionLimit`] (an inline
    /// image), [`PdfError::Render`] or [`PdfError::Cancelled`].
    pub fn read_page(&self, number: usize, cancel: &AtomicBool) -> Result<InputPage, PdfError> {
        let page = self.page(number)?;
        self.check_work(page, number, cancel)?;
        read_page(self, page, number, cancel)
    }

    /// Renders page `number` (1-based) to pixels at the limits' dpi,
    /// whatever its kind, as an [`InputPage::Raster`]: the picture of a
    /// born-digital page, for a searchable PDF made from it.
    ///
    /// # Errors
    /// As [`read_page`](Self::read_page).
    pub fn render_page(&self, number: usize, cancel: &AtomicBool) -> Result<InputPage, PdfError> {
        let page = self.page(number)?;
        self.check_work(page, number, cancel)?;
        raster::render_page(self, page, number, cancel)
    }

    fn page(&self, number: usize) -> Result<&Page<'_>, PdfError> {
        let pages = self.pdf.pages();
        number
            .checked_sub(1)
            .and_then(|i| pages.get(i))
            .ok_or_else(|| PdfError::InvalidLimits(format!("page {number} is not in the document")))
    }

    /// Refuses a page whose content, with its forms expanded, runs more
    /// operators than allowed.
    fn check_work(&self, page: &Page<'_>, number: usize, cancel: &AtomicBool) -> Result<(), PdfError> {
        let limit = self.limits.max_operations;
        let ops = guard("measuring the page", || budget::expanded_operations(page, limit, cancel))??;
        if ops > limit {
            return Err(PdfError::TooMuchWork { page: number, limit });
        }
        Ok(())
    }

    /// Charges a page of `width` × `height` pixels against the per-page and
    /// the document's total pixel limits.
    fn charge_pixels(&self, page: usize, width: u64, height: u64) -> Result<(), PdfError> {
        check_pixels(page, width, height, &self.limits)?;
        let total = self.pixels.get().saturating_add(width.saturating_mul(height));
        if total > self.limits.max_total_pixels {
            return Err(PdfError::PixelBudget { max: self.limits.max_total_pixels });
        }
        self.pixels.set(total);
        Ok(())
    }

    /// Runs the page's content through `device` in top-left page points,
    /// turning a stop raised by the device (budget, cancellation) or a
    /// panic of the interpreter into an error.
    fn interpret<'a>(
        &self,
        page: &Page<'a>,
        number: usize,
        device: &mut impl hayro::hayro_interpret::Device<'a>,
    ) -> Result<(), PdfError> {
        let (w, h) = page.render_dimensions();
        let cache = InterpreterCache::new();
        let run = catch_unwind(AssertUnwindSafe(|| {
            let mut ctx = Context::new(
                page.initial_transform(true).to_kurbo(),
                Rect::new(0.0, 0.0, f64::from(w), f64::from(h)),
                &cache,
                page.xref(),
                self.settings.clone(),
            );
            interpret_page(page, &mut ctx, device);
        }));
        run.map_err(|payload| match payload.downcast_ref::<Stop>() {
            Some(stop) => stop.error(number, self.limits.max_operations),
            None => PdfError::Render { page: number, reason: "the interpreter panicked".into() },
        })
    }
}

/// Largest decoded size of one stream: room for the largest raw image allowed.
fn per_stream(limits: &ReadLimits) -> u64 {
    limits.max_pixels_per_page.saturating_mul(4).saturating_add(16 << 20)
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

fn read_page(reader: &PdfReader, page: &Page<'_>, number: usize, cancel: &AtomicBool) -> Result<InputPage, PdfError> {
    let limits = &reader.limits;
    let (width_pt, height_pt) = page.render_dimensions();
    let page_rect = Rect::new(0.0, 0.0, f64::from(width_pt), f64::from(height_pt));
    let meter = Meter::new(limits.max_operations, cancel);
    let mut scan = PageScan::new(meter, per_stream(limits), page_rect, f64::from(limits.dpi) / 72.0);
    reader.interpret(page, number, &mut scan)?;

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
            if let Some(image) = embedded_image(reader, page, &img, (width_pt, height_pt), number, cancel)? {
                return Ok(InputPage::EmbeddedImage { image, width_pt, height_pt });
            }
        }
    }
    raster::render_page(reader, page, number, cancel)
}

/// The page's single image, when it is drawn upright over ≥ 90 % of the page.
fn embedded_image(
    reader: &PdfReader,
    page: &Page<'_>,
    img: &scan::DrawnImage,
    (width_pt, height_pt): (f32, f32),
    number: usize,
    cancel: &AtomicBool,
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
    reader.charge_pixels(number, u64::from(img.width), u64::from(img.height))?;
    let mut grab = FirstImage { meter: Meter::new(reader.limits.max_operations, cancel), found: None };
    reader.interpret(page, number, &mut grab).map_err(|e| match e {
        PdfError::Render { page, .. } => PdfError::Render { page, reason: "the image decoder panicked".into() },
        other => other,
    })?;
    let dpi_of = |px: u32, pt: f64| (f64::from(px) * 72.0 / pt) as f32;
    let image = match grab.found {
        Some(Grabbed::Jpeg(bytes)) => PageImage::jpeg(bytes)?,
        Some(Grabbed::Pixels(w, h, 1, px)) => PageImage::gray(w, h, px)?,
        Some(Grabbed::Pixels(w, h, _, px)) => PageImage::rgb(w, h, px)?,
        Some(Grabbed::Failed) | None => {
            let charged = u64::from(img.width) * u64::from(img.height);
            reader.pixels.set(reader.pixels.get().saturating_sub(charged));
            return Ok(None);
        }
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
