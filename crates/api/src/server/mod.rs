//! The HTTP server: an actix-web application speaking the OCR.space API.

mod auth;
mod doctr;
mod downloads;
mod error;
mod extract;
mod input;
mod parse;
mod payload;
mod site;
mod state;

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

pub use auth::{key_from_head, Caller, Gatekeeper};
pub use error::ApiError;
pub use input::{read_request, read_uploads, FieldLimits, RawRequest, Upload};
pub use payload::{SharedPayload, UploadMemory};
pub use site::WebConfig;
pub use state::AppState;

use crate::config::Config;
use crate::pdflinks::{open_storage, PdfLinks};
use crate::service::{accurate_engine, load_engines, Engines, FetchPolicy, OcrPool, PageCounters, ServiceError};
use crate::store::Store;

/// Server settings (built from [`Config`] by [`Settings::from_config`]).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub bind: SocketAddr,
    /// Directory holding the model files.
    pub models_dir: PathBuf,
    /// The model sets to load (`[[models.set]]`).
    pub model_sets: Vec<crate::config::ModelSetConfig>,
    /// Directory for the SQLite file and stored PDFs.
    pub data_dir: PathBuf,
    /// Database URL (`postgres://…` or `sqlite://…`).
    pub database_url: String,
    /// Database pool size.
    pub database_connections: u32,
    /// The demo key accepted on the free tier, when enabled.
    pub demo_key: Option<String>,
    /// Per-key burst limit: requests per second and bucket size.
    pub burst: (u32, u32),
    /// Requests one key may have in progress at once (0 = unlimited).
    pub max_concurrent_per_key: usize,
    /// Peers whose `X-Forwarded-For` is trusted.
    pub trusted_proxies: Vec<IpAddr>,
    /// The enterprise tier's limits: (monthly requests, file KB, pages).
    pub enterprise_limits: (i64, i64, i64),
    /// OCR jobs run at once (default: number of cores).
    pub workers: usize,
    /// OCR jobs allowed to wait for a worker before requests are refused.
    pub queue: usize,
    /// Longest time one request may spend in OCR.
    pub timeout: Duration,
    /// Hard cap on any upload in bytes (each tier has its own, lower, limit).
    pub max_upload_bytes: u64,
    /// How `url` inputs are fetched (loopback refused unless allowed).
    pub fetch_policy: FetchPolicy,
    /// Text fields one request may send, and the bytes of each.
    pub field_limits: FieldLimits,
    /// Time in-flight requests get to finish after SIGTERM.
    pub shutdown_timeout: Duration,
    /// Time a request's body may take to arrive.
    pub body_timeout: Duration,
    /// Bytes all request bodies in progress may hold together; beyond
    /// that, requests are refused as busy (503) while they upload.
    pub upload_memory_bytes: u64,
    /// Build every optimised model plan in the background at start-up, so
    /// requests never pay for it (`/ready` answers 200 once done).
    pub prepare_plans: bool,
    /// How long a refused upload is still read (and discarded) before the
    /// connection is closed, so the client can read the error.
    pub refused_upload_linger: Duration,
    /// Base URL for links in responses; `None`: the request's own.
    pub public_base_url: Option<String>,
    /// Lifetime of searchable-PDF links.
    pub pdf_link_lifetime: Duration,
    /// Time between sweeps for expired PDFs.
    pub pdf_sweep_interval: Duration,
    /// Asynchronous jobs and their webhooks.
    pub jobs: crate::jobs::JobSettings,
    /// Link-signing key (empty: shared through the database).
    pub pdf_link_secret: String,
    /// The S3 bucket keeping searchable PDFs; `None`: `<data_dir>/pdf`.
    pub pdf_s3: Option<crate::pdflinks::S3Settings>,
}

/// Page sizes whose detector plans are built at start-up: A4 and US Letter
/// at 300 dpi in both orientations, a 12 MP phone photo, a small screenshot.
const COMMON_PAGE_SIZES: [(u32, u32); 7] =
    [(2480, 3508), (3508, 2480), (2550, 3300), (3300, 2550), (3024, 4032), (4032, 3024), (1000, 1400)];

