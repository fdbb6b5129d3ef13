//! Where the OCR models live, and building their plans at start-up.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use ocr_engine::{OcrEngine, PlanJob, PlanPriority};

/// The models directory: `$OCR_MODELS_DIR`, else `./models`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("OCR_MODELS_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("models"))
}

/// Builds the optimised plans of `engines` for pages of `page_sizes` (most
/// common first) on a background thread: the plans a default request needs
/// ([`PlanPriority::First`]) on `threads` threads at once, then `ready` is
/// set, then the others one at a time, so the server answers `/ready` within
/// seconds and the remaining plans are built while it serves.
pub fn spawn_plan_builder(
    engines: Vec<(u8, Arc<OcrEngine>)>,
    page_sizes: &'static [(u32, u32)],
    threads: usize,
    ready: Arc<AtomicBool>,
) {
    std::thread::spawn(move || {
        let started = Instant::now();
        let jobs: Vec<(u8, PlanJob<'_>)> =
            engines.iter().flat_map(|(n, e)| e.plan_jobs(page_sizes).into_iter().map(move |j| (*n, j))).collect();
        let (first, later): (Vec<_>, Vec<_>) = jobs.into_iter().partition(|(_, j)| j.priority == PlanPriority::First);
        build_all(&first, threads);
        ready.store(true, Ordering::Release);
        tracing::info!(
            seconds = started.elapsed().as_secs_f32(),
            plans = first.len(),
            "first model plans built; ready"
        );
        build_all(&later, 1);
        tracing::info!(seconds = started.elapsed().as_secs_f32(), plans = later.len(), "remaining model plans built");
    });
}

/// Builds `jobs` on `threads` threads, each taking the next job in turn.
fn build_all(jobs: &[(u8, PlanJob<'_>)], threads: usize) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, jobs.len().max(1)) {
            s.spawn(|| {
                while let Some((engine, job)) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let clock = Instant::now();
                    match job.build() {
                        Ok(()) => tracing::debug!(
                            engine,
                            kind = job.kind,
                            shape = ?job.shape,
                            ms = clock.elapsed().as_millis() as u64,
                            "model plan built"
                        ),
                        Err(e) => tracing::error!(engine, kind = job.kind, shape = ?job.shape, error = %e, "building a model plan failed"),
                    }
                }
            });
        }
    });
}
