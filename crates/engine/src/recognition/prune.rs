//! Shrinking a recogniser's output layer to a subset of its classes.
//!
//! PP-OCR recognisers end in `MatMul(features, W[H, C]) + b[C] -> Softmax`.
//! With C = 6625 (v4) or 18710 (v6) classes, that layer and the softmax are a
//! large share of each call; a request for a Latin-script language needs
//! only a few hundred of them. Keeping only those columns of `W` and `b`
//! gives a smaller, faster model whose softmax runs over the kept classes.

use tract_onnx::pb::{ModelProto, TensorProto};

use crate::onnx_tensor::{floats, set_floats};
use crate::{EngineError, Result};

/// Keeps only the output classes listed in `keep` (indices into the
/// original classes, in the order they should appear).
pub fn keep_output_classes(proto: &mut ModelProto, keep: &[usize]) -> Result<()> {
    let err = |m: &str| EngineError::Inference(format!("cannot prune recogniser output: {m}"));
    let graph = proto.graph.as_mut().ok_or_else(|| err("model has no graph"))?;
    let output = graph.output.first().map(|o| o.name.clone()).ok_or_else(|| err("no graph output"))?;
    // The node producing `name`, looking through Identity nodes (PP-OCRv6 has them).
    let producer = |name: &str| {
        let mut name = name.to_string();
        loop {
            let node = graph.node.iter().find(|n| n.output.contains(&name))?;
            if node.op_type != "Identity" {
                return Some(node);
            }
            name = node.input.first()?.clone();
        }
    };
    let softmax = producer(&output).filter(|n| n.op_type == "Softmax").ok_or_else(|| err("output is not a Softmax"))?;
    let add = producer(&softmax.input[0]).filter(|n| n.op_type == "Add").ok_or_else(|| err("no Add before Softmax"))?;
    let (matmul_out, bias) = (add.input[0].clone(), add.input[1].clone());
    let matmul = producer(&matmul_out).filter(|n| n.op_type == "MatMul").ok_or_else(|| err("no MatMul before Add"))?;
    let weight = matmul.input[1].clone();

    let w = constant_mut(graph, &weight).ok_or_else(|| err("MatMul weight is not a constant"))?;
    let (rows, cols) = match w.dims.as_slice() {
        [r, c] => (*r as usize, *c as usize),
        other => return Err(err(&format!("weight has shape {other:?}"))),
    };
    if keep.iter().any(|&k| k >= cols) {
        return Err(err("class index out of range"));
    }
    let values = floats(w).ok_or_else(|| err("weight is not f32"))?;
    let pruned: Vec<f32> =
        (0..rows).flat_map(|r| keep.iter().map(move |&k| (r, k))).map(|(r, k)| values[r * cols + k]).collect();
    set_floats(w, &[rows as i64, keep.len() as i64], &pruned);

    let b = constant_mut(graph, &bias).ok_or_else(|| err("bias is not a constant"))?;
    let values = floats(b).ok_or_else(|| err("bias is not f32"))?;
    if values.len() != cols {
        return Err(err("bias length differs from the weight's columns"));
    }
    let pruned: Vec<f32> = keep.iter().map(|&k| values[k]).collect();
    set_floats(b, &[keep.len() as i64], &pruned);
    Ok(())
}

/// The constant tensor named `name`: an initializer or a `Constant` node's value.
fn constant_mut<'a>(graph: &'a mut tract_onnx::pb::GraphProto, name: &str) -> Option<&'a mut TensorProto> {
    if let Some(i) = graph.initializer.iter().position(|t| t.name == name) {
        return graph.initializer.get_mut(i);
    }
    let node = graph.node.iter_mut().find(|n| n.op_type == "Constant" && n.output.iter().any(|o| o == name))?;
    node.attribute.iter_mut().find(|a| a.name == "value").and_then(|a| a.t.as_mut())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx_tensor::FLOAT;
    use tract_onnx::pb::{AttributeProto, GraphProto, NodeProto, ValueInfoProto};

    fn node(op: &str, inputs: &[&str], output: &str) -> NodeProto {
        NodeProto {
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            ..Default::default()
        }
    }

    /// features[1, 2] x W[2, 4] + b[4] -> Identity -> Softmax, W as an
    /// initializer (raw bytes) and b as a Constant node (float_data).
    fn tiny_model() -> ModelProto {
        let w = TensorProto {
            name: "W".into(),
            dims: vec![2, 4],
            data_type: FLOAT,
            raw_data: [0., 1., 2., 3., 10., 11., 12., 13.].iter().flat_map(|v: &f32| v.to_le_bytes()).collect(),
            ..Default::default()
        };
        let b =
            TensorProto { dims: vec![4], data_type: FLOAT, float_data: vec![0.5, 1.5, 2.5, 3.5], ..Default::default() };
        let mut constant = node("Constant", &[], "b");
        constant.attribute.push(AttributeProto { name: "value".into(), t: Some(b), ..Default::default() });
        ModelProto {
            graph: Some(GraphProto {
                node: vec![
                    constant,
                    node("MatMul", &["x", "W"], "mm"),
                    node("Add", &["mm", "b"], "logits"),
                    node("Identity", &["logits"], "same"),
                    node("Softmax", &["same"], "probs"),
                ],
                initializer: vec![w],
                output: vec![ValueInfoProto { name: "probs".into(), ..Default::default() }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn keeps_the_listed_columns_of_weight_and_bias() {
        let mut model = tiny_model();
        keep_output_classes(&mut model, &[0, 3]).unwrap();
        let graph = model.graph.unwrap();
        let w = &graph.initializer[0];
        assert_eq!(w.dims, vec![2, 2]);
        assert_eq!(floats(w).unwrap(), vec![0., 3., 10., 13.]);
        let b = graph.node[0].attribute[0].t.as_ref().unwrap();
        assert_eq!(b.dims, vec![2]);
        assert_eq!(floats(b).unwrap(), vec![0.5, 3.5]);
    }

    #[test]
    fn refuses_out_of_range_classes_and_other_graphs() {
        let mut model = tiny_model();
        assert!(keep_output_classes(&mut model, &[0, 4]).is_err());
        let mut model = tiny_model();
        model.graph.as_mut().unwrap().node.pop(); // no Softmax at the output any more
        assert!(keep_output_classes(&mut model, &[0]).is_err());
    }
}
