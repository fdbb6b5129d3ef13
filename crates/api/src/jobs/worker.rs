//! The job worker loop: claims one job at a time, reads it on the
//! instance's OCR pool (so jobs never take more threads than its workers,
//! and wait their turn with requests), renews the lease with the progress
//! while pages are read, and stores the same document `/parse/image` answers.
//! Each page's result is stored with the lease renewal, so a worker taking
//! the job over (its instance died) reads only the pages not stored yet;
//! not when a searchable PDF is asked for (its page pictures are not kept),
//! which is read again from the first page.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ocr_engine::PageResult;
use serde::{Deserialize, Serialize};

use super::JobSettings;
use crate::ocrspace::params::OcrParams;
use crate::ocrspace::render::success_response;
use crate::ocrspace::response::{searchable_pdf_field, OcrSpaceResponse};
use crate::server::{ApiError, AppState};
use crate::service::{
    input_is_pdf, recognize_options, record_work, text_layer, DocumentJob, EngineChoice, InputSource, Resume,
    ServiceError, Work, ALL_PAGES_AT_ONCE,
};
use crate::store::{unix_now, ClaimedJob, JobOutcome};

/// What a job needs besides its input, stored with it at submission.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredParams {
    /// The request's parameters as sent (key, base64Image and callbackUrl left out).
    pub fields: Vec<(String, String)>,
    /// Whether the key's tier includes searchable PDFs.
    pub searchable_pdf: bool,
    /// The tier's page limit.
    pub max_pages: i64,
    /// The key's file limit (for a `url` input fetched by the worker).
    pub file_limit: u64,
    /// Base of the request's own URL, for PDF links.
    pub base: String,
}

pub(super) fn spawn(state: AppState, settings: JobSettings) {
    actix_web::rt::spawn(async move {
        loop {
            // A job is claimed only when a worker is idle: requests keep their
            // turn, and a claimed job is not refused as busy (an attempt lost).
            let pool = state.pool.stats();
            if pool.busy + pool.queued >= pool.workers {
                actix_web::rt::time::sleep(settings.poll_interval).await;
                continue;
            }
            let now = unix_now();
            let lease = settings.lease.as_secs().max(3) as i64;
            match state.gate.store().claim_job(now, now + lease).await {
                Ok(Some(job)) => run_claimed(&state, &settings, job).await,
                Ok(None) => actix_web::rt::time::sleep(settings.poll_interval).await,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming a job failed");
                    actix_web::rt::time::sleep(settings.poll_interval * 4).await;
                }
            }
        }
    });
}

async fn run_claimed(state: &AppState, settings: &JobSettings, job: ClaimedJob) {
    tracing::info!(job = %job.id, attempt = job.attempt, "job claimed");
    let store = state.gate.store();
    let progress = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
    let pages: NewPages = Arc::default();
    let work = read(state, settings.timeout, &job, progress.clone(), pages.clone());
    let renewing = renew(state, settings, &job, progress.clone(), pages);
    let outcome = tokio::select! {
        outcome = work => outcome,
        () = renewing => {
            // The lease went to another worker: dropping `work` cancels the OCR.
            tracing::warn!(job = %job.id, "job lease lost; stopped");
            return;
        }
    };
    let now = unix_now();
    // The final page count, for the status (renewals record it while reading).
    let (done, total) = (progress.0.load(Ordering::Relaxed) as i64, progress.1.load(Ordering::Relaxed) as i64);
    let lease = settings.lease.as_secs().max(3) as i64;
    if let Err(e) = store.renew_job(&job.id, job.attempt, done, total, now + lease).await {
        tracing::warn!(job = %job.id, error = %e, "recording a job's progress failed");
    }
    let stored = match outcome {
        Ok(response) => match serde_json::to_string(&response) {
            Ok(json) => store.finish_job(&job.id, job.attempt, &JobOutcome::Done(json), now).await,
            Err(e) => store.release_job(&job.id, job.attempt, &e.to_string(), now).await,
        },
        Err(e) if passing(&e) => store.release_job(&job.id, job.attempt, &e.to_string(), now).await,
        Err(e) => {
            let document = serde_json::to_string(&e.body(0)).unwrap_or_default();
            store.finish_job(&job.id, job.attempt, &JobOutcome::Failed(e.to_string(), document), now).await
        }
    };
    match stored {
        Ok(true) => tracing::info!(job = %job.id, "job finished"),
        Ok(false) => tracing::warn!(job = %job.id, "job was taken over before it finished"),
        Err(e) => tracing::warn!(job = %job.id, error = %e, "storing a job's outcome failed"),
    }
}

/// Failures worth another attempt: the server, not the input, was at fault.
fn passing(e: &ApiError) -> bool {
    e.is_internal()
        || matches!(e, ApiError::BusyUploads | ApiError::Service(ServiceError::Busy | ServiceError::Timeout))
}

