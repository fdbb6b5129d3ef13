//! Text-line recognition: an upright crop, 48 pixels tall, goes through a
//! CRNN/SVTR model whose per-time-step class probabilities are CTC-decoded.
//!
//! Crops run one at a time, padded only to the next width *bucket*: tract's
//! cost per crop grows with width and does not shrink with batching, so tight
//! buckets waste little, and the fixed bucket list means a fixed set of
//! optimised plans that can be built once, up front. Crops wider than the
//! widest bucket are read in overlapping windows of that width, so one plan
//! serves every long line: fewer plans to build and keep.

pub mod ctc;
mod dictionary;
mod hardswish;
mod prune;

use image::RgbImage;

use crate::imageops::write_bgr_normalised;
use crate::model::{DenseTensor, Model};
use crate::{EngineError, Result};
pub use ctc::{greedy_decode, CtcToken};
pub use dictionary::Dictionary;
pub use hardswish::fuse_hardswish;
pub use prune::keep_output_classes;

/// Recogniser input geometry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecognizerConfig {
    /// Input height in pixels (48 for PP-OCRv4/v6 recognisers).
    pub height: u32,
    /// Input widths a crop is padded up to. Crops wider than the last are
    /// read in windows of the last width (see [`RecognizerConfig::window_overlap`]).
    pub width_buckets: Vec<u32>,
    /// Pixels by which consecutive windows of a wide crop overlap; each
    /// window's time steps are kept up to the middle of the overlap, so every
    /// character is read with at least half the overlap of context around it.
    pub window_overlap: u32,
    /// Crops are at most this wide (wider regions are squeezed to it).
    pub max_crop_width: u32,
}

impl Default for RecognizerConfig {
    /// Height 48; widths every 32 px up to 512 and every 64 px up to 768
    /// (20 plans per recogniser); wider crops in 768 px windows overlapping
    /// by 128 px; crops up to 4096 px. Steps of 64 px below 512 pad short
    /// receipt lines enough to move the recogniser's character positions,
    /// and the blank-gap word splitter then misses run-together words.
    fn default() -> Self {
        let mut widths: Vec<u32> = (1..=16).map(|i| i * 32).collect();
        widths.extend((9..=12).map(|i| i * 64));
        Self { height: 48, width_buckets: widths, window_overlap: 128, max_crop_width: 4096 }
    }
}

impl RecognizerConfig {
    /// The widest crop the recogniser reads (wider regions are squeezed to it).
    pub fn max_width(&self) -> u32 {
        self.max_crop_width.max(self.widest_bucket())
    }

    /// The widest input bucket: the window width for wider crops.
    pub fn widest_bucket(&self) -> u32 {
        self.width_buckets.iter().copied().max().unwrap_or(320)
    }

    /// The smallest bucket at least `width` wide (or the largest bucket).
    pub fn bucket_for(&self, width: u32) -> u32 {
        self.width_buckets.iter().copied().filter(|&b| b >= width).min().unwrap_or_else(|| self.widest_bucket())
    }

    /// Left edges of the windows a crop `width` pixels wide is read in: one
    /// window at 0 when it fits the widest bucket, else windows of that width
    /// every `widest - overlap` pixels (a multiple of 32, so the model's
    /// time-step grids line up) until the crop is covered.
    pub fn windows(&self, width: u32) -> Vec<u32> {
        let widest = self.widest_bucket();
        if width <= widest {
            return vec![0];
        }
        let stride = (widest.saturating_sub(self.window_overlap) / 32 * 32).max(32);
        let mut starts = vec![0];
        while starts.last().is_some_and(|&s| s + widest < width) {
            starts.push(starts.last().copied().unwrap_or(0) + stride);
        }
        starts
    }
}

