//! Key-information extraction (`ocr_api::kie`): made-up invoices, built as
//! OCR results and rendered then read by Engine 1, have every field checked;
//! on the 25 development receipts the per-field rates stay within recorded
//! bounds.

#[path = "../../engine/tests/fonts/mod.rs"]
mod fonts;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ocr_api::kie::eval::{score, KeyFields, Tally};
use ocr_api::kie::{extract_fields, extract_fields_with, ExtractedField, KieOptions};
use ocr_engine::{Block, BoundingBox, EngineConfig, Line, ModelSet, OcrEngine, PageResult, RecognizeOptions, Word};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

fn models_dir() -> PathBuf {
    std::env::var_os("OCR_MODELS_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("models"))
}

fn data_dir() -> PathBuf {
    let dir = std::env::var_os("OCR_DATA_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("../shared/data"));
    assert!(dir.is_dir(), "the test corpus is not at {}: set OCR_DATA_DIR to the folder holding receipts/ and lines/ (default: ../shared/data beside the repository)", dir.display());
    dir
}

fn engine1() -> &'static OcrEngine {
    static ENGINE: OnceLock<OcrEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let set = ModelSet::engine1(models_dir());
        assert!(set.is_installed(), "Engine 1 models missing in {}: run scripts/fetch-models", models_dir().display());
        OcrEngine::load(&set, EngineConfig::engine1()).expect("engine 1 loads")
    })
}

/// An OCR result of text placed at `(x, y)` with text height `h` (pixels of a 1000 × 1400 page); each entry is
/// one OCR line, its words spaced as a proportional font would be.
fn page(rows: &[(f32, f32, f32, &str)]) -> PageResult {
    let lines = rows
        .iter()
        .map(|&(x, y, h, text)| {
            let mut left = x;
            let words = text
                .split_whitespace()
                .map(|w| {
                    let width = 0.55 * h * w.chars().count() as f32;
                    let bbox = BoundingBox { left, top: y, width, height: h };
                    left += width + 0.35 * h;
                    Word { text: w.to_string(), confidence: 0.98, detection_score: 0.9, bbox, quad: bbox.quad() }
                })
                .collect();
            Line::new(words)
        })
        .collect();
    PageResult { width: 1000, height: 1400, rotation: 0, blocks: vec![Block::new(lines)] }
}

fn values<'a>(fields: &'a [ExtractedField], field_type: &str) -> Vec<&'a str> {
    let field = fields.iter().find(|f| f.field_type == field_type).unwrap_or_else(|| panic!("no field {field_type}"));
    field.values.iter().map(|v| v.value.as_str()).collect()
}

fn first<'a>(fields: &'a [ExtractedField], field_type: &str) -> &'a str {
    values(fields, field_type).first().copied().unwrap_or("")
}

/// A British invoice: labels on the left, amounts in a right-hand column (separate OCR lines on the same row),
/// a customer block, a due date and a payment line as distractors.
const UK_INVOICE: [(f32, f32, f32, &str); 24] = [
    (60.0, 60.0, 44.0, "Northwind Tools Ltd"),
    (60.0, 120.0, 22.0, "Unit 4, 27 Harbour Road"),
    (60.0, 150.0, 22.0, "Bristol BS1 5TR"),
    (60.0, 180.0, 22.0, "Tel: +44 117 496 0321"),
    (60.0, 210.0, 22.0, "Email: accounts@northwind-tools.co.uk"),
    (60.0, 240.0, 22.0, "www.northwind-tools.co.uk"),
    (60.0, 270.0, 22.0, "VAT Reg No: GB 284 6614 27"),
    (700.0, 60.0, 36.0, "INVOICE"),
    (600.0, 120.0, 22.0, "Invoice No: NW-2024-0381"),
    (600.0, 150.0, 22.0, "Invoice Date: 14/03/2024"),
    (600.0, 180.0, 22.0, "Due Date: 13/04/2024"),
    (60.0, 340.0, 22.0, "Bill To:"),
    (60.0, 370.0, 22.0, "Harbour Cafe"),
    (60.0, 400.0, 22.0, "9 Quay Street, Bristol BS1 4QA"),
    (60.0, 480.0, 22.0, "2 x Cordless drill 18V"),
    (800.0, 480.0, 22.0, "£180.00"),
    (60.0, 520.0, 22.0, "Subtotal"),
    (800.0, 520.0, 22.0, "£180.00"),
    (60.0, 550.0, 22.0, "VAT 20%"),
    (800.0, 550.0, 22.0, "£36.00"),
    (60.0, 580.0, 22.0, "Total due"),
    (800.0, 580.0, 22.0, "£216.00"),
    (60.0, 640.0, 22.0, "Paid by card: £216.00 Change £0.00"),
    (60.0, 670.0, 22.0, "Issued 14 March 2024 at 10:25"),
];

