//! Golden accuracy tests: Engines 1 and 2 on the shared corpus (real scans with
//! third-party ground truth), scored by the crate's own `eval` module.
//! The bounds are the measured figures with a small margin; a regression
//! past them fails the build.

mod common;

use common::{engine1, engine2, score_folder};

#[test]
fn engine1_receipts_accuracy_stays_within_recorded_bounds() {
    let s = score_folder(engine1(), "receipts");
    eprintln!(
        "receipts: CER {:.4}, caseless CER {:.4}, bag-of-words F1 {:.4} (caseless {:.4})",
        s.cer(),
        s.cer_caseless(),
        s.bag_of_words_f1(),
        s.bag_of_words_f1_caseless()
    );
    assert!(s.cer_caseless() <= 0.15, "caseless CER {:.4} above 0.15", s.cer_caseless());
    assert!(
        s.bag_of_words_f1_caseless() >= 0.80,
        "caseless bag-of-words F1 {:.4} below 0.80",
        s.bag_of_words_f1_caseless()
    );
    assert!(s.bag_of_words_f1() >= 0.65, "bag-of-words F1 {:.4} below 0.65", s.bag_of_words_f1());
}

#[test]
fn engine1_lines_accuracy_stays_within_recorded_bounds() {
    let s = score_folder(engine1(), "lines");
    eprintln!("lines: CER {:.4}, bag-of-words F1 {:.4}", s.cer(), s.bag_of_words_f1());
    assert!(s.cer() <= 0.01, "CER {:.4} above 0.01", s.cer());
    assert!(s.bag_of_words_f1() >= 0.97, "bag-of-words F1 {:.4} below 0.97", s.bag_of_words_f1());
}

// Engine 2 (PP-OCRv6 small, EngineConfig::engine2). Measured: receipts CER
// 0.2377, caseless 0.1225, bag-of-words F1 0.7443 (caseless 0.9080).
#[test]
fn engine2_receipts_accuracy_stays_within_recorded_bounds() {
    let s = score_folder(engine2(), "receipts");
    eprintln!(
        "engine 2 receipts: CER {:.4}, caseless CER {:.4}, bag-of-words F1 {:.4} (caseless {:.4})",
        s.cer(),
        s.cer_caseless(),
        s.bag_of_words_f1(),
        s.bag_of_words_f1_caseless()
    );
    assert!(s.cer() <= 0.245, "CER {:.4} above 0.245", s.cer());
    assert!(s.cer_caseless() <= 0.13, "caseless CER {:.4} above 0.13", s.cer_caseless());
    assert!(
        s.bag_of_words_f1_caseless() >= 0.90,
        "caseless bag-of-words F1 {:.4} below 0.90",
        s.bag_of_words_f1_caseless()
    );
    assert!(s.bag_of_words_f1() >= 0.735, "bag-of-words F1 {:.4} below 0.735", s.bag_of_words_f1());
}

#[test]
fn engine2_lines_accuracy_stays_within_recorded_bounds() {
    let s = score_folder(engine2(), "lines");
    eprintln!("engine 2 lines: CER {:.4}, bag-of-words F1 {:.4}", s.cer(), s.bag_of_words_f1());
    assert!(s.cer() <= 0.003, "CER {:.4} above 0.003", s.cer());
    assert!(s.bag_of_words_f1() >= 0.985, "bag-of-words F1 {:.4} below 0.985", s.bag_of_words_f1());
}
