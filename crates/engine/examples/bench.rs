//! Engine benchmark: single-thread CPU seconds per page, split by stage, for
//! the shared receipts and one full A4 page at 300 dpi, next to the Python
//! reference pipelines on onnxruntime (one thread) on the same images in the
//! same run, with accuracy for both:
//! - Engine 1 (PP-OCRv4) against `rapidocr_onnxruntime==1.4.4` (v4 models);
//! - Engine 2 (PP-OCRv6 small) and Engine 3 ([`AccurateEngine`]: Engine 2
//!   with every accuracy option and Engine 1 as second opinion) against
//!   `rapidocr==3.10.0` running the same v6 model files.
//!
//! ```text
//! cargo run --release -p ocr-engine --example bench -- [--engines 1,2,3] [--runs N] [--no-reference] [--limit K] [DATA_DIR]
//! ```
//!
//! Every crate is compiled at opt-level 3 in the dev profile (see the
//! workspace manifest), so this measures optimised code without a second
//! build of tract. Plans for every input shape are built before timing, as
//! the server does at start-up. The reference runs through
//! `scripts/reference-bench`, which installs it in a virtualenv.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use ocr_engine::eval::Scores;
use ocr_engine::imageops::resize;
use ocr_engine::{
    decode_image, AccurateEngine, DecodeLimits, EngineConfig, ModelSet, OcrEngine, PageResult, RecognizeOptions,
    StageTimings,
};

/// One of the engines under test.
enum Reader {
    Single(Arc<OcrEngine>),
    Accurate(AccurateEngine),
}

impl Reader {
    fn read(&self, bytes: &[u8]) -> ocr_engine::Result<(Vec<PageResult>, StageTimings)> {
        let options = RecognizeOptions::default();
        match self {
            Reader::Single(e) => e.recognize_bytes_timed(bytes, &options),
            Reader::Accurate(e) => e.recognize_bytes_timed(bytes, &options),
        }
    }
}

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

