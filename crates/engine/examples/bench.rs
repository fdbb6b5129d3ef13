//! Engine benchmark: single-thread CPU seconds per page, split by stage, for
//! the shared receipts and one full A4 page at 300 dpi, next to the Python
//! reference pipeline (`rapidocr_onnxruntime==1.4.4` on onnxruntime, one
//! thread) on the same images in the same run, with accuracy for both.
//!
//! ```text
//! cargo run -p ocr-engine --example bench -- [--runs N] [--no-reference] [--limit K] [DATA_DIR]
//! ```
//!
//! Every crate is compiled at opt-level 3 in the dev profile (see the
//! workspace manifest), so this measures optimised code without a second
//! build of tract. Plans for every input shape are built before timing, as
//! the server does at start-up. The reference runs through
//! `scripts/reference-bench`, which installs it in a virtualenv.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ocr_engine::eval::Scores;
use ocr_engine::imageops::resize;
use ocr_engine::{decode_image, DecodeLimits, EngineConfig, ModelSet, OcrEngine, RecognizeOptions, StageTimings};

/// CPU time consumed by the calling thread so far (Linux schedstat, ns resolution).
fn thread_cpu_time() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns: u64 = text.split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(0);
    Duration::from_nanos(ns)
}

struct Measured {
    stages: StageTimings,
    cpu: f64,
    text: String,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn measure(engine: &OcrEngine, path: &Path, runs: usize) -> Result<Measured, Box<dyn std::error::Error>> {
    let bytes = std::fs::read(path)?;
    let options = RecognizeOptions::default();
    let (pages, _) = engine.recognize_bytes_timed(&bytes, &options)?; // warm-up
    let text = pages.iter().map(|p| p.text()).collect::<Vec<_>>().join("\n");
    let mut samples: Vec<(f64, StageTimings)> = Vec::new();
    for _ in 0..runs {
        let before = thread_cpu_time();
        let (_, t) = engine.recognize_bytes_timed(&bytes, &options)?;
        samples.push(((thread_cpu_time() - before).as_secs_f64(), t));
    }
    let cpu = median(samples.iter().map(|s| s.0).collect());
    let pick = |f: fn(&StageTimings) -> Duration| {
        Duration::from_secs_f64(median(samples.iter().map(|s| f(&s.1).as_secs_f64()).collect()))
    };
    let stages = StageTimings {
        decode: pick(|t| t.decode),
        detect: pick(|t| t.detect),
        classify: pick(|t| t.classify),
        recognize: pick(|t| t.recognize),
        postprocess: pick(|t| t.postprocess),
    };
    Ok(Measured { stages, cpu, text })
}

#[derive(Default)]
struct Reference {
    decode: f64,
    det: f64,
    cls: f64,
    rec: f64,
    cpu: f64,
    text: String,
}

fn run_reference(images: &[PathBuf], runs: usize) -> Result<Vec<Reference>, Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out =
        Command::new(root.join("scripts/reference-bench")).arg("--runs").arg(runs.to_string()).args(images).output()?;
    if !out.status.success() {
        return Err(format!("reference-bench failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let mut results = Vec::new();
    for line in String::from_utf8(out.stdout)?.lines().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
        results.push(Reference {
            decode: f("decode_s"),
            det: f("det_s"),
            cls: f("cls_s"),
            rec: f("rec_s"),
            cpu: f("total_cpu_s"),
            text: v["text"].as_str().unwrap_or_default().to_string(),
        });
    }
    if results.len() != images.len() {
        return Err(format!("reference-bench returned {} results for {} images", results.len(), images.len()).into());
    }
    Ok(results)
}

/// Writes a 300 dpi A4 page (2480x3508) made from a 600 dpi A4 receipt scan.
fn make_a4_page(data: &Path, out_dir: &Path) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let source = data.join("receipts/519.jpg");
    let page = decode_image(&std::fs::read(&source)?, &DecodeLimits::default())?.remove(0);
    let a4 = resize(&page, 2480, 3508);
    let path = out_dir.join("a4-300dpi-519.png");
    a4.save(&path)?;
    Ok(path)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut runs, mut reference, mut limit, mut data) = (3usize, true, usize::MAX, PathBuf::from("../shared/data"));
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().ok_or("--runs needs a value")?.parse()?,
            "--limit" => limit = args.next().ok_or("--limit needs a value")?.parse()?,
            "--no-reference" => reference = false,
            other => data = other.into(),
        }
    }
    let models = std::env::var("OCR_MODELS_DIR").unwrap_or_else(|_| "models".into());
    let engine = OcrEngine::load(&ModelSet::engine1(&models), EngineConfig::default())?;
    let mut receipts: Vec<PathBuf> = std::fs::read_dir(data.join("receipts"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    receipts.sort();
    receipts.truncate(limit);
    let tmp = std::env::temp_dir().join(format!("ocr-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let a4 = make_a4_page(&data, &tmp)?;
    let mut images = receipts.clone();
    images.push(a4.clone());

    eprintln!("preparing plans ...");
    let sizes: Vec<(u32, u32)> = images.iter().filter_map(|p| image::image_dimensions(p).ok()).collect();
    engine.prepare(&sizes)?;

    let refs = if reference { Some(run_reference(&images, runs)?) } else { None };
    println!(
        "{:<28} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8} | {:>7} {:>7} {:>7} {:>7} {:>8} | {:>6}",
        "image", "decode", "detect", "class.", "recog.", "post", "ours", "decode", "det", "cls", "rec", "ref", "ratio"
    );
    let (mut ours_scores, mut ref_scores) = (Scores::default(), Scores::default());
    let (mut ours_total, mut ref_total) = (0.0, 0.0);
    let mut ours_stages = StageTimings::default();
    for (i, path) in images.iter().enumerate() {
        let m = measure(&engine, path, runs)?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let s = &m.stages;
        let mut row = format!(
            "{:<28} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>8.3}",
            name,
            s.decode.as_secs_f64(),
            s.detect.as_secs_f64(),
            s.classify.as_secs_f64(),
            s.recognize.as_secs_f64(),
            s.postprocess.as_secs_f64(),
            m.cpu
        );
        if let Some(r) = refs.as_ref().map(|r| &r[i]) {
            row += &format!(
                " | {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>8.3} | {:>6.2}",
                r.decode,
                r.det,
                r.cls,
                r.rec,
                r.cpu,
                m.cpu / r.cpu
            );
        }
        println!("{row}");
        if i < receipts.len() {
            let truth = std::fs::read_to_string(path.with_extension("gt.txt"))?;
            ours_scores += Scores::of(&m.text, &truth);
            ours_total += m.cpu;
            ours_stages += m.stages;
            if let Some(r) = refs.as_ref().map(|r| &r[i]) {
                ref_scores += Scores::of(&r.text, &truth);
                ref_total += r.cpu;
            }
        }
    }
    let n = receipts.len() as f64;
    let per = |d: Duration| d.as_secs_f64() / n;
    println!(
        "\nreceipts: ours {:.3} CPU s/page (decode {:.3}, detect {:.3}, classify {:.3}, recognise {:.3}, post-process {:.3})",
        ours_total / n,
        per(ours_stages.decode),
        per(ours_stages.detect),
        per(ours_stages.classify),
        per(ours_stages.recognize),
        per(ours_stages.postprocess)
    );
    println!(
        "receipts accuracy, ours: CER {:.4}, caseless CER {:.4}, bag-of-words F1 {:.4} (caseless {:.4})",
        ours_scores.cer(),
        ours_scores.cer_caseless(),
        ours_scores.bag_of_words_f1(),
        ours_scores.bag_of_words_f1_caseless()
    );
    if refs.is_some() {
        println!(
            "receipts: reference {:.3} CPU s/page; ours / reference = {:.2}x",
            ref_total / n,
            ours_total / ref_total
        );
        println!(
            "receipts accuracy, reference: CER {:.4}, caseless CER {:.4}, bag-of-words F1 {:.4} (caseless {:.4})",
            ref_scores.cer(),
            ref_scores.cer_caseless(),
            ref_scores.bag_of_words_f1(),
            ref_scores.bag_of_words_f1_caseless()
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}
