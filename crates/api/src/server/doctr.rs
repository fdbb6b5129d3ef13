//! `POST /ocr` and `POST /kie`: docTR-style requests (multipart `files`,
//! query parameters) through the same key, tier, quota and worker pool as
//! the OCR.space endpoints; answers in docTR's JSON (`crate::doctr`).

use actix_web::{web, HttpRequest, HttpResponse};
use ocr_engine::RecognizeOptions;

use super::auth::{key_from_head, Caller};
use super::error::ApiError;
use super::input::{read_uploads, Upload};
use super::payload::SharedPayload;
use super::state::AppState;
use crate::doctr::{self, DoctrError, DoctrParams, Endpoint, FileResult, ParamsError};
use crate::service::{check_input, CheckedInput, DocumentJob, PageReader, Readers, ServiceError, Stage};
use crate::store::unix_now;

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
            // As on /parse/image: an unread body is held until the answer
            // is out, so the connection is closed rather than drained.
            actix_web::rt::spawn(async move {
                actix_web::rt::time::sleep(std::time::Duration::from_secs(10)).await;
                drop(held);
            });
            let mut response = e.response();
            response.head_mut().set_connection_type(actix_web::http::ConnectionType::Close);
            response
        }
    }
}

/// Authenticates, reads the files within the caller's limits, admits the
/// request and reads every page of every file on the worker pool.
async fn handle(
    req: &HttpRequest,
    payload: SharedPayload,
    state: &AppState,
    endpoint: Endpoint,
) -> Result<(DoctrParams, Vec<FileResult>), DoctrError> {
    let gate = &state.gate;
    // A full pool refuses before the key lookup and the body, as on /parse/image.
    state.pool.check_room(Stage::BeforeBody)?;
    let mut caller = match key_from_head(req) {
        Some(secret) => Some(gate.authenticate(&secret).await?),
        None => None,
    };
    let limit = caller.as_ref().map_or(gate.hard_cap_bytes(), |c| gate.file_limit(c));
    let reading = read_uploads(req, payload, limit, state.field_limits, MAX_FILES, async |secret: &str| {
        if let Some(known) = &caller {
            return Ok(gate.file_limit(known));
        }
        let found = gate.authenticate(secret).await?;
        // The pool may have filled since: check again before the files.
        state.pool.check_room(Stage::BeforeBody)?;
        let limit = gate.file_limit(&found);
        caller = Some(found);
        Ok(limit)
    });
    let raw = tokio::time::timeout(state.body_timeout, reading)
        .await
        .map_err(|_| ApiError::BodyTimeout(state.body_timeout.as_secs()))??;
    let params = DoctrParams::parse(raw.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    if endpoint == Endpoint::Ocr && params.day_first.is_some() {
        return Err(DoctrError::Params(ParamsError("parameter 'day_first' applies to /kie only".into())));
    }
    // A key in a urlencoded body arrives with the other fields.
    let body_key = raw.fields.iter().find(|(k, _)| k.eq_ignore_ascii_case("apikey")).map(|(_, v)| v.as_str());
    let caller = match (caller, body_key) {
        (Some(caller), _) => caller,
        (None, Some(secret)) => gate.authenticate(secret).await?,
        (None, None) => return Err(ApiError::MissingKey.into()),
    };
    let _turn = gate.enter(&caller)?;
    // Not counted against the quota when the pool filled during the upload.
    state.pool.check_room(Stage::AfterBody)?;
    let admission = gate.admit(&caller, gate.client_ip(req), unix_now()).await?;
    // Every answer from here on counts (errors too), as on /parse/image.
    let answered = read_admitted(raw.uploads, &params, &caller, state).await;
    let (pages, bytes) = answered.as_ref().map_or((0, 0), |(_, pages, bytes)| (*pages, *bytes));
    admission.settle(pages, bytes).await;
    Ok((params, answered?.0))
}

/// Reads every page of every file of an admitted request on the worker
/// pool; returns the files' results, the pages read and the input bytes.
async fn read_admitted(
    uploads: Vec<Upload>,
    params: &DoctrParams,
    caller: &Caller,
    state: &AppState,
) -> Result<(Vec<FileResult>, usize, usize), DoctrError> {
    if uploads.is_empty() {
        return Err(DoctrError::NoFiles);
    }
    let reader = reader_for(state, params)?;
    let options = options_for(params);
    let mut files = Vec::with_capacity(uploads.len());
    for Upload { name, bytes } in uploads {
        // The tier's limits apply to each file, as on /parse/image.
        let CheckedInput { bytes, is_pdf, pages } =
            check_input(bytes, None, state.gate.file_limit(caller), caller.tier.max_pdf_pages).await?;
        files.push((name, bytes, is_pdf, pages));
    }
    let input_bytes: usize = files.iter().map(|(_, b, ..)| b.len()).sum();
    let counters = state.counters.clone();
    let results = state
        .pool
        .run(move || {
            files
                .iter()
                .map(|(name, bytes, is_pdf, count)| {
                    let job = DocumentJob {
                        bytes: bytes.as_slice(),
                        is_pdf: *is_pdf,
                        engine: &reader,
                        options: &options,
                        max_pages: *count,
                        pdf: None,
                    };
                    Ok(FileResult { name: name.clone(), pages: job.run(&counters)?.pages })
                })
                .collect::<Result<Vec<_>, ServiceError>>()
        })
        .await?;
    let read: usize = results.iter().map(|f| f.pages.len()).sum();
    Ok((results, read, input_bytes))
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

/// The engine options the parameters ask for.
fn options_for(params: &DoctrParams) -> RecognizeOptions {
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
        ..Default::default()
    }
}
