//! One request's document, read page by page on a worker thread: images are
//! decoded and OCR'd; PDF pages are OCR'd when scanned and taken as they are
//! when born-digital. Optionally writes the searchable PDF of the result.

use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::Arc;

use ocr_engine::decode::count_pages;
use ocr_engine::{
    decode_image, for_each_page, rotate_clockwise, AccurateEngine, Block, BoundingBox, EngineConfig, Line, OcrEngine,
    PageResult, RecognizeOptions, RgbImage, Word,
};
use ocr_pdf::{ImageData, InputPage, PageImage, PdfPage, PdfReader, ReadLimits, TextLayer, TextLine, TextWord};

use super::error::ApiError;

/// Resolution at which PDF pages are rasterised, and at which born-digital
/// text coordinates (points) are reported as pixels.
pub const PDF_DPI: f32 = 300.0;

/// Pages read by each path since start-up (exposed on `/metrics`).
#[derive(Debug, Default)]
pub struct PageCounters {
    /// Pages that went through OCR.
    pub ocr_pages: AtomicU64,
    /// Born-digital PDF pages whose own text was returned without OCR.
    pub text_pages: AtomicU64,
}

/// What reads a page: one engine, or engine 3's accurate combination.
#[derive(Clone)]
pub enum PageReader {
    /// A single engine (OCR.space engines 1 and 2).
    Single(Arc<OcrEngine>),
    /// Engine 2 with engine 1's second opinion on doubtful lines (engine 3).
    Accurate(Arc<AccurateEngine>),
    /// One model set's detector with another's recogniser (docTR's
    /// `detection_model` and `recognition_model` chosen apart).
    Mixed {
        /// Finds the text (and sets the layout).
        detector: Arc<OcrEngine>,
        /// Reads it.
        recognizer: Arc<OcrEngine>,
    },
}

impl PageReader {
    /// Reads one decoded page.
    pub fn recognize_page(&self, page: &RgbImage, options: &RecognizeOptions) -> ocr_engine::Result<PageResult> {
        match self {
            Self::Single(engine) => engine.recognize_page(page, options),
            Self::Accurate(engine) => engine.recognize_page(page, options),
            Self::Mixed { detector, recognizer } => detector.recognize_page_with(page, options, recognizer),
        }
    }

    /// The configuration decoding follows.
    pub fn config(&self) -> &EngineConfig {
        match self {
            Self::Single(engine) => engine.config(),
            Self::Accurate(engine) => engine.primary().config(),
            Self::Mixed { detector, .. } => detector.config(),
        }
    }
}

/// What the worker needs to read one document.
pub struct DocumentJob<'a> {
    /// The uploaded or fetched bytes.
    pub bytes: &'a [u8],
    /// Whether the bytes are a PDF.
    pub is_pdf: bool,
    /// The engine (or engine combination).
    pub engine: &'a PageReader,
    /// Per-request options.
    pub options: &'a RecognizeOptions,
    /// The tier's page limit (already checked; the PDF reader re-checks it).
    pub max_pages: usize,
    /// The searchable PDF's text layer, when one was requested.
    pub pdf: Option<TextLayer>,
}

/// The pages read, and the searchable PDF when requested.
pub struct DocumentResult {
    /// One result per page.
    pub pages: Vec<PageResult>,
    /// The searchable PDF.
    pub pdf: Option<Vec<u8>>,
}

