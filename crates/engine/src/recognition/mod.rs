//! Text-line recognition: an upright crop, 48 pixels tall, goes through a
//! CRNN/SVTR model whose per-time-step class probabilities are CTC-decoded.
//!
//! Crops run one at a time, padded only to the next width *bucket*: tract's
//! cost per crop grows with width and does not shrink with batching, so tight
//! buckets waste little, and the fixed bucket list means a fixed set of
//! optimised plans that can be built once, up front.

pub mod ctc;
mod dictionary;
mod prune;

use image::RgbImage;

use crate::imageops::write_bgr_normalised;
use crate::model::{DenseTensor, Model};
use crate::{EngineError, Result};
pub use ctc::{greedy_decode, CtcToken};
pub use dictionary::Dictionary;
pub use prune::keep_output_classes;

/// Recogniser input geometry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecognizerConfig {
    /// Input height in pixels (48 for PP-OCRv4/v6 recognisers).
    pub height: u32,
    /// Input widths a crop is padded up to; crops wider than the last are squeezed.
    pub width_buckets: Vec<u32>,
}

impl Default for RecognizerConfig {
    /// Height 48; widths every 32 px up to 512, every 64 up to 1024, every 128
    /// up to 2048 and every 256 up to 3072: at most ~12% padding above 256 px.
    fn default() -> Self {
        let mut widths: Vec<u32> = (1..=16).map(|i| i * 32).collect();
        widths.extend((9..=16).map(|i| i * 64));
        widths.extend((9..=16).map(|i| i * 128));
        widths.extend((9..=12).map(|i| i * 256));
        Self { height: 48, width_buckets: widths }
    }
}

impl RecognizerConfig {
    /// The widest input a crop can have.
    pub fn max_width(&self) -> u32 {
        self.width_buckets.iter().copied().max().unwrap_or(320)
    }

    /// The smallest bucket at least `width` wide (or the largest bucket).
    pub fn bucket_for(&self, width: u32) -> u32 {
        self.width_buckets.iter().copied().filter(|&b| b >= width).min().unwrap_or_else(|| self.max_width())
    }
}

/// One recognised character with its horizontal extent in the crop.
#[derive(Debug, Clone, PartialEq)]
pub struct RecognizedChar {
    /// The character (a space for the model's space class).
    pub text: String,
    /// Confidence in `[0, 1]`.
    pub confidence: f32,
    /// Left edge of the time steps it occupies, in crop pixels.
    pub x0: f32,
    /// Right edge of the time steps it occupies, in crop pixels.
    pub x1: f32,
}

/// The recogniser's reading of one crop.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecognizedText {
    /// Characters in reading order.
    pub chars: Vec<RecognizedChar>,
    /// Width in crop pixels of the time step grid (one step's extent).
    pub step_width: f32,
}

impl RecognizedText {
    /// The text as the model read it.
    pub fn text(&self) -> String {
        self.chars.iter().map(|c| c.text.as_str()).collect()
    }

    /// Mean character confidence (0 for an empty reading).
    pub fn confidence(&self) -> f32 {
        if self.chars.is_empty() {
            return 0.0;
        }
        self.chars.iter().map(|c| c.confidence).sum::<f32>() / self.chars.len() as f32
    }
}

/// Runs a CTC text recogniser.
pub struct Recognizer {
    model: Box<dyn Model>,
    dictionary: Dictionary,
    config: RecognizerConfig,
}

impl Recognizer {
    /// Wraps a recognition model and its dictionary.
    pub fn new(model: Box<dyn Model>, dictionary: Dictionary, config: RecognizerConfig) -> Self {
        Self { model, dictionary, config }
    }

    /// The model's dictionary.
    pub fn dictionary(&self) -> &Dictionary {
        &self.dictionary
    }

    /// The configuration in use.
    pub fn config(&self) -> &RecognizerConfig {
        &self.config
    }

    /// Builds the optimised plan of every width bucket.
    pub fn prepare_all(&self) -> Result<()> {
        for &w in &self.config.width_buckets {
            self.model.prepare(&[1, 3, self.config.height as usize, w as usize])?;
        }
        Ok(())
    }

    /// Reads one upright crop, `config.height` pixels tall. `allowed` limits
    /// the classes that can be emitted (see [`Dictionary::mask`]).
    pub fn recognize(&self, crop: &RgbImage, allowed: Option<&[bool]>) -> Result<RecognizedText> {
        let h = self.config.height as usize;
        let bucket = self.config.bucket_for(crop.width()) as usize;
        let mut input = DenseTensor::filled(&[1, 3, h, bucket], 0.0);
        write_bgr_normalised(crop, &mut input.data, bucket, h);
        let output = self.model.run(&input)?;
        let (steps, classes) = match output.shape.as_slice() {
            [1, t, c] => (*t, *c),
            other => {
                return Err(EngineError::Inference(format!(
                    "recogniser output has shape {other:?}, expected [1, T, C]"
                )))
            }
        };
        if classes != self.dictionary.classes() {
            return Err(EngineError::Inference(format!(
                "recogniser emits {classes} classes but its dictionary has {}",
                self.dictionary.classes()
            )));
        }
        let step_width = bucket as f32 / steps.max(1) as f32;
        let content = crop.width() as f32;
        let chars = greedy_decode(&output.data, steps, classes, allowed)
            .into_iter()
            .map(|t| RecognizedChar {
                text: self.dictionary.symbol(t.class).to_string(),
                confidence: t.confidence,
                x0: (t.first_step as f32 * step_width).min(content),
                x1: ((t.last_step + 1) as f32 * step_width).min(content),
            })
            .collect();
        Ok(RecognizedText { chars, step_width })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_tight_and_bounded() {
        let c = RecognizerConfig::default();
        assert_eq!(c.bucket_for(1), 32);
        assert_eq!(c.bucket_for(33), 64);
        assert_eq!(c.bucket_for(513), 576);
        assert_eq!(c.bucket_for(100_000), 3072);
        for w in [40u32, 300, 700, 1500, 2900] {
            let b = c.bucket_for(w);
            assert!(b >= w && (b - w) as f32 / w as f32 <= 0.8, "{w} -> {b}");
        }
    }
}
