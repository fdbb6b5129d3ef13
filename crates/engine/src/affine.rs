//! Folding constant scale and shift steps into the neighbouring convolution.
//!
//! PP-OCRv4's backbone (PP-LCNetV3) follows every convolution with a
//! "learnable affine block", `y * s + b` with scalar `s` and `b`, and every
//! activation with another one. paddle2onnx exports each as a `Mul` and an
//! `Add` by one-element constants. tract folds per-channel arithmetic after
//! a convolution into its weights only for ungrouped convolutions and only
//! for constants shaped exactly `[1, C, 1, 1]`, so all of these stay: each is
//! an element-wise pass over a whole feature map (`OptBinChain(Mul+Add)` in
//! `examples/op_profile.rs`).
//!
//! [`fold_affine`] rewrites the graph before tract parses it, where the fold
//! is exact (up to float rounding):
//! - after a convolution (any grouping): `Conv(x, W, B) * s + b` is
//!   `Conv(x, W * s, B * s + b)`, with `s`, `b` one value or one per output
//!   channel (except the `[1, C, 1, 1]` constants after ungrouped
//!   convolutions that tract folds itself: PP-OCRv6's biases);
//! - before a convolution that pads nothing: `Conv(x * s + b, W, B)` is
//!   `Conv(x, W * s, B + b * sum(W))`, with one-value `s` and `b` (a shift
//!   before a padded convolution would also shift its zero padding, so it is
//!   left alone; a scale alone folds through padding), except a scale of a
//!   product, which tract may be fusing as part of a pattern (GELU's
//!   `x * (1 + erf(x / sqrt 2)) * 0.5` in PP-OCRv6).

use std::collections::HashMap;

use tract_onnx::pb::{AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto};

use crate::onnx_tensor::{floats, set_floats, FLOAT};

/// Where a constant tensor lives: an initializer, or a `Constant` node's value.
#[derive(Clone, Copy)]
enum Loc {
    Init(usize),
    Node(usize),
}

/// Name lookups over the graph as it stands.
struct Index {
    uses: HashMap<String, usize>,
    producer: HashMap<String, usize>,
    constants: HashMap<String, Loc>,
}

impl Index {
    fn new(graph: &GraphProto) -> Self {
        let mut uses: HashMap<String, usize> = HashMap::new();
        for name in graph.node.iter().flat_map(|n| n.input.iter()).chain(graph.output.iter().map(|o| &o.name)) {
            *uses.entry(name.clone()).or_default() += 1;
        }
        let producer =
            graph.node.iter().enumerate().flat_map(|(i, n)| n.output.iter().map(move |o| (o.clone(), i))).collect();
        let mut constants: HashMap<String, Loc> =
            graph.initializer.iter().enumerate().map(|(i, t)| (t.name.clone(), Loc::Init(i))).collect();
        for (i, n) in graph.node.iter().enumerate() {
            if n.op_type == "Constant" && n.attribute.iter().any(|a| a.name == "value" && a.t.is_some()) {
                if let Some(out) = n.output.first() {
                    constants.insert(out.clone(), Loc::Node(i));
                }
            }
        }
        Self { uses, producer, constants }
    }

    fn used_once(&self, name: &str) -> bool {
        self.uses.get(name).copied() == Some(1)
    }

    /// The f32 values and dims of the constant `name`.
    fn constant(&self, graph: &GraphProto, name: &str) -> Option<(Vec<f32>, Vec<i64>)> {
        let t = tensor(graph, *self.constants.get(name)?)?;
        let values = floats(t)?;
        (values.len() as i64 == t.dims.iter().product::<i64>()).then(|| (values, t.dims.clone()))
    }

    /// The node producing `name`, if it is an `op` node.
    fn producer<'a>(&self, graph: &'a GraphProto, name: &str, op: &str) -> Option<(usize, &'a NodeProto)> {
        let &i = self.producer.get(name)?;
        let node = &graph.node[i];
        (node.op_type == op).then_some((i, node))
    }
}

fn tensor(graph: &GraphProto, loc: Loc) -> Option<&TensorProto> {
    match loc {
        Loc::Init(i) => graph.initializer.get(i),
        Loc::Node(i) => graph.node.get(i)?.attribute.iter().find(|a| a.name == "value")?.t.as_ref(),
    }
}

