//! The OCR.space wire format: request parameters and response bodies.

pub mod params;
pub mod render;
pub mod response;
