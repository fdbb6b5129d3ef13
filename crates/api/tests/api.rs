//! Integration tests: the real application on 127.0.0.1:0, real models,
//! requests shaped like the OCR.space clients send them.

mod common;

use std::sync::OnceLock;

use base64::Engine as _;
use common::{backend_from_env, data, keep_until_exit, TestDb};
use ocr_api::service::FetchPolicy;
use serde_json::Value;

/// Base URL of one server shared by every test of this binary (loopback
/// URLs allowed, so the tests can serve files to it). Its database is
/// SQLite, or PostgreSQL with `OCR_TEST_BACKEND=postgres`.
fn server() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| start(true))
}

/// A second server with the production URL policy (no loopback).
fn strict_server() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| start(false))
}

fn start(allow_loopback: bool) -> String {
    let db = TestDb::new(backend_from_env());
    let settings = ocr_api::server::Settings {
        // The loopback file server listens on a random port.
        fetch_policy: FetchPolicy {
            allow_loopback,
            ports: if allow_loopback { vec![] } else { vec![80, 443] },
            ..FetchPolicy::default()
        },
        ..db.settings()
    };
    keep_until_exit(db);
    common::start(settings, None)
}

/// A loopback HTTP server for URL inputs: `/receipt.jpg` serves the receipt,
/// `/hop` redirects to it, `/to-private` redirects to a 10.x address.
fn file_server() -> u16 {
    static PORT: OnceLock<u16> = OnceLock::new();
    *PORT.get_or_init(|| {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut request_line = String::new();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut header = String::new();
                while reader.read_line(&mut header).map(|n| n > 2).unwrap_or(false) {
                    header.clear();
                }
                let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
                let response: Vec<u8> = match path.as_str() {
                    "/receipt.jpg" => {
                        let body = receipt();
                        let mut r = format!("HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).into_bytes();
                        r.extend(body);
                        r
                    }
                    "/hop" => b"HTTP/1.1 302 Found\r\nLocation: /receipt.jpg\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
                    "/to-private" => b"HTTP/1.1 302 Found\r\nLocation: http://10.0.0.1/receipt.jpg\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
                    _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
                };
                let _ = stream.write_all(&response);
            }
        });
        port
    })
}

/// A client sending the demo key in the `apikey` header, as the npm client does.
fn client() -> reqwest::blocking::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("apikey", reqwest::header::HeaderValue::from_static("helloworld"));
    reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(300))
        .default_headers(headers)
        .build()
        .unwrap()
}

fn receipt() -> Vec<u8> {
    std::fs::read(data("receipts/517.jpg")).unwrap()
}

fn post_file(path: &str, bytes: Vec<u8>, fields: &[(&str, &str)]) -> (u16, Value) {
    let (status, body) = post_file_raw(path, bytes, fields);
    (status, serde_json::from_str(&body).unwrap())
}

fn post_file_raw(path: &str, bytes: Vec<u8>, fields: &[(&str, &str)]) -> (u16, String) {
    let mut form = reqwest::blocking::multipart::Form::new()
        .part("file", reqwest::blocking::multipart::Part::bytes(bytes).file_name("receipt.jpg"));
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    let resp = client().post(format!("{}{path}", server())).multipart(form).send().unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().unwrap())
}

#[test]
fn multipart_upload_returns_the_vendor_shape() {
    let (status, body) =
        post_file_raw("/parse/image", receipt(), &[("language", "eng"), ("isOverlayRequired", "true")]);
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["OCRExitCode"], 1);
    assert_eq!(v["IsErroredOnProcessing"], false);
    assert!(v.get("ErrorMessage").is_none());
    assert!(v["ProcessingTimeInMilliseconds"].as_str().unwrap().parse::<u64>().is_ok());
    assert_eq!(v["SearchablePDFURL"], "Searchable PDF not generated as it was not requested.");
    let page = &v["ParsedResults"][0];
    assert_eq!(page["FileParseExitCode"], 1);
    assert_eq!(page["TextOrientation"], "0");
    let text = page["ParsedText"].as_str().unwrap();
    assert!(text.contains("PUSAT DAGANGAN PHILEO DAMANSARA"), "{text}");
    assert!(text.ends_with("\r\n"));
    let overlay = &page["TextOverlay"];
    assert_eq!(overlay["HasOverlay"], true);
    let lines = overlay["Lines"].as_array().unwrap();
    assert_eq!(overlay["Message"], format!("Total lines: {}", lines.len()));
    let word = &lines[0]["Words"][0];
    assert!(word["Left"].is_i64() && word["Top"].is_i64() && word["Width"].as_i64().unwrap() > 0);
    // Top-level keys in the vendor's order (each occurs once at top level).
    let at = |key: &str| body.find(&format!("\"{key}\":")).unwrap();
    let order =
        ["ParsedResults", "OCRExitCode", "IsErroredOnProcessing", "ProcessingTimeInMilliseconds", "SearchablePDFURL"];
    assert!(order.windows(2).all(|w| at(w[0]) < at(w[1])), "{body}");
}

