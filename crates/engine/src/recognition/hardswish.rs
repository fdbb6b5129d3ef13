//! Folding the exported hard-swish activations back into one operator.
//!
//! paddle2onnx writes PP-OCRv4's activation `hardswish(x)` as four nodes,
//! `Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6)`. tract fuses them into two
//! element-wise chains that each stream the whole tensor, and the first one
//! copies `x` (it is read twice). ONNX's `HardSwish` (`x * max(0, min(1,
//! x / 6 + 1/2))`, the same function) runs as one in-place vectorised pass:
//! on PP-OCRv4's recogniser the two chains were about a fifth of each call
//! (`examples/op_profile.rs`, docs/engines.md); folded, a call takes about 0.85x the time.

use std::collections::HashMap;

use tract_onnx::pb::{GraphProto, ModelProto, NodeProto, TensorProto};

const FLOAT: i32 = 1;

/// Replaces every `Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6)` whose
/// intermediate values have no other use by `HardSwish(x)`. Returns how
/// many were replaced.
pub fn fuse_hardswish(proto: &mut ModelProto) -> usize {
    let Some(graph) = proto.graph.as_mut() else { return 0 };
    let mut uses: HashMap<String, usize> = HashMap::new();
    for name in graph.node.iter().flat_map(|n| n.input.iter()).chain(graph.output.iter().map(|o| &o.name)) {
        *uses.entry(name.clone()).or_default() += 1;
    }
    let producer: HashMap<&str, usize> =
        graph.node.iter().enumerate().flat_map(|(i, n)| n.output.iter().map(move |o| (o.as_str(), i))).collect();
    let used_once = |name: &str| uses.get(name).copied() == Some(1);
    let mut replaced: Vec<(usize, [usize; 3], String)> = Vec::new();
    for (d, div) in graph.node.iter().enumerate() {
        if div.op_type != "Div" || div.input.len() != 2 || scalar(graph, &div.input[1]) != Some(6.0) {
            continue;
        }
        let Some(&m) = producer.get(div.input[0].as_str()) else { continue };
        let mul = &graph.node[m];
        if mul.op_type != "Mul" || mul.input.len() != 2 || !used_once(&div.input[0]) {
            continue;
        }
        // Mul(x, clip) in either order.
        let found = (0..2).find_map(|k| {
            let (x, clipped) = (&mul.input[k], &mul.input[1 - k]);
            let &c = producer.get(clipped.as_str())?;
            let clip = &graph.node[c];
            if clip.op_type != "Clip" || !used_once(clipped) || clip_bounds(graph, clip)? != (0.0, 6.0) {
                return None;
            }
            let &a = producer.get(clip.input.first()?.as_str())?;
            let add = &graph.node[a];
            if add.op_type != "Add" || add.input.len() != 2 || !used_once(&clip.input[0]) {
                return None;
            }
            let plus_three = (add.input[0] == *x && scalar(graph, &add.input[1]) == Some(3.0))
                || (add.input[1] == *x && scalar(graph, &add.input[0]) == Some(3.0));
            plus_three.then(|| ([a, c, m], x.clone()))
        });
        if let Some((gone, x)) = found {
            replaced.push((d, gone, x));
        }
    }
    let count = replaced.len();
    let mut remove = vec![false; graph.node.len()];
    for (d, gone, x) in replaced {
        let div = &mut graph.node[d];
        *div = NodeProto {
            name: format!("{}.hardswish", div.name),
            op_type: "HardSwish".into(),
            input: vec![x],
            output: div.output.clone(),
            ..Default::default()
        };
        gone.iter().for_each(|&i| remove[i] = true);
    }
    let mut i = 0;
    graph.node.retain(|_| {
        i += 1;
        !remove[i - 1]
    });
    count
}

/// `Clip`'s bounds: inputs 1 and 2 (opset 11 on) or attributes `min`/`max`.
fn clip_bounds(graph: &GraphProto, clip: &NodeProto) -> Option<(f32, f32)> {
    if clip.input.len() == 3 {
        return Some((scalar(graph, &clip.input[1])?, scalar(graph, &clip.input[2])?));
    }
    let attr = |name: &str| clip.attribute.iter().find(|a| a.name == name).map(|a| a.f);
    Some((attr("min")?, attr("max")?))
}

/// The value of a one-element f32 constant (initializer or `Constant` node).
fn scalar(graph: &GraphProto, name: &str) -> Option<f32> {
    let tensor: &TensorProto = graph.initializer.iter().find(|t| t.name == name).or_else(|| {
        let node = graph.node.iter().find(|n| n.op_type == "Constant" && n.output.iter().any(|o| o == name))?;
        node.attribute.iter().find(|a| a.name == "value").and_then(|a| a.t.as_ref())
    })?;
    if tensor.data_type != FLOAT || tensor.dims.iter().product::<i64>() != 1 {
        return None;
    }
    match (tensor.float_data.as_slice(), tensor.raw_data.as_slice()) {
        ([v], _) => Some(*v),
        ([], [a, b, c, d]) => Some(f32::from_le_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::{AttributeProto, ValueInfoProto};

    fn node(op: &str, inputs: &[&str], output: &str) -> NodeProto {
        NodeProto {
            name: output.into(),
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            ..Default::default()
        }
    }

    fn constant(name: &str, value: f32) -> NodeProto {
        let t = TensorProto { data_type: FLOAT, raw_data: value.to_le_bytes().to_vec(), ..Default::default() };
        let mut n = node("Constant", &[], name);
        n.attribute.push(AttributeProto { name: "value".into(), t: Some(t), ..Default::default() });
        n
    }

    /// x -> hardswish as paddle2onnx writes it -> y, with `six` as the divisor.
    fn exported(six: f32) -> ModelProto {
        ModelProto {
            graph: Some(GraphProto {
                node: vec![
                    constant("three", 3.0),
                    constant("zero", 0.0),
                    constant("six", 6.0),
                    constant("divisor", six),
                    node("Add", &["x", "three"], "a"),
                    node("Clip", &["a", "zero", "six"], "c"),
                    node("Mul", &["x", "c"], "m"),
                    node("Div", &["m", "divisor"], "y"),
                ],
                output: vec![ValueInfoProto { name: "y".into(), ..Default::default() }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_exported_pattern_becomes_one_hardswish() {
        let mut model = exported(6.0);
        assert_eq!(fuse_hardswish(&mut model), 1);
        let ops: Vec<(&str, &[String], &[String])> = model.graph.as_ref().unwrap().node[4..]
            .iter()
            .map(|n| (n.op_type.as_str(), n.input.as_slice(), n.output.as_slice()))
            .collect();
        assert_eq!(ops, vec![("HardSwish", &["x".to_string()][..], &["y".to_string()][..])]);
    }

    #[test]
    fn other_constants_or_shared_values_are_left_alone() {
        let mut model = exported(5.0);
        assert_eq!(fuse_hardswish(&mut model), 0);
        let mut model = exported(6.0);
        // The clipped value is also a graph output: it must stay.
        model.graph.as_mut().unwrap().output.push(ValueInfoProto { name: "c".into(), ..Default::default() });
        assert_eq!(fuse_hardswish(&mut model), 0);
        assert_eq!(model.graph.unwrap().node.len(), 8);
    }
}