fn measure(engine: &Reader, path: &Path, runs: usize) -> Result<Measured, Box<dyn std::error::Error>> {
    let bytes = std::fs::read(path)?;
    let (pages, _) = engine.read(&bytes)?; // warm-up
    let text = pages.iter().map(|p| p.text()).collect::<Vec<_>>().join("\n");
    let mut samples: Vec<(f64, StageTimings)> = Vec::new();
    for _ in 0..runs {
        let before = thread_cpu_time();
        let (_, t) = engine.read(&bytes)?;
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

fn run_reference(
    pipeline: &str,
    models: &str,
    images: &[PathBuf],
    runs: usize,
) -> Result<Vec<Reference>, Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    eprintln!("running the {pipeline} reference pipeline ...");
    let out = Command::new(root.join("scripts/reference-bench"))
        .args(["--pipeline", pipeline, "--models", models, "--runs"])
        .arg(runs.to_string())
        .args(images)
        .output()?;
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
    let mut engines = vec![1u8, 2, 3];
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().ok_or("--runs needs a value")?.parse()?,
            "--limit" => limit = args.next().ok_or("--limit needs a value")?.parse()?,
            "--engines" => {
                engines = args
                    .next()
                    .ok_or("--engines needs a value")?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--no-reference" => reference = false,
            other => data = other.into(),
        }
    }
    let models = std::env::var("OCR_MODELS_DIR").unwrap_or_else(|_| "models".into());
    let models_abs = std::fs::canonicalize(&models)?.to_string_lossy().into_owned();
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
    let sizes: Vec<(u32, u32)> = images.iter().filter_map(|p| image::image_dimensions(p).ok()).collect();

    let needs = |n: u8| engines.contains(&n);
    let load = |set: ModelSet, config: EngineConfig| -> Result<Arc<OcrEngine>, Box<dyn std::error::Error>> {
        eprintln!("loading {} and preparing plans ...", set.name);
        let engine = OcrEngine::load(&set, config)?;
        engine.prepare(&sizes)?;
        Ok(Arc::new(engine))
    };
    let engine1 =
        if needs(1) || needs(3) { Some(load(ModelSet::engine1(&models), EngineConfig::engine1())?) } else { None };
    let engine2 =
        if needs(2) || needs(3) { Some(load(ModelSet::engine2(&models), EngineConfig::engine2())?) } else { None };

    let ref_v4 = if reference && needs(1) { Some(run_reference("v4", &models_abs, &images, runs)?) } else { None };
    let ref_v6 =
        if reference && (needs(2) || needs(3)) { Some(run_reference("v6", &models_abs, &images, runs)?) } else { None };

    let mut summary = Vec::new();
    for &n in &engines {
        let (reader, refs, ref_name) = match n {
            1 => (Reader::Single(engine1.clone().ok_or("engine 1")?), &ref_v4, "rapidocr_onnxruntime 1.4.4 (v4)"),
            2 => (Reader::Single(engine2.clone().ok_or("engine 2")?), &ref_v6, "rapidocr 3.10.0 (v6 small)"),
            3 => (
                Reader::Accurate(AccurateEngine::new(
                    engine2.clone().ok_or("engine 2")?,
                    engine1.clone().ok_or("engine 1")?,
                )),
                &ref_v6,
                "rapidocr 3.10.0 (v6 small)",
            ),
            other => return Err(format!("no engine {other}").into()),
        };
        println!("\n== Engine {n} (reference: {ref_name})");
        summary.push(bench_engine(n, &reader, refs.as_deref(), ref_name, &images, receipts.len(), runs)?);
    }
    println!("\n== Summary (receipts, single thread, CPU s/page; ratio = ours / reference)");
    for line in summary {
        println!("{line}");
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

/// Measures one engine over `images` (the first `receipts` have ground
/// truth), prints the per-image table and returns a summary line.
fn bench_engine(
    n: u8,
    engine: &Reader,
    refs: Option<&[Reference]>,
    ref_name: &str,
    images: &[PathBuf],
    receipts: usize,
    runs: usize,
) -> Result<String, Box<dyn std::error::Error>> {
    println!(
        "{:<28} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8} | {:>7} {:>7} {:>7} {:>7} {:>8} | {:>6}",
        "image", "decode", "detect", "class.", "recog.", "post", "ours", "decode", "det", "cls", "rec", "ref", "ratio"
    );
    let (mut ours_scores, mut ref_scores) = (Scores::default(), Scores::default());
    let (mut ours_total, mut ref_total) = (0.0, 0.0);
    let mut ours_stages = StageTimings::default();
    for (i, path) in images.iter().enumerate() {
        let m = measure(engine, path, runs)?;
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
        if let Some(r) = refs.map(|r| &r[i]) {
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
        if i < receipts {
            let truth = std::fs::read_to_string(path.with_extension("gt.txt"))?;
            ours_scores += Scores::of(&m.text, &truth);
            ours_total += m.cpu;
            ours_stages += m.stages;
            if let Some(r) = refs.map(|r| &r[i]) {
                ref_scores += Scores::of(&r.text, &truth);
                ref_total += r.cpu;
            }
        }
    }
    let k = receipts as f64;
    let per = |d: Duration| d.as_secs_f64() / k;
    println!(
        "receipts: ours {:.3} CPU s/page (decode {:.3}, detect {:.3}, classify {:.3}, recognise {:.3}, post-process {:.3})",
        ours_total / k,
        per(ours_stages.decode),
        per(ours_stages.detect),
        per(ours_stages.classify),
        per(ours_stages.recognize),
        per(ours_stages.postprocess)
    );
    let acc = |s: &Scores| {
        format!(
            "CER {:.4}, caseless CER {:.4}, bag-of-words F1 {:.4} (caseless {:.4})",
            s.cer(),
            s.cer_caseless(),
            s.bag_of_words_f1(),
            s.bag_of_words_f1_caseless()
        )
    };
    println!("receipts accuracy, ours: {}", acc(&ours_scores));
    let mut line = format!("Engine {n}: ours {:.3}", ours_total / k);
    if refs.is_some() {
        println!(
            "receipts: reference {:.3} CPU s/page; ours / reference = {:.2}x",
            ref_total / k,
            ours_total / ref_total
        );
        println!("receipts accuracy, reference: {}", acc(&ref_scores));
        line += &format!(", {ref_name} {:.3}, ratio {:.2}x", ref_total / k, ours_total / ref_total);
    }
    Ok(line)
}
