//! Memory and build time of each kind of optimised plan the engines use:
//! detector shapes, recogniser width buckets (full and Latin-pruned) and the
//! line classifier, for Engine 1 (PP-OCRv4) and Engine 2 (PP-OCRv6).
//!
//! Heap bytes are counted exactly by a counting global allocator (live bytes
//! after the plan is built minus before), so the figure is what the plan
//! keeps, not what building it touched.
//!
//! ```text
//! cargo run --release -p ocr-engine --example plan_memory [-- --widths 320,640,1280 --det 1280x928,928x1280]
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use ocr_engine::model::{Model, OnnxModel};
use ocr_engine::recognition::{keep_output_classes, Dictionary};
use ocr_engine::{is_latin_symbol, ModelSet};

/// Live heap bytes.
static LIVE: AtomicUsize = AtomicUsize::new(0);

struct Counting;

// SAFETY: every call is forwarded to the system allocator unchanged; only a counter is updated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE.fetch_add(new_size, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn mb(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Builds the plan of each shape in turn, printing what each one keeps.
fn plans(label: &str, model: &OnnxModel, shapes: &[Vec<usize>]) -> Result<usize, Box<dyn std::error::Error>> {
    let mut total = 0;
    for shape in shapes {
        let before = LIVE.load(Ordering::Relaxed);
        let start = Instant::now();
        model.prepare(shape)?;
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        let kept = LIVE.load(Ordering::Relaxed).saturating_sub(before);
        total += kept;
        println!("{label:<24} {:<18} {:>8.1} MB {:>7.0} ms", format!("{shape:?}"), mb(kept), ms);
    }
    Ok(total)
}

fn load(label: &str, path: &Path, edit: Option<&[usize]>) -> Result<OnnxModel, Box<dyn std::error::Error>> {
    let before = LIVE.load(Ordering::Relaxed);
    let model = match edit {
        Some(keep) => OnnxModel::load_edited(path, 1024, |p| keep_output_classes(p, keep))?,
        None => OnnxModel::load(path, 1024)?,
    };
    println!("{label:<24} {:<18} {:>8.1} MB (parsed graph)", "load", mb(LIVE.load(Ordering::Relaxed) - before));
    Ok(model)
}

fn list<T: std::str::FromStr>(v: &str) -> Vec<T> {
    v.split(',').filter_map(|s| s.trim().parse().ok()).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut widths: Vec<usize> = vec![32, 64, 128, 320, 640, 1280, 3072];
    let mut det: Vec<(usize, usize)> = vec![(1280, 928), (928, 1280), (416, 1280), (256, 640)];
    while let Some(a) = args.next() {
        match a.as_str() {
            "--widths" => widths = list(&args.next().ok_or("--widths needs a value")?),
            "--det" => {
                det = args
                    .next()
                    .ok_or("--det needs a value")?
                    .split(',')
                    .filter_map(|s| s.split_once('x'))
                    .filter_map(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
                    .collect()
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let models = std::env::var("OCR_MODELS_DIR").unwrap_or_else(|_| "models".into());
    println!("{:<24} {:<18} {:>11} {:>10}", "plan kind", "input shape", "kept", "build");
    let start_live = LIVE.load(Ordering::Relaxed);
    let mut alive = Vec::new();
    for set in [ModelSet::engine1(&models), ModelSet::engine2(&models)] {
        println!("--- {}", set.name);
        let tag = if set.name.contains("v4") { "v4" } else { "v6" };
        let detector = load(&format!("{tag} det"), &set.detector, None)?;
        let det_shapes: Vec<Vec<usize>> = det.iter().map(|&(w, h)| vec![1, 3, h, w]).collect();
        plans(&format!("{tag} det"), &detector, &det_shapes)?;
        let rec = load(&format!("{tag} rec full"), &set.recognizer, None)?;
        let rec_shapes: Vec<Vec<usize>> = widths.iter().map(|&w| vec![1, 3, 48, w]).collect();
        plans(&format!("{tag} rec full"), &rec, &rec_shapes)?;
        let dictionary = Dictionary::from_lines(rec.metadata("character").ok_or("no dictionary")?);
        let keep = dictionary.classes_where(is_latin_symbol);
        let latin = load(&format!("{tag} rec latin"), &set.recognizer, Some(&keep))?;
        plans(&format!("{tag} rec latin"), &latin, &rec_shapes)?;
        if let Some(path) = &set.classifier {
            let cls = load(&format!("{tag} cls"), path, None)?;
            plans(&format!("{tag} cls"), &cls, &[vec![1, 3, 48, 192]])?;
            alive.push(cls);
        }
        alive.extend([detector, rec, latin]);
    }
    println!("total live heap: {:.1} MB", mb(LIVE.load(Ordering::Relaxed) - start_live));
    Ok(())
}
