//! Times one recogniser call per width bucket (single thread), to see how
//! the cost of a call grows with the input width.
//!
//! `cargo run -p ocr-engine --example rec_widths`

use std::time::Instant;

use ocr_engine::model::{DenseTensor, Model, OnnxModel};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let models = std::env::var("OCR_MODELS_DIR").unwrap_or_else(|_| "models".into());
    let model = OnnxModel::load(&std::path::Path::new(&models).join("ch_PP-OCRv4_rec_infer.onnx"), 64)?;
    for width in [32usize, 64, 128, 192, 256, 320, 512, 768, 1024] {
        let input = DenseTensor::filled(&[1, 3, 48, width], 0.1);
        model.run(&input)?;
        let start = Instant::now();
        let n = 10;
        for _ in 0..n {
            model.run(&input)?;
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0 / n as f64;
        println!("width {width:>5}: {ms:>7.2} ms per call, {:.3} ms per 32 px", ms * 32.0 / width as f64);
    }
    Ok(())
}
