//! Reading a document's pages side by side. A job reads its pages in order
//! on its own thread; when the pool has idle workers (see
//! [`SpareWorkers`]), it borrows them, and each page produced (decoded or
//! rendered on the job's thread) goes to a borrowed worker that is waiting
//! for one, or is read on the job's thread when none is. So a 10-page PDF
//! on an idle server uses every core, while under load (no idle worker)
//! nothing changes: the number of threads doing OCR stays at the pool's
//! `workers`, and a borrowed worker gives its place back after each page,
//! to a waiting request first.
//!
//! At most one page per thread is in memory at a time; results come back in
//! page order.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};

use super::error::ServiceError;
use super::pool::SpareWorkers;

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

/// Hands each page to a waiting borrowed worker, or reads it on this thread.
pub struct Dispatcher<'a, T, R> {
    to_helpers: Option<SyncSender<(usize, T)>>,
    work: &'a (dyn Fn(T) -> Result<R, ServiceError> + Sync),
    shared: &'a Shared<R>,
    next: usize,
}

impl<T, R> Dispatcher<'_, T, R> {
    /// Reads `page` (the next one in order): on a borrowed worker waiting
    /// for a page, else here. A borrowed worker's earlier failure is
    /// returned here, so production stops at the next page.
    pub fn submit(&mut self, page: T) -> Result<(), ServiceError> {
        if let Some(error) = self.shared.take_failure() {
            return Err(error);
        }
        let index = self.next;
        self.next += 1;
        let page = match &self.to_helpers {
            // A rendezvous channel: the send succeeds only when a worker waits.
            Some(sender) => match sender.try_send((index, page)) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Full((_, page)) | TrySendError::Disconnected((_, page))) => page,
            },
            None => page,
        };
        // With borrowed workers reading pages, this thread's page keeps to this thread.
        let result =
            if self.to_helpers.is_some() { SpareWorkers::without(|| (self.work)(page)) } else { (self.work)(page) }?;
        self.shared.store(index, result);
        Ok(())
    }

    /// Pages read so far (by any thread).
    pub fn done(&self) -> usize {
        self.shared.done()
    }
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
    let produced = if borrowed.is_empty() {
        let mut dispatcher = Dispatcher { to_helpers: None, work, shared: &shared, next: 0 };
        produce(&mut dispatcher)
    } else {
        tracing::debug!(helpers = borrowed.len(), "reading pages side by side");
        let (sender, receiver) = sync_channel::<(usize, T)>(0);
        let receiver = Arc::new(Mutex::new(receiver));
        let cancel = ocr_engine::cancel::current().unwrap_or_default();
        let lines = ocr_engine::spread::current();
        std::thread::scope(|scope| {
            for place in borrowed {
                let (receiver, shared, cancel, spare) = (receiver.clone(), &shared, cancel.clone(), spare.clone());
                let lines = lines.clone();
                scope.spawn(move || {
                    let read = || {
                        let Some(spare) = &spare else { return };
                        spare.keep_lent(
                            place,
                            || next_page(&receiver),
                            |(index, page)| match work(page) {
                                Ok(result) => {
                                    shared.store(index, result);
                                    true
                                }
                                Err(error) => {
                                    shared.fail(error);
                                    false
                                }
                            },
                        )
                    };
                    // The job's cancellation and line batches (counted; read on
                    // this thread, as no worker is lent from a lent one).
                    match &lines {
                        Some(lines) => lines.scope(|| cancel.scope(read)),
                        None => cancel.scope(read),
                    }
                });
            }
            let mut dispatcher = Dispatcher { to_helpers: Some(sender), work, shared: &shared, next: 0 };
            let produced = produce(&mut dispatcher);
            // Closing the channel ends the helpers once their page is read.
            drop(dispatcher);
            produced
        })
    };
    produced?;
    if let Some(error) = shared.take_failure() {
        return Err(error);
    }
    let results = shared.results.into_inner().unwrap_or_else(PoisonError::into_inner);
    results
        .into_iter()
        .map(|r| r.ok_or_else(|| ServiceError::Internal("a page was handed out but never read".into())))
        .collect()
}

/// The next page for a borrowed worker (`None` once production ended).
fn next_page<T>(receiver: &Mutex<Receiver<(usize, T)>>) -> Option<(usize, T)> {
    receiver.lock().unwrap_or_else(PoisonError::into_inner).recv().ok()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
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
