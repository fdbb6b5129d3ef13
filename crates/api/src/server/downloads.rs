//! `GET /pdf/<token>.pdf`: a searchable PDF while its link is valid;
//! 404 for unknown or tampered tokens (and files already gone), 410 Gone
//! once the link has expired. The file is streamed from storage, never
//! read whole into memory.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use super::state::AppState;
use crate::pdflinks::TokenError;

/// Serves one stored PDF.
pub async fn download(req: &HttpRequest, state: &AppState) -> HttpResponse {
    let token = req.path().strip_prefix("/pdf/").and_then(|t| t.strip_suffix(".pdf")).unwrap_or("");
    match state.links.open(token).await {
        Ok(Some(pdf)) => HttpResponse::Ok()
            .content_type("application/pdf")
            .insert_header((header::CONTENT_DISPOSITION, "inline; filename=\"searchable.pdf\""))
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            // Streamed from storage in chunks, with its length announced.
            .no_chunking(pdf.len)
            .streaming(pdf.chunks),
        Ok(None) | Err(TokenError::Invalid) => {
            HttpResponse::NotFound().json("No searchable PDF is available under this link.")
        }
        Err(TokenError::Expired(_)) => HttpResponse::Gone().json("This searchable PDF link has expired."),
    }
}
