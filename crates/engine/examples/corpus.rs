//! Scores an engine on the shared corpus and prints per-folder figures.
//!
//! `cargo run -p ocr-engine --example corpus -- [--engine 1|2] [--dump DIR] [DATA_DIR]`
//!
//! With `--dump DIR`, each page's text is written to `DIR/<name>.txt` for inspection.

use std::path::PathBuf;
use std::time::Instant;

use ocr_engine::eval::Scores;
use ocr_engine::{EngineConfig, ModelSet, OcrEngine, RecognizeOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut engine_no, mut dump, mut data) = ("1".to_string(), None::<PathBuf>, PathBuf::from("../shared/data"));
    while let Some(a) = args.next() {
        match a.as_str() {
            "--engine" => engine_no = args.next().ok_or("--engine needs a value")?,
            "--dump" => dump = Some(args.next().ok_or("--dump needs a value")?.into()),
            other => data = other.into(),
        }
    }
    let models = std::env::var("OCR_MODELS_DIR").unwrap_or_else(|_| "models".into());
    let set = if engine_no == "2" { ModelSet::engine2(&models) } else { ModelSet::engine1(&models) };
    let mut config = EngineConfig::default();
    // Experiment knobs: OCR_DET_MAX_SIDE, OCR_DET_MIN_SIZE, OCR_DET_UNCLIP, OCR_WORKING_SIDE.
    if let Some(v) = std::env::var("OCR_DET_MAX_SIDE").ok().and_then(|v| v.parse().ok()) {
        config.detector.max_side = v;
    }
    if let Some(v) = std::env::var("OCR_DET_MIN_SIZE").ok().and_then(|v| v.parse().ok()) {
        config.detector.db.min_size = v;
    }
    if let Some(v) = std::env::var("OCR_DET_UNCLIP").ok().and_then(|v| v.parse().ok()) {
        config.detector.db.unclip_ratio = v;
    }
    if let Some(v) = std::env::var("OCR_WORKING_SIDE").ok().and_then(|v| v.parse().ok()) {
        config.max_working_side = v;
    }
    let engine = OcrEngine::load(&set, config)?;
    if let Some(d) = &dump {
        std::fs::create_dir_all(d)?;
    }
    for folder in ["receipts", "lines"] {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(data.join(folder))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("jpg" | "png")))
            .collect();
        entries.sort();
        let mut total = Scores::default();
        let start = Instant::now();
        for path in &entries {
            let truth = std::fs::read_to_string(path.with_extension("gt.txt"))?;
            let pages = engine.recognize_bytes(&std::fs::read(path)?, &RecognizeOptions::default())?;
            let text = pages.iter().map(|p| p.text()).collect::<Vec<_>>().join("\n");
            let s = Scores::of(&text, &truth);
            if let Some(d) = &dump {
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("page");
                std::fs::write(d.join(format!("{stem}.txt")), &text)?;
            }
            println!(
                "{folder}/{}: CER {:.3} caseless {:.3} BoW-F1 {:.3}",
                path.file_name().and_then(|s| s.to_str()).unwrap_or("?"),
                s.cer(),
                s.cer_caseless(),
                s.bag_of_words_f1()
            );
            total += s;
        }
        println!(
            "== {folder} ({} images, engine {engine_no}, {:.1} s): CER {:.4}  caseless CER {:.4}  bag-of-words F1 {:.4}  caseless F1 {:.4}",
            entries.len(),
            start.elapsed().as_secs_f64(),
            total.cer(),
            total.cer_caseless(),
            total.bag_of_words_f1(),
            total.bag_of_words_f1_caseless()
        );
    }
    Ok(())
}
