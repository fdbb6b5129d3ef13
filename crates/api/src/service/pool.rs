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
            let spare = SpareWorkers { running: running_pool, stats: stats.clone(), job: Arc::default() };
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
/// `super::pages`), and a page's line batches borrow them too (see
/// `super::line_batches`). A borrowed worker counts as busy and holds a
/// worker place, so the number of threads doing OCR never exceeds the pool's
/// `workers`; it gives the place back after each page or batch, and a
/// request waiting for a worker gets it first (the semaphore serves waiters
/// before `try_acquire`).
///
/// Within one job, the job's own place can be lent too: a job's thread that
/// has handed out its last page and only waits for its borrowed workers to
/// finish theirs parks its place ([`Parking`]), and their line batches take
/// it before any of the pool's.
#[derive(Clone)]
pub struct SpareWorkers {
    running: Arc<Semaphore>,
    stats: Arc<Stats>,
    job: Arc<JobPlaces>,
}

/// What the threads of one job share about its places.
#[derive(Debug, Default)]
struct JobPlaces {
    /// The job's own places, parked by a thread that only waits (see [`Parking`]).
    parked: AtomicUsize,
    /// Documents of the job with pages still to hand out to borrowed
    /// workers: while there are any, line batches borrow nothing, so the
    /// places stay with pages (a page per thread costs less than a page's
    /// lines on two threads).
    pages_pending: AtomicUsize,
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
    pub(super) fn scope<T>(&self, job: impl FnOnce() -> T) -> T {
        ocr_engine::scoped::replace_while(&SPARE, Some(self.clone()), job)
    }

    /// The loop of a worker lent with `place`: each item `next` gives goes
    /// to `read` (which says whether to go on) and is counted as lent work;
    /// after each, the place goes back, to a waiting request first, and the
    /// loop goes on only if `again` can take a place again.
    pub fn keep_lent<I>(
        &self,
        place: BorrowedWorker,
        again: impl Fn(&Self) -> Option<BorrowedWorker>,
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
            match again(self) {
                Some(again) => place = Some(again),
                None => break,
            }
        }
    }

    /// One idle worker's place, for pages: if a worker is idle and no request waits for one.
    pub fn try_borrow(&self) -> Option<BorrowedWorker> {
        let permit = self.running.clone().try_acquire_owned().ok()?;
        Some(BorrowedWorker::count(permit, self.stats.clone()))
    }

    /// A place for line batches: none while the job has pages to hand out
    /// (see [`SpareWorkers::pages_pending`]); else a place the job parked,
    /// or else an idle worker's (as [`SpareWorkers::try_borrow`]).
    pub fn try_borrow_for_lines(&self) -> Option<BorrowedWorker> {
        if self.job.pages_pending.load(Ordering::Acquire) > 0 {
            return None;
        }
        let parked = &self.job.parked;
        if parked.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok() {
            return Some(BorrowedWorker { held: Held::Parked(self.job.clone()) });
        }
        self.try_borrow()
    }

    /// Marks the job as having pages to hand out to borrowed workers until
    /// the returned guard is dropped: meanwhile line batches borrow nothing.
    pub fn pages_pending(&self) -> PagesPending {
        self.job.pages_pending.fetch_add(1, Ordering::AcqRel);
        PagesPending(self.job.clone())
    }

    /// A parking spot for the calling thread's place (see [`Parking`]).
    pub fn parking(&self) -> Parking {
        Parking { job: self.job.clone(), parked: std::sync::atomic::AtomicBool::new(false) }
    }
}

/// See [`SpareWorkers::pages_pending`].
pub struct PagesPending(Arc<JobPlaces>);

