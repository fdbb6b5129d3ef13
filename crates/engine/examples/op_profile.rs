//! Where a recogniser call's time goes in tract, node by node, on one thread.
//!
//! Real line crops are taken from the first `--limit` images of each folder
//! (Engine 1's detector and cropping, at the engine's working size), then
//! each recogniser variant is profiled:
//! - `E1 latin`: PP-OCRv4 with its output layer pruned to the Latin classes
//!   (what Engine 1 runs for `eng`), `E1 full`: all 6625 classes,
//!   `E2 latin`: PP-OCRv6 small pruned to the Latin classes;
//! - per width bucket (`--widths`): one call's time through the engine's
//!   [`Model::run`] (plan look-up, input copy, state spawn, output copy), a
//!   bare `plan.run`, a reused state, and the sum of the node times, so the
//!   per-call overhead shows at narrow widths; then the per-operator split;
//! - over every crop of the corpus, each read as the recogniser reads it
//!   (padded to its bucket, wide crops in windows): time per operator type
//!   and the costliest nodes (`--top`);
//! - with `--batch 4,8`: per-crop cost of one call on N crops against N calls;
//! - with `--ab`: a same-run interleaved A/B of the variants over every crop,
//!   with how many crops each variant reads differently from the first.
//!
//! With `--det`, the variants are Engine 1's detector (`det`; `det2`:
//! Engine 2's, run with Engine 1's input geometry; with the same suffixes): a node profile of the first page's plan, then (with `--ab`) a
//! same-run A/B over every page, with how many probability-map pixels flip
//! at the DB threshold and whether the boxes change.
//!
//! `--save-readings FILE` (with `--ab`) writes the first variant's greedy
//! class sequence for every crop, one line each, to compare runs that cannot
//! share a process (tract's process-wide knobs, e.g. `TRACT_AMX_BF16=1`).
//!
//! A variant name takes graph-edit suffixes: `+hs` folds the exported
//! hard-swish activations (`fuse_hardswish`), `+af` the constant scale/shift
//! steps into the neighbouring convolutions (`fold_affine`), `+ds` runs the
//! row-strided depthwise convolutions unstrided and subsampled
//! (`unstride_depthwise`, applied to each plan's graph), `k:NAME=VALUE`
//! sets a scopable tract knob while the variant's plans are built, e.g.
//! `--ab --variants e1-latin+hs,e1-latin+hs+af,e1-latin+hs+k:TRACT_DISABLE_DIRECT_SPATIAL=1`.
//!
//! Node times come from `SimpleState::run_plan_with_eval`, timing
//! `tract_core::plan::eval` for each node.
//!
//! ```text
//! cargo run --release -p ocr-engine --example op_profile -- [--folders receipts] [--limit 3]
//!     [--variants e1-latin,e1-full,e2-latin] [--widths 32,64,96,160,320,512,768] [--runs 5]
//!     [--top 15] [--batch 4,8] [--dump] [--ab] [--det] [--save-readings FILE] [DATA_DIR]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ocr_engine::affine::fold_affine;
use ocr_engine::crop::crop_line;
use ocr_engine::detection::{stretch_contrast, Detector};
use ocr_engine::imageops::{resize, write_bgr_normalised};
use ocr_engine::model::{DenseTensor, Model, OnnxModel};
use ocr_engine::recognition::{fuse_hardswish, keep_output_classes, Dictionary, RecognizerConfig};
use ocr_engine::transpose::{transpose_spatial, TallAsWide};
use ocr_engine::unstride::unstride_depthwise;
use ocr_engine::{decode_image, is_latin_symbol, DecodeLimits, EngineConfig, ModelSet, RgbImage};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::knobs::KnobScope;
use tract_onnx::tract_core::plan::eval;

type BoxError = Box<dyn std::error::Error>;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Options from the command line.
struct Args {
    data: PathBuf,
    folders: Vec<String>,
    limit: usize,
    variants: Vec<String>,
    widths: Vec<u32>,
    runs: usize,
    top: usize,
    batch: Vec<usize>,
    dump: bool,
    ab: bool,
    det: bool,
    save_readings: Option<PathBuf>,
}

fn list<T: std::str::FromStr>(v: &str) -> Vec<T> {
    v.split(',').filter_map(|s| s.trim().parse().ok()).collect()
}

