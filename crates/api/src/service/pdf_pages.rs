//! Conversions between the engine's pages and the PDF's for the document
//! job (`super::document`): a born-digital page's own text as a page
//! result, a result's words as a searchable PDF's text layer, pixels as a
//! PDF page's picture, and an embedded PDF image as pixels for OCR.

use std::sync::atomic::AtomicBool;

use ocr_engine::{decode_image, Block, BoundingBox, Line, PageResult, RgbImage, Word};
use ocr_pdf::{ImageData, InputPage, PageImage, PdfPage, PdfReader, TextLine, TextWord};

use super::document::PDF_DPI;
use super::error::ServiceError;

/// A PDF error as the service's.
pub(super) fn pdf_error(e: ocr_pdf::PdfError) -> ServiceError {
    ServiceError::Pdf(e)
}

/// A born-digital page rendered for the searchable PDF, with its own text
/// (`result`) as the text layer.
pub(super) fn rendered_pdf_page(
    reader: &PdfReader,
    number: usize,
    cancel: &AtomicBool,
    result: &PageResult,
) -> Result<PdfPage, ServiceError> {
    match reader.render_page(number, cancel).map_err(pdf_error)? {
        InputPage::Raster { width, height, pixels, dpi } => Ok(PdfPage {
            image: PageImage::rgb(width, height, pixels).map_err(pdf_error)?.with_dpi(dpi, dpi),
            lines: text_lines(result),
        }),
        _ => Err(ServiceError::Internal("a rendered PDF page has no pixels".into())),
    }
}

/// A born-digital page's own text as a page result, in pixels at [`PDF_DPI`].
pub(super) fn text_page(width_pt: f32, height_pt: f32, lines: &[TextLine]) -> PageResult {
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
pub(super) fn text_lines(result: &PageResult) -> Vec<TextLine> {
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
pub(super) fn page_image(page: &RgbImage) -> Result<PageImage, ServiceError> {
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
pub(super) fn rgb_of(image: &PageImage) -> Result<RgbImage, ServiceError> {
    let (width, height) = (image.width(), image.height());
    let wrong = || ServiceError::Internal("an embedded PDF image has the wrong size".into());
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
