//! Engine benchmark: single-thread CPU seconds per page (split by stage for
//! ours) and accuracy, per corpus folder, for Engines 1-3 and three peers run
//! on the same files in the same run:
//! - `rapidocr_onnxruntime==1.4.4` (Engine 1's PP-OCRv4 models, onnxruntime, one thread);
//! - `rapidocr==3.10.0` (Engine 2's PP-OCRv6 small files, onnxruntime, one thread);
//! - Tesseract 5 (Debian's `tesseract-ocr`, `-l eng`, `OMP_THREAD_LIMIT=1`).
//!
//! Engine 3 is [`AccurateEngine`] (Engine 2 with every accuracy option and
//! Engine 1 as second opinion). The "a4" group is one A4 page at 300 dpi made
//! from a receipt scan (speed only: no ground truth).
//!
//! ```text
//! cargo run -p ocr-engine --example bench -- [--engines 1,2,3] [--folders receipts,lines,lines-wide,pages,a4]
//!     [--runs N] [--no-reference] [--limit K per folder] [DATA_DIR]
//! ```
//!
//! CER is printed for every folder but means reading order only where the
//! ground truth is in reading order (receipts, lines); `pages/` ground truth
//! is in the PDF's word order, so read its bag-of-words F1.
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
    decode_image, AccurateEngine, DecodeLimits, EngineConfig, ModelSet, OcrEngine, PageRecognizer, RecognizeOptions,
    StageTimings,
};

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

