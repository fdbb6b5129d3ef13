//! Pure-Rust OCR engine: PP-OCR text detection and recognition on `tract-onnx`.
//!
//! The engine knows nothing of HTTP, databases or async runtimes. It takes
//! image bytes (or decoded pixels) and returns a [`PageResult`]: blocks of
//! lines of words, each with its text, confidence and a box in pixels of the
//! original image (origin top-left, x to the right, y down).
//!
//! Pipeline per page (each stage in its own module):
//! [`decode`] → detection ([`detection`]: DB probability map → rotated boxes)
//! → perspective crops ([`crop`]) → optional 180° line classifier
//! ([`classifier`]) → recognition ([`recognition`]: CTC greedy decoding with
//! per-character confidence and time-step positions) → words and reading
//! order ([`layout`]).
//!
//! ```no_run
//! use ocr_engine::{ModelSet, OcrEngine, RecognizeOptions};
//! let engine = OcrEngine::load(&ModelSet::engine1("models"), Default::default())?;
//! let bytes = std::fs::read("receipt.jpg")?;
//! for page in engine.recognize_bytes(&bytes, &RecognizeOptions::default())? {
//!     println!("{}", page.text());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod accurate;
pub mod affine;
pub mod cancel;
pub mod classifier;
pub mod crop;
pub mod decode;
pub mod detection;
pub mod engine;
mod error;
pub mod eval;
pub mod geometry;
mod gif_frames;
pub mod imageops;
mod ink;
pub mod languages;
pub mod layout;
mod line_reading;
mod marks;
mod missed_glyphs;
pub mod model;
mod onnx_tensor;
pub mod orientation;
pub mod reader;
pub mod reading_order;
pub mod recognition;
pub mod result;
mod retarget;
pub mod scoped;
pub mod spread;
pub mod transpose;
pub mod unstride;

pub use accurate::{AccurateEngine, SECOND_OPINION_BELOW, SECOND_OPINION_MARGIN};
pub use decode::{decode_image, for_each_page, DecodeLimits};
pub use engine::{
    is_latin_symbol, EngineConfig, ModelSet, OcrEngine, PlanCounts, PlanJob, PlanPriority, RecognizeOptions, Script,
    StageTimings, DEFAULT_RECOGNITION_BATCH, SMALL_TEXT_HEIGHT, UPSCALE_TARGET_SIDE,
};
pub use error::{EngineError, Result};
/// The page image type the engine reads (RGB, 8 bits per channel), and its pixel.
pub use image::{Rgb, RgbImage};
pub use imageops::rotate_clockwise;
pub use languages::{language_support, LanguageSupport, UnknownLanguage, OCR_SPACE_LANGUAGES};
pub use reader::{MixedEngine, PageRecognizer};
pub use result::{Block, BoundingBox, Line, PageResult, Word};
