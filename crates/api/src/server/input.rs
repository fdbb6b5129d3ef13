//! Reading a request: text parameters from the query string, a urlencoded
//! body or multipart text fields; the upload from any multipart part that
//! carries a filename; all of it within the upload limit.

use actix_multipart::Multipart;
use actix_web::HttpRequest;
use futures_util::StreamExt;

use super::error::ApiError;
use super::payload::SharedPayload;
use crate::service::{quoted, ServiceError};

/// Everything a request sent, before interpretation.
#[derive(Debug, Default)]
pub struct RawRequest {
    /// `(name, value)` pairs in the order received (query first).
    pub fields: Vec<(String, String)>,
    /// The uploaded file, if any part had a filename.
    pub file: Option<Vec<u8>>,
    /// Every uploaded file, in order ([`read_uploads`] only; [`read_request`]
    /// moves its one file into `file`).
    pub uploads: Vec<Upload>,
}

/// One uploaded file of a multipart request.
#[derive(Debug, Default)]
pub struct Upload {
    /// The part's file name (as the client sent it).
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// How many text fields a request may send, and how long each may be.
/// Parameters are short; `base64Image` is the one exception, bounded by the
/// file limit instead (4/3 of it, as base64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldLimits {
    /// Text fields, the query string's included.
    pub max_fields: usize,
    /// Bytes of one field (name and value).
    pub max_field_bytes: usize,
}

impl Default for FieldLimits {
    fn default() -> Self {
        Self { max_fields: 32, max_field_bytes: 8192 }
    }
}

impl FieldLimits {
    /// Longest `base64Image` for a file limit of `file_bytes`: 4/3 of it,
    /// plus line breaks (MIME wraps at 76) and the `data:` header.
    pub fn base64_bytes(file_bytes: u64) -> u64 {
        let encoded = file_bytes.saturating_add(2) / 3 * 4;
        encoded.saturating_add(encoded / 38).saturating_add(1024)
    }

    /// Most bytes a whole body may have under a file limit of `file_bytes`:
    /// the file (or its base64), every other field at its longest, and
    /// room for multipart boundaries and part headers.
    pub fn body_bytes(&self, file_bytes: u64) -> u64 {
        let per_field = self.max_field_bytes as u64 + 1024;
        Self::base64_bytes(file_bytes).saturating_add(per_field.saturating_mul(self.max_fields as u64 + 2))
    }

    /// The limit for a text field called `name`.
    fn of(&self, name: &str, file_bytes: u64) -> u64 {
        if name.eq_ignore_ascii_case("base64image") {
            Self::base64_bytes(file_bytes)
        } else {
            self.max_field_bytes as u64
        }
    }
}

/// Reads query, body and headers of `req` within budgets, refusing as soon
/// as one is passed (never buffering more than a budget plus one chunk):
/// the upload within `max_bytes`, each text field within `limits` (the
/// number of fields too), the whole body within [`FieldLimits::body_bytes`].
/// A declared `Content-Length` over the body budget is refused unread.
///
/// A multipart `apikey` field is handed to `on_form_key` as soon as it
/// arrives; the upload limit it returns (the key's tier) applies to the
/// parts that follow. (Clients that send the key before the file, as the
/// vendor's examples and the PyPI client do, are held to their tier's limit
/// while streaming; otherwise the file is checked once the key is known.)
pub async fn read_request<F>(
    req: &HttpRequest,
    payload: SharedPayload,
    max_bytes: u64,
    limits: FieldLimits,
    on_form_key: F,
) -> Result<RawRequest, ApiError>
where
    F: AsyncFnMut(&str) -> Result<u64, ApiError>,
{
    let mut raw = read_uploads(req, payload, max_bytes, limits, 1, on_form_key).await?;
    raw.file = raw.uploads.pop().map(|upload| upload.bytes);
    Ok(raw)
}

