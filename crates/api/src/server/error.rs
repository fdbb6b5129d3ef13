//! The API's one error type, rendered only in OCR.space's envelope.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::ocrspace::params::ParamError;
use crate::ocrspace::response::OcrSpaceResponse;

/// Vendor text for an input whose type cannot be recognised (`ocrspace-spec.md` §6).
pub const UNKNOWN_FILE_TYPE: [&str; 2] = [
    "Unable to recognize the file type",
    "E216:Unable to detect the file extension, or the file extension is incorrect, and no 'file type' provided in request. Please provide a file with a proper content type or extension, or provide a file type in the request to manually set the file extension.",
];

/// Everything a request can fail with at the HTTP edge.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Bad or unknown parameters (OCRExitCode 99).
    #[error(transparent)]
    Params(#[from] ParamError),
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
    /// A supported container this server cannot read yet.
    #[error("{0}")]
    Unsupported(String),
    /// The upload is larger than allowed.
    #[error("File failed validation. File size exceeds the maximum permissible file size limit of {limit_kb} KB")]
    FileTooLarge {
        /// The limit in KB (1024 bytes).
        limit_kb: u64,
    },
    /// The request body could not be read (bad multipart, broken connection).
    #[error("The request could not be read: {0}")]
    BadRequest(String),
    /// The whole body is larger than any request of this caller may be.
    #[error("The request could not be read: the body exceeds the maximum of {limit_kb} KB.")]
    BodyTooLarge {
        /// The limit in KB (1024 bytes).
        limit_kb: u64,
    },
    /// A text field (a parameter) is longer than allowed.
    #[error("The request could not be read: field '{name}' is longer than {limit} bytes.")]
    FieldTooLarge {
        /// The field's name, escaped and truncated.
        name: String,
        /// Its limit in bytes.
        limit: u64,
    },
    /// The body did not arrive in time.
    #[error("The request could not be read: the body did not arrive within {0} s.")]
    BodyTimeout(u64),
    /// More text fields than any request needs.
    #[error("The request could not be read: more than {0} fields were sent.")]
    TooManyFields(usize),
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
    /// The `url` input could not be fetched (or may not be).
    #[error("Unable to fetch the file from the URL: {0}")]
    UrlFetch(String),
    /// The OCR queue is full.
    #[error("Server busy: the OCR queue is full. Please retry in a few seconds.")]
    Busy,
    /// The uploads in progress hold all the memory the server allows them.
    #[error("Server busy: too many uploads in progress. Please retry in a few seconds.")]
    BusyUploads,
    /// The OCR took longer than the configured limit.
    #[error("Timed out waiting for results")]
    Timeout,
    /// The engine refused the input (corrupt image, over the pixel budget ...).
    #[error("{0}")]
    Engine(#[from] ocr_engine::EngineError),
    /// No API key was sent (403).
    #[error("No API key was provided. Send your key in the 'apikey' header, form field or query parameter.")]
    MissingKey,
    /// The key is not known (403).
    #[error("The API key is invalid.")]
    InvalidKey,
    /// The key was revoked (403).
    #[error("The API key has been revoked.")]
    RevokedKey,
    /// Too many requests in a period (403, the vendor's sentence).
    #[error("You may only perform this action upto maximum {max} number of times within {seconds} seconds")]
    RateLimited {
        /// Requests allowed in the period.
        max: u64,
        /// The period in seconds.
        seconds: u64,
    },
    /// The key has as many requests in progress as allowed (403, the vendor's sentence).
    #[error(
        "For this API KEY only {0} concurrent connections at the same time allowed. Contact support if you need more."
    )]
    TooManyConcurrent(usize),
    /// The key's monthly quota is used up (403).
    #[error(
        "You may only perform this action upto maximum {max} number of times within one calendar month. The quota of this API key resets on {resets} (UTC)."
    )]
    MonthlyQuota {
        /// Requests per month.
        max: i64,
        /// First day of the next month.
        resets: String,
    },
    /// A multi-page file over the tier's page limit.
    #[error("File failed validation. PDF page limit exceeded: the file has {pages} pages, the maximum for this API key is {limit} pages.")]
    PageLimit {
        /// Pages in the file.
        pages: usize,
        /// The tier's limit.
        limit: i64,
    },
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

