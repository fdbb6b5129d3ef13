//! The HTTP server: an actix-web application speaking the OCR.space API.

mod error;
mod fetch;
mod input;
mod parse;
mod pool;
mod state;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use ocr_engine::OcrEngine;

pub use error::ApiError;
pub use fetch::{is_allowed, FetchPolicy};
pub use parse::{language_script, PDF_UNAVAILABLE};
pub use pool::OcrPool;
pub use state::AppState;

use crate::engines::model_set;

/// Server settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub bind: SocketAddr,
    /// Directory holding the model files.
    pub models_dir: PathBuf,
    /// OCR jobs run at once (default: number of cores).
    pub workers: usize,
    /// OCR jobs allowed to wait for a worker before requests are refused.
    pub queue: usize,
    /// Longest time one request may spend in OCR.
    pub timeout: Duration,
    /// Largest accepted upload in bytes.
    pub max_upload_bytes: u64,
    /// How `url` inputs are fetched (loopback refused unless allowed).
    pub fetch_policy: FetchPolicy,
    /// Build every optimised model plan in the background at start-up, so
    /// requests never pay for it (`/ready` answers 200 once done).
    pub prepare_plans: bool,
}

/// Page sizes whose detector plans are built at start-up: A4 and US Letter
/// at 300 dpi in both orientations, a 12 MP phone photo, a small screenshot.
const COMMON_PAGE_SIZES: [(u32, u32); 7] =
    [(2480, 3508), (3508, 2480), (2550, 3300), (3300, 2550), (3024, 4032), (4032, 3024), (1000, 1400)];

impl Default for Settings {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            models_dir: crate::engines::models_dir(),
            workers: cores,
            queue: 4 * cores,
            timeout: Duration::from_secs(120),
            max_upload_bytes: 1024 * 1024,
            prepare_plans: true,
            fetch_policy: FetchPolicy::default(),
        }
    }
}

/// A built, not yet running, server.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Loads every installed engine, binds the listener and builds the server.
    pub fn build(settings: &Settings) -> Result<Self, ApiError> {
        let mut engines = BTreeMap::new();
        for number in [1u8, 2] {
            let set = model_set(number, &settings.models_dir).map_err(|e| ApiError::Internal(e.to_string()))?;
            if set.is_installed() {
                let engine = OcrEngine::load(&set, Default::default())?;
                tracing::info!(engine = number, models = %set.name, "engine loaded");
                engines.insert(number, Arc::new(engine));
            }
        }
        if engines.is_empty() {
            return Err(ApiError::Internal(format!(
                "no OCR models in {}: run scripts/fetch-models",
                settings.models_dir.display()
            )));
        }
        let state = AppState {
            engines: Arc::new(engines),
            pool: OcrPool::new(settings.workers, settings.queue, settings.timeout),
            max_upload_bytes: settings.max_upload_bytes,
            plans_ready: Arc::new(AtomicBool::new(!settings.prepare_plans)),
            fetch_policy: settings.fetch_policy,
        };
        if settings.prepare_plans {
            spawn_plan_builder(&state);
        }
        let listener =
            TcpListener::bind(settings.bind).map_err(|e| ApiError::Internal(format!("bind {}: {e}", settings.bind)))?;
        let port = listener.local_addr().map_err(|e| ApiError::Internal(e.to_string()))?.port();
        let data = web::Data::new(state);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/health", web::get().to(health))
                .route("/ready", web::get().to(ready))
                .default_service(web::to(dispatch))
        })
        .listen(listener)
        .map_err(|e| ApiError::Internal(e.to_string()))?
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

/// Builds every engine's plans on a background thread, then marks the state ready.
fn spawn_plan_builder(state: &AppState) {
    let engines = state.engines.clone();
    let ready = state.plans_ready.clone();
    std::thread::spawn(move || {
        let started = std::time::Instant::now();
        for (number, engine) in engines.iter() {
            if let Err(e) = engine.prepare(&COMMON_PAGE_SIZES) {
                tracing::error!(engine = number, error = %e, "building model plans failed");
            }
        }
        ready.store(true, Ordering::Release);
        tracing::info!(seconds = started.elapsed().as_secs_f32(), "model plans built; ready");
    });
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let engines: Vec<u8> = state.engines.keys().copied().collect();
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
        ("/parse/image" | "/parse/imageurl", _) => HttpResponse::MethodNotAllowed()
            .json(ApiError::Internal(format!("method {method} is not allowed on {}", req.path())).body(0)),
        _ => HttpResponse::NotFound().json(crate::ocrspace::response::OcrSpaceResponse::error(
            4,
            vec![format!("No such endpoint: {}", req.path())],
            None,
            0,
        )),
    }
}