/// One recognised character with its horizontal extent in the crop.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecognizedChar {
    /// The character (a space for the model's space class).
    pub text: String,
    /// Confidence in `[0, 1]`.
    pub confidence: f32,
    /// Left edge of the time steps it occupies, in crop pixels.
    pub x0: f32,
    /// Right edge of the time steps it occupies, in crop pixels.
    pub x1: f32,
    /// The most probable ASCII digit over this character's time steps and
    /// its mean probability there, when the character itself is not a digit
    /// (`None` for digits, or when the model has no digit classes): the
    /// model's second thought for an `O` that may be a `0`.
    pub digit_alternative: Option<(char, f32)>,
    /// The most probable ASCII letter over this character's time steps and
    /// its mean probability there, when the character itself is an ASCII
    /// digit (`None` otherwise, or when the model has no letter classes):
    /// the model's second thought for a `0` that may be an `o`.
    pub letter_alternative: Option<(char, f32)>,
    /// The highest probability the model gave its space class on the time
    /// steps from the previous character's last to this one's first (0 for
    /// the first character): evidence of a word break the model did not emit.
    pub space_before: f32,
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

    /// Optimised plans held now (one per width bucket met or prepared).
    pub fn cached_plans(&self) -> usize {
        self.model.cached_plans()
    }

    /// Builds the optimised plan of every width bucket.
    pub fn prepare_all(&self) -> Result<()> {
        self.config.width_buckets.iter().try_for_each(|&w| self.prepare_width(w))
    }

    /// Builds the optimised plan for inputs `width` pixels wide (a bucket).
    pub fn prepare_width(&self, width: u32) -> Result<()> {
        self.model.prepare(&[1, 3, self.config.height as usize, width as usize])
    }

    /// Reads one upright crop, `config.height` pixels tall. `allowed` limits
    /// the classes that can be emitted (see [`Dictionary::mask`]). Crops
    /// wider than the widest bucket are read in overlapping windows whose
    /// time steps are stitched before decoding.
    pub fn recognize(&self, crop: &RgbImage, allowed: Option<&[bool]>) -> Result<RecognizedText> {
        let starts = self.config.windows(crop.width());
        let (probs, steps, step_width) = if let [only] = starts.as_slice() {
            let bucket = self.config.bucket_for(crop.width());
            let (probs, steps) = self.run(crop, *only, bucket)?;
            (probs, steps, bucket as f32 / steps.max(1) as f32)
        } else {
            self.run_windows(crop, &starts)?
        };
        let classes = self.dictionary.classes();
        let content = crop.width() as f32;
        let digits = self.dictionary.digit_classes();
        let letters = self.dictionary.letter_classes();
        let tokens = greedy_decode(&probs, steps, classes, allowed);
        let chars = tokens
            .iter()
            .enumerate()
            .map(|(k, t)| {
                let text = self.dictionary.symbol(t.class).to_string();
                let is_digit = text.chars().all(|c| c.is_ascii_digit());
                let previous = k.checked_sub(1).map(|i| tokens[i].last_step);
                RecognizedChar {
                    digit_alternative: if is_digit { None } else { best_of(&probs, classes, t, &digits, allowed) },
                    letter_alternative: if is_digit { best_of(&probs, classes, t, &letters, allowed) } else { None },
                    space_before: previous
                        .map_or(0.0, |from| max_probability(&probs, classes, from..=t.first_step, classes - 1)),
                    text,
                    confidence: t.confidence,
                    x0: (t.first_step as f32 * step_width).min(content),
                    x1: ((t.last_step + 1) as f32 * step_width).min(content),
                }
            })
            .collect();
        Ok(RecognizedText { chars, step_width })
    }

    /// Reads the windows starting at `starts` (each the widest bucket wide)
    /// and stitches their time steps: each window supplies the steps from the
    /// middle of its overlap with the previous window to the middle of its
    /// overlap with the next. Returns probabilities, steps and step width.
    fn run_windows(&self, crop: &RgbImage, starts: &[u32]) -> Result<(Vec<f32>, usize, f32)> {
        let widest = self.config.widest_bucket();
        let classes = self.dictionary.classes();
        let mut stitched: Vec<f32> = Vec::new();
        let mut step_width = 0.0f32;
        for (i, &start) in starts.iter().enumerate() {
            let (probs, steps) = self.run(crop, start, widest)?;
            step_width = widest as f32 / steps.max(1) as f32;
            let to_step = |x: u32| ((x as f32 / step_width).ceil() as usize).min(steps);
            // Window-local steps this window supplies: from the middle of the
            // overlap with the previous window to the middle of the next overlap.
            let first = if i == 0 { 0 } else { to_step((starts[i - 1] + widest - start) / 2) };
            let last = match starts.get(i + 1) {
                Some(&next) => to_step((next - start + widest) / 2),
                None => to_step(crop.width() - start),
            }
            .max(first);
            stitched.extend_from_slice(&probs[first * classes..last * classes]);
        }
        let steps = stitched.len() / classes.max(1);
        Ok((stitched, steps, step_width))
    }

    /// Runs the model on the part of `crop` from `start` (at most `bucket`
    /// pixels), padded to `bucket`: per-step probabilities and the step count.
    fn run(&self, crop: &RgbImage, start: u32, bucket: u32) -> Result<(Vec<f32>, usize)> {
        let h = self.config.height as usize;
        let width = bucket.min(crop.width().saturating_sub(start));
        let part;
        let view = if start == 0 && width == crop.width() {
            crop
        } else {
            part = image::imageops::crop_imm(crop, start, 0, width, crop.height()).to_image();
            &part
        };
        let mut input = DenseTensor::filled(&[1, 3, h, bucket as usize], 0.0);
        write_bgr_normalised(view, &mut input.data, bucket as usize, h);
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
        Ok((output.data, steps))
    }
}

