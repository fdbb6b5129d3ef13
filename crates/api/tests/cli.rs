//! Runs the real `ocr-server ocr` binary: text and JSON of corpus images; a
//! three-page PDF (two scanned receipts around a born-digital page) turned
//! into a searchable PDF checked by `pdfcheck.py`; hOCR parsed by Python's
//! XML parser; ALTO validated with `xmllint` against the ALTO 4.2 schema;
//! errors and exit codes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{data, invoice_page, models_dir, root, INVOICE_TEXT};
use ocr_pdf::{PageImage, PdfPage, TextLayer};
use serde_json::{json, Value};

/// A scratch directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("ocr-cli-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ocr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ocr-server"))
        .arg("ocr")
        .arg("--models-dir")
        .arg(models_dir())
        .args(args)
        .output()
        .expect("run ocr-server")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A three-page PDF: receipt 503 and receipt 504 as scanned pages (a JPEG
/// each, no text) around a born-digital page with visible text.
fn three_page_pdf(path: &Path) {
    let scanned = |n: &str| PdfPage {
        image: PageImage::jpeg(std::fs::read(data(&format!("receipts/{n}.jpg"))).unwrap()).unwrap(),
        lines: vec![],
    };
    let pdf =
        ocr_pdf::write_searchable_pdf(&[scanned("503"), invoice_page(), scanned("504")], TextLayer::Visible).unwrap();
    std::fs::write(path, pdf).unwrap();
}

/// pdfcheck's expected words from the CLI's JSON: every word's box as a
/// fraction of its page.
fn expected_words(file: &Value) -> Value {
    let mut words = Vec::new();
    for (page_no, page) in file["pages"].as_array().unwrap().iter().enumerate() {
        let (w, h) = (page["width"].as_f64().unwrap(), page["height"].as_f64().unwrap());
        for line in page["blocks"].as_array().unwrap().iter().flat_map(|b| b["lines"].as_array().unwrap()) {
            for word in line["words"].as_array().unwrap() {
                let b = &word["bbox"];
                let (l, t) = (b["left"].as_f64().unwrap(), b["top"].as_f64().unwrap());
                let (r, btm) = (l + b["width"].as_f64().unwrap(), t + b["height"].as_f64().unwrap());
                words.push(json!({"text": word["text"], "page": page_no + 1, "x0": l / w, "y0": t / h, "x1": r / w, "y1": btm / h}));
            }
        }
    }
    json!({"units": "norm", "origin": "top", "words": words})
}

#[test]
fn ocr_prints_text_of_a_line_image() {
    let line = data("lines/book_1113_010043.png");
    let out = ocr(&[path_str(&line)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let truth = std::fs::read_to_string(line.with_extension("gt.txt")).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), truth.trim());
}

#[test]
fn ocr_json_has_pages_blocks_lines_words() {
    let line = data("lines/book_1113_010043.png");
    let out = ocr(&["--format", "json", path_str(&line)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let word = &v["pages"][0]["blocks"][0]["lines"][0]["words"][0];
    assert_eq!(word["text"], "and");
    assert!(word["bbox"]["width"].as_f64().unwrap() > 5.0);
    assert!(word["confidence"].as_f64().unwrap() > 0.5);
}

/// The OCRmyPDF use: a three-page PDF in, a searchable PDF out, checked by
/// pdfcheck.py in hidden mode; the born-digital page keeps its own text;
/// progress goes to stderr only, so stdout is exactly the JSON.
#[test]
fn a_three_page_pdf_becomes_a_searchable_pdf_that_passes_pdfcheck() {
    let scratch = Scratch::new("pdf");
    let (input, output) = (scratch.path("three.pdf"), scratch.path("three.ocr.pdf"));
    three_page_pdf(&input);
    let args = ["--searchable-pdf", path_str(&output), "--hide-text-layer", "--format", "json", "--progress", "always"];
    let out = ocr(&[&args[..], &[path_str(&input)]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("page 3 of 3"), "progress on stderr: {:?}", stderr(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "stdout holds only the JSON line:\n{stdout}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let pages = v["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 3);
    let text = |page: &Value| -> String {
        let lines = page["blocks"].as_array().unwrap().iter().flat_map(|b| b["lines"].as_array().unwrap().iter());
        lines
            .map(|l| {
                l["words"].as_array().unwrap().iter().map(|w| w["text"].as_str().unwrap()).collect::<Vec<_>>().join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(text(&pages[1]), INVOICE_TEXT.join("\n"), "born-digital text kept as it is");
    assert!(text(&pages[0]).contains("SANYU STATIONERY SHOP"), "{}", text(&pages[0]));

    let expected = scratch.path("expected.json");
    std::fs::write(&expected, expected_words(&v).to_string()).unwrap();
    let pdfcheck = std::env::var_os("OCR_PDFCHECK")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/tools/pdfcheck.py"));
    let check = Command::new("python3")
        .arg(&pdfcheck)
        .args([&output, &expected])
        .args(["--mode", "hidden", "--pages", "3", "--min-iou", "0.5", "--min-iou-frac", "0.9"])
        .output()
        .expect("python3 runs");
    let report = String::from_utf8_lossy(&check.stdout).into_owned() + &stderr(&check);
    println!("ocr-server ocr {} {}\npdfcheck:\n{report}", args.join(" "), input.display());
    assert_ne!(check.status.code(), Some(2), "pdfcheck could not run (scripts/prereqs installs its tools):\n{report}");
    assert!(check.status.success(), "pdfcheck failed:\n{report}");
}

/// Python's XML parser reads the hOCR of the three-page PDF: one
/// `ocr_page` per page, every word inside its line and its page, with a
/// confidence; the words of each line match the JSON output.
#[test]
fn hocr_parses_with_every_word_box_inside_its_page() {
    let scratch = Scratch::new("hocr");
    let input = scratch.path("three.pdf");
    three_page_pdf(&input);
    let out = ocr(&["--format", "hocr", "--progress", "always", path_str(&input)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let hocr = scratch.path("out.hocr");
    std::fs::write(&hocr, &out.stdout).unwrap();
    let check = r#"
import re, sys, xml.etree.ElementTree as ET
ns = {"h": "http://www.w3.org/1999/xhtml"}
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/1999/xhtml}html", root.tag
def bbox(e):
    m = re.search(r"bbox (\d+) (\d+) (\d+) (\d+)", e.get("title"))
    return tuple(map(int, m.groups()))
def inside(a, b):
    return b[0] <= a[0] <= a[2] <= b[2] and b[1] <= a[1] <= a[3] <= b[3]
pages = root.findall(".//h:div[@class='ocr_page']", ns)
words = 0
for page in pages:
    pb = bbox(page)
    for area in page.findall("h:div[@class='ocr_carea']", ns):
        for par in area.findall("h:p[@class='ocr_par']", ns):
            for line in par.findall("h:span[@class='ocr_line']", ns):
                lb = bbox(line)
                assert inside(lb, pb), (lb, pb)
                for word in line.findall("h:span[@class='ocrx_word']", ns):
                    wb = bbox(word)
                    assert inside(wb, lb) and inside(wb, pb), (word.text, wb, lb, pb)
                    conf = int(re.search(r"x_wconf (\d+)", word.get("title")).group(1))
                    assert 0 <= conf <= 100 and word.text.strip(), (word.text, conf)
                    words += 1
print(len(pages), words, " / ".join(" ".join(w.text for w in l.findall("h:span", ns)) for l in pages[1].iter("{http://www.w3.org/1999/xhtml}span") if l.get("class") == "ocr_line"))
"#;
    let parsed = Command::new("python3").args(["-c", check]).arg(&hocr).output().expect("python3 runs");
    assert!(parsed.status.success(), "hOCR check failed: {}", stderr(&parsed));
    let summary = String::from_utf8(parsed.stdout).unwrap();
    println!("hOCR: pages, words, page 2 lines: {summary}");
    let mut fields = summary.trim().splitn(3, ' ');
    assert_eq!(fields.next(), Some("3"), "three ocr_page elements");
    assert!(fields.next().unwrap().parse::<usize>().unwrap() > 100, "the receipts' words are there");
    assert_eq!(fields.next(), Some(INVOICE_TEXT.join(" / ").as_str()));
}

/// ALTO of two inputs (a receipt photo and a text line) is valid against
/// the ALTO 4.2 schema (fetched by scripts/prereqs), with one Page each.
#[test]
fn alto_validates_against_the_alto_4_schema() {
    let schema = std::env::var_os("OCR_ALTO_XSD").map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"));
        cache.join("ocr-server/alto/alto-4-2.xsd")
    });
    assert!(
        schema.is_file(),
        "the ALTO schema is not at {}: run scripts/prereqs (or set OCR_ALTO_XSD)",
        schema.display()
    );
    let scratch = Scratch::new("alto");
    let (receipt, line) = (data("receipts/503.jpg"), data("lines/book_1113_010043.png"));
    let out = ocr(&["--format", "alto", path_str(&receipt), path_str(&line)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let alto = scratch.path("out.alto.xml");
    std::fs::write(&alto, &out.stdout).unwrap();
    let lint = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .args([&schema, &alto])
        .output()
        .expect("xmllint runs (apt-get install -y libxml2-utils)");
    assert!(lint.status.success(), "ALTO is not valid:\n{}", stderr(&lint));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.matches("<Page ").count(), 2);
    assert!(text.contains(r#"CONTENT="SANYU""#) && text.contains("<SP "), "{text}");
    let truth = std::fs::read_to_string(line.with_extension("gt.txt")).unwrap();
    let first_word = truth.split_whitespace().next().unwrap();
    assert!(text.contains(&format!(r#"CONTENT="{first_word}""#)), "{text}");
}

#[test]
fn errors_name_the_problem_and_exit_with_the_documented_codes() {
    let scratch = Scratch::new("errors");
    let text_file = scratch.path("notes.png");
    std::fs::write(&text_file, b"Dear customer, this is no image.\n").unwrap();
    let out = ocr(&[path_str(&text_file)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("the file looks like plain text"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());

    let out = ocr(&[path_str(&scratch.path("missing.jpg"))]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));

    let out = ocr(&["--engine", "4", path_str(&text_file)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    let line = data("lines/book_1113_010043.png");
    let out = ocr(&["--searchable-pdf", path_str(&scratch.path("x.pdf")), path_str(&line), path_str(&line)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--searchable-pdf takes one INPUT"), "{}", stderr(&out));

    let out = ocr(&["--language", "ger", path_str(&line)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("engine 1 cannot read --language ger"), "{}", stderr(&out));
    assert!(stderr(&out).contains("Use --engine 2"), "{}", stderr(&out));

    let out = Command::new(env!("CARGO_BIN_EXE_ocr-server"))
        .args(["ocr", "--models-dir", path_str(&scratch.0), path_str(&line)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("run scripts/fetch-models"), "{}", stderr(&out));

    let help = Command::new(env!("CARGO_BIN_EXE_ocr-server")).args(["ocr", "--help"]).output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("Exit codes:"));
}