fn parse_args() -> Args {
    let mut a = Args {
        data: PathBuf::from("/work/shared/data"),
        folders: vec!["receipts".into()],
        limit: 3,
        variants: vec!["e1-latin".into(), "e1-full".into(), "e2-latin".into()],
        widths: vec![32, 64, 96, 160, 320, 512, 768],
        runs: 5,
        top: 15,
        batch: Vec::new(),
        dump: false,
        ab: false,
        det: false,
        save_readings: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_default();
        match arg.as_str() {
            "--folders" => a.folders = list(&value()),
            "--limit" => a.limit = value().parse().unwrap_or(3),
            "--variants" => a.variants = list(&value()),
            "--widths" => a.widths = list(&value()),
            "--runs" => a.runs = value().parse().unwrap_or(5).max(1),
            "--top" => a.top = value().parse().unwrap_or(15),
            "--batch" => a.batch = list(&value()),
            "--dump" => a.dump = true,
            "--ab" => a.ab = true,
            "--det" => a.det = true,
            "--save-readings" => a.save_readings = Some(PathBuf::from(value())),
            other => a.data = PathBuf::from(other),
        }
    }
    a
}

/// The first `limit` images of `folder`, at Engine 1's working size.
fn pages_of(folder: &Path, limit: usize, config: &EngineConfig) -> Result<Vec<(PathBuf, RgbImage)>, BoxError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg" || e == "png"))
        .collect();
    files.sort();
    let mut pages = Vec::new();
    for path in files.into_iter().take(limit) {
        let page = decode_image(&std::fs::read(&path)?, &DecodeLimits::default())?.remove(0);
        let long = page.width().max(page.height());
        let page = if long > config.max_working_side {
            let s = config.max_working_side as f32 / long as f32;
            resize(&page, (page.width() as f32 * s).round() as u32, (page.height() as f32 * s).round() as u32)
        } else {
            page
        };
        pages.push((path, page));
    }
    Ok(pages)
}

/// Line crops of the first `limit` images of `folder`, cut as Engine 1 cuts them.
fn crops_of(
    folder: &Path,
    limit: usize,
    detector: &Detector,
    config: &EngineConfig,
) -> Result<Vec<RgbImage>, BoxError> {
    let mut crops = Vec::new();
    for (path, page) in pages_of(folder, limit, config)? {
        let (map, g) = detector.probability_map(&page)?;
        let boxes = detector.boxes(&map, &g, page.width(), page.height());
        let rec = &config.recognizer;
        let before = crops.len();
        crops.extend(
            boxes.iter().filter_map(|b| crop_line(&page, &b.quad, rec.height, rec.max_width())).map(|c| c.image),
        );
        eprintln!("{}: {} crops", path.display(), crops.len() - before);
    }
    Ok(crops)
}

/// The recogniser's input values for `crop` from column `start`, padded to `bucket`.
fn input_data(crop: &RgbImage, start: u32, bucket: u32, height: u32) -> Vec<f32> {
    let width = bucket.min(crop.width().saturating_sub(start));
    let part = image::imageops::crop_imm(crop, start, 0, width, crop.height()).to_image();
    let mut data = vec![0f32; 3 * height as usize * bucket as usize];
    write_bgr_normalised(&part, &mut data, bucket as usize, height as usize);
    data
}

/// As [`input_data`], as a `[1, 3, height, bucket]` tensor.
fn input_for(crop: &RgbImage, start: u32, bucket: u32, height: u32) -> Tensor {
    let data = input_data(crop, start, bucket, height);
    Tensor::from_shape(&[1, 3, height as usize, bucket as usize], &data).expect("input shape")
}

/// Time per node (by node id) accumulated over runs.
struct NodeTimes {
    spent: Vec<Duration>,
    calls: usize,
}

impl NodeTimes {
    fn new(plan: &TypedRunnableModel) -> Self {
        Self { spent: vec![Duration::ZERO; plan.model().nodes().len()], calls: 0 }
    }

    fn total(&self) -> Duration {
        self.spent.iter().sum()
    }
}

/// Runs `state` on `input`, adding each node's evaluation time to `times`.
fn run_timed(state: &mut TypedSimpleState, input: Tensor, times: &mut NodeTimes) -> TractResult<TVec<TValue>> {
    times.calls += 1;
    let spent = &mut times.spent;
    state.run_plan_with_eval(tvec!(input.into_tvalue()), |ctx, op_state, node, inputs| {
        let clock = Instant::now();
        let out = eval(ctx, op_state, node, inputs);
        spent[node.id] += clock.elapsed();
        out
    })
}

/// The operator type of a node, as tract names it (binary and element-wise
/// ops carry their operation in the name, e.g. `OptMulByScalar`, `HardSwish`).
fn op_kind(node: &TypedNode) -> String {
    node.op.name().to_string()
}