/// As [`read_request`], taking up to `max_files` uploads (into
/// [`RawRequest::uploads`]) whose bytes together stay within `max_bytes`.
pub async fn read_uploads<F>(
    req: &HttpRequest,
    payload: SharedPayload,
    mut max_bytes: u64,
    limits: FieldLimits,
    max_files: usize,
    mut on_form_key: F,
) -> Result<RawRequest, ApiError>
where
    F: AsyncFnMut(&str) -> Result<u64, ApiError>,
{
    let mut raw = RawRequest { fields: parse_pairs(req.query_string().as_bytes())?, ..Default::default() };
    let mut counter = FieldCounter::new(limits);
    for (name, value) in &raw.fields {
        counter.check(name, (name.len() + value.len()) as u64, max_bytes)?;
    }
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    payload.set_budget(limits.body_bytes(max_bytes));
    if declared.is_some_and(|n| n > limits.body_bytes(max_bytes)) {
        return Err(ApiError::BodyTooLarge { limit_kb: limits.body_bytes(max_bytes) / 1024 });
    }
    let body_error = |payload: &SharedPayload, max_bytes: u64, e: String| {
        if payload.memory_exhausted() {
            ApiError::BusyUploads
        } else if payload.over_budget() {
            ApiError::BodyTooLarge { limit_kb: limits.body_bytes(max_bytes) / 1024 }
        } else {
            ApiError::BadRequest(e)
        }
    };
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::new(req.headers(), payload.clone());
        while let Some(field) = multipart.next().await {
            let mut field = field.map_err(|e| body_error(&payload, max_bytes, e.to_string()))?;
            let (name, filename) = match field.content_disposition() {
                Some(cd) => (cd.get_name().unwrap_or("").to_string(), cd.get_filename().map(str::to_string)),
                None => (String::new(), None),
            };
            if let Some(filename) = filename {
                if raw.uploads.len() >= max_files {
                    return Err(ApiError::BadRequest(match max_files {
                        1 => "only one file may be uploaded per request".into(),
                        n => format!("at most {n} files may be uploaded per request"),
                    }));
                }
                let earlier: u64 = raw.uploads.iter().map(|u| u.bytes.len() as u64).sum();
                let data = collect_limited(&mut field, max_bytes.saturating_sub(earlier))
                    .await
                    .map_err(|e| e.into_api_error(&payload, max_bytes, limits))?
                    .map_err(|_| ServiceError::FileTooLarge { limit_kb: max_bytes / 1024 })?;
                raw.uploads.push(Upload { name: quoted(&filename), bytes: data });
                continue;
            }
            let limit = counter.check(&name, name.len() as u64, max_bytes)?;
            let data = collect_limited(&mut field, limit.saturating_sub(name.len() as u64))
                .await
                .map_err(|e| e.into_api_error(&payload, max_bytes, limits))?
                .map_err(|_| ApiError::FieldTooLarge { name: quoted(&name), limit })?;
            let value = String::from_utf8(data)
                .map_err(|_| ApiError::BadRequest(format!("field '{}' is not UTF-8", quoted(&name))))?;
            if name.eq_ignore_ascii_case("apikey") {
                max_bytes = on_form_key(&value).await?;
                payload.set_budget(limits.body_bytes(max_bytes).max(payload.bytes_read()));
            }
            raw.fields.push((name, value));
        }
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        let mut scanner = FormScanner::new(counter, max_bytes);
        let mut body = Vec::new();
        let mut payload = payload.clone();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| body_error(&payload, max_bytes, e.to_string()))?;
            scanner.feed(&chunk)?;
            body.extend_from_slice(&chunk);
        }
        scanner.finish()?;
        raw.fields.extend(parse_pairs(&body)?);
    } else {
        // Other bodies (none for GET) carry nothing we read: a few bytes
        // are tolerated and ignored; more is an error, read no further.
        let mut payload = payload.clone();
        let unexpected = collect_limited(&mut payload, limits.max_field_bytes as u64)
            .await
            .map_err(|e| e.into_api_error(&payload, max_bytes, limits))?;
        if !matches!(unexpected, Ok(ref body) if body.is_empty() || content_type.is_empty()) {
            return Err(ApiError::BadRequest(format!("unsupported Content-Type '{}'", quoted(&content_type))));
        }
    }
    Ok(raw)
}

