//! Running a fully convolutional model on tall inputs as on wide ones.
//!
//! tract runs a depthwise convolution (`DepthWise`, NCHW) zone by zone along
//! each zone's longest output axis, and its x86 vector kernel covers that
//! loop only along the row. On a tall page (a receipt: 544x1280 at the
//! detector) every feature map is taller than wide, so every depthwise
//! convolution of PP-OCRv4's detector took the scalar loop (about 1.5-3
//! GFMA/s against about 10 along the row; a fifth of a detector call).
//!
//! [`transpose_spatial`] rewrites a model so that it computes, on the
//! transposed input (height and width swapped), the transposed output of the
//! original: every convolution's kernel is transposed and its strides, pads
//! and dilations swapped; everything else in the graph is checked to treat
//! height and width alike. [`TallAsWide`] feeds tall inputs to such a copy,
//! transposed, and transposes its output back. Only the order in which a
//! convolution sums its products changes (float rounding).

use tract_onnx::pb::{GraphProto, ModelProto, NodeProto, TensorProto};

use crate::model::{DenseTensor, Model};
use crate::onnx_tensor::{floats, set_floats};
use crate::Result;

/// Operators that treat height and width alike whatever their attributes
/// (element-wise, per-channel or global), given constant operands that do
/// too (checked separately).
const SYMMETRIC: &[&str] = &[
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Clip",
    "Relu",
    "Sigmoid",
    "HardSigmoid",
    "HardSwish",
    "BatchNormalization",
    "GlobalAveragePool",
    "Identity",
];

fn attr_ints<'a>(node: &'a mut NodeProto, name: &str) -> Option<&'a mut Vec<i64>> {
    node.attribute.iter_mut().find(|a| a.name == name).map(|a| &mut a.ints)
}

/// The tensor named `name`: an initializer or a `Constant` node's value.
fn constant<'a>(graph: &'a GraphProto, name: &str) -> Option<&'a TensorProto> {
    graph.initializer.iter().find(|t| t.name == name).or_else(|| {
        let node = graph.node.iter().find(|n| n.op_type == "Constant" && n.output.iter().any(|o| o == name))?;
        node.attribute.iter().find(|a| a.name == "value")?.t.as_ref()
    })
}

fn constant_mut<'a>(graph: &'a mut GraphProto, name: &str) -> Option<&'a mut TensorProto> {
    if let Some(i) = graph.initializer.iter().position(|t| t.name == name) {
        return graph.initializer.get_mut(i);
    }
    let node = graph.node.iter_mut().find(|n| n.op_type == "Constant" && n.output.iter().any(|o| o == name))?;
    node.attribute.iter_mut().find(|a| a.name == "value")?.t.as_mut()
}

/// Whether a constant operand of an element-wise node broadcasts alike over
/// height and width: one value, or ending in two unit axes.
fn symmetric_constant(t: &TensorProto) -> bool {
    t.dims.iter().product::<i64>() == 1 || (t.dims.len() >= 2 && t.dims[t.dims.len() - 2..] == [1, 1])
}

/// Swaps the two values of a 2-D spatial attribute, or the begin and end
/// pairs of `pads`.
fn swap_spatial(values: &mut [i64]) -> bool {
    match values.len() {
        2 => values.swap(0, 1),
        4 => {
            values.swap(0, 1);
            values.swap(2, 3);
        }
        _ => return false,
    }
    true
}

