//! Text detection: a DB (DBNet) model turns a page into a per-pixel text
//! probability map, and [`postprocess`] turns the map into rotated boxes.

pub mod postprocess;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use image::RgbImage;

use crate::geometry::Quad;
use crate::imageops::{resize, write_bgr_normalised};
use crate::model::{DenseTensor, Model};
use crate::{EngineError, Result};
pub use postprocess::{boxes_from_map, DbParams, MapBox, ProbabilityMap};

/// How pages are sized for the detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorConfig {
    /// Pages whose longer side exceeds this are scaled down to it (pixels).
    /// Smaller pages are never scaled up.
    pub max_side: u32,
    /// The input tensor's height and width are padded up to a multiple of
    /// this (at least 32, which the network's strides require). Coarser steps
    /// mean fewer distinct shapes, hence fewer optimised plans to keep.
    pub shape_step: u32,
    /// Post-processing parameters.
    pub db: DbParams,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self { max_side: 1280, shape_step: 32, db: DbParams::default() }
    }
}

/// Per-request changes to how the detector reads a page; the default
/// changes nothing (the configured [`DetectorConfig`]).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DetectionOptions {
    /// Replaces [`DbParams::threshold`]: probability above which a map
    /// pixel counts as text (0..1).
    pub binary_threshold: Option<f32>,
    /// Replaces [`DbParams::box_threshold`]: mean probability a region
    /// needs to be kept (0..1).
    pub box_threshold: Option<f32>,
    /// Stretch the page to a square input (its longer side by its longer
    /// side) instead of keeping its aspect ratio.
    pub stretch: bool,
    /// Centre the page in the padded input instead of placing it at the
    /// top-left (the padding then surrounds it evenly).
    pub centre: bool,
}

/// A detected text region in page pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectedBox {
    /// Corners, top-left first, clamped to the page.
    pub quad: Quad,
    /// Mean text probability inside the region (0..1).
    pub score: f32,
}

/// Geometry of one detector input: how the page was scaled and padded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorInput {
    /// Scaled page width (pixels in the tensor that hold image).
    pub width: u32,
    /// Scaled page height.
    pub height: u32,
    /// Padded tensor width (a multiple of `shape_step`).
    pub tensor_width: u32,
    /// Padded tensor height.
    pub tensor_height: u32,
    /// Column of the tensor where the page starts (0 unless centred).
    pub offset_x: u32,
    /// Row of the tensor where the page starts (0 unless centred).
    pub offset_y: u32,
}

/// Pages are scaled down by at most this factor to fit a built plan when
/// no built plan holds them as they are (see [`Detector::set_defer_plans`]):
/// an enlarged page (`upscale`, small-text enlargement, at most 2x the
/// usual side) is then read at the usual size until its own plan is built.
const MIN_FALLBACK_SCALE: f32 = 0.5;

/// Runs a DB text detector.
pub struct Detector {
    model: Box<dyn Model>,
    config: DetectorConfig,
    /// Whether a page whose input shape has no built plan is read with a
    /// built one (padded into it, or scaled down to fit) instead of
    /// building its own in the request.
    defer_plans: AtomicBool,
    /// Input shapes pages needed but were read with another plan, for a
    /// background builder ([`Detector::take_wanted_shapes`]).
    wanted: Mutex<Vec<[usize; 4]>>,
}

impl Detector {
    /// Wraps a detection model.
    pub fn new(model: Box<dyn Model>, config: DetectorConfig) -> Self {
        Self { model, config, defer_plans: AtomicBool::new(false), wanted: Mutex::new(Vec::new()) }
    }

    /// With `true`, a page whose input shape has no built plan yet is read
    /// with a built plan that holds it (the page padded further), else with
    /// the built plan it fits best scaled down (by at most 2x), and its shape
    /// is noted for [`Detector::take_wanted_shapes`]; only a page that fits
    /// no built plan builds its own. With `false` (the default) every page
    /// builds its own shape's plan on first use.
    pub fn set_defer_plans(&self, defer: bool) {
        self.defer_plans.store(defer, Ordering::Relaxed);
    }

    /// The input shapes pages were read without (their plans not built yet),
    /// each once, oldest first; the list is emptied.
    pub fn take_wanted_shapes(&self) -> Vec<[usize; 4]> {
        self.wanted.lock().map(|mut w| std::mem::take(&mut *w)).unwrap_or_default()
    }

