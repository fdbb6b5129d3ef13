//! `POST /parse/image` and `GET /parse/imageurl`.

use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};
use ocr_engine::{PageResult, RecognizeOptions, Script};
use ocr_pdf::TextLayer;

use super::auth::{key_from_head, Caller};
use super::error::ApiError;
use super::input::read_request;
use super::payload::SharedPayload;
use super::state::AppState;
use crate::ocrspace::params::{OcrParams, ParamError};
use crate::ocrspace::render::{parsed_result, EngineStyle};
use crate::ocrspace::response::{OcrSpaceResponse, PDF_NOT_REQUESTED};
use crate::service::{
    check_input, decode_base64_off_executor, fetch, quoted, CheckedInput, DocumentJob, ServiceError, Stage,
};
use crate::store::unix_now;

/// Message sent in `SearchablePDFURL` when a PDF was requested but the
/// key's tier does not include searchable PDFs (never a fake link).
pub const PDF_NOT_IN_PLAN: &str =
    "Searchable PDF not generated: the plan of this API key does not include searchable PDFs.";

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
                // Values in the message are escaped (`input::quoted`): one log line per refusal.
                tracing::info!(error = %e, exit_code = e.exit_code(), "OCR request refused");
            }
            // The body may be unread (a refused or oversized upload): hold it
            // until the response is out, so the connection is closed instead of
            // the rest of the upload being read and thrown away.
            actix_web::rt::spawn(async move {
                actix_web::rt::time::sleep(std::time::Duration::from_secs(10)).await;
                drop(held);
            });
            let mut response = e.response(started.elapsed().as_millis());
            response.head_mut().set_connection_type(actix_web::http::ConnectionType::Close);
            response
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

