//! The optimised plans an engine uses, as jobs a caller can build ahead of
//! time, in the order requests need them, on as many threads as it likes;
//! with deferred plans ([`OcrEngine::set_defer_plans`]), the plans requests
//! wanted but were read without, for a background builder.

use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use super::OcrEngine;
use crate::Result;

/// How many times, in this process, a request was read without a plan it
/// wanted (see [`wait_for_wanted_plans`]).
fn wants() -> &'static (Mutex<u64>, Condvar) {
    static WANTS: OnceLock<(Mutex<u64>, Condvar)> = OnceLock::new();
    WANTS.get_or_init(Default::default)
}

/// Notes that a request was read without a plan it wanted.
pub(crate) fn plans_wanted() {
    let (count, changed) = wants();
    if let Ok(mut n) = count.lock() {
        *n += 1;
        changed.notify_all();
    }
}

/// Waits until some engine of this process notes a wanted plan (see
/// [`OcrEngine::wanted_plan_jobs`]) after the count `seen`, or `timeout`
/// passes. Returns the count now: pass it as `seen` next time (0 at first).
pub fn wait_for_wanted_plans(seen: u64, timeout: Duration) -> u64 {
    let (count, changed) = wants();
    let Ok(n) = count.lock() else { return seen };
    match changed.wait_timeout_while(n, timeout, |n| *n == seen) {
        Ok((n, _)) => *n,
        Err(_) => seen,
    }
}

/// How soon a plan is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PlanPriority {
    /// Needed by a default request (Latin script): the recogniser's width
    /// buckets, the line classifier, the square detector shape every page
    /// fits (padded, until its own is built). A server builds these before
    /// it is ready.
    First,
    /// Lets other requests run without building a plan while theirs are
    /// built (the other recogniser's widest bucket, which every crop it reads
    /// can be padded to): a server builds these first once it is ready.
    Soon,
    /// Needed by other requests (other scripts, the common page sizes'
    /// own detector shapes): a server builds these in the background once it
    /// is ready.
    Later,
}

/// One optimised plan to build.
pub struct PlanJob<'a> {
    /// What the plan is for (`"detector"`, `"recogniser"`, `"latin recogniser"`, `"classifier"`).
    pub kind: &'static str,
    /// The model input shape (`[N, C, H, W]`).
    pub shape: [usize; 4],
    /// When it is needed.
    pub priority: PlanPriority,
    build: Box<dyn Fn() -> Result<()> + Send + Sync + 'a>,
}

impl PlanJob<'_> {
    /// Builds the plan (a no-op when it is already built).
    pub fn build(&self) -> Result<()> {
        (self.build)()
    }
}

impl std::fmt::Debug for PlanJob<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?} ({:?})", self.kind, self.shape, self.priority)
    }
}

impl OcrEngine {
    /// Every plan this engine uses for pages of `page_sizes` (the first
    /// size is the most common), each with its priority: the recogniser a
    /// default (Latin) request reads with, the classifier and the detector
    /// shape every page fits ([`crate::detection::Detector::cover_shape`],
    /// kept for good) come [`PlanPriority::First`], the other recogniser's
    /// widest bucket [`PlanPriority::Soon`]. Jobs are in order of priority.
    pub fn plan_jobs(&self, page_sizes: &[(u32, u32)]) -> Vec<PlanJob<'_>> {
        use PlanPriority::{First, Later, Soon};
        let mut jobs = Vec::new();
        let height = self.recognizer.config().height as usize;
        let latin = self.latin_recognizer.as_ref().map(|r| (r, "latin recogniser", First));
        let full = (&self.recognizer, "recogniser", if latin.is_some() { Later } else { First });
        for (recognizer, kind, priority) in latin.into_iter().chain([full]) {
            let widest = recognizer.config().widest_bucket();
            for &width in &recognizer.config().width_buckets {
                jobs.push(PlanJob {
                    kind,
                    shape: [1, 3, height, width as usize],
                    priority: if priority == Later && width == widest { Soon } else { priority },
                    build: Box::new(move || recognizer.prepare_width(width)),
                });
            }
        }
        if let Some(classifier) = &self.classifier {
            let [h, w] = [crate::classifier::CLASSIFIER_HEIGHT, crate::classifier::CLASSIFIER_WIDTH];
            jobs.push(PlanJob {
                kind: "classifier",
                shape: [1, 3, h as usize, w as usize],
                priority: First,
                build: Box::new(move || classifier.prepare()),
            });
        }
        let cover = self.detector.cover_shape();
        jobs.push(PlanJob {
            kind: "detector",
            shape: cover,
            priority: First,
            build: Box::new(move || self.detector.prepare_cover()),
        });
        let mut shapes = vec![cover];
        for &(w, h) in page_sizes {
            let (ww, wh, _) = self.working_size(w, h);
            let g = self.detector.input_geometry(ww, wh);
            let shape = [1, 3, g.tensor_height as usize, g.tensor_width as usize];
            if shapes.contains(&shape) {
                continue;
            }
            shapes.push(shape);
            jobs.push(PlanJob {
                kind: "detector",
                shape,
                priority: Later,
                build: Box::new(move || self.detector.prepare(ww, wh)),
            });
        }
        jobs.sort_by_key(|j| j.priority);
        jobs
    }

    /// With deferred plans: turns them on or off for this engine's detector
    /// and recognisers. On, a request never builds a plan when a built one
    /// can serve it: a page is padded into (or, failing that, scaled down by
    /// at most 2x into) a built detector input, a crop padded to a wider
    /// built width bucket; the plans it wanted are listed by
    /// [`OcrEngine::wanted_plan_jobs`] for a background builder. Only an
    /// input nothing built can serve builds its plan in the request. Off
    /// (the default), every input builds its own plan on first use.
    pub fn set_defer_plans(&self, defer: bool) {
        self.detector.set_defer_plans(defer);
        self.recognizer.set_defer_plans(defer);
        if let Some(latin) = &self.latin_recognizer {
            latin.set_defer_plans(defer);
        }
    }

    /// The plans requests wanted since the last call but were read without
    /// (with [`OcrEngine::set_defer_plans`]): detector input shapes of new
    /// page sizes, oldest first. Each job builds one ([`PlanPriority::Later`]).
    pub fn wanted_plan_jobs(&self) -> Vec<PlanJob<'_>> {
        let detector = &self.detector;
        detector
            .take_wanted_shapes()
            .into_iter()
            .map(|shape| PlanJob {
                kind: "detector",
                shape,
                priority: PlanPriority::Later,
                build: Box::new(move || detector.prepare_shape(shape)),
            })
            .collect()
    }
}
