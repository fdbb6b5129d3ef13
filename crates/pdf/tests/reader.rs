//! Reader tests: round trips through the writer, hand-made PDFs (built with
//! lopdf), encrypted files made with qpdf, and malformed input.

mod common;

use std::process::Command;

use common::{receipt_jpeg, receipt_lines, require_tools};
use lopdf::{dictionary, Document, Object, Stream};
use ocr_pdf::{
    page_count, read_pages, write_searchable_pdf, ImageData, InputPage, PageImage, PdfError, PdfPage, ReadLimits,
    TextLayer, TextLine, TextWord,
};

const DPI: f32 = 300.0;

fn receipt_page(n: u32, lines: usize) -> PdfPage {
    PdfPage { image: PageImage::jpeg(receipt_jpeg(n)).unwrap().with_dpi(DPI, DPI), lines: receipt_lines(n, lines) }
}

fn limits() -> ReadLimits {
    ReadLimits { dpi: 72.0, ..ReadLimits::default() }
}

fn iou(a: &TextWord, b: &TextWord) -> f32 {
    let ix = (a.right().min(b.right()) - a.left.max(b.left)).max(0.0);
    let iy = (a.bottom().min(b.bottom()) - a.top.max(b.top)).max(0.0);
    let inter = ix * iy;
    inter / (a.width * a.height + b.width * b.height - inter)
}

/// A PDF whose pages have the given size (points), content stream and resources.
fn hand_made(pages: &[(f32, f32, &str, lopdf::Dictionary)]) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut kids = Vec::new();
    for (w, h, content, resources) in pages {
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.as_bytes().to_vec()));
        let page = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), Object::Real(*w), Object::Real(*h)],
            "Resources" => resources.clone(), "Contents" => content_id,
        });
        kids.push(page.into());
    }
    let count = kids.len() as i64;
    doc.objects.insert(pages_id, dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }.into());
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn helvetica() -> lopdf::Dictionary {
    dictionary! { "Font" => dictionary! { "F1" => dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
    } } }
}

fn vector_page() -> (f32, f32, &'static str, lopdf::Dictionary) {
    (200.0, 100.0, "0 0 1 rg 20 20 100 50 re f", dictionary! {})
}

#[test]
fn visible_layer_reads_back_as_text_with_the_same_words() {
    let page = receipt_page(503, 12);
    let pdf = write_searchable_pdf(std::slice::from_ref(&page), TextLayer::Visible).unwrap();
    let pages = read_pages(&pdf, &limits()).unwrap();
    assert_eq!(pages.len(), 1);
    let InputPage::Text { width_pt, height_pt, lines } = &pages[0] else {
        panic!("expected text, got {}", pages[0].kind());
    };
    assert!((width_pt - 623.0 * 72.0 / DPI).abs() < 0.01, "{width_pt}");
    assert!((height_pt - 1511.0 * 72.0 / DPI).abs() < 0.01, "{height_pt}");
    let got: Vec<&TextWord> = lines.iter().flat_map(|l| &l.words).collect();
    let want: Vec<TextWord> = page
        .lines
        .iter()
        .flat_map(|l| &l.words)
        .map(|w| {
            let s = 72.0 / DPI;
            TextWord {
                text: w.text.clone(),
                left: w.left * s,
                top: w.top * s,
                width: w.width * s,
                height: w.height * s,
            }
        })
        .collect();
    let got_text: Vec<&str> = got.iter().map(|w| w.text.as_str()).collect();
    let want_text: Vec<&str> = want.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(got_text, want_text);
    assert_eq!(lines.len(), page.lines.len());
    let ious: Vec<f32> = got.iter().zip(&want).map(|(g, w)| iou(g, w)).collect();
    let min = ious.iter().copied().fold(1.0, f32::min);
    let mean = ious.iter().sum::<f32>() / ious.len() as f32;
    println!("round trip: {} words, IoU mean {mean:.3} min {min:.3}", ious.len());
    assert!(min >= 0.5, "IoU {ious:?}");
}

#[test]
fn hidden_sandwich_reads_back_as_the_embedded_jpeg() {
    // Documented choice: an invisible (OCR) text layer is ignored, the scan is re-OCR'd.
    let page = receipt_page(504, 8);
    let pdf = write_searchable_pdf(std::slice::from_ref(&page), TextLayer::Hidden).unwrap();
    let pages = read_pages(&pdf, &limits()).unwrap();
    let InputPage::EmbeddedImage { image, .. } = &pages[0] else {
        panic!("expected image, got {}", pages[0].kind());
    };
    assert!(matches!(image.data(), ImageData::Jpeg { bytes, .. } if *bytes == receipt_jpeg(504)));
}