fn tensor_mut(graph: &mut GraphProto, loc: Loc) -> Option<&mut TensorProto> {
    match loc {
        Loc::Init(i) => graph.initializer.get_mut(i),
        Loc::Node(i) => graph.node.get_mut(i)?.attribute.iter_mut().find(|a| a.name == "value")?.t.as_mut(),
    }
}

/// A convolution's weights and bias, read for a fold.
struct ConvParams {
    node: usize,
    weight: Vec<f32>,
    dims: Vec<i64>,
    bias: Option<Vec<f32>>,
}

impl ConvParams {
    /// The constant weights (and bias) of the `Conv` node `node`, if only it uses them.
    fn read(graph: &GraphProto, index: &Index, node: usize) -> Option<Self> {
        let conv = &graph.node[node];
        let w = conv.input.get(1)?;
        if !index.used_once(w) {
            return None;
        }
        let (weight, dims) = index.constant(graph, w)?;
        if dims.len() < 3 {
            return None;
        }
        let bias = match conv.input.get(2).filter(|b| !b.is_empty()) {
            Some(b) if !index.used_once(b) => return None,
            Some(b) => {
                let (bias, _) = index.constant(graph, b)?;
                if bias.len() as i64 != dims[0] {
                    return None;
                }
                Some(bias)
            }
            None => None,
        };
        Some(Self { node, weight, dims, bias })
    }

    fn outputs(&self) -> usize {
        self.dims[0] as usize
    }

    /// Weight values per output channel.
    fn per_output(&self) -> usize {
        self.weight.len() / self.outputs()
    }

    /// Writes the weights and bias back (adding a bias input if there was none).
    fn write(self, graph: &mut GraphProto, index: &Index) {
        let name = graph.node[self.node].input[1].clone();
        if let Some(t) = index.constants.get(&name).and_then(|&l| tensor_mut(graph, l)) {
            set_floats(t, &self.dims, &self.weight);
        }
        let Some(bias) = self.bias else { return };
        let existing = graph.node[self.node].input.get(2).filter(|b| !b.is_empty()).cloned();
        match existing.and_then(|b| index.constants.get(&b).copied()) {
            Some(loc) => {
                if let Some(t) = tensor_mut(graph, loc) {
                    set_floats(t, &[bias.len() as i64], &bias);
                }
            }
            None => {
                let conv = &mut graph.node[self.node];
                let bias_name =
                    format!("{}.folded_bias", if conv.name.is_empty() { &conv.output[0] } else { &conv.name });
                let mut t = TensorProto { name: bias_name.clone(), data_type: FLOAT, ..Default::default() };
                set_floats(&mut t, &[bias.len() as i64], &bias);
                conv.input.truncate(2);
                conv.input.push(bias_name);
                graph.initializer.push(t);
            }
        }
    }
}

/// The per-output-channel values of `c` against a convolution output of
/// rank `rank` with `channels` channels: one value repeated, or one per
/// channel when `c` broadcasts along the channel axis only.
fn per_channel(values: &[f32], dims: &[i64], rank: usize, channels: usize) -> Option<Vec<f32>> {
    if dims.len() > rank {
        return None;
    }
    if values.len() == 1 {
        return Some(vec![values[0]; channels]);
    }
    // Align trailing axes: the channel axis (1) of the output is axis
    // `1 - (rank - dims.len())` of `c`.
    let offset = rank - dims.len();
    let along_channels =
        dims.iter().enumerate().all(|(i, &d)| if i + offset == 1 { d as usize == channels } else { d == 1 });
    (along_channels && offset <= 1).then(|| values.to_vec())
}

/// The one value of a one-element constant of rank at most `rank` (so it
/// broadcasts without growing the other operand).
fn one_value(values: &[f32], dims: &[i64], rank: usize) -> Option<f32> {
    values.first().copied().filter(|_| values.len() == 1 && dims.len() <= rank)
}

/// The constant operand and the other input of a two-input `Mul`/`Add` node.
fn split_constant(graph: &GraphProto, index: &Index, node: &NodeProto) -> Option<(Vec<f32>, Vec<i64>, String)> {
    if node.input.len() != 2 || node.output.len() != 1 {
        return None;
    }
    (0..2).find_map(|k| {
        let (values, dims) = index.constant(graph, &node.input[k])?;
        if index.constants.contains_key(&node.input[1 - k]) {
            return None;
        }
        Some((values, dims, node.input[1 - k].clone()))
    })
}

fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

/// Whether the convolution pads nothing (explicit zero pads, or `VALID`).
fn pads_nothing(conv: &NodeProto) -> bool {
    let auto = attr(conv, "auto_pad").map_or(&b"NOTSET"[..], |a| a.s.as_slice());
    let explicit_zero = attr(conv, "pads").is_none_or(|a| a.ints.iter().all(|&p| p == 0));
    match auto {
        b"NOTSET" | b"" => explicit_zero,
        b"VALID" => true,
        _ => false,
    }
}

/// One fold found in the graph: what to change, then which node goes.
enum Fold {
    /// `Conv -> Mul/Add(c)`: fold into the conv, whose output takes the
    /// `Mul`/`Add`'s name.
    After { conv: ConvParams, scale: Option<Vec<f32>>, shift: Option<Vec<f32>>, step: usize },
    /// `Mul/Add(c) -> Conv`: fold into the conv, which reads the step's input.
    Before { conv: ConvParams, scale: Option<f32>, shift: Option<f32>, step: usize, input: String },
}

fn find_fold(graph: &GraphProto, index: &Index) -> Option<Fold> {
    for (i, node) in graph.node.iter().enumerate() {
        let is_mul = node.op_type == "Mul";
        if is_mul || node.op_type == "Add" {
            // After a convolution.
            let Some((values, dims, other)) = split_constant(graph, index, node) else { continue };
            if let Some((c, conv)) = index.producer(graph, &other, "Conv") {
                // tract folds these itself: ungrouped, constant shaped [1, C, 1, 1].
                let group = attr(conv, "group").map_or(1, |a| a.i);
                let tract_folds = |rank: usize, channels: usize| {
                    group == 1
                        && dims.len() == rank
                        && dims.iter().enumerate().all(|(k, &d)| d as usize == if k == 1 { channels } else { 1 })
                };
                if conv.output.len() == 1 && index.used_once(&other) {
                    if let Some(params) =
                        ConvParams::read(graph, index, c).filter(|p| !tract_folds(p.dims.len(), p.outputs()))
                    {
                        let rank = params.dims.len();
                        if let Some(v) = per_channel(&values, &dims, rank, params.outputs()) {
                            let (scale, shift) = if is_mul { (Some(v), None) } else { (None, Some(v)) };
                            return Some(Fold::After { conv: params, scale, shift, step: i });
                        }
                    }
                }
            }
        }
        if node.op_type == "Conv" {
            // Before a convolution.
            let Some(x) = node.input.first() else { continue };
            if !index.used_once(x) {
                continue;
            }
            let Some(&s) = index.producer.get(x) else { continue };
            let step = &graph.node[s];
            // A scale folds through zero padding; a shift only without padding.
            let is_mul = step.op_type == "Mul";
            let foldable = is_mul || (step.op_type == "Add" && pads_nothing(node));
            if !foldable {
                continue;
            }
            let Some((values, dims, input)) = split_constant(graph, index, step) else { continue };
            // A constant factor ending a product (GELU's `* 0.5` in
            // PP-OCRv6) is part of a pattern tract fuses: leave it.
            if is_mul && index.producer(graph, &input, "Mul").is_some() {
                continue;
            }
            let Some(params) = ConvParams::read(graph, index, i) else { continue };
            let Some(c) = one_value(&values, &dims, params.dims.len()) else { continue };
            let (scale, shift) = if is_mul { (Some(c), None) } else { (None, Some(c)) };
            return Some(Fold::Before { conv: params, scale, shift, step: s, input });
        }
    }
    None
}

