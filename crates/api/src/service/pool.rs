//! The bounded OCR worker pool: CPU-bound OCR runs on blocking threads, at
//! most `workers` at a time, with at most `queue` more requests waiting.
//! Beyond that a request is refused at once instead of piling up memory.
//!
//! Each job runs inside its own [`Cancel`] scope. When the job's request
//! times out, or its future is dropped (the client went away), the token is
//! cancelled, and the engine and the PDF reader stop at their next check
//! (between pages, lines and interpreter steps), so the worker is free again
//! within about a second instead of finishing work nobody will read.
//!
//! Admission happens twice. [`OcrPool::check_room`] is the early check: the
//! handler calls it first, before the API key is looked up or the body read,
//! so a refusal under overload costs an atomic load, not a query or an
//! upload. It takes
//! nothing, so a slow upload never holds a place that a ready request could
//! use. [`OcrPool::run`] then takes the place for real (the binding check: the
//! pool may have filled while the body arrived), and the admitted jobs wait
//! for a worker in arrival order.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ocr_engine::cancel::Cancel;
use ocr_engine::spread::Spreader;
use tokio::sync::Semaphore;

use super::error::ServiceError;
use super::line_batches::LineBatches;

/// Called on a worker thread after each job (see [`OcrPool::after_each_job`]).
static AFTER_JOB: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Admission control and concurrency limit for OCR jobs.
#[derive(Clone)]
pub struct OcrPool {
    admitted: Arc<Semaphore>,
    running: Arc<Semaphore>,
    timeout: Duration,
    workers: usize,
    stats: Arc<Stats>,
}

/// What the pool has done since start-up (for `/metrics`).
#[derive(Debug, Default)]
struct Stats {
    /// Jobs whose thread is working now (including cancelled jobs still winding down).
    busy: AtomicUsize,
    /// Admitted requests waiting for a worker place (a place lent to another
    /// job is not free, so requests behind it count here).
    waiting: AtomicUsize,
    /// Jobs cancelled because their request timed out.
    timed_out: AtomicU64,
    /// Jobs cancelled because their request went away before they finished.
    abandoned: AtomicU64,
    /// Requests refused as busy before their body was read.
    refused_before_body: AtomicU64,
    /// Requests refused as busy after their body was read (the pool filled
    /// while they uploaded).
    refused_after_body: AtomicU64,
    /// Batches of text lines recognised in jobs of this pool.
    recognition_batches: Arc<AtomicU64>,
    /// Pages and line batches read by an idle worker lent to another job.
    lent_work: AtomicU64,
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
    /// Requests refused as busy before their body was read.
    pub refused_before_body: u64,
    /// Requests refused as busy after their body was read.
    pub refused_after_body: u64,
    /// Batches of text lines recognised since start-up (see
    /// `ocr_engine::RecognizeOptions::recognition_batch_size`).
    pub recognition_batches: u64,
    /// Pages and line batches read since start-up by an idle worker lent
    /// to another job (see `super::pages`).
    pub lent_work: u64,
}

impl OcrPool {
    /// A pool running `workers` jobs at once with `queue` more waiting;
    /// a job that has not finished after `timeout` is answered with
    /// [`ServiceError::Timeout`] and cancelled.
    pub fn new(workers: usize, queue: usize, timeout: Duration) -> Self {
        let workers = workers.max(1);
        Self {
            admitted: Arc::new(Semaphore::new(workers + queue)),
            running: Arc::new(Semaphore::new(workers)),
            timeout,
            workers,
            stats: Arc::new(Stats::default()),
        }
    }

    /// The pool's current state and counters.
    pub fn stats(&self) -> PoolStats {
        PoolStats {
            workers: self.workers,
            busy: self.stats.busy.load(Ordering::Relaxed),
            queued: self.stats.waiting.load(Ordering::Relaxed),
            timed_out: self.stats.timed_out.load(Ordering::Relaxed),
            abandoned: self.stats.abandoned.load(Ordering::Relaxed),
            refused_before_body: self.stats.refused_before_body.load(Ordering::Relaxed),
            refused_after_body: self.stats.refused_after_body.load(Ordering::Relaxed),
            recognition_batches: self.stats.recognition_batches.load(Ordering::Relaxed),
            lent_work: self.stats.lent_work.load(Ordering::Relaxed),
        }
    }

