//! The model runtime seam: a small [`Model`] trait over dense `f32` tensors,
//! implemented for ONNX files with tract ([`OnnxModel`]).
//!
//! tract is fastest with concrete input shapes, and symbolic dimensions fail
//! on these models (see the project's tract notes), so [`OnnxModel`] keeps
//! one optimised plan per input shape in a bounded cache. Callers pad their
//! inputs to a small set of shapes and can build those plans up front with
//! [`Model::prepare`], so no request pays the optimisation cost.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::*;

use crate::{EngineError, Result};

/// A dense `f32` tensor in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseTensor {
    /// Dimensions, outermost first (e.g. `[N, C, H, W]` for an image batch).
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values.
    pub data: Vec<f32>,
}

impl DenseTensor {
    /// A tensor of the given shape filled with `value`.
    pub fn filled(shape: &[usize], value: f32) -> Self {
        Self { shape: shape.to_vec(), data: vec![value; shape.iter().product()] }
    }
}

/// Something that maps one input tensor to one output tensor: a neural
/// network in production, a fake in tests.
pub trait Model: Send + Sync {
    /// Runs the model on `input` and returns its first output.
    fn run(&self, input: &DenseTensor) -> Result<DenseTensor>;

    /// Builds whatever is needed to run inputs of `shape` quickly later.
    /// The default does nothing.
    fn prepare(&self, _shape: &[usize]) -> Result<()> {
        Ok(())
    }
}

type Plan = Arc<TypedRunnableModel>;
type PlanSlot = Arc<OnceLock<std::result::Result<Plan, String>>>;

/// An ONNX model run with tract, with one optimised plan per input shape.
pub struct OnnxModel {
    path: PathBuf,
    graph: InferenceModel,
    metadata: HashMap<String, String>,
    plans: Mutex<PlanCache>,
}

struct PlanCache {
    slots: HashMap<Vec<usize>, (PlanSlot, u64)>,
    tick: u64,
    capacity: usize,
}

impl OnnxModel {
    /// Parses the ONNX file at `path` (no optimisation yet). `plan_capacity`
    /// bounds how many per-shape plans are kept (least recently used go first).
    pub fn load(path: &Path, plan_capacity: usize) -> Result<Self> {
        Self::load_edited(path, plan_capacity, |_| Ok(()))
    }

    /// As [`OnnxModel::load`], letting `edit` change the ONNX graph before
    /// it is parsed (e.g. [`crate::recognition::keep_output_classes`]).
    pub fn load_edited(
        path: &Path,
        plan_capacity: usize,
        edit: impl FnOnce(&mut ModelProto) -> Result<()>,
    ) -> Result<Self> {
        let load_err = |reason: String| EngineError::ModelLoad { path: path.to_path_buf(), reason };
        if !path.is_file() {
            return Err(load_err("file not found (run scripts/fetch-models)".into()));
        }
        // value_info and output shapes carry symbolic dims that clash with concrete
        // input facts on PP-OCRv6; ignoring them is required (see tract notes §1).
        let onnx = tract_onnx::onnx().with_ignore_value_info(true).with_ignore_output_shapes(true);
        let mut proto: ModelProto = onnx.proto_model_for_path(path).map_err(|e| load_err(format!("{e:#}")))?;
        edit(&mut proto)?;
        let metadata = proto.metadata_props.iter().map(|p| (p.key.clone(), p.value.clone())).collect();
        let graph = onnx.model_for_proto_model(&proto).map_err(|e| load_err(format!("{e:#}")))?;
        Ok(Self {
            path: path.to_path_buf(),
            graph,
            metadata,
            plans: Mutex::new(PlanCache { slots: HashMap::new(), tick: 0, capacity: plan_capacity.max(1) }),
        })
    }

    /// The file this model was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A value of the ONNX `metadata_props` (e.g. `character` on recognisers).
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// Number of optimised plans currently cached.
    pub fn cached_plans(&self) -> usize {
        self.plans.lock().map(|c| c.slots.len()).unwrap_or(0)
    }

    fn plan(&self, shape: &[usize]) -> Result<Plan> {
        let slot = {
            let mut cache = self.plans.lock().map_err(|_| EngineError::Inference("plan cache poisoned".into()))?;
            cache.tick += 1;
            let tick = cache.tick;
            if !cache.slots.contains_key(shape) && cache.slots.len() >= cache.capacity {
                if let Some(oldest) = cache.slots.iter().min_by_key(|(_, (_, t))| *t).map(|(k, _)| k.clone()) {
                    cache.slots.remove(&oldest);
                }
            }
            let entry = cache.slots.entry(shape.to_vec()).or_insert_with(|| (Arc::new(OnceLock::new()), tick));
            entry.1 = tick;
            entry.0.clone()
        };
        slot.get_or_init(|| self.build_plan(shape).map_err(|e| format!("{e:#}")))
            .clone()
            .map_err(|e| EngineError::Inference(format!("{}: plan for shape {shape:?}: {e}", self.path.display())))
    }

    fn build_plan(&self, shape: &[usize]) -> TractResult<Plan> {
        let mut model = self.graph.clone();
        model.set_input_fact(0, f32::fact(shape).into())?;
        model.into_optimized()?.into_runnable()
    }
}

impl Model for OnnxModel {
    fn run(&self, input: &DenseTensor) -> Result<DenseTensor> {
        let plan = self.plan(&input.shape)?;
        let tensor =
            Tensor::from_shape(&input.shape, &input.data).map_err(|e| EngineError::Inference(e.to_string()))?;
        let outputs = plan.run(tvec!(tensor.into_tvalue())).map_err(|e| EngineError::Inference(format!("{e:#}")))?;
        let first = outputs.first().ok_or_else(|| EngineError::Inference("model returned no output".into()))?;
        let view = first.to_plain_array_view::<f32>().map_err(|e| EngineError::Inference(e.to_string()))?;
        Ok(DenseTensor { shape: view.shape().to_vec(), data: view.iter().copied().collect() })
    }

    fn prepare(&self, shape: &[usize]) -> Result<()> {
        self.plan(shape).map(|_| ())
    }
}
