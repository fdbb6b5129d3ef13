//! The job worker loop: claims one job at a time, reads it on the
//! instance's OCR pool (so jobs never take more threads than its workers,
//! and wait their turn with requests), renews the lease with the progress
//! while pages are read, and stores the same document `/parse/image` answers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::JobSettings;
use crate::ocrspace::params::OcrParams;
use crate::ocrspace::response::{OcrSpaceResponse, PDF_NOT_REQUESTED};
use crate::server::{
    input_is_pdf, recognize_options, success_response, text_layer, ApiError, AppState, DocumentJob, PDF_NOT_IN_PLAN,
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
    let work = read(state, settings.timeout, &job, progress.clone());
    let renewing = renew(state, settings, &job, progress.clone());
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
    e.is_internal() || matches!(e, ApiError::Busy | ApiError::BusyUploads | ApiError::Timeout)
}

/// Renews the lease every third of it with the progress so far; returns
/// when the lease is lost.
async fn renew(state: &AppState, settings: &JobSettings, job: &ClaimedJob, progress: Arc<(AtomicUsize, AtomicUsize)>) {
    let lease = settings.lease.as_secs().max(3);
    loop {
        actix_web::rt::time::sleep(std::time::Duration::from_secs(lease / 3)).await;
        let (done, total) = (progress.0.load(Ordering::Relaxed) as i64, progress.1.load(Ordering::Relaxed) as i64);
        match state.gate.store().renew_job(&job.id, job.attempt, done, total, unix_now() + lease as i64).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => tracing::warn!(job = %job.id, error = %e, "renewing a job's lease failed"),
        }
    }
}

/// Reads the job's input as `/parse/image` would.
async fn read(
    state: &AppState,
    timeout: std::time::Duration,
    job: &ClaimedJob,
    progress: Arc<(AtomicUsize, AtomicUsize)>,
) -> Result<OcrSpaceResponse, ApiError> {
    let stored: StoredParams = serde_json::from_str(&job.params)
        .map_err(|e| ApiError::Internal(format!("a job's stored parameters are unreadable: {e}")))?;
    let params =
        OcrParams::parse(stored.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(ApiError::Params)?;
    let bytes = match &params.url {
        Some(url) if job.input.is_empty() => crate::server::fetch(url, &state.fetch_policy, stored.file_limit).await?,
        _ => job.input.clone(),
    };
    let is_pdf = input_is_pdf(&bytes, params.file_type)?;
    let (engine, script) = state.select(params.engine, &params.language)?;
    let options = recognize_options(&params, script);
    let layer = text_layer(&params, stored.searchable_pdf);
    let counters = state.counters.clone();
    let max_pages = stored.max_pages.max(1) as usize;
    let input_bytes = bytes.len() as i64;
    let document = state
        .pool
        .run_for(timeout, move || {
            let job = DocumentJob { bytes: &bytes, is_pdf, engine: &engine, options: &options, max_pages, pdf: layer };
            job.run_observed(&counters, &mut |done, total| {
                progress.1.store(total, Ordering::Relaxed);
                progress.0.store(done, Ordering::Relaxed);
            })
        })
        .await?;
    let pages = document.pages.len() as i64;
    if let Err(e) = state.gate.store().record_work(&job.key_id, pages, input_bytes, unix_now()).await {
        tracing::error!(error = %e, key = %job.key_id, "recording usage failed");
    }
    let searchable_pdf_url = match document.pdf {
        Some(pdf) => state.links.publish(&job.key_id, document.pages.len(), pdf, &stored.base).await?,
        None if params.create_searchable_pdf => PDF_NOT_IN_PLAN.to_string(),
        None => PDF_NOT_REQUESTED.to_string(),
    };
    Ok(success_response(&document.pages, &params, searchable_pdf_url))
}
