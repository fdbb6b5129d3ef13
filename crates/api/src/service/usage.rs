//! Usage recording: an admitted request's hold on its key's monthly quota
//! ([`Admission`], taken by `crate::server::Gatekeeper::admit`) is settled
//! with the work its answer cost; a job's work is recorded when it is read.

use crate::store::{unix_now, Reservation, Store};

/// The work an answer cost: pages read and input bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// Pages read (OCR'd or taken from a born-digital PDF).
    pub pages: usize,
    /// Bytes of the inputs.
    pub input_bytes: usize,
}

/// An admitted request's hold on its key's monthly quota. [`Admission::settle`]
/// counts the answered request; dropped unsettled (the client went away),
/// it gives the quota back in the background; lost in a crash, it expires.
pub struct Admission {
    store: Store,
    reservation: Option<Reservation>,
}

impl Admission {
    /// The hold `reservation` gives on `store`'s quota.
    pub fn new(store: Store, reservation: Reservation) -> Self {
        Self { store, reservation: Some(reservation) }
    }

    /// Counts the answered request with the work it did (every answer
    /// counts, errors too: with no work). A failed write is logged: the
    /// answer must not be lost for a statistic.
    pub async fn settle(mut self, work: Work) {
        let Some(reservation) = self.reservation.take() else { return };
        let (pages, bytes) = (work.pages as i64, work.input_bytes as i64);
        if let Err(e) = self.store.settle_reservation(&reservation, pages, bytes).await {
            tracing::error!(error = %e, key = %reservation.key_id, "recording usage failed");
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let Some(reservation) = self.reservation.take() else { return };
        // Without a runtime (shutting down) the sweep releases it on expiry.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let store = self.store.clone();
            runtime.spawn(async move {
                if let Err(e) = store.release_reservation(&reservation).await {
                    tracing::warn!(error = %e, key = %reservation.key_id, "releasing a reservation failed");
                }
            });
        }
    }
}

/// Records the work of a job read for key `key_id` (the job's request was
/// counted when it was accepted). A failed write is logged.
pub async fn record_work(store: &Store, key_id: &str, work: Work) {
    let (pages, bytes) = (work.pages as i64, work.input_bytes as i64);
    if let Err(e) = store.record_work(key_id, pages, bytes, unix_now()).await {
        tracing::error!(error = %e, key = %key_id, "recording usage failed");
    }
}