#[test]
fn scanned_pdf_gives_identical_jpeg_bytes_and_its_dpi() {
    let pages: Vec<PdfPage> = [505, 506]
        .iter()
        .map(|&n| PdfPage { image: PageImage::jpeg(receipt_jpeg(n)).unwrap().with_dpi(200.0, 200.0), lines: vec![] })
        .collect();
    let pdf = write_searchable_pdf(&pages, TextLayer::Hidden).unwrap();
    let read = read_pages(&pdf, &limits()).unwrap();
    for (page, n) in read.iter().zip([505, 506]) {
        let InputPage::EmbeddedImage { image, width_pt, .. } = page else {
            panic!("expected image, got {}", page.kind());
        };
        let ImageData::Jpeg { bytes, components, .. } = image.data() else { panic!("not a JPEG") };
        assert!(*bytes == receipt_jpeg(n), "JPEG of {n} changed");
        assert_eq!(*components, 3);
        let (dx, dy) = image.dpi().unwrap();
        assert!((dx - 200.0).abs() < 0.1 && (dy - 200.0).abs() < 0.1, "{dx} {dy}");
        assert!((width_pt - image.width() as f32 * 72.0 / 200.0).abs() < 0.01);
    }
}

#[test]
fn raw_image_page_reads_back_as_decoded_pixels() {
    let (w, h) = (64u32, 32u32);
    let gray: Vec<u8> = (0..w * h).map(|i| (i * 7 % 256) as u8).collect();
    let pdf = write_searchable_pdf(
        &[PdfPage { image: PageImage::gray(w, h, gray.clone()).unwrap(), lines: vec![] }],
        TextLayer::Hidden,
    )
    .unwrap();
    let InputPage::EmbeddedImage { image, .. } = &read_pages(&pdf, &limits()).unwrap()[0] else {
        panic!("expected image");
    };
    assert_eq!((image.width(), image.height()), (w, h));
    assert_eq!(image.data(), &ImageData::Gray(gray));
}

#[test]
fn born_digital_helvetica_page_is_text() {
    let content = "BT /F1 12 Tf 72 700 Td (Hello world,) Tj 0 -20 Td [(Second) -250 (line)] TJ ET";
    let pdf = hand_made(&[(612.0, 792.0, content, helvetica())]);
    let pages = read_pages(&pdf, &limits()).unwrap();
    let InputPage::Text { lines, .. } = &pages[0] else { panic!("expected text, got {}", pages[0].kind()) };
    let texts: Vec<String> = lines.iter().map(TextLine::text).collect();
    assert_eq!(texts, ["Hello world,", "Second line"]);
    let hello = &lines[0].words[0];
    // Baseline at 792 - 700 = 92 pt from the top; 12 pt type.
    assert!((hello.left - 72.0).abs() < 0.5, "{hello:?}");
    assert!(hello.top < 92.0 && hello.bottom() > 92.0, "{hello:?}");
}

#[test]
fn vector_page_is_rasterised_at_the_requested_dpi() {
    let pdf = hand_made(&[vector_page()]);
    let lim = ReadLimits { dpi: 144.0, ..ReadLimits::default() };
    let pages = read_pages(&pdf, &lim).unwrap();
    let InputPage::Raster { width, height, pixels, dpi } = &pages[0] else {
        panic!("expected raster, got {}", pages[0].kind());
    };
    assert_eq!((*width, *height, *dpi), (400, 200, 144.0));
    assert_eq!(pixels.len(), 400 * 200 * 3);
    let px = |x: usize, y: usize| &pixels[(y * 400 + x) * 3..][..3];
    assert_eq!(px(5, 5), [255, 255, 255]); // background
    assert_eq!(px(100, 100), [0, 0, 255]); // inside the blue rectangle (y flipped)
}

#[test]
fn empty_page_is_text_without_lines() {
    let pdf = hand_made(&[(100.0, 100.0, "", dictionary! {})]);
    assert_eq!(
        read_pages(&pdf, &limits()).unwrap(),
        [InputPage::Text { width_pt: 100.0, height_pt: 100.0, lines: vec![] }]
    );
}

