//! The docTR-style endpoints (`POST /ocr`, `POST /kie`) and `/openapi.json`
//! on the real application (127.0.0.1:0, real models): the response shape
//! of seeds 000/001, and one test per query parameter that fails when the
//! parameter is ignored.

mod common;
#[path = "../../engine/tests/fonts/mod.rs"]
mod fonts;

use std::io::Cursor;
use std::sync::OnceLock;

use common::{backend_from_env, block_on, client, data, keep_until_exit, TestDb};
use image::{Rgb, RgbImage};
use serde_json::Value;

/// One server for every test of this binary (demo key `helloworld`).
fn server() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| {
        let db = TestDb::new(backend_from_env());
        let settings = db.settings();
        keep_until_exit(db);
        common::start(settings, None)
    })
}

/// POSTs `files` to `endpoint?query` with the demo key in the header.
fn post(endpoint: &str, query: &str, files: Vec<(&str, Vec<u8>)>) -> (u16, Value) {
    post_with_key(endpoint, query, files, Some("helloworld"))
}

fn post_with_key(endpoint: &str, query: &str, files: Vec<(&str, Vec<u8>)>, key: Option<&str>) -> (u16, Value) {
    let mut form = reqwest::blocking::multipart::Form::new();
    for (name, bytes) in files {
        form = form.part("files", reqwest::blocking::multipart::Part::bytes(bytes).file_name(name.to_string()));
    }
    let mut request = client().post(format!("{}{endpoint}?{query}", server())).multipart(form);
    if let Some(key) = key {
        request = request.header("apikey", key);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap())
}

/// `/ocr` on one file; panics unless the answer is 200.
fn ocr(query: &str, name: &str, bytes: Vec<u8>) -> Value {
    let (status, body) = post("/ocr", query, vec![(name, bytes)]);
    assert_eq!(status, 200, "{body}");
    body[0].clone()
}

fn receipt() -> Vec<u8> {
    std::fs::read(data("receipts/517.jpg")).unwrap()
}

fn decoded(bytes: &[u8]) -> RgbImage {
    image::load_from_memory(bytes).unwrap().to_rgb8()
}

fn png(image: &RgbImage) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn line(name: &str) -> (RgbImage, String) {
    let image = decoded(&std::fs::read(data(&format!("lines/{name}.png"))).unwrap());
    let text = std::fs::read_to_string(data(&format!("lines/{name}.gt.txt"))).unwrap();
    (image, text.trim().to_string())
}

/// Every word of a document, in order.
fn words(doc: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for page in doc["pages"].as_array().unwrap() {
        for block in page["blocks"].as_array().unwrap() {
            for line in block["lines"].as_array().unwrap() {
                out.extend(line["words"].as_array().unwrap().iter().cloned());
            }
        }
    }
    out
}

fn text(doc: &Value) -> String {
    words(doc).iter().map(|w| w["value"].as_str().unwrap().to_string()).collect::<Vec<_>>().join(" ")
}

fn lines(doc: &Value) -> Vec<Value> {
    doc["pages"][0]["blocks"].as_array().unwrap().iter().flat_map(|b| b["lines"].as_array().unwrap().clone()).collect()
}

/// Share of `expected`'s words (letters and digits, case-insensitive) found among those of `got`.
fn recall(expected: &str, got: &str) -> f32 {
    let tokens = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).map(str::to_lowercase).collect()
    };
    let (got, wanted) = (tokens(got), tokens(expected));
    wanted.iter().filter(|w| got.contains(w)).count() as f32 / wanted.len().max(1) as f32
}

const RECEIPT_WORDS: &str = "SHOPPING PETALING JAYA SELANGOR TOTAL";