/// Rewrites `proto` (in place) to compute, on inputs with height and width
/// swapped, the original output with its height and width swapped (see the
/// module documentation). Returns how many convolutions were transposed, or
/// `None`, leaving `proto` unchanged, if some operator or constant of the
/// graph is not known to treat height and width alike.
pub fn transpose_spatial(proto: &mut ModelProto) -> Option<usize> {
    let graph = proto.graph.as_ref()?;
    let mut kernels: Vec<String> = Vec::new();
    for node in &graph.node {
        match node.op_type.as_str() {
            "Constant" => {}
            "Conv" | "ConvTranspose" => {
                if node.input.len() < 2 || constant(graph, &node.input[1]).is_none_or(|t| t.dims.len() != 4) {
                    return None;
                }
                kernels.push(node.input[1].clone());
            }
            "Concat" => {
                let axis = node.attribute.iter().find(|a| a.name == "axis").map(|a| a.i)?;
                if axis != 1 && axis != -3 {
                    return None;
                }
            }
            "Resize" => {
                // Scales (input 2) equal over height and width, no sizes.
                let scales = constant(graph, node.input.get(2)?).and_then(floats)?;
                if node.input.get(3).is_some_and(|s| !s.is_empty()) || scales.len() != 4 || scales[2] != scales[3] {
                    return None;
                }
            }
            op if SYMMETRIC.contains(&op) => {
                let constants = node.input.iter().filter_map(|i| constant(graph, i));
                if !constants.into_iter().all(symmetric_constant) && op != "BatchNormalization" && op != "Clip" {
                    return None;
                }
            }
            _ => return None,
        }
    }
    // A kernel read by anything but a convolution's weight input stays out.
    let weight_only = |name: &String| {
        graph.node.iter().all(|n| {
            n.input
                .iter()
                .enumerate()
                .all(|(k, i)| i != name || (k == 1 && matches!(n.op_type.as_str(), "Conv" | "ConvTranspose")))
        })
    };
    if !kernels.iter().all(weight_only) {
        return None;
    }
    kernels.sort();
    kernels.dedup();
    let graph = proto.graph.as_mut()?;
    for name in &kernels {
        let t = constant_mut(graph, name)?;
        let values = floats(t)?;
        let d: Vec<usize> = t.dims.iter().map(|&d| d as usize).collect();
        let (kh, kw) = (d[2], d[3]);
        let mut out = vec![0.0; values.len()];
        for (src, dst) in values.chunks_exact(kh * kw).zip(out.chunks_exact_mut(kh * kw)) {
            for y in 0..kh {
                for x in 0..kw {
                    dst[x * kh + y] = src[y * kw + x];
                }
            }
        }
        let dims = [t.dims[0], t.dims[1], t.dims[3], t.dims[2]];
        set_floats(t, &dims, &out);
    }
    let mut convs = 0;
    for node in graph.node.iter_mut().filter(|n| matches!(n.op_type.as_str(), "Conv" | "ConvTranspose")) {
        for name in ["kernel_shape", "strides", "dilations", "pads", "output_padding", "output_shape"] {
            if let Some(values) = attr_ints(node, name) {
                if !values.is_empty() && !swap_spatial(values) {
                    return None;
                }
            }
        }
        convs += 1;
    }
    Some(convs)
}

/// `t` ([..., H, W]) with its last two axes swapped.
fn swap_last_axes(t: &DenseTensor) -> DenseTensor {
    let rank = t.shape.len();
    if rank < 2 {
        return t.clone();
    }
    let (h, w) = (t.shape[rank - 2], t.shape[rank - 1]);
    let mut shape = t.shape.clone();
    shape.swap(rank - 2, rank - 1);
    let mut data = vec![0.0; t.data.len()];
    if h * w > 0 {
        for (src, dst) in t.data.chunks_exact(h * w).zip(data.chunks_exact_mut(h * w)) {
            for y in 0..h {
                for x in 0..w {
                    dst[x * h + y] = src[y * w + x];
                }
            }
        }
    }
    DenseTensor { shape, data }
}

/// A model run as is on inputs at least as wide as tall, and through its
/// transposed copy ([`transpose_spatial`]) on taller ones, so tract's
/// depthwise convolutions run along the longer axis either way.
pub struct TallAsWide {
    wide: Box<dyn Model>,
    transposed: Box<dyn Model>,
}

impl TallAsWide {
    /// `wide` is the model, `transposed` its [`transpose_spatial`] copy.
    pub fn new(wide: Box<dyn Model>, transposed: Box<dyn Model>) -> Self {
        Self { wide, transposed }
    }
}

fn is_tall(shape: &[usize]) -> bool {
    let rank = shape.len();
    rank >= 2 && shape[rank - 2] > shape[rank - 1]
}

