//! A thread's current value of something (a cancellation token, a spread,
//! a pool's spare workers), set for the length of one job.

use std::cell::RefCell;
use std::thread::LocalKey;

/// Runs `job` with `value` as `slot`'s content on this thread; the previous
/// content is restored afterwards, also when `job` panics.
pub fn replace_while<V: 'static, T>(
    slot: &'static LocalKey<RefCell<Option<V>>>,
    value: Option<V>,
    job: impl FnOnce() -> T,
) -> T {
    struct Restore<V: 'static> {
        slot: &'static LocalKey<RefCell<Option<V>>>,
        previous: Option<V>,
    }
    impl<V: 'static> Drop for Restore<V> {
        fn drop(&mut self) {
            let previous = self.previous.take();
            self.slot.with(|s| *s.borrow_mut() = previous);
        }
    }
    let previous = slot.with(|s| std::mem::replace(&mut *s.borrow_mut(), value));
    let _restore = Restore { slot, previous };
    job()
}
