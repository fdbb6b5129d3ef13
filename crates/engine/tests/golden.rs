//! Golden tests with the real Engine 1 models: structure of results, word
//! boxes, run-together words split, rotated input, and bad input.

mod common;

use common::{data_dir, engine1};
use ocr_engine::{EngineError, RecognizeOptions};

fn read(path: &str) -> Vec<u8> {
    std::fs::read(data_dir().join(path)).expect("corpus image")
}

#[test]
fn a_text_line_reads_exactly_with_word_boxes_in_order() {
    let pages = engine1().recognize_bytes(&read("lines/book_1113_010043.png"), &RecognizeOptions::default()).unwrap();
    assert_eq!(pages.len(), 1);
    let page = &pages[0];
    let truth = std::fs::read_to_string(data_dir().join("lines/book_1113_010043.gt.txt")).unwrap();
    assert_eq!(page.text(), truth.trim());
    let words: Vec<_> = page.words().collect();
    assert_eq!(words.len(), truth.split_whitespace().count());
    for pair in words.windows(2) {
        assert!(pair[0].bbox.left < pair[1].bbox.left, "words out of order: {:?}", pair);
        assert!(pair[0].bbox.right() <= pair[1].bbox.left + 2.0, "word boxes overlap: {:?}", pair);
    }
    for w in &words {
        assert!(w.confidence > 0.5 && w.confidence <= 1.0);
        assert!(w.bbox.left >= 0.0 && w.bbox.right() <= page.width as f32 + 0.5);
        assert!(w.bbox.top >= 0.0 && w.bbox.bottom() <= page.height as f32 + 0.5);
        let n = w.bbox.normalised(page.width, page.height);
        assert!(n.iter().all(|v| (0.0..=1.0).contains(v)) && n[0] < n[2] && n[1] < n[3]);
    }
}

#[test]
fn run_together_words_on_a_receipt_are_split() {
    // The recogniser reads "SANYU SUPPLY SDN BHD" as one token; the blank
    // columns between the words split it again.
    let pages = engine1().recognize_bytes(&read("receipts/503.jpg"), &RecognizeOptions::default()).unwrap();
    let text = pages[0].text();
    assert!(text.contains("SANYU SUPPLY SDN BHD"), "{text}");
    assert!(text.contains("CASH SALES COUNTER"), "{text}");
}

#[test]
fn a_line_turned_a_quarter_is_read_upright() {
    // book_1150_010008.png is a text line standing on its end (35 x 916).
    let pages = engine1().recognize_bytes(&read("lines/book_1150_010008.png"), &RecognizeOptions::default()).unwrap();
    let truth = std::fs::read_to_string(data_dir().join("lines/book_1150_010008.gt.txt")).unwrap();
    assert_eq!(pages[0].rotation, 90);
    assert_eq!((pages[0].width, pages[0].height), (916, 35));
    assert_eq!(pages[0].text(), truth.trim());
}

#[test]
fn bad_input_gives_typed_errors() {
    let engine = engine1();
    let opts = RecognizeOptions::default();
    assert!(matches!(engine.recognize_bytes(&[], &opts), Err(EngineError::EmptyInput)));
    assert!(matches!(engine.recognize_bytes(b"garbage bytes", &opts), Err(EngineError::UnsupportedFormat)));
    let jpeg = read("receipts/517.jpg");
    assert!(matches!(engine.recognize_bytes(&jpeg[..jpeg.len() / 3], &opts), Err(EngineError::Decode(_))));
}

#[test]
fn a_blank_page_has_no_text() {
    let mut png = Vec::new();
    image::RgbImage::from_pixel(300, 200, image::Rgb([255, 255, 255]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let pages = engine1().recognize_bytes(&png, &RecognizeOptions::default()).unwrap();
    assert_eq!(pages.len(), 1);
    assert!(pages[0].blocks.is_empty());
}
