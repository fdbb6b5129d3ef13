//! Golden accuracy tests: Engine 1 on the shared corpus (real scans with
//! third-party ground truth), scored by the crate's own `eval` module.
//! The bounds are the measured figures with a small margin; a regression
//! past them fails the build.

mod common;

use common::{engine1, score_folder};

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
