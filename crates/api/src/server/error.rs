//! The API's one error type, rendered only in OCR.space's envelope.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::ocrspace::params::ParamError;
use crate::ocrspace::response::OcrSpaceResponse;
use crate::service::{ServiceError, UNKNOWN_FILE_TYPE};

/// Everything a request can fail with at the HTTP edge: reading the
/// request, its parameters, its key and limits, and the document work
/// ([`ServiceError`]).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Bad or unknown parameters (OCRExitCode 99).
    #[error(transparent)]
    Params(#[from] ParamError),
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
    /// The uploads in progress hold all the memory the server allows them.
    #[error("Server busy: too many uploads in progress. Please retry in a few seconds.")]
    BusyUploads,
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
    /// The document work failed (input, engine, pool, PDF, database, links).
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// The errors of the crates the edge calls, through [`ServiceError`].
macro_rules! via_service {
    ($($source:ty),*) => {$(
        impl From<$source> for ApiError {
            fn from(e: $source) -> Self {
                Self::Service(e.into())
            }
        }
    )*};
}

via_service!(ocr_engine::EngineError, ocr_pdf::PdfError, crate::store::StoreError, crate::pdflinks::LinkError);

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

impl ApiError {
    /// The OCRExitCode this error is reported with.
    pub fn exit_code(&self) -> i32 {
        use ServiceError as S;
        match self {
            Self::Params(_) => 99,
            Self::Service(S::Timeout) => 6,
            Self::Service(
                S::Engine(_)
                | S::BadBase64
                | S::UnknownFileType { .. }
                | S::FileTooLarge { .. }
                | S::PageLimit { .. }
                | S::Pdf(_)
                | S::UrlFetch(_),
            ) => 3,
            _ => 4,
        }
    }

    /// Whether this is a failure of the server itself, whose text (database,
    /// I/O or runtime messages) is logged but never sent to the client.
    pub fn is_internal(&self) -> bool {
        matches!(self, Self::Service(e) if e.is_internal())
    }

    /// The `ErrorMessage` lines (for internal failures, a generic sentence:
    /// see [`ApiError::response`]).
    pub fn messages(&self) -> Vec<String> {
        match self {
            Self::Params(e) => e.messages(),
            Self::Service(ServiceError::UnknownFileType { detected, declared }) => {
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
            Self::Service(ServiceError::Engine(e)) => Some(e.to_string()),
            _ => None,
        };
        let messages = if self.is_internal() { vec![internal_message(error_id)] } else { self.messages() };
        let mut body = OcrSpaceResponse::error(self.exit_code(), messages, details, millis);
        if matches!(self, Self::Service(ServiceError::Timeout)) {
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
            Self::BusyUploads | Self::Service(ServiceError::Busy | ServiceError::Store(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::OK,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.response(0)
    }
}