#[test]
fn every_field_of_a_made_up_invoice_is_extracted() {
    let fields = extract_fields(&[page(&UK_INVOICE)]);
    assert_eq!(first(&fields, "company"), "Northwind Tools Ltd");
    assert_eq!(first(&fields, "address"), "Unit 4, 27 Harbour Road Bristol BS1 5TR");
    assert_eq!(values(&fields, "phone"), ["+441174960321"]);
    assert_eq!(values(&fields, "email"), ["accounts@northwind-tools.co.uk"]);
    assert_eq!(values(&fields, "url"), ["www.northwind-tools.co.uk"]);
    assert_eq!(values(&fields, "tax_id"), ["GB284661427"]);
    assert_eq!(first(&fields, "invoice_number"), "NW-2024-0381");
    assert_eq!(first(&fields, "date"), "2024-03-14", "the invoice date, not the due date");
    assert_eq!(first(&fields, "time"), "10:25");
    assert_eq!(first(&fields, "subtotal"), "180.00");
    assert_eq!(first(&fields, "tax"), "36.00");
    assert_eq!(first(&fields, "total"), "216.00");
    assert_eq!(first(&fields, "currency"), "GBP");
    // Geometry: the total's box is the right-hand amount on the "Total due" row, page 0.
    let total = &fields.iter().find(|f| f.field_type == "total").unwrap().values[0];
    assert_eq!(total.page, 0);
    assert!(
        (total.geometry[0] - 0.8).abs() < 0.01 && (total.geometry[1] - 580.0 / 1400.0).abs() < 0.01,
        "{:?}",
        total.geometry
    );
    assert!(total.confidence > 0.5 && total.confidence <= 1.0);
}

#[test]
fn every_field_type_is_reported_even_when_empty() {
    let fields = extract_fields(&[page(&[(60.0, 60.0, 22.0, "0042 - 7")])]);
    let types: Vec<&str> = fields.iter().map(|f| f.field_type.as_str()).collect();
    assert_eq!(types, ocr_api::kie::FIELD_TYPES);
    assert!(fields.iter().all(|f| f.values.is_empty()), "{fields:?}");
    assert!(extract_fields(&[]).iter().all(|f| f.values.is_empty()));
}

/// A US receipt: dollars, a month-first date, stacked label and amount, a grand total after rounding.
const US_RECEIPT: [(f32, f32, f32, &str); 14] = [
    (300.0, 40.0, 40.0, "BLUE HERON DELI"),
    (300.0, 95.0, 22.0, "1480 Mission Street"),
    (300.0, 125.0, 22.0, "San Francisco, CA 94103"),
    (300.0, 155.0, 22.0, "(415) 555-0142"),
    (100.0, 220.0, 22.0, "Receipt # 20931"),
    (100.0, 250.0, 22.0, "03/04/2024 7:42 PM"),
    (100.0, 320.0, 22.0, "Pastrami on rye 14.50"),
    (100.0, 350.0, 22.0, "Iced tea 3.25"),
    (100.0, 390.0, 22.0, "Subtotal 17.75"),
    (100.0, 420.0, 22.0, "Sales Tax 1.53"),
    (100.0, 450.0, 22.0, "TOTAL QTY 2"),
    (100.0, 480.0, 26.0, "TOTAL"),
    (100.0, 512.0, 26.0, "$19.28"),
    (100.0, 560.0, 22.0, "CASH $20.00 CHANGE $0.72"),
];