impl Settings {
    /// The settings a configuration describes.
    pub fn from_config(config: &Config) -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let workers = if config.server.workers == 0 { cores } else { config.server.workers };
        let models_dir = if config.models.dir.as_os_str().is_empty() {
            crate::engines::models_dir()
        } else {
            config.models.dir.clone()
        };
        Self {
            bind: config.server.bind,
            models_dir,
            model_sets: config.models.set.clone(),
            data_dir: config.storage.data_dir.clone(),
            database_url: config.database_url(),
            database_connections: config.database.max_connections,
            demo_key: config.demo_key(),
            burst: (config.auth.burst_per_second, config.auth.burst_size),
            max_concurrent_per_key: config.auth.max_concurrent_per_key,
            trusted_proxies: config.server.trusted_proxies.clone(),
            enterprise_limits: config.enterprise_limits(),
            workers,
            queue: if config.server.queue == 0 { 4 * workers } else { config.server.queue },
            timeout: Duration::from_secs(config.server.timeout_secs),
            max_upload_bytes: config.server.max_upload_kb * 1024,
            prepare_plans: config.server.prepare_plans,
            refused_upload_linger: Duration::from_millis(config.server.refused_upload_linger_ms),
            public_base_url: Some(config.server.public_base_url.trim().to_string()).filter(|u| !u.is_empty()),
            pdf_link_lifetime: Duration::from_secs(config.pdf.link_lifetime_secs),
            pdf_sweep_interval: Duration::from_secs(config.pdf.sweep_interval_secs.max(1)),
            jobs: crate::jobs::JobSettings {
                lease: Duration::from_secs(config.jobs.lease_secs.max(3)),
                max_attempts: i64::from(config.jobs.max_attempts.max(1)),
                timeout: Duration::from_secs(config.jobs.timeout_secs.max(1)),
                max_input_bytes: config.jobs.max_input_mb.saturating_mul(1 << 20),
                webhook_secret: config.jobs.webhook_secret.clone(),
                webhook_attempts: i64::from(config.jobs.webhook_attempts.max(1)),
                webhook_backoff: Duration::from_secs(config.jobs.webhook_backoff_secs.max(1)),
                retention: (config.jobs.retention_secs > 0).then(|| Duration::from_secs(config.jobs.retention_secs)),
                ..Default::default()
            },
            pdf_link_secret: config.pdf.link_secret.clone(),
            pdf_s3: (config.pdf.storage == crate::config::PdfStorageKind::S3).then(|| crate::pdflinks::S3Settings {
                bucket: config.pdf.s3_bucket.clone(),
                endpoint: config.pdf.s3_endpoint.clone(),
                region: config.pdf.s3_region.clone(),
                path_style: config.pdf.s3_path_style,
                prefix: config.pdf.s3_prefix.clone(),
                credentials: crate::pdflinks::S3Credentials::from_env(),
            }),
            fetch_policy: FetchPolicy {
                allow_loopback: config.server.allow_loopback_urls,
                ports: config.server.url_ports.clone(),
                ..FetchPolicy::default()
            },
            field_limits: FieldLimits {
                max_fields: config.server.max_fields,
                max_field_bytes: config.server.max_field_bytes,
            },
            shutdown_timeout: Duration::from_secs(config.server.shutdown_timeout_secs),
            body_timeout: Duration::from_secs(config.server.body_timeout_secs),
            upload_memory_bytes: match config.server.max_upload_memory_mb {
                0 => u64::MAX,
                mb => mb.saturating_mul(1 << 20),
            },
        }
    }
}

impl Default for Settings {
    /// The built-in configuration's settings.
    fn default() -> Self {
        Self::from_config(&Config::defaults())
    }
}

/// Connects to the database, applies migrations and syncs the
/// configuration-owned rows (demo key, enterprise limits).
pub async fn open_store(settings: &Settings) -> Result<Store, ApiError> {
    let store = Store::connect(&settings.database_url, settings.database_connections).await?;
    store.sync_configured_rows(settings.demo_key.as_deref(), settings.enterprise_limits).await?;
    Ok(store)
}

