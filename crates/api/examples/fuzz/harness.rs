//! The fuzzing loop: a deterministic mutator over real seed inputs, each
//! input run on a worker thread under `catch_unwind` and a time limit.
//!
//! A panic (one the code under test does not catch itself) or an input that
//! takes longer than the limit is a failure: the loop stops and returns the
//! input, which [`Failure::save`] writes to a file for a regression test.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::targets::{Runner, Target};

/// xorshift64*: small, fast, and the same sequence for the same seed everywhere.
pub struct Rng(u64);

impl Rng {
    /// A generator; a zero seed is replaced (xorshift never leaves zero).
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Numbers that often sit on boundaries: as bytes, and as ASCII.
const INTERESTING: [u64; 12] =
    [0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF];
const NUMBERS: [&str; 10] =
    ["0", "-1", "1", "255", "65535", "65536", "2147483648", "4294967296", "99999999999", "1e308"];

/// One mutated input: a seed changed by 1 to 16 random edits.
pub fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], tokens: &[&[u8]], max_len: usize) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len())].clone();
    let rounds = 1 << rng.below(5);
    for _ in 0..rounds {
        let len = data.len();
        let at = rng.below(len + 1);
        match rng.below(10) {
            0 if len > 0 => {
                let i = at.min(len - 1);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => data[at.min(len - 1)] = rng.next() as u8,
            2 => {
                let value = INTERESTING[rng.below(INTERESTING.len())];
                let width = [1, 2, 4][rng.below(3)];
                let bytes =
                    if rng.below(2) == 0 { value.to_le_bytes() } else { (value << (64 - 8 * width)).to_be_bytes() };
                let bytes = &bytes[..width];
                let end = (at + width).min(len);
                data.splice(at..end, bytes.iter().copied());
            }
            3 => {
                let n = 1 + rng.below(16);
                let fresh: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                data.splice(at..at, fresh);
            }
            4 if len > 0 => {
                let end = (at + 1 + rng.below(64)).min(len);
                data.drain(at.min(len - 1)..end);
            }
            5 if len > 0 => {
                let from = rng.below(len);
                let end = (from + 1 + rng.below(256)).min(len);
                let chunk = data[from..end].to_vec();
                data.splice(at..at, chunk);
            }
            6 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                data.truncate(at);
                data.extend_from_slice(&other[from..]);
            }
            7 if !tokens.is_empty() => {
                let token = tokens[rng.below(tokens.len())];
                data.splice(at..at, token.iter().copied());
            }
            8 => {
                // Replace a run of ASCII digits (or insert) with a boundary number.
                let start = (0..len).map(|i| (at + i) % len.max(1)).find(|&i| data[i].is_ascii_digit());
                let number = NUMBERS[rng.below(NUMBERS.len())].as_bytes();
                match start {
                    Some(s) => {
                        let end = (s..len).find(|&i| !data[i].is_ascii_digit()).unwrap_or(len);
                        data.splice(s..end, number.iter().copied());
                    }
                    None => {
                        data.splice(at..at, number.iter().copied());
                    }
                }
            }
            _ => {
                // Repeat a chunk many times (length fields and loops meet big inputs).
                if len > 0 {
                    let from = rng.below(len);
                    let end = (from + 1 + rng.below(16)).min(len);
                    let chunk = data[from..end].repeat(1 + rng.below(64));
                    data.splice(at..at, chunk);
                }
            }
        }
        data.truncate(max_len);
    }
    data
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Inputs run.
    pub inputs: u64,
    /// Inputs the code under test refused with an error (the others were accepted).
    pub errors: u64,
    /// Slowest input.
    pub slowest: Duration,
    /// Wall time of the whole run.
    pub elapsed: Duration,
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} inputs ({} refused with an error), slowest {:?}, {:.1} s",
            self.inputs,
            self.errors,
            self.slowest,
            self.elapsed.as_secs_f64()
        )
    }
}

/// An input that panicked or ran too long.
#[derive(Debug)]
pub struct Failure {
    /// The target.
    pub target: Target,
    /// Which input of the run (0-based).
    pub index: u64,
    /// The input itself.
    pub input: Vec<u8>,
    /// The panic message, or the time it took.
    pub reason: String,
}

impl Failure {
    /// Writes the input to `dir/<target>-<index>.bin` and returns the path.
    pub fn save(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(format!("{}-{}.bin", self.target.name(), self.index));
        std::fs::write(&path, &self.input)?;
        Ok(path)
    }
}

/// Runs `count` mutated inputs against `target` with the given seed; each
/// input may take at most `limit`. Panics of the code under test are
/// reported without their default message (the harness prints them).
pub fn run(target: Target, count: u64, seed: u64, limit: Duration) -> Result<Stats, Failure> {
    quiet_panics_on_workers();
    let seeds = target.seeds();
    let tokens = target.tokens();
    let (to_worker, inputs) = mpsc::channel::<Vec<u8>>();
    let (to_main, outcomes) = mpsc::channel::<Result<bool, String>>();
    std::thread::Builder::new()
        .name(WORKER.into())
        .spawn(move || {
            let mut runner = Runner::new(target);
            for input in inputs {
                let outcome = catch_unwind(AssertUnwindSafe(|| runner.run(&input))).map_err(|p| panic_text(&*p));
                if to_main.send(outcome).is_err() {
                    break;
                }
            }
        })
        .expect("spawn the fuzz worker");
    let mut rng = Rng::new(seed ^ (target as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut stats = Stats { inputs: 0, errors: 0, slowest: Duration::ZERO, elapsed: Duration::ZERO };
    let started = Instant::now();
    for index in 0..count {
        // The seeds themselves go first, unchanged.
        let input = match seeds.get(index as usize) {
            Some(seed) => seed.clone(),
            None => mutate(&mut rng, &seeds, &tokens, target.max_len()),
        };
        let clock = Instant::now();
        to_worker.send(input.clone()).expect("the fuzz worker is alive");
        let failure = |reason: String| Failure { target, index, input: input.clone(), reason };
        match outcomes.recv_timeout(limit) {
            Ok(Ok(accepted)) => stats.errors += u64::from(!accepted),
            Ok(Err(message)) => return Err(failure(format!("panicked: {message}"))),
            // The worker is stuck in the input; it is left behind (the process ends soon).
            Err(_) => return Err(failure(format!("took longer than {limit:?}"))),
        }
        stats.slowest = stats.slowest.max(clock.elapsed());
        stats.inputs += 1;
    }
    stats.elapsed = started.elapsed();
    Ok(stats)
}

const WORKER: &str = "fuzz-worker";

/// Installs (once) a panic hook that stays silent on fuzz workers (their
/// panics are caught and reported with the input) and behaves as the
/// default hook elsewhere.
fn quiet_panics_on_workers() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() != Some(WORKER) {
                default(info);
            }
        }));
    });
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-text payload".into())
}
