//! Reading a document's pages side by side. A job reads its pages in order
//! on its own thread; when the pool has idle workers (see
//! [`SpareWorkers`]), it borrows them, and its pages are read by one thread
//! on the job's own place and one on each borrowed place, each taking the
//! next page as soon as it is free. Pages are produced (decoded or
//! rendered) in order on the job's thread, one at a time and only for a
//! reader waiting for one, so production uses the place of the reader it
//! serves. So a 10-page PDF on an idle server uses every core, and uneven
//! pages never leave a reader waiting for another's page to end, while
//! under load (no idle worker) nothing changes: the job's thread reads its
//! pages itself, the number of threads doing OCR stays at the pool's
//! `workers`, and a borrowed worker gives its place back after each page,
//! to a waiting request first.
//!
//! Once the last page has been handed out, a reader with nothing left lends
//! its place to the pages still being read: a borrowed worker gives its
//! place back to the pool, the job's reader parks the job's (see
//! [`super::pool::Parking`]), and the line batches of those pages take the
//! places (see `super::line_batches`). Before that, line batches borrow
//! nothing, so the places stay with whole pages (a page per core costs less
//! than one page's lines on two).
//!
//! At most one page per reader (and the one being produced) is in memory at
//! a time; results come back in page order.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::error::ServiceError;
use super::pool::{PagesPending, SpareWorkers};

/// What a page's reading produced so far, shared by the job's thread and
/// its borrowed workers.
struct Shared<R> {
    /// Results by page index.
    results: Mutex<Vec<Option<R>>>,
    /// The first failure of a borrowed worker.
    failure: Mutex<Option<ServiceError>>,
}

impl<R> Shared<R> {
    fn store(&self, index: usize, result: R) {
        let mut results = self.results.lock().unwrap_or_else(PoisonError::into_inner);
        if results.len() <= index {
            results.resize_with(index + 1, || None);
        }
        results[index] = Some(result);
    }

    fn fail(&self, error: ServiceError) {
        self.failure.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(error);
    }

    fn take_failure(&self) -> Option<ServiceError> {
        self.failure.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    fn done(&self) -> usize {
        self.results.lock().unwrap_or_else(PoisonError::into_inner).iter().filter(|r| r.is_some()).count()
    }
}

/// Pages between the job's thread, which produces them, and the readers.
struct Handout<T> {
    state: Mutex<HandoutState<T>>,
    /// Signalled when a page is left, a reader starts or stops waiting or
    /// leaves, or production ends.
    changed: Condvar,
}

struct HandoutState<T> {
    /// Pages produced and not taken yet, with their index.
    pages: VecDeque<(usize, T)>,
    /// Readers waiting for a page.
    waiting: usize,
    /// Readers still reading or waiting.
    readers: usize,
    /// Production has ended: no page will come any more.
    finished: bool,
    /// Keeps line batches from borrowing while pages are still to come.
    pending: Option<PagesPending>,
}

impl<T> Handout<T> {
    fn new(readers: usize, pending: PagesPending) -> Self {
        let state =
            HandoutState { pages: VecDeque::new(), waiting: 0, readers, finished: false, pending: Some(pending) };
        Self { state: Mutex::new(state), changed: Condvar::new() }
    }

    fn lock(&self) -> MutexGuard<'_, HandoutState<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(&self, state: MutexGuard<'a, HandoutState<T>>) -> MutexGuard<'a, HandoutState<T>> {
        self.changed.wait(state).unwrap_or_else(PoisonError::into_inner)
    }

    /// Leaves `page` for a reader and waits until a reader waits for the
    /// next one, so the next page is produced only on the place of a reader
    /// that would otherwise idle. Gives `page` back when no reader is left.
    fn offer(&self, page: (usize, T)) -> Option<(usize, T)> {
        let mut state = self.lock();
        if state.readers == 0 {
            return Some(page);
        }
        state.pages.push_back(page);
        self.changed.notify_all();
        while state.readers > 0 && state.waiting <= state.pages.len() {
            state = self.wait(state);
        }
        None
    }

    /// Ends production: pages no reader took (when every reader has left)
    /// come back; readers waiting for a page stop, and line batches may
    /// borrow from now on.
    fn finish(&self) -> VecDeque<(usize, T)> {
        let mut state = self.lock();
        state.finished = true;
        state.pending = None;
        let left = if state.readers == 0 { std::mem::take(&mut state.pages) } else { VecDeque::new() };
        drop(state);
        self.changed.notify_all();
        left
    }

    /// The next page for a reader: waits until one is produced; `None` once
    /// production has ended and every page is taken.
    fn take(&self) -> Option<(usize, T)> {
        let mut state = self.lock();
        loop {
            if let Some(page) = state.pages.pop_front() {
                return Some(page);
            }
            if state.finished {
                return None;
            }
            state.waiting += 1;
            self.changed.notify_all();
            state = self.wait(state);
            state.waiting -= 1;
        }
    }

    /// A reader has stopped (also when it panics): see [`Leave`].
    fn leave(&self) {
        self.lock().readers -= 1;
        self.changed.notify_all();
    }
}

