//! The OCR service both HTTP APIs (OCR.space's `/parse/image`, docTR's
//! `/ocr` and `/kie`), the job worker and the `ocr` command call: a
//! document's input (bytes, base64 or a fetched url) -> pages -> engine ->
//! result, on the bounded worker pool, with the engine and model-set choice.
//! Nothing here knows HTTP requests or responses; `crate::server` extracts
//! requests and renders answers.

mod address;
mod document;
mod fetch;
mod models;
mod pages;
mod pool;

pub use address::{classify, AddressClass};
pub use document::{DocumentJob, DocumentResult, PageCounters, PageReader, Resume, PDF_DPI};
pub use fetch::{checked_address, fetch, is_allowed, FetchPolicy};
pub use models::{accurate_engine, load_engines, model_files, Engines, ExtraEngine, LoadedEngines};
pub use pool::{OcrPool, Stage};
