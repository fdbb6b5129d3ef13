//! Spreading one page's independent pieces of work (batches of line crops)
//! over other threads.
//!
//! The engine does not own threads: whoever runs it (the server's worker
//! pool) may lend it some. It does so by running the job inside
//! [`Spreader::scope`] with a [`Spread`] of its own, which makes that spread
//! the thread's current one; the engine then hands the recognition batches
//! of each page to [`current`]. Without one, batches run one after the
//! other on the calling thread, so results never depend on a spread: only
//! where, and how soon, they are computed.
//!
//! ```
//! use std::sync::Arc;
//! use ocr_engine::spread::{self, Spread, Spreader};
//! struct Inline;
//! impl Spread for Inline {
//!     fn run(&self, count: usize, work: &(dyn Fn(usize) + Sync)) {
//!         (0..count).for_each(work)
//!     }
//! }
//! assert!(spread::current().is_none());
//! Spreader::new(Arc::new(Inline)).scope(|| assert!(spread::current().is_some()));
//! assert!(spread::current().is_none());
//! ```

use std::cell::RefCell;
use std::sync::Arc;

/// Runs `count` independent pieces of work, on as many threads as it has.
pub trait Spread: Send + Sync {
    /// Calls `work(i)` exactly once for every `i` in `0..count`, possibly on
    /// several threads at once, and returns when every call has returned.
    /// A panic in `work` must reach the caller (e.g. through a scoped thread's join).
    fn run(&self, count: usize, work: &(dyn Fn(usize) + Sync));
}

/// A [`Spread`] to install as a thread's current one.
#[derive(Clone)]
pub struct Spreader(Arc<dyn Spread>);

impl std::fmt::Debug for Spreader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Spreader")
    }
}

impl Spreader {
    /// Wraps `spread`.
    pub fn new(spread: Arc<dyn Spread>) -> Self {
        Self(spread)
    }

    /// Runs `job` with this spread as the current thread's (see
    /// [`current`]); the previous one is restored afterwards, also when
    /// `job` panics.
    pub fn scope<T>(&self, job: impl FnOnce() -> T) -> T {
        crate::scoped::replace_while(&CURRENT, Some(self.clone()), job)
    }

    /// Runs `work` for every index in `0..count` through this spread.
    pub fn run(&self, count: usize, work: &(dyn Fn(usize) + Sync)) {
        self.0.run(count, work);
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Spreader>> = const { RefCell::new(None) };
}

/// The current thread's spread (set by [`Spreader::scope`]), if any.
pub fn current() -> Option<Spreader> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Runs `work` for every index in `0..count`: through the current thread's
/// spread when there is one, else in order on this thread. Nothing is run
/// (and the spread is not called) when `count` is 0.
pub fn run_all(count: usize, work: &(dyn Fn(usize) + Sync)) {
    if count == 0 {
        return;
    }
    match current() {
        Some(spread) => spread.run(count, work),
        None => (0..count).for_each(work),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::*;

    /// Runs every piece on its own scoped thread and records the counts it was asked for.
    #[derive(Default)]
    struct ThreadPerPiece(Mutex<Vec<usize>>);

    impl Spread for ThreadPerPiece {
        fn run(&self, count: usize, work: &(dyn Fn(usize) + Sync)) {
            self.0.lock().unwrap().push(count);
            std::thread::scope(|s| {
                for i in 0..count {
                    s.spawn(move || work(i));
                }
            });
        }
    }

    #[test]
    fn work_goes_through_the_current_spread_and_every_piece_runs_once() {
        let spread = Arc::new(ThreadPerPiece::default());
        let ran = AtomicUsize::new(0);
        let caller = std::thread::current().id();
        let elsewhere = AtomicUsize::new(0);
        Spreader::new(spread.clone()).scope(|| {
            run_all(5, &|i| {
                ran.fetch_add(1 << (4 * i), Ordering::Relaxed);
                if std::thread::current().id() != caller {
                    elsewhere.fetch_add(1, Ordering::Relaxed);
                }
            });
            run_all(0, &|_| unreachable!("no piece to run"));
        });
        assert_eq!(ran.load(Ordering::Relaxed), 0x11111, "each of the 5 pieces exactly once");
        assert_eq!(elsewhere.load(Ordering::Relaxed), 5);
        assert_eq!(*spread.0.lock().unwrap(), vec![5], "an empty run does not reach the spread");
    }

    #[test]
    fn without_a_spread_pieces_run_in_order_here() {
        let order = Mutex::new(Vec::new());
        run_all(3, &|i| order.lock().unwrap().push((i, std::thread::current().id())));
        let here = std::thread::current().id();
        assert_eq!(*order.lock().unwrap(), vec![(0, here), (1, here), (2, here)]);
    }

    #[test]
    fn a_panicking_job_restores_the_previous_spread() {
        let caught = std::panic::catch_unwind(|| {
            Spreader::new(Arc::new(ThreadPerPiece::default())).scope(|| panic!("job failed"))
        });
        assert!(caught.is_err());
        assert!(current().is_none());
    }
}
