//! One interface over every way the engine reads a page: a single engine
//! ([`OcrEngine`], OCR.space Engines 1 and 2), Engine 3's combination
//! ([`AccurateEngine`]) and one model set's detector with another's
//! recogniser ([`MixedEngine`], docTR's `detection_model` and
//! `recognition_model` chosen apart). Callers hold an
//! `Arc<dyn PageRecognizer>` and never ask which one it is.

use std::sync::Arc;

use image::RgbImage;

use crate::accurate::AccurateEngine;
use crate::engine::{read_every_page, EngineConfig, OcrEngine, RecognizeOptions, StageTimings};
use crate::result::PageResult;
use crate::{EngineError, Result};

/// Reads pages: text detection, recognition and layout behind one call.
pub trait PageRecognizer: Send + Sync {
    /// Reads one decoded page, adding the time of each stage to `timings`.
    fn recognize_page_timed(
        &self,
        page: &RgbImage,
        options: &RecognizeOptions,
        timings: &mut StageTimings,
    ) -> Result<PageResult>;

    /// The configuration of the engine whose detector sets the layout
    /// (decoding limits, working size).
    fn config(&self) -> &EngineConfig;

    /// Reads one decoded page.
    fn recognize_page(&self, page: &RgbImage, options: &RecognizeOptions) -> Result<PageResult> {
        self.recognize_page_timed(page, options, &mut StageTimings::default())
    }

    /// Reads every page of an encoded image (every frame of a TIFF or GIF)
    /// with the time of each stage summed over the pages.
    fn recognize_bytes_timed(
        &self,
        bytes: &[u8],
        options: &RecognizeOptions,
    ) -> Result<(Vec<PageResult>, StageTimings)> {
        read_every_page(bytes, &self.config().decode, |page, timings| self.recognize_page_timed(page, options, timings))
    }
}

impl PageRecognizer for OcrEngine {
    fn recognize_page_timed(
        &self,
        page: &RgbImage,
        options: &RecognizeOptions,
        timings: &mut StageTimings,
    ) -> Result<PageResult> {
        OcrEngine::recognize_page_timed(self, page, options, timings)
    }

    fn config(&self) -> &EngineConfig {
        OcrEngine::config(self)
    }
}

impl PageRecognizer for AccurateEngine {
    fn recognize_page_timed(
        &self,
        page: &RgbImage,
        options: &RecognizeOptions,
        timings: &mut StageTimings,
    ) -> Result<PageResult> {
        AccurateEngine::recognize_page_timed(self, page, options, timings)
    }

    fn config(&self) -> &EngineConfig {
        self.primary().config()
    }
}

/// One model set's detector (and its layout settings) with another set's
/// recogniser.
pub struct MixedEngine {
    detector: Arc<OcrEngine>,
    recognizer: Arc<OcrEngine>,
}

impl MixedEngine {
    /// Pairs `detector`'s detection with `recognizer`'s recognition; both
    /// recognisers must read crops of the same height.
    pub fn new(detector: Arc<OcrEngine>, recognizer: Arc<OcrEngine>) -> Result<Self> {
        let (detects_for, reads) = (detector.crop_height(), recognizer.crop_height());
        if detects_for != reads {
            return Err(EngineError::Inference(format!(
                "{} reads crops {reads} pixels high, {} detects for {detects_for}-pixel crops",
                recognizer.name(),
                detector.name(),
            )));
        }
        Ok(Self { detector, recognizer })
    }
}

impl PageRecognizer for MixedEngine {
    fn recognize_page_timed(
        &self,
        page: &RgbImage,
        options: &RecognizeOptions,
        timings: &mut StageTimings,
    ) -> Result<PageResult> {
        self.detector.recognize_page_with_timed(page, options, &self.recognizer, timings)
    }

    fn config(&self) -> &EngineConfig {
        self.detector.config()
    }
}
