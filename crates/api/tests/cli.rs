//! Runs the real `ocr-server ocr` binary on corpus images.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn data(path: &str) -> PathBuf {
    std::env::var_os("OCR_DATA_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("../shared/data")).join(path)
}

fn models() -> PathBuf {
    std::env::var_os("OCR_MODELS_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("models"))
}

fn ocr(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ocr-server"))
        .arg("ocr")
        .arg("--models-dir")
        .arg(models())
        .args(args)
        .output()
        .expect("run ocr-server")
}

#[test]
fn ocr_prints_text_of_a_line_image() {
    let line = data("lines/book_1113_010043.png");
    let out = ocr(&[line.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let truth = std::fs::read_to_string(line.with_extension("gt.txt")).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), truth.trim());
}

#[test]
fn ocr_json_has_pages_blocks_lines_words() {
    let line = data("lines/book_1113_010043.png");
    let out = ocr(&["--format", "json", line.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let word = &v["pages"][0]["blocks"][0]["lines"][0]["words"][0];
    assert_eq!(word["text"], "and");
    assert!(word["bbox"]["width"].as_f64().unwrap() > 5.0);
    assert!(word["confidence"].as_f64().unwrap() > 0.5);
}

#[test]
fn ocr_reports_bad_input_and_missing_models_clearly() {
    let dir = std::env::temp_dir().join(format!("ocr-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let garbage = dir.join("garbage.png");
    std::fs::write(&garbage, b"not an image").unwrap();
    let out = ocr(&[garbage.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported or unrecognised image format"));

    let out = Command::new(env!("CARGO_BIN_EXE_ocr-server"))
        .args(["ocr", "--models-dir", dir.to_str().unwrap(), garbage.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("run scripts/fetch-models"));
    std::fs::remove_dir_all(&dir).unwrap();
}
