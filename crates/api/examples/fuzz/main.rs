//! Fuzzing on stable Rust: mutates real inputs and runs them through the
//! server's parsers and decoders, each under `catch_unwind` and a time
//! limit. A panic or a slow input stops the run, prints why and saves the
//! input (the reproducer) under `target/fuzz-failures/`.
//!
//! ```text
//! cargo run --release -p ocr-api --example fuzz -- TARGET|all [INPUTS] [SEED] [SECONDS_PER_INPUT]
//! cargo run --release -p ocr-api --example fuzz -- all 100000
//! ```
//! Targets: image, pdf, multipart, urlencoded, base64, params. Defaults:
//! 100,000 inputs, seed 1, 10 s per input. The same seed gives the same inputs.
//! CI runs 10,000 inputs of each target (`cargo test -p ocr-api --test fuzz`).

mod harness;
mod rawpdf;
mod seeds;
mod targets;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use targets::{Target, ALL};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: fuzz TARGET|all [INPUTS] [SEED] [SECONDS_PER_INPUT] (targets: image pdf multipart urlencoded base64 params)";
    let Some(which) = args.first() else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let targets: Vec<Target> = match which.as_str() {
        "all" => ALL.to_vec(),
        name => match Target::from_name(name) {
            Some(t) => vec![t],
            None => {
                eprintln!("unknown target {name}; {usage}");
                return ExitCode::from(2);
            }
        },
    };
    let number = |i: usize, default: u64| args.get(i).and_then(|s| s.replace('_', "").parse().ok()).unwrap_or(default);
    let (count, seed, seconds) = (number(1, 100_000), number(2, 1), number(3, 10));
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-failures");
    for target in targets {
        match harness::run(target, count, seed, Duration::from_secs(seconds)) {
            Ok(stats) => println!("{:<10} {stats}, no failures", target.name()),
            Err(failure) => {
                let saved = failure.save(&out).map(|p| p.display().to_string()).unwrap_or_else(|e| e.to_string());
                eprintln!(
                    "{} input {} FAILED: {}\nreproducer ({} bytes): {saved}",
                    target.name(),
                    failure.index,
                    failure.reason,
                    failure.input.len()
                );
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
