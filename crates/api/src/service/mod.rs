//! The OCR service both HTTP APIs (OCR.space's `/parse/image`, docTR's
//! `/ocr` and `/kie`), the job worker and the `ocr` command call: a
//! document's input (bytes, base64 or a fetched url) -> pages -> engine ->
//! result, on the bounded worker pool, with the engine and model-set choice.
//! Nothing here knows HTTP requests or responses; `crate::server` extracts
//! requests and renders answers.

mod address;
mod choice;
mod document;
mod error;
mod fetch;
mod flow;
mod input;
mod line_batches;
mod models;
mod pages;
mod pdf_pages;
mod pool;
mod request;
mod usage;

pub use address::{classify, AddressClass};
pub use choice::Readers;
pub use document::{DocumentJob, DocumentResult, PageCounters, PageReader, Resume, ALL_PAGES_AT_ONCE, PDF_DPI};
pub use error::{ServiceError, UNKNOWN_FILE_TYPE};
pub use fetch::{checked_address, fetch, is_allowed, FetchPolicy};
pub use flow::{Answer, ReadDocument, Service};
pub use input::{check_input, decode_base64_image, decode_base64_off_executor, input_is_pdf, quoted, CheckedInput};
pub use models::{accurate_engine, load_engines, model_files, Engines, ExtraEngine, LoadedEngines};
pub use pool::{OcrPool, Stage};
pub use request::{
    doctr_options, recognize_options, text_layer, CallerLimits, DocumentRequest, EngineChoice, Input, InputSource,
};
pub use usage::{record_work, Admission, Work};