#[test]
fn page_count_and_page_limit_come_before_rendering() {
    let pdf = hand_made(&[vector_page(), vector_page(), vector_page()]);
    assert_eq!(page_count(&pdf).unwrap(), 3);
    // Rendering page 1 would fail on the pixel limit; the page limit is seen first.
    let lim = ReadLimits { max_pages: 2, max_pixels_per_page: 1, ..ReadLimits::default() };
    assert!(matches!(read_pages(&pdf, &lim), Err(PdfError::TooManyPages { pages: 3, max: 2 })));
    let lim = ReadLimits { max_pixels_per_page: 1000, ..ReadLimits::default() };
    assert!(matches!(read_pages(&pdf, &lim), Err(PdfError::PageTooLarge { page: 1, .. })));
    let lim = ReadLimits { max_bytes: 10, ..ReadLimits::default() };
    assert!(matches!(read_pages(&pdf, &lim), Err(PdfError::TooLarge { .. })));
    let lim = ReadLimits { dpi: f32::NAN, ..ReadLimits::default() };
    assert!(matches!(read_pages(&pdf, &lim), Err(PdfError::InvalidLimits(_))));
}

#[test]
fn malformed_input_gives_errors_not_panics() {
    for bad in [
        &b""[..],
        b"garbage",
        b"%PDF-1.7\n",
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
    ] {
        assert!(page_count(bad).is_err(), "{bad:?}");
        assert!(matches!(read_pages(bad, &limits()), Err(PdfError::Malformed(_))), "{bad:?}");
    }
    let page = receipt_page(503, 3);
    let good = write_searchable_pdf(std::slice::from_ref(&page), TextLayer::Visible).unwrap();
    let mut vector = hand_made(&[vector_page(), (100.0, 100.0, "BT /F1 9 Tf (x) Tj ET", helvetica())]);
    for doc in [&good, &mut vector] {
        for cut in (0..doc.len()).step_by(doc.len() / 40 + 1) {
            let _ = page_count(&doc[..cut]);
            let _ = read_pages(&doc[..cut], &limits());
        }
    }
    // Deterministic byte-flip fuzzing of both documents.
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for doc in [good, vector] {
        for _ in 0..60 {
            let mut fuzzed = doc.clone();
            for _ in 0..8 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed % fuzzed.len() as u64) as usize;
                fuzzed[at] = (seed >> 32) as u8;
            }
            let _ = page_count(&fuzzed);
            let _ = read_pages(&fuzzed, &limits());
        }
    }
}

#[test]
fn password_protected_pdf_is_refused_and_empty_password_is_read() {
    require_tools();
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.pdf");
    std::fs::write(&plain, hand_made(&[vector_page()])).unwrap();
    let encrypt = |user: &str, out: &str| {
        let out = dir.path().join(out);
        let status = Command::new("qpdf")
            .args(["--encrypt", user, "owner-secret", "256", "--"])
            .arg(&plain)
            .arg(&out)
            .status()
            .expect("run qpdf");
        assert!(status.success());
        std::fs::read(out).unwrap()
    };
    let locked = encrypt("user-secret", "locked.pdf");
    assert!(matches!(page_count(&locked), Err(PdfError::Encrypted(_))));
    assert!(matches!(read_pages(&locked, &limits()), Err(PdfError::Encrypted(_))));
    let open = encrypt("", "open.pdf");
    assert_eq!(page_count(&open).unwrap(), 1);
    assert_eq!(read_pages(&open, &limits()).unwrap()[0].kind(), "raster");
}

#[test]
fn decompression_bomb_is_refused_before_interpreting() {
    // 24 MiB of spaces in a content stream, about 24 KiB compressed.
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut content = Stream::new(dictionary! {}, vec![b' '; 24 << 20]);
    content.compress().unwrap();
    let content_id = doc.add_object(content);
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "MediaBox" => vec![0.into(), 0.into(), 100.into(), 100.into()],
        "Contents" => content_id,
    });
    doc.objects.insert(pages_id, dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 }.into());
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut pdf = Vec::new();
    doc.save_to(&mut pdf).unwrap();
    assert!(pdf.len() < 1 << 20);
    let lim = ReadLimits { max_pixels_per_page: 1000, ..ReadLimits::default() };
    assert!(matches!(read_pages(&pdf, &lim), Err(PdfError::DecompressionLimit { .. })));
    // With the default limits the same file is fine (an empty page).
    assert_eq!(read_pages(&pdf, &limits()).unwrap()[0].kind(), "text");
}
