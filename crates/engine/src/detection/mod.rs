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
    /// Before detection, the page's luminance is stretched so that this
    /// share of its pixels is black and as many white (see
    /// [`stretch_contrast`]); 0 leaves the page as it is.
    pub contrast_tail: f32,
    /// The input tensor's height and width are padded up to a multiple of
    /// this (at least 32, which the network's strides require). Coarser steps
    /// mean fewer distinct shapes, hence fewer optimised plans to keep.
    pub shape_step: u32,
    /// Post-processing parameters.
    pub db: DbParams,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self { max_side: 1280, contrast_tail: CONTRAST_TAIL, shape_step: 32, db: DbParams::default() }
    }
}

/// [`DetectorConfig::contrast_tail`]'s default, chosen by 2-fold
/// cross-validation on the receipts (503-515 against 516-527, from 0, 0.003
/// and 0.01: each half picked 0.01, which kept 1 and 4 more digit words whole
/// on the other half with Engine 2).
pub const CONTRAST_TAIL: f32 = 0.01;

/// Fewest luminance levels between the two tails that [`stretch_contrast`]
/// stretches to the full range: at most a 255/48 (about 5x) gain, which
/// faint print (ink at 100-160 on paper at 230) is far within.
const MIN_STRETCHED_RANGE: usize = 48;