/// Pages read by this attempt and not stored yet: (index from 0, result JSON).
type NewPages = Arc<Mutex<Vec<(usize, String)>>>;

/// Renews the lease every third of it with the progress so far, storing
/// the pages read since the last renewal first; returns when the lease is lost.
async fn renew(
    state: &AppState,
    settings: &JobSettings,
    job: &ClaimedJob,
    progress: Arc<(AtomicUsize, AtomicUsize)>,
    pages: NewPages,
) {
    let lease = settings.lease.as_secs().max(3);
    loop {
        actix_web::rt::time::sleep(std::time::Duration::from_secs(lease / 3)).await;
        let new_pages = std::mem::take(&mut *pages.lock().unwrap_or_else(|e| e.into_inner()));
        for (index, result) in new_pages {
            match state.gate.store().save_job_page(&job.id, job.attempt, index as i64, &result).await {
                Ok(_) => {}
                Err(e) => tracing::warn!(job = %job.id, error = %e, "storing a job's page failed"),
            }
        }
        let (done, total) = (progress.0.load(Ordering::Relaxed) as i64, progress.1.load(Ordering::Relaxed) as i64);
        match state.gate.store().renew_job(&job.id, job.attempt, done, total, unix_now() + lease as i64).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => tracing::warn!(job = %job.id, error = %e, "renewing a job's lease failed"),
        }
    }
}

/// The pages earlier attempts at `job` read and stored, by index from 0.
async fn pages_read_before(state: &AppState, job: &ClaimedJob) -> Result<BTreeMap<usize, PageResult>, ApiError> {
    let mut done = BTreeMap::new();
    if job.attempt > 1 {
        for (index, result) in state.gate.store().job_pages(&job.id).await? {
            if let (Ok(index), Ok(result)) = (usize::try_from(index), serde_json::from_str(&result)) {
                done.insert(index, result);
            }
        }
        tracing::info!(job = %job.id, pages = done.len(), "job resumed after the pages read before");
    }
    Ok(done)
}

/// Reads the job's input as `/parse/image` would.
async fn read(
    state: &AppState,
    timeout: std::time::Duration,
    job: &ClaimedJob,
    progress: Arc<(AtomicUsize, AtomicUsize)>,
    new_pages: NewPages,
) -> Result<OcrSpaceResponse, ApiError> {
    let stored: StoredParams = serde_json::from_str(&job.params)
        .map_err(|e| ServiceError::Internal(format!("a job's stored parameters are unreadable: {e}")))?;
    let params =
        OcrParams::parse(stored.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(ApiError::Params)?;
    let service = state.service();
    let source = match &params.url {
        Some(url) if job.input.is_empty() => InputSource::Url(url.clone()),
        _ => InputSource::Bytes(job.input.clone()),
    };
    let bytes = service.load(source, stored.file_limit).await?;
    let is_pdf = input_is_pdf(&bytes, params.file_type)?;
    let mut options = recognize_options(&params);
    let choice = EngineChoice::Numbered { engine: params.engine, language: params.language.clone() };
    let engine = service.choose(choice, &mut options)?;
    let layer = text_layer(&params, stored.searchable_pdf);
    let counters = state.counters.clone();
    let max_pages = stored.max_pages.max(1) as usize;
    let input_bytes = bytes.len();
    // Pages an earlier attempt read (a searchable PDF is read whole again).
    let done = if layer.is_none() { pages_read_before(state, job).await? } else { BTreeMap::new() };
    let document = state
        .pool
        .run_for(timeout, move || {
            let job = DocumentJob {
                bytes: &bytes,
                is_pdf,
                engine: &engine,
                options: &options,
                max_pages,
                pdf: layer,
                pages_at_once: ALL_PAGES_AT_ONCE,
            };
            let on_page = |index: usize, result: &PageResult| {
                if let Ok(json) = serde_json::to_string(result) {
                    new_pages.lock().unwrap_or_else(|e| e.into_inner()).push((index, json));
                }
            };
            let resume = layer.is_none().then_some(Resume { done: &done, on_page: &on_page });
            job.run_resumed(
                &counters,
                &mut |done, total| {
                    progress.1.store(total, Ordering::Relaxed);
                    progress.0.store(done, Ordering::Relaxed);
                },
                resume.as_ref(),
            )
        })
        .await?;
    let work = Work { pages: document.pages.len(), input_bytes };
    record_work(state.gate.store(), &job.key_id, work).await;
    let link = match document.pdf {
        Some(pdf) => Some(service.publish_pdf(&job.key_id, work.pages, pdf, &stored.base).await?),
        None => None,
    };
    Ok(success_response(&document.pages, &params, searchable_pdf_field(link, params.create_searchable_pdf)))
}
