//! One decluttered detector graph reused for every input shape.
//!
//! Building a tract plan for a concrete shape spends most of its time
//! analysing and decluttering the graph (about 110-150 ms of the 160-220 ms
//! a detector plan takes; code generation is about 50 ms). For the DB
//! detectors the decluttered graph does not depend on the input shape but
//! for the reciprocals of the mean reductions (`GlobalAveragePool`,
//! `ReduceMean`: a sum, then a product with `1 / count`). A [`Template`]
//! keeps one decluttered graph and, for another shape, changes its input
//! fact, recomputes those reciprocals from the new reduced sizes and
//! refreshes every fact; only code generation is left to do.
//!
//! A template is only made from two graphs decluttered from scratch for
//! shapes that differ in both height and width, and only when moving the
//! first one to the second's shape gives exactly the second (every node's
//! operator and facts compared): anything else in the graph that depended
//! on the shape would show there.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{ensure, format_err};
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::konst::Const;
use tract_onnx::tract_core::ops::math::Mul;
use tract_onnx::tract_core::ops::nn::{Reduce, Reducer};
use tract_onnx::tract_core::ops::source::TypedSource;

/// Smallest input height and width a template is used for: below it the
/// deepest feature maps (stride 32) would be a single pixel, where a graph
/// decluttered from scratch may differ.
pub(crate) const MIN_SIDE: usize = 64;

/// A decluttered graph and where its shape-dependent constants are.
pub(crate) struct Template {
    model: TypedModel,
    /// Constant nodes holding `1 / count` of the sum reductions they scale,
    /// each with those reductions' node ids.
    reciprocals: Vec<(usize, Vec<usize>)>,
}

/// The input shape of a graph with one concrete input.
pub(crate) fn input_shape(model: &TypedModel) -> Option<Vec<usize>> {
    let input = model.input_outlets().ok()?.first().copied()?;
    model.outlet_fact(input).ok()?.shape.as_concrete().map(<[usize]>::to_vec)
}

/// Whether a template made for `template` can serve `shape`: the same
/// dimensions but the last two (height and width), and those not tiny.
pub(crate) fn fits(template: &[usize], shape: &[usize]) -> bool {
    let n = shape.len();
    n >= 2
        && template.len() == n
        && template[..n - 2] == shape[..n - 2]
        && shape[n - 2..].iter().all(|&d| d >= MIN_SIDE)
}

/// Whether two shapes differ in both of their last two dimensions.
pub(crate) fn differ_in_both_sides(a: &[usize], b: &[usize]) -> bool {
    let n = a.len();
    n >= 2 && b.len() == n && a[n - 2] != b[n - 2] && a[n - 1] != b[n - 1]
}

impl Template {
    /// A template from `first`, when moving it to `second`'s input shape
    /// gives exactly `second` (both decluttered from scratch); `None` otherwise.
    pub(crate) fn verified(first: TypedModel, second: &TypedModel) -> Option<Self> {
        let shape = input_shape(second)?;
        let template = Self { reciprocals: count_reciprocals(&first)?, model: first };
        let moved = template.retarget(&shape).ok()?;
        (structure(&moved).ok()? == structure(second).ok()?).then_some(template)
    }

    /// The input shape the template was decluttered for.
    pub(crate) fn shape(&self) -> Option<Vec<usize>> {
        input_shape(&self.model)
    }

    /// The decluttered graph for inputs of `shape`.
    pub(crate) fn retarget(&self, shape: &[usize]) -> TractResult<TypedModel> {
        let mut model = self.model.clone();
        let input = model.input_outlets()?[0];
        model.nodes[input.node].op = Box::new(TypedSource::new(f32::fact(shape)));
        model.refresh_output_facts()?;
        for (konst, reductions) in &self.reciprocals {
            let mut counts = reductions.iter().map(|&r| reduced_count(&model, r));
            let count = counts.next().flatten().ok_or_else(|| format_err!("reduction size unknown"))?;
            ensure!(counts.all(|c| c == Some(count)), "one constant scales reductions of different sizes");
            let old = model.nodes[*konst].op_as::<Const>().ok_or_else(|| format_err!("not a constant"))?.val().clone();
            let value = tensor0((count as f32).recip()).broadcast_into_rank(old.rank())?.into_arc_tensor();
            model.nodes[*konst].op = Box::new(Const::new(value)?);
        }
        model.refresh_output_facts()?;
        Ok(model)
    }
}

/// How many values the sum reduction at node `id` adds up per output value.
fn reduced_count(model: &TypedModel, id: usize) -> Option<usize> {
    let node = &model.nodes[id];
    let reduce = node.op_as::<Reduce>()?;
    let input = model.outlet_fact(*node.inputs.first()?).ok()?.shape.as_concrete()?.to_vec();
    reduce.axes.iter().map(|&a| input.get(a).copied()).product()
}

/// Every constant of `model` that is `1 / count` of the sum reductions it
/// multiplies (directly), with those reductions; `None` when a constant
/// feeds such a product but does not hold that value.
fn count_reciprocals(model: &TypedModel) -> Option<Vec<(usize, Vec<usize>)>> {
    let mut found = Vec::new();
    for node in &model.nodes {
        let Some(konst) = node.op_as::<Const>() else { continue };
        let value = konst.val();
        if value.len() != 1 || value.datum_type() != f32::datum_type() || konst.exotic_fact().is_some() {
            continue;
        }
        let mut reductions = Vec::new();
        for succ in &node.outputs[0].successors {
            let consumer = &model.nodes[succ.node];
            let is_mul = consumer.op_as::<TypedBinOp>().is_some_and(|b| b.0.is::<Mul>());
            let other = consumer.inputs.get(1 - succ.slot.min(1)).map(|o| &model.nodes[o.node]);
            match other.filter(|_| is_mul && consumer.inputs.len() == 2) {
                Some(r) if r.op_as::<Reduce>().is_some_and(|r| r.reducer == Reducer::Sum) => reductions.push(r.id),
                _ => {}
            }
        }
        if reductions.is_empty() {
            continue;
        }
        if reductions.len() != node.outputs[0].successors.len() {
            return None;
        }
        let held = value.cast_to_scalar::<f32>().ok()?;
        let expected = (reduced_count(model, reductions[0])? as f32).recip();
        if held != expected {
            return None;
        }
        found.push((node.id, reductions));
    }
    Some(found)
}

/// Every node's name, operator and output facts, in evaluation order.
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
