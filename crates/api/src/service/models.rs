//! Loading the configured model sets (`[[models.set]]`): the first set of
//! each OCR.space engine number is that engine; later sets of the same
//! number are extra recognisers for languages the first cannot read.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use ocr_engine::languages::DictionaryChars;
use ocr_engine::{AccurateEngine, EngineConfig, ModelSet, OcrEngine};

use super::error::ServiceError;
use crate::config::{ModelProfile, ModelSetConfig};

/// An additional model set serving some languages for an engine number.
pub struct ExtraEngine {
    /// The engine number it belongs to.
    pub number: u8,
    /// Its name (logs).
    pub name: String,
    /// The loaded engine.
    pub engine: Arc<OcrEngine>,
    /// Codes it may serve (empty: all its dictionary covers).
    pub languages: Vec<String>,
    /// What its dictionary covers.
    pub chars: DictionaryChars,
}

/// Every loaded model set.
pub struct LoadedEngines {
    /// The engine of each number (its first configured set).
    pub primary: BTreeMap<u8, Arc<OcrEngine>>,
    /// Codes each primary set may serve (empty: all its dictionary covers).
    pub primary_languages: BTreeMap<u8, Vec<String>>,
    /// What each primary set's dictionary covers.
    pub primary_chars: BTreeMap<u8, DictionaryChars>,
    /// Further sets, in configuration order.
    pub extra: Vec<ExtraEngine>,
}

/// The loaded engines, shareable between application instances in one process.
pub type Engines = Arc<LoadedEngines>;

/// The engine settings for a profile.
fn engine_config(profile: ModelProfile) -> EngineConfig {
    match profile {
        ModelProfile::PpOcrV4 => EngineConfig::engine1(),
        ModelProfile::PpOcrV6 => EngineConfig::engine2(),
    }
}

/// The files of a configured set in `models_dir`.
pub fn model_files(models_dir: &Path, set: &ModelSetConfig) -> ModelSet {
    ModelSet {
        name: set.name.clone(),
        detector: models_dir.join(&set.detector),
        recognizer: models_dir.join(&set.recognizer),
        classifier: (!set.classifier.as_os_str().is_empty()).then(|| models_dir.join(&set.classifier)),
    }
}

/// Engine 3: engine 2 with engine 1's second opinion, when both are loaded.
pub fn accurate_engine(engines: &LoadedEngines) -> Option<Arc<AccurateEngine>> {
    match (engines.primary.get(&2), engines.primary.get(&1)) {
        (Some(second), Some(first)) => Some(Arc::new(AccurateEngine::new(second.clone(), first.clone()))),
        _ => None,
    }
}

/// Loads every configured set whose files are present in `models_dir`.
pub fn load_engines(models_dir: &Path, sets: &[ModelSetConfig]) -> Result<Engines, ServiceError> {
    let mut loaded = LoadedEngines {
        primary: BTreeMap::new(),
        primary_languages: BTreeMap::new(),
        primary_chars: BTreeMap::new(),
        extra: Vec::new(),
    };
    for set in sets {
        if !matches!(set.engine, 1 | 2) {
            return Err(ServiceError::Internal(format!(
                "model set '{}': engine must be 1 or 2 (engine 3 combines them), not {}",
                set.name, set.engine
            )));
        }
        let files = model_files(models_dir, set);
        if !files.is_installed() {
            tracing::warn!(set = %set.name, dir = %models_dir.display(), "model set skipped: files missing");
            continue;
        }
        let engine = Arc::new(OcrEngine::load(&files, engine_config(set.profile))?);
        tracing::info!(engine = set.engine, models = %set.name, "model set loaded");
        let chars = DictionaryChars::of(engine.dictionary());
        match loaded.primary.entry(set.engine) {
            std::collections::btree_map::Entry::Occupied(_) => {
                loaded.extra.push(ExtraEngine {
                    number: set.engine,
                    name: set.name.clone(),
                    engine,
                    languages: set.languages.clone(),
                    chars,
                });
            }
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(engine);
                loaded.primary_languages.insert(set.engine, set.languages.clone());
                loaded.primary_chars.insert(set.engine, chars);
            }
        }
    }
    if loaded.primary.is_empty() {
        return Err(ServiceError::Internal(format!(
            "no OCR models in {}: run scripts/fetch-models",
            models_dir.display()
        )));
    }
    Ok(Arc::new(loaded))
}