impl Drop for PagesPending {
    fn drop(&mut self) {
        self.0.pages_pending.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Where a job's thread that has nothing left to read but must wait for
/// other threads of the job (scoped threads it started) parks its place:
/// after [`Parking::park`], line batches of those threads may take the
/// place (see [`SpareWorkers::try_borrow_for_lines`]), so the job's threads
/// doing OCR stay within the places it holds. The place is taken back when
/// the `Parking` is dropped, which must be after every thread that may have
/// taken it has ended (create it outside the `std::thread::scope`).
pub struct Parking {
    job: Arc<JobPlaces>,
    parked: std::sync::atomic::AtomicBool,
}

impl Parking {
    /// Parks the calling thread's place (once; later calls do nothing).
    pub fn park(&self) {
        if !self.parked.swap(true, Ordering::AcqRel) {
            self.job.parked.fetch_add(1, Ordering::AcqRel);
        }
    }
}

impl Drop for Parking {
    fn drop(&mut self) {
        if *self.parked.get_mut() {
            // Every borrower has ended, so the place is parked again.
            let _ = self.job.parked.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        }
    }
}

/// A worker place taken by a job (its own, or one it borrowed), counted
/// busy; given back, and no longer counted, on drop.
pub struct BorrowedWorker {
    held: Held,
}

/// What a [`BorrowedWorker`] holds.
enum Held {
    /// A place of the pool, counted busy.
    Pool { _permit: tokio::sync::OwnedSemaphorePermit, stats: Arc<Stats> },
    /// A place the job parked (already counted busy as the job's own).
    Parked(Arc<JobPlaces>),
}

impl BorrowedWorker {
    fn count(permit: tokio::sync::OwnedSemaphorePermit, stats: Arc<Stats>) -> Self {
        stats.busy.fetch_add(1, Ordering::Relaxed);
        Self { held: Held::Pool { _permit: permit, stats } }
    }
}

impl Drop for BorrowedWorker {
    fn drop(&mut self) {
        match &self.held {
            Held::Pool { stats, .. } => {
                stats.busy.fetch_sub(1, Ordering::Relaxed);
            }
            Held::Parked(job) => {
                job.parked.fetch_add(1, Ordering::AcqRel);
            }
        }
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

    /// A job's place parked by its thread goes to the job's line batches
    /// (one at a time, and back when they are done), never to pages or to
    /// another request, and to nothing while the job has pages to hand out.
    #[test]
    fn a_parked_place_goes_to_the_jobs_line_batches() {
        actix_web::rt::System::new().block_on(async {
            let pool = OcrPool::new(1, 1, Duration::from_secs(30));
            let job = pool.run(|| {
                let spare = SpareWorkers::current().expect("a job has spare workers");
                assert!(spare.try_borrow_for_lines().is_none(), "the only place is the job's");
                let parking = spare.parking();
                parking.park();
                parking.park();
                assert!(spare.try_borrow().is_none(), "a parked place is not for pages");
                let pending = spare.pages_pending();
                assert!(spare.try_borrow_for_lines().is_none(), "nor for lines while pages are pending");
                drop(pending);
                let lent = spare.try_borrow_for_lines().expect("the parked place");
                assert!(spare.try_borrow_for_lines().is_none(), "parked once, lent once");
                drop(lent);
                assert!(spare.try_borrow_for_lines().is_some(), "back after use");
                drop(parking);
                assert!(spare.try_borrow_for_lines().is_none(), "taken back");
                Ok(spare.job.parked.load(Ordering::Relaxed))
            });
            assert_eq!(job.await.unwrap(), 0);
            assert_eq!(pool.stats().busy, 0);
        });
    }

    /// A request waiting for a worker is counted queued also when the place it
    /// waits for is lent to another job, and no longer once it runs.
    #[test]
    fn requests_behind_a_lent_place_count_as_queued() {
        actix_web::rt::System::new().block_on(async {
            let pool = OcrPool::new(2, 2, Duration::from_secs(30));
            let (release_tx, first) = occupy_one_worker(&pool).await;
            let lent = SpareWorkers { running: pool.running.clone(), stats: pool.stats.clone(), job: Arc::default() }
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
