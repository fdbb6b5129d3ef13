//! OCR.space response bodies, field for field and in the vendor's key order
//! (see `ocrspace-spec.md` §4–§5): integers for exit codes,
//! `ProcessingTimeInMilliseconds` as a string, `ErrorMessage` an array on the
//! envelope but a string on each page.

use serde::Serialize;

/// Sentence sent in `SearchablePDFURL` when no PDF was requested (clients
/// assert this exact text).
pub const PDF_NOT_REQUESTED: &str = "Searchable PDF not generated as it was not requested.";
/// Message sent in `SearchablePDFURL` when a PDF was requested but the
/// key's tier does not include searchable PDFs (never a fake link).
pub const PDF_NOT_IN_PLAN: &str =
    "Searchable PDF not generated: the plan of this API key does not include searchable PDFs.";
/// `TextOverlay.Message` when the overlay was not requested.
pub const OVERLAY_NOT_REQUESTED: &str = "Text overlay is not provided as it is not requested";

/// The `SearchablePDFURL` value: the PDF's link, else why there is none.
pub fn searchable_pdf_field(link: Option<String>, requested: bool) -> String {
    match link {
        Some(link) => link,
        None if requested => PDF_NOT_IN_PLAN.to_string(),
        None => PDF_NOT_REQUESTED.to_string(),
    }
}

/// The top-level response of `/parse/image` and `/parse/imageurl`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct OcrSpaceResponse {
    /// One entry per page or frame; absent on errors before any page was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parsed_results: Option<Vec<ParsedResult>>,
    /// 1 all pages parsed, 2 partly, 3 none, 4 fatal, 6 timed out, 99 bad parameters.
    #[serde(rename = "OCRExitCode")]
    pub ocr_exit_code: i32,
    /// Whether anything went wrong.
    pub is_errored_on_processing: bool,
    /// The errors; present exactly when `is_errored_on_processing` is true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<Vec<String>>,
    /// More detail on the error, when there is any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_details: Option<String>,
    /// Processing time, an integer formatted as a string.
    pub processing_time_in_milliseconds: String,
    /// Link to the searchable PDF, or [`PDF_NOT_REQUESTED`]; absent on errors.
    #[serde(rename = "SearchablePDFURL", skip_serializing_if = "Option::is_none")]
    pub searchable_pdf_url: Option<String>,
}

impl OcrSpaceResponse {
    /// An error envelope without pages.
    pub fn error(exit_code: i32, messages: Vec<String>, details: Option<String>, millis: u128) -> Self {
        Self {
            parsed_results: None,
            ocr_exit_code: exit_code,
            is_errored_on_processing: true,
            error_message: Some(messages),
            error_details: details,
            processing_time_in_milliseconds: millis.to_string(),
            searchable_pdf_url: None,
        }
    }
}

/// The result of one page.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ParsedResult {
    /// Word boxes (or the "not requested" placeholder).
    pub text_overlay: TextOverlay,
    /// Degrees the page was turned before reading: "0", "90", "180" or "270".
    pub text_orientation: String,
    /// 1 ok, 0 not found, -10 parse error, -20 timeout, -30 validation, -99 unknown.
    pub file_parse_exit_code: i32,
    /// The page text with the engine's line separators.
    pub parsed_text: String,
    /// Page-level error, `""` on success.
    pub error_message: String,
    /// Page-level error detail, `""` on success.
    pub error_details: String,
}

/// Word boxes of a page.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TextOverlay {
    /// Lines with their words.
    pub lines: Vec<OverlayLine>,
    /// Whether boxes were produced.
    pub has_overlay: bool,
    /// "Total lines: N", or why there is no overlay.
    pub message: String,
}

impl TextOverlay {
    /// The placeholder sent when the overlay was not requested.
    pub fn not_requested() -> Self {
        Self { lines: Vec::new(), has_overlay: false, message: OVERLAY_NOT_REQUESTED.into() }
    }
}

/// One overlay line.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct OverlayLine {
    /// The words joined by single spaces.
    pub line_text: String,
    /// The words, left to right.
    pub words: Vec<OverlayWord>,
    /// Height of the tallest word.
    pub max_height: Coordinate,
    /// Top of the highest word.
    pub min_top: Coordinate,
}

/// One overlay word, in pixels of the (possibly turned) page.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct OverlayWord {
    /// The word.
    pub word_text: String,
    /// Left edge.
    pub left: Coordinate,
    /// Top edge.
    pub top: Coordinate,
    /// Height.
    pub height: Coordinate,
    /// Width.
    pub width: Coordinate,
}

/// A pixel coordinate, formatted as the engine that made it does: engine 1
/// writes integers (`106`), engines 2 and 3 integral floats (`106.0`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Coordinate {
    /// Engine 1 style.
    Integer(i64),
    /// Engine 2/3 style.
    Float(f64),
}
