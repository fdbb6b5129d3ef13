//! Errors of the docTR-style endpoints, sent as FastAPI sends them:
//! `{"detail": "…"}` with a 4xx status (5xx only for the server's own failures).

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::ToSchema;

use super::params::ParamsError;
use crate::server::ApiError;
use crate::service::ServiceError;

/// The body of every error answer of `/ocr` and `/kie`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// What went wrong, for people.
    #[schema(example = "parameter 'binary_threshold' has the invalid value '2': expected a number from 0 to 1")]
    pub detail: String,
}

/// Everything `/ocr` and `/kie` can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DoctrError {
    /// A parameter is unknown, mistyped or out of range (422).
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// The request has no file part (422).
    #[error("no file was uploaded: send one or more files as multipart/form-data parts named 'files'")]
    NoFiles,
    /// The chosen model set is not installed on this server (422).
    #[error("the {kind} model '{name}' is not installed on this server")]
    ModelMissing {
        /// `detection` or `recognition`.
        kind: &'static str,
        /// Our name of the model set.
        name: &'static str,
    },
    /// Everything the OCR.space side can fail with too: authentication,
    /// limits, unreadable files, busy server.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<ServiceError> for DoctrError {
    fn from(e: ServiceError) -> Self {
        Self::Api(e.into())
    }
}

impl DoctrError {
    /// The HTTP status: FastAPI's choices (422 for what cannot be processed,
    /// 401/403 for keys, 413 for sizes, 429 for limits, 503/504 when busy).
    pub fn status(&self) -> StatusCode {
        let api = match self {
            Self::Params(_) | Self::NoFiles | Self::ModelMissing { .. } => return StatusCode::UNPROCESSABLE_ENTITY,
            Self::Api(api) => api,
        };
        use ServiceError as S;
        match api {
            ApiError::MissingKey | ApiError::InvalidKey => StatusCode::UNAUTHORIZED,
            ApiError::RevokedKey => StatusCode::FORBIDDEN,
            ApiError::RateLimited { .. } | ApiError::TooManyConcurrent(_) | ApiError::MonthlyQuota { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Service(S::FileTooLarge { .. })
            | ApiError::BodyTooLarge { .. }
            | ApiError::FieldTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::BadRequest(_) | ApiError::TooManyFields(_) => StatusCode::BAD_REQUEST,
            ApiError::Service(S::Busy) | ApiError::BusyUploads => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Service(S::Timeout) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Service(S::Store(_) | S::Links(_) | S::Internal(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    /// The client's text: an internal failure's cause is logged under an
    /// id instead of being sent.
    pub fn detail(&self) -> String {
        match self {
            Self::Api(api) => api.messages().join(" "),
            other => other.to_string(),
        }
    }

    /// The whole answer.
    pub fn response(&self) -> HttpResponse {
        if let Self::Api(api) = self {
            if api.is_internal() {
                tracing::error!(cause = %api, "docTR request failed");
            }
        }
        HttpResponse::build(self.status()).json(ErrorDetail { detail: self.detail() })
    }
}
