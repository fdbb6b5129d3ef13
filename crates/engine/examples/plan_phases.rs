//! Where the time of building one optimised detector plan goes: parsing the
//! ONNX file, analysing it for a concrete input shape (`into_typed`),
//! decluttering, code generation (`optimize`) and `into_runnable`, for
//! Engine 1's (PP-OCRv4) and Engine 2's (PP-OCRv6 small) detectors, each
//! phase timed separately, with the per-pass split of the two optimiser
//! stages, then the whole build as the engine does it (`Model::prepare`,
//! reusing the decluttered graph once the two A4 shapes have checked it).
//! `--retarget` instead shows which nodes of a decluttered graph depend on
//! the input shape.
//!
//! ```text
//! cargo run --release -p ocr-engine --example plan_phases [-- --det 448x1280,608x1280 --repeat 3 --passes --retarget]
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use ocr_engine::model::{Model, OnnxModel};
use ocr_engine::ModelSet;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::source::TypedSource;
use tract_onnx::tract_core::optim::Optimizer;

type BoxError = Box<dyn std::error::Error>;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `optimizer` on `model` as `OptimizerSession::optimize` does, adding
/// the time of each pass (by name) to `spent`.
fn optimise_timed(
    optimizer: &Optimizer,
    model: &mut TypedModel,
    spent: &mut BTreeMap<String, Duration>,
) -> TractResult<()> {
    let mut session = optimizer.session();
    model.compact()?;
    for i in 0.. {
        let before = format!("{session:?}");
        let mut passes = optimizer.passes.clone();
        for pass in passes.iter_mut() {
            let clock = Instant::now();
            session.run_one_pass_outer(i, pass.as_mut(), model)?;
            model.compact()?;
            *spent.entry(format!("{pass:?}").chars().take(40).collect()).or_default() += clock.elapsed();
        }
        if format!("{session:?}") == before {
            return Ok(());
        }
        model.compact()?;
    }
    Ok(())
}

/// One build of the plan for `shape`, phase by phase; returns the phase times.
fn phases(
    graph: &InferenceModel,
    shape: &[usize],
    passes: Option<&mut BTreeMap<String, Duration>>,
) -> TractResult<Vec<(&'static str, Duration)>> {
    let mut times = Vec::new();
    let clock = Instant::now();
    let mut model = graph.clone();
    times.push(("clone", clock.elapsed()));
    let clock = Instant::now();
    model.set_input_fact(0, f32::fact(shape).into())?;
    let mut typed = model.into_typed()?;
    times.push(("into_typed", clock.elapsed()));
    match passes {
        Some(spent) => {
            let clock = Instant::now();
            optimise_timed(&Optimizer::declutter(), &mut typed, spent)?;
            times.push(("declutter", clock.elapsed()));
            let clock = Instant::now();
            let mut codegen = BTreeMap::new();
            optimise_timed(&Optimizer::codegen(), &mut typed, &mut codegen)?;
            spent.extend(codegen.into_iter().map(|(k, v)| (format!("codegen {k}"), v)));
            times.push(("codegen", clock.elapsed()));
        }
        None => {
            let clock = Instant::now();
            typed.declutter()?;
            times.push(("declutter", clock.elapsed()));
            let clock = Instant::now();
            typed.optimize()?;
            times.push(("codegen", clock.elapsed()));
        }
    }
    let clock = Instant::now();
    let plan = typed.into_runnable()?;
    times.push(("into_runnable", clock.elapsed()));
    drop(plan);
    Ok(times)
}

/// `template` (decluttered for another input shape) with its input fact
/// replaced by `shape` and every fact after it recomputed.
fn retarget(template: &TypedModel, shape: &[usize]) -> TractResult<TypedModel> {
    let mut model = template.clone();
    let input = model.input_outlets()?[0];
    model.nodes[input.node].op = Box::new(TypedSource::new(f32::fact(shape)));
    model.refresh_output_facts()?;
    Ok(model)
}

/// Every node's op and output facts, as text, in evaluation order.
fn structure(model: &TypedModel) -> TractResult<Vec<String>> {
    Ok(model
        .eval_order()?
        .into_iter()
        .map(|i| {
            let n = &model.nodes[i];
            format!("{} {:?} {:?}", n.name, n.op, n.outputs.iter().map(|o| &o.fact).collect::<Vec<_>>())
        })
        .collect())
}