/// Multiply-adds one evaluation of `node` does, by tract's cost model (0 when unknown).
fn fmas(model: &TypedModel, node: &TypedNode) -> f64 {
    let Ok(facts) = model.node_input_facts(node.id) else { return 0.0 };
    let Ok(costs) = node.op.cost(&facts) else { return 0.0 };
    costs
        .iter()
        .filter(|(c, _)| matches!(c, tract_onnx::tract_core::ops::Cost::FMA(_)))
        .filter_map(|(_, n)| n.to_i64().ok())
        .sum::<i64>() as f64
}

fn shape_of(node: &TypedNode) -> String {
    node.outputs.first().map(|o| format!("{:?}", o.fact.shape)).unwrap_or_default()
}

/// Prints per-operator-type totals, and the `top` costliest nodes.
fn print_profile(plan: &TypedRunnableModel, times: &NodeTimes, top: usize) {
    let model = plan.model();
    let total = ms(times.total()).max(1e-9);
    let calls = times.calls.max(1) as f64;
    let mut by_kind: BTreeMap<String, (f64, usize, f64)> = BTreeMap::new();
    for node in model.nodes() {
        let spent = ms(times.spent[node.id]);
        if spent > 0.0 {
            let e = by_kind.entry(op_kind(node)).or_default();
            e.0 += spent;
            e.1 += 1;
            e.2 += fmas(model, node);
        }
    }
    let mut kinds: Vec<_> = by_kind.into_iter().collect();
    kinds.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    println!("  {:<40} {:>6} {:>10} {:>7} {:>9} {:>8}", "operator", "nodes", "ms/call", "share", "MFMA", "GFMA/s");
    for (kind, (spent, n, f)) in &kinds {
        let per_call = spent / calls;
        println!(
            "  {:<40} {:>6} {:>10.3} {:>6.1}% {:>9.1} {:>8.2}",
            kind,
            n,
            per_call,
            100.0 * spent / total,
            f / 1e6,
            f / 1e6 / per_call.max(1e-9)
        );
    }
    if top > 0 {
        let mut nodes: Vec<_> = model.nodes().iter().filter(|n| times.spent[n.id] > Duration::ZERO).collect();
        nodes.sort_by(|a, b| times.spent[b.id].cmp(&times.spent[a.id]));
        println!("  costliest nodes:");
        for node in nodes.into_iter().take(top) {
            let spent = ms(times.spent[node.id]);
            let name: String = node.name.chars().take(40).collect();
            let f = fmas(model, node);
            println!(
                "  {:>8.3} ms {:>5.1}% {:>7.2} GFMA/s  #{:<4} {:<36} {:<26} -> {}",
                spent / calls,
                100.0 * spent / total,
                f / 1e6 / (spent / calls).max(1e-9),
                node.id,
                name,
                op_kind(node),
                shape_of(node)
            );
        }
    }
}

/// One recogniser variant: its model and output-class count.
struct Variant {
    label: String,
    model: OnnxModel,
    knobs: KnobScope,
}

/// The graph edits and tract knobs a variant name's `+` suffixes ask for:
/// `hs`, `af`, `ds`, and `k:NAME=VALUE` (a scopable tract knob, set while the
/// variant's plans are built).
struct Suffixes {
    fuse: bool,
    fold: bool,
    unstride: bool,
    tall_as_wide: bool,
    knobs: KnobScope,
}

fn suffixes(flags: &[&str]) -> Result<Suffixes, BoxError> {
    let mut knobs = Vec::new();
    for f in flags {
        match *f {
            "hs" | "af" | "ds" | "tw" => {}
            k if k.starts_with("k:") => {
                let (name, value) = k[2..].split_once('=').ok_or("a knob suffix is k:NAME=VALUE")?;
                knobs.push((name, value));
            }
            other => return Err(format!("unknown variant suffix +{other}").into()),
        }
    }
    Ok(Suffixes {
        fuse: flags.contains(&"hs"),
        fold: flags.contains(&"af"),
        unstride: flags.contains(&"ds"),
        tall_as_wide: flags.contains(&"tw"),
        knobs: KnobScope::new(knobs)?,
    })
}

