//! Depthwise convolutions strided along the row, run unstrided and subsampled.
//!
//! tract runs a depthwise convolution (`DepthWise`, NCHW) zone by zone, each
//! zone along its longest output axis. On x86 its vector kernel
//! (`depthwise_w_f32`) covers that inner loop only when it runs along the row
//! with an input step of 1; a row stride of 2 takes a scalar loop (2-3
//! GFMA/s against about 10 on a quiet Xeon, `examples/op_profile.rs`). PP-OCRv4's recogniser has one such convolution
//! (3x3, stride (1, 2)) and its detector five (stride (2, 2)).
//!
//! [`unstride_depthwise`] rewrites each of them in a decluttered graph as the
//! same convolution with row stride 1 followed by a `Downsample` keeping
//! every s-th column: s times the multiply-adds, on the vector kernel. It is
//! exact: each kept column sums the same products (the kernel's taps in the
//! same order, from the same bias) as the strided convolution did, since the
//! padding is explicit and column `j` of the strided output reads the input
//! columns column `s * j` of the unstrided one reads.
//!
//! It runs after tract's declutter (which would fold the `Downsample` back
//! into the convolution's stride) and before codegen, which turns the
//! convolution into a `DepthWise` that the `Downsample` cannot fold into.
//! It is applied only where the unstrided output's row is at least as long
//! as its column, so the vector kernel does run along the row; elsewhere the
//! scalar loop would run either way, over s times the points.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{Conv, PaddingSpec};
use tract_onnx::tract_core::ops::Downsample;

/// The row-unstrided copy of `conv` and its row stride, if `conv` is a
/// float depthwise convolution strided along the row that is worth
/// rewriting for inputs of `shape` (see the module documentation).
fn unstrided(conv: &Conv, shape: &[usize]) -> Option<(Conv, usize)> {
    let spec = &conv.pool_spec;
    let depthwise = conv.group > 1 && conv.group == spec.input_channels && conv.group == spec.output_channels;
    if !depthwise || conv.q_params.is_some() || spec.data_format.c_is_last() || spec.rank() != 2 {
        return None;
    }
    let row = spec.rank() - 1;
    let stride = spec.stride(row);
    if stride < 2 || spec.dilation(row) != 1 {
        return None;
    }
    // Explicit padding stays the same at stride 1; SAME padding would not.
    let explicit = matches!(spec.padding, PaddingSpec::Valid | PaddingSpec::Explicit(..))
        || matches!(spec.padding, PaddingSpec::ExplicitOnnxPool(_, _, false));
    if !explicit {
        return None;
    }
    let mut plain = conv.clone();
    plain.pool_spec.strides.as_mut()?[row] = 1;
    let out = plain.pool_spec.output_shape(shape).ok()?;
    let hw = out.hw_dims();
    (hw[1] >= hw[0]).then_some((plain, stride))
}