fn measure(engine: &dyn PageRecognizer, path: &Path, runs: usize) -> Result<Measured, Box<dyn std::error::Error>> {
    let bytes = std::fs::read(path)?;
    let (pages, _) = engine.recognize_bytes_timed(&bytes, &RecognizeOptions::default())?; // warm-up
    let text = pages.iter().map(|p| p.text()).collect::<Vec<_>>().join("\n");
    let mut samples: Vec<(f64, StageTimings)> = Vec::new();
    for _ in 0..runs {
        let before = thread_cpu_time();
        let (_, t) = engine.recognize_bytes_timed(&bytes, &RecognizeOptions::default())?;
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

/// Runs a peer pipeline over `images` (`v4`, `v6`: `scripts/reference-bench`;
/// `tesseract`: `scripts/tesseract-bench`) and reads its JSON lines.
fn run_reference(
    pipeline: &str,
    models: &str,
    images: &[PathBuf],
    runs: usize,
) -> Result<Vec<Reading>, Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    eprintln!("running the {pipeline} peer pipeline ...");
    let mut command = if pipeline == "tesseract" {
        Command::new(root.join("scripts/tesseract-bench"))
    } else {
        let mut c = Command::new(root.join("scripts/reference-bench"));
        c.args(["--pipeline", pipeline, "--models", models]);
        c
    };
    let out = command.arg("--runs").arg(runs.to_string()).args(images).output()?;
    if !out.status.success() {
        return Err(format!("{pipeline} bench failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let mut results = Vec::new();
    for line in String::from_utf8(out.stdout)?.lines().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        results.push(Reading {
            cpu: v["total_cpu_s"].as_f64().unwrap_or(f64::NAN),
            text: v["text"].as_str().unwrap_or_default().to_string(),
            stages: None,
        });
    }
    if results.len() != images.len() {
        return Err(format!("{pipeline} bench returned {} results for {} images", results.len(), images.len()).into());
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
    let (mut runs, mut reference, mut limit, mut data) = (1usize, true, usize::MAX, PathBuf::from("../shared/data"));
    let mut engines = vec![1u8, 2, 3];
    let mut folders: Vec<String> = vec!["receipts".into(), "a4".into()];
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
            "--folders" => {
                folders = args.next().ok_or("--folders needs a value")?.split(',').map(String::from).collect()
            }
            "--no-reference" => reference = false,
            other => data = other.into(),
        }
    }
    let models = std::env::var("OCR_MODELS_DIR").unwrap_or_else(|_| "models".into());
    let models_abs = std::fs::canonicalize(&models)?.to_string_lossy().into_owned();
    let tmp = std::env::temp_dir().join(format!("ocr-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let mut samples: Vec<Sample> = Vec::new();
    for folder in &folders {
        if folder == "a4" {
            samples.push(Sample { folder: "a4".into(), path: make_a4_page(&data, &tmp)?, truth: None });
            continue;
        }
        let mut paths: Vec<PathBuf> = std::fs::read_dir(data.join(folder))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("jpg" | "png")))
            .collect();
        paths.sort();
        paths.truncate(limit);
        for path in paths {
            let truth = Some(std::fs::read_to_string(path.with_extension("gt.txt"))?);
            samples.push(Sample { folder: folder.clone(), path, truth });
        }
    }
    let images: Vec<PathBuf> = samples.iter().map(|s| s.path.clone()).collect();
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

    // Every pipeline's readings: (name, per-image CPU s and text, per-image stages for ours).
    let mut results: Vec<Pipeline> = Vec::new();
    for &n in &engines {
        let reader: Arc<dyn PageRecognizer> = match n {
            1 => engine1.clone().ok_or("engine 1")?,
            2 => engine2.clone().ok_or("engine 2")?,
            3 => Arc::new(AccurateEngine::new(engine2.clone().ok_or("engine 2")?, engine1.clone().ok_or("engine 1")?)),
            other => return Err(format!("no engine {other}").into()),
        };
        eprintln!("running Engine {n} ...");
        let mut readings = Vec::with_capacity(images.len());
        for path in &images {
            let m = measure(reader.as_ref(), path, runs)?;
            readings.push(Reading { cpu: m.cpu, text: m.text, stages: Some(m.stages) });
        }
        results.push(Pipeline { name: format!("Engine {n}"), readings });
    }
    if reference {
        for (name, pipeline) in [("rapidocr v4 (ort)", "v4"), ("rapidocr v6 (ort)", "v6"), ("Tesseract 5", "tesseract")]
        {
            let readings = run_reference(pipeline, &models_abs, &images, runs)?;
            results.push(Pipeline { name: name.into(), readings });
        }
    }
    for folder in &folders {
        report_folder(folder, &samples, &results);
    }
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

/// One input image of the run.
struct Sample {
    folder: String,
    path: PathBuf,
    truth: Option<String>,
}

/// One pipeline's reading of one image.
struct Reading {
    cpu: f64,
    text: String,
    stages: Option<StageTimings>,
}

/// Every reading of one pipeline, in the order of the samples.
struct Pipeline {
    name: String,
    readings: Vec<Reading>,
}

/// Prints, for one folder, every pipeline's CPU seconds per page, accuracy
/// and CPU ratio against each peer.
fn report_folder(folder: &str, samples: &[Sample], results: &[Pipeline]) {
    let indices: Vec<usize> = (0..samples.len()).filter(|&i| samples[i].folder == folder).collect();
    if indices.is_empty() {
        return;
    }
    let k = indices.len() as f64;
    println!("\n== {folder} ({} images; single thread, CPU s/page, medians of the runs)", indices.len());
    println!(
        "{:<20} {:>8} {:>8} {:>9} {:>8} {:>9} {:>7}   stages (decode/detect/classify/recognise/post)",
        "pipeline", "CPU s", "CER", "CER nocase", "BoW F1", "F1 nocase", "digits"
    );
    let mut cpu_of = Vec::new();
    for p in results {
        let cpu: f64 = indices.iter().map(|&i| p.readings[i].cpu).sum::<f64>() / k;
        cpu_of.push((p.name.clone(), cpu));
        let mut scores = Scores::default();
        let mut stages = StageTimings::default();
        for &i in &indices {
            if let Some(truth) = &samples[i].truth {
                scores += Scores::of(&p.readings[i].text, truth);
            }
            if let Some(s) = p.readings[i].stages {
                stages += s;
            }
        }
        let accuracy = if samples[indices[0]].truth.is_some() {
            format!(
                "{:>8.4} {:>9.4} {:>8.4} {:>9.4} {:>7.3}",
                scores.cer(),
                scores.cer_caseless(),
                scores.bag_of_words_f1(),
                scores.bag_of_words_f1_caseless(),
                scores.digit_words_whole_rate()
            )
        } else {
            format!("{:>8} {:>9} {:>8} {:>9} {:>7}", "-", "-", "-", "-", "-")
        };
        let split = if p.readings[indices[0]].stages.is_some() {
            let per = |d: Duration| d.as_secs_f64() / k;
            format!(
                "   {:.3}/{:.3}/{:.3}/{:.3}/{:.3}",
                per(stages.decode),
                per(stages.detect),
                per(stages.classify),
                per(stages.recognize),
                per(stages.postprocess)
            )
        } else {
            String::new()
        };
        println!("{:<20} {:>8.3} {accuracy}{split}", p.name, cpu);
    }
    let ours: Vec<&(String, f64)> = cpu_of.iter().filter(|(n, _)| n.starts_with("Engine")).collect();
    let peers: Vec<&(String, f64)> = cpu_of.iter().filter(|(n, _)| !n.starts_with("Engine")).collect();
    for (name, cpu) in ours {
        let ratios: Vec<String> = peers.iter().map(|(peer, pc)| format!("{:.2}x {peer}", cpu / pc)).collect();
        if !ratios.is_empty() {
            println!("{folder}: {name} CPU = {}", ratios.join(", "));
        }
    }
}
