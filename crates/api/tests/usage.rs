//! Usage counting on PostgreSQL and SQLite: an admitted request reserves
//! quota, its answer settles it (counted with its pages and bytes), a
//! request never answered gives it back, and the reservation of one whose
//! instance died expires and is released by the sweep.

mod common;

use common::{block_on, Backend, TestDb};
use ocr_api::store::{Store, UsageRow};

const NOW: i64 = 1_800_000_000;

fn usage(store: &Store, key_id: &str) -> UsageRow {
    block_on(store.usage(Some(key_id))).unwrap().remove(0)
}

#[test]
fn a_reservation_holds_quota_until_it_is_settled_released_or_expired() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        let db = TestDb::new(backend);
        let store = db.store();
        let id = block_on(store.create_key("free", "usage")).unwrap().key.id;
        let reserve = || block_on(store.reserve_monthly_request(&id, 2, NOW, NOW + 100)).unwrap();
        let first = reserve().expect("room for the first");
        let second = reserve().expect("room for the second");
        assert_eq!(reserve(), None, "{backend:?}: two requests in flight fill a quota of two");
        let row = usage(&store, &id);
        assert_eq!((row.requests, row.reserved), (0, 2), "{backend:?}: in flight, not yet counted");

        block_on(store.settle_reservation(&first, 1, 10)).unwrap();
        let row = usage(&store, &id);
        assert_eq!((row.requests, row.reserved, row.pages, row.bytes), (1, 1, 1, 10), "{backend:?}");
        assert_eq!(reserve(), None, "{backend:?}: one answered and one in flight still fill it");

        block_on(store.release_reservation(&second)).unwrap();
        block_on(store.release_reservation(&second)).unwrap();
        let row = usage(&store, &id);
        assert_eq!((row.requests, row.reserved), (1, 0), "{backend:?}: released once, not counted");

        // An instance dies holding a reservation: it expires and is released.
        let lost = reserve().expect("room again");
        assert_eq!(block_on(store.release_expired_reservations(NOW + 100)).unwrap(), 0, "not yet expired");
        assert_eq!(reserve(), None);
        assert_eq!(block_on(store.release_expired_reservations(NOW + 101)).unwrap(), 1, "{backend:?}");
        assert_eq!(usage(&store, &id).reserved, 0);

        // An answer that comes after its reservation expired still counts, once.
        block_on(store.settle_reservation(&lost, 2, 5)).unwrap();
        let row = usage(&store, &id);
        assert_eq!((row.requests, row.reserved, row.pages, row.bytes), (2, 0, 3, 15), "{backend:?}");
        assert_eq!(reserve(), None, "{backend:?}: two answered fill the quota");

        // Unlimited (0): every request is admitted.
        let unlimited = block_on(store.reserve_monthly_request(&id, 0, NOW, NOW + 100)).unwrap();
        assert!(unlimited.is_some(), "{backend:?}");
    }
}
