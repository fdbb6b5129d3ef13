//! The model runtime seam: a small [`Model`] trait over dense `f32` tensors,
//! implemented for ONNX files with tract ([`OnnxModel`]).
//!
//! tract is fastest with concrete input shapes, and symbolic dimensions fail
//! on these models (see the project's tract notes), so [`OnnxModel`] keeps
//! one optimised plan per input shape in a bounded cache. Callers pad their
//! inputs to a small set of shapes and can build those plans up front with
//! [`Model::prepare`], so no request pays the optimisation cost. Detectors
//! meet a new shape with every new page size; with
//! [`OnnxModel::reusing_declutter`] their plans start from one decluttered
//! graph (`retarget.rs`), which cuts a build to a third to a half.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::konst::Const;
use tract_onnx::tract_core::ops::matmul::optimized::{MatMulOperand, OptMatMul, ProtoFusedSpec};
use tract_onnx::tract_core::tract_data::prelude::Blob;
use tract_onnx::tract_core::tract_linalg::mmm::{EagerPackedInput, MMMInputValue, PackedExoticFact};

use crate::retarget::{differ_in_both_sides, fits, input_shape, Template};
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

    /// Optimised plans held now (one per input shape met or prepared).
    /// The default, for models without plans, is 0.
    fn cached_plans(&self) -> usize {
        0
    }
}

type Plan = Arc<TypedRunnableModel>;

thread_local! {
    static PLAN_BUILD_TIME: std::cell::Cell<Duration> = const { std::cell::Cell::new(Duration::ZERO) };
}

/// Time the calling thread has spent building optimised plans (or waiting
/// for another thread to finish building one it needs) since the last call,
/// which resets it. A request that only meets built plans reads zero.
pub fn take_plan_build_time() -> Duration {
    PLAN_BUILD_TIME.with(|t| t.replace(Duration::ZERO))
}

/// Adds `spent` to the calling thread's plan-building time: work done for
/// this thread on another (see [`crate::spread`]) is charged to it.
pub fn charge_plan_build_time(spent: Duration) {
    PLAN_BUILD_TIME.with(|t| t.set(t.get() + spent));
}
type PlanSlot = Arc<OnceLock<std::result::Result<Plan, String>>>;

/// An ONNX model run with tract, with one optimised plan per input shape.
pub struct OnnxModel {
    path: PathBuf,
    graph: InferenceModel,
    metadata: HashMap<String, String>,
    plans: Mutex<PlanCache>,
    /// With [`OnnxModel::reusing_declutter`]: the decluttered graph other
    /// shapes' plans start from.
    reuse: Option<Mutex<Reuse>>,
    retargeted: std::sync::atomic::AtomicUsize,
    /// With [`OnnxModel::editing_plans`]: a rewrite of each decluttered graph.
    plan_edit: Option<PlanEdit>,
}

/// A rewrite of a decluttered graph at its concrete input shape, before
/// tract's codegen (e.g. [`crate::unstride::unstride_depthwise`]). Returns
/// how many places it changed.
pub type PlanEdit = fn(&mut TypedModel) -> TractResult<usize>;