/// Ends production when dropped (also when the producer fails or panics),
/// so readers waiting for a page stop.
struct FinishOnDrop<'a, T>(&'a Handout<T>);

impl<T> Drop for FinishOnDrop<'_, T> {
    fn drop(&mut self) {
        drop(self.0.finish());
    }
}

/// Counts a reader out of the handout when dropped.
struct Leave<'a, T>(&'a Handout<T>);

impl<T> Drop for Leave<'_, T> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

/// Hands each page to a reader (see the module documentation), or reads it
/// on this thread when there are none.
pub struct Dispatcher<'a, T, R> {
    handout: Option<&'a Handout<T>>,
    work: &'a (dyn Fn(T) -> Result<R, ServiceError> + Sync),
    shared: &'a Shared<R>,
    next: usize,
}

impl<T, R> Dispatcher<'_, T, R> {
    /// Hands out `page` (the next one in order): to the readers, returning
    /// once one of them waits for the next page; without readers it is
    /// read here. A reader's earlier failure is returned here, so
    /// production stops at the next page.
    pub fn submit(&mut self, page: T) -> Result<(), ServiceError> {
        if let Some(error) = self.shared.take_failure() {
            return Err(error);
        }
        let index = self.next;
        self.next += 1;
        let page = match self.handout {
            Some(handout) => match handout.offer((index, page)) {
                Some(page) => page,
                None => return Ok(()),
            },
            None => (index, page),
        };
        read_one(self.work, self.shared, page, "page read on the job's thread")
    }

    /// Pages read so far (by any thread).
    pub fn done(&self) -> usize {
        self.shared.done()
    }
}

/// Reads `page` on this thread and stores its result.
fn read_one<T, R>(
    work: &(dyn Fn(T) -> Result<R, ServiceError> + Sync),
    shared: &Shared<R>,
    (index, page): (usize, T),
    what: &'static str,
) -> Result<(), ServiceError> {
    let clock = Instant::now();
    let result = work(page)?;
    tracing::debug!(page = index, seconds = clock.elapsed().as_secs_f64(), "{what}");
    shared.store(index, result);
    Ok(())
}

