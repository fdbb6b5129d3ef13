//! Scores key-information extraction (`/kie`) on the development receipts:
//! exact-match rate of company, date and total, and address token F1,
//! against each receipt's `.key.json`.
//!
//! `cargo run --release -p ocr-api --example kie_eval -- [--engine 1|2] [--cache DIR] [--day-first] [-v] [DATA_DIR]`
//!
//! DATA_DIR defaults to `../shared/data` (its `receipts/` folder is read). With `--cache DIR`, each receipt's OCR
//! result is kept in `DIR/e<engine>/<name>.json` and read from there on later runs, so the rules can be iterated
//! on without re-running the OCR. `--day-first` passes the corpus's locale (day before month) instead of letting
//! the extractor infer it. `-v` prints every receipt's extracted fields next to the key.

use std::path::{Path, PathBuf};

use ocr_api::kie::eval::{first_value, score, KeyFields, Tally};
use ocr_api::kie::{extract_fields_with, KieOptions};
use ocr_engine::{Block, BoundingBox, EngineConfig, Line, ModelSet, OcrEngine, PageResult, RecognizeOptions, Word};
use serde_json::Value;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut engine_no, mut cache, mut data) = ("1".to_string(), None::<PathBuf>, PathBuf::from("../shared/data"));
    let (mut verbose, mut day_first) = (false, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--engine" => engine_no = args.next().ok_or("--engine needs 1 or 2")?,
            "--cache" => cache = Some(args.next().ok_or("--cache needs a folder")?.into()),
            "--day-first" => day_first = Some(true),
            "-v" => verbose = true,
            other => data = other.into(),
        }
    }
    let models = std::env::var("OCR_MODELS_DIR").unwrap_or_else(|_| "models".into());
    let mut engine: Option<OcrEngine> = None;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(data.join("receipts"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg" || e == "png"))
        .collect();
    entries.sort();
    let options = KieOptions { day_first };
    let mut tally = Tally::default();
    for path in &entries {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("page").to_string();
        let cached = cache.as_ref().map(|c| c.join(format!("e{engine_no}")).join(format!("{stem}.json")));
        let pages = match cached.as_ref().filter(|c| c.is_file()) {
            Some(c) => pages_from_json(&serde_json::from_str(&std::fs::read_to_string(c)?)?)?,
            None => {
                if engine.is_none() {
                    let (set, config) = match engine_no.as_str() {
                        "1" => (ModelSet::engine1(&models), EngineConfig::engine1()),
                        _ => (ModelSet::engine2(&models), EngineConfig::engine2()),
                    };
                    engine = Some(OcrEngine::load(&set, config)?);
                }
                let engine = engine.as_ref().ok_or("engine")?;
                let pages = engine.recognize_bytes(&std::fs::read(path)?, &RecognizeOptions::default())?;
                if let Some(c) = &cached {
                    std::fs::create_dir_all(c.parent().unwrap_or(Path::new(".")))?;
                    std::fs::write(c, serde_json::to_string(&pages)?)?;
                }
                pages
            }
        };
        let key = KeyFields::from_json(&std::fs::read_to_string(path.with_extension("key.json"))?)?;
        let fields = extract_fields_with(&pages, &options);
        let s = score(&fields, &key);
        tally.add(&s);
        let mark = |ok: bool| if ok { "ok " } else { "BAD" };
        println!(
            "{stem}: company {} date {} total {} address F1 {:.2}",
            mark(s.company),
            mark(s.date),
            mark(s.total),
            s.address_f1
        );
        if verbose {
            for (field, truth) in
                [("company", &key.company), ("date", &key.date), ("total", &key.total), ("address", &key.address)]
            {
                println!("    {field:8} {:?}  (key {truth:?})", first_value(&fields, field));
            }
            for f in fields.iter().filter(|f| !["company", "date", "total", "address"].contains(&f.field_type.as_str()))
            {
                let values: Vec<&str> = f.values.iter().map(|v| v.value.as_str()).collect();
                println!("    {:8} {values:?}", f.field_type);
            }
        }
    }
    println!(
        "== {} receipts, engine {engine_no}{}: company {:.2} ({}; right line with <=10% misread characters {:.2}), date {:.2} ({}), total {:.2} ({}), address token F1 {:.3} (exact {:.2})",
        tally.receipts,
        if day_first.is_some() { ", day-first hint" } else { "" },
        tally.company_rate(),
        tally.company,
        tally.company_close_rate(),
        tally.date_rate(),
        tally.date,
        tally.total_rate(),
        tally.total,
        tally.address_f1(),
        tally.address_exact_rate()
    );
    Ok(())
}

/// Rebuilds the pages from the JSON the engine's result types serialise to.
fn pages_from_json(v: &Value) -> Result<Vec<PageResult>, Box<dyn std::error::Error>> {
    let num = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64).ok_or_else(|| format!("missing {k}"));
    let bbox = |v: &Value| -> Result<BoundingBox, Box<dyn std::error::Error>> {
        let b = v.get("bbox").ok_or("missing bbox")?;
        Ok(BoundingBox {
            left: num(b, "left")? as f32,
            top: num(b, "top")? as f32,
            width: num(b, "width")? as f32,
            height: num(b, "height")? as f32,
        })
    };
    let list = |v: &Value, k: &str| v.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
    let mut pages = Vec::new();
    for p in v.as_array().ok_or("pages must be a list")? {
        let mut blocks = Vec::new();
        for b in list(p, "blocks") {
            let mut lines = Vec::new();
            for l in list(&b, "lines") {
                let mut words = Vec::new();
                for w in list(&l, "words") {
                    let bb = bbox(&w)?;
                    words.push(Word {
                        text: w.get("text").and_then(Value::as_str).unwrap_or_default().to_string(),
                        confidence: num(&w, "confidence")? as f32,
                        detection_score: w.get("detection_score").and_then(Value::as_f64).unwrap_or(1.0) as f32,
                        bbox: bb,
                        quad: bb.quad(),
                    });
                }
                let cell_starts =
                    list(&l, "cell_starts").iter().filter_map(Value::as_u64).map(|n| n as usize).collect();
                lines.push(Line { bbox: bbox(&l)?, words, cell_starts });
            }
            blocks.push(Block::new(lines));
        }
        pages.push(PageResult {
            width: num(p, "width")? as u32,
            height: num(p, "height")? as u32,
            rotation: num(p, "rotation")? as u16,
            blocks,
        });
    }
    Ok(pages)
}
