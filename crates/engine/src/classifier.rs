//! The 180° text-line classifier (PP-OCR `cls` model): tells whether a crop
//! is upside down, so it can be turned before recognition.

use image::RgbImage;

use crate::imageops::{resize, write_bgr_normalised};
use crate::model::{DenseTensor, Model};
use crate::{EngineError, Result};

/// Input height of the classifier.
pub const CLASSIFIER_HEIGHT: u32 = 48;
/// Input width of the classifier; wider crops are squeezed to it.
pub const CLASSIFIER_WIDTH: u32 = 192;

/// Runs the line orientation classifier.
pub struct Classifier {
    model: Box<dyn Model>,
    threshold: f32,
}

impl Classifier {
    /// Wraps a classifier model; a line is turned only when the "180" class
    /// has at least `threshold` probability (PaddleOCR uses 0.9).
    pub fn new(model: Box<dyn Model>, threshold: f32) -> Self {
        Self { model, threshold }
    }

    /// Optimised plans held now (0 or 1).
    pub fn cached_plans(&self) -> usize {
        self.model.cached_plans()
    }

    /// Builds the optimised plan ahead of time.
    pub fn prepare(&self) -> Result<()> {
        self.model.prepare(&[1, 3, CLASSIFIER_HEIGHT as usize, CLASSIFIER_WIDTH as usize])
    }

    /// Probability that `crop` (upright strip, any height) is upside down.
    pub fn upside_down_probability(&self, crop: &RgbImage) -> Result<f32> {
        let (h, w) = (CLASSIFIER_HEIGHT, CLASSIFIER_WIDTH);
        let scaled_w = ((h as f32 * crop.width() as f32 / crop.height().max(1) as f32).ceil() as u32).clamp(1, w);
        let scaled = resize(crop, scaled_w, h);
        let mut input = DenseTensor::filled(&[1, 3, h as usize, w as usize], 0.0);
        write_bgr_normalised(&scaled, &mut input.data, w as usize, h as usize);
        let out = self.model.run(&input)?;
        match out.data.as_slice() {
            [_, upside_down] => Ok(*upside_down),
            other => Err(EngineError::Inference(format!("classifier returned {} values, expected 2", other.len()))),
        }
    }

    /// Whether `crop` should be turned by 180° before recognition.
    pub fn is_upside_down(&self, crop: &RgbImage) -> Result<bool> {
        Ok(self.upside_down_probability(crop)? >= self.threshold)
    }
}