fn load_variant(name: &str, models: &Path) -> Result<Variant, BoxError> {
    // Suffixes: `+hs` folds the exported hard-swish activations (see
    // `fuse_hardswish`), `+af` the constant scale/shift steps next to
    // convolutions (see `fold_affine`); `e1-latin+hs+af` is both.
    let mut parts = name.split('+');
    let name = parts.next().unwrap_or_default();
    let flags: Vec<&str> = parts.collect();
    let Suffixes { fuse, fold, unstride, knobs, .. } = suffixes(&flags)?;
    let (label, set, prune) = match name {
        "e1-latin" => ("E1 latin", ModelSet::engine1(models), true),
        "e1-full" => ("E1 full", ModelSet::engine1(models), false),
        "e2-latin" => ("E2 latin", ModelSet::engine2(models), true),
        "e2-full" => ("E2 full", ModelSet::engine2(models), false),
        other => return Err(format!("unknown variant {other}").into()),
    };
    let full = OnnxModel::load(&set.recognizer, 64)?;
    let dictionary = Dictionary::from_lines(full.metadata("character").ok_or("no dictionary")?);
    let keep = if prune { dictionary.classes_where(is_latin_symbol) } else { (0..dictionary.classes()).collect() };
    let model = OnnxModel::load_edited(&set.recognizer, 64, |proto| {
        if prune {
            keep_output_classes(proto, &keep)?;
        }
        if fuse {
            eprintln!("{label}: {} hard-swish activations folded", fuse_hardswish(proto));
        }
        if fold {
            eprintln!("{label}: {} scale/shift steps folded", fold_affine(proto));
        }
        Ok(())
    })?;
    let model = if unstride { model.editing_plans(unstride_depthwise) } else { model };
    let label = flags.iter().fold(label.to_string(), |l, f| format!("{l} +{f}"));
    Ok(Variant { label, model, knobs })
}

/// Engine 1's detector with the graph edits its suffixes name (see
/// [`load_variant`]); with `+tw`, also its transposed copy, which runs the
/// pages taller than wide (`TallAsWide`).
fn load_detector(name: &str, models: &Path) -> Result<DetectorVariant, BoxError> {
    let mut parts = name.split('+');
    let set = match parts.next() {
        Some("det") => ModelSet::engine1(models),
        Some("det2") => ModelSet::engine2(models),
        _ => return Err(format!("unknown detector variant {name}").into()),
    };
    let flags: Vec<&str> = parts.collect();
    let Suffixes { fuse, fold, unstride, tall_as_wide, knobs } = suffixes(&flags)?;
    let load = |transposed: bool| -> Result<Arc<OnnxModel>, BoxError> {
        let model = OnnxModel::load_edited(&set.detector, 8, |proto| {
            if fuse {
                eprintln!("{name}: {} hard-swish activations folded", fuse_hardswish(proto));
            }
            if fold {
                eprintln!("{name}: {} scale/shift steps folded", fold_affine(proto));
            }
            if transposed {
                let convs = transpose_spatial(proto)
                    .ok_or_else(|| ocr_engine::EngineError::Inference("detector graph cannot be transposed".into()))?;
                eprintln!("{name}: {convs} convolutions transposed");
            }
            Ok(())
        })?;
        Ok(Arc::new(if unstride { model.editing_plans(unstride_depthwise) } else { model }))
    };
    let model = load(false)?;
    let tall = if tall_as_wide { Some(load(true)?) } else { None };
    Ok(DetectorVariant { label: name.to_string(), model, tall, knobs })
}

/// A detector variant: the model, its transposed copy for tall pages
/// (`+tw`), and the knobs its plans are built with.
struct DetectorVariant {
    label: String,
    model: Arc<OnnxModel>,
    tall: Option<Arc<OnnxModel>>,
    knobs: KnobScope,
}

impl DetectorVariant {
    /// The model the engine would run.
    fn engine_model(&self) -> Box<dyn Model> {
        match &self.tall {
            Some(tall) => {
                Box::new(TallAsWide::new(Box::new(Shared(self.model.clone())), Box::new(Shared(tall.clone()))))
            }
            None => Box::new(Shared(self.model.clone())),
        }
    }
}

/// A model shared between a [`Detector`] and the node profiler.
struct Shared(Arc<OnnxModel>);

impl Model for Shared {
    fn run(&self, input: &DenseTensor) -> ocr_engine::Result<DenseTensor> {
        self.0.run(input)
    }

    fn prepare(&self, shape: &[usize]) -> ocr_engine::Result<()> {
        self.0.prepare(shape)
    }
}

