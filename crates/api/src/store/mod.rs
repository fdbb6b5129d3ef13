//! The database: tiers, API keys and usage counters, in PostgreSQL
//! (production) or SQLite (the embedded default), through one code path
//! (sqlx's Any driver, `$n` placeholders, times as Unix seconds).

mod jobs;
mod keys;
mod links;
mod tiers;
mod usage;

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::AnyPool;

pub use jobs::{ClaimedJob, JobOutcome, JobState, JobStatus, NewJob, WebhookDelivery};
pub use keys::{ApiKey, NewKey};
pub use links::PdfLink;
pub use tiers::Tier;
pub use usage::{CountOutcome, Reservation, UsageRow};

/// Why a database operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or a query failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying the schema failed.
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A named row does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The data directory for the SQLite file could not be made.
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The system random number generator failed.
    #[error("random number generator failed")]
    Random,
}

/// Which database the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

/// A connection pool to the migrated database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects to `url` (`postgres://…` or `sqlite://…`), creating a SQLite
    /// file's directory if needed, and applies the schema migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres };
        if backend == Backend::Sqlite {
            create_sqlite_file(url)?;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(std::time::Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Writers wait for each other instead of failing with SQLITE_BUSY.
                        sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await?;
        }
        let store = Self { pool, backend };
        store.migrator().run(&store.pool).await?;
        Ok(store)
    }

    /// Writes the rows the configuration owns: the demo key (accepted when
    /// `demo_key` is given, disabled otherwise) and the enterprise tier's
    /// limits `(requests/month, max file KB, max pages)`.
    pub async fn sync_configured_rows(
        &self,
        demo_key: Option<&str>,
        (monthly, file_kb, pages): (i64, i64, i64),
    ) -> Result<(), StoreError> {
        match demo_key {
            Some(key) => self.sync_demo_key(key, true).await?,
            None => self.sync_demo_key("", false).await?,
        }
        self.set_tier_limits("enterprise", monthly, file_kb, pages).await
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks that the database answers (for `/ready`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The pool, for the query modules.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    fn migrator(&self) -> Migrator {
        let files: &[(i64, &str, &str)] = match self.backend {
            Backend::Postgres => &[
                (1, "keys tiers usage", include_str!("../../../../migrations/postgres/0001_keys_tiers_usage.sql")),
                (2, "pdf links", include_str!("../../../../migrations/postgres/0002_pdf_links.sql")),
                (3, "jobs", include_str!("../../../../migrations/postgres/0003_jobs.sql")),
                (4, "job retention", include_str!("../../../../migrations/postgres/0004_job_retention.sql")),
                (5, "job pages", include_str!("../../../../migrations/postgres/0005_job_pages.sql")),
                (6, "usage reservations", include_str!("../../../../migrations/postgres/0006_usage_reservations.sql")),
            ],
            Backend::Sqlite => &[
                (1, "keys tiers usage", include_str!("../../../../migrations/sqlite/0001_keys_tiers_usage.sql")),
                (2, "pdf links", include_str!("../../../../migrations/sqlite/0002_pdf_links.sql")),
                (3, "jobs", include_str!("../../../../migrations/sqlite/0003_jobs.sql")),
                (4, "job retention", include_str!("../../../../migrations/sqlite/0004_job_retention.sql")),
                (5, "job pages", include_str!("../../../../migrations/sqlite/0005_job_pages.sql")),
                (6, "usage reservations", include_str!("../../../../migrations/sqlite/0006_usage_reservations.sql")),
            ],
        };
        let migrations = files
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(version, Cow::Borrowed(description), MigrationType::Simple, Cow::Borrowed(sql), false)
            })
            .collect::<Vec<_>>();
        Migrator { migrations: Cow::Owned(migrations), ignore_missing: false, locking: true, no_tx: false }
    }
}

/// Creates a SQLite URL's directory (0700) and file (0600) when missing, so
/// neither is ever readable by other users (SQLite gives its -wal and -shm
/// files the database file's permissions).
fn create_sqlite_file(url: &str) -> Result<(), StoreError> {
    let Some(path) = sqlite_path(url) else { return Ok(()) };
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::pdflinks::create_private_dir(dir)
            .map_err(|source| StoreError::DataDir { path: dir.display().to_string(), source })?;
    }
    match crate::pdflinks::create_private_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            Err(StoreError::DataDir { path: path.display().to_string(), source: e })
        }
        _ => Ok(()),
    }
}

/// The file of a `sqlite://path?…` URL (`None` for in-memory databases).
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(std::path::PathBuf::from(path))
}

/// The directory of a `sqlite://path?…` URL's file.
#[cfg(test)]
fn sqlite_dir(url: &str) -> Option<std::path::PathBuf> {
    sqlite_path(url)?.parent().filter(|p| !p.as_os_str().is_empty()).map(|p| p.to_path_buf())
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// `(year, month, day)` of a Unix time, UTC (civil-from-days, proleptic Gregorian).
pub fn civil_date(unix: i64) -> (i64, u32, u32) {
    let days = unix.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The usage month of a Unix time: `YYYY-MM` (UTC).
pub fn month_of(unix: i64) -> String {
    let (y, m, _) = civil_date(unix);
    format!("{y:04}-{m:02}")
}

/// The day of a Unix time: `YYYY-MM-DD` (UTC).
pub fn day_of(unix: i64) -> String {
    let (y, m, d) = civil_date(unix);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Random bytes from the system generator.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], StoreError> {
    use ring::rand::SecureRandom;
    let mut buf = [0u8; N];
    ring::rand::SystemRandom::new().fill(&mut buf).map_err(|_| StoreError::Random)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_dates_are_utc_civil_dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(day_of(951_782_400), "2000-02-29");
        assert_eq!(month_of(1_795_000_000), "2026-11");
        assert_eq!(day_of(1_798_761_599), "2026-12-31");
        assert_eq!(day_of(1_798_761_600), "2027-01-01");
    }

    #[test]
    #[cfg(unix)]
    fn the_sqlite_file_and_its_directory_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("ocr-store-perm-{}", std::process::id())).join("data");
        let url = format!("sqlite://{}?mode=rwc", dir.join("ocr-server.db").display());
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        actix_web::rt::System::new().block_on(async {
            let store = Store::connect(&url, 1).await.unwrap();
            store.ping().await.unwrap();
            // While open (the -wal file is removed with the last connection).
            assert_eq!(mode(&dir.join("ocr-server.db-wal")), 0o600);
        });
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("ocr-server.db")), 0o600);
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn sqlite_urls_name_their_directory() {
        assert_eq!(sqlite_dir("sqlite://./data/x.db?mode=rwc"), Some("./data".into()));
        assert_eq!(sqlite_dir("sqlite::memory:"), None);
        assert_eq!(sqlite_dir("sqlite://x.db"), None);
    }
}
