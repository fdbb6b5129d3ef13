//! Engine 3: the most accurate mode, built from two loaded engines.
//!
//! The primary engine (Engine 2, PP-OCRv6 small) reads every page with all
//! the page-level accuracy options on: page orientation (0/90/180/270),
//! deskew and enlargement of small text. Per-line 180° classification is
//! left as the request asks: forced on, it turned upright receipt lines
//! (Engine 2 receipts, caseless CER 0.1225 -> 0.1464). Lines it
//! reads with a mean character confidence below
//! [`AccurateEngine::second_opinion_below`] are read again, from the same
//! crop, by the secondary engine's recogniser (Engine 1, PP-OCRv4), and the
//! second reading is kept when its mean confidence is higher by at least
//! [`AccurateEngine::second_opinion_margin`].

use std::sync::Arc;

use image::RgbImage;

use crate::engine::{read_every_page, ModelSet, OcrEngine, RecognizeOptions, StageTimings};
use crate::result::PageResult;
use crate::{EngineConfig, Result};

/// Default [`AccurateEngine::second_opinion_below`].
pub const SECOND_OPINION_BELOW: f32 = 0.8;
/// Default [`AccurateEngine::second_opinion_margin`].
pub const SECOND_OPINION_MARGIN: f32 = 0.1;

/// Engine 3: a primary engine with every accuracy option on and a second
/// recogniser for doubtful lines. `Send + Sync`; share it behind an `Arc`.
pub struct AccurateEngine {
    primary: Arc<OcrEngine>,
    secondary: Arc<OcrEngine>,
    /// Lines whose mean character confidence (0..1) from the primary
    /// recogniser is below this are read again by the secondary one.
    pub second_opinion_below: f32,
    /// The second reading replaces the first only when its mean confidence
    /// is higher by at least this much (the two models' confidences are not
    /// calibrated against each other).
    pub second_opinion_margin: f32,
}

impl AccurateEngine {
    /// Combines two loaded engines (normally Engine 2 as `primary` and
    /// Engine 1 as `secondary`; the server can share the ones it already
    /// holds). Both recognisers must take crops of the same height (48 px
    /// for every PP-OCR v4/v6 model); otherwise no line is read twice.
    pub fn new(primary: Arc<OcrEngine>, secondary: Arc<OcrEngine>) -> Self {
        Self {
            primary,
            secondary,
            second_opinion_below: SECOND_OPINION_BELOW,
            second_opinion_margin: SECOND_OPINION_MARGIN,
        }
    }

    /// Loads Engine 2 and Engine 1 from `models_dir` with their own settings
    /// ([`EngineConfig::engine2`], [`EngineConfig::engine1`]).
    pub fn load(models_dir: impl AsRef<std::path::Path>) -> Result<Self> {
        let d = models_dir.as_ref();
        let primary = OcrEngine::load(&ModelSet::engine2(d), EngineConfig::engine2())?;
        let secondary = OcrEngine::load(&ModelSet::engine1(d), EngineConfig::engine1())?;
        Ok(Self::new(Arc::new(primary), Arc::new(secondary)))
    }

    /// The primary engine.
    pub fn primary(&self) -> &OcrEngine {
        &self.primary
    }

    /// The secondary engine.
    pub fn secondary(&self) -> &OcrEngine {
        &self.secondary
    }

    /// `options` with the page-level accuracy options turned on (orientation,
    /// vertical pages, deskew, small-text enlargement); script, class
    /// restriction, line classification and `upscale` are kept as given.
    pub fn effective_options(options: &RecognizeOptions) -> RecognizeOptions {
        RecognizeOptions {
            rotate_vertical_pages: true,
            detect_orientation: true,
            deskew: true,
            upscale_small_text: true,
            ..options.clone()
        }
    }

    /// Decodes `bytes` (any supported format, every page) and reads each page.
    pub fn recognize_bytes(&self, bytes: &[u8], options: &RecognizeOptions) -> Result<Vec<PageResult>> {
        self.recognize_bytes_timed(bytes, options).map(|(pages, _)| pages)
    }

    /// As [`AccurateEngine::recognize_bytes`], also returning time per stage.
    pub fn recognize_bytes_timed(
        &self,
        bytes: &[u8],
        options: &RecognizeOptions,
    ) -> Result<(Vec<PageResult>, StageTimings)> {
        read_every_page(bytes, &self.primary.config().decode, |page, timings| {
            self.recognize_page_timed(page, options, timings)
        })
    }

    /// Reads one decoded page.
    pub fn recognize_page(&self, page: &RgbImage, options: &RecognizeOptions) -> Result<PageResult> {
        self.recognize_page_timed(page, options, &mut StageTimings::default())
    }

    /// Reads one decoded page, adding the time of each stage to `timings`.
    pub fn recognize_page_timed(
        &self,
        page: &RgbImage,
        options: &RecognizeOptions,
        timings: &mut StageTimings,
    ) -> Result<PageResult> {
        let options = Self::effective_options(options);
        self.primary.read_page(
            page,
            &options,
            Some((&self.secondary, self.second_opinion_below, self.second_opinion_margin)),
            timings,
        )
    }
}