/// The detector variants: a node profile of the first page's plan each,
/// then with `--ab` a same-run interleaved A/B over every page.
fn detector_mode(args: &Args, config: &EngineConfig, models: &Path) -> Result<(), BoxError> {
    let mut pages = Vec::new();
    for folder in &args.folders {
        pages.extend(pages_of(&args.data.join(folder), args.limit, config)?);
    }
    let mut variants = Vec::new();
    for name in &args.variants {
        let v = load_detector(name, models)?;
        let detector = Detector::new(v.engine_model(), config.detector);
        variants.push((v.label.clone(), v, detector, ()));
    }
    let (_, first) = pages.first().ok_or("no pages")?;
    if !args.ab {
        for (label, v, detector, _) in &variants {
            let knobs = &v.knobs;
            // The input the detector builds for the first page.
            let g = detector.input_geometry(first.width(), first.height());
            let mut scaled = resize(first, g.width, g.height);
            stretch_contrast(&mut scaled, config.detector.contrast_tail);
            let (tw, th) = (g.tensor_width as usize, g.tensor_height as usize);
            let mut data = vec![0f32; 3 * tw * th];
            write_bgr_normalised(&scaled, &mut data, tw, th);
            let input = Tensor::from_shape(&[1, 3, th, tw], &data)?;
            // A tall page runs transposed through the `+tw` copy.
            let (model, input, tw, th) = match &v.tall {
                Some(tall) if th > tw => (tall, input.permute_axes(&[0, 1, 3, 2])?, th, tw),
                _ => (&v.model, input, tw, th),
            };
            let plan = knobs.enter(|| model.optimised_plan(&[1, 3, th, tw]))?;
            let mut times = NodeTimes::new(&plan);
            let mut state = plan.spawn()?;
            for _ in 0..args.runs {
                run_timed(&mut state, input.clone(), &mut times)?;
            }
            println!(
                "\n### {label}: {}x{} input, {:.1} ms per call in nodes",
                tw,
                th,
                ms(times.total()) / args.runs as f64
            );
            print_profile(&plan, &times, args.top);
        }
        return Ok(());
    }
    let threshold = config.detector.db.threshold;
    let mut spent = vec![Duration::ZERO; variants.len()];
    let (mut flipped, mut boxes_differ, mut max_diff) =
        (vec![0usize; variants.len()], vec![0usize; variants.len()], vec![0f32; variants.len()]);
    for (i, (path, page)) in pages.iter().enumerate() {
        for (_, v, d, _) in &variants {
            v.knobs.enter(|| d.prepare(page.width(), page.height()))?;
        }
        let mut maps: Vec<Option<(Vec<f32>, ocr_engine::detection::DetectorInput)>> = vec![None; variants.len()];
        for k in 0..variants.len() {
            let j = (i + k) % variants.len();
            let clock = Instant::now();
            maps[j] = Some(variants[j].2.probability_map(page)?);
            spent[j] += clock.elapsed();
        }
        let (base, g) = maps[0].clone().ok_or("no map")?;
        let base_boxes = variants[0].2.boxes(&base, &g, page.width(), page.height());
        for j in 1..variants.len() {
            let (map, g) = maps[j].as_ref().ok_or("no map")?;
            flipped[j] += base.iter().zip(map).filter(|(a, b)| (**a > threshold) != (**b > threshold)).count();
            max_diff[j] = base.iter().zip(map).map(|(a, b)| (a - b).abs()).fold(max_diff[j], f32::max);
            // Box scores (mean probabilities) move with any float change;
            // the quads move only when the binary map does.
            let quads = |b: &[ocr_engine::detection::DetectedBox]| b.iter().map(|b| b.quad).collect::<Vec<_>>();
            if quads(&variants[j].2.boxes(map, g, page.width(), page.height())) != quads(&base_boxes) {
                boxes_differ[j] += 1;
            }
        }
        eprintln!("{}: {} boxes", path.display(), base_boxes.len());
    }
    println!("\n## same-run detector A/B over {} pages (probability_map, plans built beforehand)", pages.len());
    for (j, (label, ..)) in variants.iter().enumerate() {
        println!(
            "  {:<16} {:>10.1} ms  {:>6.3}x the first   pixels flipping at {threshold}: {}, pages with other box quads: {} (max map diff {:.2e})",
            label,
            ms(spent[j]),
            spent[j].as_secs_f64() / spent[0].as_secs_f64(),
            flipped[j],
            boxes_differ[j],
            max_diff[j]
        );
    }
    Ok(())
}

/// The crop of `crops` to time at `width`: the first whose bucket it is,
/// else the first at least that wide (cut), else the widest (padded).
fn crop_for_width<'a>(crops: &'a [RgbImage], width: u32, rec: &RecognizerConfig) -> &'a RgbImage {
    crops
        .iter()
        .find(|c| rec.bucket_for(c.width()) == width)
        .or_else(|| crops.iter().find(|c| c.width() >= width))
        .or_else(|| crops.iter().max_by_key(|c| c.width()))
        .expect("at least one crop")
}