/// A built, not yet running, server.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Loads the engines, opens the database, binds the listener and builds the server.
    pub async fn build(settings: &Settings) -> Result<Self, ApiError> {
        let engines = load_engines(&settings.models_dir, &settings.model_sets)?;
        Self::build_with_engines(settings, engines).await
    }

    /// As [`Application::build`] with engines already loaded (several
    /// instances in one process share them).
    pub async fn build_with_engines(settings: &Settings, engines: Engines) -> Result<Self, ApiError> {
        let store = open_store(settings).await?;
        tracing::info!(backend = ?store.backend(), demo_key = settings.demo_key.is_some(), "database ready");
        let storage = open_storage(settings.pdf_s3.clone(), settings.data_dir.join("pdf")).await?;
        let links = PdfLinks::new(
            store.clone(),
            storage,
            settings.pdf_link_lifetime,
            settings.public_base_url.clone(),
            &settings.pdf_link_secret,
        )
        .await?;
        links.spawn_sweeper(settings.pdf_sweep_interval);
        let accurate = accurate_engine(&engines);
        let state = AppState {
            models: engines.clone(),
            accurate,
            links,
            counters: Arc::new(PageCounters::default()),
            pool: OcrPool::new(settings.workers, settings.queue, settings.timeout),
            gate: Gatekeeper::new(
                store,
                settings.burst.0,
                settings.burst.1,
                settings.trusted_proxies.clone(),
                settings.max_upload_bytes,
            )
            .with_concurrency_limit(settings.max_concurrent_per_key)
            // No request outlives its OCR time, a url fetch and a margin for
            // its upload to storage: a reservation older than that is lost.
            .with_reservation_lifetime(settings.timeout + settings.fetch_policy.timeout + Duration::from_secs(120)),
            plans_ready: Arc::new(AtomicBool::new(!settings.prepare_plans)),
            fetch_policy: settings.fetch_policy.clone(),
            field_limits: settings.field_limits,
            body_timeout: settings.body_timeout,
            upload_memory: UploadMemory::new(settings.upload_memory_bytes),
        };
        state.gate.spawn_reservation_sweeper(Duration::from_secs(60));
        if settings.prepare_plans {
            spawn_plan_builder(&state);
        }
        crate::jobs::spawn(state.clone(), settings.jobs.clone());
        let listener = TcpListener::bind(settings.bind)
            .map_err(|e| ServiceError::Internal(format!("bind {}: {e}", settings.bind)))?;
        let port = listener.local_addr().map_err(|e| ServiceError::Internal(e.to_string()))?.port();
        let data = web::Data::new(state);
        let site_config = web::Data::new(site::Site { demo_key: settings.demo_key.clone() });
        let jobs = web::Data::new(settings.jobs.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(site_config.clone())
                .app_data(jobs.clone())
                .configure(site::routes)
                .route("/health", web::get().to(health))
                .route("/ready", web::get().to(ready))
                .route("/metrics", web::get().to(metrics))
                .default_service(web::to(dispatch))
        })
        .client_disconnect_timeout(settings.refused_upload_linger)
        // A client that closes its connection ends its request, and the drop
        // cancels the request's OCR job (see `pool`), instead of the job running on.
        .h1_allow_half_closed(false)
        .shutdown_timeout(settings.shutdown_timeout.as_secs().max(1))
        .listen(listener)
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .run();
        Ok(Self { port, server })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the process is stopped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Builds every engine's plans in the background: those a default request
/// needs first (then the state is marked ready), the others after.
fn spawn_plan_builder(state: &AppState) {
    let models = &state.models;
    let extra = models.extra.iter().map(|e| (e.number, e.engine.clone()));
    let all = models.primary.iter().map(|(n, e)| (*n, e.clone())).chain(extra).collect();
    crate::engines::spawn_plan_builder(all, &COMMON_PAGE_SIZES, state.pool.stats().workers, state.plans_ready.clone());
}