/// Applies `fold` and removes the folded step.
fn apply(graph: &mut GraphProto, index: &Index, fold: Fold) {
    let removed = match fold {
        Fold::After { mut conv, scale, shift, step } => {
            let per = conv.per_output();
            if let Some(scale) = scale {
                for (o, &s) in scale.iter().enumerate() {
                    conv.weight[o * per..(o + 1) * per].iter_mut().for_each(|w| *w *= s);
                }
                if let Some(bias) = conv.bias.as_mut() {
                    bias.iter_mut().zip(&scale).for_each(|(b, s)| *b *= s);
                }
            }
            if let Some(shift) = shift {
                let bias = conv.bias.get_or_insert_with(|| vec![0.0; shift.len()]);
                bias.iter_mut().zip(&shift).for_each(|(b, s)| *b += s);
            }
            let out = graph.node[step].output[0].clone();
            let c = conv.node;
            conv.write(graph, index);
            graph.node[c].output[0] = out;
            step
        }
        Fold::Before { mut conv, scale, shift, step, input } => {
            let per = conv.per_output();
            if let Some(shift) = shift {
                let sums: Vec<f32> = conv.weight.chunks_exact(per).map(|w| w.iter().sum::<f32>() * shift).collect();
                let bias = conv.bias.get_or_insert_with(|| vec![0.0; sums.len()]);
                bias.iter_mut().zip(&sums).for_each(|(b, s)| *b += s);
            }
            if let Some(scale) = scale {
                conv.weight.iter_mut().for_each(|w| *w *= scale);
            }
            let c = conv.node;
            conv.write(graph, index);
            graph.node[c].input[0] = input;
            step
        }
    };
    graph.node.remove(removed);
}

