//! Where searchable PDFs are kept until their links expire. A trait, so an
//! S3-compatible object store can replace the local directory when several
//! instances serve one user base.

use std::io;
use std::path::PathBuf;

/// Blocking file storage keyed by hex ids (call from a blocking thread).
pub trait PdfStorage: Send + Sync {
    /// Stores `bytes` under `id`, replacing nothing (ids are random).
    fn put(&self, id: &str, bytes: &[u8]) -> io::Result<()>;
    /// The bytes under `id`, or `None` when absent.
    fn get(&self, id: &str) -> io::Result<Option<Vec<u8>>>;
    /// Deletes `id` (absent is fine).
    fn delete(&self, id: &str) -> io::Result<()>;
}

/// PDFs as files `<dir>/<id>.pdf`, written atomically (temporary file, then rename).
#[derive(Debug, Clone)]
pub struct LocalDirStorage {
    dir: PathBuf,
}

impl LocalDirStorage {
    /// Storage in `dir` (created if missing).
    pub fn new(dir: PathBuf) -> io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    /// The path of `id`; ids are hex, so nothing can escape the directory.
    fn path(&self, id: &str) -> io::Result<PathBuf> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "storage ids are hex strings"));
        }
        Ok(self.dir.join(format!("{id}.pdf")))
    }
}

impl PdfStorage for LocalDirStorage {
    fn put(&self, id: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.path(id)?;
        let partial = path.with_extension("pdf.partial");
        std::fs::write(&partial, bytes)?;
        std::fs::rename(&partial, &path)
    }

    fn get(&self, id: &str) -> io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.path(id)?) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn delete(&self, id: &str) -> io::Result<()> {
        match std::fs::remove_file(self.path(id)?) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_round_trip_and_ids_cannot_escape() {
        let dir = std::env::temp_dir().join(format!("ocr-storage-test-{}", std::process::id()));
        let storage = LocalDirStorage::new(dir.clone()).unwrap();
        storage.put("abc123", b"%PDF-1.7").unwrap();
        assert_eq!(storage.get("abc123").unwrap().as_deref(), Some(&b"%PDF-1.7"[..]));
        storage.delete("abc123").unwrap();
        assert_eq!(storage.get("abc123").unwrap(), None);
        storage.delete("abc123").unwrap();
        assert!(storage.get("../secret").is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
