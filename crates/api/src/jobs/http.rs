//! `POST /jobs` and `GET /jobs/{id}`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::worker::StoredParams;
use super::JobSettings;
use crate::ocrspace::params::OcrParams;
use crate::ocrspace::response::OcrSpaceResponse;
use crate::server::{key_from_head, read_request, ApiError, AppState, SharedPayload};
use crate::service::{checked_address, decode_base64_off_executor, input_is_pdf, quoted, ServiceError, Work};
use crate::store::{unix_now, JobState, NewJob};

/// Submits a job: the request is read, checked and counted exactly as
/// `/parse/image` reads, checks and counts it; the input is stored and the
/// answer (202, the job's id and status URL) comes at once.
pub async fn submit(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
    let settings = req.app_data::<web::Data<JobSettings>>().map(|s| s.get_ref().clone()).unwrap_or_default();
    let payload = SharedPayload::new(payload).charge_to(&state.upload_memory);
    let held = payload.clone();
    let result = accept(&req, payload, &state, &settings).await;
    held.release_memory();
    match result {
        Ok(id) => HttpResponse::Accepted().json(JobAccepted {
            status_url: format!("/jobs/{id}"),
            job_id: id,
            state: JobState::Queued.as_str(),
        }),
        Err(e) => {
            if !e.is_internal() {
                tracing::info!(error = %e, exit_code = e.exit_code(), "job refused");
            }
            e.response(0)
        }
    }
}

async fn accept(
    req: &HttpRequest,
    payload: SharedPayload,
    state: &AppState,
    settings: &JobSettings,
) -> Result<String, ApiError> {
    let gate = &state.gate;
    let mut caller = match key_from_head(req) {
        Some(secret) => Some(gate.authenticate(&secret).await?),
        None => None,
    };
    let hard_cap = gate.hard_cap_bytes().min(settings.max_input_bytes);
    let limit = caller.as_ref().map_or(hard_cap, |c| gate.file_limit(c).min(settings.max_input_bytes));
    let reading = read_request(req, payload, limit, state.field_limits, async |secret: &str| {
        if let Some(known) = &caller {
            return Ok(gate.file_limit(known).min(settings.max_input_bytes));
        }
        let found = gate.authenticate(secret).await?;
        let limit = gate.file_limit(&found).min(settings.max_input_bytes);
        caller = Some(found);
        Ok(limit)
    });
    let raw = tokio::time::timeout(state.body_timeout, reading)
        .await
        .map_err(|_| ApiError::BodyTimeout(state.body_timeout.as_secs()))??;
    let (callbacks, fields): (Vec<_>, Vec<_>) =
        raw.fields.into_iter().partition(|(name, _)| name.eq_ignore_ascii_case("callbackurl"));
    let mut params = OcrParams::parse(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| ApiError::Params(e.escaped()))?;
    let caller = match (caller, &params.api_key) {
        (Some(caller), _) => caller,
        (None, Some(secret)) => gate.authenticate(secret).await?,
        (None, None) => return Err(ApiError::MissingKey),
    };
    let callback_url = match callbacks.into_iter().next_back() {
        Some((_, url)) if !url.trim().is_empty() => Some(checked_callback(url.trim(), state).await?),
        _ => None,
    };
    let limit = gate.file_limit(&caller).min(settings.max_input_bytes);
    let input = job_input(raw.file, &mut params, limit).await?;
    // Refused before it is counted: a language or engine this server lacks.
    state.select(params.engine, &params.language)?;
    let admission = gate.admit(&caller, gate.client_ip(req), unix_now()).await?;
    let info = req.connection_info().clone();
    let keep = |name: &str| !name.eq_ignore_ascii_case("apikey") && !name.eq_ignore_ascii_case("base64image");
    let stored = StoredParams {
        fields: fields.into_iter().filter(|(name, _)| keep(name)).collect(),
        searchable_pdf: caller.tier.searchable_pdf,
        max_pages: caller.tier.max_pdf_pages,
        file_limit: limit,
        base: format!("{}://{}", info.scheme(), info.host()),
    };
    let job = NewJob {
        key_id: caller.key.id.clone(),
        params: serde_json::to_string(&stored).map_err(|e| ServiceError::Internal(e.to_string()))?,
        input,
        callback_url,
        max_attempts: settings.max_attempts,
    };
    let accepted = gate.store().insert_job(&job, unix_now()).await.map_err(ServiceError::Store)?;
    // The acceptance is the request's answer: it counts now; the worker adds
    // the pages and bytes it reads (a job that was never stored is not counted).
    admission.settle(Work::default()).await;
    Ok(accepted)
}