/// Decluttered once for the first shape and moved to the others as is (no
/// fix-up of the mean reductions' reciprocals, unlike the engine's
/// `retarget.rs`): time, the nodes that differ from a from-scratch declutter
/// (the shape-dependent ones), outputs against the plan built from scratch.
fn retarget_check(tag: &str, graph: &InferenceModel, shapes: &[[usize; 4]]) -> TractResult<()> {
    let decluttered = |shape: &[usize]| -> TractResult<TypedModel> {
        let mut model = graph.clone();
        model.set_input_fact(0, f32::fact(shape).into())?;
        model.into_typed()?.into_decluttered()
    };
    let template = decluttered(&shapes[0])?;
    for shape in &shapes[1..] {
        let clock = Instant::now();
        let moved = retarget(&template, shape)?;
        let t_retarget = clock.elapsed();
        let clock = Instant::now();
        let fast = moved.clone().into_optimized()?.into_runnable()?;
        let t_codegen = clock.elapsed();
        let scratch = decluttered(shape)?;
        let (a, b) = (structure(&moved)?, structure(&scratch)?);
        let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count() + a.len().abs_diff(b.len());
        if differing > 0 {
            for (x, y) in a.iter().zip(&b).filter(|(x, y)| x != y).take(3) {
                println!(
                    "  first difference:\n    retargeted {}\n    scratch    {}",
                    x.chars().take(300).collect::<String>(),
                    y.chars().take(300).collect::<String>()
                );
            }
        }
        let slow = scratch.into_optimized()?.into_runnable()?;
        let n: usize = shape.iter().product();
        let data: Vec<f32> = (0..n).map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0).collect();
        let input = Tensor::from_shape(shape, &data)?;
        let x = fast.run(tvec!(input.clone().into_tvalue()))?;
        let y = slow.run(tvec!(input.into_tvalue()))?;
        let (x, y) = (x[0].to_plain_array_view::<f32>()?, y[0].to_plain_array_view::<f32>()?);
        let diff = x.iter().zip(y.iter()).map(|(p, q)| (p - q).abs()).fold(0f32, f32::max);
        println!(
            "{tag} retarget {:?} -> {shape:?}: retarget {:.0} ms + optimise {:.0} ms; {} of {} nodes differ; output shape {:?} vs {:?}, max diff {diff:e}",
            shapes[0],
            ms(t_retarget),
            ms(t_codegen),
            differing,
            b.len(),
            x.shape(),
            y.shape()
        );
    }
    Ok(())
}

fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let mut det: Vec<(usize, usize)> = vec![(448, 1280), (512, 1280), (544, 1280), (608, 1280), (1280, 928)];
    let mut repeat = 3;
    let mut show_passes = false;
    let mut check_retarget = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--det" => {
                det = args
                    .next()
                    .ok_or("--det needs a value")?
                    .split(',')
                    .filter_map(|s| s.split_once('x'))
                    .filter_map(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
                    .collect()
            }
            "--repeat" => repeat = args.next().ok_or("--repeat needs a value")?.parse()?,
            "--passes" => show_passes = true,
            "--retarget" => check_retarget = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let models = std::env::var("OCR_MODELS_DIR").unwrap_or_else(|_| "models".into());
    for set in [ModelSet::engine1(&models), ModelSet::engine2(&models)] {
        let tag = if set.name.contains("v4") { "v4 det" } else { "v6 det" };
        let path: &Path = &set.detector;
        let onnx = tract_onnx::onnx().with_ignore_value_info(true).with_ignore_output_shapes(true);
        let clock = Instant::now();
        let proto = onnx.proto_model_for_path(path)?;
        let parsed = clock.elapsed();
        let clock = Instant::now();
        let graph = onnx.model_for_proto_model(&proto)?;
        println!(
            "{tag}: ONNX read+decode {:.0} ms, to InferenceModel {:.0} ms ({} nodes)",
            ms(parsed),
            ms(clock.elapsed()),
            graph.nodes.len()
        );
        if check_retarget {
            let shapes: Vec<[usize; 4]> = det.iter().map(|&(w, h)| [1, 3, h, w]).collect();
            retarget_check(tag, &graph, &shapes)?;
            continue;
        }
        let mut spent = BTreeMap::new();
        for &(w, h) in &det {
            let shape = [1, 3, h, w];
            for run in 0..repeat {
                let times = phases(&graph, &shape, (show_passes && run > 0).then_some(&mut spent))?;
                let total: Duration = times.iter().map(|(_, d)| *d).sum();
                let line: Vec<String> = times.iter().map(|(n, d)| format!("{n} {:>4.0}", ms(*d))).collect();
                println!("{tag} {w}x{h} run {run}: total {:>4.0} ms = {}", ms(total), line.join(" | "));
            }
        }
        if show_passes {
            println!("{tag}: time per optimiser pass, summed over the timed builds:");
            for (pass, d) in &spent {
                println!("  {:>7.0} ms  {pass}", ms(*d));
            }
        }
        // The build as the engine does it (parsed graph kept, constants
        // shared, the decluttered graph reused once two A4 shapes checked it).
        let model = OnnxModel::load(path, 64)?.reusing_declutter();
        for (w, h) in [(928, 1280), (1280, 928)].into_iter().chain(det.iter().copied()) {
            let clock = Instant::now();
            model.prepare(&[1, 3, h, w])?;
            println!(
                "{tag} {w}x{h}: OnnxModel::prepare {:.0} ms ({} retargeted so far)",
                ms(clock.elapsed()),
                model.retargeted_plans()
            );
        }
    }
    Ok(())
}