fn profile_widths(v: &Variant, crops: &[RgbImage], args: &Args, rec: &RecognizerConfig) -> Result<(), BoxError> {
    let h = rec.height;
    println!("\n## {}: one call per width (ms; median of {} runs)", v.label, args.runs);
    println!(
        "{:>6} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9}",
        "width", "steps", "Model::run", "plan.run", "reused", "node sum", "overhead", "ms/32px"
    );
    let mut per_width = Vec::new();
    for &width in &args.widths {
        let shape = [1usize, 3, h as usize, width as usize];
        let plan = v.knobs.enter(|| v.model.optimised_plan(&shape))?;
        let crop = crop_for_width(crops, width, rec);
        let dense = DenseTensor { shape: shape.to_vec(), data: input_data(crop, 0, width, h) };
        let input = Tensor::from_shape(&shape, &dense.data)?;
        let steps = plan.run(tvec!(input.clone().into_tvalue()))?[0].shape().get(1).copied().unwrap_or(0);
        let median = |mut f: Box<dyn FnMut() -> Result<Duration, BoxError> + '_>| -> Result<f64, BoxError> {
            let mut v: Vec<f64> = (0..args.runs).map(|_| f().map(ms)).collect::<Result<_, _>>()?;
            v.sort_by(f64::total_cmp);
            Ok(v[v.len() / 2])
        };
        let engine = median(Box::new(|| {
            let clock = Instant::now();
            v.model.run(&dense)?;
            Ok(clock.elapsed())
        }))?;
        let bare = median(Box::new(|| {
            let t = input.clone();
            let clock = Instant::now();
            plan.run(tvec!(t.into_tvalue()))?;
            Ok(clock.elapsed())
        }))?;
        let mut state = plan.spawn()?;
        let reused = median(Box::new(|| {
            let t = input.clone();
            let clock = Instant::now();
            state.run(tvec!(t.into_tvalue()))?;
            Ok(clock.elapsed())
        }))?;
        let mut times = NodeTimes::new(&plan);
        let mut state = plan.spawn()?;
        let mut sums = Vec::new();
        for _ in 0..args.runs {
            let before = times.total();
            run_timed(&mut state, input.clone(), &mut times)?;
            sums.push(ms(times.total() - before));
        }
        sums.sort_by(f64::total_cmp);
        let node_sum = sums[sums.len() / 2];
        println!(
            "{:>6} {:>6} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>9.3}",
            width,
            steps,
            engine,
            bare,
            reused,
            node_sum,
            engine - node_sum,
            engine * 32.0 / width as f64
        );
        per_width.push((width, plan, times));
    }
    for (width, plan, times) in &per_width {
        println!("\n### {} at width {width}", v.label);
        print_profile(plan, times, args.top);
    }
    Ok(())
}

/// Every crop read as the recogniser reads it, one timed run each.
fn profile_corpus(v: &Variant, crops: &[RgbImage], args: &Args, rec: &RecognizerConfig) -> Result<(), BoxError> {
    let h = rec.height;
    let mut per_bucket: BTreeMap<u32, (NodeTimes, Arc<TypedRunnableModel>, usize)> = BTreeMap::new();
    let clock = Instant::now();
    for crop in crops {
        let starts = rec.windows(crop.width());
        let bucket = if starts.len() == 1 { rec.bucket_for(crop.width()) } else { rec.widest_bucket() };
        for &start in &starts {
            let (times, plan, n) = match per_bucket.entry(bucket) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    let plan = v.knobs.enter(|| v.model.optimised_plan(&[1, 3, h as usize, bucket as usize]))?;
                    e.insert((NodeTimes::new(&plan), plan, 0))
                }
            };
            let mut state = plan.spawn()?;
            run_timed(&mut state, input_for(crop, start, bucket, h), times)?;
            *n += 1;
        }
    }
    let wall = clock.elapsed();
    let calls: usize = per_bucket.values().map(|b| b.2).sum();
    let node_total: Duration = per_bucket.values().map(|b| b.0.total()).sum();
    println!(
        "\n## {}: {} crops, {} calls; {:.1} ms in nodes, {:.1} ms wall (inputs, states, outputs included)",
        v.label,
        crops.len(),
        calls,
        ms(node_total),
        ms(wall)
    );
    println!("  {:>6} {:>6} {:>10} {:>7}", "bucket", "calls", "ms", "share");
    for (bucket, (times, _, n)) in &per_bucket {
        println!(
            "  {:>6} {:>6} {:>10.1} {:>6.1}%",
            bucket,
            n,
            ms(times.total()),
            100.0 * times.total().as_secs_f64() / node_total.as_secs_f64()
        );
    }
    // Per operator type over the whole corpus: node ids differ between
    // buckets' plans, so aggregate by kind and by node name.
    let mut by_kind: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    let mut by_node: BTreeMap<String, (f64, String, String)> = BTreeMap::new();
    for (times, plan, _) in per_bucket.values() {
        for node in plan.model().nodes() {
            let spent = ms(times.spent[node.id]);
            if spent > 0.0 {
                let e = by_kind.entry(op_kind(node)).or_default();
                e.0 += spent;
                e.1 += 1;
                let e = by_node.entry(node.name.clone()).or_insert_with(|| (0.0, op_kind(node), shape_of(node)));
                e.0 += spent;
            }
        }
    }
    let total = ms(node_total).max(1e-9);
    let mut kinds: Vec<_> = by_kind.into_iter().collect();
    kinds.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    println!("  {:<48} {:>10} {:>7}", "operator (all buckets)", "ms", "share");
    for (kind, (spent, _)) in &kinds {
        println!("  {:<48} {:>10.1} {:>6.1}%", kind, spent, 100.0 * spent / total);
    }
    let mut nodes: Vec<_> = by_node.into_iter().collect();
    nodes.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    println!("  costliest nodes (all buckets; output shape in the narrowest bucket's plan):");
    for (name, (spent, kind, shape)) in nodes.into_iter().take(args.top) {
        let name: String = name.chars().take(40).collect();
        println!("  {:>8.1} ms {:>5.1}%  {:<40} {:<28} -> {}", spent, 100.0 * spent / total, name, kind, shape);
    }
    Ok(())
}

