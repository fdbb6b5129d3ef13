//! Where the OCR models live.

use std::path::PathBuf;

/// The models directory: `$OCR_MODELS_DIR`, else `./models`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("OCR_MODELS_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("models"))
}
