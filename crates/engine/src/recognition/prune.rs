//! Shrinking a recogniser's output layer to a subset of its classes.
//!
//! PP-OCR recognisers end in `MatMul(features, W[H, C]) + b[C] -> Softmax`.
//! With C = 6625 (v4) or 18710 (v6) classes, that layer and the softmax are a
//! large share of each call; a request for a Latin-script language needs
//! only a few hundred of them. Keeping only those columns of `W` and `b`
//! gives a smaller, faster model whose softmax runs over the kept classes.

use tract_onnx::pb::{ModelProto, TensorProto};

use crate::{EngineError, Result};

const FLOAT: i32 = 1;

/// Keeps only the output classes listed in `keep` (indices into the
/// original classes, in the order they should appear).
pub fn keep_output_classes(proto: &mut ModelProto, keep: &[usize]) -> Result<()> {
    let err = |m: &str| EngineError::Inference(format!("cannot prune recogniser output: {m}"));
    let graph = proto.graph.as_mut().ok_or_else(|| err("model has no graph"))?;
    let output = graph.output.first().map(|o| o.name.clone()).ok_or_else(|| err("no graph output"))?;
    let producer = |name: &str| graph.node.iter().find(|n| n.output.iter().any(|o| o == name));
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

fn floats(t: &TensorProto) -> Option<Vec<f32>> {
    if t.data_type != FLOAT {
        return None;
    }
    if !t.float_data.is_empty() {
        return Some(t.float_data.clone());
    }
    Some(t.raw_data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

fn set_floats(t: &mut TensorProto, dims: &[i64], values: &[f32]) {
    t.dims = dims.to_vec();
    t.float_data.clear();
    t.raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
}