#[test]
fn base64_in_a_urlencoded_body_and_mixed_case_names_and_path() {
    let b64 = base64::engine::general_purpose::STANDARD.encode(receipt());
    let resp = client()
        .post(format!("{}/Parse/Image", server()))
        .form(&[
            ("apikey", "helloworld"),
            ("base64Image", &format!("data:image/jpeg;base64,{b64}")),
            ("OCREngine", "1"),
            ("ISOVERLAYREQUIRED", "False"),
        ])
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let v: Value = resp.json().unwrap();
    assert_eq!(v["OCRExitCode"], 1, "{v}");
    assert_eq!(v["ParsedResults"][0]["TextOverlay"]["HasOverlay"], false);
    assert!(v["ParsedResults"][0]["ParsedText"].as_str().unwrap().contains("PETALING JAYA"));
}

#[test]
fn is_table_separates_cells_with_tabs() {
    let (status, v) = post_file("/parse/image", receipt(), &[("isTable", "true")]);
    assert_eq!(status, 200);
    let text = v["ParsedResults"][0]["ParsedText"].as_str().unwrap();
    assert!(text.ends_with("\t\r\n") && text.matches('\n').count() == text.matches("\t\r\n").count(), "{text:?}");
    // 517.jpg's total row: "SUB TOTAL" and its amount are separate regions.
    assert!(text.contains("SUB TOTAL\t6.00\t\r\n"), "{text:?}");
}

#[test]
fn unknown_parameter_is_exit_code_99_with_the_vendor_text() {
    let (status, v) = post_file("/parse/image", receipt(), &[("colour", "red")]);
    assert_eq!(status, 200);
    assert_eq!(v["OCRExitCode"], 99);
    assert_eq!(v["IsErroredOnProcessing"], true);
    let first = v["ErrorMessage"][0].as_str().unwrap();
    assert!(first.starts_with("Parameter name 'colour' is invalid. Valid parameters: apikey,url,language"), "{first}");
    assert_eq!(v["ErrorMessage"][1], "Please check if you need to URL encode the URL passed in request parameters.");
}

#[test]
fn bad_inputs_get_clear_errors() {
    let resp = client()
        .post(format!("{}/parse/image", server()))
        .form(&[("base64Image", "data:image/png;base64,@@@")])
        .send()
        .unwrap();
    let v: Value = resp.json().unwrap();
    assert_eq!(v["ErrorMessage"][0], "Not a valid base64 image.");

    let (_, v) = post_file("/parse/image", b"this is no image".to_vec(), &[]);
    assert_eq!(v["ErrorMessage"][0], "Unable to recognize the file type");
    let e216 = v["ErrorMessage"][1].as_str().unwrap();
    assert!(e216.starts_with("E216:Unable to detect the file extension"), "{e216}");
    assert!(e216.ends_with("The file looks like plain text."), "{e216}");
    // A declared type the content contradicts is named, not "no 'file type' provided".
    let (_, v) = post_file("/parse/image", b"this is no image".to_vec(), &[("filetype", "PNG")]);
    assert_eq!(
        v["ErrorMessage"][1],
        "E216:The file looks like plain text, not a PNG file as the 'filetype' parameter says. Please provide a JPEG, PNG, GIF, BMP, WebP, TIFF or PDF file."
    );
    let (_, v) = post_file("/parse/image", b"PK\x03\x04\x14\x00\x06\x00word/document.xml".to_vec(), &[]);
    assert!(v["ErrorMessage"][1].as_str().unwrap().contains("The file looks like a ZIP archive"), "{v}");

    let (_, v) = post_file("/parse/image", vec![0u8; 1024 * 1024 + 1], &[]);
    assert_eq!(
        v["ErrorMessage"][0],
        "File failed validation. File size exceeds the maximum permissible file size limit of 1024 KB"
    );

    let (_, v) = post_file("/parse/image", receipt()[..20_000].to_vec(), &[]);
    assert_eq!(v["IsErroredOnProcessing"], true);
    assert!(v["ErrorMessage"][0].as_str().unwrap().contains("truncated JPEG"), "{v}");

    let (_, v) = post_file("/parse/image", receipt(), &[("language", "rus")]);
    assert!(v["ErrorMessage"][0].as_str().unwrap().starts_with("E201:"), "{v}");

    let resp = client().post(format!("{}/parse/image", server())).form(&[("language", "eng")]).send().unwrap();
    let v: Value = resp.json().unwrap();
    assert_eq!(v["IsErroredOnProcessing"], true);
    assert!(v["ErrorMessage"].is_array());
}

