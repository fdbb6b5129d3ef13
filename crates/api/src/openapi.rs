//! The OpenAPI 3.1 document served at `/openapi.json`. Every schema is
//! derived from the types the handlers parse and serialise
//! (`utoipa::ToSchema`/`IntoParams`), so the document follows the code; the
//! operations below only name each route, its inputs and its answers.

use actix_web::HttpResponse;
use serde::Deserialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi, ToSchema};

use crate::doctr::{
    DoctrParams, ErrorDetail, Geometry, KieDocument, KieField, KiePage, KieValue, Language, OcrBlock, OcrDocument,
    OcrLine, OcrPage, OcrWord, Orientation,
};
use crate::jobs::{JobAccepted, JobView};
use crate::ocrspace::response::{Coordinate, OcrSpaceResponse, OverlayLine, OverlayWord, ParsedResult, TextOverlay};
use crate::server::WebConfig;

/// The OCR.space parameters (`ocrspace-spec.md` §3), as form fields of
/// `POST /parse/image` and `POST /parse/imageurl` (names are matched
/// case-insensitively; booleans also take `1`/`0`).
#[derive(Debug, Deserialize, ToSchema)]
#[allow(non_snake_case, dead_code)]
pub struct OcrSpaceForm {
    /// The API key (or the `apikey` header).
    apikey: Option<String>,
    /// The file (JPEG, PNG, GIF, BMP, WebP, TIFF or PDF), as a multipart part with a file name.
    #[schema(value_type = Option<String>, format = Binary)]
    file: Option<Vec<u8>>,
    /// URL of the file to read (instead of `file`).
    url: Option<String>,
    /// The file as a `data:<mime>;base64,<data>` URI (instead of `file`).
    base64Image: Option<String>,
    /// Three-letter OCR.space language code (`eng`, `ger`, `chs`, … or `auto`).
    #[schema(default = "eng")]
    language: Option<String>,
    /// Include word boxes (`TextOverlay`).
    isOverlayRequired: Option<bool>,
    /// Override the detected file type: PDF, GIF, PNG, JPG, TIF, BMP or WEBP.
    filetype: Option<String>,
    /// Find and correct rotated pages.
    detectOrientation: Option<bool>,
    /// Also make a searchable PDF and return its link.
    isCreateSearchablePdf: Option<bool>,
    /// With `isCreateSearchablePdf`: the text layer is invisible.
    isSearchablePdfHideTextLayer: Option<bool>,
    /// Enlarge small images before reading.
    scale: Option<bool>,
    /// Keep table rows as single lines.
    isTable: Option<bool>,
    /// 1 (fast), 2 (accurate) or 3 (most accurate).
    #[schema(minimum = 1, maximum = 3)]
    OCREngine: Option<u8>,
}

/// `GET /parse/imageurl`: the parameters in the query string.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(non_snake_case, dead_code)]
pub struct OcrSpaceQuery {
    /// The API key (or the `apikey` header).
    apikey: Option<String>,
    /// URL of the file to read.
    url: Option<String>,
    /// Three-letter OCR.space language code.
    language: Option<String>,
    /// Include word boxes.
    isOverlayRequired: Option<bool>,
    /// Override the detected file type.
    filetype: Option<String>,
    /// Find and correct rotated pages.
    detectOrientation: Option<bool>,
    /// Also make a searchable PDF.
    isCreateSearchablePdf: Option<bool>,
    /// Hide the searchable PDF's text layer.
    isSearchablePdfHideTextLayer: Option<bool>,
    /// Enlarge small images.
    scale: Option<bool>,
    /// Keep table rows as single lines.
    isTable: Option<bool>,
    /// 1, 2 or 3.
    #[param(minimum = 1, maximum = 3)]
    OCREngine: Option<u8>,
}

/// `POST /jobs`: the OCR.space form fields plus the webhook's address.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(non_snake_case, dead_code)]
pub struct JobForm {
    /// Everything `POST /parse/image` takes.
    #[serde(flatten)]
    parse: OcrSpaceForm,
    /// Where the finished job is POSTed, signed (http or https, a public address).
    callbackUrl: Option<String>,
}

/// The multipart body of `POST /ocr` and `POST /kie`.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct DoctrUpload {
    /// One or more files (JPEG, PNG, GIF, BMP, WebP, TIFF, PDF: every page
    /// is read), at most 20, together within the key's file size limit.
    #[schema(content_media_type = "application/octet-stream")]
    files: Vec<Vec<u8>>,
}

/// A PDF file's bytes.
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct PdfFile(Vec<u8>);

/// `GET /health`.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` while the process serves.
    #[schema(example = "ok")]
    pub status: String,
}

/// `GET /ready`.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Readiness {
    /// `ready`, `building model plans` or `database unreachable`.
    pub status: String,
    /// The OCR.space engine numbers installed.
    pub engines: Vec<u8>,
}

