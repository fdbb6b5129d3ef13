//! A request body as the server reads it: shared between the reader and
//! the handler, counted against the request's byte budget, and charged to
//! the server-wide memory budget for bodies in progress.

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::web;

/// The request body, shared: the handler keeps one handle while the reader
/// consumes the other, so an upload refused half-way is not dropped before
/// the response is sent. (actix drains a dropped chunked body to the end,
/// however large; a body still held makes it close the connection instead.)
/// It counts the bytes it hands out and fails once they pass its budget.
#[derive(Clone)]
pub struct SharedPayload(Rc<SharedState>);

struct SharedState {
    payload: RefCell<web::Payload>,
    read: Cell<u64>,
    budget: Cell<u64>,
    memory: RefCell<Option<MemoryCharge>>,
    memory_exhausted: Cell<bool>,
}

/// The server-wide budget for request bodies held in memory, in KiB: every
/// request's bytes are charged to it as they arrive and released when the
/// request ends, so many concurrent uploads cannot add up past it.
#[derive(Clone, Debug)]
pub struct UploadMemory {
    kib: Arc<tokio::sync::Semaphore>,
}

impl UploadMemory {
    /// A budget of `bytes` (rounded down to KiB; 0 means none is allowed).
    pub fn new(bytes: u64) -> Self {
        let kib = usize::try_from(bytes / 1024).unwrap_or(usize::MAX).min(tokio::sync::Semaphore::MAX_PERMITS);
        Self { kib: Arc::new(tokio::sync::Semaphore::new(kib)) }
    }

    /// KiB not charged to any request now.
    pub fn available_kib(&self) -> usize {
        self.kib.available_permits()
    }
}

/// What one request has charged to the [`UploadMemory`] budget.
struct MemoryCharge {
    budget: UploadMemory,
    held: Option<tokio::sync::OwnedSemaphorePermit>,
    kib: u64,
}

impl SharedPayload {
    /// Wraps a request body (no budget until [`SharedPayload::set_budget`]).
    pub fn new(payload: web::Payload) -> Self {
        Self(Rc::new(SharedState {
            payload: RefCell::new(payload),
            read: Cell::new(0),
            budget: Cell::new(u64::MAX),
            memory: RefCell::new(None),
            memory_exhausted: Cell::new(false),
        }))
    }

    /// Charges the bytes read from now on to `budget`; reading fails once
    /// the budget has no room for them (see [`SharedPayload::memory_exhausted`]).
    pub fn charge_to(self, budget: &UploadMemory) -> Self {
        *self.0.memory.borrow_mut() = Some(MemoryCharge { budget: budget.clone(), held: None, kib: 0 });
        self
    }

    /// Gives back what this request charged to the server's memory budget.
    pub fn release_memory(&self) {
        self.0.memory.borrow_mut().take();
    }

    /// Whether reading stopped because the server's memory budget was used up.
    pub fn memory_exhausted(&self) -> bool {
        self.0.memory_exhausted.get()
    }

    /// Charges everything read so far; false when the budget has no room.
    fn charge(&self) -> bool {
        let mut memory = self.0.memory.borrow_mut();
        let Some(charge) = memory.as_mut() else { return true };
        let needed = self.0.read.get().div_ceil(1024);
        if needed <= charge.kib {
            return true;
        }
        let more = u32::try_from(needed - charge.kib).unwrap_or(u32::MAX);
        match charge.budget.kib.clone().try_acquire_many_owned(more) {
            Ok(permit) => {
                match charge.held.as_mut() {
                    Some(held) => held.merge(permit),
                    None => charge.held = Some(permit),
                }
                charge.kib += u64::from(more);
                true
            }
            Err(_) => {
                self.0.memory_exhausted.set(true);
                false
            }
        }
    }

    /// Bytes read from the client so far.
    pub fn bytes_read(&self) -> u64 {
        self.0.read.get()
    }

    pub(super) fn set_budget(&self, bytes: u64) {
        self.0.budget.set(bytes);
    }

    pub(super) fn over_budget(&self) -> bool {
        self.0.read.get() > self.0.budget.get()
    }
}

impl futures_util::Stream for SharedPayload {
    type Item = Result<web::Bytes, actix_web::error::PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.over_budget() {
            return Poll::Ready(Some(Err(actix_web::error::PayloadError::Overflow)));
        }
        if self.memory_exhausted() {
            return Poll::Ready(Some(Err(actix_web::error::PayloadError::Overflow)));
        }
        let polled = Pin::new(&mut *self.0.payload.borrow_mut()).poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled {
            self.0.read.set(self.0.read.get() + chunk.len() as u64);
            if self.over_budget() || !self.charge() {
                return Poll::Ready(Some(Err(actix_web::error::PayloadError::Overflow)));
            }
        }
        polled
    }
}