    /// The early admission check, made at `stage` of the request:
    /// [`ServiceError::Busy`] when every worker and queue place is taken now. It
    /// reserves nothing; [`OcrPool::run`] checks again when the job is dispatched.
    pub fn check_room(&self, stage: Stage) -> Result<(), ServiceError> {
        if self.admitted.available_permits() == 0 {
            let counter = match stage {
                Stage::BeforeBody => &self.stats.refused_before_body,
                Stage::AfterBody => &self.stats.refused_after_body,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            return Err(ServiceError::Busy);
        }
        Ok(())
    }

    /// Has every worker call `hook` on its own thread after each job, once
    /// the job's place is given back (the server binary returns the memory
    /// the job freed to the system there). Set once per process; later
    /// calls are ignored.
    pub fn after_each_job(hook: fn()) {
        let _ = AFTER_JOB.set(hook);
    }

    /// Runs `job` on a blocking thread once a worker is free, inside a
    /// [`Cancel`] scope (see [`ocr_engine::cancel`]) that is cancelled when
    /// the request times out or is dropped.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        self.run_for(self.timeout, job).await
    }

    /// As [`OcrPool::run`] with its own time limit (background jobs, which
    /// no client waits on, may read longer than a request).
    pub async fn run_for<T: Send + 'static>(
        &self,
        timeout: Duration,
        job: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let Ok(admitted) = self.admitted.clone().try_acquire_owned() else {
            self.stats.refused_after_body.fetch_add(1, Ordering::Relaxed);
            return Err(ServiceError::Busy);
        };
        let cancel = Cancel::new();
        let mut guard = CancelOnDrop { cancel: cancel.clone(), stats: self.stats.clone(), armed: true };
        let stats = self.stats.clone();
        let work = async {
            let waiting = Waiting::count(&self.stats);
            let running =
                self.running.clone().acquire_owned().await.map_err(|e| ServiceError::Internal(e.to_string()))?;
            drop(waiting);
            let running_pool = self.running.clone();
            let spare = SpareWorkers { running: running_pool, stats: stats.clone() };
            let result = actix_web::rt::task::spawn_blocking(move || {
                // Counted busy until the job ends, also when it panics.
                let busy = BorrowedWorker::count(running, stats.clone());
                let lines = Spreader::new(Arc::new(LineBatches::new(stats.recognition_batches.clone())));
                let result = spare.scope(|| cancel.scope(|| lines.scope(job)));
                drop(busy);
                if let Some(hook) = AFTER_JOB.get() {
                    hook();
                }
                result
            })
            .await;
            result.map_err(|e| ServiceError::Internal(format!("OCR worker failed: {e}")))?
        };
        let outcome = match tokio::time::timeout(timeout, work).await {
            Ok(outcome) => outcome,
            Err(_) => {
                guard.fire(&self.stats.timed_out);
                Err(ServiceError::Timeout)
            }
        };
        guard.armed = false;
        drop(admitted);
        outcome
    }
}

/// The pool's idle workers, as seen from inside a job: a job whose
/// document has several pages borrows them to read pages side by side (see
/// `super::pages`). A borrowed worker counts as busy and holds a worker
/// place, so the number of threads doing OCR never exceeds the pool's
/// `workers`; it gives the place back after each page, and a request waiting
/// for a worker gets it first (the semaphore serves waiters before
/// `try_acquire`).
#[derive(Clone)]
pub struct SpareWorkers {
    running: Arc<Semaphore>,
    stats: Arc<Stats>,
}

thread_local! {
    static SPARE: std::cell::RefCell<Option<SpareWorkers>> = const { std::cell::RefCell::new(None) };
}

impl SpareWorkers {
    /// The pool of the job running on this thread (none outside the pool,
    /// e.g. on the command line).
    pub fn current() -> Option<Self> {
        SPARE.with(|s| s.borrow().clone())
    }

    /// Runs `job` with these spare workers as the current thread's.
    fn scope<T>(&self, job: impl FnOnce() -> T) -> T {
        ocr_engine::scoped::replace_while(&SPARE, Some(self.clone()), job)
    }

    /// Runs `job` with no spare workers for this thread: what it reads, it
    /// reads here (a job whose pages already have borrowed workers keeps
    /// their places for pages rather than lending them to one page's lines).
    pub fn without<T>(job: impl FnOnce() -> T) -> T {
        ocr_engine::scoped::replace_while(&SPARE, None, job)
    }

    /// The loop of a worker lent with `place`: each item `next` gives goes
    /// to `read` (which says whether to go on) and is counted as lent work;
    /// after each, the place goes back, to a waiting request first, and the
    /// loop goes on only if it can take a place again.
    pub fn keep_lent<I>(
        &self,
        place: BorrowedWorker,
        mut next: impl FnMut() -> Option<I>,
        mut read: impl FnMut(I) -> bool,
    ) {
        let mut place = Some(place);
        while let Some(item) = next() {
            self.stats.lent_work.fetch_add(1, Ordering::Relaxed);
            let go_on = read(item);
            drop(place.take());
            if !go_on {
                break;
            }
            match self.try_borrow() {
                Some(again) => place = Some(again),
                None => break,
            }
        }
    }

