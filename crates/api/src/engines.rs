//! Which OCR engines exist and where their models live.

use std::path::PathBuf;

use ocr_engine::{EngineConfig, ModelSet, OcrEngine};

/// Errors of the command-line edge.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An engine number other than 1 or 2.
    #[error("unknown engine {0}: choose 1 (PP-OCRv4 mobile, fast) or 2 (PP-OCRv6 small, accurate)")]
    UnknownEngine(u8),
    /// The engine's models are not in the models directory.
    #[error("the models of engine {engine} are not installed in {dir}: run scripts/fetch-models")]
    ModelsMissing {
        /// Engine number.
        engine: u8,
        /// Models directory searched.
        dir: String,
    },
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] ocr_engine::EngineError),
    /// An administration command failed (configuration or database).
    #[error("{0}")]
    Admin(String),
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// The models directory: `$OCR_MODELS_DIR`, else `./models`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("OCR_MODELS_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("models"))
}

/// The model set of engine `number` (1 or 2) in `dir`.
pub fn model_set(number: u8, dir: &std::path::Path) -> Result<ModelSet, CliError> {
    match number {
        1 => Ok(ModelSet::engine1(dir)),
        2 => Ok(ModelSet::engine2(dir)),
        other => Err(CliError::UnknownEngine(other)),
    }
}

/// Loads engine `number` from `dir`, with a clear error when its models are missing.
pub fn load_engine(number: u8, dir: &std::path::Path) -> Result<OcrEngine, CliError> {
    let set = model_set(number, dir)?;
    if !set.is_installed() {
        return Err(CliError::ModelsMissing { engine: number, dir: dir.display().to_string() });
    }
    let config = if number == 2 { EngineConfig::engine2() } else { EngineConfig::engine1() };
    Ok(OcrEngine::load(&set, config)?)
}