#[test]
fn a_receipt_comes_back_in_the_seeds_shape() {
    let doc = ocr("", "receipt.jpg", receipt());
    assert_eq!(doc["name"], "receipt.jpg");
    assert_eq!(doc["dimensions"], serde_json::json!([984, 612]));
    assert_eq!(doc["orientation"], serde_json::json!({"value": null, "confidence": null}));
    assert_eq!(doc["language"], serde_json::json!({"value": null, "confidence": null}));
    assert_eq!(doc["pages"].as_array().unwrap().len(), 1);
    assert_eq!(doc["pages"][0]["blocks"].as_array().unwrap().len(), 1, "group_blocks is off by default");
    let all = words(&doc);
    assert!(all.len() > 40, "{}", text(&doc));
    assert!(recall(RECEIPT_WORDS, &text(&doc)) >= 0.8, "{}", text(&doc));
    for w in &all {
        let g = w["geometry"].as_array().unwrap();
        assert_eq!(g.len(), 4);
        let g: Vec<f64> = g.iter().map(|v| v.as_f64().unwrap()).collect();
        assert!(g.iter().all(|v| (0.0..=1.0).contains(v)) && g[0] < g[2] && g[1] < g[3], "{w}");
        for key in ["confidence", "detection_score"] {
            let v = w[key].as_f64().unwrap();
            assert!(v > 0.0 && v <= 1.0, "{key}: {w}");
        }
        assert_eq!(w["text_orientation"]["value"], 0, "{w}");
    }
    // Detection scores are the detector's, not the recogniser's.
    assert!(all.iter().any(|w| w["detection_score"] != w["confidence"]));
    for line in lines(&doc) {
        assert!(line["detection_score"].as_f64().unwrap() > 0.0);
        assert_eq!(line["geometry"].as_array().unwrap().len(), 4);
    }
}

#[test]
fn several_files_and_every_pdf_page_are_read() {
    let pdf = three_page_pdf();
    let (status, body) = post("/ocr", "", vec![("receipt.jpg", receipt()), ("three.pdf", pdf)]);
    assert_eq!(status, 200, "{body}");
    let docs = body.as_array().unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[1]["name"], "three.pdf");
    let pages = docs[1]["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 3);
    for (page, name) in pages.iter().zip(PDF_LINES) {
        let doc = serde_json::json!({ "pages": [page] });
        assert!(recall(&line(name).1, &text(&doc)) >= 0.7, "{name}: {}", text(&doc));
    }
}

/// Corpus lines, one per page of [`three_page_pdf`].
const PDF_LINES: [&str; 3] = ["book_1113_010043", "book_1116_010030", "book_1113_010043"];

/// A scanned 3-page PDF: each page shows a corpus line (pages 1 and 3 the
/// same one, at other places).
fn three_page_pdf() -> Vec<u8> {
    let pages: Vec<ocr_pdf::PdfPage> = PDF_LINES
        .iter()
        .enumerate()
        .map(|(n, name)| {
            let mut page = RgbImage::from_pixel(1000, 400, Rgb([255, 255, 255]));
            image::imageops::replace(&mut page, &line(name).0, 40, 60 + 100 * n as i64);
            let gray: Vec<u8> = page.pixels().map(|p| p.0[0]).collect();
            ocr_pdf::PdfPage { image: ocr_pdf::PageImage::gray(1000, 400, gray).unwrap(), lines: Vec::new() }
        })
        .collect();
    ocr_pdf::write_searchable_pdf(&pages, ocr_pdf::TextLayer::Hidden).unwrap()
}

#[test]
fn detection_model_chooses_the_detector_and_maps_doctr_names() {
    let line_png = png(&line("book_1113_010043").0);
    let v4 = ocr("detection_model=pp-ocrv4-mobile&recognition_model=pp-ocrv6-small", "l.png", line_png.clone());
    let v6 = ocr("detection_model=pp-ocrv6-small&recognition_model=pp-ocrv6-small", "l.png", line_png.clone());
    let scores = |d: &Value| words(d).iter().map(|w| w["detection_score"].clone()).collect::<Vec<_>>();
    assert_ne!(scores(&v4), scores(&v6), "the detectors differ");
    let mobile = ocr("detection_model=db_mobilenet_v3_large&recognition_model=pp-ocrv6-small", "l.png", line_png);
    assert_eq!(mobile, v4, "db_mobilenet_v3_large maps to pp-ocrv4-mobile");
    let (status, body) = post("/ocr", "detection_model=yolo", vec![("l.png", receipt())]);
    assert_eq!(status, 422, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("pp-ocrv4-mobile") && detail.contains("db_resnet50"), "{detail}");
}

