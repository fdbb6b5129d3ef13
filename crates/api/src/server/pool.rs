//! The bounded OCR worker pool: CPU-bound OCR runs on blocking threads, at
//! most `workers` at a time, with at most `queue` more requests waiting.
//! Beyond that a request is refused at once instead of piling up memory.
//!
//! Each job runs inside its own [`Cancel`] scope. When the job's request
//! times out, or its future is dropped (the client went away), the token is
//! cancelled, and the engine and the PDF reader stop at their next check
//! (between pages, lines and interpreter steps), so the worker is free again
//! within about a second instead of finishing work nobody will read.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ocr_engine::cancel::Cancel;
use tokio::sync::Semaphore;

use super::error::ApiError;

/// Admission control and concurrency limit for OCR jobs.
#[derive(Clone)]
pub struct OcrPool {
    admitted: Arc<Semaphore>,
    running: Arc<Semaphore>,
    timeout: Duration,
    workers: usize,
    queue: usize,
    stats: Arc<Stats>,
}

/// What the pool has done since start-up (for `/metrics`).
#[derive(Debug, Default)]
struct Stats {
    /// Jobs whose thread is working now (including cancelled jobs still winding down).
    busy: AtomicUsize,
    /// Jobs cancelled because their request timed out.
    timed_out: AtomicU64,
    /// Jobs cancelled because their request went away before they finished.
    abandoned: AtomicU64,
}

/// A snapshot of the pool's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Worker threads available for OCR.
    pub workers: usize,
    /// Jobs running on a worker now.
    pub busy: usize,
    /// Requests admitted and waiting for a worker.
    pub queued: usize,
    /// Jobs cancelled since start-up because their request timed out.
    pub timed_out: u64,
    /// Jobs cancelled since start-up because their request went away.
    pub abandoned: u64,
}

impl OcrPool {
    /// A pool running `workers` jobs at once with `queue` more waiting;
    /// a job that has not finished after `timeout` is answered with
    /// [`ApiError::Timeout`] and cancelled.
    pub fn new(workers: usize, queue: usize, timeout: Duration) -> Self {
        let workers = workers.max(1);
        Self {
            admitted: Arc::new(Semaphore::new(workers + queue)),
            running: Arc::new(Semaphore::new(workers)),
            timeout,
            workers,
            queue,
            stats: Arc::new(Stats::default()),
        }
    }

    /// The pool's current state and counters.
    pub fn stats(&self) -> PoolStats {
        let running = self.workers.saturating_sub(self.running.available_permits());
        let admitted = (self.workers + self.queue).saturating_sub(self.admitted.available_permits());
        PoolStats {
            workers: self.workers,
            busy: self.stats.busy.load(Ordering::Relaxed),
            queued: admitted.saturating_sub(running),
            timed_out: self.stats.timed_out.load(Ordering::Relaxed),
            abandoned: self.stats.abandoned.load(Ordering::Relaxed),
        }
    }

    /// Runs `job` on a blocking thread once a worker is free, inside a
    /// [`Cancel`] scope (see [`ocr_engine::cancel`]) that is cancelled when
    /// the request times out or is dropped.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let admitted = self.admitted.clone().try_acquire_owned().map_err(|_| ApiError::Busy)?;
        let cancel = Cancel::new();
        let mut guard = CancelOnDrop { cancel: cancel.clone(), stats: self.stats.clone(), armed: true };
        let stats = self.stats.clone();
        let work = async {
            let running = self.running.clone().acquire_owned().await.map_err(|e| ApiError::Internal(e.to_string()))?;
            let result = actix_web::rt::task::spawn_blocking(move || {
                stats.busy.fetch_add(1, Ordering::Relaxed);
                let result = cancel.scope(job);
                stats.busy.fetch_sub(1, Ordering::Relaxed);
                drop(running);
                result
            })
            .await;
            result.map_err(|e| ApiError::Internal(format!("OCR worker failed: {e}")))?
        };
        let outcome = match tokio::time::timeout(self.timeout, work).await {
            Ok(outcome) => outcome,
            Err(_) => {
                guard.fire(&self.stats.timed_out);
                Err(ApiError::Timeout)
            }
        };
        guard.armed = false;
        drop(admitted);
        outcome
    }
}

/// Cancels the job when the request's future is dropped before the job ended.
struct CancelOnDrop {
    cancel: Cancel,
    stats: Arc<Stats>,
    armed: bool,
}

impl CancelOnDrop {
    fn fire(&mut self, counter: &AtomicU64) {
        if self.armed {
            self.armed = false;
            self.cancel.cancel();
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let stats = self.stats.clone();
        self.fire(&stats.abandoned);
    }
}