/// The symbol among `candidates` (class and symbol: the ASCII digits or
/// letters) with the highest mean probability over `token`'s time steps, and
/// that mean; classes barred by `allowed` are skipped.
fn best_of(
    probs: &[f32],
    classes: usize,
    token: &CtcToken,
    candidates: &[(usize, char)],
    allowed: Option<&[bool]>,
) -> Option<(char, f32)> {
    let span = (token.last_step + 1 - token.first_step) as f32;
    candidates
        .iter()
        .filter(|(class, _)| allowed.is_none_or(|m| m.get(*class).copied().unwrap_or(false)))
        .map(|&(class, symbol)| {
            let sum: f32 = (token.first_step..=token.last_step).map(|t| probs[t * classes + class]).sum();
            (symbol, sum / span)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// The highest probability of `class` over the time `steps`.
fn max_probability(probs: &[f32], classes: usize, steps: std::ops::RangeInclusive<usize>, class: usize) -> f32 {
    steps.filter_map(|t| probs.get(t * classes + class)).copied().fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_tight_and_wide_crops_are_windowed() {
        let c = RecognizerConfig::default();
        assert_eq!(c.bucket_for(1), 32);
        assert_eq!(c.bucket_for(33), 64);
        assert_eq!(c.bucket_for(257), 288);
        assert_eq!(c.bucket_for(513), 576);
        assert_eq!(c.bucket_for(100_000), 768);
        for w in [40u32, 300, 700] {
            let b = c.bucket_for(w);
            assert!(b >= w && (b - w) as f32 / w as f32 <= 0.8, "{w} -> {b}");
        }
        assert_eq!(c.windows(768), vec![0]);
        assert_eq!(c.windows(769), vec![0, 640]);
        let starts = c.windows(3000);
        assert!(starts.windows(2).all(|p| p[1] - p[0] == 640), "{starts:?}");
        let last = starts[starts.len() - 1];
        assert!(last + 768 >= 3000 && starts[starts.len() - 2] + 768 < 3000, "{starts:?}");
    }

    /// A fake recogniser that returns the same probabilities for any crop.
    struct Fixed(Vec<f32>);

    impl Model for Fixed {
        fn run(&self, _input: &DenseTensor) -> Result<DenseTensor> {
            Ok(DenseTensor { shape: vec![1, self.0.len() / 4, 4], data: self.0.clone() })
        }
    }

    #[test]
    fn each_character_keeps_its_best_digit_or_letter_and_the_space_probability_before_it() {
        // Classes: blank, "O", "0", space. Step 0 reads "O" with "0" second,
        // step 1 is a blank with some probability of a space, step 2 reads "0".
        let probs = vec![0.1, 0.6, 0.3, 0.0, 0.8, 0.0, 0.0, 0.2, 0.1, 0.05, 0.85, 0.0];
        let recognizer = Recognizer::new(Box::new(Fixed(probs)), Dictionary::from_lines("O\n0"), Default::default());
        let reading = recognizer.recognize(&RgbImage::new(24, 48), None).unwrap();
        assert_eq!(reading.text(), "O0");
        let (o, zero) = (&reading.chars[0], &reading.chars[1]);
        assert_eq!(o.digit_alternative, Some(('0', 0.3)));
        assert_eq!(o.space_before, 0.0);
        assert_eq!(zero.digit_alternative, None);
        assert!((zero.space_before - 0.2).abs() < 1e-6, "{zero:?}");
        // The digit keeps its best letter; the letter has none.
        assert_eq!(zero.letter_alternative, Some(('O', 0.05)));
        assert_eq!(o.letter_alternative, None);
        // A mask that bars the digit (or the letter) leaves no alternative.
        let reading = recognizer.recognize(&RgbImage::new(24, 48), Some(&[true, true, false, true])).unwrap();
        assert_eq!(reading.chars[0].digit_alternative, None);
        let reading = recognizer.recognize(&RgbImage::new(24, 48), Some(&[true, false, true, true])).unwrap();
        assert_eq!(reading.text(), "00");
        assert!(reading.chars.iter().all(|c| c.letter_alternative.is_none()), "{reading:?}");
    }

    /// A fake recogniser with one time step per 8 columns: class 1 ("a")
    /// where the step's columns hold a dark pixel, else the blank. Each
    /// window also reports, at its first and last step, class 2 (a space):
    /// stitching must drop those edge steps of inner windows.
    struct Bars;

    impl Model for Bars {
        fn run(&self, input: &DenseTensor) -> Result<DenseTensor> {
            let (h, w) = (input.shape[2], input.shape[3]);
            let steps = w / 8;
            let mut data = vec![0.0; steps * 3];
            for t in 0..steps {
                let dark = (0..h).any(|y| (t * 8..t * 8 + 8).any(|x| input.data[y * w + x] < -0.5));
                let class = if t == 0 || t + 1 == steps { 2 } else { usize::from(dark) };
                data[t * 3 + class] = 1.0;
            }
            Ok(DenseTensor { shape: vec![1, steps, 3], data })
        }
    }

    #[test]
    fn windows_are_stitched_at_the_middle_of_their_overlap() {
        let config = RecognizerConfig { width_buckets: vec![32, 64, 128], window_overlap: 64, ..Default::default() };
        let recognizer = Recognizer::new(Box::new(Bars), Dictionary::from_lines("a"), config);
        // 700 px of white with a dark bar of 4 px every 40 px (17 bars).
        let bars: Vec<u32> = (1..=17).map(|i| i * 40).collect();
        let crop = RgbImage::from_fn(700, 48, |x, _| {
            if bars.iter().any(|&b| (b..b + 4).contains(&x)) {
                image::Rgb([0, 0, 0])
            } else {
                image::Rgb([255, 255, 255])
            }
        });
        let reading = recognizer.recognize(&crop, None).unwrap();
        // Only the first window's left edge and the last window's right edge
        // show their edge class (a space); every bar is read once, in place.
        let text = reading.text();
        assert_eq!(text.trim_matches(' '), "a".repeat(17), "{text:?}");
        assert_eq!(reading.step_width, 8.0);
        let a: Vec<&RecognizedChar> = reading.chars.iter().filter(|c| c.text == "a").collect();
        for (c, &b) in a.iter().zip(&bars) {
            assert!(c.x0 <= b as f32 && c.x1 >= (b + 4) as f32, "bar at {b}: {c:?}");
        }
    }
}
