//! What reading a document can fail with, whichever API asked. Each API
//! renders it in its own shape: `crate::server::ApiError` in OCR.space's
//! envelope (exit codes, HTTP 200/503), `crate::doctr::DoctrError` as
//! FastAPI's `{"detail"}` with a 4xx/5xx status; the command line maps it
//! to its exit codes (`crate::cli::CliError::reading`).

/// Vendor text for an input whose type cannot be recognised (`ocrspace-spec.md` §6).
pub const UNKNOWN_FILE_TYPE: [&str; 2] = [
    "Unable to recognize the file type",
    "E216:Unable to detect the file extension, or the file extension is incorrect, and no 'file type' provided in request. Please provide a file with a proper content type or extension, or provide a file type in the request to manually set the file extension.",
];

/// Everything the document work can fail with: the input, the engine and
/// model choice, the worker pool, the PDF, usage recording and publishing.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No file, `base64Image` or `url` was sent.
    #[error("No file, base64Image or url was provided in the request.")]
    NoInput,
    /// `base64Image` is not a `data:` URI with valid base64.
    #[error("Not a valid base64 image.")]
    BadBase64,
    /// The bytes are no supported file type.
    #[error("{}: the file looks like {detected}", UNKNOWN_FILE_TYPE[0])]
    UnknownFileType {
        /// What the content looks like ([`crate::content::describe`]).
        detected: String,
        /// The `filetype` the request declared, upper-case (`PNG`).
        declared: Option<String>,
    },
    /// The input is larger than the caller's file limit.
    #[error("File failed validation. File size exceeds the maximum permissible file size limit of {limit_kb} KB")]
    FileTooLarge {
        /// The limit in KB (1024 bytes).
        limit_kb: u64,
    },
    /// The `url` input could not be fetched (or may not be: SSRF checks).
    #[error("Unable to fetch the file from the URL: {0}")]
    UrlFetch(String),
    /// A multi-page file over the tier's page limit.
    #[error("File failed validation. PDF page limit exceeded: the file has {pages} pages, the maximum for this API key is {limit} pages.")]
    PageLimit {
        /// Pages in the file.
        pages: usize,
        /// The tier's limit.
        limit: i64,
    },
    /// The requested engine is not installed on this server.
    #[error("OCR Engine {0} is not available on this server: its models are not installed.")]
    EngineUnavailable(u8),
    /// The language is not readable by the engine.
    #[error(
        "E201: Value for parameter 'language' is invalid: OCR Engine {engine} cannot read '{language}' (its character set covers {coverage_percent}% of the language's letters; missing e.g. {missing}). {}",
        suggestion(engines_that_read_it)
    )]
    UnsupportedLanguage {
        /// Engine number.
        engine: u8,
        /// The language code.
        language: String,
        /// Share of the language's characteristic letters the engine has.
        coverage_percent: u32,
        /// Examples of letters the engine lacks.
        missing: String,
        /// Installed engines whose dictionary covers the language.
        engines_that_read_it: Vec<String>,
    },
    /// The OCR queue is full.
    #[error("Server busy: the OCR queue is full. Please retry in a few seconds.")]
    Busy,
    /// The OCR took longer than the configured limit (or was cancelled).
    #[error("Timed out waiting for results")]
    Timeout,
    /// The engine refused the input (corrupt image, over the pixel budget ...).
    #[error("{0}")]
    Engine(#[from] ocr_engine::EngineError),
    /// A PDF input could not be read, or the searchable PDF not written.
    #[error("{0}")]
    Pdf(#[from] ocr_pdf::PdfError),
    /// The database failed.
    #[error("Internal error: {0}")]
    Store(#[from] crate::store::StoreError),
    /// Storing or opening a searchable PDF failed.
    #[error("Internal error: {0}")]
    Links(#[from] crate::pdflinks::LinkError),
    /// A bug or an unexpected runtime failure.
    #[error("Internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// Whether this is a failure of the server itself, whose text (database,
    /// I/O or runtime messages) is logged but never sent to the client.
    pub fn is_internal(&self) -> bool {
        matches!(self, Self::Internal(_) | Self::Store(_) | Self::Links(_))
    }
}

/// Which engines to use instead, for the unsupported-language message.
fn suggestion(engines: &[String]) -> String {
    match engines {
        [] => "No OCR engine on this server reads this language.".to_string(),
        [one] => format!("Use OCREngine={one}."),
        many => format!("Use OCREngine={}.", many.join(" or ")),
    }
}
