//! Searchable PDFs behind expiring links: the file goes to [`PdfStorage`],
//! its record to the database, and the client gets
//! `<public base URL>/pdf/<token>.pdf`, where the token carries the file id
//! and expiry under an HMAC signature. A sweeper deletes expired files.

mod s3;
mod storage;
mod token;

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use s3::{S3Credentials, S3Settings, S3Storage};
pub use storage::{create_private_dir, create_private_file, LocalDirStorage, PdfStorage, StoredFile};
pub use token::{TokenError, TokenSigner};

use crate::store::{random_bytes, unix_now, PdfLink, Store, StoreError};

/// Why storing, opening or sweeping searchable PDFs failed (the HTTP edge
/// reports it as an internal error).
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The link records could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The storage (directory or bucket) could not be opened or written.
    #[error("{0}")]
    Storage(String),
}

/// Name of the shared signing secret in the database.
const SIGNING_SECRET: &str = "pdf-link-signing-key";

/// How long a sweeper holds the expired links it claimed: if it dies before
/// deleting them, another sweep takes them over after this.
const SWEEP_LEASE_SECS: i64 = 600;

/// Bytes read from storage per step while a download streams.
const DOWNLOAD_CHUNK: usize = 256 * 1024;

/// A stored PDF being served: its length and its content as a stream of
/// chunks read from storage on the blocking pool (never all in memory).
pub struct PdfDownload {
    /// Length in bytes.
    pub len: u64,
    /// The content.
    pub chunks: futures_util::stream::BoxStream<'static, Result<actix_web::web::Bytes, std::io::Error>>,
}

/// Opens the configured storage: the S3 bucket of `s3` (its client
/// started and the bucket checked), else the directory `local_dir`.
pub async fn open_storage(s3: Option<S3Settings>, local_dir: PathBuf) -> Result<Arc<dyn PdfStorage>, LinkError> {
    let opened = actix_web::rt::task::spawn_blocking(move || -> Result<Arc<dyn PdfStorage>, String> {
        match s3 {
            Some(settings) => {
                let bucket = settings.bucket.clone();
                let storage = S3Storage::new(settings).map_err(|e| format!("S3 PDF storage: {e}"))?;
                storage.check().map_err(|e| format!("S3 PDF storage (bucket {bucket}): {e}"))?;
                Ok(Arc::new(storage))
            }
            None => match LocalDirStorage::new(local_dir.clone()) {
                Ok(storage) => Ok(Arc::new(storage)),
                Err(e) => Err(format!("cannot create PDF storage in {}: {e}", local_dir.display())),
            },
        }
    })
    .await
    .map_err(|e| LinkError::Storage(format!("opening PDF storage failed: {e}")))?;
    opened.map_err(LinkError::Storage)
}

/// Issues, checks and expires searchable-PDF links.
#[derive(Clone)]
pub struct PdfLinks {
    signer: TokenSigner,
    storage: Arc<dyn PdfStorage>,
    store: Store,
    lifetime: Duration,
    public_base_url: Option<String>,
}

impl PdfLinks {
    /// Links over `storage`, lasting `lifetime`, under `public_base_url`
    /// (`None`: the base URL the request came in on). The signing key is
    /// `secret` when configured, else one shared through the database.
    pub async fn new(
        store: Store,
        storage: Arc<dyn PdfStorage>,
        lifetime: Duration,
        public_base_url: Option<String>,
        secret: &str,
    ) -> Result<Self, LinkError> {
        let secret = if secret.is_empty() { store.shared_secret(SIGNING_SECRET).await? } else { secret.to_string() };
        Ok(Self {
            signer: TokenSigner::new(secret.as_bytes()),
            storage,
            store,
            lifetime,
            public_base_url: public_base_url.map(|u| u.trim_end_matches('/').to_string()).filter(|u| !u.is_empty()),
        })
    }

