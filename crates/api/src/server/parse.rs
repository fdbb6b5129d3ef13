//! `POST /parse/image` and `GET /parse/imageurl`.

use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{admit, closing, receive, request_base};
use super::payload::SharedPayload;
use super::state::AppState;
use crate::ocrspace::params::OcrParams;
use crate::ocrspace::render::success_response;
use crate::ocrspace::response::{searchable_pdf_field, OcrSpaceResponse};
use crate::service::{DocumentRequest, ServiceError, Work};

/// Handles both OCR endpoints; errors come back in the OCR.space envelope
/// (or, for access refusals, as a 403 JSON string).
pub async fn parse(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
    let started = Instant::now();
    let payload = SharedPayload::new(payload).charge_to(&state.upload_memory);
    let held = payload.clone();
    let result = handle(&req, payload, &state).await;
    // The request's bytes are gone: give their room back to other requests.
    held.release_memory();
    match result {
        Ok(body) => HttpResponse::Ok().json(body.with_time(started)),
        Err(e) => {
            if !e.is_internal() {
                // Values in the message are escaped (`service::quoted`): one log line per refusal.
                tracing::info!(error = %e, exit_code = e.exit_code(), "OCR request refused");
            }
            closing(held, e.response(started.elapsed().as_millis()))
        }
    }
}

trait WithTime {
    fn with_time(self, started: Instant) -> Self;
}

impl WithTime for OcrSpaceResponse {
    fn with_time(mut self, started: Instant) -> Self {
        self.processing_time_in_milliseconds = started.elapsed().as_millis().to_string();
        self
    }
}

/// Authenticates and reads the request within the caller's limits
/// ([`receive`]), admits it, then reads the document and records the work
/// done: every answer from here on counts (errors too); a client gone
/// before its answer gives the quota back (the admission's drop).
async fn handle(req: &HttpRequest, payload: SharedPayload, state: &AppState) -> Result<OcrSpaceResponse, ApiError> {
    let (caller, mut raw) = receive(req, payload, state, 1).await?;
    let params = OcrParams::parse(raw.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| ApiError::Params(e.escaped()))?;
    // Parsing copied the values: free the originals (a base64Image may be large).
    drop(std::mem::take(&mut raw.fields));
    let caller = match (caller, &params.api_key) {
        (Some(caller), _) => caller,
        (None, Some(secret)) => state.gate.authenticate(secret).await?,
        (None, None) => return Err(ApiError::MissingKey),
    };
    let (_turn, admission) = admit(req, state, &caller).await?;
    let file = raw.uploads.pop().map(|upload| upload.bytes);
    let answered = read_admitted(req, file, params, &caller, state).await;
    admission.settle(answered.as_ref().map_or(Work::default(), |(_, work)| *work)).await;
    answered.map(|(response, _)| response)
}

/// Reads an admitted request's input (file, else base64Image, else url)
/// within the caller's tier on the worker pool and publishes the
/// searchable PDF; returns the answer and the work it cost.
async fn read_admitted(
    req: &HttpRequest,
    file: Option<Vec<u8>>,
    mut params: OcrParams,
    caller: &Caller,
    state: &AppState,
) -> Result<(OcrSpaceResponse, Work), ApiError> {
    let service = state.service();
    let limits = state.gate.limits(caller);
    let request = DocumentRequest::ocrspace(file, &mut params, caller.tier.searchable_pdf, limits);
    let answer = service.read(request).await?;
    let document =
        answer.documents.into_iter().next().ok_or_else(|| ServiceError::Internal("no document read".into()))?;
    let link = match document.pdf {
        Some(pdf) => Some(service.publish_pdf(&caller.key.id, document.pages.len(), pdf, &request_base(req)).await?),
        None => None,
    };
    let url = searchable_pdf_field(link, params.create_searchable_pdf);
    Ok((success_response(&document.pages, &params, url), answer.work))
}
