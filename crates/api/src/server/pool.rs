//! The bounded OCR worker pool: CPU-bound OCR runs on blocking threads, at
//! most `workers` at a time, with at most `queue` more requests waiting.
//! Beyond that a request is refused at once instead of piling up memory.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::error::ApiError;

/// Admission control and concurrency limit for OCR jobs.
#[derive(Clone)]
pub struct OcrPool {
    admitted: Arc<Semaphore>,
    running: Arc<Semaphore>,
    timeout: Duration,
}

impl OcrPool {
    /// A pool running `workers` jobs at once with `queue` more waiting;
    /// a job that has not finished after `timeout` is answered with
    /// [`ApiError::Timeout`] (its thread finishes in the background).
    pub fn new(workers: usize, queue: usize, timeout: Duration) -> Self {
        let workers = workers.max(1);
        Self {
            admitted: Arc::new(Semaphore::new(workers + queue)),
            running: Arc::new(Semaphore::new(workers)),
            timeout,
        }
    }

    /// Runs `job` on a blocking thread once a worker is free.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let admitted = self.admitted.clone().try_acquire_owned().map_err(|_| ApiError::Busy)?;
        let work = async {
            let running = self.running.clone().acquire_owned().await.map_err(|e| ApiError::Internal(e.to_string()))?;
            let result = actix_web::rt::task::spawn_blocking(move || {
                let result = job();
                drop(running);
                result
            })
            .await;
            result.map_err(|e| ApiError::Internal(format!("OCR worker failed: {e}")))?
        };
        let outcome = tokio::time::timeout(self.timeout, work).await.map_err(|_| ApiError::Timeout)?;
        drop(admitted);
        outcome
    }
}