/// Rewrites every depthwise convolution of `model` strided along the row
/// (and worth it at the model's concrete input shapes) as an unstrided one
/// followed by a `Downsample` of the row. Returns how many were rewritten.
pub fn unstride_depthwise(model: &mut TypedModel) -> TractResult<usize> {
    let mut rewritten = 0;
    for id in model.eval_order()? {
        let node = &model.nodes[id];
        let Some(conv) = node.op_as::<Conv>() else { continue };
        let input = model.outlet_fact(node.inputs[0])?;
        let Some(shape) = input.shape.as_concrete() else { continue };
        let Some((plain, stride)) = unstrided(conv, shape) else { continue };
        let row_axis = conv.pool_spec.data_format.shape(shape)?.hw_axes().end - 1;
        let name = node.name.clone();
        let mut patch = TypedModelPatch::new("unstride_depthwise");
        let taps = patch.taps(model, &node.inputs)?;
        let wire = patch.wire_node(format!("{name}.unstrided"), plain, &taps)?;
        let wire =
            patch.wire_node(format!("{name}.subsampled"), Downsample::new(row_axis, stride as isize, 0), &wire)?[0];
        // The padding arithmetic above says this holds; a wrong guess must not reach a plan.
        if patch.outlet_fact(wire)?.shape != model.outlet_fact(OutletId::new(id, 0))?.shape {
            continue;
        }
        patch.shunt_outside(model, OutletId::new(id, 0), wire)?;
        patch.obliterate(id)?;
        patch.apply(model)?;
        rewritten += 1;
    }
    model.compact()?;
    Ok(rewritten)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::tract_core::ops::cnn::{KernelFormat, PoolSpec};
    use tract_onnx::tract_core::ops::nn::DataFormat;

    /// A one-node graph: depthwise `k x k` convolution over `[1, c, h, w]`
    /// with the given strides and symmetric padding.
    fn graph(c: usize, h: usize, w: usize, k: usize, strides: [usize; 2], pad: usize) -> TypedModel {
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact([1, c, h, w])).unwrap();
        let kernel: Vec<f32> = (0..c * k * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let kernel = model.add_const("k", Tensor::from_shape(&[c, 1, k, k], &kernel).unwrap()).unwrap();
        let bias: Vec<f32> = (0..c).map(|i| 0.1 * i as f32 - 0.2).collect();
        let bias = model.add_const("b", Tensor::from_shape(&[c], &bias).unwrap()).unwrap();
        let pool_spec = PoolSpec {
            data_format: DataFormat::NCHW,
            kernel_shape: tvec!(k, k),
            padding: PaddingSpec::Explicit(tvec!(pad, pad), tvec!(pad, pad)),
            dilations: None,
            strides: Some(tvec!(strides[0], strides[1])),
            input_channels: c,
            output_channels: c,
        };
        let conv = Conv { pool_spec, kernel_fmt: KernelFormat::OIHW, group: c, q_params: None };
        let y = model.wire_node("dw", conv, &[x, kernel, bias]).unwrap();
        model.select_output_outlets(&y).unwrap();
        model
    }

    fn run(model: TypedModel, input: &Tensor) -> Tensor {
        let plan = model.into_runnable().unwrap();
        plan.run(tvec!(input.clone().into_tvalue())).unwrap().remove(0).into_tensor()
    }

    /// Outputs of the plan built as the engine builds it, with and without the rewrite.
    fn both(model: TypedModel, input: &Tensor) -> (Tensor, Tensor, usize) {
        let decluttered = model.into_decluttered().unwrap();
        let mut original = decluttered.clone();
        original.optimize().unwrap();
        let mut rewritten = decluttered;
        let count = unstride_depthwise(&mut rewritten).unwrap();
        rewritten.optimize().unwrap();
        // The subsampling survives codegen: tract did not fold it back into a stride.
        let ops: Vec<String> = rewritten.nodes.iter().map(|n| n.op.name().to_string()).collect();
        assert!(ops.iter().any(|o| o == "Downsample") && ops.iter().any(|o| o == "DepthWiseConv"), "{ops:?}");
        (run(original, input), run(rewritten, input), count)
    }

    fn input(c: usize, h: usize, w: usize) -> Tensor {
        let values: Vec<f32> = (0..c * h * w).map(|i| ((i * 7) % 23) as f32 / 11.0 - 1.0).collect();
        Tensor::from_shape(&[1, c, h, w], &values).unwrap()
    }

    #[test]
    fn row_strided_depthwise_convolutions_compute_the_same() {
        // The recogniser's (1, 2) 3x3, the detector's (2, 2) 3x3 and 5x5,
        // odd and even widths (the last column of an odd row is kept).
        for (c, h, w, k, strides, pad) in [
            (16, 12, 40, 3, [1, 2], 1),
            (16, 12, 41, 3, [1, 2], 1),
            (8, 20, 48, 3, [2, 2], 1),
            (8, 21, 47, 5, [2, 2], 2),
            (4, 6, 30, 5, [1, 2], 0),
        ] {
            let x = input(c, h, w);
            let (original, rewritten, count) = both(graph(c, h, w, k, strides, pad), &x);
            assert_eq!(count, 1, "{c}x{h}x{w} k{k} {strides:?}");
            assert_eq!(original.shape(), rewritten.shape());
            let (a, b) =
                (original.to_plain_array_view::<f32>().unwrap(), rewritten.to_plain_array_view::<f32>().unwrap());
            for (x, y) in a.iter().zip(b.iter()) {
                assert!((x - y).abs() <= 1e-6 * (1.0 + x.abs()), "{x} vs {y} ({c}x{h}x{w} k{k} {strides:?})");
            }
        }
    }

    #[test]
    fn other_convolutions_are_left_alone() {
        // Strided along the column only; taller than wide once unstrided.
        for (h, w, strides) in [(12, 40, [2, 1]), (64, 20, [2, 2])] {
            let mut model = graph(8, h, w, 3, strides, 1).into_decluttered().unwrap();
            assert_eq!(unstride_depthwise(&mut model).unwrap(), 0, "{h}x{w} {strides:?}");
        }
    }
}