#[test]
fn recognition_model_chooses_the_recogniser() {
    let line_png = png(&line("book_1113_010043").0);
    let v4 = ocr("detection_model=pp-ocrv6-small&recognition_model=pp-ocrv4-mobile", "l.png", line_png.clone());
    let v6 = ocr("detection_model=pp-ocrv6-small&recognition_model=crnn_vgg16_bn", "l.png", line_png);
    let confidences = |d: &Value| words(d).iter().map(|w| w["confidence"].clone()).collect::<Vec<_>>();
    assert_ne!(confidences(&v4), confidences(&v6), "the recognisers differ");
    let scores = |d: &Value| lines(d).iter().map(|l| l["detection_score"].clone()).collect::<Vec<_>>();
    assert_eq!(scores(&v4), scores(&v6), "one detector");
    let (status, body) = post("/ocr", "recognition_model=trocr", vec![("l.png", receipt())]);
    assert_eq!(status, 422, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("parseq"), "{body}");
}

/// A corpus line turned by 12 degrees on a white page.
fn tilted_line() -> (Vec<u8>, String) {
    let (image, text) = line("book_1113_010043");
    let mut page = RgbImage::from_pixel(1100, 400, Rgb([255, 255, 255]));
    image::imageops::replace(&mut page, &image, 90, 170);
    let (turned, _) = ocr_engine::orientation::rotate_about_centre(&page, 12.0, Rgb([255, 255, 255]));
    (png(&turned), text)
}

#[test]
fn assume_straight_pages_false_gives_polygons_that_follow_the_text() {
    let (bytes, expected) = tilted_line();
    let boxes = ocr("", "t.png", bytes.clone());
    let polygons = ocr("assume_straight_pages=false", "t.png", bytes);
    assert!(recall(&expected, &text(&polygons)) >= 0.5, "{}", text(&polygons));
    for w in words(&boxes) {
        assert!(w["geometry"][0].is_number(), "{w}");
    }
    let tilts: Vec<f64> = words(&polygons)
        .iter()
        .map(|w| {
            let g = &w["geometry"];
            assert_eq!(g.as_array().unwrap().len(), 4, "{w}");
            let (x0, y0) = (g[0][0].as_f64().unwrap() * 1100.0, g[0][1].as_f64().unwrap());
            let (x1, y1) = (g[1][0].as_f64().unwrap() * 1100.0, g[1][1].as_f64().unwrap());
            let height = polygons["dimensions"][0].as_f64().unwrap();
            ((y1 - y0) * height).atan2(x1 - x0).to_degrees().abs()
        })
        .collect();
    let mean = tilts.iter().sum::<f64>() / tilts.len() as f64;
    assert!((8.0..16.0).contains(&mean), "word polygons tilt by {mean:.1} degrees: {tilts:?}");
    let line = &lines(&polygons)[0];
    assert!(line["geometry"][0].is_array(), "{line}");
}

#[test]
fn preserve_aspect_ratio_false_stretches_the_detector_input() {
    let kept = ocr("", "r.jpg", receipt());
    let stretched = ocr("preserve_aspect_ratio=false", "r.jpg", receipt());
    let geometry = |d: &Value| words(d).iter().map(|w| w["geometry"].clone()).collect::<Vec<_>>();
    assert_ne!(geometry(&kept), geometry(&stretched));
    assert!(recall(RECEIPT_WORDS, &text(&stretched)) >= 0.6, "{}", text(&stretched));
}