#[test]
fn health_and_unknown_paths() {
    let v: Value = client().get(format!("{}/health", server())).send().unwrap().json().unwrap();
    assert_eq!(v["status"], "ok");
    let v: Value = client().get(format!("{}/ready", server())).send().unwrap().json().unwrap();
    assert_eq!(v["status"], "ready");
    assert_eq!(v["engines"][0], 1);
    let resp = client().get(format!("{}/nothing/here", server())).send().unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let v: Value = resp.json().unwrap();
    assert_eq!(v["IsErroredOnProcessing"], true);
}

/// `/metrics` shows the plan building documents paid and the plans each
/// model holds: the test server builds plans on first use, so once a
/// receipt is read, plan time was paid and Engine 1's detector and
/// recogniser hold plans.
#[test]
fn metrics_show_plan_building_and_the_plans_held() {
    let (status, v) = post_file("/parse/image", receipt(), &[]);
    assert_eq!((status, v["OCRExitCode"].as_i64()), (200, Some(1)), "{v}");
    let text = client().get(format!("{}/metrics", server())).send().unwrap().text().unwrap();
    let value = |wanted: &dyn Fn(&str) -> bool| -> f64 {
        let line = text.lines().find(|l| !l.starts_with('#') && wanted(l));
        let line = line.unwrap_or_else(|| panic!("no such line in /metrics:\n{text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(value(&|l| l.starts_with("ocr_plan_build_seconds_total ")) > 0.0, "{text}");
    assert!(value(&|l| l.starts_with("ocr_plan_build_seconds_max ")) > 0.0, "{text}");
    for model in ["detector", "latin_recogniser"] {
        let held =
            value(&|l| l.starts_with("ocr_model_plans{engine=\"1\"") && l.contains(&format!("model=\"{model}\"}}")));
        assert!(held >= 1.0, "engine 1 {model}: {text}");
    }
}

/// Asserts that a response read receipt 517.jpg.
fn assert_read_the_receipt(resp: reqwest::blocking::Response) {
    let v: Value = resp.json().unwrap();
    assert_eq!(v["OCRExitCode"], 1, "{v}");
    assert!(v["ParsedResults"][0]["ParsedText"].as_str().unwrap().contains("PETALING JAYA"), "{v}");
}

#[test]
fn url_input_from_a_loopback_server_by_post_and_get() {
    let url = format!("http://127.0.0.1:{}/receipt.jpg", file_server());
    assert_read_the_receipt(
        client().post(format!("{}/parse/image", server())).form(&[("url", url.as_str())]).send().unwrap(),
    );
    let hop = format!("http://127.0.0.1:{}/hop", file_server());
    let query = [("apikey", "helloworld"), ("url", hop.as_str()), ("OCREngine", "1")];
    assert_read_the_receipt(client().get(format!("{}/parse/ImageUrl", server())).query(&query).send().unwrap());
}

#[test]
fn ssrf_targets_are_refused_before_connecting() {
    let port = file_server();
    let refused = |base: &str, url: &str| {
        let v: Value =
            client().get(format!("{base}/parse/imageurl")).query(&[("url", url)]).send().unwrap().json().unwrap();
        assert_eq!(v["IsErroredOnProcessing"], true, "{url}: {v}");
        let message = v["ErrorMessage"][0].as_str().unwrap().to_string();
        assert!(message.starts_with("Unable to fetch the file from the URL"), "{url}: {message}");
        message
    };
    for (url, class) in [
        ("http://127.0.0.1/receipt.jpg", "loopback"),
        ("http://localhost/receipt.jpg", "loopback"),
        ("http://[::1]/receipt.jpg", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.1/receipt.jpg", "private"),
        ("http://[::ffff:192.168.0.1]/x.jpg", "private"),
        ("http://203.0.113.5/x.jpg", "reserved/documentation"),
        ("http://[64:ff9b::a00:1]/x.jpg", "private"),
    ] {
        let message = refused(strict_server(), url);
        assert!(message.contains(&format!("a {class} address: not fetched")), "{url}: {message}");
    }
    // Only ports 80 and 443 by default (refused before any connection).
    let message = refused(strict_server(), &format!("http://127.0.0.1:{port}/receipt.jpg"));
    assert!(message.contains(&format!("port {port} is not allowed")), "{message}");
    assert!(refused(strict_server(), "file:///etc/passwd").contains("scheme"));
    // Loopback allowed, but a redirect to a private address is still refused.
    let message = refused(server(), &format!("http://127.0.0.1:{port}/to-private"));
    assert!(message.contains("10.0.0.1") && message.contains("not fetched"), "{message}");
}

fn line_png() -> Vec<u8> {
    std::fs::read(data("lines/book_1113_010043.png")).unwrap()
}

const LINE_TEXT: &str = "and several assistants or advisers. The speaker of";

#[test]
fn every_option_is_honoured() {
    let text_of = |v: &Value| v["ParsedResults"][0]["ParsedText"].as_str().unwrap_or_default().trim().to_string();
    // Engine 2 writes integral floats in the overlay; engine 3 is served too.
    for engine in ["2", "3"] {
        let (_, v) = post_file("/parse/image", line_png(), &[("OCREngine", engine), ("isOverlayRequired", "true")]);
        assert_eq!(text_of(&v), LINE_TEXT, "engine {engine}: {v}");
        let word = &v["ParsedResults"][0]["TextOverlay"]["Lines"][0]["Words"][0];
        assert!(word["Left"].is_f64(), "engine {engine}: {word}");
    }
    // scale, detectOrientation (TextOrientation is a string), language auto and chs.
    for fields in [
        vec![("scale", "true")],
        vec![("detectOrientation", "true")],
        vec![("language", "auto")],
        vec![("language", "chs")],
        vec![("filetype", "PNG")],
    ] {
        let (_, v) = post_file("/parse/image", line_png(), &fields);
        assert_eq!(text_of(&v), LINE_TEXT, "{fields:?}: {v}");
        assert_eq!(v["ParsedResults"][0]["TextOrientation"], "0", "{fields:?}");
    }
    // A searchable PDF request gets the overlay and a link that serves a PDF.
    let (_, v) = post_file(
        "/parse/image",
        line_png(),
        &[("isCreateSearchablePdf", "true"), ("isSearchablePdfHideTextLayer", "true")],
    );
    assert_eq!(v["ParsedResults"][0]["TextOverlay"]["HasOverlay"], true);
    let link = v["SearchablePDFURL"].as_str().unwrap();
    assert!(link.starts_with(&format!("{}/pdf/", server())) && link.ends_with(".pdf"), "{link}");
    let pdf = client().get(link).send().unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().unwrap().starts_with(b"%PDF-"));
}

#[test]
fn chunked_multipart_without_content_length_is_read() {
    // A reader part has no known length: the form goes out chunked.
    let body = std::io::Cursor::new(line_png());
    let form = reqwest::blocking::multipart::Form::new()
        .text("language", "eng")
        .part("file", reqwest::blocking::multipart::Part::reader(body).file_name("line.png"));
    let resp = client().post(format!("{}/parse/image", server())).multipart(form).send().unwrap();
    let v: Value = resp.json().unwrap();
    assert_eq!(v["ParsedResults"][0]["ParsedText"].as_str().unwrap().trim(), LINE_TEXT, "{v}");
}

#[test]
fn broken_multipart_gets_the_ocr_space_envelope() {
    let resp = client()
        .post(format!("{}/parse/image", server()))
        .header("Content-Type", "multipart/form-data; boundary=XYZ")
        .body("--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\nabc")
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let v: Value = resp.json().unwrap();
    assert_eq!(v["IsErroredOnProcessing"], true, "{v}");
    assert!(v["ErrorMessage"][0].as_str().unwrap().starts_with("The request could not be read"), "{v}");
}

#[test]
fn slow_ocr_is_answered_with_exit_code_6() {
    let db = TestDb::new(backend_from_env());
    let settings = ocr_api::server::Settings { timeout: std::time::Duration::from_millis(1), ..db.settings() };
    keep_until_exit(db);
    let base = common::start(settings, None);
    let form = reqwest::blocking::multipart::Form::new()
        .part("file", reqwest::blocking::multipart::Part::bytes(receipt()).file_name("r.jpg"));
    let v: Value = client().post(format!("{base}/parse/image")).multipart(form).send().unwrap().json().unwrap();
    assert_eq!(v["OCRExitCode"], 6, "{v}");
    assert_eq!(v["ErrorMessage"][0], "Timed out waiting for results");
    assert_eq!(v["ParsedResults"], serde_json::json!([]));
}

#[test]
fn languages_follow_what_each_engine_can_read() {
    let message = |engine: &str, language: &str| {
        let (_, v) = post_file("/parse/image", line_png(), &[("OCREngine", engine), ("language", language)]);
        v["ErrorMessage"][0].as_str().map(str::to_string)
    };
    // Neither dictionary has Cyrillic, Hangul, Arabic (or enough Greek).
    for language in ["rus", "bul", "kor", "ara", "gre"] {
        for engine in ["1", "2", "3"] {
            let text = message(engine, language).unwrap_or_default();
            assert!(text.starts_with("E201:"), "{engine}/{language}: {text}");
            assert!(text.ends_with("No OCR engine on this server reads this language."), "{text}");
        }
    }
    // Engine 1 lacks the accented letters of most Western languages and the kana.
    for language in ["ger", "pol", "jpn", "cht"] {
        let text = message("1", language).unwrap_or_default();
        assert!(text.contains("OCR Engine 1 cannot read") && text.ends_with("Use OCREngine=2."), "{text}");
        assert_eq!(message("2", language), None, "engine 2 reads {language}");
    }
    assert_eq!(message("1", "eng"), None);
    assert_eq!(message("1", "chs"), None);
}

/// The receipt turned clockwise by `degrees`, as an LZW-compressed RGB TIFF.
fn turned_receipt(degrees: u16) -> Vec<u8> {
    let page = ocr_engine::decode_image(&receipt(), &Default::default()).unwrap().remove(0);
    let turned = ocr_engine::rotate_clockwise(&page, degrees);
    let mut out = std::io::Cursor::new(Vec::new());
    tiff::encoder::TiffEncoder::new(&mut out)
        .unwrap()
        .with_compression(tiff::encoder::Compression::Lzw)
        .write_image::<tiff::encoder::colortype::RGB8>(turned.width(), turned.height(), turned.as_raw())
        .unwrap();
    out.into_inner()
}

#[test]
fn detect_orientation_turns_pages_and_reports_it() {
    // TextOrientation is the clockwise turn that made the page readable.
    for (turned, expected) in [(180, "180"), (90, "270")] {
        let (_, v) = post_file("/parse/image", turned_receipt(turned), &[("detectOrientation", "true")]);
        let page = &v["ParsedResults"][0];
        assert_eq!(page["TextOrientation"], expected, "turned {turned}: {v}");
        assert!(page["ParsedText"].as_str().unwrap().contains("PETALING JAYA"), "turned {turned}: {v}");
    }
}

/// An operator adds a recogniser for more languages through configuration
/// alone: here engine 2's recogniser as an extra set of engine 1, for German.
#[test]
fn extra_model_sets_serve_the_languages_they_are_configured_for() {
    let db = TestDb::new(backend_from_env());
    let mut settings = db.settings();
    let mut extra = settings.model_sets[0].clone();
    extra.name = "engine 1 detector + PP-OCRv6 recogniser for German".into();
    extra.recognizer = "PP-OCRv6_rec_small.onnx".into();
    extra.languages = vec!["ger".into()];
    settings.model_sets.push(extra);
    keep_until_exit(db);
    let base = common::start(settings, None);
    let ask = |language: &str| -> Value {
        let form = reqwest::blocking::multipart::Form::new()
            .text("language", language.to_string())
            .part("file", reqwest::blocking::multipart::Part::bytes(line_png()).file_name("line.png"));
        client().post(format!("{base}/parse/image")).multipart(form).send().unwrap().json().unwrap()
    };
    let v = ask("ger");
    assert_eq!(v["ParsedResults"][0]["ParsedText"].as_str().unwrap().trim(), LINE_TEXT, "{v}");
    // Polish is covered by that recogniser too, but the set is configured for German only.
    let v = ask("pol");
    assert!(v["ErrorMessage"][0].as_str().unwrap().starts_with("E201:"), "{v}");
}