/// Where a model reusing its decluttered graph stands.
enum Reuse {
    /// The first graph decluttered from scratch, waiting for a second
    /// whose shape differs in height and width to check it against.
    Waiting(Option<TypedModel>),
    /// Checked: plans of other shapes start from it.
    Ready(Arc<Template>),
    /// The check failed: every plan is built from scratch.
    Refused,
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
        let mut graph = onnx.model_for_proto_model(&proto).map_err(|e| load_err(format!("{e:#}")))?;
        share_graph_constants(&mut graph).map_err(|e| load_err(format!("{e:#}")))?;
        Ok(Self {
            path: path.to_path_buf(),
            graph,
            metadata,
            plans: Mutex::new(PlanCache { slots: HashMap::new(), tick: 0, capacity: plan_capacity.max(1) }),
            reuse: None,
            retargeted: Default::default(),
            plan_edit: None,
        })
    }

    /// Builds plans for new input shapes from one decluttered graph
    /// (`retarget.rs`) once two plans built from scratch, for shapes
    /// differing in height and width, have shown that this is exact: such a
    /// plan costs code generation only (a third to a half of a detector
    /// plan's build). Meant for the detectors, whose input is `[1, 3, H, W]`.
    pub fn reusing_declutter(mut self) -> Self {
        self.reuse = Some(Mutex::new(Reuse::Waiting(None)));
        self
    }

    /// Applies `edit` to every plan's decluttered graph before codegen: for
    /// rewrites that need the concrete shape, or that tract's declutter
    /// would undo.
    pub fn editing_plans(mut self, edit: PlanEdit) -> Self {
        self.plan_edit = Some(edit);
        self
    }

    /// Plans built from the reused decluttered graph so far.
    pub fn retargeted_plans(&self) -> usize {
        self.retargeted.load(std::sync::atomic::Ordering::Relaxed)
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

    /// The optimised plan for inputs of `shape` (built, or taken from the
    /// cache): for tools that run it node by node (`examples/op_profile.rs`).
    pub fn optimised_plan(&self, shape: &[usize]) -> Result<Arc<TypedRunnableModel>> {
        self.plan(shape)
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
        if let Some(done) = slot.get() {
            return done.clone().map_err(|e| self.plan_error(shape, e));
        }
        // Building (or waiting for another thread to build) this plan: the
        // time is charged to the calling thread (see [`take_plan_build_time`]).
        let clock = Instant::now();
        let result = slot.get_or_init(|| self.build_plan(shape).map_err(|e| format!("{e:#}"))).clone();
        PLAN_BUILD_TIME.with(|t| t.set(t.get() + clock.elapsed()));
        result.map_err(|e| self.plan_error(shape, e))
    }

    fn plan_error(&self, shape: &[usize], e: String) -> EngineError {
        EngineError::Inference(format!("{}: plan for shape {shape:?}: {e}", self.path.display()))
    }

    fn build_plan(&self, shape: &[usize]) -> TractResult<Plan> {
        let mut decluttered = match self.template().filter(|t| t.shape().is_some_and(|s| fits(&s, shape))) {
            Some(template) => match template.retarget(shape) {
                Ok(model) => {
                    self.retargeted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    model
                }
                Err(_) => self.decluttered(shape)?,
            },
            None => {
                let model = self.decluttered(shape)?;
                self.offer_decluttered(&model);
                model
            }
        };
        if let Some(edit) = self.plan_edit {
            edit(&mut decluttered)?;
        }
        decluttered.optimize()?;
        share_constants(&mut decluttered)?;
        decluttered.into_runnable()
    }

    /// The graph analysed and decluttered from scratch for inputs of `shape`.
    fn decluttered(&self, shape: &[usize]) -> TractResult<TypedModel> {
        let mut model = self.graph.clone();
        model.set_input_fact(0, f32::fact(shape).into())?;
        model.into_typed()?.into_decluttered()
    }

    /// The checked decluttered graph, if this model reuses one and has it.
    fn template(&self) -> Option<Arc<Template>> {
        match &*self.reuse.as_ref()?.lock().ok()? {
            Reuse::Ready(t) => Some(t.clone()),
            _ => None,
        }
    }

    /// Keeps a graph decluttered from scratch as the template candidate, or
    /// checks the candidate against it (see [`Template::verified`]).
    fn offer_decluttered(&self, model: &TypedModel) {
        let Some(mut reuse) = self.reuse.as_ref().and_then(|r| r.lock().ok()) else { return };
        let Reuse::Waiting(candidate) = &mut *reuse else { return };
        let Some(shape) = input_shape(model) else { return };
        match candidate.take() {
            None => *candidate = Some(model.clone()),
            Some(first) => match input_shape(&first) {
                Some(s) if differ_in_both_sides(&s, &shape) => {
                    *reuse = Template::verified(first, model).map_or(Reuse::Refused, |t| Reuse::Ready(Arc::new(t)));
                }
                _ => *candidate = Some(first),
            },
        }
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

    fn cached_plans(&self) -> usize {
        OnnxModel::cached_plans(self)
    }
}

/// Values kept once, by content hash, with weak entries: a value is freed
/// with the last plan holding it.
type Pool<T> = Mutex<HashMap<u64, Vec<Weak<T>>>>;

/// Constant tensors of built plans and parsed graphs. Plans of one model for
/// different input shapes hold mostly identical constants, and a recogniser
/// and its Latin-pruned copy share all weights but the output layer.
fn tensor_pool() -> &'static Pool<Tensor> {
    static POOL: OnceLock<Pool<Tensor>> = OnceLock::new();
    POOL.get_or_init(Default::default)
}

/// Values smaller than this are not worth a look-up.
const SHARE_MIN_BYTES: usize = 4096;