#[test]
fn symmetric_padding_moves_the_page_within_the_detector_input() {
    // 612 x 984 pixels: padded to 640 x 992, so centring shifts the page.
    let centred = ocr("symmetric_padding=true", "r.jpg", receipt());
    let corner = ocr("symmetric_padding=false", "r.jpg", receipt());
    let scores = |d: &Value| words(d).iter().map(|w| w["detection_score"].clone()).collect::<Vec<_>>();
    assert_ne!(scores(&centred), scores(&corner));
    // Ignored when the aspect ratio is not kept (the input is then unpadded).
    let a = ocr("preserve_aspect_ratio=false&symmetric_padding=true", "r.jpg", receipt());
    let b = ocr("preserve_aspect_ratio=false&symmetric_padding=false", "r.jpg", receipt());
    assert_eq!(a, b);
}

/// Share of the words whose `text_orientation` is `degrees`.
fn share_running(doc: &Value, degrees: i64) -> f64 {
    let all = words(doc);
    all.iter().filter(|w| w["text_orientation"]["value"] == degrees).count() as f64 / all.len().max(1) as f64
}

fn upside_down_receipt() -> Vec<u8> {
    png(&image::imageops::rotate180(&decoded(&receipt())))
}

#[test]
fn detect_orientation_finds_and_reports_an_upside_down_page() {
    // Unturned, each line is still read (the line classifier turns it),
    // but the words run upside down and the last line comes first.
    let plain = ocr("", "u.png", upside_down_receipt());
    assert_eq!(plain["orientation"]["value"], Value::Null);
    assert!(share_running(&plain, 180) > 0.6, "{} {}", share_running(&plain, 180), text(&plain));
    assert_ne!(words(&plain)[0]["value"], "TQ");
    let found = ocr("detect_orientation=true", "u.png", upside_down_receipt());
    assert_eq!(found["orientation"]["value"], 180, "{}", found["orientation"]);
    assert_eq!(found["pages"][0]["orientation"]["value"], 180);
    assert!(recall(RECEIPT_WORDS, &text(&found)) >= 0.8, "{}", text(&found));
    assert!(share_running(&found, 0) > 0.9, "{}", text(&found));
    assert_eq!(words(&found)[0]["value"], "TQ", "{}", text(&found));
    let upright = ocr("detect_orientation=true", "r.jpg", receipt());
    assert_eq!(upright["orientation"]["value"], 0);
}

#[test]
fn straighten_pages_reads_turned_and_tilted_pages_upright() {
    let turned = ocr("straighten_pages=true", "u.png", upside_down_receipt());
    assert_eq!(turned["orientation"]["value"], 180);
    assert_eq!(words(&turned)[0]["value"], "TQ", "{}", text(&turned));
    // A page tilted by 4 degrees: straightened, its lines' boxes change.
    let tilted = decoded(&receipt());
    let (tilted, _) = ocr_engine::orientation::rotate_about_centre(&tilted, 4.0, Rgb([255, 255, 255]));
    let plain = ocr("", "t.png", png(&tilted));
    let straight = ocr("straighten_pages=true", "t.png", png(&tilted));
    assert_ne!(words(&plain), words(&straight));
}

#[test]
fn detect_language_reports_the_language_of_the_text() {
    let (image, _) = line("book_1113_010043");
    let mut page = RgbImage::from_pixel(1000, 300, Rgb([255, 255, 255]));
    image::imageops::replace(&mut page, &image, 40, 40);
    let (second, _) = line("book_1116_010030");
    image::imageops::replace(&mut page, &second, 40, 140);
    let off = ocr("", "p.png", png(&page));
    assert_eq!(off["language"]["value"], Value::Null);
    let on = ocr("detect_language=true", "p.png", png(&page));
    assert_eq!(on["language"]["value"], "en", "{}: {}", on["language"], text(&on));
    assert!(on["language"]["confidence"].as_f64().unwrap() > 0.0);
}