#[test]
fn a_made_up_receipt_with_ambiguous_date_needs_the_locale() {
    let pages = [page(&US_RECEIPT)];
    let fields = extract_fields(&pages);
    assert_eq!(first(&fields, "company"), "BLUE HERON DELI");
    assert_eq!(first(&fields, "address"), "1480 Mission Street San Francisco, CA 94103");
    assert_eq!(first(&fields, "total"), "19.28", "label above its amount; not the count, not the cash");
    assert_eq!(first(&fields, "subtotal"), "17.75");
    assert_eq!(first(&fields, "tax"), "1.53");
    assert_eq!(first(&fields, "currency"), "USD");
    assert_eq!(first(&fields, "invoice_number"), "20931");
    assert_eq!(values(&fields, "phone"), ["4155550142"]);
    assert_eq!(first(&fields, "time"), "19:42");
    // 03/04 could be 3 April or 4 March: the dollar amounts make it US (month first) unless the caller says.
    assert_eq!(first(&fields, "date"), "2024-03-04");
    let uk = extract_fields_with(&pages, &KieOptions { day_first: Some(true) });
    assert_eq!(first(&uk, "date"), "2024-04-03");
    // With nothing on the page to decide, the date is reported as printed, with a lower confidence.
    let bare = [page(&[(60.0, 60.0, 30.0, "Corner Kiosk"), (60.0, 120.0, 22.0, "Date: 03/04/2024")])];
    let fields = extract_fields(&bare);
    assert_eq!(first(&fields, "date"), "03/04/2024");
    assert!(fields[0].values[0].confidence < 0.6);
    let us = extract_fields_with(&bare, &KieOptions { day_first: Some(false) });
    assert_eq!(first(&us, "date"), "2024-03-04");
    assert!(us[0].values[0].confidence > 0.9);
}

#[test]
fn a_rounding_adjustment_after_the_total_is_added() {
    let rows = [
        (100.0, 40.0, 36.0, "Kopi Corner Sdn Bhd"),
        (100.0, 100.0, 22.0, "Bread and butter RM 21.83"),
        (100.0, 140.0, 22.0, "Total incl. SST RM 21.83"),
        (100.0, 170.0, 22.0, "Rounding -0.03"),
        (100.0, 200.0, 22.0, "Cash RM 30.00"),
        (100.0, 230.0, 22.0, "Change RM 8.20"),
    ];
    let fields = extract_fields(&[page(&rows)]);
    assert_eq!(first(&fields, "total"), "21.80");
    assert_eq!(first(&fields, "currency"), "MYR");
    // A final total printed after the rounding is taken as it is.
    let mut with_final = rows.to_vec();
    with_final.insert(4, (100.0, 185.0, 22.0, "Grand Total RM 21.85"));
    assert_eq!(first(&extract_fields(&[page(&with_final)]), "total"), "21.85");
}

/// Renders `rows` (text, x, baseline, em size) onto a white page.
fn render(rows: &[(&str, f32, f32, f32)], width: u32, height: u32) -> Vec<u8> {
    let mut canvas = fonts::Canvas::new(width, height);
    for &(text, x, baseline, em) in rows {
        let font = fonts::SizedFont::new(if em > 40.0 { fonts::DEJAVU_BOLD } else { fonts::DEJAVU }, em);
        canvas.draw(&font, text, x, baseline, false);
    }
    let mut png = Vec::new();
    canvas.into_image().write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).expect("encode png");
    png
}

