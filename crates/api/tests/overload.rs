//! Overload: a loopback load generator (bounded: 24 requests at once, one
//! round) against a server whose pool holds 2 jobs (1 worker + 1 queued).
//! Requests beyond the pool are refused at once with 503 "server busy",
//! the admitted ones are read, and the server serves normally afterwards.
//! Latencies are printed, not asserted (figures belong in reports).

mod common;

use std::time::{Duration, Instant};

use common::{client, data, start, Backend, TestDb};
use ocr_api::server::{load_engines, Settings};
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