/// Counts text fields and gives each its byte limit.
struct FieldCounter {
    limits: FieldLimits,
    fields: usize,
    base64_seen: bool,
}

impl FieldCounter {
    fn new(limits: FieldLimits) -> Self {
        Self { limits, fields: 0, base64_seen: false }
    }

    /// Counts a field called `name` already `len` bytes long; returns its
    /// limit, or the error for one field too many (or too long).
    fn check(&mut self, name: &str, len: u64, file_bytes: u64) -> Result<u64, ApiError> {
        self.fields += 1;
        if self.fields > self.limits.max_fields {
            return Err(ApiError::TooManyFields(self.limits.max_fields));
        }
        let limit = self.limits.of(name, file_bytes);
        if name.eq_ignore_ascii_case("base64image") {
            if self.base64_seen {
                return Err(ApiError::BadRequest("only one base64Image may be sent per request".into()));
            }
            self.base64_seen = true;
        }
        if len > limit {
            return Err(ApiError::FieldTooLarge { name: quoted(name), limit });
        }
        Ok(limit)
    }
}

/// Checks a urlencoded body's fields while it streams in, so an oversized
/// field or one field too many is refused before the rest is read.
struct FormScanner {
    counter: FieldCounter,
    file_bytes: u64,
    /// The current pair's name bytes (up to the `=`; capped).
    name: Vec<u8>,
    name_done: bool,
    /// The current pair's length so far.
    len: u64,
    limit: Option<u64>,
}

impl FormScanner {
    fn new(counter: FieldCounter, file_bytes: u64) -> Self {
        Self { counter, file_bytes, name: Vec::new(), name_done: false, len: 0, limit: None }
    }

    fn feed(&mut self, chunk: &[u8]) -> Result<(), ApiError> {
        for piece in chunk.split_inclusive(|&b| b == b'&') {
            let ends = piece.last() == Some(&b'&');
            let piece = if ends { &piece[..piece.len() - 1] } else { piece };
            if !self.name_done {
                let cut = piece.iter().position(|&b| b == b'=');
                let take = &piece[..cut.unwrap_or(piece.len())];
                let room = (self.counter.limits.max_field_bytes + 1).saturating_sub(self.name.len());
                self.name.extend_from_slice(&take[..take.len().min(room)]);
                if cut.is_some() {
                    self.name_done = true;
                }
            }
            self.len += piece.len() as u64;
            if self.limit.is_none() && (self.name_done || ends) {
                let name = self.decoded_name();
                self.limit = Some(self.counter.check(&name, 0, self.file_bytes)?);
            }
            let limit = self.limit.unwrap_or(self.counter.limits.max_field_bytes as u64);
            if self.len > limit {
                return Err(ApiError::FieldTooLarge { name: quoted(&self.decoded_name()), limit });
            }
            if ends {
                self.name.clear();
                self.name_done = false;
                self.len = 0;
                self.limit = None;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), ApiError> {
        if self.limit.is_none() && !self.name.is_empty() {
            let name = self.decoded_name();
            self.counter.check(&name, self.len, self.file_bytes)?;
        }
        Ok(())
    }

    fn decoded_name(&self) -> String {
        let mut pair = self.name.clone();
        pair.push(b'=');
        parse_pairs(&pair).ok().and_then(|p| p.into_iter().next()).map(|(n, _)| n).unwrap_or_default()
    }
}

/// Why [`collect_limited`] stopped: the stream failed.
struct StreamFailed(String);

impl StreamFailed {
    fn into_api_error(self, payload: &SharedPayload, max_bytes: u64, limits: FieldLimits) -> ApiError {
        if payload.memory_exhausted() {
            ApiError::BusyUploads
        } else if payload.over_budget() {
            ApiError::BodyTooLarge { limit_kb: limits.body_bytes(max_bytes) / 1024 }
        } else {
            ApiError::BadRequest(self.0)
        }
    }
}

/// Reads a body or multipart part into memory, stopping as soon as it
/// passes `limit` bytes (`Ok(Err(()))`: so at most `limit` + one chunk is
/// ever held); `Err` when the stream itself fails.
async fn collect_limited<S, E>(stream: &mut S, limit: u64) -> Result<Result<Vec<u8>, ()>, StreamFailed>
where
    S: futures_util::Stream<Item = Result<actix_web::web::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut data = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| StreamFailed(e.to_string()))?;
        if data.len() as u64 + chunk.len() as u64 > limit {
            return Ok(Err(()));
        }
        data.extend_from_slice(&chunk);
    }
    Ok(Ok(data))
}

