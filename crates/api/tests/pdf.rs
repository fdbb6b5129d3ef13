//! Searchable PDFs and PDF input through the real application: files the
//! server produced are checked with `pdfcheck.py` (poppler-utils and qpdf),
//! born-digital PDFs come back without OCR, and links expire and are swept.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{client, data, root, start, Backend, TestDb};
use serde_json::{json, Value};

fn pdfcheck() -> PathBuf {
    std::env::var_os("OCR_PDFCHECK").map(PathBuf::from).unwrap_or_else(|| root().join("../shared/tools/pdfcheck.py"))
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("ocr-pdf-test-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// POSTs `bytes` as the file with extra fields (demo key in the header).
fn post(base: &str, key: &str, bytes: Vec<u8>, name: &str, fields: &[(&str, &str)]) -> Value {
    let mut form = reqwest::blocking::multipart::Form::new()
        .part("file", reqwest::blocking::multipart::Part::bytes(bytes).file_name(name.to_string()));
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    client().post(format!("{base}/parse/image")).header("apikey", key).multipart(form).send().unwrap().json().unwrap()
}

fn download(url: &str) -> (u16, Vec<u8>) {
    let resp = client().get(url).send().unwrap();
    (resp.status().as_u16(), resp.bytes().unwrap().to_vec())
}

/// pdfcheck's expected-words file from a response's overlays (pixels, 300 dpi).
fn expected_words(v: &Value) -> Value {
    let mut words = Vec::new();
    for (page, result) in v["ParsedResults"].as_array().unwrap().iter().enumerate() {
        for line in result["TextOverlay"]["Lines"].as_array().unwrap() {
            for w in line["Words"].as_array().unwrap() {
                let (l, t) = (w["Left"].as_f64().unwrap(), w["Top"].as_f64().unwrap());
                let (wd, h) = (w["Width"].as_f64().unwrap(), w["Height"].as_f64().unwrap());
                words.push(
                    json!({"text": w["WordText"], "x0": l, "y0": t, "x1": l + wd, "y1": t + h, "page": page + 1}),
                );
            }
        }
    }
    json!({"units": "px", "dpi": 300, "origin": "top", "words": words})
}

/// Runs pdfcheck; returns its report, failing the test unless it passed.
fn run_pdfcheck(dir: &Path, pdf: &[u8], expected: &Value, args: &[&str]) -> String {
    let (passed, report) = pdfcheck_verdict(dir, pdf, expected, args);
    assert!(passed, "pdfcheck {args:?} failed:\n{report}");
    report
}

/// Runs pdfcheck; returns whether it passed, and its report.
fn pdfcheck_verdict(dir: &Path, pdf: &[u8], expected: &Value, args: &[&str]) -> (bool, String) {
    let pdf_path = dir.join("out.pdf");
    let expected_path = dir.join("expected.json");
    std::fs::write(&pdf_path, pdf).unwrap();
    std::fs::write(&expected_path, expected.to_string()).unwrap();
    let out = Command::new("python3")
        .arg(pdfcheck())
        .arg(&pdf_path)
        .arg(&expected_path)
        .args(["--min-iou", "0.5", "--min-iou-frac", "0.9"])
        .args(args)
        .output()
        .expect("python3 runs");
    let report = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code() != Some(2), "pdfcheck could not run (apt-get install -y poppler-utils qpdf):\n{report}");
    (out.status.success(), report)
}

#[test]
fn searchable_pdfs_of_receipts_pass_pdfcheck_in_both_modes() {
    let db = TestDb::new(Backend::Sqlite);
    let base = start(db.settings(), None);
    let scratch = Scratch::new("receipts");
    for (receipt, hidden, engine) in [("503", true, "1"), ("517", true, "2"), ("504", false, "1")] {
        let path = data(&format!("receipts/{receipt}.jpg"));
        let jpeg = std::fs::read(&path).unwrap();
        let hide = if hidden { "true" } else { "false" };
        let v = post(
            &base,
            "helloworld",
            jpeg.clone(),
            "r.jpg",
            &[("isCreateSearchablePdf", "true"), ("isSearchablePdfHideTextLayer", hide), ("OCREngine", engine)],
        );
        assert_eq!(v["OCRExitCode"], 1, "{v}");
        let url = v["SearchablePDFURL"].as_str().unwrap();
        let (status, pdf) = download(url);
        assert_eq!(status, 200);
        let mode = if hidden { "hidden" } else { "visible" };
        let report = run_pdfcheck(
            &scratch.0,
            &pdf,
            &expected_words(&v),
            &["--mode", mode, "--source-jpeg", path.to_str().unwrap(), "--expect-ppi", "300"],
        );
        println!(
            "receipt {receipt} (engine {engine}, {mode}, {} bytes, JPEG {} bytes, overhead {} bytes):\n{report}",
            pdf.len(),
            jpeg.len(),
            pdf.len() - jpeg.len()
        );
    }
}

/// Every development receipt, on Engines 1 and 2: the hidden text layer
/// holds every word the engine read, in reading order, with full layout
/// recall (`pdftotext -layout` keeps each line's words on their own line:
/// words of neighbouring tilted lines must not be grouped into each other).
#[test]
fn searchable_pdfs_of_every_receipt_keep_every_line_whole() {
    let db = TestDb::new(Backend::Sqlite);
    let base = start(db.settings(), None);
    let scratch = Scratch::new("all-receipts");
    // Some receipts exceed the demo (free) tier's 1 MB.
    let key = common::block_on(db.store().create_key("pro", "receipts")).unwrap().secret;
    let mut receipts: Vec<PathBuf> = std::fs::read_dir(data("receipts"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    receipts.sort();
    assert!(receipts.len() >= 20, "expected the 25 development receipts in {}", data("receipts").display());
    let mut failed = Vec::new();
    for engine in ["1", "2"] {
        for path in &receipts {
            let v = post(
                &base,
                &key,
                std::fs::read(path).unwrap(),
                "r.jpg",
                &[("isCreateSearchablePdf", "true"), ("isSearchablePdfHideTextLayer", "true"), ("OCREngine", engine)],
            );
            assert_eq!(v["OCRExitCode"], 1, "{}: {v}", path.display());
            let (status, pdf) = download(v["SearchablePDFURL"].as_str().unwrap());
            assert_eq!(status, 200);
            let (passed, report) =
                pdfcheck_verdict(&scratch.0, &pdf, &expected_words(&v), &["--mode", "hidden", "--no-render"]);
            let recall = report.lines().find(|l| l.contains("recall")).unwrap_or_default().trim().to_string();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            println!("engine {engine}, {name}: {recall}");
            if !passed {
                failed.push(format!("engine {engine}, {name}:\n{report}"));
            }
        }
    }
    let total = 2 * receipts.len();
    println!("pdfcheck passed on {} of {total} searchable PDFs", total - failed.len());
    // Every one passes (44 of 50 did before the text layer levelled tilted
    // lines and capped word heights at the line pitch: pdftotext mixed the
    // words of neighbouring lines on curved receipts).
    assert!(failed.is_empty(), "{} PDFs failed pdfcheck:\n{}", failed.len(), failed.join("\n"));
}

/// Three receipts as one multi-page TIFF: one three-page PDF; that PDF sent
/// back as input is read page by page again.
#[test]
fn multi_page_tiff_and_pdf_inputs_give_multi_page_searchable_pdfs() {
    let db = TestDb::new(Backend::Sqlite);
    let base = start(db.settings(), None);
    let scratch = Scratch::new("multipage");
    let tiff = common::three_receipt_tiff();
    let store = db.store();
    let pro_pdf = common::block_on(store.create_key("pro_pdf", "pdf")).unwrap().secret;
    let fields = [("isCreateSearchablePdf", "true"), ("isSearchablePdfHideTextLayer", "true")];
    let v = post(&base, &pro_pdf, tiff, "three.tif", &fields);
    assert_eq!(v["ParsedResults"].as_array().unwrap().len(), 3, "{v}");
    let (_, pdf) = download(v["SearchablePDFURL"].as_str().unwrap());
    let report = run_pdfcheck(&scratch.0, &pdf, &expected_words(&v), &["--mode", "hidden", "--pages", "3"]);
    println!("3-page TIFF -> PDF ({} bytes):\n{report}", pdf.len());

    let again = post(&base, &pro_pdf, pdf, "three.pdf", &fields);
    let pages = again["ParsedResults"].as_array().unwrap();
    assert_eq!(pages.len(), 3, "{again}");
    for (first, second) in v["ParsedResults"].as_array().unwrap().iter().zip(pages) {
        assert_eq!(first["ParsedText"], second["ParsedText"], "the scanned pages read the same from the PDF");
    }
    let (_, pdf_again) = download(again["SearchablePDFURL"].as_str().unwrap());
    run_pdfcheck(&scratch.0, &pdf_again, &expected_words(&again), &["--mode", "hidden", "--pages", "3"]);
}

fn metric(base: &str, name: &str) -> u64 {
    let text = client().get(format!("{base}/metrics")).send().unwrap().text().unwrap();
    text.lines().find_map(|l| l.strip_prefix(&format!("{name} "))).unwrap().trim().parse().unwrap()
}

#[test]
fn born_digital_pdfs_return_their_own_text_without_ocr() {
    let db = TestDb::new(Backend::Sqlite);
    let base = start(db.settings(), None);
    let page = common::invoice_page();
    let pdf = ocr_pdf::write_searchable_pdf(&[page], ocr_pdf::TextLayer::Visible).unwrap();
    let ocr_before = metric(&base, "ocr_pages_total");
    let text_before = metric(&base, "pdf_text_pages_total");
    let v = post(&base, "helloworld", pdf, "invoice.pdf", &[("isOverlayRequired", "true")]);
    assert_eq!(v["OCRExitCode"], 1, "{v}");
    assert_eq!(v["ParsedResults"][0]["ParsedText"], "Invoice 2026-11 No. 4711\r\nTotal due: EUR 42.00\r\n");
    assert_eq!(metric(&base, "ocr_pages_total"), ocr_before, "no page went through OCR");
    assert_eq!(metric(&base, "pdf_text_pages_total"), text_before + 1);
}

#[test]
fn links_expire_resist_tampering_and_are_swept() {
    let db = TestDb::new(Backend::Sqlite);
    let settings = ocr_api::server::Settings {
        pdf_link_lifetime: Duration::from_secs(2),
        pdf_sweep_interval: Duration::from_secs(1),
        ..db.settings()
    };
    let base = start(settings, None);
    let line = std::fs::read(data("lines/book_1113_010043.png")).unwrap();
    let v = post(&base, "helloworld", line, "line.png", &[("isCreateSearchablePdf", "true")]);
    let url = v["SearchablePDFURL"].as_str().unwrap().to_string();
    let (status, pdf) = download(&url);
    assert_eq!((status, &pdf[..5]), (200, &b"%PDF-"[..]));
    let stored = || std::fs::read_dir(db.data_dir.join("pdf")).unwrap().count();
    assert_eq!(stored(), 1);

    let token = url.rsplit('/').next().unwrap().trim_end_matches(".pdf").to_string();
    let (id, rest) = token.split_once('-').unwrap();
    let (expiry, signature) = rest.split_once('-').unwrap();
    let extended = format!("{base}/pdf/{id}-{}-{signature}.pdf", expiry.parse::<i64>().unwrap() + 3600);
    assert_eq!(download(&extended).0, 404, "a token with a changed expiry is refused");
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    assert_eq!(download(&format!("{base}/pdf/{id}-{expiry}-{flipped}{}.pdf", &signature[1..])).0, 404);
    assert_eq!(download(&format!("{base}/pdf/nonsense.pdf")).0, 404);

    std::thread::sleep(Duration::from_secs(4));
    let (status, body) = download(&url);
    assert_eq!(status, 410, "{}", String::from_utf8_lossy(&body));
    assert_eq!(stored(), 0, "the sweeper deleted the expired file");
}

#[test]
fn broken_encrypted_and_oversized_pdfs_get_clear_errors() {
    let db = TestDb::new(Backend::Sqlite);
    let base = start(db.settings(), None);
    let v = post(&base, "helloworld", b"%PDF-1.7\n1 0 obj garbage".to_vec(), "bad.pdf", &[]);
    assert_eq!(v["IsErroredOnProcessing"], true, "{v}");
    assert_eq!(v["OCRExitCode"], 3);
    println!("malformed: {}", v["ErrorMessage"][0]);

    // Four pages on the free tier (3): refused before any page is read.
    let blank = || ocr_pdf::PdfPage {
        image: ocr_pdf::PageImage::gray(100, 100, vec![255; 100 * 100]).unwrap(),
        lines: Vec::new(),
    };
    let four =
        ocr_pdf::write_searchable_pdf(&[blank(), blank(), blank(), blank()], ocr_pdf::TextLayer::Hidden).unwrap();
    let v = post(&base, "helloworld", four.clone(), "four.pdf", &[]);
    assert_eq!(
        v["ErrorMessage"][0],
        "File failed validation. PDF page limit exceeded: the file has 4 pages, the maximum for this API key is 3 pages."
    );

    // Encrypted with a user password (qpdf from Debian's packages).
    let scratch = Scratch::new("encrypted");
    let plain = scratch.0.join("plain.pdf");
    let locked = scratch.0.join("locked.pdf");
    std::fs::write(&plain, &four).unwrap();
    let status = Command::new("qpdf")
        .args(["--encrypt", "user-secret", "owner-secret", "256", "--"])
        .arg(&plain)
        .arg(&locked)
        .status()
        .expect("qpdf is installed (apt-get install -y qpdf)");
    assert!(status.success());
    let store = db.store();
    let pro_pdf = common::block_on(store.create_key("pro_pdf", "pdf")).unwrap().secret;
    let v = post(&base, &pro_pdf, std::fs::read(&locked).unwrap(), "locked.pdf", &[]);
    assert_eq!(v["OCRExitCode"], 3, "{v}");
    let message = v["ErrorMessage"][0].as_str().unwrap().to_lowercase();
    assert!(message.contains("encrypt") || message.contains("password"), "{message}");
}