    /// Builds the plan of input shape `[1, 3, height, width]` (tensor pixels).
    pub fn prepare_shape(&self, shape: [usize; 4]) -> Result<()> {
        self.model.prepare(&shape)
    }

    /// The square input shape every page fits at the configured size (the
    /// cap on the longer side, rounded up to the shape step).
    pub fn cover_shape(&self) -> [usize; 4] {
        let step = self.config.shape_step.max(32);
        let side = self.config.max_side.max(32).div_ceil(step) * step;
        [1, 3, side as usize, side as usize]
    }

    /// Builds the plan of [`Detector::cover_shape`] and keeps it for good:
    /// with deferred plans, every page can be read at once with it.
    pub fn prepare_cover(&self) -> Result<()> {
        self.model.prepare_kept(&self.cover_shape())
    }

    /// `g` as it runs now: unchanged when its plan is built (or plans are
    /// not deferred), else placed in the smallest built input that holds
    /// it, else scaled down into the built input that keeps it largest.
    fn with_built_plan(&self, g: DetectorInput, options: &DetectionOptions) -> DetectorInput {
        let shape = [1, 3, g.tensor_height as usize, g.tensor_width as usize];
        if !self.defer_plans.load(Ordering::Relaxed) || self.model.has_plan(&shape) {
            return g;
        }
        let built: Vec<(u32, u32)> = self
            .model
            .planned_shapes()
            .iter()
            .filter_map(|s| match s.as_slice() {
                &[1, 3, h, w] => Some((w as u32, h as u32)),
                _ => None,
            })
            .collect();
        let holding = built.iter().filter(|&&(w, h)| w >= g.width && h >= g.height).min_by_key(|&&(w, h)| w * h);
        let fitted = holding.map(|&(w, h)| (w, h, g.width, g.height)).or_else(|| {
            let scale = |&(w, h): &(u32, u32)| (w as f32 / g.width as f32).min(h as f32 / g.height as f32);
            built.iter().max_by(|a, b| scale(a).total_cmp(&scale(b))).filter(|&s| scale(s) >= MIN_FALLBACK_SCALE).map(
                |&(w, h)| {
                    let s = scale(&(w, h));
                    let fit = |v: u32, max: u32| ((v as f32 * s).floor() as u32).clamp(1, max);
                    (w, h, fit(g.width, w), fit(g.height, h))
                },
            )
        });
        let Some((tensor_width, tensor_height, width, height)) = fitted else { return g };
        if let Ok(mut wanted) = self.wanted.lock() {
            if !wanted.contains(&shape) {
                wanted.push(shape);
            }
        }
        crate::engine::plans::plans_wanted();
        let (offset_x, offset_y) =
            if options.centre { ((tensor_width - width) / 2, (tensor_height - height) / 2) } else { (0, 0) };
        DetectorInput { width, height, tensor_width, tensor_height, offset_x, offset_y }
    }

    /// The configuration in use.
    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// Where a page of `width` x `height` pixels lands in the detector input.
    pub fn input_geometry(&self, width: u32, height: u32) -> DetectorInput {
        self.input_geometry_at(width, height, self.config.max_side)
    }

    /// As [`Detector::input_geometry`] with another cap on the longer side.
    pub fn input_geometry_at(&self, width: u32, height: u32, max_side: u32) -> DetectorInput {
        self.input_geometry_with(width, height, max_side, &DetectionOptions::default())
    }

    /// As [`Detector::input_geometry_at`], stretched or centred as `options` say.
    pub fn input_geometry_with(
        &self,
        width: u32,
        height: u32,
        max_side: u32,
        options: &DetectionOptions,
    ) -> DetectorInput {
        let long = width.max(height) as f32;
        let scale = (max_side.max(32) as f32 / long).min(1.0);
        let mut w = ((width as f32 * scale).round() as u32).max(1);
        let mut h = ((height as f32 * scale).round() as u32).max(1);
        if options.stretch {
            (w, h) = (w.max(h), w.max(h));
        }
        let step = self.config.shape_step.max(32);
        let (tensor_width, tensor_height) = (w.div_ceil(step) * step, h.div_ceil(step) * step);
        let (offset_x, offset_y) =
            if options.centre { ((tensor_width - w) / 2, (tensor_height - h) / 2) } else { (0, 0) };
        DetectorInput { width: w, height: h, tensor_width, tensor_height, offset_x, offset_y }
    }

