//! `POST /ocr` and `POST /kie`: docTR-style requests (multipart `files`,
//! query parameters) through the same key, tier, quota and worker pool as
//! the OCR.space endpoints; answers in docTR's JSON (`crate::doctr`).

use actix_web::{web, HttpRequest, HttpResponse};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{admit, closing, receive};
use super::input::Upload;
use super::payload::SharedPayload;
use super::state::AppState;
use crate::doctr::{self, DoctrError, DoctrParams, Endpoint, FileResult, ParamsError};
use crate::service::{Answer, DocumentRequest, PageReader, Readers, ServiceError, Work};

/// Most files one request may upload (their bytes together stay within the tier's file limit).
pub const MAX_FILES: usize = 20;

/// `POST /ocr`.
pub async fn ocr(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
    serve(req, payload, state, Endpoint::Ocr).await
}

/// `POST /kie`.
pub async fn kie(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
    serve(req, payload, state, Endpoint::Kie).await
}

async fn serve(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    endpoint: Endpoint,
) -> HttpResponse {
    let payload = SharedPayload::new(payload).charge_to(&state.upload_memory);
    let held = payload.clone();
    let result = handle(&req, payload, &state, endpoint).await;
    held.release_memory();
    match result {
        Ok((params, files)) => HttpResponse::Ok().json(doctr::render(endpoint, &params, &files)),
        Err(e) => {
            tracing::info!(error = %e, status = e.status().as_u16(), "docTR request refused");
            // As on /parse/image: the connection is closed rather than drained.
            closing(held, e.response())
        }
    }
}

/// Authenticates and reads the files within the caller's limits
/// ([`receive`]), admits the request and reads every page of every file on
/// the worker pool; every answer from there on counts, as on /parse/image.
async fn handle(
    req: &HttpRequest,
    payload: SharedPayload,
    state: &AppState,
    endpoint: Endpoint,
) -> Result<(DoctrParams, Vec<FileResult>), DoctrError> {
    let (caller, raw) = receive(req, payload, state, MAX_FILES).await?;
    let params = DoctrParams::parse(raw.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    if endpoint == Endpoint::Ocr && params.day_first.is_some() {
        return Err(DoctrError::Params(ParamsError("parameter 'day_first' applies to /kie only".into())));
    }
    // A key in a urlencoded body arrives with the other fields.
    let body_key = raw.fields.iter().find(|(k, _)| k.eq_ignore_ascii_case("apikey")).map(|(_, v)| v.as_str());
    let caller = match (caller, body_key) {
        (Some(caller), _) => caller,
        (None, Some(secret)) => state.gate.authenticate(secret).await?,
        (None, None) => return Err(ApiError::MissingKey.into()),
    };
    let (_turn, admission) = admit(req, state, &caller).await?;
    let answered = read_admitted(raw.uploads, &params, &caller, state).await;
    admission.settle(answered.as_ref().map_or(Work::default(), |answer| answer.work)).await;
    let files = answered?.documents.into_iter().map(|d| FileResult { name: d.name, pages: d.pages }).collect();
    Ok((params, files))
}

/// Reads every page of every file of an admitted request on the worker pool.
async fn read_admitted(
    uploads: Vec<Upload>,
    params: &DoctrParams,
    caller: &Caller,
    state: &AppState,
) -> Result<Answer, DoctrError> {
    if uploads.is_empty() {
        return Err(DoctrError::NoFiles);
    }
    let reader = reader_for(state, params)?;
    // The tier's limits apply to each file, as on /parse/image, and to all
    // files' bytes together. Those were bounded while read when the key came
    // first; a key sent after the files left them under the hard cap only.
    let limits = state.gate.limits(caller);
    if uploads.iter().map(|u| u.bytes.len() as u64).sum::<u64>() > limits.file_bytes {
        return Err(ServiceError::FileTooLarge { limit_kb: limits.file_bytes / 1024 }.into());
    }
    let files = uploads.into_iter().map(|Upload { name, bytes }| (name, bytes)).collect();
    Ok(state.service().read(DocumentRequest::doctr(files, params, reader, limits)).await?)
}

/// What reads the pages: one installed model set, or one set's detector
/// with the other's recogniser.
fn reader_for(state: &AppState, params: &DoctrParams) -> Result<PageReader, DoctrError> {
    let (detection, recognition) = (params.detection()?, params.recognition()?);
    let readers = state.readers();
    let installed = |model: doctr::Model, kind| {
        readers.model_set(model.engine_number()).ok_or(DoctrError::ModelMissing { kind, name: model.name() })
    };
    let detector = installed(detection, "detection")?;
    if detection == recognition {
        return Ok(detector);
    }
    Ok(Readers::mixed(detector, installed(recognition, "recognition")?)?)
}
