//! OCR.space-compatible OCR server and command-line tool (`ocr-server`).
//!
//! This crate is the edge: it turns HTTP requests and command-line arguments
//! into engine calls and renders the results. The OCR itself lives in
//! `ocr-engine`, PDF reading and writing in `ocr-pdf`.
#![forbid(unsafe_code)]

pub mod admin;
pub mod cli;
pub mod config;
pub mod content;
pub mod doctr;
pub mod engines;
pub mod jobs;
pub mod kie;
pub mod ocrspace;
pub mod openapi;
pub mod pdflinks;
pub mod server;
pub mod service;
pub mod store;
