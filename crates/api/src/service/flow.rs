//! The document flow both APIs call: inputs -> checks -> engine choice ->
//! pages read on the worker pool -> results (and the searchable PDF, which
//! [`Service::publish_pdf`] stores and links).

use std::sync::Arc;

use ocr_engine::{PageResult, RecognizeOptions};
use ocr_pdf::TextLayer;

use super::choice::Readers;
use super::document::{DocumentJob, PageCounters, PageReader};
use super::error::ServiceError;
use super::fetch::{fetch, FetchPolicy};
use super::input::{check_input, decode_base64_off_executor, CheckedInput};
use super::pool::OcrPool;
use super::request::{DocumentRequest, EngineChoice, Input, InputSource};
use super::usage::Work;
use crate::pdflinks::PdfLinks;

/// What the service works with, borrowed from the server's state.
#[derive(Clone, Copy)]
pub struct Service<'a> {
    /// The OCR worker pool.
    pub pool: &'a OcrPool,
    /// The loaded engines.
    pub readers: Readers<'a>,
    /// Pages read per path.
    pub counters: &'a Arc<PageCounters>,
    /// Searchable-PDF links.
    pub links: &'a PdfLinks,
    /// How `url` inputs are fetched.
    pub fetch_policy: &'a FetchPolicy,
}

/// One input read: its name, its pages and, when asked for, its searchable PDF.
pub struct ReadDocument {
    /// The input's name ([`Input::name`]).
    pub name: String,
    /// One result per page.
    pub pages: Vec<PageResult>,
    /// The searchable PDF, when a text layer was asked for.
    pub pdf: Option<Vec<u8>>,
}

/// A request's documents, and the work they cost.
pub struct Answer {
    /// One per input, in order.
    pub documents: Vec<ReadDocument>,
    /// Pages read and input bytes (for usage recording).
    pub work: Work,
}

impl Service<'_> {
    /// Reads a request: each input loaded and checked against the
    /// caller's limits (size, type, pages), then the engine chosen, then
    /// every page of every input read in one job on the worker pool.
    pub async fn read(&self, request: DocumentRequest) -> Result<Answer, ServiceError> {
        if request.inputs.is_empty() {
            return Err(ServiceError::NoInput);
        }
        let limits = request.limits;
        let mut inputs = Vec::with_capacity(request.inputs.len());
        for Input { name, source } in request.inputs {
            let bytes = self.load(source, limits.file_bytes).await?;
            inputs.push((name, check_input(bytes, request.declared, limits.file_bytes, limits.max_pages).await?));
        }
        let mut options = request.options;
        let reader = self.choose(request.engine, &mut options)?;
        let input_bytes = inputs.iter().map(|(_, input)| input.bytes.len()).sum();
        let (counters, layer, pages_at_once) = (self.counters.clone(), request.text_layer, request.pages_at_once);
        let documents =
            self.pool.run(move || read_all(&inputs, &reader, &options, layer, pages_at_once, &counters)).await?;
        let pages = documents.iter().map(|d| d.pages.len()).sum();
        Ok(Answer { documents, work: Work { pages, input_bytes } })
    }

    /// An input's bytes: as sent, decoded from base64 (off the executor)
    /// or fetched from its URL within `file_limit` bytes.
    pub async fn load(&self, source: InputSource, file_limit: u64) -> Result<Vec<u8>, ServiceError> {
        match source {
            InputSource::Bytes(bytes) => Ok(bytes),
            InputSource::Base64(value) => decode_base64_off_executor(value).await,
            InputSource::Url(url) => fetch(&url, self.fetch_policy, file_limit).await,
        }
    }

    /// The reader a choice names; a numbered engine sets the script of
    /// `options` to the language's.
    pub fn choose(&self, choice: EngineChoice, options: &mut RecognizeOptions) -> Result<PageReader, ServiceError> {
        match choice {
            EngineChoice::Numbered { engine, language } => {
                let (reader, script) = self.readers.select(engine, &language)?;
                options.script = script;
                Ok(reader)
            }
            EngineChoice::Reader(reader) => Ok(reader),
        }
    }

    /// Stores a searchable PDF of `pages` pages for key `key_id` and returns
    /// its signed link (on the request's own `base` unless configured).
    pub async fn publish_pdf(
        &self,
        key_id: &str,
        pages: usize,
        pdf: Vec<u8>,
        base: &str,
    ) -> Result<String, ServiceError> {
        Ok(self.links.publish(key_id, pages, pdf, base).await?)
    }
}

/// Reads every input on the worker thread (blocking, CPU-bound).
fn read_all(
    inputs: &[(String, CheckedInput)],
    reader: &PageReader,
    options: &RecognizeOptions,
    layer: Option<TextLayer>,
    pages_at_once: usize,
    counters: &PageCounters,
) -> Result<Vec<ReadDocument>, ServiceError> {
    inputs
        .iter()
        .map(|(name, input)| {
            let job = DocumentJob {
                bytes: &input.bytes,
                is_pdf: input.is_pdf,
                engine: reader,
                options,
                max_pages: input.pages,
                pdf: layer,
                pages_at_once,
            };
            let read = job.run(counters)?;
            Ok(ReadDocument { name: name.clone(), pages: read.pages, pdf: read.pdf })
        })
        .collect()
}