/// Per-crop cost of one call on `n` crops of width `width` against `n` calls on one.
fn profile_batches(v: &Variant, crops: &[RgbImage], args: &Args, rec: &RecognizerConfig) -> Result<(), BoxError> {
    let h = rec.height as usize;
    println!("\n## {}: batching (ms per crop, median of {} runs)", v.label, args.runs);
    println!("{:>6} {:>6} {:>10} {:>10} {:>7}", "width", "batch", "single", "batched", "ratio");
    for &width in &args.widths {
        for &n in &args.batch {
            let single = v.model.optimised_plan(&[1, 3, h, width as usize])?;
            let batched = v.model.optimised_plan(&[n, 3, h, width as usize])?;
            let one = input_for(crop_for_width(crops, width, rec), 0, width, h as u32);
            let many = Tensor::stack_tensors(0, &vec![one.clone(); n])?;
            let mut a = Vec::new();
            let mut b = Vec::new();
            for _ in 0..args.runs {
                let clock = Instant::now();
                for _ in 0..n {
                    single.run(tvec!(one.clone().into_tvalue()))?;
                }
                a.push(ms(clock.elapsed()) / n as f64);
                let clock = Instant::now();
                batched.run(tvec!(many.clone().into_tvalue()))?;
                b.push(ms(clock.elapsed()) / n as f64);
            }
            a.sort_by(f64::total_cmp);
            b.sort_by(f64::total_cmp);
            let (a, b) = (a[a.len() / 2], b[b.len() / 2]);
            println!("{:>6} {:>6} {:>10.3} {:>10.3} {:>7.2}", width, n, a, b, b / a);
        }
    }
    Ok(())
}

/// Same-run A/B: every crop (each window) read through the engine's
/// [`Model::run`] by every variant in turn, the order rotating from crop to
/// crop, so load changes on a shared machine hit all variants alike.
fn compare(args: &Args, crops: &[RgbImage], rec: &RecognizerConfig, models: &Path) -> Result<(), BoxError> {
    let variants: Vec<Variant> = args.variants.iter().map(|n| load_variant(n, models)).collect::<Result<_, _>>()?;
    let h = rec.height;
    let mut spent = vec![Duration::ZERO; variants.len()];
    // Per variant: crops whose greedy CTC reading differs from the first
    // variant's, and the largest output difference from it.
    let mut differ = vec![0usize; variants.len()];
    let mut max_diff = vec![0f32; variants.len()];
    let mut saved = String::new();
    for (i, crop) in crops.iter().enumerate() {
        let starts = rec.windows(crop.width());
        let bucket = if starts.len() == 1 { rec.bucket_for(crop.width()) } else { rec.widest_bucket() };
        let shape = vec![1usize, 3, h as usize, bucket as usize];
        for v in &variants {
            v.knobs.enter(|| v.model.prepare(&shape))?;
        }
        let mut readings: Vec<Vec<Vec<usize>>> = vec![Vec::new(); variants.len()];
        let mut outputs: Vec<Option<DenseTensor>> = vec![None; variants.len()];
        for &start in &starts {
            let input = DenseTensor { shape: shape.clone(), data: input_data(crop, start, bucket, h) };
            for k in 0..variants.len() {
                let j = (i + k) % variants.len();
                let clock = Instant::now();
                let out = variants[j].model.run(&input)?;
                spent[j] += clock.elapsed();
                readings[j].push(greedy_classes(&out));
                outputs[j] = Some(out);
            }
            for j in 1..variants.len() {
                if let (Some(a), Some(b)) = (&outputs[0], &outputs[j]) {
                    if a.shape == b.shape {
                        let d = a.data.iter().zip(&b.data).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
                        max_diff[j] = max_diff[j].max(d);
                    }
                }
            }
        }
        for j in 1..variants.len() {
            if readings[j] != readings[0] {
                differ[j] += 1;
            }
        }
        saved.push_str(&format!("{i} {:?}\n", readings[0]));
    }
    if let Some(path) = &args.save_readings {
        std::fs::write(path, saved)?;
    }
    println!("\n## same-run A/B over {} crops (Model::run, plans built beforehand)", crops.len());
    for (j, (v, t)) in variants.iter().zip(&spent).enumerate() {
        println!(
            "  {:<24} {:>10.1} ms  {:>6.3}x the first   readings differing from the first: {} of {} crops (max output diff {:.2e})",
            v.label,
            ms(*t),
            t.as_secs_f64() / spent[0].as_secs_f64(),
            differ[j],
            crops.len(),
            max_diff[j]
        );
    }
    Ok(())
}

