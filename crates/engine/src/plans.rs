//! The optimised plans an engine uses, as jobs a caller can build ahead of
//! time, in the order requests need them, on as many threads as it likes.

use super::OcrEngine;
use crate::Result;

/// How soon a plan is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PlanPriority {
    /// Needed by a default request (Latin script, common page sizes): the
    /// recogniser's width buckets, the line classifier, the detector shapes
    /// of the first two page sizes (with two shapes differing in height and
    /// width the detector's plans for any other shape start from one checked
    /// decluttered graph). A server builds these before it is ready.
    First,
    /// Needed by other requests (other scripts, other page sizes): a
    /// server builds these in the background once it is ready.
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
    /// default (Latin) request reads with, the classifier and the first two
    /// page sizes' detector shapes come [`PlanPriority::First`].
    pub fn plan_jobs(&self, page_sizes: &[(u32, u32)]) -> Vec<PlanJob<'_>> {
        use PlanPriority::{First, Later};
        let mut jobs = Vec::new();
        let height = self.recognizer.config().height as usize;
        let latin = self.latin_recognizer.as_ref().map(|r| (r, "latin recogniser", First));
        let full = (&self.recognizer, "recogniser", if latin.is_some() { Later } else { First });
        for (recognizer, kind, priority) in latin.into_iter().chain([full]) {
            for &width in &recognizer.config().width_buckets {
                jobs.push(PlanJob {
                    kind,
                    shape: [1, 3, height, width as usize],
                    priority,
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
        let mut shapes = Vec::new();
        for (i, &(w, h)) in page_sizes.iter().enumerate() {
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
                // The second size (another orientation) checks the first's
                // decluttered graph, from which later shapes' plans start
                // ([`crate::model::OnnxModel::reusing_declutter`]).
                priority: if i < 2 { First } else { Later },
                build: Box::new(move || self.detector.prepare(ww, wh)),
            });
        }
        jobs.sort_by_key(|j| j.priority);
        jobs
    }
}