#[test]
fn batch_sizes_are_checked() {
    for query in
        ["detection_batch_size=0", "detection_batch_size=65", "recognition_batch_size=0", "recognition_batch_size=x"]
    {
        let (status, body) = post("/ocr", query, vec![("r.jpg", receipt())]);
        assert_eq!(status, 422, "{query}: {body}");
        let name = query.split('=').next().unwrap();
        assert!(body["detail"].as_str().unwrap().contains(name), "{query}: {body}");
    }
    let small = png(&line("book_1113_010043").0);
    let doc = ocr("detection_batch_size=1&recognition_batch_size=1", "l.png", small.clone());
    assert_eq!(doc, ocr("detection_batch_size=64&recognition_batch_size=1024", "l.png", small));
}

/// A server of its own with two workers, so that its counters move only
/// with the requests of the one test that uses it.
fn quiet_server() -> String {
    let db = TestDb::new(backend_from_env());
    let settings = ocr_api::server::Settings { workers: 2, ..db.settings() };
    keep_until_exit(db);
    common::start(settings, None)
}

fn post_at(base: &str, query: &str, name: &str, bytes: Vec<u8>) -> Value {
    let part = reqwest::blocking::multipart::Part::bytes(bytes).file_name(name.to_string());
    let form = reqwest::blocking::multipart::Form::new().part("files", part);
    let response =
        client().post(format!("{base}/ocr?{query}")).header("apikey", "helloworld").multipart(form).send().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json::<Value>().unwrap()[0].clone()
}

/// The value of one counter of `/metrics`.
fn metric(base: &str, name: &str) -> u64 {
    let text = client().get(format!("{base}/metrics")).send().unwrap().text().unwrap();
    let value = text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok());
    value.unwrap_or_else(|| panic!("{name} not in /metrics:\n{text}"))
}

/// Runs `request` and returns its answer and how far each counter moved.
fn counted(base: &str, request: impl FnOnce() -> Value) -> (Value, u64, u64) {
    let (batches, lent) = (metric(base, "ocr_recognition_batches_total"), metric(base, "ocr_lent_work_total"));
    let doc = request();
    let moved = |name: &str, before: u64| metric(base, name) - before;
    (doc, moved("ocr_recognition_batches_total", batches), moved("ocr_lent_work_total", lent))
}

/// `recognition_batch_size` is the number of detected lines per batch, and
/// batches are read on an idle worker too; `detection_batch_size` is the
/// number of pages read at once. The text read does not change.
#[test]
fn batch_sizes_set_lines_per_batch_and_pages_at_once() {
    let base = quiet_server();
    let receipt_with = |query: &'static str| {
        let base = base.clone();
        move || post_at(&base, query, "r.jpg", receipt())
    };
    let (whole, batches, lent) = counted(&base, receipt_with("recognition_batch_size=1024"));
    assert_eq!((batches, lent), (1, 0), "one page, every line in one batch, nothing to lend");
    let (single, batches, lent) = counted(&base, receipt_with("recognition_batch_size=1"));
    let read_lines = lines(&single).len() as u64;
    assert!(read_lines >= 20 && batches >= read_lines, "{batches} batches for {read_lines} lines");
    assert!(lent > 0, "an idle worker read some of the {batches} batches");
    let (three, batches, _) = counted(&base, receipt_with("recognition_batch_size=3"));
    assert!(batches >= read_lines.div_ceil(3) && batches < read_lines, "{batches} batches of 3 for {read_lines} lines");
    for doc in [&single, &three] {
        assert_eq!(text(doc), text(&whole));
    }

    let pdf_with = |query: &'static str| {
        let base = base.clone();
        move || post_at(&base, query, "three.pdf", three_page_pdf())
    };
    let (one_at_once, batches, lent) = counted(&base, pdf_with("detection_batch_size=1&recognition_batch_size=1024"));
    assert_eq!((batches, lent), (3, 0), "pages one at a time, each page's lines in one batch");
    let (side_by_side, _, lent) = counted(&base, pdf_with("detection_batch_size=3&recognition_batch_size=1024"));
    assert!(lent > 0, "with 3 pages at once the idle worker reads some");
    assert_eq!(text(&side_by_side), text(&one_at_once));
}

