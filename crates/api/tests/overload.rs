//! Overload: a loopback load generator (bounded: 24 requests at once, one
//! round) against a server whose pool holds 2 jobs (1 worker + 1 queued).
//! Requests beyond the pool are refused at once with 503 "server busy",
//! the admitted ones are read, and the server serves normally afterwards.
//! Latencies are printed, not asserted (figures belong in reports).
//! A full pool refuses a request at once, before its key is looked up or
//! its body read (header key or form-field key); the load generator
//! (`examples/loadgen`) measures the figures over 60 s.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{client, data, start, Backend, TestDb};
use ocr_api::server::Settings;
use ocr_api::service::load_engines;
use serde_json::Value;

fn post(base: &str, image: Vec<u8>) -> (u16, Value, Duration) {
    let started = Instant::now();
    let form = reqwest::blocking::multipart::Form::new()
        .part("file", reqwest::blocking::multipart::Part::bytes(image).file_name("receipt.jpg"));
    let resp = client().post(format!("{base}/parse/image")).header("apikey", "helloworld").multipart(form).send();
    let resp = resp.unwrap();
    let status = resp.status().as_u16();
    let v: Value = resp.json().unwrap();
    (status, v, started.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[test]
fn requests_beyond_the_pool_are_refused_fast_with_503() {
    let db = TestDb::new(Backend::Sqlite);
    let settings = Settings { workers: 1, queue: 1, ..db.settings() };
    let engines = load_engines(&common::models_dir(), &settings.model_sets[..1]).unwrap();
    let base = start(settings, Some(engines));
    let image = std::fs::read(data("receipts/503.jpg")).unwrap();
    // Unloaded: one request alone.
    let (status, v, alone) = post(&base, image.clone());
    assert_eq!((status, v["OCRExitCode"].as_i64()), (200, Some(1)), "{v}");
    const CONCURRENT: usize = 24;
    let started = Instant::now();
    let outcomes: Vec<(u16, Value, Duration)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CONCURRENT).map(|_| scope.spawn(|| post(&base, image.clone()))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let wall = started.elapsed();
    let mut served = Vec::new();
    let mut refused = Vec::new();
    for (status, v, latency) in &outcomes {
        match status {
            200 if v["OCRExitCode"] == 1 => served.push(*latency),
            503 => {
                assert_eq!(v["ErrorMessage"][0], "Server busy: the OCR queue is full. Please retry in a few seconds.");
                refused.push(*latency)
            }
            _ => panic!("unexpected answer {status}: {v}"),
        }
    }
    served.sort();
    refused.sort();
    println!(
        "overload: {CONCURRENT} at once on a pool of 1 worker + 1 queued, {wall:?} in all; alone {alone:?}; \
         served {} (p50 {:?}, max {:?}); refused {} with 503 (p50 {:?}, p99 {:?}, max {:?})",
        served.len(),
        percentile(&served, 0.5),
        served.last().copied().unwrap_or_default(),
        refused.len(),
        percentile(&refused, 0.5),
        percentile(&refused, 0.99),
        refused.last().copied().unwrap_or_default(),
    );
    assert!(served.len() >= 2, "the pool's two places were used");
    assert!(refused.len() >= CONCURRENT / 2, "most of the excess was refused");
    assert_eq!(served.len() + refused.len(), CONCURRENT);
    // Refusals do not wait for the OCR in progress.
    assert!(refused.last().unwrap() < served.last().unwrap());
    let (status, v, _) = post(&base, image);
    assert_eq!((status, v["OCRExitCode"].as_i64()), (200, Some(1)), "served again after the load: {v}");
}

/// `pages` scanned pages (the receipt JPEG), each needing OCR.
fn scanned_pdf(pages: usize) -> Vec<u8> {
    use ocr_pdf::{write_searchable_pdf, PageImage, PdfPage, TextLayer};
    let jpeg = std::fs::read(data("receipts/503.jpg")).unwrap();
    let page = PdfPage { image: PageImage::jpeg(jpeg).unwrap().with_dpi(300.0, 300.0), lines: vec![] };
    write_searchable_pdf(&vec![page; pages], TextLayer::Hidden).unwrap()
}

/// The value of one line of `/metrics`.
fn metric(base: &str, name: &str) -> u64 {
    let text = client().get(format!("{base}/metrics")).send().unwrap().text().unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("{name} not in /metrics:\n{text}"))
}

/// Sends `head` and `start` of a body whose `Content-Length` promises far
/// more, then waits (at most 10 s) for the answer without sending the rest;
/// returns the answer's head and body, and the time it took.
fn answer_to_unfinished_upload(base: &str, head: &str, start: &[u8]) -> (String, Duration) {
    let address = base.trim_start_matches("http://");
    let mut socket = TcpStream::connect(address).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    socket.write_all(head.as_bytes()).unwrap();
    socket.write_all(start).unwrap();
    let sent = Instant::now();
    let mut reader = BufReader::new(socket);
    let mut answer = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => panic!("no answer {:?} after the head (the body was awaited?): {e}", sent.elapsed()),
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
        answer.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    answer.push_str(&String::from_utf8_lossy(&body));
    (answer, sent.elapsed())
}

/// With the only worker busy (no queue), a request is refused with 503
/// "server busy" while its body has not even been sent, whether the key
/// comes in the header or as the first form field, on `/parse/image`, `/ocr`
/// and `/kie`; the refusals are counted
/// on `/metrics` as before the body. Once the worker is free, the next
/// request is served.
#[test]
fn a_full_pool_refuses_before_the_body_is_read() {
    let db = TestDb::new(Backend::Sqlite);
    let settings = Settings { workers: 1, queue: 0, timeout: Duration::from_secs(300), ..db.settings() };
    let created = common::block_on(db.store().create_key("pro_pdf", "overload")).unwrap();
    let (key, key_id) = (created.secret, created.key.id);
    let engines = load_engines(&common::models_dir(), &settings.model_sets[..1]).unwrap();
    let base = start(settings, Some(engines));
    let address = base.trim_start_matches("http://").to_string();

    // Forty receipt pages keep the one worker busy for far longer than this test.
    let boundary = "fullPool42";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"apikey\"\r\n\r\n{key}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"long.pdf\"\r\n\r\n"
    )
    .into_bytes();
    body.extend(scanned_pdf(40));
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let mut long = TcpStream::connect(&address).unwrap();
    let head = format!(
        "POST /parse/image HTTP/1.1\r\nHost: {address}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    long.write_all(head.as_bytes()).unwrap();
    long.write_all(&body).unwrap();
    let started = Instant::now();
    while metric(&base, "ocr_workers_busy ") != 1 {
        assert!(started.elapsed() < Duration::from_secs(60), "the long job never started");
        std::thread::sleep(Duration::from_millis(20));
    }

    // The key in the header: refused on the head alone (1 MB promised, none sent).
    let head = format!(
        "POST /parse/image HTTP/1.1\r\nHost: {address}\r\napikey: {key}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 1048576\r\n\r\n"
    );
    let (answer, header_key) = answer_to_unfinished_upload(&base, &head, b"");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("Server busy: the OCR queue is full."), "{answer}");

    // The key as the first form field: refused before the file part arrives.
    let start_of_body = format!("--XyZ\r\nContent-Disposition: form-data; name=\"apikey\"\r\n\r\n{key}\r\n--XyZ\r\n");
    let head = format!(
        "POST /parse/image HTTP/1.1\r\nHost: {address}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 1048576\r\n\r\n"
    );
    let (answer, form_key) = answer_to_unfinished_upload(&base, &head, start_of_body.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("Server busy: the OCR queue is full."), "{answer}");
    println!("full pool: refused before the body in {header_key:?} (header key), {form_key:?} (form-field key)");

    // The docTR endpoints refuse the same way, in their own error shape.
    for endpoint in ["ocr", "kie"] {
        let head = format!(
            "POST /{endpoint} HTTP/1.1\r\nHost: {address}\r\napikey: {key}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 1048576\r\n\r\n"
        );
        let (answer, took) = answer_to_unfinished_upload(&base, &head, b"");
        assert!(answer.starts_with("HTTP/1.1 503"), "/{endpoint}: {answer}");
        assert!(answer.contains(r#"{"detail":"Server busy: the OCR queue is full."#), "/{endpoint}: {answer}");
        println!("full pool: /{endpoint} refused before the body in {took:?}");
    }
    assert_eq!(metric(&base, "ocr_refused_before_body_total "), 4);
    assert_eq!(metric(&base, "ocr_refused_after_body_total "), 0);

    // The long job's client goes away: its job is cancelled, the worker freed, the next request served.
    drop(long);
    let gone = Instant::now();
    while metric(&base, "ocr_workers_busy ") != 0 {
        assert!(gone.elapsed() < Duration::from_secs(20), "the abandoned job still runs");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Never answered, so not counted: its hold on the quota is given back.
    let usage = || common::block_on(db.store().usage(Some(&key_id))).unwrap()[0].clone();
    while usage().reserved != 0 {
        assert!(gone.elapsed() < Duration::from_secs(20), "the abandoned request still holds quota");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(usage().requests, 0, "a request whose client went away is not counted");
    let image = std::fs::read(data("lines/book_1113_010043.png")).unwrap();
    let (status, v, _) = post(&base, image);
    assert_eq!((status, v["OCRExitCode"].as_i64()), (200, Some(1)), "served once the worker is free: {v}");
}
