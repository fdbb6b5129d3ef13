//! A document's input before it is read: `base64Image` decoding, the
//! file-type check, page counting and the caller's limits; CPU-bound steps
//! run on the blocking thread pool, never on the async executor.

use std::sync::Arc;

use base64::Engine as _;
use ocr_engine::decode::{count_pages, ImageKind};

use super::error::ServiceError;
use crate::ocrspace::params::FileType;

/// An input that passed its checks: its bytes, its kind and its pages.
pub struct CheckedInput {
    /// The bytes (shared with the worker thread that reads them).
    pub bytes: Arc<Vec<u8>>,
    /// Whether the bytes are a PDF.
    pub is_pdf: bool,
    /// Its pages (a PDF's pages, a TIFF's pages or a GIF's frames).
    pub pages: usize,
}

/// Checks `bytes` against the caller's limits: at most `file_limit` bytes,
/// an image or PDF (see [`input_is_pdf`]), at most `max_pages` pages.
pub async fn check_input(
    bytes: Vec<u8>,
    declared: Option<FileType>,
    file_limit: u64,
    max_pages: i64,
) -> Result<CheckedInput, ServiceError> {
    if bytes.len() as u64 > file_limit {
        return Err(ServiceError::FileTooLarge { limit_kb: file_limit / 1024 });
    }
    let is_pdf = input_is_pdf(&bytes, declared)?;
    let bytes = Arc::new(bytes);
    let counted = bytes.clone();
    let pages = off_executor(move || -> Result<usize, ServiceError> {
        Ok(if is_pdf { ocr_pdf::page_count(&counted)? } else { count_pages(&counted)? })
    })
    .await?;
    if pages as i64 > max_pages {
        return Err(ServiceError::PageLimit { pages, limit: max_pages });
    }
    Ok(CheckedInput { bytes, is_pdf, pages })
}

/// Whether the input is a PDF (its signature within the first KB, as
/// readers allow leading junk); otherwise it must be an image format we
/// read. `filetype` cannot turn an image into a PDF or unknown bytes into an image.
pub fn input_is_pdf(bytes: &[u8], declared: Option<FileType>) -> Result<bool, ServiceError> {
    let head = &bytes[..bytes.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        return Ok(true);
    }
    if ImageKind::sniff(bytes).is_some() {
        return Ok(false);
    }
    if declared == Some(FileType::Pdf) {
        return Err(ServiceError::Pdf(ocr_pdf::PdfError::Malformed("the file has no PDF header".into())));
    }
    Err(ServiceError::UnknownFileType {
        detected: crate::content::describe(bytes),
        declared: declared.map(|kind| format!("{kind:?}").to_ascii_uppercase()),
    })
}

/// Decodes a `base64Image` value: `data:<mime>;base64,<data>`. Spaces are
/// read as `+` (clients that forget to percent-encode `+` in form bodies).
pub fn decode_base64_image(value: &str) -> Result<Vec<u8>, ServiceError> {
    let rest = value.trim().strip_prefix("data:").ok_or(ServiceError::BadBase64)?;
    let (header, data) = rest.split_once(',').ok_or(ServiceError::BadBase64)?;
    if !header.to_ascii_lowercase().ends_with(";base64") {
        return Err(ServiceError::BadBase64);
    }
    let cleaned: String =
        data.chars().filter(|c| !matches!(c, '\r' | '\n')).map(|c| if c == ' ' { '+' } else { c }).collect();
    let bytes =
        base64::engine::general_purpose::STANDARD.decode(cleaned.trim_end()).map_err(|_| ServiceError::BadBase64)?;
    if bytes.is_empty() {
        return Err(ServiceError::BadBase64);
    }
    Ok(bytes)
}

/// Decodes a `base64Image` value on the blocking thread pool.
pub async fn decode_base64_off_executor(value: String) -> Result<Vec<u8>, ServiceError> {
    off_executor(move || decode_base64_image(&value)).await
}

/// A value as echoed in errors and logs: control characters escaped
/// (no newline can forge a log line), at most 64 characters.
pub fn quoted(value: &str) -> String {
    const MAX: usize = 64;
    let mut out = String::new();
    for (i, c) in value.chars().enumerate() {
        if i == MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs CPU-bound work (base64 decoding, page counting) on the blocking
/// thread pool, never on the async executor's threads.
async fn off_executor<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    actix_web::rt::task::spawn_blocking(work)
        .await
        .map_err(|e| ServiceError::Internal(format!("a blocking task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Base64 decoding and page counting run on the blocking pool, not on
    /// the thread that drives the request's future.
    #[test]
    fn cpu_work_runs_off_the_executor_thread() {
        actix_web::rt::System::new().block_on(async {
            let executor = std::thread::current().id();
            let worker = off_executor(|| Ok(std::thread::current().id())).await.unwrap();
            assert_ne!(executor, worker);
            let decoded = decode_base64_off_executor("data:image/png;base64,aGVsbG8=".into()).await.unwrap();
            assert_eq!(decoded, b"hello");
        });
    }

    #[test]
    fn base64_images_need_the_data_prefix() {
        assert_eq!(decode_base64_image("data:image/png;base64,aGVsbG8=").unwrap(), b"hello");
        assert_eq!(
            decode_base64_image("data:image/png;base64,a+8=").unwrap(),
            decode_base64_image("data:image/png;base64,a 8=").unwrap()
        );
        assert!(matches!(decode_base64_image("aGVsbG8="), Err(ServiceError::BadBase64)));
        assert!(matches!(decode_base64_image("data:image/png;base64,!!!"), Err(ServiceError::BadBase64)));
        assert!(matches!(decode_base64_image("data:image/png,aGVsbG8="), Err(ServiceError::BadBase64)));
    }

    #[test]
    fn echoed_values_are_escaped_and_truncated() {
        assert_eq!(quoted("eng"), "eng");
        assert_eq!(quoted("eng\nINFO forged line\r"), "eng\\nINFO forged line\\r");
        let long = quoted(&"x".repeat(1000));
        assert_eq!(long.chars().count(), 65);
        assert!(long.ends_with('…'));
    }
}