/// Refuses at once when the worker pool is full, authenticates (header/query
/// key first, else the form field as soon as it arrives), reads the
/// request within the caller's limits, admits it, then runs the OCR on the
/// worker pool and records the work done.
async fn handle(req: &HttpRequest, payload: SharedPayload, state: &AppState) -> Result<OcrSpaceResponse, ApiError> {
    let gate = &state.gate;
    // Early admission: a full pool refuses before the key lookup and before
    // the body is read, so a refusal under overload costs an atomic load,
    // not a database query or an upload; `pool.run` re-checks.
    state.pool.check_room(Stage::BeforeBody)?;
    let mut caller = match key_from_head(req) {
        Some(secret) => Some(gate.authenticate(&secret).await?),
        None => None,
    };
    let limit = caller.as_ref().map_or(gate.hard_cap_bytes(), |c| gate.file_limit(c));
    let reading = read_request(req, payload, limit, state.field_limits, async |secret: &str| {
        if let Some(known) = &caller {
            return Ok(gate.file_limit(known));
        }
        let found = gate.authenticate(secret).await?;
        // A key sent as a form field: the same early check, before the file.
        state.pool.check_room(Stage::BeforeBody)?;
        let limit = gate.file_limit(&found);
        caller = Some(found);
        Ok(limit)
    });
    let raw = tokio::time::timeout(state.body_timeout, reading)
        .await
        .map_err(|_| ApiError::BodyTimeout(state.body_timeout.as_secs()))??;
    let params = OcrParams::parse(raw.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(escaped)?;
    // Parsing copied the values: free the originals (a base64Image may be large).
    drop(raw.fields);
    let caller = match (caller, &params.api_key) {
        (Some(caller), _) => caller,
        (None, Some(secret)) => gate.authenticate(secret).await?,
        (None, None) => return Err(ApiError::MissingKey),
    };
    let _turn = gate.enter(&caller)?;
    // Not counted against the quota when the pool filled during the upload.
    state.pool.check_room(Stage::AfterBody)?;
    let admission = gate.admit(&caller, gate.client_ip(req), unix_now()).await?;
    // Every answer from here on counts (errors too); a client gone before
    // its answer gives the quota back (the admission's drop).
    let answered = read_admitted(req, raw.file, params, &caller, state).await;
    let (pages, bytes) = answered.as_ref().map_or((0, 0), |a| (a.pages, a.input_bytes));
    admission.settle(pages, bytes).await;
    answered.map(|a| a.response)
}

/// An admitted request's answer and the work it cost.
struct Answered {
    response: OcrSpaceResponse,
    pages: usize,
    input_bytes: usize,
}

/// Reads an admitted request's input (file, else base64Image, else url),
/// checks it against the caller's tier, runs the OCR on the worker pool and
/// publishes the searchable PDF.
async fn read_admitted(
    req: &HttpRequest,
    file: Option<Vec<u8>>,
    mut params: OcrParams,
    caller: &Caller,
    state: &AppState,
) -> Result<Answered, ApiError> {
    let limit = state.gate.file_limit(caller);
    // Input precedence (documented): file, then base64Image, then url.
    let bytes = if let Some(file) = file {
        file
    } else if let Some(b64) = params.base64_image.take() {
        decode_base64_off_executor(b64).await?
    } else if let Some(url) = &params.url {
        fetch(url, &state.fetch_policy, limit).await?
    } else {
        return Err(ServiceError::NoInput.into());
    };
    let CheckedInput { bytes, is_pdf, pages } =
        check_input(bytes, params.file_type, limit, caller.tier.max_pdf_pages).await?;
    let (engine, script) = state.select(params.engine, &params.language)?;
    let options = recognize_options(&params, script);
    let layer = text_layer(&params, caller.tier.searchable_pdf);
    let input_bytes = bytes.len();
    let counters = state.counters.clone();
    let max_pages = pages;
    let document = state
        .pool
        .run(move || {
            let job = DocumentJob { bytes: &bytes, is_pdf, engine: &engine, options: &options, max_pages, pdf: layer };
            job.run(&counters)
        })
        .await?;
    let searchable_pdf_url = match document.pdf {
        Some(pdf) => {
            let info = req.connection_info().clone();
            let request_base = format!("{}://{}", info.scheme(), info.host());
            state.links.publish(&caller.key.id, document.pages.len(), pdf, &request_base).await?
        }
        None if params.create_searchable_pdf => PDF_NOT_IN_PLAN.to_string(),
        None => PDF_NOT_REQUESTED.to_string(),
    };
    Ok(Answered {
        pages: document.pages.len(),
        response: success_response(&document.pages, &params, searchable_pdf_url),
        input_bytes,
    })
}

/// The engine options a request's parameters ask for.
pub fn recognize_options(params: &OcrParams, script: Script) -> RecognizeOptions {
    RecognizeOptions {
        script,
        detect_orientation: params.detect_orientation,
        deskew: params.detect_orientation,
        upscale: params.scale,
        ..Default::default()
    }
}

/// The searchable PDF's text layer, when one is asked for and the tier has it.
pub fn text_layer(params: &OcrParams, tier_has_pdf: bool) -> Option<TextLayer> {
    match (params.create_searchable_pdf, tier_has_pdf) {
        (true, true) => Some(if params.hide_text_layer { TextLayer::Hidden } else { TextLayer::Visible }),
        _ => None,
    }
}

/// The OCR.space answer for the pages read (processing time left empty).
pub fn success_response(pages: &[PageResult], params: &OcrParams, searchable_pdf_url: String) -> OcrSpaceResponse {
    let style = EngineStyle::of(params.engine);
    let overlay = params.overlay || params.create_searchable_pdf;
    OcrSpaceResponse {
        parsed_results: Some(pages.iter().map(|p| parsed_result(p, style, overlay, params.is_table)).collect()),
        ocr_exit_code: 1,
        is_errored_on_processing: false,
        error_message: None,
        error_details: None,
        processing_time_in_milliseconds: String::new(),
        searchable_pdf_url: Some(searchable_pdf_url),
    }
}

/// The parameter error with the client's names and values escaped and
/// truncated, so echoing them (response, log) cannot forge a log line.
fn escaped(e: ParamError) -> ApiError {
    ApiError::Params(match e {
        ParamError::UnknownParameter(name) => ParamError::UnknownParameter(quoted(&name)),
        ParamError::InvalidValue { name, value, expected } => {
            ParamError::InvalidValue { name: quoted(&name), value: quoted(&value), expected }
        }
    })
}
