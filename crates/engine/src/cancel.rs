//! Cooperative cancellation of a page's OCR.
//!
//! A [`Cancel`] is a shared flag: whoever gives up on a job (a request that
//! timed out, or whose client went away) calls [`Cancel::cancel`], and the
//! thread doing the work stops at its next check with
//! [`EngineError::Cancelled`]. So that the engine's per-page calls need no
//! extra parameter, the worker runs the job inside [`Cancel::scope`], which
//! makes the token the thread's current one, and the engine calls
//! [`checkpoint`] between pages and between the lines of a page.
//!
//! ```
//! use ocr_engine::cancel::{self, Cancel};
//! let token = Cancel::new();
//! let other = token.clone();
//! let result = token.scope(|| {
//!     other.cancel(); // e.g. from a timer on another thread
//!     cancel::checkpoint()
//! });
//! assert!(result.is_err());
//! assert!(cancel::checkpoint().is_ok()); // outside the scope nothing is cancelled
//! ```

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::{EngineError, Result};

/// A cancellation flag shared between a job and whoever may give up on it.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the job to stop at its next check.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err(EngineError::Cancelled)` once cancelled.
    ///
    /// # Errors
    /// [`EngineError::Cancelled`].
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(EngineError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// The flag itself, for libraries that take a plain `&AtomicBool`
    /// (such as the PDF reader).
    pub fn flag(&self) -> &AtomicBool {
        &self.0
    }

    /// Runs `job` with this token as the current thread's (see
    /// [`checkpoint`]); the previous one is restored afterwards, also when
    /// `job` panics.
    pub fn scope<T>(&self, job: impl FnOnce() -> T) -> T {
        crate::scoped::replace_while(&CURRENT, Some(self.clone()), job)
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Cancel>> = const { RefCell::new(None) };
}

/// The current thread's token (set by [`Cancel::scope`]), if any.
pub fn current() -> Option<Cancel> {
    CURRENT.with(|c| c.borrow().clone())
}

/// `Err(EngineError::Cancelled)` when the current thread's token is cancelled.
///
/// # Errors
/// [`EngineError::Cancelled`].
pub fn checkpoint() -> Result<()> {
    CURRENT.with(|c| c.borrow().as_ref().map_or(Ok(()), Cancel::check))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_nest_and_restore() {
        let outer = Cancel::new();
        let inner = Cancel::new();
        outer.scope(|| {
            inner.cancel();
            assert!(checkpoint().is_ok());
            assert!(matches!(inner.scope(checkpoint), Err(EngineError::Cancelled)));
            assert!(checkpoint().is_ok());
            outer.cancel();
            assert!(checkpoint().is_err());
        });
        assert!(current().is_none());
        let caught = std::panic::catch_unwind(|| outer.scope(|| panic!("job failed")));
        assert!(caught.is_err());
        assert!(current().is_none(), "a panicking job still restores the previous token");
    }
}
