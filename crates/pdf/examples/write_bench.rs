//! Times writing a 10-page searchable PDF from a receipt JPEG with about 150
//! words per page, and prints the size the PDF adds on top of the JPEGs.
//!
//! `cargo run --release -p ocr-pdf --example write_bench [-- path/to/receipt.jpg]`

use std::time::Instant;

use ocr_pdf::{write_searchable_pdf, PageImage, PdfPage, TextLayer, TextLine, TextWord};

const PAGES: usize = 10;
const LINES: usize = 30;
const WORDS_PER_LINE: usize = 5;

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/receipts/503.jpg").to_owned());
    let jpeg = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let image = PageImage::jpeg(jpeg.clone()).expect("a JPEG");
    let (w, h) = (image.width() as f32, image.height() as f32);
    let words = ["TOTAL", "RM", "3.90", "Cash", "Change", "GST", "Qty", "Item", "ÉTÉ", "漢字"];
    let lines: Vec<TextLine> = (0..LINES)
        .map(|l| {
            let top = h * l as f32 / LINES as f32;
            let cell = w / WORDS_PER_LINE as f32;
            let words = (0..WORDS_PER_LINE)
                .map(|i| TextWord {
                    text: format!("{}{}", words[(l + i) % words.len()], l * WORDS_PER_LINE + i),
                    left: i as f32 * cell,
                    top,
                    width: cell * 0.8,
                    height: h / LINES as f32 * 0.8,
                })
                .collect();
            TextLine { words }
        })
        .collect();
    let pages: Vec<PdfPage> = (0..PAGES).map(|_| PdfPage { image: image.clone(), lines: lines.clone() }).collect();

    for layer in [TextLayer::Hidden, TextLayer::Visible] {
        let runs = 20;
        let start = Instant::now();
        let mut size = 0;
        for _ in 0..runs {
            size = write_searchable_pdf(&pages, layer).expect("write").len();
        }
        let per_doc = start.elapsed() / runs;
        let overhead = (size - PAGES * jpeg.len()) as f64 / PAGES as f64;
        println!(
            "{layer:?}: {PAGES} pages × {} words: {:.2} ms per document ({:.3} ms/page), {size} bytes, \
             {overhead:.0} bytes/page over the {}-byte JPEG",
            LINES * WORDS_PER_LINE,
            per_doc.as_secs_f64() * 1e3,
            per_doc.as_secs_f64() * 1e3 / PAGES as f64,
            jpeg.len(),
        );
    }
}
