//! OCR.space-compatible OCR server and command-line tool (`ocr-server`).
//!
//! This crate is the edge: it turns command-line arguments (and, later, HTTP
//! requests) into engine calls and renders the results. The OCR itself lives
//! in `ocr-engine`.
#![forbid(unsafe_code)]

pub mod admin;
pub mod cli;
pub mod config;
pub mod engines;
pub mod ocrspace;
pub mod pdflinks;
pub mod server;
pub mod store;