/// For each `(index, value)` worth sharing: the pooled value equal to it,
/// when that is another allocation (a value seen first joins the pool).
/// Hashing happens before the pool is locked.
fn pooled<'a, T: Hash + Eq + 'a>(
    pool: &Pool<T>,
    items: impl Iterator<Item = (usize, &'a Arc<T>)>,
) -> TractResult<Vec<(usize, Arc<T>)>> {
    let keyed: Vec<(usize, &Arc<T>, u64)> = items
        .map(|(i, t)| {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            t.hash(&mut hasher);
            (i, t, hasher.finish())
        })
        .collect();
    let mut pool = pool.lock().map_err(|_| TractError::msg("constant pool poisoned"))?;
    pool.retain(|_, v| {
        v.retain(|w| w.strong_count() > 0);
        !v.is_empty()
    });
    let mut replaced = Vec::new();
    for (i, value, key) in keyed {
        let entry = pool.entry(key).or_default();
        match entry.iter().filter_map(Weak::upgrade).find(|t| Arc::ptr_eq(t, value) || **t == **value) {
            Some(same) if !Arc::ptr_eq(&same, value) => replaced.push((i, same)),
            Some(_) => {}
            None => entry.push(Arc::downgrade(value)),
        }
    }
    Ok(replaced)
}

fn worth_sharing(tensor: &Tensor) -> bool {
    !tensor.is_plain() || tensor.len() * tensor.datum_type().size_of() >= SHARE_MIN_BYTES
}

/// Makes an optimised `model` hold the pooled copy of every constant and
/// packed weight matrix equal to one already held elsewhere.
fn share_constants(model: &mut TypedModel) -> TractResult<()> {
    let consts = model
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| n.op_as::<Const>().map(|k| (i, k.val())))
        .filter(|(_, t)| worth_sharing(t));
    for (i, same) in pooled(tensor_pool(), consts)? {
        let node = &mut model.nodes[i];
        let exotic =
            node.op_as::<Const>().and_then(|k| k.exotic_fact()).and_then(|_| node.outputs[0].fact.exotic_fact.clone());
        node.op = Box::new(Const::new_with_opt_exotic_fact(same.clone(), exotic)?);
        node.outputs[0].fact.konst = Some(same);
    }
    let mut packed: Vec<&mut EagerPackedInput> = Vec::new();
    for node in model.nodes.iter_mut() {
        let Some(matmul) = node.op_as_mut::<OptMatMul>() else { continue };
        for spec in matmul.micro_ops.iter_mut() {
            let ProtoFusedSpec::AddMatMul { a, b, .. } = spec else { continue };
            for operand in [a, b] {
                if let MatMulOperand::Const(value) = operand {
                    if let Some(eager) = value.downcast_mut::<EagerPackedInput>() {
                        if eager.packed.len() >= SHARE_MIN_BYTES {
                            packed.push(eager);
                        }
                    }
                }
            }
        }
    }
    share_packed(packed)
}

/// A packed matrix in the pool: its layout and its (weakly held) bytes.
struct PackedEntry {
    fact: PackedExoticFact,
    panel_bytes: usize,
    mn: usize,
    packed: Weak<Blob>,
}

/// Packed weight matrices of built plans, by a hash of their layout and
/// values. Packing leaves padding bytes unset, so two packings of the same
/// weights differ as bytes: they are compared by the values they hold.
fn packed_pool() -> &'static Mutex<HashMap<u64, Vec<PackedEntry>>> {
    static POOL: OnceLock<Mutex<HashMap<u64, Vec<PackedEntry>>>> = OnceLock::new();
    POOL.get_or_init(Default::default)
}

/// The values a packed matrix holds, row by row (`None` when they cannot
/// be read back).
fn unpacked(e: &EagerPackedInput) -> Option<Vec<f32>> {
    let k = e.fact.k;
    if k == 0 || e.mn == 0 {
        return None;
    }
    let mut values = vec![0f32; e.mn * k];
    for (m, row) in values.chunks_exact_mut(k).enumerate() {
        e.extract_at_mn_f32(m, row).ok()?;
    }
    Some(values)
}

/// Points each matrix of `matrices` at the pooled bytes of an equal one.
fn share_packed(matrices: Vec<&mut EagerPackedInput>) -> TractResult<()> {
    let keyed: Vec<(&mut EagerPackedInput, Vec<f32>, u64)> = matrices
        .into_iter()
        .filter_map(|e| {
            let values = unpacked(e)?;
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            (&e.fact, e.panel_bytes, e.mn, e.packed.len()).hash(&mut hasher);
            values.iter().for_each(|v| v.to_bits().hash(&mut hasher));
            Some((e, values, hasher.finish()))
        })
        .collect();
    let mut pool = packed_pool().lock().map_err(|_| TractError::msg("constant pool poisoned"))?;
    pool.retain(|_, v| {
        v.retain(|e| e.packed.strong_count() > 0);
        !v.is_empty()
    });
    for (matrix, values, key) in keyed {
        let entry = pool.entry(key).or_default();
        let same = entry.iter().find_map(|p| {
            let bytes = p.packed.upgrade()?;
            let alike = p.fact == matrix.fact
                && p.panel_bytes == matrix.panel_bytes
                && p.mn == matrix.mn
                && bytes.len() == matrix.packed.len();
            let candidate =
                EagerPackedInput { fact: p.fact.clone(), packed: bytes, panel_bytes: p.panel_bytes, mn: p.mn };
            (alike && unpacked(&candidate).is_some_and(|v| v == values)).then_some(candidate.packed)
        });
        match same {
            Some(bytes) => matrix.packed = bytes,
            None => entry.push(PackedEntry {
                fact: matrix.fact.clone(),
                panel_bytes: matrix.panel_bytes,
                mn: matrix.mn,
                packed: Arc::downgrade(&matrix.packed),
            }),
        }
    }
    Ok(())
}

/// As [`share_constants`] for a parsed graph: the weights of a model loaded
/// twice (a recogniser and its Latin-pruned copy) are kept once.
fn share_graph_constants(model: &mut InferenceModel) -> TractResult<()> {
    let consts = model
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| n.op_as::<Const>().filter(|k| k.exotic_fact().is_none()).map(|k| (i, k.val())))
        .filter(|(_, t)| worth_sharing(t));
    for (i, same) in pooled(tensor_pool(), consts)? {
        let node = &mut model.nodes[i];
        node.op = Box::new(Const::new(same.clone())?);
        node.outputs[0].fact.value = same.into();
    }
    Ok(())
}