/// Runs `produce`, which submits every page in order to the dispatcher it
/// is given; `work` reads one page, on whichever thread takes it. Borrows
/// at most `max_helpers` idle workers of the current job's pool. Returns the
/// results in submission order, or the first failure.
pub fn read_side_by_side<T: Send, R: Send>(
    max_helpers: usize,
    work: &(dyn Fn(T) -> Result<R, ServiceError> + Sync),
    produce: impl FnOnce(&mut Dispatcher<'_, T, R>) -> Result<(), ServiceError>,
) -> Result<Vec<R>, ServiceError> {
    let shared = Shared { results: Mutex::new(Vec::new()), failure: Mutex::new(None) };
    let spare = SpareWorkers::current();
    let borrowed: Vec<_> = match &spare {
        Some(spare) => (0..max_helpers).map_while(|_| spare.try_borrow()).collect(),
        None => Vec::new(),
    };
    let (Some(spare), false) = (spare, borrowed.is_empty()) else {
        let mut dispatcher = Dispatcher { handout: None, work, shared: &shared, next: 0 };
        produce(&mut dispatcher)?;
        return collect(shared);
    };
    tracing::debug!(helpers = borrowed.len(), "reading pages side by side");
    let started = Instant::now();
    let handout = Handout::new(borrowed.len() + 1, spare.pages_pending());
    // Outside the scope: the job's place is taken back once every thread
    // that may have borrowed it has ended.
    let parking = spare.parking();
    let cancel = ocr_engine::cancel::current().unwrap_or_default();
    let lines = ocr_engine::spread::current();
    let produced: Result<(), ServiceError> = std::thread::scope(|scope| {
        // One reader on each borrowed place, and one on the job's own place,
        // which parks it when nothing is left to read.
        let places = borrowed.into_iter().map(Some).chain([None]);
        for place in places {
            let (handout, shared, spare, parking) = (&handout, &shared, &spare, &parking);
            let (cancel, lines) = (cancel.clone(), lines.clone());
            scope.spawn(move || {
                let _leave = Leave(handout);
                let next = || {
                    let clock = Instant::now();
                    let next = handout.take();
                    tracing::debug!(waited = clock.elapsed().as_secs_f64(), "reader's wait for a page");
                    next
                };
                let read = |page: (usize, T)| match read_one(work, shared, page, "page read side by side") {
                    Ok(()) => true,
                    Err(error) => {
                        shared.fail(error);
                        false
                    }
                };
                let run = || match place {
                    Some(place) => spare.keep_lent(place, SpareWorkers::try_borrow, next, read),
                    None => {
                        while let Some(page) = next() {
                            if !read(page) {
                                break;
                            }
                        }
                        parking.park();
                    }
                };
                // The job's cancellation, line batches (counted) and spare
                // workers (for the line batches of the last pages).
                let run = || spare.scope(|| cancel.scope(run));
                match &lines {
                    Some(lines) => lines.scope(run),
                    None => run(),
                }
            });
        }
        let finish = FinishOnDrop(&handout);
        let mut dispatcher = Dispatcher { handout: Some(&handout), work, shared: &shared, next: 0 };
        produce(&mut dispatcher)?;
        // Pages left when every reader has gone (only after a failure) are read here.
        for page in handout.finish() {
            read_one(work, &shared, page, "page read on the job's thread")?;
        }
        drop(finish);
        Ok(())
    });
    drop(parking);
    tracing::debug!(seconds = started.elapsed().as_secs_f64(), "pages read side by side");
    produced?;
    collect(shared)
}

/// The results in page order, or the first failure of a reader.
fn collect<R>(shared: Shared<R>) -> Result<Vec<R>, ServiceError> {
    if let Some(error) = shared.take_failure() {
        return Err(error);
    }
    let results = shared.results.into_inner().unwrap_or_else(PoisonError::into_inner);
    results
        .into_iter()
        .map(|r| r.ok_or_else(|| ServiceError::Internal("a page was handed out but never read".into())))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::service::pool::occupy_one_worker;
    use crate::service::OcrPool;

    /// Reads `pages` pages of 30 ms each in a job of `pool`; returns the
    /// results (page index, thread name) in order.
    async fn read_in_job(pool: &OcrPool, pages: usize) -> Vec<(usize, String)> {
        pool.run(move || {
            let work = |page: usize| {
                std::thread::sleep(Duration::from_millis(30));
                Ok((page, format!("{:?}", std::thread::current().id())))
            };
            read_side_by_side(pages - 1, &work, |dispatcher| (0..pages).try_for_each(|p| dispatcher.submit(p)))
        })
        .await
        .unwrap()
    }

    /// On an idle pool of two workers, a job's pages are read on two
    /// threads, in page order; the borrowed worker is back afterwards.
    #[test]
    fn an_idle_worker_reads_pages_alongside() {
        actix_web::rt::System::new().block_on(async {
            let pool = OcrPool::new(2, 0, Duration::from_secs(30));
            let read = read_in_job(&pool, 12).await;
            assert_eq!(read.iter().map(|r| r.0).collect::<Vec<_>>(), (0..12).collect::<Vec<_>>());
            let threads: BTreeSet<&str> = read.iter().map(|r| r.1.as_str()).collect();
            assert_eq!(threads.len(), 2, "{read:?}");
            assert_eq!(pool.stats().busy, 0);
        });
    }

    /// With the other worker busy, the job reads every page on its own thread.
    #[test]
    fn a_busy_pool_lends_no_worker() {
        actix_web::rt::System::new().block_on(async {
            let pool = OcrPool::new(2, 1, Duration::from_secs(30));
            let (release_tx, long) = occupy_one_worker(&pool).await;
            let read = read_in_job(&pool, 6).await;
            let threads: BTreeSet<&str> = read.iter().map(|r| r.1.as_str()).collect();
            assert_eq!(threads.len(), 1, "{read:?}");
            release_tx.send(()).unwrap();
            long.await.unwrap().unwrap();
        });
    }

    /// Pages read in a job of `pool`, produced after `lead_ms` (the time
    /// to open a document): page `p` sleeps `cost(p)` ms, as `batches(p)`
    /// line batches of equal share when that is above 0; returns, per page,
    /// the threads that read it.
    async fn timed_pages_in_job(
        pool: &OcrPool,
        pages: usize,
        lead_ms: u64,
        cost: fn(usize) -> u64,
        batches: fn(usize) -> usize,
    ) -> Vec<Vec<std::thread::ThreadId>> {
        pool.run(move || {
            let work = |page: usize| {
                let threads = Mutex::new(Vec::new());
                let read = |ms: u64| {
                    std::thread::sleep(Duration::from_millis(ms));
                    threads.lock().unwrap().push(std::thread::current().id());
                };
                match batches(page) {
                    0 => read(cost(page)),
                    n => ocr_engine::spread::run_all(n, &|_| read(cost(page) / n as u64)),
                }
                Ok(threads.into_inner().unwrap())
            };
            read_side_by_side(pages - 1, &work, |dispatcher| {
                std::thread::sleep(Duration::from_millis(lead_ms));
                (0..pages).try_for_each(|p| dispatcher.submit(p))
            })
        })
        .await
        .unwrap()
    }

    /// A reader that finishes its page takes the next one at once, also
    /// while the other reader is on a long page: here one page costs as
    /// much as all the others together, and its reader reads at most one
    /// other page. (Handing each page to a borrowed worker only when it
    /// waited at the moment the page was produced, and reading it on the
    /// producing thread otherwise, had that thread read the long page 1
    /// while the borrowed worker, done with page 0, waited for it.)
    #[test]
    fn a_long_page_does_not_hold_up_the_others() {
        actix_web::rt::System::new().block_on(async {
            let pool = OcrPool::new(2, 0, Duration::from_secs(30));
            let cost = |page| if page == 1 { 480 } else { 30 };
            let read = timed_pages_in_job(&pool, 10, 50, cost, |_| 0).await;
            let long = read[1][0];
            let others_by_long = (0..10).filter(|&p| p != 1 && read[p][0] == long).count();
            assert!(others_by_long <= 1, "the long page's reader read {others_by_long} other pages: {read:?}");
            assert_eq!(pool.stats().busy, 0);
        });
    }

    /// Once the last page is handed out, a reader with nothing left helps
    /// with the line batches of a page still being read, whether its place
    /// is borrowed (given back to the pool) or the job's own (parked).
    #[test]
    fn the_last_page_gets_the_idle_reader() {
        actix_web::rt::System::new().block_on(async {
            let pool = OcrPool::new(2, 0, Duration::from_secs(30));
            // Page 0 is long, in 24 batches; page 1 short.
            let cost = |page| if page == 0 { 480 } else { 20 };
            let batches = |page| if page == 0 { 24 } else { 0 };
            let read = timed_pages_in_job(&pool, 2, 0, cost, batches).await;
            let threads: std::collections::HashSet<_> = read[0].iter().collect();
            assert!(threads.len() >= 2, "page 0's batches were read on {} thread(s)", threads.len());
            assert_eq!(pool.stats().busy, 0);
        });
    }

    /// However pages and line batches are shared, no more threads read at
    /// once than the pool has workers, with the other worker idle or busy.
    #[test]
    fn readers_never_outnumber_the_workers() {
        static NOW: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        static MOST: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        actix_web::rt::System::new().block_on(async {
            use std::sync::atomic::Ordering::SeqCst;
            let pool = OcrPool::new(2, 1, Duration::from_secs(30));
            let job = |pool: OcrPool| async move {
                pool.run(|| {
                    let work = |page: usize| {
                        ocr_engine::spread::run_all(4 + page % 3, &|_| {
                            MOST.fetch_max(NOW.fetch_add(1, SeqCst) + 1, SeqCst);
                            std::thread::sleep(Duration::from_millis(5 + 7 * (page as u64 % 4)));
                            NOW.fetch_sub(1, SeqCst);
                        });
                        Ok(())
                    };
                    read_side_by_side(7, &work, |dispatcher| (0..8).try_for_each(|p| dispatcher.submit(p)))
                })
                .await
            };
            // Alone, then two at once (a second request arriving mid-document).
            job(pool.clone()).await.unwrap();
            assert_eq!(MOST.load(SeqCst), 2, "an idle worker was borrowed");
            let first = actix_web::rt::spawn(job(pool.clone()));
            actix_web::rt::time::sleep(Duration::from_millis(40)).await;
            job(pool.clone()).await.unwrap();
            first.await.unwrap().unwrap();
            assert_eq!(MOST.load(SeqCst), 2, "never more than 2 at once");
            assert_eq!(pool.stats().busy, 0);
        });
    }

    /// A page that fails on a borrowed worker stops the reading with its error.
    #[test]
    fn a_failure_on_a_borrowed_worker_is_returned() {
        actix_web::rt::System::new().block_on(async {
            let pool = OcrPool::new(2, 0, Duration::from_secs(30));
            let outcome = pool
                .run(|| {
                    let work = |page: usize| {
                        std::thread::sleep(Duration::from_millis(20));
                        if page == 3 {
                            Err(ServiceError::Internal("page 3 is unreadable".into()))
                        } else {
                            Ok(page)
                        }
                    };
                    read_side_by_side(1, &work, |dispatcher| (0..10).try_for_each(|p| dispatcher.submit(p)))
                })
                .await;
            assert!(matches!(outcome, Err(ServiceError::Internal(m)) if m.contains("page 3")));
            assert_eq!(pool.stats().busy, 0);
        });
    }
}
