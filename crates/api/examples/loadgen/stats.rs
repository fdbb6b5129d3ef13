//! Latency percentiles and the tallies the load generator prints.

use std::collections::BTreeMap;
use std::time::Duration;

use super::requests::{Kind, Outcome};

/// The `p`-quantile (0..=1) of `values` (nearest rank; zero when empty).
pub fn percentile(values: &[Duration], p: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = values.to_vec();
    sorted.sort();
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// `p50 12 ms, p99 48 ms, max 60 ms (n=123)`.
pub fn summary(values: &[Duration]) -> String {
    let max = values.iter().max().copied().unwrap_or_default();
    format!(
        "p50 {}, p99 {}, max {} (n={})",
        ms(percentile(values, 0.5)),
        ms(percentile(values, 0.99)),
        ms(max),
        values.len()
    )
}

/// A duration in milliseconds, one decimal below 10 ms.
pub fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1000.0;
    if v < 10.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.0} ms")
    }
}

/// Answers per kind and status, with one example message each.
#[derive(Default)]
pub struct Tally {
    counts: BTreeMap<(Kind, u16, Option<i64>), (usize, String)>,
}

impl Tally {
    /// Counts one outcome.
    pub fn add(&mut self, o: &Outcome) {
        let entry = self.counts.entry((o.kind, o.status, o.exit_code)).or_insert((0, o.message.clone()));
        entry.0 += 1;
    }

    /// Answers that no request should get: no answer at all, a 500, or an
    /// OCR success for an input that must be refused.
    pub fn unexpected(&self) -> usize {
        self.counts
            .iter()
            .filter(|((kind, status, exit), _)| {
                let ocr = matches!(kind, Kind::Line | Kind::Receipt | Kind::LineWithPdf);
                *status == 0 || (*status >= 500 && *status != 503) || (!ocr && *exit == Some(1))
            })
            .map(|(_, (n, _))| n)
            .sum()
    }

    /// One line per (kind, status, exit code).
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for ((kind, status, exit), (n, message)) in &self.counts {
            let exit = exit.map_or("-".to_string(), |e| e.to_string());
            let message: String = message.chars().take(110).collect();
            out.push_str(&format!("    {kind:?}: HTTP {status}, exit {exit}: {n} x  {message}\n"));
        }
        out
    }
}