#[test]
fn disable_page_orientation_reads_a_quarter_turned_page_as_it_is() {
    let turned = png(&image::imageops::rotate90(&decoded(&receipt())));
    let read = ocr("", "q.png", turned.clone());
    assert!(recall(RECEIPT_WORDS, &text(&read)) >= 0.8, "{}", text(&read));
    assert_eq!(read["dimensions"], serde_json::json!([984, 612]), "read turned upright");
    assert!(share_running(&read, 0) > 0.9);
    // Not turned: the page keeps its shape and its words run down the page.
    let as_is = ocr("disable_page_orientation=true", "q.png", turned);
    assert_eq!(as_is["dimensions"], serde_json::json!([612, 984]));
    assert!(share_running(&as_is, -90) > 0.5, "{}", text(&as_is));
}

#[test]
fn disable_text_orientation_leaves_upside_down_lines_unread() {
    let (upright, first) = line("book_1113_010043");
    let (other, second) = line("book_1116_010030");
    let mut page = RgbImage::from_pixel(1000, 300, Rgb([255, 255, 255]));
    image::imageops::replace(&mut page, &upright, 40, 40);
    image::imageops::replace(&mut page, &image::imageops::rotate180(&other), 40, 180);
    let classified = ocr("", "p.png", png(&page));
    let unclassified = ocr("disable_text_orientation=true", "p.png", png(&page));
    assert!(recall(&first, &text(&classified)) >= 0.7, "{}", text(&classified));
    assert!(recall(&second, &text(&classified)) >= 0.6, "{}", text(&classified));
    assert!(recall(&second, &text(&unclassified)) < 0.3, "{}", text(&unclassified));
    assert!(
        words(&classified).iter().any(|w| w["text_orientation"]["value"] == 180),
        "the turned line's words run upside down"
    );
}

