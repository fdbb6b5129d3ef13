//! Shared application state: the loaded engines and the worker pool.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ocr_engine::{AccurateEngine, Script};

use crate::service::{OcrPool, PageReader, Readers, Service, ServiceError};

/// What every request handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The OCR worker pool.
    pub pool: OcrPool,
    /// Keys, tiers and limits.
    pub gate: super::auth::Gatekeeper,
    /// Every loaded model set: the engine of each number, and extra sets.
    pub models: crate::service::Engines,
    /// Engine 3 (engines 2 and 1 combined), when both are installed.
    pub accurate: Option<Arc<AccurateEngine>>,
    /// Searchable-PDF links.
    pub links: crate::pdflinks::PdfLinks,
    /// Pages read per path.
    pub counters: Arc<crate::service::PageCounters>,
    /// How `url` inputs are fetched.
    pub fetch_policy: crate::service::FetchPolicy,
    /// Text fields one request may send, and the bytes of each.
    pub field_limits: super::input::FieldLimits,
    /// Time a request's body may take to arrive.
    pub body_timeout: std::time::Duration,
    /// Memory all request bodies in progress may hold together.
    pub upload_memory: super::payload::UploadMemory,
    /// Set once every engine's optimised plans have been built.
    pub plans_ready: Arc<AtomicBool>,
}

impl AppState {
    /// Whether start-up plan building has finished.
    pub fn is_ready(&self) -> bool {
        self.plans_ready.load(Ordering::Acquire)
    }

    /// The loaded engines as a [`Readers`] view.
    pub fn readers(&self) -> Readers<'_> {
        Readers { models: &self.models, accurate: self.accurate.as_ref() }
    }

    /// The document service over this state's pool, engines and links.
    pub fn service(&self) -> Service<'_> {
        Service {
            pool: &self.pool,
            readers: self.readers(),
            counters: &self.counters,
            links: &self.links,
            fetch_policy: &self.fetch_policy,
        }
    }

    /// See [`Readers::select`].
    pub fn select(&self, number: u8, language: &str) -> Result<(PageReader, Script), ServiceError> {
        self.readers().select(number, language)
    }

    /// Appends the model-plan metrics in the Prometheus text format: plan
    /// building paid by documents (total and the most one document paid)
    /// and the optimised plans each engine's models hold now.
    pub fn write_plan_metrics(&self, body: &mut String) {
        use std::fmt::Write;
        let seconds = |micros: &std::sync::atomic::AtomicU64| micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = write!(
            body,
            "# HELP ocr_plan_build_seconds_total Time documents spent building model plans (or waiting for one).\n\
             # TYPE ocr_plan_build_seconds_total counter\nocr_plan_build_seconds_total {:.6}\n\
             # HELP ocr_plan_build_seconds_max The most time one document spent building model plans.\n\
             # TYPE ocr_plan_build_seconds_max gauge\nocr_plan_build_seconds_max {:.6}\n\
             # HELP ocr_model_plans Optimised model plans held, by engine set and model.\n\
             # TYPE ocr_model_plans gauge\n",
            seconds(&self.counters.plan_build_micros),
            seconds(&self.counters.plan_build_max_micros),
        );
        let extra = self.models.extra.iter().map(|e| (e.number, e.name.as_str(), &e.engine));
        let engines = self.models.primary.iter().map(|(n, e)| (*n, e.name(), e)).chain(extra);
        for (number, name, engine) in engines {
            let plans = engine.cached_plans();
            let kinds = [
                ("detector", plans.detector),
                ("recogniser", plans.recognizer),
                ("latin_recogniser", plans.latin_recognizer),
                ("classifier", plans.classifier),
            ];
            for (kind, count) in kinds {
                let _ =
                    writeln!(body, "ocr_model_plans{{engine=\"{number}\",set=\"{name}\",model=\"{kind}\"}} {count}");
            }
        }
    }
}
