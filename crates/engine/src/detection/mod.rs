//! Text detection: a DB (DBNet) model turns a page into a per-pixel text
//! probability map, and [`postprocess`] turns the map into rotated boxes.

pub mod postprocess;

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

/// Runs a DB text detector.
pub struct Detector {
    model: Box<dyn Model>,
    config: DetectorConfig,
}

impl Detector {
    /// Wraps a detection model.
    pub fn new(model: Box<dyn Model>, config: DetectorConfig) -> Self {
        Self { model, config }
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
        let g = self.input_geometry_with(page.width(), page.height(), max_side, options);
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