fn parse_pairs(bytes: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes).map_err(|e| ApiError::BadRequest(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::web;

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
        let result = actix_web::rt::System::new().block_on(collect_limited(&mut chunks, limit));
        assert!(matches!(result, Ok(Err(()))));
        assert_eq!(pulled.load(Ordering::SeqCst), 11);
        let exact =
            futures_util::stream::iter((0..10).map(|_| Ok::<_, std::io::Error>(web::Bytes::from(vec![0u8; 1024]))));
        let mut exact = Box::pin(exact);
        assert_eq!(
            actix_web::rt::System::new().block_on(collect_limited(&mut exact, limit)).ok().unwrap().unwrap().len(),
            limit as usize
        );
    }

    fn scan(body: &[u8], chunk: usize) -> Result<(), ApiError> {
        let limits = FieldLimits { max_fields: 4, max_field_bytes: 16 };
        let mut counter = FieldCounter::new(limits);
        counter.check("apikey", 10, 300).unwrap();
        let mut scanner = FormScanner::new(counter, 300);
        for piece in body.chunks(chunk) {
            scanner.feed(piece)?;
        }
        scanner.finish()
    }

    #[test]
    fn urlencoded_fields_are_counted_and_bounded_while_streaming() {
        for chunk in [1, 3, 1000] {
            assert!(scan(b"language=eng&OCREngine=2", chunk).is_ok());
            assert!(scan(b"a=1&b=2&c=3", chunk).is_ok(), "4 fields with the query's");
            assert!(matches!(scan(b"a=1&b=2&c=3&d=4", chunk), Err(ApiError::TooManyFields(4))));
            let long = scan(b"language=engengengengengengengeng", chunk);
            assert!(
                matches!(&long, Err(ApiError::FieldTooLarge { name, limit: 16 }) if name == "language"),
                "{long:?}"
            );
            // A name with no end is bounded too.
            let endless = vec![b'x'; 100];
            assert!(matches!(scan(&endless, chunk), Err(ApiError::FieldTooLarge { limit: 16, .. })));
            // base64Image (any case, even percent-encoded) may be as long as the file limit allows.
            let mut b64 = b"base64%49mage=data:image/png;base64,".to_vec();
            b64.extend(vec![b'A'; 400]);
            assert!(scan(&b64, chunk).is_ok(), "chunk {chunk}");
            b64.extend(vec![b'A'; 1100]);
            assert!(matches!(scan(&b64, chunk), Err(ApiError::FieldTooLarge { .. })));
        }
    }

    #[test]
    fn body_budgets_follow_the_file_limit() {
        let limits = FieldLimits::default();
        assert!(FieldLimits::base64_bytes(3 * 1024) >= 4 * 1024);
        assert!(FieldLimits::base64_bytes(1 << 20) < (1 << 20) * 14 / 10);
        let body = limits.body_bytes(1 << 20);
        assert!(body > FieldLimits::base64_bytes(1 << 20) && body < (1 << 20) * 2, "{body}");
    }
}
