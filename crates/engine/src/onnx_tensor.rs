//! Reading and writing the f32 values of ONNX tensors, for the graph edits
//! made when a model is loaded (`recognition::prune`, `affine`).

use tract_onnx::pb::TensorProto;

/// ONNX's `TensorProto.DataType` code for f32.
pub(crate) const FLOAT: i32 = 1;

/// The values of an f32 tensor, whether stored as `float_data` or as
/// little-endian `raw_data`; `None` for other element types.
pub(crate) fn floats(t: &TensorProto) -> Option<Vec<f32>> {
    if t.data_type != FLOAT {
        return None;
    }
    if !t.float_data.is_empty() {
        return Some(t.float_data.clone());
    }
    Some(t.raw_data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

/// Replaces `t`'s shape and values (stored as `raw_data`).
pub(crate) fn set_floats(t: &mut TensorProto, dims: &[i64], values: &[f32]) {
    t.dims = dims.to_vec();
    t.float_data.clear();
    t.raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
}
