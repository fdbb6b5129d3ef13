//! The docTR-style API (`POST /ocr`, `POST /kie`): its parameters, its
//! response shape and its errors. The HTTP handlers are in
//! `server::doctr`; the OCR itself is the same engine and worker pool the
//! OCR.space endpoints use. `docs/api.md` describes the endpoints.

mod error;
pub mod fields;
mod language;
mod params;
pub mod response;

use ocr_engine::PageResult;

pub use error::{DoctrError, ErrorDetail};
pub use fields::{KieDocument, KieField, KiePage, KieValue};
pub use params::{DoctrParams, Model, ParamsError, DETECTION_MODELS, RECOGNITION_MODELS};
pub use response::{Geometry, Language, OcrBlock, OcrDocument, OcrLine, OcrPage, OcrWord, Orientation};

/// Which endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /ocr`: pages > blocks > lines > words.
    Ocr,
    /// `POST /kie`: each page's extracted fields.
    Kie,
}

/// The pages read from one uploaded file.
#[derive(Debug, Clone)]
pub struct FileResult {
    /// The file name the client sent.
    pub name: String,
    /// One result per page.
    pub pages: Vec<PageResult>,
}

/// A response body: one document per file (fields in the seeds' order).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Body {
    /// `POST /ocr`.
    Ocr(Vec<OcrDocument>),
    /// `POST /kie`.
    Kie(Vec<KieDocument>),
}

/// The response body: one document per file.
pub fn render(endpoint: Endpoint, params: &DoctrParams, files: &[FileResult]) -> Body {
    let layout = response::LayoutChoice {
        straight: params.assume_straight_pages,
        group_lines: params.group_lines,
        group_blocks: params.group_blocks,
        paragraph_break: params.paragraph_break,
        report_orientation: params.detect_orientation || params.straighten_pages,
    };
    match endpoint {
        Endpoint::Ocr => Body::Ocr(files.iter().map(|f| ocr_document(f, params, &layout)).collect()),
        Endpoint::Kie => {
            let options = crate::kie::KieOptions { day_first: params.day_first };
            Body::Kie(
                files.iter().map(|f| fields::document(ocr_document(f, params, &layout), &f.pages, &options)).collect(),
            )
        }
    }
}

/// One file's `/ocr` document.
fn ocr_document(file: &FileResult, params: &DoctrParams, layout: &response::LayoutChoice) -> OcrDocument {
    let pages: Vec<OcrPage> = file.pages.iter().map(|p| response::render_page(p, layout)).collect();
    let language = if params.detect_language {
        let text: Vec<String> = file.pages.iter().map(PageResult::text).collect();
        language::detect(&text.join("\n"))
    } else {
        Language { value: None, confidence: None }
    };
    OcrDocument {
        name: file.name.clone(),
        orientation: pages.first().map_or(Orientation::UNKNOWN, |p| p.orientation),
        language,
        dimensions: pages.first().map_or([0, 0], |p| p.dimensions),
        pages,
    }
}
