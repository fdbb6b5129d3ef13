//! Prints every detected box of an image with its reading and character
//! positions (a debugging aid for detection and word splitting).
//!
//! `cargo run -p ocr-engine --example inspect -- IMAGE [--engine 2]`

use ocr_engine::crop::crop_line;
use ocr_engine::detection::{Detector, DetectorConfig};
use ocr_engine::model::OnnxModel;
use ocr_engine::recognition::{Dictionary, Recognizer, RecognizerConfig};
use ocr_engine::{decode_image, DecodeLimits, ModelSet};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().ok_or("usage: inspect IMAGE [--engine 2]")?;
    let models = std::env::var("OCR_MODELS_DIR").unwrap_or_else(|_| "models".into());
    let set = if args.iter().any(|a| a == "2") { ModelSet::engine2(&models) } else { ModelSet::engine1(&models) };
    let rec_model = OnnxModel::load(&set.recognizer, 64)?;
    let dictionary = Dictionary::from_lines(rec_model.metadata("character").ok_or("no dictionary")?);
    let recognizer = Recognizer::new(Box::new(rec_model), dictionary, RecognizerConfig::default());
    let detector = Detector::new(Box::new(OnnxModel::load(&set.detector, 4)?), DetectorConfig::default());
    let page = decode_image(&std::fs::read(path)?, &DecodeLimits::default())?.remove(0);
    let (map, g) = detector.probability_map(&page)?;
    println!("page {}x{} -> detector input {:?}", page.width(), page.height(), g);
    for b in detector.boxes(&map, &g, page.width(), page.height()) {
        let Some(crop) = crop_line(&page, &b.quad, 48, 3072) else { continue };
        let r = recognizer.recognize(&crop.image, None)?;
        let blank = ocr_engine::layout::blank_columns(&crop.image);
        let mut positions: Vec<String> = Vec::new();
        for (i, c) in r.chars.iter().enumerate() {
            let centre = (c.x0 + c.x1) / 2.0;
            let gap = r.chars.get(i + 1).map(|n| {
                let next = (n.x0 + n.x1) / 2.0;
                let (a, b) = (centre as usize, (next as usize).min(blank.len()));
                let (mut best, mut run) = (0, 0);
                for &v in &blank[a.min(b)..b] {
                    run = if v { run + 1 } else { 0 };
                    best = best.max(run);
                }
                best
            });
            positions.push(format!("{}@{:.0}|{}", c.text, centre, gap.unwrap_or(0)));
        }
        println!(
            "box {:?} score {:.2} crop {}x{} conf {:.2} {:?}\n    {}",
            b.quad.0.map(|p| (p.x.round() as i32, p.y.round() as i32)),
            b.score,
            crop.image.width(),
            crop.image.height(),
            r.confidence(),
            r.text(),
            positions.join(" ")
        );
    }
    Ok(())
}
