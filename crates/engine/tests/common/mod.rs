//! Shared helpers for the engine's golden tests: where the models and the
//! shared corpus live, and a corpus runner.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ocr_engine::eval::Scores;
use ocr_engine::{EngineConfig, ModelSet, OcrEngine, RecognizeOptions};

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// Models directory: `$OCR_MODELS_DIR` or `<workspace>/models`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("OCR_MODELS_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("models"))
}

/// Corpus directory: `$OCR_DATA_DIR` or `<workspace>/../shared/data`; when
/// it is absent the test fails with one sentence saying what to set.
pub fn data_dir() -> PathBuf {
    let dir =
        std::env::var_os("OCR_DATA_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("../shared/data"));
    assert!(dir.is_dir(), "the test corpus is not at {}: set OCR_DATA_DIR to the folder holding receipts/ and lines/ (default: ../shared/data beside the repository)", dir.display());
    dir
}

/// Engine 1, loaded once per test binary.
pub fn engine1() -> &'static OcrEngine {
    static ENGINE: OnceLock<OcrEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let set = ModelSet::engine1(models_dir());
        assert!(set.is_installed(), "Engine 1 models missing in {}: run scripts/fetch-models", models_dir().display());
        OcrEngine::load(&set, EngineConfig::default()).expect("engine 1 loads")
    })
}

/// Engine 2 with its own settings, loaded once per test binary.
pub fn engine2() -> &'static OcrEngine {
    static ENGINE: OnceLock<OcrEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let set = ModelSet::engine2(models_dir());
        assert!(set.is_installed(), "Engine 2 models missing in {}: run scripts/fetch-models", models_dir().display());
        OcrEngine::load(&set, EngineConfig::engine2()).expect("engine 2 loads")
    })
}

/// Every `(image, ground truth)` pair of a corpus folder, sorted by name.
pub fn corpus(folder: &str) -> Vec<(PathBuf, String)> {
    let dir = data_dir().join(folder);
    let mut items: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus folder {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("jpg" | "png")))
        .map(|p| {
            let gt = p.with_extension("gt.txt");
            let text = std::fs::read_to_string(&gt).unwrap_or_else(|e| panic!("{}: {e}", gt.display()));
            (p, text)
        })
        .collect();
    items.sort();
    items
}

/// Runs `engine` over a corpus folder and sums the scores.
pub fn score_folder(engine: &OcrEngine, folder: &str) -> Scores {
    let mut total = Scores::default();
    for (path, truth) in corpus(folder) {
        let bytes = std::fs::read(&path).expect("read image");
        let pages = engine.recognize_bytes(&bytes, &RecognizeOptions::default()).expect("ocr");
        let text: Vec<String> = pages.iter().map(|p| p.text()).collect();
        total += Scores::of(&text.join("\n"), &truth);
    }
    total
}
