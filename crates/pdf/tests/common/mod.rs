//! Helpers shared by the integration tests: test data, and running
//! `pdfcheck.py` (poppler + qpdf) on written PDFs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use ocr_pdf::{TextLine, TextWord};

/// The project's `shared/` folder: `$OCR_SHARED_DIR`, else beside the repository.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("OCR_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

/// The shared corpus: `$OCR_DATA_DIR`, else `data/` in [`shared_dir`]; when
/// it is absent the test fails with one sentence saying what to set.
pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("OCR_DATA_DIR").map(PathBuf::from).unwrap_or_else(|| shared_dir().join("data"));
    assert!(dir.is_dir(), "the test corpus is not at {}: set OCR_DATA_DIR to the folder holding receipts/ and lines/ (default: ../shared/data beside the repository)", dir.display());
    dir
}

/// Path of receipt `NNN.jpg`.
pub fn receipt_path(n: u32) -> PathBuf {
    data_dir().join(format!("receipts/{n}.jpg"))
}

/// Bytes of receipt `NNN.jpg`.
pub fn receipt_jpeg(n: u32) -> Vec<u8> {
    let path = receipt_path(n);
    std::fs::read(&path).unwrap_or_else(|e| panic!("test data {} missing: {e}", path.display()))
}

/// Word boxes made from the receipt's ground-truth line boxes (not from OCR):
/// up to `max` lines that do not share a row with another, each split into
/// words whose widths are proportional to their lengths.
pub fn receipt_lines(n: u32, max: usize) -> Vec<TextLine> {
    let path = data_dir().join(format!("receipts/{n}.lines.json"));
    let text = std::fs::read_to_string(&path).expect("lines.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let mut lines = Vec::new();
    let mut last_bottom = f32::MIN;
    for item in json.as_array().expect("array") {
        let quad: Vec<f32> = item["quad"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        let xs = [quad[0], quad[2], quad[4], quad[6]];
        let ys = [quad[1], quad[3], quad[5], quad[7]];
        let (x0, x1) = (min(&xs), max_of(&xs));
        let (y0, y1) = (min(&ys), max_of(&ys));
        if y0 < last_bottom - 3.0 {
            continue; // shares a row with an earlier line: reading order ambiguous
        }
        let words = split_line(item["text"].as_str().unwrap(), x0, y0, x1, y1);
        if words.is_empty() {
            continue;
        }
        last_bottom = y1;
        lines.push(TextLine { words });
        if lines.len() == max {
            break;
        }
    }
    lines
}

/// Splits a line box among its words, one character cell per character and
/// one cell per space.
pub fn split_line(text: &str, x0: f32, y0: f32, x1: f32, y1: f32) -> Vec<TextWord> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let cells: usize = words.iter().map(|w| w.chars().count()).sum::<usize>() + words.len().saturating_sub(1);
    let cell = (x1 - x0) / cells.max(1) as f32;
    let mut x = x0;
    words
        .iter()
        .map(|w| {
            let width = w.chars().count() as f32 * cell;
            let word = TextWord { text: (*w).to_owned(), left: x, top: y0, width, height: y1 - y0 };
            x += width + cell;
            word
        })
        .collect()
}

fn min(v: &[f32]) -> f32 {
    v.iter().copied().fold(f32::MAX, f32::min)
}

fn max_of(v: &[f32]) -> f32 {
    v.iter().copied().fold(f32::MIN, f32::max)
}

/// Where `pdfcheck.py` is: `$OCR_PDFCHECK`, else in `shared/tools`.
pub fn pdfcheck_path() -> PathBuf {
    match std::env::var_os("OCR_PDFCHECK") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tools/pdfcheck.py"),
    }
}

/// Fails (never skips) when the poppler/qpdf tools are missing.
pub fn require_tools() {
    for tool in ["qpdf", "pdftotext", "pdftoppm", "pdfinfo", "pdffonts", "pdfimages", "python3"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(found, "`{tool}` is not installed; these tests need it: apt-get install -y poppler-utils qpdf python3");
    }
}

/// Runs `pdfcheck.py` on `pdf` with the expected words of each page (pixel
/// boxes at `dpi`), asserts it passes, and returns its report.
pub fn pdfcheck(pdf: &[u8], pages: &[Vec<TextLine>], dpi: f32, mode: &str, source_jpeg: Option<&Path>) -> String {
    require_tools();
    let script = pdfcheck_path();
    assert!(script.exists(), "pdfcheck.py not found at {} (set OCR_PDFCHECK)", script.display());
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf_path = dir.path().join("out.pdf");
    std::fs::write(&pdf_path, pdf).unwrap();
    let mut words = Vec::new();
    for (i, lines) in pages.iter().enumerate() {
        for w in lines.iter().flat_map(|l| &l.words) {
            words.push(serde_json::json!({
                "text": w.text, "page": i + 1,
                "x0": w.left, "y0": w.top, "x1": w.left + w.width, "y1": w.top + w.height,
            }));
        }
    }
    let expected = serde_json::json!({ "units": "px", "dpi": dpi, "origin": "top", "words": words });
    let exp_path = dir.path().join("expected.json");
    std::fs::write(&exp_path, serde_json::to_vec(&expected).unwrap()).unwrap();
    let mut cmd = Command::new("python3");
    cmd.arg(&script).arg(&pdf_path).arg(&exp_path).args([
        "--mode",
        mode,
        "--strict-order",
        "--pages",
        &pages.len().to_string(),
    ]);
    if let Some(jpeg) = source_jpeg {
        cmd.arg("--source-jpeg").arg(jpeg);
    }
    let out = cmd.output().expect("run pdfcheck.py");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{report}");
    assert!(out.status.success(), "pdfcheck failed ({}):\n{report}", out.status);
    report
}
