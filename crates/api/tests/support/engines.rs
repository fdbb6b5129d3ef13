//! An application without OCR models, for tests of what happens before OCR.

use std::sync::Arc;

use ocr_api::service::{Engines, LoadedEngines};

/// No engines: requests end before OCR, and the app starts in milliseconds.
pub fn no_engines() -> Engines {
    Arc::new(LoadedEngines {
        primary: Default::default(),
        primary_languages: Default::default(),
        primary_chars: Default::default(),
        extra: Vec::new(),
    })
}