impl DocumentJob<'_> {
    /// Reads every page (blocking, CPU-bound).
    pub fn run(&self, counters: &PageCounters) -> Result<DocumentResult, ApiError> {
        ocr_engine::model::take_plan_build_time();
        let result = self.run_observed(counters, &mut |_, _| {});
        // Time this request spent building optimised plans (or waiting for
        // the start-up builder to finish one it needed): the issue's "no
        // request pays more than 0.3 s of plan building".
        let building = ocr_engine::model::take_plan_build_time();
        if !building.is_zero() {
            tracing::debug!(seconds = building.as_secs_f32(), "request built model plans");
        }
        result
    }

    /// As [`DocumentJob::run`], calling `progress(pages_done, pages_total)`
    /// after each page (the command line's progress line).
    pub fn run_observed(
        &self,
        counters: &PageCounters,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<DocumentResult, ApiError> {
        let mut pages = Vec::new();
        let mut pdf_pages = Vec::new();
        if self.is_pdf {
            self.read_pdf(counters, &mut pages, &mut pdf_pages, progress)?;
        } else {
            self.read_image(counters, &mut pages, &mut pdf_pages, progress)?;
        }
        let pdf = match self.pdf {
            Some(layer) => Some(ocr_pdf::write_searchable_pdf(&pdf_pages, layer).map_err(pdf_error)?),
            None => None,
        };
        Ok(DocumentResult { pages, pdf })
    }

    fn read_image(
        &self,
        counters: &PageCounters,
        pages: &mut Vec<PageResult>,
        pdf_pages: &mut Vec<PdfPage>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(), ApiError> {
        let total = count_pages(self.bytes)?;
        // Pages are decoded one at a time (a GIF's frames onto one reused
        // canvas), each read before the next is decoded. A failure of the
        // searchable-PDF side is kept here and stops decoding.
        let mut pdf_failure = None;
        let decoded = for_each_page(self.bytes, &self.engine.config().decode, |index, page| {
            let result = self.engine.recognize_page(&page, self.options)?;
            counters.ocr_pages.fetch_add(1, Ordering::Relaxed);
            if self.pdf.is_some() {
                // A JPEG shown as stored goes into the PDF byte for byte.
                let passthrough = total == 1
                    && result.rotation == 0
                    && ocr_engine::decode::ImageKind::sniff(self.bytes) == Some(ocr_engine::decode::ImageKind::Jpeg)
                    && !ocr_engine::decode::is_reoriented(self.bytes);
                let image = if passthrough {
                    PageImage::jpeg(self.bytes.to_vec()).map_err(pdf_error)
                } else {
                    page_image(&rotate_clockwise(&page, result.rotation))
                };
                match image {
                    Ok(image) => pdf_pages.push(PdfPage { image, lines: text_lines(&result) }),
                    Err(e) => {
                        pdf_failure = Some(e);
                        return Err(ocr_engine::EngineError::Cancelled);
                    }
                }
            }
            pages.push(result);
            progress(index + 1, total);
            Ok(())
        });
        match (pdf_failure, decoded) {
            (Some(e), _) => Err(e),
            (None, Err(e)) => Err(e.into()),
            (None, Ok(_)) => Ok(()),
        }
    }

    fn read_pdf(
        &self,
        counters: &PageCounters,
        pages: &mut Vec<PageResult>,
        pdf_pages: &mut Vec<PdfPage>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(), ApiError> {
        let decode = &self.engine.config().decode;
        let limits = ReadLimits {
            max_pages: self.max_pages,
            max_bytes: self.bytes.len().max(1),
            dpi: PDF_DPI,
            max_pixels_per_page: decode.max_pixels,
            max_total_pixels: decode.max_total_pixels,
            ..ReadLimits::default()
        };
        // The worker pool runs jobs inside a cancellation scope; elsewhere
        // (the command line) nothing cancels.
        let cancel = ocr_engine::cancel::current().unwrap_or_default();
        let reader = PdfReader::open(self.bytes, &limits, cancel.flag()).map_err(pdf_error)?;
        let total = reader.page_count();
        // One page at a time: read (rendered or decoded), OCR'd, dropped.
        for number in 1..=total {
            cancel.check()?;
            match reader.read_page(number, cancel.flag()).map_err(pdf_error)? {
                InputPage::Text { width_pt, height_pt, lines } => {
                    let result = text_page(width_pt, height_pt, &lines);
                    counters.text_pages.fetch_add(1, Ordering::Relaxed);
                    if self.pdf.is_some() {
                        let picture = reader.render_page(number, cancel.flag()).map_err(pdf_error)?;
                        let image = match picture {
                            InputPage::Raster { width, height, pixels, dpi } => {
                                PageImage::rgb(width, height, pixels).map_err(pdf_error)?.with_dpi(dpi, dpi)
                            }
                            _ => return Err(ApiError::Internal("a rendered PDF page has no pixels".into())),
                        };
                        pdf_pages.push(PdfPage { image, lines: text_lines(&result) });
                    }
                    pages.push(result);
                }
                InputPage::EmbeddedImage { image, .. } => {
                    let pixels = rgb_of(&image)?;
                    let result = self.engine.recognize_page(&pixels, self.options)?;
                    counters.ocr_pages.fetch_add(1, Ordering::Relaxed);
                    if self.pdf.is_some() {
                        let image = if result.rotation == 0 {
                            image
                        } else {
                            page_image(&rotate_clockwise(&pixels, result.rotation))?
                        };
                        pdf_pages.push(PdfPage { image, lines: text_lines(&result) });
                    }
                    pages.push(result);
                }
                InputPage::Raster { width, height, pixels, dpi } => {
                    let pixels = RgbImage::from_raw(width, height, pixels)
                        .ok_or_else(|| ApiError::Internal("a rendered PDF page has the wrong size".into()))?;
                    let result = self.engine.recognize_page(&pixels, self.options)?;
                    counters.ocr_pages.fetch_add(1, Ordering::Relaxed);
                    if self.pdf.is_some() {
                        let turned = rotate_clockwise(&pixels, result.rotation);
                        pdf_pages.push(PdfPage {
                            image: page_image(&turned)?.with_dpi(dpi, dpi),
                            lines: text_lines(&result),
                        });
                    }
                    pages.push(result);
                }
            }
            progress(number, total);
        }
        Ok(())
    }
}

fn pdf_error(e: ocr_pdf::PdfError) -> ApiError {
    ApiError::Pdf(e)
}

/// A born-digital page's own text as a page result, in pixels at [`PDF_DPI`].
fn text_page(width_pt: f32, height_pt: f32, lines: &[TextLine]) -> PageResult {
    let scale = PDF_DPI / 72.0;
    let lines: Vec<Line> = lines
        .iter()
        .map(|line| {
            let words = line
                .words
                .iter()
                .map(|w| {
                    let bbox = BoundingBox {
                        left: w.left * scale,
                        top: w.top * scale,
                        width: w.width * scale,
                        height: w.height * scale,
                    };
                    Word { text: w.text.clone(), confidence: 1.0, detection_score: 1.0, quad: bbox.quad(), bbox }
                })
                .collect();
            Line::new(words)
        })
        .filter(|line| !line.words.is_empty())
        .collect();
    let blocks = if lines.is_empty() { Vec::new() } else { vec![Block::new(lines)] };
    PageResult {
        width: (width_pt * scale).round() as u32,
        height: (height_pt * scale).round() as u32,
        rotation: 0,
        blocks,
    }
}

/// The text layer of a page result: every word at its box, line by line.
fn text_lines(result: &PageResult) -> Vec<TextLine> {
    result
        .lines()
        .map(|line| TextLine {
            words: line
                .words
                .iter()
                .map(|w| TextWord {
                    text: w.text.clone(),
                    left: w.bbox.left,
                    top: w.bbox.top,
                    width: w.bbox.width,
                    height: w.bbox.height,
                })
                .collect(),
        })
        .collect()
}

/// Pixels for the PDF: gray when the page has no colour (smaller), else RGB.
fn page_image(page: &RgbImage) -> Result<PageImage, ApiError> {
    let (width, height) = page.dimensions();
    let is_gray = page.pixels().all(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2]);
    let image = if is_gray {
        PageImage::gray(width, height, page.pixels().map(|p| p.0[0]).collect())
    } else {
        PageImage::rgb(width, height, page.as_raw().clone())
    };
    image.map_err(pdf_error)
}

/// The pixels of an image embedded in a PDF, for OCR.
fn rgb_of(image: &PageImage) -> Result<RgbImage, ApiError> {
    let (width, height) = (image.width(), image.height());
    let wrong = || ApiError::Internal("an embedded PDF image has the wrong size".into());
    match image.data() {
        ImageData::Jpeg { bytes, .. } => {
            let mut pages = decode_image(bytes, &Default::default())?;
            pages.pop().ok_or_else(wrong)
        }
        ImageData::Gray(v) => {
            RgbImage::from_raw(width, height, v.iter().flat_map(|&g| [g, g, g]).collect()).ok_or_else(wrong)
        }
        ImageData::Rgb(v) => RgbImage::from_raw(width, height, v.clone()).ok_or_else(wrong),
        ImageData::Bilevel(packed) => {
            let stride = (width as usize).div_ceil(8);
            if packed.len() < stride * height as usize {
                return Err(wrong());
            }
            Ok(RgbImage::from_fn(width, height, |x, y| {
                let byte = packed[y as usize * stride + x as usize / 8];
                let v = if byte & (0x80 >> (x % 8)) != 0 { 255 } else { 0 };
                ocr_engine::Rgb([v, v, v])
            }))
        }
    }
}