/// The client's text for an internal failure.
fn internal_message(error_id: &str) -> String {
    format!("Internal server error (error id {error_id}). Please retry later; if it persists, report the error id.")
}

/// A short random id tying a client's error message to the logged cause.
fn new_error_id() -> String {
    crate::store::random_bytes::<4>()
        .map(|b| b.iter().map(|x| format!("{x:02x}")).collect())
        .unwrap_or_else(|_| format!("{:08x}", crate::store::unix_now()))
}

/// Which engines to use instead, for the unsupported-language message.
fn suggestion(engines: &[String]) -> String {
    match engines {
        [] => "No OCR engine on this server reads this language.".to_string(),
        [one] => format!("Use OCREngine={one}."),
        many => format!("Use OCREngine={}.", many.join(" or ")),
    }
}

impl ApiError {
    /// The OCRExitCode this error is reported with.
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Params(_) => 99,
            Self::Timeout => 6,
            Self::Engine(_)
            | Self::BadBase64
            | Self::UnknownFileType { .. }
            | Self::FileTooLarge { .. }
            | Self::PageLimit { .. }
            | Self::Pdf(_)
            | Self::UrlFetch(_) => 3,
            _ => 4,
        }
    }

    /// Whether this is a failure of the server itself, whose text (database,
    /// I/O or runtime messages) is logged but never sent to the client.
    pub fn is_internal(&self) -> bool {
        matches!(self, Self::Internal(_) | Self::Store(_) | Self::Links(_))
    }

    /// The `ErrorMessage` lines (for internal failures, a generic sentence:
    /// see [`ApiError::response`]).
    pub fn messages(&self) -> Vec<String> {
        match self {
            Self::Params(e) => e.messages(),
            Self::UnknownFileType { detected, declared } => {
                let e216 = match declared {
                    None => format!("{} The file looks like {detected}.", UNKNOWN_FILE_TYPE[1]),
                    Some(kind) => format!(
                        "E216:The file looks like {detected}, not a {kind} file as the 'filetype' parameter says. Please provide a JPEG, PNG, GIF, BMP, WebP, TIFF or PDF file."
                    ),
                };
                vec![UNKNOWN_FILE_TYPE[0].to_string(), e216]
            }
            _ if self.is_internal() => vec![internal_message("-")],
            other => vec![other.to_string()],
        }
    }

    /// The body sent for this error.
    pub fn body(&self, millis: u128) -> OcrSpaceResponse {
        self.body_with_id(millis, "-")
    }

    fn body_with_id(&self, millis: u128, error_id: &str) -> OcrSpaceResponse {
        let details = match self {
            Self::Engine(e) => Some(e.to_string()),
            _ => None,
        };
        let messages = if self.is_internal() { vec![internal_message(error_id)] } else { self.messages() };
        let mut body = OcrSpaceResponse::error(self.exit_code(), messages, details, millis);
        if matches!(self, Self::Timeout) {
            body.parsed_results = Some(Vec::new());
        }
        body
    }

    /// Whether this is an access refusal, sent as 403 with a bare JSON
    /// string body, as the vendor does (`ocrspace-spec.md` §6).
    pub fn is_forbidden(&self) -> bool {
        matches!(
            self,
            Self::MissingKey
                | Self::InvalidKey
                | Self::RevokedKey
                | Self::RateLimited { .. }
                | Self::MonthlyQuota { .. }
                | Self::TooManyConcurrent(_)
        )
    }

    /// The whole HTTP response for this error after `millis` of processing.
    /// An internal failure gets a generic message with a short error id;
    /// the full cause is logged under that id.
    pub fn response(&self, millis: u128) -> HttpResponse {
        let mut error_id = String::from("-");
        if self.is_internal() {
            error_id = new_error_id();
            tracing::error!(error_id, cause = ?self.to_string(), "request failed");
        }
        if self.is_forbidden() {
            HttpResponse::Forbidden().json(self.to_string())
        } else {
            HttpResponse::build(self.status_code()).json(self.body_with_id(millis, &error_id))
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            _ if self.is_forbidden() => StatusCode::FORBIDDEN,
            Self::Busy | Self::BusyUploads | Self::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::OK,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.response(0)
    }
}
