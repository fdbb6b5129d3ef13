//! The parsed request both APIs build: which inputs to read, with which
//! engine and options, what to produce (a searchable PDF's text layer), and
//! the caller's limits. OCR.space's parameters ([`OcrParams`]) and docTR's
//! ([`DoctrParams`]) each map onto it here.

use ocr_engine::RecognizeOptions;
use ocr_pdf::TextLayer;

use super::document::{PageReader, ALL_PAGES_AT_ONCE};
use crate::doctr::DoctrParams;
use crate::ocrspace::params::{FileType, OcrParams};

/// Where an input's bytes come from.
#[derive(Debug)]
pub enum InputSource {
    /// Uploaded bytes.
    Bytes(Vec<u8>),
    /// A `base64Image` value (`data:<mime>;base64,<data>`), decoded when read.
    Base64(String),
    /// A URL the server fetches (SSRF-checked, within the file limit).
    Url(String),
}

/// One input document of a request.
#[derive(Debug)]
pub struct Input {
    /// Its name as the client sent it (escaped), empty when it has none.
    pub name: String,
    /// Its bytes, or where to get them.
    pub source: InputSource,
}

/// Which engine reads the pages.
pub enum EngineChoice {
    /// An OCR.space engine number and language, resolved once the inputs
    /// passed their checks (an unknown engine or language is refused then).
    Numbered {
        /// `OCREngine` (1, 2 or 3).
        engine: u8,
        /// The `language` code.
        language: String,
    },
    /// A reader chosen already (docTR's detection and recognition model sets).
    Reader(PageReader),
}

/// The caller's limits (from its key's tier).
#[derive(Debug, Clone, Copy)]
pub struct CallerLimits {
    /// Bytes one input may have.
    pub file_bytes: u64,
    /// Pages one input may have.
    pub max_pages: i64,
}

/// Everything the service needs to read a request's documents.
pub struct DocumentRequest {
    /// The inputs, read in order (none: [`super::ServiceError::NoInput`]).
    pub inputs: Vec<Input>,
    /// The file type the client declared (`filetype`), if any.
    pub declared: Option<FileType>,
    /// The engine that reads the pages.
    pub engine: EngineChoice,
    /// Per-request engine options (the script is set by a numbered engine choice).
    pub options: RecognizeOptions,
    /// The searchable PDF's text layer, when one is asked for and allowed.
    pub text_layer: Option<TextLayer>,
    /// The caller's limits.
    pub limits: CallerLimits,
    /// Most pages of one input read at once (see [`super::DocumentJob::pages_at_once`]).
    pub pages_at_once: usize,
}

impl DocumentRequest {
    /// An OCR.space request: the upload, else `base64Image`, else `url`
    /// (the documented precedence); `tier_has_pdf`: whether the key's tier
    /// includes searchable PDFs.
    pub fn ocrspace(file: Option<Vec<u8>>, params: &mut OcrParams, tier_has_pdf: bool, limits: CallerLimits) -> Self {
        let source = match (file, params.base64_image.take(), &params.url) {
            (Some(file), ..) => Some(InputSource::Bytes(file)),
            (None, Some(b64), _) => Some(InputSource::Base64(b64)),
            (None, None, Some(url)) => Some(InputSource::Url(url.clone())),
            (None, None, None) => None,
        };
        Self {
            inputs: source.map(|source| Input { name: String::new(), source }).into_iter().collect(),
            declared: params.file_type,
            engine: EngineChoice::Numbered { engine: params.engine, language: params.language.clone() },
            options: recognize_options(params),
            text_layer: text_layer(params, tier_has_pdf),
            limits,
            pages_at_once: ALL_PAGES_AT_ONCE,
        }
    }

    /// A docTR request: the uploaded files, read by `reader`.
    pub fn doctr(
        files: Vec<(String, Vec<u8>)>,
        params: &DoctrParams,
        reader: PageReader,
        limits: CallerLimits,
    ) -> Self {
        Self {
            inputs: files.into_iter().map(|(name, bytes)| Input { name, source: InputSource::Bytes(bytes) }).collect(),
            declared: None,
            engine: EngineChoice::Reader(reader),
            options: doctr_options(params),
            text_layer: None,
            limits,
            pages_at_once: params.detection_batch_size as usize,
        }
    }
}

/// The engine options OCR.space parameters ask for (the script comes with
/// the engine choice).
pub fn recognize_options(params: &OcrParams) -> RecognizeOptions {
    RecognizeOptions {
        detect_orientation: params.detect_orientation,
        deskew: params.detect_orientation,
        upscale: params.scale,
        ..Default::default()
    }
}

/// The searchable PDF's text layer, when one is asked for and the tier has it.
pub fn text_layer(params: &OcrParams, tier_has_pdf: bool) -> Option<TextLayer> {
    match (params.create_searchable_pdf, tier_has_pdf) {
        (true, true) => Some(if params.hide_text_layer { TextLayer::Hidden } else { TextLayer::Visible }),
        _ => None,
    }
}

/// The engine options docTR parameters ask for.
pub fn doctr_options(params: &DoctrParams) -> RecognizeOptions {
    let page_orientation = !params.disable_page_orientation;
    RecognizeOptions {
        classify_lines: !params.disable_text_orientation,
        rotate_vertical_pages: page_orientation,
        detect_orientation: page_orientation && (params.detect_orientation || params.straighten_pages),
        deskew: params.straighten_pages,
        detection: ocr_engine::detection::DetectionOptions {
            binary_threshold: params.binary_threshold,
            box_threshold: params.box_threshold,
            stretch: !params.preserve_aspect_ratio,
            centre: params.preserve_aspect_ratio && params.symmetric_padding,
        },
        recognition_batch_size: params.recognition_batch_size as usize,
        ..Default::default()
    }
}
