//! Hostile inputs against the real server (built here, small): nested Form
//! XObjects, and a request that times out, whose job must stop and free its
//! worker; `/metrics` reports both. One test per concern, one server each;
//! this file is its own test binary so the CPU-time check sees only its server.

mod common;
#[path = "../examples/fuzz/rawpdf.rs"]
mod rawpdf;

use std::time::{Duration, Instant};

use common::{backend_from_env, client, data, keep_until_exit, TestDb};
use ocr_pdf::{write_searchable_pdf, PageImage, PdfPage, TextLayer};
use serde_json::Value;

/// `pages` scanned pages (the receipt JPEG), each needing OCR.
fn scanned_pdf(pages: usize) -> Vec<u8> {
    let jpeg = std::fs::read(data("receipts/503.jpg")).unwrap();
    let page = PdfPage { image: PageImage::jpeg(jpeg).unwrap().with_dpi(300.0, 300.0), lines: vec![] };
    write_searchable_pdf(&vec![page; pages], TextLayer::Hidden).unwrap()
}

fn post(base: &str, key: &str, name: &str, bytes: Vec<u8>) -> Value {
    let form = reqwest::blocking::multipart::Form::new()
        .text("apikey", key.to_owned())
        .part("file", reqwest::blocking::multipart::Part::bytes(bytes).file_name(name.to_owned()));
    client().post(format!("{base}/parse/image")).multipart(form).send().unwrap().json().unwrap()
}

/// The value of one line of `/metrics`.
fn metric(base: &str, name: &str) -> u64 {
    let text = client().get(format!("{base}/metrics")).send().unwrap().text().unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("{name} not in /metrics:\n{text}"))
}

/// CPU time (user + system) this process has used.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

#[test]
fn nested_forms_are_refused_with_a_clear_error() {
    let db = TestDb::new(backend_from_env());
    let settings = db.settings();
    keep_until_exit(db);
    let base = common::start(settings, None);
    let pdf = rawpdf::nested_forms(22, 8);
    assert!(pdf.len() < 8 << 10, "{}", pdf.len());
    let started = Instant::now();
    let v = post(&base, "helloworld", "nested.pdf", pdf);
    println!("nested forms answered in {:?}: {v}", started.elapsed());
    assert_eq!(v["OCRExitCode"], 3, "{v}");
    let message = v["ErrorMessage"][0].as_str().unwrap();
    assert!(message.contains("more than 5000000 drawing operations"), "{message}");
}

/// The GIF: a 6000 × 6000 canvas and three 1 × 1 frames (89 bytes).
fn big_canvas_gif() -> Vec<u8> {
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&6000u16.to_le_bytes());
    gif.extend_from_slice(&6000u16.to_le_bytes());
    gif.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 255, 255, 255]);
    for (x, y) in [(10u16, 10u16), (5000, 20), (30, 5999)] {
        gif.extend_from_slice(&[0x21, 0xF9, 4, 4, 10, 0, 0, 0, 0x2C]);
        for v in [x, y, 1, 1] {
            gif.extend_from_slice(&v.to_le_bytes());
        }
        gif.extend_from_slice(&[0, 2, 2, 0x44, 0x01, 0]);
    }
    gif.push(0x3B);
    gif
}

#[test]
fn a_gif_of_tiny_frames_on_a_huge_canvas_is_refused() {
    let db = TestDb::new(backend_from_env());
    let settings = db.settings();
    keep_until_exit(db);
    let base = common::start(settings, None);
    let v = post(&base, "helloworld", "canvas.gif", big_canvas_gif());
    assert_eq!(v["OCRExitCode"], 3, "{v}");
    let message = v["ErrorMessage"][0].as_str().unwrap();
    assert!(message.contains("more than 64000000 pixels"), "{message}");
}

#[test]
fn a_timed_out_job_stops_and_frees_its_worker() {
    let db = TestDb::new(backend_from_env());
    let settings = ocr_api::server::Settings { workers: 1, timeout: Duration::from_secs(8), ..db.settings() };
    // A PRO PDF key: 999 pages and large files.
    let key = common::block_on(db.store().create_key("pro_pdf", "hostile")).unwrap().secret;
    keep_until_exit(db);
    let base = common::start(settings, None);
    assert_eq!(metric(&base, "ocr_workers "), 1);
    let line = || std::fs::read(data("lines/book_1113_010043.png")).unwrap();
    // Builds the model plans for the line's size, so the last request is quick.
    assert_eq!(post(&base, &key, "line.png", line())["OCRExitCode"], 1);

    // Forty receipt pages take far longer than the timeout.
    let started = Instant::now();
    let v = post(&base, &key, "long.pdf", scanned_pdf(40));
    assert_eq!(v["OCRExitCode"], 6, "{v}");
    let answered = started.elapsed();

    // The job notices its cancellation between lines and pages.
    let stopping = Instant::now();
    while metric(&base, "ocr_workers_busy ") != 0 {
        assert!(stopping.elapsed() < Duration::from_secs(10), "the cancelled job still runs");
        std::thread::sleep(Duration::from_millis(50));
    }
    let stopped = stopping.elapsed();
    assert_eq!(metric(&base, "ocr_jobs_timed_out_total "), 1);

    // Nothing keeps working in the background.
    let before = cpu_time();
    std::thread::sleep(Duration::from_secs(1));
    let idle = cpu_time() - before;
    println!("timeout answered after {answered:?}, worker free {stopped:?} later, CPU in the next second {idle:?}");
    assert!(idle < Duration::from_millis(300), "the process used {idle:?} of CPU while idle");

    // The one worker serves the next request.
    let v = post(&base, &key, "line.png", line());
    assert_eq!(v["OCRExitCode"], 1, "{v}");
}

#[test]
fn a_client_that_goes_away_cancels_its_job() {
    use std::io::Write;
    let db = TestDb::new(backend_from_env());
    let settings = ocr_api::server::Settings { workers: 1, timeout: Duration::from_secs(300), ..db.settings() };
    let key = common::block_on(db.store().create_key("pro_pdf", "hostile")).unwrap().secret;
    keep_until_exit(db);
    let base = common::start(settings, None);

    let boundary = "goneAway42";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"apikey\"\r\n\r\n{key}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"long.pdf\"\r\n\r\n"
    )
    .into_bytes();
    body.extend(scanned_pdf(40));
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let address = base.trim_start_matches("http://");
    let mut socket = std::net::TcpStream::connect(address).unwrap();
    let head = format!(
        "POST /parse/image HTTP/1.1\r\nHost: {address}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).unwrap();
    socket.write_all(&body).unwrap();
    let started = Instant::now();
    while metric(&base, "ocr_workers_busy ") != 1 {
        assert!(started.elapsed() < Duration::from_secs(60), "the job never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(socket);
    let gone = Instant::now();
    while metric(&base, "ocr_workers_busy ") != 0 {
        assert!(gone.elapsed() < Duration::from_secs(10), "the abandoned job still runs");
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("worker free {:?} after the client went away", gone.elapsed());
    assert_eq!(metric(&base, "ocr_jobs_abandoned_total "), 1);
    let line = std::fs::read(data("lines/book_1113_010043.png")).unwrap();
    assert_eq!(post(&base, &key, "line.png", line)["OCRExitCode"], 1);
}