#[test]
fn a_rendered_invoice_read_by_engine_1_gives_its_fields() {
    let rows = [
        ("Kestrel Print Works GmbH", 60.0, 90.0, 48.0),
        ("Hafenstrasse 12", 60.0, 150.0, 26.0),
        ("20457 Hamburg", 60.0, 190.0, 26.0),
        ("Phone: +49 40 5551 2398", 60.0, 230.0, 26.0),
        ("info@kestrel-print.de", 60.0, 270.0, 26.0),
        ("https://kestrel-print.de", 60.0, 310.0, 26.0),
        ("VAT ID: DE 318 552 904", 60.0, 350.0, 26.0),
        ("INVOICE", 900.0, 90.0, 44.0),
        ("Invoice No: KP-7731", 800.0, 150.0, 26.0),
        ("Date: 27.08.2024", 800.0, 190.0, 26.0),
        ("500 business cards", 60.0, 450.0, 26.0),
        ("89.50", 1040.0, 450.0, 26.0),
        ("Net amount", 60.0, 520.0, 26.0),
        ("89.50", 1040.0, 520.0, 26.0),
        ("VAT 19%", 60.0, 560.0, 26.0),
        ("17.01", 1040.0, 560.0, 26.0),
        ("Total EUR", 60.0, 600.0, 26.0),
        ("106.51", 1025.0, 600.0, 26.0),
    ];
    let png = render(&rows, 1240, 700);
    let pages = engine1().recognize_bytes(&png, &RecognizeOptions::default()).expect("ocr");
    let fields = extract_fields(&pages);
    let text: Vec<String> = pages.iter().map(PageResult::text).collect();
    let ctx = format!("OCR text:\n{}\nfields: {fields:?}", text.join("\n"));
    assert_eq!(first(&fields, "company"), "Kestrel Print Works GmbH", "{ctx}");
    assert_eq!(first(&fields, "invoice_number"), "KP-7731", "{ctx}");
    assert_eq!(values(&fields, "tax_id"), ["DE318552904"], "{ctx}");
    assert_eq!(values(&fields, "email"), ["info@kestrel-print.de"], "{ctx}");
    assert_eq!(values(&fields, "url"), ["https://kestrel-print.de"], "{ctx}");
    assert_eq!(values(&fields, "phone"), ["+494055512398"], "{ctx}");
    assert_eq!(first(&fields, "date"), "2024-08-27", "{ctx}");
    assert_eq!(first(&fields, "total"), "106.51", "{ctx}");
    assert_eq!(first(&fields, "subtotal"), "89.50", "{ctx}");
    assert_eq!(first(&fields, "tax"), "17.01", "{ctx}");
    assert_eq!(first(&fields, "currency"), "EUR", "{ctx}");
}

// Engine 1 on the 25 development receipts (Malaysian, SROIE-style), no locale hint. Measured: company 0.64 exact
// (the right line on 0.96: misread characters make the rest), date 0.96, total 0.92, address token F1 0.940. Each
// bound is one receipt (0.04) below, 0.02 for the F1. Engine 2, /kie's default, does better on the same rules (see
// docs/api.md; `cargo run --release -p ocr-api --example kie_eval -- --engine 2`) but takes longer in a debug test.
#[test]
fn receipt_fields_stay_within_recorded_bounds() {
    let dir = data_dir().join("receipts");
    let mut images: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    images.sort();
    assert_eq!(images.len(), 25, "expected the 25 development receipts in {}", dir.display());
    let mut tally = Tally::default();
    for path in &images {
        let pages =
            engine1().recognize_bytes(&std::fs::read(path).expect("read"), &RecognizeOptions::default()).expect("ocr");
        let key = KeyFields::from_json(&std::fs::read_to_string(path.with_extension("key.json")).expect("key"))
            .expect("key json");
        tally.add(&score(&extract_fields(&pages), &key));
    }
    eprintln!(
        "engine 1 receipts: company {:.2} (right line {:.2}), date {:.2}, total {:.2}, address token F1 {:.3}",
        tally.company_rate(),
        tally.company_close_rate(),
        tally.date_rate(),
        tally.total_rate(),
        tally.address_f1()
    );
    assert!(tally.total_rate() >= 0.88, "total {:.2} below 0.88", tally.total_rate());
    assert!(tally.date_rate() >= 0.92, "date {:.2} below 0.92", tally.date_rate());
    assert!(tally.company_rate() >= 0.60, "company {:.2} below 0.60", tally.company_rate());
    assert!(tally.company_close_rate() >= 0.92, "company line {:.2} below 0.92", tally.company_close_rate());
    assert!(tally.address_f1() >= 0.92, "address token F1 {:.3} below 0.92", tally.address_f1());
}
