//! Writer tests: real receipt JPEGs with word boxes from ground truth,
//! checked with poppler and qpdf through `pdfcheck.py`.

mod common;

use common::{pdfcheck, receipt_jpeg, receipt_lines, receipt_path, split_line};
use ocr_pdf::{write_searchable_pdf, PageImage, PdfError, PdfPage, TextLayer, TextLine, TextWord};

const DPI: f32 = 300.0;

fn receipt_page(n: u32, lines: usize) -> PdfPage {
    PdfPage { image: PageImage::jpeg(receipt_jpeg(n)).unwrap().with_dpi(DPI, DPI), lines: receipt_lines(n, lines) }
}

#[test]
fn hidden_layer_on_a_receipt_passes_pdfcheck() {
    let page = receipt_page(503, 12);
    let pdf = write_searchable_pdf(std::slice::from_ref(&page), TextLayer::Hidden).unwrap();
    pdfcheck(&pdf, &[page.lines], DPI, "hidden", Some(&receipt_path(503)));
}

#[test]
fn visible_layer_on_a_receipt_passes_pdfcheck() {
    let page = receipt_page(504, 12);
    let pdf = write_searchable_pdf(std::slice::from_ref(&page), TextLayer::Visible).unwrap();
    pdfcheck(&pdf, &[page.lines], DPI, "visible", Some(&receipt_path(504)));
}

#[test]
fn three_page_document_passes_pdfcheck() {
    let pages: Vec<PdfPage> = [505, 506, 507].iter().map(|&n| receipt_page(n, 10)).collect();
    let pdf = write_searchable_pdf(&pages, TextLayer::Hidden).unwrap();
    let lines: Vec<Vec<TextLine>> = pages.iter().map(|p| p.lines.clone()).collect();
    pdfcheck(&pdf, &lines, DPI, "hidden", Some(&receipt_path(505)));
}

fn unicode_page() -> PdfPage {
    let mut lines = receipt_lines(503, 3);
    lines.push(TextLine { words: split_line("漢字テスト Größe 𝄞clef café", 60.0, 600.0, 560.0, 640.0) });
    PdfPage { image: PageImage::jpeg(receipt_jpeg(503)).unwrap().with_dpi(DPI, DPI), lines }
}

#[test]
fn cjk_accented_and_non_bmp_words_extract_hidden() {
    let page = unicode_page();
    let pdf = write_searchable_pdf(std::slice::from_ref(&page), TextLayer::Hidden).unwrap();
    pdfcheck(&pdf, &[page.lines], DPI, "hidden", Some(&receipt_path(503)));
}

#[test]
fn cjk_accented_and_non_bmp_words_extract_visible() {
    let page = unicode_page();
    let pdf = write_searchable_pdf(std::slice::from_ref(&page), TextLayer::Visible).unwrap();
    pdfcheck(&pdf, &[page.lines], DPI, "visible", Some(&receipt_path(503)));
}

#[test]
fn raw_gray_rgb_and_bilevel_images_pass_pdfcheck() {
    let (w, h) = (400u32, 200u32);
    let gray: Vec<u8> = (0..w * h).map(|i| (i % 251) as u8).collect();
    let bw: Vec<u8> = (0..w * h).map(|i| if (i / 7) % 2 == 0 { 0 } else { 255 }).collect();
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i % 253) as u8).collect();
    let packed = vec![0b1010_1010u8; (w as usize).div_ceil(8) * h as usize];
    let words = || vec![TextLine { words: split_line("Hello raw world", 20.0, 50.0, 380.0, 90.0) }];
    let pages = vec![
        PdfPage { image: PageImage::gray(w, h, gray).unwrap(), lines: words() },
        PdfPage { image: PageImage::gray(w, h, bw).unwrap(), lines: words() },
        PdfPage { image: PageImage::rgb(w, h, rgb).unwrap(), lines: words() },
        PdfPage { image: PageImage::bilevel(w, h, packed).unwrap(), lines: words() },
    ];
    let pdf = write_searchable_pdf(&pages, TextLayer::Hidden).unwrap();
    let lines: Vec<Vec<TextLine>> = pages.iter().map(|p| p.lines.clone()).collect();
    let report = pdfcheck(&pdf, &lines, ocr_pdf::DEFAULT_DPI, "hidden", None);
    assert!(report.contains("4 image(s)"), "{report}");
}

#[test]
fn output_is_deterministic_and_skips_empty_words() {
    let mut page = receipt_page(503, 5);
    page.lines[0].words.push(TextWord { text: " \u{7} ".into(), left: 1.0, top: 1.0, width: 5.0, height: 5.0 });
    let a = write_searchable_pdf(std::slice::from_ref(&page), TextLayer::Hidden).unwrap();
    let b = write_searchable_pdf(std::slice::from_ref(&page), TextLayer::Hidden).unwrap();
    assert_eq!(a, b);
}

#[test]
fn invalid_input_is_an_error() {
    assert!(matches!(write_searchable_pdf(&[], TextLayer::Hidden), Err(PdfError::NoPages)));
    assert!(matches!(PageImage::jpeg(b"not a jpeg".to_vec()), Err(PdfError::InvalidImage(_))));
    let mut page = receipt_page(503, 2);
    page.lines[0].words[0].width = f32::NAN;
    let err = write_searchable_pdf(std::slice::from_ref(&page), TextLayer::Hidden).unwrap_err();
    assert!(matches!(err, PdfError::InvalidWord { page: 1, .. }), "{err}");
    page.lines[0].words[0].width = -3.0;
    assert!(write_searchable_pdf(std::slice::from_ref(&page), TextLayer::Hidden).is_err());
    // Boxes outside the image are clamped, not rejected.
    page.lines[0].words[0].width = 5000.0;
    page.lines[0].words[0].left = -20.0;
    assert!(write_searchable_pdf(std::slice::from_ref(&page), TextLayer::Hidden).is_ok());
}
