//! What the OCR handlers (`/parse/image`, `/ocr`, `/kie`) share around the
//! document work: the early busy check, the key from the head or the form,
//! the body read within the caller's limits, the request's turn and
//! admission, and closing the connection of a refused request.

use actix_web::{HttpRequest, HttpResponse};

use super::auth::{key_from_head, Caller, InProgress};
use super::error::ApiError;
use super::input::{read_uploads, RawRequest};
use super::payload::SharedPayload;
use super::state::AppState;
use crate::service::{Admission, Stage};
use crate::store::unix_now;

/// Refuses at once when the worker pool is full, authenticates (header or
/// query key first, else the form field as soon as it arrives) and reads
/// the request, up to `max_files` uploads, within the caller's limits.
/// Returns the caller when its key came before the body's end.
pub(super) async fn receive(
    req: &HttpRequest,
    payload: SharedPayload,
    state: &AppState,
    max_files: usize,
) -> Result<(Option<Caller>, RawRequest), ApiError> {
    let gate = &state.gate;
    // Early admission: a full pool refuses before the key lookup and before
    // the body is read, so a refusal under overload costs an atomic load,
    // not a database query or an upload; `pool.run` re-checks.
    state.pool.check_room(Stage::BeforeBody)?;
    let mut caller = match key_from_head(req) {
        Some(secret) => Some(gate.authenticate(&secret).await?),
        None => None,
    };
    let limit = caller.as_ref().map_or(gate.hard_cap_bytes(), |c| gate.file_limit(c));
    let reading = read_uploads(req, payload, limit, state.field_limits, max_files, async |secret: &str| {
        if let Some(known) = &caller {
            return Ok(gate.file_limit(known));
        }
        let found = gate.authenticate(secret).await?;
        // A key sent as a form field: the same early check, before the file.
        state.pool.check_room(Stage::BeforeBody)?;
        let limit = gate.file_limit(&found);
        caller = Some(found);
        Ok(limit)
    });
    let raw = tokio::time::timeout(state.body_timeout, reading)
        .await
        .map_err(|_| ApiError::BodyTimeout(state.body_timeout.as_secs()))??;
    Ok((caller, raw))
}

/// Starts `caller`'s request (its key's concurrency limit) and admits it
/// (burst, per-IP and monthly limits). Not counted against the quota when
/// the pool filled during the upload. The turn ends when dropped.
pub(super) async fn admit(
    req: &HttpRequest,
    state: &AppState,
    caller: &Caller,
) -> Result<(InProgress, Admission), ApiError> {
    let gate = &state.gate;
    let turn = gate.enter(caller)?;
    state.pool.check_room(Stage::AfterBody)?;
    let admission = gate.admit(caller, gate.client_ip(req), unix_now()).await?;
    Ok((turn, admission))
}

/// A refused request's response. The body may be unread (a refused or
/// oversized upload): it is held until the response is out, so the
/// connection is closed instead of the rest of the upload being read and
/// thrown away.
pub(super) fn closing(held: SharedPayload, mut response: HttpResponse) -> HttpResponse {
    actix_web::rt::spawn(async move {
        actix_web::rt::time::sleep(std::time::Duration::from_secs(10)).await;
        drop(held);
    });
    response.head_mut().set_connection_type(actix_web::http::ConnectionType::Close);
    response
}

/// The scheme and host of the request's own URL, the base of links in its answer.
pub(super) fn request_base(req: &HttpRequest) -> String {
    let info = req.connection_info().clone();
    format!("{}://{}", info.scheme(), info.host())
}