/// Folds constant scale and shift steps next to convolutions into their
/// weights and biases (see the module documentation). Returns how many
/// steps were folded.
pub fn fold_affine(proto: &mut ModelProto) -> usize {
    let Some(graph) = proto.graph.as_mut() else { return 0 };
    let mut folded = 0;
    loop {
        let index = Index::new(graph);
        let Some(fold) = find_fold(graph, &index) else { break };
        apply(graph, &index, fold);
        folded += 1;
    }
    // Constants only the folded steps read.
    let index = Index::new(graph);
    graph.node.retain(|n| n.op_type != "Constant" || n.output.iter().any(|o| index.uses.contains_key(o)));
    folded
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::{type_proto, OperatorSetIdProto, TypeProto, ValueInfoProto};
    use tract_onnx::prelude::*;

    fn node(op: &str, inputs: &[&str], output: &str) -> NodeProto {
        NodeProto {
            name: output.into(),
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            ..Default::default()
        }
    }

    fn ints(name: &str, v: &[i64]) -> AttributeProto {
        AttributeProto { name: name.into(), ints: v.to_vec(), r#type: 7, ..Default::default() }
    }

    fn conv(inputs: &[&str], output: &str, group: i64, pads: i64) -> NodeProto {
        let mut n = node("Conv", inputs, output);
        n.attribute.push(AttributeProto { name: "group".into(), i: group, r#type: 2, ..Default::default() });
        n.attribute.push(ints("pads", &[pads; 4]));
        n
    }

    fn init(name: &str, dims: &[i64], values: impl Fn(usize) -> f32) -> TensorProto {
        let n = dims.iter().product::<i64>() as usize;
        let mut t = TensorProto { name: name.into(), data_type: FLOAT, ..Default::default() };
        set_floats(&mut t, dims, &(0..n).map(values).collect::<Vec<_>>());
        t
    }

    /// A PP-LCNetV3-like block: depthwise 3x3 conv (padded) -> affine ->
    /// HardSwish -> affine -> 1x1 conv -> per-channel affine -> HardSwish ->
    /// affine (a graph output), with the affine constants in either operand
    /// order and the 1x1 conv's output scale one per channel.
    fn block() -> ModelProto {
        let c = 3;
        ModelProto {
            graph: Some(GraphProto {
                node: vec![
                    conv(&["x", "dw_w", "dw_b"], "dw", c, 1),
                    node("Mul", &["s1", "dw"], "m1"),
                    node("Add", &["m1", "b1"], "a1"),
                    node("HardSwish", &["a1"], "h1"),
                    node("Mul", &["h1", "s2"], "m2"),
                    node("Add", &["b2", "m2"], "a2"),
                    conv(&["a2", "pw_w"], "pw", 1, 0),
                    node("Mul", &["pw", "s3"], "m3"),
                    node("Add", &["m3", "b3"], "a3"),
                    node("HardSwish", &["a3"], "h3"),
                    node("Mul", &["h3", "s4"], "m4"),
                    node("Add", &["m4", "b4"], "y"),
                ],
                initializer: vec![
                    init("dw_w", &[3, 1, 3, 3], |i| (i as f32 * 0.37).sin()),
                    init("dw_b", &[3], |i| 0.1 * i as f32),
                    init("s1", &[1], |_| 1.7),
                    init("b1", &[1], |_| 0.4),
                    init("s2", &[], |_| 0.6),
                    init("b2", &[1], |_| -0.3),
                    init("pw_w", &[4, 3, 1, 1], |i| (i as f32 * 0.91).cos()),
                    init("s3", &[4, 1, 1], |i| 1.0 + 0.25 * i as f32),
                    init("b3", &[1], |_| 0.5),
                    init("s4", &[1], |_| 2.0),
                    init("b4", &[1], |_| 0.125),
                ],
                input: vec![ValueInfoProto {
                    name: "x".into(),
                    r#type: Some(TypeProto {
                        value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                            elem_type: FLOAT,
                            shape: None,
                        })),
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
                output: vec![ValueInfoProto { name: "y".into(), ..Default::default() }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn run(proto: &ModelProto) -> Vec<f32> {
        let mut proto = proto.clone();
        proto.opset_import.push(OperatorSetIdProto { domain: String::new(), version: 17 });
        let mut model = tract_onnx::onnx().model_for_proto_model(&proto).unwrap();
        model.set_input_fact(0, f32::fact([1, 3, 5, 6]).into()).unwrap();
        let plan = model.into_optimized().unwrap().into_runnable().unwrap();
        let input: Vec<f32> = (0..90).map(|i| ((i * 7) % 13) as f32 / 6.0 - 1.0).collect();
        let input = Tensor::from_shape(&[1, 3, 5, 6], &input).unwrap();
        let out = plan.run(tvec!(input.into_tvalue())).unwrap();
        out[0].to_plain_array_view::<f32>().unwrap().iter().copied().collect()
    }

    fn ops(proto: &ModelProto) -> Vec<&str> {
        proto.graph.as_ref().unwrap().node.iter().map(|n| n.op_type.as_str()).collect()
    }

    #[test]
    fn folds_into_the_convolutions_and_computes_the_same() {
        let before = block();
        let mut after = block();
        // Conv's affine (2 steps), the 1x1 conv's input affine (2), its output affine (2).
        assert_eq!(fold_affine(&mut after), 6);
        assert_eq!(ops(&after), vec!["Conv", "HardSwish", "Conv", "HardSwish", "Mul", "Add"]);
        assert_close(&run(&before), &run(&after));
    }

    fn assert_close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 1e-5 * (1.0 + x.abs()), "{x} vs {y}");
        }
    }

    #[test]
    fn a_shift_before_a_padded_convolution_stays() {
        let mut model = block();
        let graph = model.graph.as_mut().unwrap();
        // The 1x1 conv now pads: its input shift would shift the padding too.
        graph.node[6] = conv(&["a2", "pw_w"], "pw", 1, 1);
        let before = model.clone();
        assert_eq!(fold_affine(&mut model), 4);
        assert_eq!(ops(&model), vec!["Conv", "HardSwish", "Mul", "Add", "Conv", "HardSwish", "Mul", "Add"]);
        assert_close(&run(&before), &run(&model));
    }

    #[test]
    fn what_tract_folds_itself_is_left_to_it() {
        let mut model = block();
        let graph = model.graph.as_mut().unwrap();
        // A [1, C, 1, 1] scale after the ungrouped 1x1 conv: tract's own fold.
        graph.initializer[7] = init("s3", &[1, 4, 1, 1], |i| 1.0 + 0.25 * i as f32);
        let before = model.clone();
        assert_eq!(fold_affine(&mut model), 4);
        assert_eq!(ops(&model), vec!["Conv", "HardSwish", "Conv", "Mul", "Add", "HardSwish", "Mul", "Add"]);
        assert_close(&run(&before), &run(&model));
    }

    #[test]
    fn shared_values_and_weights_are_left_alone() {
        let mut model = block();
        // The depthwise output is also a graph output; the 1x1 weights feed two nodes.
        let graph = model.graph.as_mut().unwrap();
        graph.output.push(ValueInfoProto { name: "dw".into(), ..Default::default() });
        graph.node.push(node("Identity", &["pw_w"], "w_copy"));
        graph.output.push(ValueInfoProto { name: "w_copy".into(), ..Default::default() });
        assert_eq!(fold_affine(&mut model), 0);
    }
}