/// The refusals every OCR.space operation shares.
#[derive(IntoResponses)]
#[allow(dead_code)]
enum OcrSpaceRefusals {
    /// Missing, unknown or revoked key, or a limit reached: the reason as a JSON string.
    #[response(status = 403, content_type = "application/json")]
    Forbidden(String),
    /// Server busy (the OCR queue is full) or the database unreachable.
    #[response(status = 503)]
    Busy(OcrSpaceResponse),
}

/// The errors `/ocr` and `/kie` share (FastAPI's `{"detail": …}`).
#[derive(IntoResponses)]
#[allow(dead_code)]
enum DoctrErrors {
    /// The body could not be read.
    #[response(status = 400)]
    BadBody(ErrorDetail),
    /// No API key, or an unknown one.
    #[response(status = 401)]
    NoKey(ErrorDetail),
    /// The key is revoked.
    #[response(status = 403)]
    Revoked(ErrorDetail),
    /// The body did not arrive in time.
    #[response(status = 408)]
    SlowBody(ErrorDetail),
    /// Files larger than the key's limit.
    #[response(status = 413)]
    TooLarge(ErrorDetail),
    /// Bad parameters, no file, an unreadable file or too many pages.
    #[response(status = 422)]
    Unprocessable(ErrorDetail),
    /// Rate limit, concurrency limit or monthly quota reached.
    #[response(status = 429)]
    Limited(ErrorDetail),
    /// Server busy.
    #[response(status = 503)]
    Busy(ErrorDetail),
    /// The OCR took longer than the server allows.
    #[response(status = 504)]
    TimedOut(ErrorDetail),
}

#[utoipa::path(
    post, path = "/parse/image", tag = "OCR.space",
    request_body(content(
        (OcrSpaceForm = "multipart/form-data"),
        (OcrSpaceForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The OCR result, or an error in OCR.space's envelope (`IsErroredOnProcessing`)", body = OcrSpaceResponse),
        OcrSpaceRefusals,
    ),
    security((), ("apikey" = []))
)]
#[allow(dead_code)]
fn parse_image() {}

#[utoipa::path(
    get, path = "/parse/imageurl", tag = "OCR.space", params(OcrSpaceQuery),
    responses(
        (status = 200, description = "The OCR result, or an error in OCR.space's envelope", body = OcrSpaceResponse),
        OcrSpaceRefusals,
    ),
    security((), ("apikey" = []))
)]
#[allow(dead_code)]
fn parse_image_url() {}

#[utoipa::path(
    post, path = "/parse/imageurl", tag = "OCR.space",
    request_body(content((OcrSpaceForm = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "The OCR result, or an error in OCR.space's envelope", body = OcrSpaceResponse),
        OcrSpaceRefusals,
    ),
    security((), ("apikey" = []))
)]
#[allow(dead_code)]
fn parse_image_url_post() {}

#[utoipa::path(
    post, path = "/ocr", tag = "docTR", params(DoctrParams),
    request_body(content = DoctrUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "One document per file: pages > blocks > lines > words", body = Vec<OcrDocument>),
        DoctrErrors,
    ),
    security(("apikey" = []))
)]
#[allow(dead_code)]
fn ocr() {}

#[utoipa::path(
    post, path = "/kie", tag = "docTR", params(DoctrParams),
    request_body(content = DoctrUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "One document per file, each page with its extracted fields", body = Vec<KieDocument>),
        DoctrErrors,
    ),
    security(("apikey" = []))
)]
#[allow(dead_code)]
fn kie() {}

#[utoipa::path(
    post, path = "/jobs", tag = "Async jobs",
    request_body(content(
        (JobForm = "multipart/form-data"),
        (JobForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 202, description = "Accepted: the job's id and where to poll it", body = JobAccepted),
        (status = 200, description = "Refused in OCR.space's envelope (bad parameter, input or callbackUrl)", body = OcrSpaceResponse),
        OcrSpaceRefusals,
    ),
    security((), ("apikey" = []))
)]
#[allow(dead_code)]
fn submit_job() {}

#[utoipa::path(
    get, path = "/jobs/{id}", tag = "Async jobs",
    params(("id" = String, Path, description = "The `JobId` `POST /jobs` answered")),
    responses(
        (status = 200, description = "The job's state and progress; its result once finished (or, for a refused key, OCR.space's error envelope)", body = JobView),
        (status = 404, description = "No such job for this key", body = OcrSpaceResponse),
        OcrSpaceRefusals,
    ),
    security(("apikey" = []))
)]
#[allow(dead_code)]
fn job_status() {}

#[utoipa::path(
    get, path = "/", tag = "Web page",
    responses((status = 200, description = "The web page: upload or URL, options, the text and every word's box drawn on the image (its scripts and styles are served under /app.js, /app.css, /doctr.js)", content_type = "text/html", body = String))
)]
#[allow(dead_code)]
fn web_page() {}

#[utoipa::path(
    get, path = "/docs", tag = "Web page",
    responses((status = 200, description = "This document, rendered for people", content_type = "text/html", body = String))
)]
#[allow(dead_code)]
fn web_docs() {}

