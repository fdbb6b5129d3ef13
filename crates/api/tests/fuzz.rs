//! CI fuzzing: 10,000 mutated inputs of every target with a fixed seed
//! (the harness of `examples/fuzz`; run it with more inputs from the
//! command line, see there). A panic or an input slower than the limit fails
//! the test and saves the input under `target/fuzz-failures/`.

#[path = "../examples/fuzz/harness.rs"]
mod harness;
#[path = "../examples/fuzz/rawpdf.rs"]
mod rawpdf;
#[path = "../examples/fuzz/seeds.rs"]
mod seeds;
// The command line's target names are not used here.
#[allow(dead_code)]
#[path = "../examples/fuzz/targets.rs"]
mod targets;

use std::time::Duration;

use targets::Target;

const INPUTS: u64 = 10_000;
const SEED: u64 = 0x5EED;

fn fuzz(target: Target) {
    // Generous for the debug profile; typical inputs take milliseconds.
    match harness::run(target, INPUTS, SEED, Duration::from_secs(20)) {
        Ok(stats) => println!("{}: {stats}", target.name()),
        Err(failure) => {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-failures");
            let saved = failure.save(&dir).map(|p| p.display().to_string()).unwrap_or_else(|e| e.to_string());
            panic!("{} input {} failed: {}; reproducer saved as {saved}", target.name(), failure.index, failure.reason);
        }
    }
}

#[test]
fn image_decoding() {
    fuzz(Target::Image);
}

#[test]
fn pdf_reading() {
    fuzz(Target::Pdf);
}

#[test]
fn multipart_bodies() {
    fuzz(Target::Multipart);
}

#[test]
fn urlencoded_bodies() {
    fuzz(Target::Urlencoded);
}

#[test]
fn base64_images() {
    fuzz(Target::Base64);
}

#[test]
fn parameters() {
    fuzz(Target::Params);
}

#[test]
fn the_mutator_is_deterministic() {
    let seeds = vec![b"hello world 123".to_vec(), b"<< /Length 4 >>".to_vec()];
    let tokens: Vec<&[u8]> = vec![b"obj"];
    let run = |seed| {
        let mut rng = harness::Rng::new(seed);
        (0..50).map(|_| harness::mutate(&mut rng, &seeds, &tokens, 4096)).collect::<Vec<_>>()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}
