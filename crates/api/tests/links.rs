//! Searchable-PDF links across instances: several instances share one
//! PostgreSQL database and one storage directory; the sweepers delete every
//! expired file, whichever instance stored it, and each exactly once.

mod common;
#[path = "support/engines.rs"]
mod engines;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{block_on, start, Backend, TestDb};
use ocr_api::pdflinks::{LocalDirStorage, PdfLinks};
use ocr_api::server::Settings;
use ocr_api::store::Store;

/// Links over the shared database and storage, as one instance holds them.
async fn instance(db: &TestDb, lifetime: Duration) -> PdfLinks {
    let store = Store::connect(&db.url, 4).await.unwrap();
    let storage = LocalDirStorage::new(db.data_dir.join("pdf")).unwrap();
    PdfLinks::new(store, Arc::new(storage), lifetime, None, "").await.unwrap()
}

fn stored_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

async fn link_rows(db: &TestDb) -> i64 {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    sqlx::query_scalar("SELECT COUNT(*) FROM pdf_links").fetch_one(&pool).await.unwrap()
}

/// Two instances sweep at the same moment: together they delete each of the
/// 100 expired files once (files stored by either), and nothing is left;
/// on PostgreSQL and on SQLite.
#[test]
fn concurrent_sweepers_delete_each_expired_pdf_once() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        sweep_twice_at_once(backend);
    }
}

fn sweep_twice_at_once(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = db.data_dir.join("pdf");
    block_on(async {
        let a = instance(&db, Duration::from_secs(1)).await;
        let b = instance(&db, Duration::from_secs(1)).await;
        for i in 0..100 {
            let who = if i % 5 < 3 { &b } else { &a };
            who.publish("key", 1, b"%PDF-1.7 test".to_vec(), "http://x").await.unwrap();
        }
        assert_eq!(stored_files(&dir), 100);
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let (removed_a, removed_b) = tokio::join!(a.sweep(), b.sweep());
        let (removed_a, removed_b) = (removed_a.unwrap(), removed_b.unwrap());
        println!("{backend:?} sweepers: instance A deleted {removed_a}, instance B {removed_b}");
        assert_eq!(removed_a + removed_b, 100, "each file deleted once");
        assert_eq!((stored_files(&dir), link_rows(&db).await), (0, 0));
        assert_eq!(a.sweep().await.unwrap(), 0);
    });
}

/// Two running app instances (sweeping every second) on one database and
/// one data directory remove PDFs that a third instance stored.
#[test]
fn running_instances_sweep_files_another_instance_stored() {
    let db = TestDb::new(Backend::Postgres);
    let settings = Settings { pdf_sweep_interval: Duration::from_secs(1), ..db.settings() };
    let _first = start(settings.clone(), Some(engines::no_engines()));
    let _second = start(settings, Some(engines::no_engines()));
    let dir = db.data_dir.join("pdf");
    block_on(async {
        let third = instance(&db, Duration::from_secs(1)).await;
        for _ in 0..20 {
            third.publish("key", 1, b"%PDF-1.7 test".to_vec(), "http://x").await.unwrap();
        }
    });
    assert_eq!(stored_files(&dir), 20);
    let started = Instant::now();
    while stored_files(&dir) > 0 {
        assert!(started.elapsed() < Duration::from_secs(15), "{} files left", stored_files(&dir));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(block_on(link_rows(&db)), 0);
    println!("20 files stored elsewhere swept in {:?}", started.elapsed());
}