/// Total word area (fractions of the page).
fn area(doc: &Value) -> f64 {
    words(doc)
        .iter()
        .map(|w| {
            let g: Vec<f64> = w["geometry"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            (g[2] - g[0]) * (g[3] - g[1])
        })
        .sum()
}

#[test]
fn binary_threshold_changes_what_counts_as_text() {
    let default = ocr("", "r.jpg", receipt());
    let strict = ocr("binary_threshold=0.8", "r.jpg", receipt());
    assert!(area(&strict) < 0.97 * area(&default), "{} vs {}", area(&strict), area(&default));
    let (status, _) = post("/ocr", "binary_threshold=1.5", vec![("r.jpg", receipt())]);
    assert_eq!(status, 422);
}

#[test]
fn box_threshold_drops_doubtful_regions() {
    let default = ocr("", "r.jpg", receipt());
    let strict = ocr("box_threshold=0.95", "r.jpg", receipt());
    assert!(words(&strict).len() < words(&default).len(), "{} vs {}", words(&strict).len(), words(&default).len());
    for w in words(&strict) {
        assert!(w["detection_score"].as_f64().unwrap() >= 0.95, "{w}");
    }
}

#[test]
fn group_lines_false_puts_every_word_in_one_line() {
    let grouped = ocr("", "r.jpg", receipt());
    let flat = ocr("group_lines=false", "r.jpg", receipt());
    assert!(lines(&grouped).len() > 12, "{}", lines(&grouped).len());
    assert_eq!(lines(&flat).len(), 1);
    assert_eq!(words(&flat).len(), words(&grouped).len());
}

#[test]
fn group_blocks_and_paragraph_break_split_lines_into_blocks() {
    let blocks = |d: &Value| d["pages"][0]["blocks"].as_array().unwrap().len();
    let one = ocr("group_blocks=false", "r.jpg", receipt());
    assert_eq!(blocks(&one), 1);
    let coarse = ocr("group_blocks=true&paragraph_break=0.5", "r.jpg", receipt());
    let fine = ocr("group_blocks=true&paragraph_break=0", "r.jpg", receipt());
    let default = ocr("group_blocks=true", "r.jpg", receipt());
    assert!(blocks(&coarse) >= 1 && blocks(&coarse) < blocks(&default), "{} {}", blocks(&coarse), blocks(&default));
    assert!(blocks(&default) <= blocks(&fine), "{} {}", blocks(&default), blocks(&fine));
    assert!(blocks(&fine) > 5);
    // paragraph_break alone (without group_blocks) changes nothing.
    assert_eq!(ocr("paragraph_break=0", "r.jpg", receipt()), one);
}

#[test]
fn keys_limits_and_errors_follow_fastapi() {
    let (status, body) = post_with_key("/ocr", "", vec![("r.jpg", receipt())], None);
    assert_eq!(status, 401, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("API key"));
    let (status, _) = post_with_key("/ocr", "", vec![("r.jpg", receipt())], Some("not-a-key"));
    assert_eq!(status, 401);
    let (status, body) =
        post_with_key("/ocr", "apikey=helloworld", vec![("r.png", png(&line("book_1113_010043").0))], None);
    assert_eq!(status, 200, "the key in the query string: {body}");
    let (status, body) = post("/ocr", "", vec![("x.bin", b"not an image".to_vec())]);
    assert_eq!(status, 422, "{body}");
    let form = reqwest::blocking::multipart::Form::new().text("apikey", "helloworld");
    let response = client().post(format!("{}/ocr", server())).multipart(form).send().unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().unwrap();
    assert_eq!(status, 422, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("files"));
    let (status, body) = post("/ocr", "colour=red", vec![("r.jpg", receipt())]);
    assert_eq!(status, 422, "{body}");
    let response = client().get(format!("{}/ocr", server())).send().unwrap();
    assert_eq!(response.status().as_u16(), 405);
    // A key sent after the files: each file is still held to its tier's limit (the demo key's 1 MB).
    let big = std::fs::read(data("receipts/525.jpg")).unwrap();
    assert!(big.len() > 1024 * 1024);
    let part = reqwest::blocking::multipart::Part::bytes(big).file_name("big.jpg");
    let form = reqwest::blocking::multipart::Form::new().part("files", part).text("apikey", "helloworld");
    let response = client().post(format!("{}/ocr", server())).multipart(form).send().unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().unwrap();
    assert_eq!(status, 413, "{body}");
    // Two files each under the limit, together over it.
    let part = |name: &str| reqwest::blocking::multipart::Part::bytes(receipt_bytes(700)).file_name(name.to_string());
    let form = reqwest::blocking::multipart::Form::new().part("files", part("a.jpg")).part("files", part("b.jpg"));
    let form = form.text("apikey", "helloworld");
    let response = client().post(format!("{}/ocr", server())).multipart(form).send().unwrap();
    assert_eq!(response.status().as_u16(), 413);
}

/// A receipt JPEG padded with trailing bytes (ignored by decoders) to `kb` KB.
fn receipt_bytes(kb: usize) -> Vec<u8> {
    let mut bytes = receipt();
    bytes.resize(bytes.len().max(kb * 1024), 0);
    bytes
}

#[test]
fn requests_count_against_the_keys_quota() {
    let db = TestDb::new(backend_from_env());
    let base = common::start(db.settings(), None);
    let store = db.store();
    let (secret, id) = block_on(async {
        let tier = ocr_api::store::Tier {
            id: "one_a_month".into(),
            name: "one_a_month".into(),
            monthly_requests: 1,
            max_file_kb: 1024,
            max_pdf_pages: 3,
            ip_daily_requests: 0,
            searchable_pdf: false,
        };
        store.insert_tier(&tier).await.unwrap();
        let created = store.create_key("one_a_month", "test").await.unwrap();
        (created.secret, created.key.id)
    });
    let send = || {
        let part = reqwest::blocking::multipart::Part::bytes(png(&line("book_1113_010043").0)).file_name("l.png");
        let form = reqwest::blocking::multipart::Form::new().text("apikey", secret.clone()).part("files", part);
        let response = client().post(format!("{base}/kie")).multipart(form).send().unwrap();
        (response.status().as_u16(), response.json::<Value>().unwrap())
    };
    let (status, body) = send();
    assert_eq!(status, 200, "the key as a form field: {body}");
    let (status, body) = send();
    assert_eq!(status, 429, "{body}");
    let usage = block_on(store.usage(Some(&id))).unwrap();
    assert_eq!((usage[0].requests, usage[0].pages), (1, 1));
}

#[test]
fn kie_reports_each_pages_fields() {
    let (status, body) = post("/kie", "", vec![("receipt.jpg", receipt())]);
    assert_eq!(status, 200, "{body}");
    let doc = &body[0];
    assert_eq!(doc["name"], "receipt.jpg");
    let fields = doc["pages"][0]["extracted_fields"].as_array().unwrap();
    let types: Vec<&str> = fields.iter().map(|f| f["field_type"].as_str().unwrap()).collect();
    for wanted in ["date", "total", "company", "address", "tax_id"] {
        assert!(types.contains(&wanted), "{types:?}");
    }
    let total = fields.iter().find(|f| f["field_type"] == "total").unwrap();
    let value = &total["values"][0];
    assert_eq!(value["page"], 0);
    assert_eq!(value["geometry"].as_array().unwrap().len(), 4);
    assert!(value["value"].as_str().unwrap().parse::<f64>().is_ok(), "{total}");
}

/// A small receipt whose only date, `03/04/2024`, reads either way round:
/// nothing on it (currency, another date, a written-out month) decides.
fn ambiguous_date_receipt() -> Vec<u8> {
    let mut canvas = fonts::Canvas::new(900, 260);
    let font = fonts::SizedFont::new(fonts::DEJAVU, 34.0);
    canvas.draw(&font, "Corner Kiosk", 60.0, 80.0, false);
    canvas.draw(&font, "Date: 03/04/2024", 60.0, 160.0, false);
    png(&canvas.into_image())
}

fn kie_date(query: &str) -> String {
    let (status, body) = post("/kie", query, vec![("kiosk.png", ambiguous_date_receipt())]);
    assert_eq!(status, 200, "{body}");
    let fields = body[0]["pages"][0]["extracted_fields"].as_array().unwrap();
    let date = fields.iter().find(|f| f["field_type"] == "date").unwrap();
    date["values"][0]["value"].as_str().unwrap_or_default().to_string()
}

#[test]
fn day_first_orders_an_ambiguous_date_on_kie_only() {
    assert_eq!(kie_date(""), "03/04/2024", "nothing decides: reported as printed");
    assert_eq!(kie_date("day_first=true"), "2024-04-03");
    assert_eq!(kie_date("day_first=false"), "2024-03-04");
    let (status, body) = post("/ocr", "day_first=true", vec![("kiosk.png", ambiguous_date_receipt())]);
    assert_eq!(status, 422, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("/kie only"), "{body}");
    let (status, body) = post("/kie", "day_first=maybe", vec![("kiosk.png", ambiguous_date_receipt())]);
    assert_eq!(status, 422, "{body}");
}

#[test]
fn the_openapi_document_lists_every_endpoint() {
    let doc: Value = client().get(format!("{}/openapi.json", server())).send().unwrap().json().unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = [
        "/parse/image",
        "/parse/imageurl",
        "/ocr",
        "/kie",
        "/jobs",
        "/jobs/{id}",
        "/pdf/{token}",
        "/health",
        "/ready",
        "/metrics",
        "/openapi.json",
        "/",
        "/docs",
        "/web/config.json",
    ];
    for path in paths {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    // Each documented GET that needs no key or id answers 200 here.
    for path in ["/health", "/metrics", "/openapi.json", "/", "/docs", "/web/config.json"] {
        let status = client().get(format!("{}{path}", server())).send().unwrap().status();
        assert_eq!(status.as_u16(), 200, "{path}");
    }
    let params: Vec<&str> = doc["paths"]["/ocr"]["post"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params.len(), 18, "{params:?}");
}