    /// Stores `pdf` for `key_id` and returns its download URL; `request_base`
    /// (scheme://host of the request) is used when no public base URL is set.
    pub async fn publish(
        &self,
        key_id: &str,
        pages: usize,
        pdf: Vec<u8>,
        request_base: &str,
    ) -> Result<String, LinkError> {
        let id: String = random_bytes::<16>()?.iter().map(|b| format!("{b:02x}")).collect();
        let now = unix_now();
        let link = PdfLink {
            id: id.clone(),
            key_id: key_id.to_string(),
            bytes: pdf.len() as i64,
            pages: pages as i64,
            created_at: now,
            expires_at: now + self.lifetime.as_secs().max(1) as i64,
        };
        // The record first: whatever becomes of the write (a crash, a
        // timeout after the store kept the object), the record expires and
        // the sweeper deletes the file if it exists, so none is orphaned.
        self.store.insert_pdf_link(&link).await?;
        let storage = self.storage.clone();
        let file_id = id.clone();
        actix_web::rt::task::spawn_blocking(move || storage.put(&file_id, &pdf))
            .await
            .map_err(|e| LinkError::Storage(format!("storing the PDF failed: {e}")))?
            .map_err(|e| LinkError::Storage(format!("storing the PDF failed: {e}")))?;
        let base = self.public_base_url.as_deref().unwrap_or(request_base);
        Ok(format!("{base}/pdf/{}.pdf", self.signer.sign(&id, link.expires_at)))
    }

    /// The file behind a token: `Ok(Some)` while valid, `Ok(None)` when the
    /// token is genuine and unexpired but the file is gone.
    pub async fn open(&self, token: &str) -> Result<Option<PdfDownload>, TokenError> {
        use futures_util::StreamExt;
        let id = self.signer.verify(token, unix_now())?;
        let storage = self.storage.clone();
        let file = match actix_web::rt::task::spawn_blocking(move || storage.open(&id)).await {
            Ok(Ok(Some(file))) => file,
            Ok(Ok(None)) => return Ok(None),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "opening a stored PDF failed");
                return Ok(None);
            }
            Err(_) => return Ok(None),
        };
        let chunks = futures_util::stream::unfold(Some(file.reader), |reader| async move {
            let mut reader = reader?;
            let step = actix_web::rt::task::spawn_blocking(move || {
                let mut buf = vec![0u8; DOWNLOAD_CHUNK];
                let n = reader.read(&mut buf)?;
                buf.truncate(n);
                Ok::<_, std::io::Error>((reader, buf))
            })
            .await
            .map_err(std::io::Error::other);
            match step {
                Ok(Ok((_, buf))) if buf.is_empty() => None,
                Ok(Ok((reader, buf))) => Some((Ok(actix_web::web::Bytes::from(buf)), Some(reader))),
                Ok(Err(e)) | Err(e) => Some((Err(e), None)),
            }
        })
        .boxed();
        Ok(Some(PdfDownload { len: file.len, chunks }))
    }

    /// Deletes every expired file and its record; returns how many this call
    /// deleted. Links come from the shared database, so files any instance
    /// stored in a shared storage are found. Each expired link is claimed by
    /// one sweeper at a time (several instances never delete the same file
    /// twice); a file that cannot be deleted now is retried after the claim
    /// lapses. Files left half-written by a crash are deleted too, once
    /// older than the claim lease (a write takes milliseconds).
    pub async fn sweep(&self) -> Result<usize, LinkError> {
        let storage = self.storage.clone();
        let stale = Duration::from_secs(SWEEP_LEASE_SECS as u64);
        match actix_web::rt::task::spawn_blocking(move || storage.remove_stale_partials(stale)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(removed = n, "partial PDFs of interrupted writes deleted"),
            Ok(Err(e)) => tracing::warn!(error = %e, "deleting partial PDFs failed"),
            Err(e) => tracing::warn!(error = %e, "deleting partial PDFs failed"),
        }
        let mut removed = 0;
        loop {
            let now = unix_now();
            let claimed = self.store.claim_expired_pdf_links(now, now + SWEEP_LEASE_SECS, 500).await?;
            if claimed.is_empty() {
                return Ok(removed);
            }
            for id in claimed {
                let storage = self.storage.clone();
                let file_id = id.clone();
                let deleted = actix_web::rt::task::spawn_blocking(move || storage.delete(&file_id)).await;
                if let Ok(Err(e)) | Err(e) = deleted.map_err(std::io::Error::other) {
                    // Keep the record: the claim lapses and a later sweep retries.
                    tracing::warn!(error = %e, id, "deleting an expired PDF failed");
                    continue;
                }
                self.store.delete_pdf_link(&id).await?;
                removed += 1;
            }
        }
    }

    /// Runs [`PdfLinks::sweep`] every `interval` on the current runtime.
    pub fn spawn_sweeper(&self, interval: Duration) {
        let links = self.clone();
        actix_web::rt::spawn(async move {
            loop {
                actix_web::rt::time::sleep(interval).await;
                match links.sweep().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(removed = n, "expired searchable PDFs deleted"),
                    Err(e) => tracing::warn!(error = %e, "PDF sweep failed"),
                }
            }
        });
    }
}