impl Model for TallAsWide {
    fn run(&self, input: &DenseTensor) -> Result<DenseTensor> {
        if !is_tall(&input.shape) {
            return self.wide.run(input);
        }
        Ok(swap_last_axes(&self.transposed.run(&swap_last_axes(input))?))
    }

    fn prepare(&self, shape: &[usize]) -> Result<()> {
        if !is_tall(shape) {
            return self.wide.prepare(shape);
        }
        let mut swapped = shape.to_vec();
        let rank = swapped.len();
        swapped.swap(rank - 2, rank - 1);
        self.transposed.prepare(&swapped)
    }

    fn cached_plans(&self) -> usize {
        self.wide.cached_plans() + self.transposed.cached_plans()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx_tensor::FLOAT;
    use tract_onnx::pb::{type_proto, AttributeProto, OperatorSetIdProto, TypeProto, ValueInfoProto};
    use tract_onnx::prelude::*;

    fn node(op: &str, inputs: &[&str], output: &str, attrs: Vec<AttributeProto>) -> NodeProto {
        NodeProto {
            name: output.into(),
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            attribute: attrs,
            ..Default::default()
        }
    }

    fn ints(name: &str, v: &[i64]) -> AttributeProto {
        AttributeProto { name: name.into(), ints: v.to_vec(), r#type: 7, ..Default::default() }
    }

    fn int(name: &str, i: i64) -> AttributeProto {
        AttributeProto { name: name.into(), i, r#type: 2, ..Default::default() }
    }

    fn string(name: &str, s: &str) -> AttributeProto {
        AttributeProto { name: name.into(), s: s.as_bytes().to_vec(), r#type: 3, ..Default::default() }
    }

    fn init(name: &str, dims: &[i64], values: impl Fn(usize) -> f32) -> TensorProto {
        let n = dims.iter().product::<i64>() as usize;
        let mut t = TensorProto { name: name.into(), data_type: FLOAT, ..Default::default() };
        set_floats(&mut t, dims, &(0..n).map(values).collect::<Vec<_>>());
        t
    }

    /// A small detector-like graph with asymmetric kernels, strides and pads:
    /// conv (stride (2, 1), pads top 1 left 0 bottom 1 right 2) -> scale ->
    /// hard-swish -> depthwise 3x3 (stride (1, 2)) -> transposed conv 2x2
    /// stride 2 -> nearest resize x2 -> concat with itself -> sigmoid.
    fn graph() -> ModelProto {
        let nodes = vec![
            node(
                "Conv",
                &["x", "w1", "b1"],
                "c1",
                vec![ints("kernel_shape", &[3, 2]), ints("strides", &[2, 1]), ints("pads", &[1, 0, 1, 2])],
            ),
            node("Mul", &["c1", "s"], "m", vec![]),
            node("HardSwish", &["m"], "h", vec![]),
            node(
                "Conv",
                &["h", "w2"],
                "c2",
                vec![
                    int("group", 4),
                    ints("kernel_shape", &[3, 3]),
                    ints("strides", &[1, 2]),
                    ints("pads", &[1, 1, 1, 1]),
                ],
            ),
            node("ConvTranspose", &["c2", "w3"], "t", vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])]),
            node(
                "Resize",
                &["t", "", "scales"],
                "r",
                vec![string("mode", "nearest"), string("coordinate_transformation_mode", "asymmetric")],
            ),
            node("Concat", &["r", "r"], "cat", vec![int("axis", 1)]),
            node("Sigmoid", &["cat"], "y", vec![]),
        ];
        let float_input = |name: &str| ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto {
                value: Some(type_proto::Value::TensorType(type_proto::Tensor { elem_type: FLOAT, shape: None })),
                ..Default::default()
            }),
            ..Default::default()
        };
        ModelProto {
            graph: Some(GraphProto {
                node: nodes,
                initializer: vec![
                    init("w1", &[4, 2, 3, 2], |i| (i as f32 * 0.37).sin()),
                    init("b1", &[4], |i| 0.1 * i as f32),
                    init("s", &[1], |_| 1.5),
                    init("w2", &[4, 1, 3, 3], |i| (i as f32 * 0.71).cos()),
                    init("w3", &[4, 3, 2, 2], |i| (i as f32 * 0.13).sin() + 0.2),
                    init("scales", &[4], |i| if i < 2 { 1.0 } else { 2.0 }),
                ],
                input: vec![float_input("x")],
                output: vec![ValueInfoProto { name: "y".into(), ..Default::default() }],
                ..Default::default()
            }),
            opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 17 }],
            ..Default::default()
        }
    }

    fn run(proto: &ModelProto, input: &DenseTensor) -> DenseTensor {
        let mut model = tract_onnx::onnx().model_for_proto_model(proto).unwrap();
        model.set_input_fact(0, f32::fact(&input.shape).into()).unwrap();
        let plan = model.into_optimized().unwrap().into_runnable().unwrap();
        let x = Tensor::from_shape(&input.shape, &input.data).unwrap();
        let out = plan.run(tvec!(x.into_tvalue())).unwrap();
        let view = out[0].to_plain_array_view::<f32>().unwrap();
        DenseTensor { shape: view.shape().to_vec(), data: view.iter().copied().collect() }
    }

    #[test]
    fn the_transposed_graph_computes_the_transposed_output() {
        let original = graph();
        let mut transposed = graph();
        assert_eq!(transpose_spatial(&mut transposed), Some(3));
        let (h, w) = (13, 7);
        let x = DenseTensor {
            shape: vec![1, 2, h, w],
            data: (0..2 * h * w).map(|i| ((i * 7) % 23) as f32 / 11.0 - 1.0).collect(),
        };
        let expected = run(&original, &x);
        let got = swap_last_axes(&run(&transposed, &swap_last_axes(&x)));
        assert_eq!(expected.shape, got.shape);
        for (a, b) in expected.data.iter().zip(&got.data) {
            assert!((a - b).abs() <= 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn graphs_not_known_to_be_symmetric_are_left_alone() {
        // A per-column constant, and an operator outside the list.
        let mut model = graph();
        model.graph.as_mut().unwrap().initializer[2] = init("s", &[5], |i| i as f32);
        let before = model.clone();
        assert_eq!(transpose_spatial(&mut model), None);
        assert_eq!(model, before);
        let mut model = graph();
        model.graph.as_mut().unwrap().node[7].op_type = "Flatten".into();
        assert_eq!(transpose_spatial(&mut model), None);
    }

    type Seen = std::sync::Arc<std::sync::Mutex<Vec<Vec<usize>>>>;

    /// Answers with its input plus an offset, and records the shapes it saw.
    struct Fake(f32, Seen);

    impl Model for Fake {
        fn run(&self, input: &DenseTensor) -> Result<DenseTensor> {
            self.1.lock().unwrap().push(input.shape.clone());
            Ok(DenseTensor { shape: input.shape.clone(), data: input.data.iter().map(|v| v + self.0).collect() })
        }
    }

    #[test]
    fn tall_inputs_go_through_the_transposed_copy() {
        let (wide_seen, tall_seen) = (Seen::default(), Seen::default());
        let model = TallAsWide::new(Box::new(Fake(0.0, wide_seen.clone())), Box::new(Fake(1.0, tall_seen.clone())));
        let tall = DenseTensor { shape: vec![1, 1, 3, 2], data: (0..6).map(|i| i as f32).collect() };
        // Transposed in, through the copy (+1), transposed back.
        let out = model.run(&tall).unwrap();
        assert_eq!(out, DenseTensor { shape: vec![1, 1, 3, 2], data: (1..7).map(|i| i as f32).collect() });
        let wide = DenseTensor { shape: vec![1, 1, 2, 3], data: (0..6).map(|i| i as f32).collect() };
        assert_eq!(model.run(&wide).unwrap(), wide);
        assert_eq!(*tall_seen.lock().unwrap(), vec![vec![1, 1, 2, 3]]);
        assert_eq!(*wide_seen.lock().unwrap(), vec![vec![1, 1, 2, 3]]);
    }
}
