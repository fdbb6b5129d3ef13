//! Which annotated lines of the receipts the detector misses, and what its
//! probability map holds there (a debugging aid for DB post-processing).
//!
//! `cargo run --release -p ocr-engine --example detection_misses -- [--engine 2] [--max-side N] [--thresh T] [--box-thresh B] [--all] [RECEIPTS_DIR]`
//!
//! Each page is scaled to the engine's working size (longer side at most
//! 2560) and detected at `--max-side` (default: the configured 1280). An
//! annotated line counts as found when the centre of some detected box lies
//! in its quadrilateral or the line's centre lies in some box. Missed lines
//! are listed with the highest probability in their quadrilateral and the
//! number and mean of the map pixels there above the binary threshold
//! (`--all` lists only lines that are one or two digits, found or not).
//!
//! Measured on the 25 receipts (2026-12-02), Engine 2 at 1280: 16 of 1,413
//! annotated lines missed, 13 of them lone quantity `1`s (plus `SR` and two
//! `:`). At 11 of the 13 the map peaks at 0.02-0.36, so the network itself
//! does not mark them and no post-processing threshold can bring them back.
//! They are not a matter of scale: 8 lie on receipts 505-516, read at
//! 0.71-0.73x; at `--max-side 2560` (the small receipts at full size, the
//! large scans at 0.36x) 6 are still missed and others appear at 960 and
//! 1600. Engine 1's detector misses 9, the same ones on 505-516.

use std::path::PathBuf;

use ocr_engine::detection::{Detector, DetectorConfig};
use ocr_engine::geometry::{Point, Quad};
use ocr_engine::imageops::resize;
use ocr_engine::model::OnnxModel;
use ocr_engine::{decode_image, DecodeLimits, ModelSet};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut config = DetectorConfig::default();
    let (mut engine2, mut max_side, mut all, mut dir) = (false, None, false, PathBuf::from("../shared/data/receipts"));
    while let Some(a) = args.next() {
        match a.as_str() {
            "--engine" => engine2 = args.next().as_deref() == Some("2"),
            "--max-side" => max_side = Some(args.next().ok_or("--max-side needs a value")?.parse::<u32>()?),
            "--all" => all = true,
            "--thresh" => config.db.threshold = args.next().ok_or("--thresh needs a value")?.parse()?,
            "--box-thresh" => config.db.box_threshold = args.next().ok_or("--box-thresh needs a value")?.parse()?,
            other => dir = other.into(),
        }
    }
    let models = std::env::var("OCR_MODELS_DIR").unwrap_or_else(|_| "models".into());
    let set = if engine2 { ModelSet::engine2(&models) } else { ModelSet::engine1(&models) };
    let detector = Detector::new(Box::new(OnnxModel::load(&set.detector, 4)?), config);
    let max_side = max_side.unwrap_or(detector.config().max_side);
    let threshold = detector.config().db.threshold;
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg" || e == "png"))
        .collect();
    names.sort();
    let (mut lines_total, mut missed_total) = (0, 0);
    for path in names {
        let lines_path = path.with_extension("lines.json");
        let Ok(text) = std::fs::read_to_string(&lines_path) else { continue };
        let annotated: Vec<serde_json::Value> = serde_json::from_str(&text)?;
        let page = decode_image(&std::fs::read(&path)?, &DecodeLimits::default())?.remove(0);
        let s = (2560.0 / page.width().max(page.height()) as f32).min(1.0);
        let work = if s < 1.0 {
            resize(&page, (page.width() as f32 * s).round() as u32, (page.height() as f32 * s).round() as u32)
        } else {
            page.clone()
        };
        let (map, g) = detector.probability_map_at(&work, max_side)?;
        let boxes = detector.boxes(&map, &g, work.width(), work.height());
        let to_map = g.width as f32 / page.width() as f32;
        let to_work = work.width() as f32 / page.width() as f32;
        let name = path.file_stem().unwrap_or_default().to_string_lossy().to_string();
        for line in &annotated {
            let text = line["text"].as_str().unwrap_or_default();
            let q: Vec<f32> =
                line["quad"].as_array().into_iter().flatten().filter_map(|v| v.as_f64()).map(|v| v as f32).collect();
            if q.len() != 8 {
                continue;
            }
            let quad = Quad([0, 1, 2, 3].map(|i| Point::new(q[2 * i], q[2 * i + 1])));
            let short_digits = text.trim().len() <= 2 && text.trim().chars().all(|c| c.is_ascii_digit());
            if all && !short_digits {
                continue;
            }
            lines_total += 1;
            let in_work = quad.scaled(to_work, to_work);
            let centre = centre_of(&in_work);
            let found = boxes.iter().any(|b| in_work.contains(centre_of(&b.quad)) || b.quad.contains(centre));
            if found && !all {
                continue;
            }
            missed_total += usize::from(!found);
            let in_map = quad.scaled(to_map, to_map);
            let (lo, hi) = in_map.bounds();
            let (mut peak, mut above, mut sum) = (0.0f32, 0usize, 0.0f32);
            let (x0, y0) = (lo.x.floor().max(0.0) as usize, lo.y.floor().max(0.0) as usize);
            let (x1, y1) =
                ((hi.x.ceil() as usize).min(g.width as usize - 1), (hi.y.ceil() as usize).min(g.height as usize - 1));
            for y in y0..=y1 {
                for x in x0..=x1 {
                    let p = map[y * g.tensor_width as usize + x];
                    peak = peak.max(p);
                    if p > threshold {
                        above += 1;
                        sum += p;
                    }
                }
            }
            println!(
                "{name} {} {text:?}: quad {:.0}x{:.0} map px, peak {peak:.2}, {above} above {threshold} (mean {:.2})",
                if found { "found" } else { "MISSED" },
                hi.x - lo.x,
                hi.y - lo.y,
                if above > 0 { sum / above as f32 } else { 0.0 },
            );
        }
    }
    println!("{missed_total} of {lines_total} annotated lines missed (max_side {max_side})");
    Ok(())
}

fn centre_of(q: &Quad) -> Point {
    let (lo, hi) = q.bounds();
    Point::new((lo.x + hi.x) / 2.0, (lo.y + hi.y) / 2.0)
}