/// Counters in the Prometheus text format.
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    use std::fmt::Write;
    let mut body = String::new();
    let counters = [
        ("ocr_pages_total", "Pages read by OCR.", state.counters.ocr_pages.load(Ordering::Relaxed)),
        (
            "pdf_text_pages_total",
            "Born-digital PDF pages returned from their own text, without OCR.",
            state.counters.text_pages.load(Ordering::Relaxed),
        ),
    ];
    let pool = state.pool.stats();
    let pool_metrics = [
        ("ocr_workers", "gauge", "OCR worker threads.", pool.workers as u64),
        ("ocr_workers_busy", "gauge", "OCR workers running a job now.", pool.busy as u64),
        ("ocr_jobs_queued", "gauge", "Admitted requests waiting for a worker.", pool.queued as u64),
        ("ocr_jobs_timed_out_total", "counter", "Jobs cancelled because their request timed out.", pool.timed_out),
        ("ocr_jobs_abandoned_total", "counter", "Jobs cancelled because their client went away.", pool.abandoned),
        (
            "ocr_refused_before_body_total",
            "counter",
            "Requests refused as busy (pool full) before their body was read.",
            pool.refused_before_body,
        ),
        (
            "ocr_refused_after_body_total",
            "counter",
            "Requests refused as busy (pool filled while they uploaded) after their body was read.",
            pool.refused_after_body,
        ),
        (
            "ocr_recognition_batches_total",
            "counter",
            "Batches of detected text lines recognised (recognition_batch_size lines at most each).",
            pool.recognition_batches,
        ),
        (
            "ocr_lent_work_total",
            "counter",
            "Pages and line batches read by an idle worker lent to another request's job.",
            pool.lent_work,
        ),
    ];
    let counters = counters.into_iter().map(|(name, help, value)| (name, "counter", help, value));
    for (name, kind, help, value) in counters.chain(pool_metrics) {
        let _ = write!(body, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n");
    }
    state.write_plan_metrics(&mut body);
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(body)
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let engines: Vec<u8> = state.models.primary.keys().copied().collect();
    if let Err(e) = state.gate.store().ping().await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({ "status": "database unreachable", "engines": engines }));
    }
    if state.is_ready() {
        HttpResponse::Ok().json(serde_json::json!({ "status": "ready", "engines": engines }))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({ "status": "building model plans", "engines": engines }))
    }
}

/// Routes the OCR endpoints with case-insensitive paths (vendor examples
/// write `/Parse/Image`); anything else is a 404 in the OCR.space envelope.
async fn dispatch(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
    let path = req.path().trim_end_matches('/').to_ascii_lowercase();
    let method = req.method().clone();
    match (path.as_str(), method.as_str()) {
        ("/parse/image", "POST") | ("/parse/imageurl", "GET") | ("/parse/imageurl", "POST") => {
            parse::parse(req, payload, state).await
        }
        ("/jobs", "POST") => crate::jobs::submit(req, payload, state).await,
        (p, "GET") if p.starts_with("/jobs/") => crate::jobs::status(&req, &state).await,
        ("/ocr", "POST") => doctr::ocr(req, payload, state).await,
        ("/kie", "POST") => doctr::kie(req, payload, state).await,
        ("/openapi.json", "GET" | "HEAD") => crate::openapi::serve(),
        ("/ocr" | "/kie", _) => {
            HttpResponse::MethodNotAllowed().json(crate::doctr::ErrorDetail { detail: "Method Not Allowed".into() })
        }
        (p, "GET" | "HEAD") if p.starts_with("/pdf/") => downloads::download(&req, &state).await,
        ("/parse/image" | "/parse/imageurl", _) => HttpResponse::MethodNotAllowed()
            .json(ApiError::BadRequest(format!("method {method} is not allowed on {}", req.path())).body(0)),
        _ => HttpResponse::NotFound().json(crate::ocrspace::response::OcrSpaceResponse::error(
            4,
            vec![format!("No such endpoint: {}", req.path())],
            None,
            0,
        )),
    }
}
