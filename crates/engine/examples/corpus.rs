//! Scores an engine on the shared corpus and prints per-folder figures.
//!
//! `cargo run --release -p ocr-engine --example corpus -- [--engine 1|2|3] [--dump DIR] [DATA_DIR]`
//!
//! Engine 3 is [`AccurateEngine`]: Engine 2 with every accuracy option, Engine 1 as second opinion.
//! `OCR_DETECT_ORIENTATION=1` / `OCR_DESKEW=1` turn those options on for engines 1 and 2.
//!
//! Folders: `receipts`, `lines`, `lines-wide` and `pages` (or `OCR_FOLDERS=a,b`). CER is only
//! meaningful where the ground truth's order is a reading order (receipts, lines); `pages/`
//! lists words in the PDF's order, so read its bag-of-words F1.
//!
//! With `--dump DIR`, each page's text is written to `DIR/<name>.txt` for inspection.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use ocr_engine::eval::Scores;
use ocr_engine::{AccurateEngine, EngineConfig, ModelSet, OcrEngine, RecognizeOptions};

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
    let (set, mut config) = if engine_no == "1" {
        (ModelSet::engine1(&models), EngineConfig::engine1())
    } else {
        (ModelSet::engine2(&models), EngineConfig::engine2())
    };
    // Experiment knobs: OCR_DET_MAX_SIDE, OCR_DET_CONTRAST_TAIL, OCR_DET_MIN_SIZE, OCR_DET_UNCLIP, OCR_WORKING_SIDE,
    // OCR_WORD_GAP_BLANK, OCR_WORD_GAP_BLANK_PITCH, OCR_WORD_GAP_PITCHES,
    // OCR_WORD_GAP_JOINED, OCR_LETTER_ALTERNATIVE_MIN (above 1: off); OCR_FOLDERS=receipts,lines.
    if let Some(v) = std::env::var("OCR_DET_MAX_SIDE").ok().and_then(|v| v.parse().ok()) {
        config.detector.max_side = v;
    }
    if let Some(v) = std::env::var("OCR_DET_CONTRAST_TAIL").ok().and_then(|v| v.parse().ok()) {
        config.detector.contrast_tail = v;
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
    if let Some(v) = std::env::var("OCR_WORD_GAP_BLANK").ok().and_then(|v| v.parse().ok()) {
        config.layout.word_gap_blank = v;
    }
    if let Some(v) = std::env::var("OCR_WORD_GAP_BLANK_PITCH").ok().and_then(|v| v.parse().ok()) {
        config.layout.word_gap_blank_pitch = v;
    }
    if let Some(v) = std::env::var("OCR_WORD_GAP_PITCHES").ok().and_then(|v| v.parse().ok()) {
        config.layout.word_gap_pitches = v;
    }
    if let Some(v) = std::env::var("OCR_WORD_GAP_JOINED").ok().and_then(|v| v.parse().ok()) {
        config.layout.word_gap_joined = v;
    }
    if let Some(v) = std::env::var("OCR_LETTER_ALTERNATIVE_MIN").ok().and_then(|v| v.parse().ok()) {
        config.layout.letter_alternative_min = v;
    }
    // Engine 3 is Engine 2 (with the knobs above) plus Engine 1 as its second opinion.
    let engine = Arc::new(OcrEngine::load(&set, config)?);
    let accurate = if engine_no == "3" {
        let secondary = OcrEngine::load(&ModelSet::engine1(&models), EngineConfig::engine1())?;
        let mut accurate = AccurateEngine::new(engine.clone(), Arc::new(secondary));
        // Knobs: OCR_SECOND_BELOW (0 = no second opinion), OCR_SECOND_MARGIN.
        if let Some(v) = std::env::var("OCR_SECOND_BELOW").ok().and_then(|v| v.parse().ok()) {
            accurate.second_opinion_below = v;
        }
        if let Some(v) = std::env::var("OCR_SECOND_MARGIN").ok().and_then(|v| v.parse().ok()) {
            accurate.second_opinion_margin = v;
        }
        Some(accurate)
    } else {
        None
    };
    let options = RecognizeOptions {
        detect_orientation: std::env::var_os("OCR_DETECT_ORIENTATION").is_some(),
        deskew: std::env::var_os("OCR_DESKEW").is_some(),
        classify_lines: std::env::var_os("OCR_CLASSIFY_LINES").is_some(),
        upscale_small_text: std::env::var_os("OCR_UPSCALE_SMALL_TEXT").is_some(),
        ..Default::default()
    };
    let read = |bytes: &[u8]| match &accurate {
        Some(a) => a.recognize_bytes(bytes, &options),
        None => engine.recognize_bytes(bytes, &options),
    };
    if let Some(d) = &dump {
        std::fs::create_dir_all(d)?;
    }
    let folders: Vec<String> = match std::env::var("OCR_FOLDERS") {
        Ok(v) => v.split(',').map(str::to_string).collect(),
        Err(_) => ["receipts", "lines", "lines-wide", "pages"].map(String::from).to_vec(),
    };
    for folder in &folders {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(data.join(folder))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("jpg" | "png")))
            .collect();
        entries.sort();
        let mut total = Scores::default();
        let start = Instant::now();
        for path in &entries {
            let truth = std::fs::read_to_string(path.with_extension("gt.txt"))?;
            let pages = read(&std::fs::read(path)?)?;
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
            "== {folder} ({} images, engine {engine_no}, {:.1} s): CER {:.4}  caseless CER {:.4}  bag-of-words F1 {:.4}  caseless F1 {:.4}  digit words whole {:.4} ({}/{})",
            entries.len(),
            start.elapsed().as_secs_f64(),
            total.cer(),
            total.cer_caseless(),
            total.bag_of_words_f1(),
            total.bag_of_words_f1_caseless(),
            total.digit_words_whole_rate(),
            total.digit_words_whole,
            total.reference_digit_words
        );
    }
    Ok(())
}
