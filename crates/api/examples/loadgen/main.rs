//! Load generator for issue 12's overload, soak and crash figures. It
//! starts a real `ocr-server serve` (engine 1, SQLite, an enterprise key
//! made with `ocr-server keys create`) on 127.0.0.1 in a fresh directory,
//! drives it over loopback only, and prints the figures. Every run is
//! bounded in time and request count.
//!
//! ```text
//! cargo build --release -p ocr-api --bins --examples
//! target/release/examples/loadgen overload [--seconds 60] [--factor 4] [--workers 2] [--queue 2]
//! target/release/examples/loadgen soak [--requests 10000] [--warmup 3000] [--clients 4]
//! target/release/examples/loadgen crash [--seconds 10] [--clients 4]
//! ```
//! Options: `--server PATH` (default: `ocr-server` beside the example's own
//! directory, i.e. the same profile's build), `--data DIR` (the corpus,
//! default `$OCR_DATA_DIR` or `../shared/data`), `--models DIR` (default
//! `$OCR_MODELS_DIR` or `./models`). Run from the repository root.
//!
//! - **overload**: warms up, measures the unloaded latency (48 requests one
//!   at a time: text lines, every eighth a small receipt), derives the pool's
//!   throughput (workers / mean latency) and sends requests at `factor` times
//!   that rate for `seconds` (open loop: arrivals do not wait for answers; at
//!   most 16 x the pool's places in flight). Prints refusal (503) and admitted
//!   (200) latency p50/p99, admitted p99 over unloaded p99, and VmRSS every 5 s.
//! - **soak**: `requests` requests from `clients` clients in a closed loop,
//!   mixing valid OCR, invalid parameters and hostile inputs (see
//!   `requests::SOAK_MIX`); prints every answer kind and the RSS growth from
//!   the end of the warm-up to the end.
//! - **crash**: issues 5 searchable-PDF links, then runs `clients` clients
//!   for `seconds`, `kill -9`s the server, restarts it on the same database
//!   and PDF directory and prints usage counters against the 200 answers,
//!   partial and orphaned files, and whether the earlier links download.

mod modes;
#[path = "../fuzz/rawpdf.rs"]
#[allow(dead_code)]
mod rawpdf;
mod requests;
mod server;
#[path = "../../tests/support/server_process.rs"]
mod server_process;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use modes::Options;
use server::{fresh_dir, ServerSpec};

const USAGE: &str = "usage: loadgen overload|soak|crash [--seconds N] [--factor X] [--requests N] [--warmup N] \
                     [--clients N] [--workers N] [--queue N] [--server PATH] [--data DIR] [--models DIR]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = args.first().cloned() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let option = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let number = |name: &str, default: f64| option(name).and_then(|v| v.parse::<f64>().ok()).unwrap_or(default);
    let workers = number("--workers", 2.0) as usize;
    let spec = ServerSpec {
        binary: option("--server").map(PathBuf::from).unwrap_or_else(default_server),
        dir: fresh_dir(&mode),
        workers,
        queue: number("--queue", workers as f64) as usize,
        models: option("--models")
            .or_else(|| std::env::var("OCR_MODELS_DIR").ok())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("models")),
    };
    let data = option("--data")
        .or_else(|| std::env::var("OCR_DATA_DIR").ok())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    let crash = mode == "crash";
    let options = Options {
        seconds: number("--seconds", if crash { 10.0 } else { 60.0 }) as u64,
        factor: number("--factor", 4.0),
        requests: number("--requests", 10_000.0) as usize,
        warmup: number("--warmup", 3000.0) as usize,
        clients: number("--clients", 4.0) as usize,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let key = spec.create_key()?;
        let inputs = Arc::new(requests::Inputs::load(&data, key)?);
        match mode.as_str() {
            "overload" => modes::overload(&spec, inputs, &options).await,
            "soak" => modes::soak(&spec, inputs, &options).await,
            "crash" => modes::crash(&spec, inputs, &options).await,
            other => Err(format!("unknown mode {other}; {USAGE}")),
        }
    });
    let _ = std::fs::remove_dir_all(&spec.dir);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `ocr-server` of the same build as this example (`target/PROFILE/`).
fn default_server() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(|dir| dir.join("ocr-server")))
        .unwrap_or_else(|| PathBuf::from("ocr-server"))
}
