//! The engine's single error type.

use std::path::PathBuf;

/// Result alias used throughout the engine.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// Everything that can go wrong inside the engine, phrased for the caller to act on.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The input had no bytes at all.
    #[error("the input is empty")]
    EmptyInput,
    /// The bytes are not an image format the engine decodes.
    #[error("unsupported or unrecognised image format (supported: JPEG, PNG, GIF, BMP, WebP, TIFF)")]
    UnsupportedFormat,
    /// The bytes claim a supported format but are truncated or corrupt.
    #[error("the image could not be decoded: {0}")]
    Decode(String),
    /// The image (or one page/frame of it) exceeds the configured pixel budget.
    /// Raised from the header, before any pixel buffer is allocated.
    #[error("the image is {width}x{height} pixels, over the limit of {limit} pixels per page")]
    TooManyPixels {
        /// Width in pixels as declared by the file.
        width: u32,
        /// Height in pixels as declared by the file.
        height: u32,
        /// The configured pixel budget per page.
        limit: u64,
    },
    /// The image is too small to hold any readable text.
    #[error("the image is {width}x{height} pixels, too small to contain text (minimum {min} pixels per side)")]
    ImageTooSmall {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// The minimum side length accepted.
        min: u32,
    },
    /// A multi-page input has more pages or frames than allowed.
    #[error("the input has more than {limit} pages or frames")]
    TooManyPages {
        /// The configured maximum number of pages.
        limit: usize,
    },
    /// All pages or frames of the input together have more pixels than
    /// allowed (counted before each page is allocated).
    #[error(
        "the input's pages or frames together need more than {limit} pixels, over the budget for a file of this size"
    )]
    TotalPixels {
        /// The configured budget for all pages of one input.
        limit: u64,
    },
    /// The job was cancelled (see [`crate::cancel`]): its request timed out or went away.
    #[error("the OCR job was cancelled")]
    Cancelled,
    /// A model file is missing or cannot be loaded.
    #[error("cannot load model {path}: {reason}")]
    ModelLoad {
        /// Path of the model file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The recognition model carries no character dictionary in its metadata.
    #[error("model {0} has no 'character' dictionary in its ONNX metadata")]
    MissingDictionary(PathBuf),
    /// Running a model failed (unexpected shapes, runtime errors).
    #[error("model inference failed: {0}")]
    Inference(String),
    /// A [`crate::spread::Spread`] returned without running every batch of
    /// lines it was given (a bug in that spread, never the input's fault).
    #[error("a batch of text lines was handed out but never read")]
    BatchNotRun,
}
