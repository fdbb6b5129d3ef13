//! Shared application state: the loaded engines and the worker pool.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ocr_engine::languages::LanguageSupport;
use ocr_engine::{AccurateEngine, OcrEngine, Script};

use super::error::ApiError;
use crate::service::{OcrPool, PageReader};

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

    /// See [`Readers::select`].
    pub fn select(&self, number: u8, language: &str) -> Result<(PageReader, Script), ApiError> {
        self.readers().select(number, language)
    }

    /// See [`Readers::reader`].
    pub fn reader(&self, number: u8) -> Option<PageReader> {
        self.readers().reader(number)
    }

    /// See [`Readers::engine`].
    pub fn engine(&self, number: u8) -> Option<Arc<OcrEngine>> {
        self.readers().engine(number)
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

/// What reads pages for each OCR.space engine number: the loaded model sets
/// and engine 3's combination (shared by the server and the `ocr` command).
#[derive(Clone, Copy)]
pub struct Readers<'a> {
    /// Every loaded model set.
    pub models: &'a crate::service::LoadedEngines,
    /// Engine 3 (engines 2 and 1 combined), when both are installed.
    pub accurate: Option<&'a Arc<AccurateEngine>>,
}

impl Readers<'_> {
    /// The number of the installed engine that serves OCR.space engine `number`.
    fn serving(&self, number: u8) -> Option<u8> {
        match number {
            3 => [2, 1].into_iter().find(|n| self.models.primary.contains_key(n)),
            n => self.models.primary.contains_key(&n).then_some(n),
        }
    }

    /// What reads `language` for OCR.space engine `number`, and with which
    /// script: the engine itself when its dictionary covers the language
    /// (and its configured languages allow it), else an extra model set of
    /// the same engine that does; otherwise an E201 error naming what is
    /// missing and which engines would read it.
    pub fn select(&self, number: u8, language: &str) -> Result<(PageReader, Script), ApiError> {
        let serving = self.serving(number).ok_or(ApiError::EngineUnavailable(number))?;
        let allowed = |list: &[String]| list.is_empty() || list.iter().any(|l| l == language);
        let primary_allows = |n: &u8| self.models.primary_languages.get(n).is_none_or(|l| allowed(l));
        let support_of = |n: &u8| {
            self.models
                .primary_chars
                .get(n)
                .and_then(|chars| chars.support(language).ok())
                .filter(|_| primary_allows(n))
        };
        if let Some(LanguageSupport::Supported { script, .. }) = support_of(&serving) {
            let reader = self.reader(number).ok_or(ApiError::EngineUnavailable(number))?;
            return Ok((reader, script));
        }
        let extra_script = |e: &crate::service::ExtraEngine| match e.chars.support(language) {
            Ok(LanguageSupport::Supported { script, .. }) if allowed(&e.languages) => Some(script),
            _ => None,
        };
        if let Some((extra, script)) =
            self.models.extra.iter().filter(|e| e.number == serving).find_map(|e| extra_script(e).map(|s| (e, s)))
        {
            return Ok((extra.engine.clone(), script));
        }
        let mut others: Vec<String> = self
            .models
            .primary_chars
            .keys()
            .filter(|n| support_of(n).is_some_and(|s| s.is_supported()))
            .chain(self.models.extra.iter().filter(|e| extra_script(e).is_some()).map(|e| &e.number))
            .map(|n| n.to_string())
            .collect();
        others.sort();
        others.dedup();
        let (coverage, missing) = match support_of(&serving) {
            Some(LanguageSupport::Unsupported { coverage, missing }) => (coverage, missing),
            _ => (0.0, Vec::new()),
        };
        Err(ApiError::UnsupportedLanguage {
            engine: number,
            language: language.to_string(),
            coverage_percent: (coverage * 100.0).round() as u32,
            missing: missing.iter().map(char::to_string).collect::<Vec<_>>().join(" "),
            engines_that_read_it: others,
        })
    }

    /// What reads pages for OCR.space engine `number`: engine 3 is engine 2
    /// with engine 1's second opinion when both are installed (else the one
    /// that is).
    pub fn reader(&self, number: u8) -> Option<PageReader> {
        if let (3, Some(accurate)) = (number, self.accurate) {
            return Some(accurate.clone());
        }
        self.engine(number).map(|engine| engine as PageReader)
    }

    /// The engine that serves OCR.space engine `number`: engine 3 is served
    /// by engine 2 when installed (the accurate mode), else by engine 1.
    pub fn engine(&self, number: u8) -> Option<Arc<OcrEngine>> {
        self.serving(number).and_then(|n| self.models.primary.get(&n).cloned())
    }
}