    /// One idle worker's place, if a worker is idle and no request waits for one.
    pub fn try_borrow(&self) -> Option<BorrowedWorker> {
        let permit = self.running.clone().try_acquire_owned().ok()?;
        Some(BorrowedWorker::count(permit, self.stats.clone()))
    }
}

/// A worker place taken by a job (its own, or one it borrowed), counted
/// busy; given back, and no longer counted, on drop.
pub struct BorrowedWorker {
    _permit: tokio::sync::OwnedSemaphorePermit,
    stats: Arc<Stats>,
}

impl BorrowedWorker {
    fn count(permit: tokio::sync::OwnedSemaphorePermit, stats: Arc<Stats>) -> Self {
        stats.busy.fetch_add(1, Ordering::Relaxed);
        Self { _permit: permit, stats }
    }
}

impl Drop for BorrowedWorker {
    fn drop(&mut self) {
        self.stats.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An admitted request waiting for a worker place, counted in
/// [`PoolStats::queued`] until it gets one or goes away (dropped with the
/// request's future on a timeout or a closed connection).
struct Waiting(Arc<Stats>);

impl Waiting {
    fn count(stats: &Arc<Stats>) -> Self {
        stats.waiting.fetch_add(1, Ordering::Relaxed);
        Self(stats.clone())
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Where a request is when the pool's room is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The key is known, the body not read yet.
    BeforeBody,
    /// The body has been read.
    AfterBody,
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

/// Occupies one worker of `pool` with a job that runs until the returned
/// sender sends (or is dropped); returns once the job runs.
#[cfg(test)]
pub(crate) async fn occupy_one_worker(
    pool: &OcrPool,
) -> (std::sync::mpsc::Sender<()>, actix_web::rt::task::JoinHandle<Result<(), ServiceError>>) {
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let running = pool.clone();
    let job = actix_web::rt::spawn(async move {
        running
            .run(move || {
                let _ = started_tx.send(());
                let _ = release_rx.recv();
                Ok(())
            })
            .await
    });
    while started_rx.try_recv().is_err() {
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    }
    (release_tx, job)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The early check refuses exactly when every place is taken, reserves
    /// nothing, and counts its refusals apart from those at dispatch.
    #[test]
    fn early_check_refuses_only_a_full_pool() {
        actix_web::rt::System::new().block_on(async {
            let pool = OcrPool::new(1, 0, Duration::from_secs(30));
            assert!(pool.check_room(Stage::BeforeBody).is_ok());
            assert!(pool.check_room(Stage::BeforeBody).is_ok(), "checking takes no place");
            let (release_tx, job) = occupy_one_worker(&pool).await;
            assert!(matches!(pool.check_room(Stage::BeforeBody), Err(ServiceError::Busy)));
            assert!(matches!(pool.check_room(Stage::AfterBody), Err(ServiceError::Busy)));
            assert!(matches!(pool.run(|| Ok(())).await, Err(ServiceError::Busy)));
            let stats = pool.stats();
            assert_eq!((stats.refused_before_body, stats.refused_after_body), (1, 2));
            release_tx.send(()).unwrap();
            job.await.unwrap().unwrap();
            assert!(pool.check_room(Stage::BeforeBody).is_ok(), "room again once the job ended");
        });
    }

    /// A request waiting for a worker is counted queued also when the place it
    /// waits for is lent to another job, and no longer once it runs.
    #[test]
    fn requests_behind_a_lent_place_count_as_queued() {
        actix_web::rt::System::new().block_on(async {
            let pool = OcrPool::new(2, 2, Duration::from_secs(30));
            let (release_tx, first) = occupy_one_worker(&pool).await;
            let lent = SpareWorkers { running: pool.running.clone(), stats: pool.stats.clone() }
                .try_borrow()
                .expect("the second worker is idle");
            assert_eq!((pool.stats().busy, pool.stats().queued), (2, 0));
            let waiting = pool.clone();
            let second = actix_web::rt::spawn(async move { waiting.run(|| Ok(())).await });
            for _ in 0..400 {
                if pool.stats().queued > 0 {
                    break;
                }
                actix_web::rt::time::sleep(Duration::from_millis(5)).await;
            }
            assert_eq!(pool.stats().queued, 1, "one request waits behind the lent place");
            drop(lent);
            second.await.unwrap().unwrap();
            assert_eq!(pool.stats().queued, 0);
            release_tx.send(()).unwrap();
            first.await.unwrap().unwrap();
            assert_eq!((pool.stats().busy, pool.stats().queued), (0, 0));
        });
    }
}