#[utoipa::path(
    get, path = "/web/config.json", tag = "Web page",
    responses((status = 200, description = "What the web page offers on this server", body = WebConfig))
)]
#[allow(dead_code)]
fn web_config() {}

#[utoipa::path(
    get, path = "/pdf/{token}", tag = "PDF links",
    params(("token" = String, Path, description = "The signed token of a `SearchablePDFURL`")),
    responses(
        (status = 200, description = "The searchable PDF", content_type = "application/pdf", body = PdfFile),
        (status = 404, description = "No PDF under this link (bad signature, or deleted): the reason as a JSON string", body = String, content_type = "application/json"),
        (status = 410, description = "The link has expired: the reason as a JSON string", body = String, content_type = "application/json"),
    )
)]
#[allow(dead_code)]
fn pdf() {}

#[utoipa::path(get, path = "/health", tag = "Operations", responses((status = 200, description = "The process serves", body = Health)))]
#[allow(dead_code)]
fn health() {}

#[utoipa::path(
    get, path = "/ready", tag = "Operations",
    responses(
        (status = 200, description = "Models loaded and plans built; database reachable", body = Readiness),
        (status = 503, description = "Not ready yet (plans building) or database unreachable", body = Readiness),
    )
)]
#[allow(dead_code)]
fn ready() {}

#[utoipa::path(
    get, path = "/metrics", tag = "Operations",
    responses((status = 200, description = "Counters in the Prometheus text format", content_type = "text/plain", body = String))
)]
#[allow(dead_code)]
fn metrics() {}

#[utoipa::path(
    get, path = "/openapi.json", tag = "Operations",
    responses((status = 200, description = "This document", content_type = "application/json", body = serde_json::Value))
)]
#[allow(dead_code)]
fn openapi_json() {}

/// Adds the `apikey` security scheme (header; the query string and form
/// field work too).
struct KeyScheme;

impl Modify for KeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("apikey", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("apikey"))));
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "ocr-server",
        description = "Self-hosted OCR server: the OCR.space API (`/parse/image`, `/parse/imageurl`), asynchronous jobs (`/jobs`) and a docTR-style API (`/ocr`, `/kie`). See docs/api.md."
    ),
    paths(
        parse_image, parse_image_url, parse_image_url_post, ocr, kie, submit_job, job_status, pdf, health, ready,
        metrics, openapi_json, web_page, web_docs, web_config
    ),
    components(schemas(
        OcrSpaceResponse, ParsedResult, TextOverlay, OverlayLine, OverlayWord, Coordinate, OcrSpaceForm,
        OcrDocument, OcrPage, OcrBlock, OcrLine, OcrWord, Orientation, Language, Geometry, ErrorDetail,
        KieDocument, KiePage, KieField, KieValue, DoctrUpload, Health, Readiness, PdfFile, JobForm, JobAccepted,
        JobView, WebConfig
    )),
    modifiers(&KeyScheme)
)]
pub struct ApiDoc;

/// The document as JSON (built once).
pub fn document() -> &'static str {
    static JSON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    JSON.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = env!("CARGO_PKG_VERSION").to_string();
        doc.to_pretty_json().unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    })
}

/// `GET /openapi.json`.
pub fn serve() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented OCR.space form fields are exactly the parameters the
    /// parser accepts (less the undocumented OMR ones), plus `file`.
    #[test]
    fn documented_form_fields_are_the_parsers() {
        let doc: serde_json::Value = serde_json::from_str(document()).unwrap();
        let form = &doc["components"]["schemas"]["OcrSpaceForm"]["properties"];
        let mut documented: Vec<String> =
            form.as_object().unwrap().keys().map(|k| k.to_ascii_lowercase()).filter(|k| k != "file").collect();
        documented.sort();
        let undocumented = ["addressparsing", "detectcheckbox", "checkboxtemplate", "checkboxtemplateregex"];
        let mut accepted: Vec<String> = crate::ocrspace::params::VALID_PARAMETERS
            .iter()
            .filter(|p| !undocumented.contains(p))
            .map(|p| p.to_string())
            .collect();
        accepted.sort();
        assert_eq!(documented, accepted);
    }

    /// The documented defaults of /ocr's parameters are the parser's.
    #[test]
    fn documented_defaults_are_the_parsers() {
        let doc: serde_json::Value = serde_json::from_str(document()).unwrap();
        let defaults = serde_json::to_value(DoctrParams::default()).unwrap();
        let params = doc["paths"]["/ocr"]["post"]["parameters"].as_array().unwrap();
        assert_eq!(params.len(), defaults.as_object().unwrap().len());
        for p in params {
            let name = p["name"].as_str().unwrap();
            let documented = &p["schema"]["default"];
            let actual = &defaults[name];
            if actual.is_null() {
                assert!(documented.is_null(), "{name}");
            } else if let Some(v) = actual.as_f64() {
                assert!((documented.as_f64().unwrap() - v).abs() < 1e-6, "{name}: {documented} vs {actual}");
            } else {
                assert_eq!(documented, actual, "{name}");
            }
        }
    }
}
