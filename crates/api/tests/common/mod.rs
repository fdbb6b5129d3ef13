//! Shared test helpers: paths, throw-away databases (a SQLite file in a
//! temporary directory, or a uniquely named PostgreSQL database that is
//! dropped afterwards), and starting the real application on 127.0.0.1:0.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use ocr_api::server::{Application, Settings};
use ocr_api::service::Engines;
use ocr_api::store::Store;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// A file of the shared corpus (`$OCR_DATA_DIR`, else `../shared/data`
/// beside the repository); when the corpus is absent the test fails with
/// one sentence saying what to set.
pub fn data(path: &str) -> PathBuf {
    let dir = std::env::var_os("OCR_DATA_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("../shared/data"));
    assert!(dir.is_dir(), "the test corpus is not at {}: set OCR_DATA_DIR to the folder holding receipts/ and lines/ (default: ../shared/data beside the repository)", dir.display());
    dir.join(path)
}

/// The text of [`invoice_page`], line by line.
pub const INVOICE_TEXT: [&str; 2] = ["Invoice 2026-11 No. 4711", "Total due: EUR 42.00"];

/// A born-digital PDF page: the lines of [`INVOICE_TEXT`] as real text on a
/// white 1200 × 600 px page (written with a visible text layer, it is a
/// page whose text a PDF reader extracts without OCR).
pub fn invoice_page() -> ocr_pdf::PdfPage {
    let lines = INVOICE_TEXT
        .iter()
        .enumerate()
        .map(|(row, line)| ocr_pdf::TextLine {
            words: line
                .split(' ')
                .enumerate()
                .map(|(i, w)| ocr_pdf::TextWord {
                    text: w.to_string(),
                    left: 60.0 + 250.0 * i as f32,
                    top: 100.0 + 120.0 * row as f32,
                    width: 200.0,
                    height: 60.0,
                })
                .collect(),
        })
        .collect();
    ocr_pdf::PdfPage { image: ocr_pdf::PageImage::gray(1200, 600, vec![255; 1200 * 600]).unwrap(), lines }
}

/// Receipts 505, 506 and 507 as one three-page grayscale TIFF (several seconds of OCR).
pub fn three_receipt_tiff() -> Vec<u8> {
    let mut tiff = std::io::Cursor::new(Vec::new());
    let mut encoder = tiff::encoder::TiffEncoder::new(&mut tiff).unwrap();
    for receipt in ["505", "506", "507"] {
        let jpeg = std::fs::read(data(&format!("receipts/{receipt}.jpg"))).unwrap();
        let page = ocr_engine::decode_image(&jpeg, &Default::default()).unwrap().remove(0);
        let gray: Vec<u8> = page.pixels().map(|p| p.0[1]).collect();
        encoder.write_image::<tiff::encoder::colortype::Gray8>(page.width(), page.height(), &gray).unwrap();
    }
    tiff.into_inner()
}

/// The models directory.
pub fn models_dir() -> PathBuf {
    std::env::var_os("OCR_MODELS_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("models"))
}

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on the local PostgreSQL server.
    Postgres,
}

/// The backend chosen by `OCR_TEST_BACKEND` (`sqlite`, the default, or `postgres`).
pub fn backend_from_env() -> Backend {
    match std::env::var("OCR_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// The maintenance URL of the local PostgreSQL server.
fn postgres_admin_url() -> String {
    std::env::var("OCR_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that exists for one test: its URL and data directory; both
/// are removed on drop.
pub struct TestDb {
    /// Connection URL.
    pub url: String,
    /// Data directory (SQLite file, PDFs).
    pub data_dir: PathBuf,
    postgres_name: Option<String>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl TestDb {
    /// Creates an empty database on `backend`.
    pub fn new(backend: Backend) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let unique = format!("{}_{}_{n}", std::process::id(), ocr_api::store::unix_now());
        let data_dir = std::env::temp_dir().join(format!("ocr-server-test-{unique}"));
        std::fs::create_dir_all(&data_dir).unwrap();
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}?mode=rwc", data_dir.join("ocr-server.db").display());
                Self { url, data_dir, postgres_name: None }
            }
            Backend::Postgres => {
                let name = format!("ocr_test_{unique}");
                admin_sql(&format!("CREATE DATABASE {name}"));
                let base = postgres_admin_url();
                let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
                Self { url, data_dir, postgres_name: Some(name) }
            }
        }
    }

    /// Server settings using this database: loopback URLs allowed, plans
    /// built lazily, the demo key on, generous burst and queue limits.
    pub fn settings(&self) -> Settings {
        Settings {
            bind: "127.0.0.1:0".parse().unwrap(),
            models_dir: models_dir(),
            data_dir: self.data_dir.clone(),
            database_url: self.url.clone(),
            demo_key: Some("helloworld".into()),
            burst: (1000, 1000),
            queue: 256,
            prepare_plans: false,
            // Loopback file servers listen on random ports: any port.
            fetch_policy: ocr_api::service::FetchPolicy { allow_loopback: true, ports: vec![], ..Default::default() },
            ..Settings::default()
        }
    }

    /// Opens the store (migrated) for direct inspection.
    pub fn store(&self) -> Store {
        block_on(Store::connect(&self.url, 2)).expect("store opens")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.postgres_name {
            admin_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn admin_sql(sql: &str) {
    use sqlx::Connection;
    block_on(async {
        let mut conn = sqlx::PgConnection::connect(&postgres_admin_url()).await.expect("PostgreSQL on 127.0.0.1:5432");
        sqlx::query(sql).execute(&mut conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    });
}

/// Runs a future to completion on the tests' one runtime (database pools
/// opened by the tests live on it, so it must outlive every test).
pub fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime"))
        .block_on(future)
}

/// Starts the application on its own thread; returns its base URL.
pub fn start(settings: Settings, engines: Option<Engines>) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = match engines {
                Some(engines) => Application::build_with_engines(&settings, engines).await,
                None => Application::build(&settings).await,
            }
            .expect("app builds");
            tx.send(app.port()).unwrap();
            app.run_until_stopped().await.unwrap();
        })
    });
    let port = rx.recv().expect("server started");
    format!("http://127.0.0.1:{port}")
}

/// A blocking HTTP client with a long timeout.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(300)).build().unwrap()
}

extern "C" {
    fn atexit(callback: extern "C" fn()) -> std::os::raw::c_int;
}

static KEPT: std::sync::Mutex<Vec<TestDb>> = std::sync::Mutex::new(Vec::new());

extern "C" fn drop_kept_databases() {
    if let Ok(mut kept) = KEPT.lock() {
        kept.clear();
    }
}

/// Keeps a database alive for the whole test process (a server shared by
/// several tests) and drops it when the process exits.
pub fn keep_until_exit(db: TestDb) {
    static REGISTER: std::sync::Once = std::sync::Once::new();
    // SAFETY: registers a plain function with the C runtime's exit handlers.
    REGISTER.call_once(|| unsafe {
        atexit(drop_kept_databases);
    });
    KEPT.lock().unwrap().push(db);
}
