//! Page orientation and deskew on real scans: the 25 receipts of the shared
//! corpus turned by 90, 180 and 270 degrees, and tilted by ±3 degrees, read
//! by Engine 1 with `detect_orientation` and `deskew` on, must report the
//! right rotation (≥ 95% of pages) and read within 0.02 CER (corpus level,
//! strict) of the upright pages read with the same options.
//!
//! Slow (about 150 page reads): run with
//! `cargo test --release -p ocr-engine --test orientation -- --nocapture`.

mod common;

use std::sync::OnceLock;

use common::{corpus, engine1};
use image::{Rgb, RgbImage};
use ocr_engine::eval::Scores;
use ocr_engine::orientation::rotate_about_centre;
use ocr_engine::{decode_image, DecodeLimits, PageResult, RecognizeOptions};

fn options() -> RecognizeOptions {
    RecognizeOptions { detect_orientation: true, deskew: true, ..Default::default() }
}

/// The receipts, decoded, with their ground truth.
fn receipts() -> &'static [(RgbImage, String)] {
    static PAGES: OnceLock<Vec<(RgbImage, String)>> = OnceLock::new();
    PAGES.get_or_init(|| {
        corpus("receipts")
            .into_iter()
            .map(|(path, truth)| {
                let bytes = std::fs::read(&path).expect("read receipt");
                let page = decode_image(&bytes, &DecodeLimits::default()).expect("decode").remove(0);
                (page, truth)
            })
            .collect()
    })
}

fn read(page: &RgbImage) -> PageResult {
    engine1().recognize_page(page, &options()).expect("ocr")
}

/// Scores of the upright receipts (and how many were left unturned).
fn upright() -> &'static (Scores, usize) {
    static UPRIGHT: OnceLock<(Scores, usize)> = OnceLock::new();
    UPRIGHT.get_or_init(|| score(|page| page.clone(), 0))
}

/// Reads every receipt transformed by `turn`, expecting `rotation`; returns
/// the summed scores and the number of pages with the right rotation.
fn score(turn: impl Fn(&RgbImage) -> RgbImage, rotation: u16) -> (Scores, usize) {
    let mut total = Scores::default();
    let mut right = 0;
    for (page, truth) in receipts() {
        let result = read(&turn(page));
        if result.rotation == rotation {
            right += 1;
        }
        total += Scores::of(&result.text(), truth);
    }
    (total, right)
}

#[test]
fn turned_receipts_are_detected_and_read_like_upright_ones() {
    let n = receipts().len();
    let (base, base_right) = upright();
    eprintln!(
        "upright: rotation 0 on {base_right}/{n}, CER {:.4}, caseless CER {:.4}",
        base.cer(),
        base.cer_caseless()
    );
    let mut failures = Vec::new();
    for (turned_by, turn) in [
        (90u16, image::imageops::rotate90 as fn(&RgbImage) -> RgbImage),
        (180, image::imageops::rotate180),
        (270, image::imageops::rotate270),
    ] {
        // A page turned clockwise by `turned_by` needs the rest of a full turn.
        let expected = (360 - turned_by) % 360;
        let (s, right) = score(turn, expected);
        eprintln!(
            "turned {turned_by:>3}: rotation {expected} on {right}/{n} ({:.0}%), CER {:.4} (upright {:.4}), caseless CER {:.4} (upright {:.4})",
            100.0 * right as f32 / n as f32,
            s.cer(),
            base.cer(),
            s.cer_caseless(),
            base.cer_caseless()
        );
        if (right as f32) < 0.95 * n as f32 {
            failures.push(format!("{turned_by}: right rotation on only {right}/{n}"));
        }
        if s.cer() > base.cer() + 0.02 {
            failures.push(format!("{turned_by}: CER {:.4} vs upright {:.4}", s.cer(), base.cer()));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn receipts_tilted_by_three_degrees_read_like_upright_ones() {
    let (base, _) = upright();
    let mut failures = Vec::new();
    for degrees in [3.0f32, -3.0] {
        let (s, unturned) = score(|page| rotate_about_centre(page, degrees, Rgb([255, 255, 255])).0, 0);
        eprintln!(
            "tilted {degrees:+}°: CER {:.4} (upright {:.4}), caseless CER {:.4} (upright {:.4}), rotation 0 on {unturned}/{}",
            s.cer(),
            base.cer(),
            s.cer_caseless(),
            base.cer_caseless(),
            receipts().len()
        );
        if s.cer() > base.cer() + 0.02 {
            failures.push(format!("{degrees}°: CER {:.4} vs upright {:.4}", s.cer(), base.cer()));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}