/// Stretches `image`'s luminance range, from the level its darkest `tail`
/// share of pixels reaches to the level its lightest `tail` share reaches,
/// to the full 0-255 range (every channel by the same table). The detector
/// misses faint thin strokes (a lone quantity `1` printed grey on a thermal
/// receipt, darkest pixel 100-160 on a background of 230) that it finds at
/// the contrast of a sharp scan. A page already using the full range is left
/// as it is, and so is a nearly flat one (fewer than
/// [`MIN_STRETCHED_RANGE`] levels between the tails).
pub fn stretch_contrast(image: &mut RgbImage, tail: f32) {
    if tail <= 0.0 {
        return;
    }
    let luma = |p: &image::Rgb<u8>| ((p[0] as u32 * 299 + p[1] as u32 * 587 + p[2] as u32 * 114) / 1000) as usize;
    let mut hist = [0usize; 256];
    for p in image.pixels() {
        hist[luma(p)] += 1;
    }
    let n = image.width() as f64 * image.height() as f64;
    let cut = (n * tail as f64) as usize;
    let (mut acc, mut lo) = (0usize, 0usize);
    while lo < 255 && acc + hist[lo] <= cut {
        acc += hist[lo];
        lo += 1;
    }
    let (mut acc, mut hi) = (0usize, 255usize);
    while hi > 0 && acc + hist[hi] <= cut {
        acc += hist[hi];
        hi -= 1;
    }
    // A page whose levels between the tails span little is nearly flat (a
    // sparse page whose ink is under `tail`): stretching it would blow the
    // paper's noise up into speckles, so it is left as it is.
    if hi < lo + MIN_STRETCHED_RANGE {
        return;
    }
    let mut lut = [0u8; 256];
    for (v, out) in lut.iter_mut().enumerate() {
        *out = (((v as f32 - lo as f32) * 255.0 / (hi - lo) as f32).round()).clamp(0.0, 255.0) as u8;
    }
    for p in image.pixels_mut() {
        for c in p.0.iter_mut() {
            *c = lut[*c as usize];
        }
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
        let mut scaled = resize(page, g.width, g.height);
        stretch_contrast(&mut scaled, self.config.contrast_tail);
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

    #[test]
    fn faint_print_is_stretched_to_full_contrast() {
        // A grey-on-grey page: 3% ink at 150, the rest background at 230.
        let mut page =
            RgbImage::from_fn(100, 100, |x, _| if x < 3 { image::Rgb([150; 3]) } else { image::Rgb([230; 3]) });
        stretch_contrast(&mut page, CONTRAST_TAIL);
        assert_eq!(page.get_pixel(0, 0).0, [0; 3]);
        assert_eq!(page.get_pixel(50, 50).0, [255; 3]);
        // Levels between move proportionally.
        let mut ramp = RgbImage::from_fn(256, 4, |x, _| image::Rgb([x as u8 / 2 + 64; 3]));
        stretch_contrast(&mut ramp, CONTRAST_TAIL);
        assert!(ramp.get_pixel(128, 0).0[0].abs_diff(128) <= 3, "{:?}", ramp.get_pixel(128, 0));
    }

    #[test]
    fn full_range_or_flat_pages_are_left_alone() {
        let original =
            RgbImage::from_fn(100, 100, |x, _| if x < 10 { image::Rgb([0; 3]) } else { image::Rgb([255; 3]) });
        let mut page = original.clone();
        stretch_contrast(&mut page, CONTRAST_TAIL);
        assert_eq!(page, original);
        let flat = RgbImage::from_pixel(20, 20, image::Rgb([200; 3]));
        let mut page = flat.clone();
        stretch_contrast(&mut page, CONTRAST_TAIL);
        assert_eq!(page, flat);
        let mut page =
            RgbImage::from_fn(100, 100, |x, _| if x < 3 { image::Rgb([150; 3]) } else { image::Rgb([230; 3]) });
        let before = page.clone();
        stretch_contrast(&mut page, 0.0);
        assert_eq!(page, before);
    }

    /// A "network" whose map is its input's first channel: it shows what
    /// the detector fed it.
    struct FirstChannel;

    impl crate::model::Model for FirstChannel {
        fn run(&self, input: &DenseTensor) -> Result<DenseTensor> {
            let (h, w) = (input.shape[2], input.shape[3]);
            Ok(DenseTensor { shape: vec![1, 1, h, w], data: input.data[..h * w].to_vec() })
        }
    }

    /// The detector stretches its input as configured: faint ink reaches the
    /// network as dark as black ink would, and with a tail of 0 it stays faint.
    #[test]
    fn the_detector_feeds_the_network_stretched_faint_print() {
        let faint = RgbImage::from_fn(64, 64, |x, _| if x < 4 { image::Rgb([150; 3]) } else { image::Rgb([230; 3]) });
        let black = RgbImage::from_fn(64, 64, |x, _| if x < 4 { image::Rgb([0; 3]) } else { image::Rgb([255; 3]) });
        let ink_seen = |tail: f32, page: &RgbImage| {
            let config = DetectorConfig { contrast_tail: tail, ..DetectorConfig::default() };
            let detector = Detector::new(Box::new(FirstChannel), config);
            let (map, _) = detector.probability_map(page).unwrap();
            (map[0], map[32])
        };
        let (faint_ink, faint_paper) = ink_seen(CONTRAST_TAIL, &faint);
        let (black_ink, white_paper) = ink_seen(CONTRAST_TAIL, &black);
        assert!((faint_ink - black_ink).abs() < 1e-4 && (faint_paper - white_paper).abs() < 1e-4);
        let (unstretched_ink, _) = ink_seen(0.0, &faint);
        assert!(unstretched_ink > black_ink + 0.5, "{unstretched_ink} vs {black_ink}");
    }

    #[test]
    fn a_sparse_page_keeps_its_paper_noise_small() {
        // One short line of ink (0.2% of the page) on paper whose levels
        // vary between 222 and 238: the 1% tails fall inside the paper.
        let sparse = RgbImage::from_fn(200, 200, |x, y| {
            if y == 100 && x < 80 {
                image::Rgb([20; 3])
            } else {
                image::Rgb([222 + ((x * 7 + y * 13) % 17) as u8; 3])
            }
        });
        let mut page = sparse.clone();
        stretch_contrast(&mut page, CONTRAST_TAIL);
        assert_eq!(page, sparse, "the paper's noise must not be stretched to black and white");
    }
}
