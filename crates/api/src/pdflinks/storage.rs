//! Where searchable PDFs are kept until their links expire. A trait, so an
//! S3-compatible object store can replace the local directory when several
//! instances serve one user base.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// A stored file opened for reading: its length and a reader over it.
pub struct StoredFile {
    /// Length in bytes.
    pub len: u64,
    /// The content, read in pieces (never all at once).
    pub reader: Box<dyn Read + Send>,
}

/// Blocking file storage keyed by hex ids (call from a blocking thread).
pub trait PdfStorage: Send + Sync {
    /// Stores `bytes` under `id`, replacing nothing (ids are random).
    fn put(&self, id: &str, bytes: &[u8]) -> io::Result<()>;
    /// The file under `id` opened for streaming, or `None` when absent.
    fn open(&self, id: &str) -> io::Result<Option<StoredFile>>;
    /// Deletes `id` (absent is fine).
    fn delete(&self, id: &str) -> io::Result<()>;
    /// Deletes what interrupted writes left behind (a crash between write
    /// and rename) once older than `age`; returns how many.
    fn remove_stale_partials(&self, _age: std::time::Duration) -> io::Result<usize> {
        Ok(0)
    }
}

/// PDFs as files `<dir>/<id>.pdf`, written atomically (temporary file,
/// then rename), readable by the server's user only (files 0600, the
/// directory 0700 when this creates it).
#[derive(Debug, Clone)]
pub struct LocalDirStorage {
    dir: PathBuf,
}

/// Creates `dir` and missing parents, each new one owner-only (0700).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Opens a new file for writing, owner-only (0600) from its creation.
pub fn create_private_file(path: &Path) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

impl LocalDirStorage {
    /// Storage in `dir` (created owner-only if missing).
    pub fn new(dir: PathBuf) -> io::Result<Self> {
        create_private_dir(&dir)?;
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
        let written = create_private_file(&partial).and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
        if let Err(e) = written.and_then(|()| std::fs::rename(&partial, &path)) {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
        Ok(())
    }

    fn open(&self, id: &str) -> io::Result<Option<StoredFile>> {
        match std::fs::File::open(self.path(id)?) {
            Ok(file) => Ok(Some(StoredFile { len: file.metadata()?.len(), reader: Box::new(file) })),
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

    fn remove_stale_partials(&self, age: std::time::Duration) -> io::Result<usize> {
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            if !entry.file_name().to_string_lossy().ends_with(".pdf.partial") {
                continue;
            }
            let modified = entry.metadata()?.modified()?;
            if modified.elapsed().is_ok_and(|elapsed| elapsed > age) {
                match std::fs::remove_file(entry.path()) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => removed += 1,
                }
            }
        }
        Ok(removed)
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
        let read = |id: &str| {
            storage.open(id).map(|f| {
                f.map(|mut f| {
                    let mut bytes = Vec::new();
                    f.reader.read_to_end(&mut bytes).unwrap();
                    assert_eq!(f.len, bytes.len() as u64);
                    bytes
                })
            })
        };
        assert_eq!(read("abc123").unwrap().as_deref(), Some(&b"%PDF-1.7"[..]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir.join("abc123.pdf")), 0o600);
            assert_eq!(mode(&dir), 0o700);
        }
        // A write cut short long ago is removed; one in progress is not.
        let old = dir.join("0a.pdf.partial");
        std::fs::write(&old, b"%PDF").unwrap();
        let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options().write(true).open(&old).unwrap().set_modified(an_hour_ago).unwrap();
        std::fs::write(dir.join("0b.pdf.partial"), b"%PDF").unwrap();
        assert_eq!(storage.remove_stale_partials(std::time::Duration::from_secs(600)).unwrap(), 1);
        assert!(!old.exists() && dir.join("0b.pdf.partial").exists());
        storage.delete("abc123").unwrap();
        assert_eq!(read("abc123").unwrap(), None);
        storage.delete("abc123").unwrap();
        assert!(storage.open("../secret").is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
