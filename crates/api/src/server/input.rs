//! Reading a request: text parameters from the query string, a urlencoded
//! body or multipart text fields; the upload from any multipart part that
//! carries a filename; all of it within the upload limit.

use actix_multipart::Multipart;
use actix_web::{web, HttpRequest};
use base64::Engine as _;
use futures_util::StreamExt;
use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::error::ApiError;

/// Everything a request sent, before interpretation.
#[derive(Debug, Default)]
pub struct RawRequest {
    /// `(name, value)` pairs in the order received (query first).
    pub fields: Vec<(String, String)>,
    /// The uploaded file, if any part had a filename.
    pub file: Option<Vec<u8>>,
}

/// The request body, shared: the handler keeps one handle while the reader
/// consumes the other, so an upload refused half-way is not dropped before
/// the response is sent. (actix drains a dropped chunked body to the end,
/// however large; a body still held makes it close the connection instead.)
#[derive(Clone)]
pub struct SharedPayload(Rc<RefCell<web::Payload>>);

impl SharedPayload {
    /// Wraps a request body.
    pub fn new(payload: web::Payload) -> Self {
        Self(Rc::new(RefCell::new(payload)))
    }
}

impl futures_util::Stream for SharedPayload {
    type Item = Result<web::Bytes, actix_web::error::PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_next(cx)
    }
}

/// Reads query, body and headers of `req`, refusing uploads over `max_bytes`
/// while streaming (never buffering more than the limit plus one chunk).
///
/// A multipart `apikey` field is handed to `on_form_key` as soon as it
/// arrives; the upload limit it returns (the key's tier) applies to the
/// parts that follow. (Clients that send the key before the file, as the
/// vendor's examples and the PyPI client do, are held to their tier's limit
/// while streaming; otherwise the file is checked once the key is known.)
pub async fn read_request<F>(
    req: &HttpRequest,
    payload: SharedPayload,
    mut max_bytes: u64,
    mut on_form_key: F,
) -> Result<RawRequest, ApiError>
where
    F: AsyncFnMut(&str) -> Result<u64, ApiError>,
{
    let mut raw = RawRequest { fields: parse_pairs(req.query_string().as_bytes())?, ..Default::default() };
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    // Text fields may carry a base64 image: allow 4/3 of the file limit plus headroom.
    let text_limit_of = |max_bytes: u64| max_bytes.saturating_mul(4) / 3 + 64 * 1024;
    let text_limit = text_limit_of(max_bytes);
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::new(req.headers(), payload);
        while let Some(field) = multipart.next().await {
            let mut field = field.map_err(|e| ApiError::BadRequest(e.to_string()))?;
            let (name, filename) = match field.content_disposition() {
                Some(cd) => (cd.get_name().unwrap_or("").to_string(), cd.get_filename().map(str::to_string)),
                None => (String::new(), None),
            };
            let limit = if filename.is_some() { max_bytes } else { text_limit_of(max_bytes) };
            let data = collect_limited(&mut field, limit, max_bytes).await?;
            if filename.is_some() {
                raw.file = Some(data);
            } else {
                let value = String::from_utf8(data)
                    .map_err(|_| ApiError::BadRequest(format!("field '{name}' is not UTF-8")))?;
                if name.eq_ignore_ascii_case("apikey") {
                    max_bytes = on_form_key(&value).await?;
                }
                raw.fields.push((name, value));
            }
        }
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        let mut payload = payload;
        let body = collect_limited(&mut payload, text_limit, max_bytes).await?;
        raw.fields.extend(parse_pairs(&body)?);
    } else {
        // Other bodies (none for GET) carry nothing we read; drain within limits.
        let mut payload = payload;
        let body = collect_limited(&mut payload, text_limit, max_bytes).await?;
        if !body.is_empty() && !content_type.is_empty() {
            return Err(ApiError::BadRequest(format!("unsupported Content-Type '{content_type}'")));
        }
    }
    Ok(raw)
}

/// Reads a body or multipart part into memory, refusing it as soon as it
/// passes `limit` bytes (so at most `limit` + one chunk is ever held).
/// `max_bytes` is the file limit quoted in the error.
async fn collect_limited<S, E>(stream: &mut S, limit: u64, max_bytes: u64) -> Result<Vec<u8>, ApiError>
where
    S: futures_util::Stream<Item = Result<actix_web::web::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut data = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(e.to_string()))?;
        if data.len() as u64 + chunk.len() as u64 > limit {
            return Err(ApiError::FileTooLarge { limit_kb: max_bytes / 1024 });
        }
        data.extend_from_slice(&chunk);
    }
    Ok(data)
}

fn parse_pairs(bytes: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// Decodes a `base64Image` value: `data:<mime>;base64,<data>`. Spaces are
/// read as `+` (clients that forget to percent-encode `+` in form bodies).
pub fn decode_base64_image(value: &str) -> Result<Vec<u8>, ApiError> {
    let rest = value.trim().strip_prefix("data:").ok_or(ApiError::BadBase64)?;
    let (header, data) = rest.split_once(',').ok_or(ApiError::BadBase64)?;
    if !header.to_ascii_lowercase().ends_with(";base64") {
        return Err(ApiError::BadBase64);
    }
    let cleaned: String =
        data.chars().filter(|c| !matches!(c, '\r' | '\n')).map(|c| if c == ' ' { '+' } else { c }).collect();
    let bytes =
        base64::engine::general_purpose::STANDARD.decode(cleaned.trim_end()).map_err(|_| ApiError::BadBase64)?;
    if bytes.is_empty() {
        return Err(ApiError::BadBase64);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reader stops at the first chunk that passes the limit: at most
    /// the limit plus one chunk is ever pulled from the client.
    #[test]
    fn uploads_stop_one_chunk_past_the_limit() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let pulled = AtomicUsize::new(0);
        let chunks = futures_util::stream::iter((0..1000).map(|_| {
            pulled.fetch_add(1, Ordering::SeqCst);
            Ok::<_, std::io::Error>(web::Bytes::from(vec![0u8; 1024]))
        }));
        let mut chunks = Box::pin(chunks);
        let limit = 10 * 1024;
        let result = actix_web::rt::System::new().block_on(collect_limited(&mut chunks, limit, limit));
        assert!(matches!(result, Err(ApiError::FileTooLarge { limit_kb: 10 })), "{result:?}");
        assert_eq!(pulled.load(Ordering::SeqCst), 11);
        let exact =
            futures_util::stream::iter((0..10).map(|_| Ok::<_, std::io::Error>(web::Bytes::from(vec![0u8; 1024]))));
        let mut exact = Box::pin(exact);
        assert_eq!(
            actix_web::rt::System::new().block_on(collect_limited(&mut exact, limit, limit)).unwrap().len(),
            limit as usize
        );
    }

    #[test]
    fn base64_images_need_the_data_prefix() {
        assert_eq!(decode_base64_image("data:image/png;base64,aGVsbG8=").unwrap(), b"hello");
        assert_eq!(
            decode_base64_image("data:image/png;base64,a+8=").unwrap(),
            decode_base64_image("data:image/png;base64,a 8=").unwrap()
        );
        assert!(matches!(decode_base64_image("aGVsbG8="), Err(ApiError::BadBase64)));
        assert!(matches!(decode_base64_image("data:image/png;base64,!!!"), Err(ApiError::BadBase64)));
        assert!(matches!(decode_base64_image("data:image/png,aGVsbG8="), Err(ApiError::BadBase64)));
    }
}
