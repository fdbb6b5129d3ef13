//! Shared application state: the loaded engines and the worker pool.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ocr_engine::OcrEngine;

use super::pool::OcrPool;

/// What every request handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Loaded engines by OCR.space engine number (1, 2).
    pub engines: Arc<BTreeMap<u8, Arc<OcrEngine>>>,
    /// The OCR worker pool.
    pub pool: OcrPool,
    /// Keys, tiers and limits.
    pub gate: super::auth::Gatekeeper,
    /// Searchable-PDF links.
    pub links: crate::pdflinks::PdfLinks,
    /// Pages read per path.
    pub counters: Arc<super::document::PageCounters>,
    /// How `url` inputs are fetched.
    pub fetch_policy: super::fetch::FetchPolicy,
    /// Set once every engine's optimised plans have been built.
    pub plans_ready: Arc<AtomicBool>,
}

impl AppState {
    /// Whether start-up plan building has finished.
    pub fn is_ready(&self) -> bool {
        self.plans_ready.load(Ordering::Acquire)
    }

    /// The engine that serves OCR.space engine `number`: engine 3 is served
    /// by engine 2 when installed (the accurate mode), else by engine 1.
    pub fn engine(&self, number: u8) -> Option<Arc<OcrEngine>> {
        match number {
            3 => self.engines.get(&2).or_else(|| self.engines.get(&1)).cloned(),
            n => self.engines.get(&n).cloned(),
        }
    }
}
