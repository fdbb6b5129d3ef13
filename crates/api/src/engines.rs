//! Where the OCR models live, and building their plans at start-up.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ocr_engine::{OcrEngine, PlanJob, PlanPriority};

/// The models directory: `$OCR_MODELS_DIR`, else `./models`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("OCR_MODELS_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("models"))
}

/// How often the builder, idle, checks whether the server is gone.
const IDLE_CHECK: Duration = Duration::from_secs(5);

/// Builds the optimised plans of `engines` for pages of `page_sizes` (most
/// common first) on a background thread: the plans a default request needs
/// ([`PlanPriority::First`]) on `threads` threads at once, then `ready` is
/// set, then the others one at a time (every engine's [`PlanPriority::Soon`]
/// ones before the rest), so the server answers `/ready` within
/// seconds and the remaining plans are built while it serves.
///
/// The engines' plans are deferred ([`OcrEngine::set_defer_plans`]): a
/// request whose plan is not built yet is read with a built one that can
/// serve it, and the builder makes the plans requests wanted
/// ([`OcrEngine::wanted_plan_jobs`]) before any other, then waits for more
/// until the engines are dropped by everything but itself.
pub fn spawn_plan_builder(
    engines: Vec<(u8, Arc<OcrEngine>)>,
    page_sizes: &'static [(u32, u32)],
    threads: usize,
    ready: Arc<AtomicBool>,
) {
    engines.iter().for_each(|(_, e)| e.set_defer_plans(true));
    std::thread::spawn(move || {
        let started = Instant::now();
        let jobs: Vec<(u8, PlanJob<'_>)> =
            engines.iter().flat_map(|(n, e)| e.plan_jobs(page_sizes).into_iter().map(move |j| (*n, j))).collect();
        let (first, mut later): (Vec<_>, Vec<_>) =
            jobs.into_iter().partition(|(_, j)| j.priority == PlanPriority::First);
        later.sort_by_key(|(_, j)| j.priority);
        build_all(&first, threads);
        ready.store(true, Ordering::Release);
        tracing::info!(
            seconds = started.elapsed().as_secs_f32(),
            plans = first.len(),
            "first model plans built; ready"
        );
        for job in &later {
            build_wanted(&engines);
            build_all(std::slice::from_ref(job), 1);
        }
        tracing::info!(seconds = started.elapsed().as_secs_f32(), plans = later.len(), "remaining model plans built");
        let mut seen = 0;
        while engines.iter().any(|(_, e)| Arc::strong_count(e) > 1) {
            build_wanted(&engines);
            seen = ocr_engine::wait_for_wanted_plans(seen, IDLE_CHECK);
        }
    });
}

/// Builds the plans requests wanted but were read without, one at a time.
fn build_wanted(engines: &[(u8, Arc<OcrEngine>)]) {
    loop {
        let wanted: Vec<(u8, PlanJob<'_>)> =
            engines.iter().flat_map(|(n, e)| e.wanted_plan_jobs().into_iter().map(move |j| (*n, j))).collect();
        if wanted.is_empty() {
            return;
        }
        build_all(&wanted, 1);
    }
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
