//! Engine and model-set choice: which loaded engine reads a request's
//! pages (an OCR.space engine number and language, or docTR's detection and
//! recognition model sets), shared by the server, the job worker and the
//! `ocr` command.

use std::sync::Arc;

use ocr_engine::languages::LanguageSupport;
use ocr_engine::{AccurateEngine, MixedEngine, OcrEngine, Script};

use super::document::PageReader;
use super::error::ServiceError;
use super::models::{ExtraEngine, LoadedEngines};

/// What reads pages for each OCR.space engine number: the loaded model sets
/// and engine 3's combination (shared by the server and the `ocr` command).
#[derive(Clone, Copy)]
pub struct Readers<'a> {
    /// Every loaded model set.
    pub models: &'a LoadedEngines,
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
    pub fn select(&self, number: u8, language: &str) -> Result<(PageReader, Script), ServiceError> {
        let serving = self.serving(number).ok_or(ServiceError::EngineUnavailable(number))?;
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
            let reader = self.reader(number).ok_or(ServiceError::EngineUnavailable(number))?;
            return Ok((reader, script));
        }
        let extra_script = |e: &ExtraEngine| match e.chars.support(language) {
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
        Err(ServiceError::UnsupportedLanguage {
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

    /// The engine of the installed model set `number` (docTR's model names
    /// map to these numbers).
    pub fn model_set(&self, number: u8) -> Option<Arc<OcrEngine>> {
        self.models.primary.get(&number).cloned()
    }

    /// What reads pages with one model set's detector and another's recogniser.
    pub fn mixed(detector: Arc<OcrEngine>, recognizer: Arc<OcrEngine>) -> Result<PageReader, ServiceError> {
        Ok(Arc::new(MixedEngine::new(detector, recognizer)?))
    }
}