    /// Optimised plans held now (one per input shape).
    pub fn cached_plans(&self) -> usize {
        self.model.cached_plans()
    }

    /// Builds the optimised plan for pages of this size ahead of time.
    pub fn prepare(&self, width: u32, height: u32) -> Result<()> {
        let g = self.input_geometry(width, height);
        self.model.prepare(&[1, 3, g.tensor_height as usize, g.tensor_width as usize])
    }

    /// Runs the network on `page`, returning its probability map (tensor-sized,
    /// row-major) and the input geometry.
    pub fn probability_map(&self, page: &RgbImage) -> Result<(Vec<f32>, DetectorInput)> {
        self.probability_map_at(page, self.config.max_side)
    }

    /// As [`Detector::probability_map`], scaling the page to at most
    /// `max_side` pixels on its longer side instead of the configured cap.
    pub fn probability_map_at(&self, page: &RgbImage, max_side: u32) -> Result<(Vec<f32>, DetectorInput)> {
        self.probability_map_with(page, max_side, &DetectionOptions::default())
    }

    /// As [`Detector::probability_map_at`], with the page stretched or
    /// centred in the input as `options` say.
    pub fn probability_map_with(
        &self,
        page: &RgbImage,
        max_side: u32,
        options: &DetectionOptions,
    ) -> Result<(Vec<f32>, DetectorInput)> {
        let g = self.with_built_plan(self.input_geometry_with(page.width(), page.height(), max_side, options), options);
        let scaled = resize(page, g.width, g.height);
        let (tw, th) = (g.tensor_width as usize, g.tensor_height as usize);
        let mut input = DenseTensor::filled(&[1, 3, th, tw], 0.0);
        let start = g.offset_y as usize * tw + g.offset_x as usize;
        write_bgr_normalised(&scaled, &mut input.data[start..], tw, th);
        let output = self.model.run(&input)?;
        if output.data.len() != tw * th {
            return Err(EngineError::Inference(format!(
                "detector output has shape {:?}, expected {}x{} values",
                output.shape, th, tw
            )));
        }
        Ok((output.data, g))
    }

    /// Turns a probability map from [`Detector::probability_map`] into boxes
    /// in the coordinates of a page of `page_width` x `page_height` pixels.
    pub fn boxes(&self, map: &[f32], g: &DetectorInput, page_width: u32, page_height: u32) -> Vec<DetectedBox> {
        self.boxes_with(map, g, page_width, page_height, &DetectionOptions::default())
    }

