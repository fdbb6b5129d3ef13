//! A page's batches of text lines (see `ocr_engine::spread`), read by the
//! job's thread and by idle workers it borrows.
//!
//! Unlike pages, which are produced one after the other, a page's batches
//! all exist up front: every thread takes the next unread batch from a
//! shared counter until none is left, so the threads finish together
//! whatever the batches cost. Places are looked for when the page's batches
//! start and again after each batch the reading thread reads, so a worker
//! that goes idle in the middle of a page (the other pages of the document
//! are read, another request ended) joins at once. A borrowed worker gives
//! its place back after each batch and goes on only if it can take a place
//! again (a request waiting for a worker gets it first), so under load
//! nothing is borrowed and the job reads every batch itself. While a
//! document still has pages to hand out, its pages keep the places (see
//! `super::pages` and [`SpareWorkers::try_borrow_for_lines`]).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use ocr_engine::spread::Spread;

use super::pool::SpareWorkers;

/// The pool's [`Spread`]: counts the batches and lends idle workers to them.
pub struct LineBatches {
    /// The pool's count of batches read (`ocr_recognition_batches_total`).
    counted: Arc<AtomicU64>,
}

impl LineBatches {
    /// Batches read through this spread are added to `counted`.
    pub fn new(counted: Arc<AtomicU64>) -> Self {
        Self { counted }
    }
}

impl Spread for LineBatches {
    fn run(&self, count: usize, work: &(dyn Fn(usize) + Sync)) {
        self.counted.fetch_add(count as u64, Ordering::Relaxed);
        let next = AtomicUsize::new(0);
        let take = || Some(next.fetch_add(1, Ordering::Relaxed)).filter(|&i| i < count);
        let Some(spare) = SpareWorkers::current() else {
            while let Some(index) = take() {
                work(index);
            }
            return;
        };
        let cancel = ocr_engine::cancel::current().unwrap_or_default();
        // Borrowed workers reading batches now; each is worth one more only
        // while unread batches outnumber the threads reading them.
        let lent = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            let lend = || {
                while count.saturating_sub(next.load(Ordering::Relaxed)) > lent.load(Ordering::Relaxed) + 1 {
                    let Some(place) = spare.try_borrow_for_lines() else { return };
                    lent.fetch_add(1, Ordering::Relaxed);
                    let (spare, cancel, take, lent) = (spare.clone(), cancel.clone(), &take, &lent);
                    let read = move || {
                        cancel.scope(|| {
                            spare.keep_lent(place, SpareWorkers::try_borrow_for_lines, take, |index| {
                                work(index);
                                true
                            })
                        });
                        lent.fetch_sub(1, Ordering::Relaxed);
                    };
                    // A thread that cannot be started gives its place back (the
                    // closure is dropped) and this thread reads its share.
                    if std::thread::Builder::new().name("ocr-lines".into()).spawn_scoped(scope, read).is_err() {
                        lent.fetch_sub(1, Ordering::Relaxed);
                        return;
                    }
                }
            };
            lend();
            while let Some(index) = take() {
                work(index);
                lend();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Mutex;
    use std::time::Duration;

    use ocr_engine::spread::Spreader;

    use super::*;
    use crate::service::pool::occupy_one_worker;
    use crate::service::OcrPool;

    /// Runs 12 batches of 20 ms through the pool's spread in a job of
    /// `pool`; returns the batches read and the threads that read them.
    async fn batches_in_job(pool: &OcrPool) -> (Vec<usize>, usize, u64) {
        batches_of_job(pool, 12).await
    }

    /// As [`batches_in_job`] with `count` batches.
    async fn batches_of_job(pool: &OcrPool, count: usize) -> (Vec<usize>, usize, u64) {
        pool.run(move || {
            let counted = Arc::new(AtomicU64::new(0));
            let read = Mutex::new(Vec::new());
            Spreader::new(Arc::new(LineBatches::new(counted.clone()))).scope(|| {
                ocr_engine::spread::run_all(count, &|i| {
                    std::thread::sleep(Duration::from_millis(20));
                    read.lock().unwrap().push((i, std::thread::current().id()));
                })
            });
            let read = read.into_inner().unwrap();
            let threads = read.iter().map(|r| r.1).collect::<HashSet<_>>().len();
            let mut batches: Vec<usize> = read.into_iter().map(|r| r.0).collect();
            batches.sort_unstable();
            Ok((batches, threads, counted.load(Ordering::Relaxed)))
        })
        .await
        .unwrap()
    }

    /// On an idle pool of two workers, both read batches; each batch is read once.
    #[test]
    fn an_idle_worker_reads_batches_alongside() {
        actix_web::rt::System::new().block_on(async {
            let pool = OcrPool::new(2, 0, Duration::from_secs(30));
            let (batches, threads, counted) = batches_in_job(&pool).await;
            assert_eq!(batches, (0..12).collect::<Vec<_>>());
            assert_eq!((threads, counted), (2, 12));
            assert!(pool.stats().lent_work > 0);
            assert_eq!(pool.stats().busy, 0, "the borrowed place is back");
        });
    }

    /// A worker that goes idle while a page's batches are being read joins
    /// them at once, not only from the next page on.
    #[test]
    fn a_worker_idle_midway_joins_the_batches() {
        actix_web::rt::System::new().block_on(async {
            let pool = OcrPool::new(2, 1, Duration::from_secs(30));
            let (release, long) = occupy_one_worker(&pool).await;
            let job = {
                let pool = pool.clone();
                actix_web::rt::spawn(async move { batches_of_job(&pool, 40).await })
            };
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
            release.send(()).unwrap();
            long.await.unwrap().unwrap();
            let (batches, threads, _) = job.await.unwrap();
            assert_eq!(batches, (0..40).collect::<Vec<_>>());
            assert_eq!(threads, 2, "the freed worker joined");
            assert_eq!(pool.stats().busy, 0);
        });
    }

    /// With the other worker busy, the job reads every batch itself.
    #[test]
    fn a_busy_pool_lends_no_worker_to_batches() {
        actix_web::rt::System::new().block_on(async {
            let pool = OcrPool::new(2, 1, Duration::from_secs(30));
            let (release, long) = occupy_one_worker(&pool).await;
            let (batches, threads, _) = batches_in_job(&pool).await;
            assert_eq!(batches, (0..12).collect::<Vec<_>>());
            assert_eq!(threads, 1);
            assert_eq!(pool.stats().lent_work, 0);
            release.send(()).unwrap();
            long.await.unwrap().unwrap();
        });
    }
}
