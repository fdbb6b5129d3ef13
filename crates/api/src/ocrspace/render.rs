//! Rendering engine results in OCR.space's per-engine style (`ocrspace-spec.md` §5).

use ocr_engine::PageResult;

use super::params::OcrParams;
use super::response::{Coordinate, OcrSpaceResponse, OverlayLine, OverlayWord, ParsedResult, TextOverlay};

/// How an OCR.space engine formats its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineStyle {
    /// Engine 1: `\r\n` after every line (including the last), integer coordinates.
    One,
    /// Engines 2 and 3: lines joined by `\n`, coordinates as integral floats.
    TwoOrThree,
}

impl EngineStyle {
    /// The style of OCR.space engine `number` (1, 2 or 3).
    pub fn of(number: u8) -> Self {
        if number == 1 {
            Self::One
        } else {
            Self::TwoOrThree
        }
    }

    fn coordinate(self, value: f32) -> Coordinate {
        match self {
            Self::One => Coordinate::Integer(value.round() as i64),
            Self::TwoOrThree => Coordinate::Float(value.round() as f64),
        }
    }
}

/// `ParsedText` of a page: each line's words joined by spaces, lines
/// separated as the engine style does. With `table`, the cells of a line
/// (the detector's text regions) are joined by tabs and, for engine 1, every
/// line ends with `\t\r\n` (`ocrspace-spec.md` §5.3).
pub fn parsed_text(page: &PageResult, style: EngineStyle, table: bool) -> String {
    let lines: Vec<String> = page.lines().map(|l| if table { l.cells().join("\t") } else { l.text() }).collect();
    match (style, table) {
        (EngineStyle::One, false) => lines.iter().map(|l| format!("{l}\r\n")).collect(),
        (EngineStyle::One, true) => lines.iter().map(|l| format!("{l}\t\r\n")).collect(),
        (EngineStyle::TwoOrThree, _) => lines.join("\n"),
    }
}

/// The `TextOverlay` of a page (`Message` "Total lines: N").
pub fn overlay(page: &PageResult, style: EngineStyle) -> TextOverlay {
    let lines: Vec<OverlayLine> = page
        .lines()
        .map(|line| {
            let words: Vec<OverlayWord> = line
                .words
                .iter()
                .map(|w| OverlayWord {
                    word_text: w.text.clone(),
                    left: style.coordinate(w.bbox.left),
                    top: style.coordinate(w.bbox.top),
                    height: style.coordinate(w.bbox.height),
                    width: style.coordinate(w.bbox.width),
                })
                .collect();
            let max_height = line.words.iter().map(|w| w.bbox.height).fold(0.0, f32::max);
            let min_top = line.words.iter().map(|w| w.bbox.top).fold(f32::INFINITY, f32::min);
            OverlayLine {
                line_text: line.text(),
                words,
                max_height: style.coordinate(max_height),
                min_top: style.coordinate(if min_top.is_finite() { min_top } else { 0.0 }),
            }
        })
        .collect();
    let message = format!("Total lines: {}", lines.len());
    TextOverlay { lines, has_overlay: true, message }
}

/// A successful page entry.
pub fn parsed_result(page: &PageResult, style: EngineStyle, with_overlay: bool, table: bool) -> ParsedResult {
    ParsedResult {
        text_overlay: if with_overlay { overlay(page, style) } else { TextOverlay::not_requested() },
        text_orientation: page.rotation.to_string(),
        file_parse_exit_code: 1,
        parsed_text: parsed_text(page, style, table),
        error_message: String::new(),
        error_details: String::new(),
    }
}