/// The greedy CTC reading of a recogniser output `[1, T, C]`: the arg-max
/// class per step, repeats merged, blanks (class 0) dropped.
fn greedy_classes(out: &DenseTensor) -> Vec<usize> {
    let classes = out.shape.last().copied().unwrap_or(1).max(1);
    let mut previous = 0;
    let mut read = Vec::new();
    for step in out.data.chunks_exact(classes) {
        let best = step.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(k, _)| k);
        if best != 0 && best != previous {
            read.push(best);
        }
        previous = best;
    }
    read
}

/// Prints the optimised graph: one line per node with its inputs and output fact.
fn dump(plan: &TypedRunnableModel) {
    let model = plan.model();
    for &id in plan.order_without_consts() {
        let node = &model.nodes()[id];
        let inputs: Vec<String> = node
            .inputs
            .iter()
            .map(|i| {
                let fact = model.outlet_fact(*i).map(|f| format!("{:?}", f.shape)).unwrap_or_default();
                let konst = model.nodes()[i.node].op_is::<tract_onnx::tract_core::ops::konst::Const>();
                format!("#{}{}{}", i.node, if konst { "=const" } else { "" }, fact)
            })
            .collect();
        println!("#{id:<4} {:<36} {:<30} [{}] -> {}", node.name, op_kind(node), inputs.join(", "), shape_of(node));
    }
}

fn main() -> Result<(), BoxError> {
    let args = parse_args();
    let models = PathBuf::from(std::env::var("OCR_MODELS_DIR").unwrap_or_else(|_| "models".into()));
    let config = EngineConfig::engine1();
    if args.det {
        return detector_mode(&args, &config, &models);
    }
    let det = OnnxModel::load(&ModelSet::engine1(&models).detector, 8)?;
    let detector = Detector::new(Box::new(det), config.detector);
    let mut crops = Vec::new();
    for folder in &args.folders {
        crops.extend(crops_of(&args.data.join(folder), args.limit, &detector, &config)?);
    }
    if crops.is_empty() {
        return Err("no crops".into());
    }
    let rec = &config.recognizer;
    let mut hist: BTreeMap<u32, usize> = BTreeMap::new();
    for c in &crops {
        *hist.entry(rec.bucket_for(c.width())).or_default() += 1;
    }
    println!("# {} crops by bucket (768 includes windowed crops)", crops.len());
    println!("{}", hist.iter().map(|(b, n)| format!("{b}:{n}")).collect::<Vec<_>>().join(" "));
    if args.ab {
        return compare(&args, &crops, rec, &models);
    }
    for name in &args.variants {
        let v = load_variant(name, &models)?;
        if args.dump {
            let set = if name.starts_with("e2") { ModelSet::engine2(&models) } else { ModelSet::engine1(&models) };
            let proto = tract_onnx::onnx().proto_model_for_path(&set.recognizer)?;
            for n in proto.graph.iter().flat_map(|g| g.node.iter()).filter(|n| n.op_type != "Constant").take(40) {
                println!("onnx {} {:?} {:?} -> {:?}", n.op_type, n.name, n.input, n.output);
            }
            let width = args.widths.first().copied().unwrap_or(320) as usize;
            dump(&*v.model.optimised_plan(&[1, 3, rec.height as usize, width])?);
            continue;
        }
        profile_widths(&v, &crops, &args, rec)?;
        profile_corpus(&v, &crops, &args, rec)?;
        if !args.batch.is_empty() {
            profile_batches(&v, &crops, &args, rec)?;
        }
    }
    Ok(())
}