    /// As [`Detector::boxes`] with the thresholds of `options` in place of the configured ones.
    pub fn boxes_with(
        &self,
        map: &[f32],
        g: &DetectorInput,
        page_width: u32,
        page_height: u32,
        options: &DetectionOptions,
    ) -> Vec<DetectedBox> {
        let start = g.offset_y as usize * g.tensor_width as usize + g.offset_x as usize;
        let prob = ProbabilityMap {
            data: map.get(start..).unwrap_or(&[]),
            stride: g.tensor_width as usize,
            width: g.width as usize,
            height: g.height as usize,
        };
        let sx = page_width as f32 / g.width as f32;
        let sy = page_height as f32 / g.height as f32;
        let mut db = self.config.db;
        db.threshold = options.binary_threshold.unwrap_or(db.threshold);
        db.box_threshold = options.box_threshold.unwrap_or(db.box_threshold);
        boxes_from_map(&prob, &db)
            .into_iter()
            .map(|b| {
                // Map pixel centres to page pixel centres, then clamp to the page.
                let quad = Quad(
                    b.quad().0.map(|p| crate::geometry::Point::new((p.x + 0.5) * sx - 0.5, (p.y + 0.5) * sy - 0.5)),
                )
                .clamped(page_width as f32 - 1.0, page_height as f32 - 1.0);
                DetectedBox { quad, score: b.score }
            })
            .filter(|b| b.quad.width() > 3.0 && b.quad.height() > 3.0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Plans of a fake detector: the shapes built, and how many were built
    /// while running a page (what a request would pay for).
    #[derive(Default)]
    struct Plans {
        built: Mutex<Vec<Vec<usize>>>,
        built_in_run: Mutex<usize>,
        last_run: Mutex<Vec<usize>>,
    }

    /// A detector model that builds a plan for each input shape it has not
    /// met (as [`crate::model::OnnxModel`] does) and finds no text.
    struct Counting(Arc<Plans>);

    impl Model for Counting {
        fn run(&self, input: &DenseTensor) -> Result<DenseTensor> {
            let mut built = self.0.built.lock().unwrap();
            if !built.contains(&input.shape) {
                built.push(input.shape.clone());
                *self.0.built_in_run.lock().unwrap() += 1;
            }
            *self.0.last_run.lock().unwrap() = input.shape.clone();
            Ok(DenseTensor::filled(&[1, 1, input.shape[2], input.shape[3]], 0.0))
        }

        fn prepare(&self, shape: &[usize]) -> Result<()> {
            let mut built = self.0.built.lock().unwrap();
            if !built.iter().any(|s| s == shape) {
                built.push(shape.to_vec());
            }
            Ok(())
        }

        fn has_plan(&self, shape: &[usize]) -> bool {
            self.0.built.lock().unwrap().iter().any(|s| s == shape)
        }

        fn planned_shapes(&self) -> Vec<Vec<usize>> {
            self.0.built.lock().unwrap().clone()
        }
    }

    fn page(width: u32, height: u32) -> RgbImage {
        RgbImage::from_pixel(width, height, image::Rgb([255, 255, 255]))
    }

    /// Page sizes (and detector caps) whose input shapes differ from the cover's.
    const PAGES: [(u32, u32, u32); 5] =
        [(600, 800, 1280), (1280, 300, 1280), (2000, 1500, 1280), (900, 80, 1280), (2400, 1800, 2560)];

    #[test]
    fn with_deferred_plans_no_page_builds_a_plan_while_a_built_one_serves_it() {
        let plans = Arc::new(Plans::default());
        let detector = Detector::new(Box::new(Counting(plans.clone())), DetectorConfig::default());
        detector.prepare_cover().unwrap();
        assert_eq!(detector.cover_shape(), [1, 3, 1280, 1280]);
        detector.set_defer_plans(true);
        let mut exact = Vec::new();
        for (w, h, side) in PAGES {
            let (map, g) = detector.probability_map_at(&page(w, h), side).unwrap();
            assert_eq!(*plans.built_in_run.lock().unwrap(), 0, "{w}x{h} built a plan in the request");
            assert_eq!(*plans.last_run.lock().unwrap(), vec![1, 3, 1280, 1280], "{w}x{h}");
            assert_eq!(map.len(), 1280 * 1280);
            let aspect = (g.width as f32 / g.height as f32) / (w as f32 / h as f32);
            assert!(g.width <= 1280 && g.height <= 1280 && (aspect - 1.0).abs() < 0.02, "{w}x{h}: {g:?}");
            let own = detector.input_geometry_at(w, h, side);
            exact.push([1, 3, own.tensor_height as usize, own.tensor_width as usize]);
        }
        // The shapes the pages wanted, each once, for a background builder.
        assert_eq!(detector.take_wanted_shapes(), exact);
        assert!(detector.take_wanted_shapes().is_empty());
        // Once built, each page runs on its own shape, still building nothing.
        exact.iter().for_each(|&s| detector.prepare_shape(s).unwrap());
        for ((w, h, side), shape) in PAGES.into_iter().zip(&exact) {
            detector.probability_map_at(&page(w, h), side).unwrap();
            assert_eq!(*plans.last_run.lock().unwrap(), shape.to_vec(), "{w}x{h}");
        }
        assert_eq!(*plans.built_in_run.lock().unwrap(), 0);
        assert!(detector.take_wanted_shapes().is_empty());
    }

    #[test]
    fn without_deferred_plans_or_a_fitting_plan_the_page_builds_its_own() {
        let plans = Arc::new(Plans::default());
        let config = DetectorConfig { max_side: 320, ..Default::default() };
        let detector = Detector::new(Box::new(Counting(plans.clone())), config);
        detector.prepare_cover().unwrap();
        detector.probability_map(&page(150, 200)).unwrap();
        assert_eq!(*plans.built_in_run.lock().unwrap(), 1);
        // Deferred, but a page read at 2.5x the cover's side fits nothing
        // built without being scaled down by more than 2x.
        detector.set_defer_plans(true);
        detector.probability_map_at(&page(800, 800), 800).unwrap();
        assert_eq!(*plans.built_in_run.lock().unwrap(), 2);
        assert_eq!(*plans.last_run.lock().unwrap(), vec![1, 3, 800, 800]);
        assert!(detector.take_wanted_shapes().is_empty());
    }
}