/// The input a job stores: the upload, else the decoded `base64Image`,
/// checked as `/parse/image` checks it; empty for a `url` (the worker fetches it).
async fn job_input(file: Option<Vec<u8>>, params: &mut OcrParams, limit: u64) -> Result<Vec<u8>, ServiceError> {
    let input = if let Some(file) = file {
        file
    } else if let Some(b64) = params.base64_image.take() {
        decode_base64_off_executor(b64).await?
    } else if params.url.is_some() {
        Vec::new()
    } else {
        return Err(ServiceError::NoInput);
    };
    if input.len() as u64 > limit {
        return Err(ServiceError::FileTooLarge { limit_kb: limit / 1024 });
    }
    if !input.is_empty() {
        input_is_pdf(&input, params.file_type)?;
    }
    Ok(input)
}

/// A callback URL passes the checks a `url` input passes (scheme, port,
/// every address its host resolves to); delivery checks it again.
async fn checked_callback(url: &str, state: &AppState) -> Result<String, ApiError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ApiError::BadRequest(format!("callbackUrl is not a URL: {}", quoted(&e.to_string()))))?;
    checked_address(&parsed, &state.fetch_policy).await.map_err(|e| match e {
        ServiceError::UrlFetch(why) => ApiError::BadRequest(format!("callbackUrl refused: {why}")),
        other => other.into(),
    })?;
    Ok(parsed.to_string())
}

/// A job's state, progress and (once done) result; only the key that
/// submitted it sees it (any other key gets 404, as for an unknown id).
pub async fn status(req: &HttpRequest, state: &AppState) -> HttpResponse {
    match lookup(req, state).await {
        Ok(Some(body)) => HttpResponse::Ok().json(body),
        Ok(None) => HttpResponse::NotFound().json(OcrSpaceResponse::error(4, vec!["No such job".into()], None, 0)),
        Err(e) => e.response(0),
    }
}

async fn lookup(req: &HttpRequest, state: &AppState) -> Result<Option<JobView>, ApiError> {
    let secret = key_from_head(req).ok_or(ApiError::MissingKey)?;
    let caller = state.gate.authenticate(&secret).await?;
    let id = req.path().trim_end_matches('/').rsplit('/').next().unwrap_or_default();
    let job = state.gate.store().job(id, &caller.key.id).await.map_err(ServiceError::Store)?;
    let Some(job) = job else { return Ok(None) };
    let result = job.result.as_deref().and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok());
    Ok(Some(JobView {
        job_id: job.id,
        state: job.state.as_str(),
        pages_done: job.pages_done,
        pages_total: job.pages_total,
        attempts: job.attempt,
        created_at: job.created_at,
        finished_at: job.finished_at,
        error: job.error,
        webhook: job.webhook_state,
        result,
    }))
}

/// The answer to an accepted `POST /jobs` (202).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct JobAccepted {
    /// The job's id.
    pub job_id: String,
    /// Always `queued`.
    #[schema(example = "queued")]
    pub state: &'static str,
    /// Where to poll the job (`/jobs/{id}`).
    pub status_url: String,
}

/// `GET /jobs/{id}`: a job's state, progress and, once finished, result.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct JobView {
    /// The job's id.
    pub job_id: String,
    /// `queued`, `running`, `done` or `failed`.
    #[schema(example = "running")]
    pub state: &'static str,
    /// Pages read so far by the current attempt.
    pub pages_done: i64,
    /// Pages in the input (0 until a worker has opened it).
    pub pages_total: i64,
    /// Claims so far (a job whose instance died is claimed again).
    pub attempts: i64,
    /// Submission time, Unix seconds.
    pub created_at: i64,
    /// Completion time, Unix seconds.
    pub finished_at: Option<i64>,
    /// Why the job failed, when it did.
    pub error: Option<String>,
    /// Webhook delivery: `none`, `pending`, `delivered` or `failed`.
    pub webhook: String,
    /// Once finished: the document `/parse/image` answers for the same input
    /// and parameters (or its error envelope when the job failed).
    #[schema(value_type = Option<OcrSpaceResponse>)]
    pub result: Option<serde_json::Value>,
}