/// The OCR.space answer for the pages read (processing time left empty).
pub fn success_response(pages: &[PageResult], params: &OcrParams, searchable_pdf_url: String) -> OcrSpaceResponse {
    let style = EngineStyle::of(params.engine);
    let overlay = params.overlay || params.create_searchable_pdf;
    OcrSpaceResponse {
        parsed_results: Some(pages.iter().map(|p| parsed_result(p, style, overlay, params.is_table)).collect()),
        ocr_exit_code: 1,
        is_errored_on_processing: false,
        error_message: None,
        error_details: None,
        processing_time_in_milliseconds: String::new(),
        searchable_pdf_url: Some(searchable_pdf_url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocrspace::response::{OcrSpaceResponse, PDF_NOT_REQUESTED};
    use ocr_engine::geometry::Quad;
    use ocr_engine::{Block, BoundingBox, Line, Word};

    fn page() -> PageResult {
        let word = |t: &str, left: f32, top: f32| Word {
            text: t.into(),
            confidence: 0.9,
            detection_score: 0.8,
            bbox: BoundingBox { left, top, width: 40.4, height: 20.6 },
            quad: Quad::default(),
        };
        let lines = vec![
            Line::with_cells(vec![vec![word("TOTAL", 10.0, 100.0)], vec![word("3.90", 300.2, 98.7)]]),
            Line::new(vec![word("CASH", 10.0, 130.0)]),
        ];
        PageResult { width: 600, height: 800, rotation: 0, blocks: vec![Block::new(lines)] }
    }

    #[test]
    fn engine_one_text_ends_every_line_with_crlf() {
        assert_eq!(parsed_text(&page(), EngineStyle::One, false), "TOTAL 3.90\r\nCASH\r\n");
        assert_eq!(parsed_text(&page(), EngineStyle::TwoOrThree, false), "TOTAL 3.90\nCASH");
    }

    #[test]
    fn tables_separate_cells_with_tabs() {
        assert_eq!(parsed_text(&page(), EngineStyle::One, true), "TOTAL\t3.90\t\r\nCASH\t\r\n");
        assert_eq!(parsed_text(&page(), EngineStyle::TwoOrThree, true), "TOTAL\t3.90\nCASH");
    }

    #[test]
    fn overlay_json_matches_the_vendor_shape() {
        let result = parsed_result(&page(), EngineStyle::One, true, false);
        let json = serde_json::to_string(&result.text_overlay.lines[0]).unwrap();
        assert_eq!(
            json,
            r#"{"LineText":"TOTAL 3.90","Words":[{"WordText":"TOTAL","Left":10,"Top":100,"Height":21,"Width":40},{"WordText":"3.90","Left":300,"Top":99,"Height":21,"Width":40}],"MaxHeight":21,"MinTop":99}"#
        );
        let two = parsed_result(&page(), EngineStyle::TwoOrThree, true, false);
        let json = serde_json::to_string(&two.text_overlay.lines[1].words[0]).unwrap();
        assert_eq!(json, r#"{"WordText":"CASH","Left":10.0,"Top":130.0,"Height":21.0,"Width":40.0}"#);
        assert_eq!(two.text_overlay.message, "Total lines: 2");
    }

    #[test]
    fn envelope_key_order_and_types() {
        let response = OcrSpaceResponse {
            parsed_results: Some(vec![parsed_result(&page(), EngineStyle::One, false, false)]),
            ocr_exit_code: 1,
            is_errored_on_processing: false,
            error_message: None,
            error_details: None,
            processing_time_in_milliseconds: "328".into(),
            searchable_pdf_url: Some(PDF_NOT_REQUESTED.into()),
        };
        let json = serde_json::to_string(&response).unwrap();
        assert!(json.starts_with(r#"{"ParsedResults":[{"TextOverlay":{"Lines":[],"HasOverlay":false,"Message":"Text overlay is not provided as it is not requested"},"TextOrientation":"0","FileParseExitCode":1,"ParsedText":"TOTAL 3.90\r\nCASH\r\n","ErrorMessage":"","ErrorDetails":""}],"OCRExitCode":1,"IsErroredOnProcessing":false,"ProcessingTimeInMilliseconds":"328","SearchablePDFURL":"Searchable PDF not generated as it was not requested."}"#), "{json}");
        let error = serde_json::to_string(&OcrSpaceResponse::error(99, vec!["bad".into()], None, 7)).unwrap();
        assert_eq!(
            error,
            r#"{"OCRExitCode":99,"IsErroredOnProcessing":true,"ErrorMessage":["bad"],"ProcessingTimeInMilliseconds":"7"}"#
        );
    }
}
