//! Reading a page's detected lines: each box is cropped upright, optionally
//! turned by the 180° classifier, recognised (with a second recogniser's
//! opinion on doubtful lines, for Engine 3) and split into words.
//!
//! Lines are read in batches of [`RecognizeOptions::recognition_batch_size`]
//! consecutive boxes; the batches go through the thread's current
//! [`crate::spread`], so an idle server reads one page's lines on several
//! cores. Each batch's result lands in its own slot and the segments come
//! back in box order, so the output is the same however the batches ran.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use image::RgbImage;

use crate::classifier::Classifier;
use crate::crop::crop_line;
use crate::detection::DetectedBox;
use crate::engine::StageTimings;
use crate::layout::{words_from_reading, LayoutParams, Segment};
use crate::recognition::Recognizer;
use crate::result::BoundingBox;
use crate::{RecognizeOptions, Result};

/// What reading one page's lines needs.
pub(crate) struct LineReader<'a> {
    /// The working page the boxes were detected on.
    pub page: &'a RgbImage,
    /// The recogniser.
    pub recognizer: &'a Recognizer,
    /// A second recogniser for lines read with a mean confidence under the
    /// first value, kept when more confident by the second.
    pub fallback: Option<(&'a Recognizer, f32, f32)>,
    /// The 180° line classifier, when lines are to be classified.
    pub classifier: Option<&'a Classifier>,
    /// Word splitting settings.
    pub layout: &'a LayoutParams,
    /// Lines read with a lower mean confidence are dropped.
    pub min_line_confidence: f32,
}

/// A batch's segments and the time its stages took.
type BatchOutput = Result<(Vec<Segment>, StageTimings)>;

/// A batch's output and the time its thread spent building model plans.
type BatchSlot = Mutex<Option<(BatchOutput, Duration)>>;

impl LineReader<'_> {
    /// Reads every box (in batches; see the module documentation) and
    /// returns the segments in box order; the stage times of all batches
    /// are added to `timings`, and the plan-building time of batches read
    /// on other threads is charged to this one. Once a batch fails, batches
    /// not started yet are skipped, and the first error (in box order) is returned.
    pub fn read_all(
        &self,
        boxes: &[DetectedBox],
        options: &RecognizeOptions,
        timings: &mut StageTimings,
    ) -> Result<Vec<Segment>> {
        let batches: Vec<&[DetectedBox]> = boxes.chunks(options.recognition_batch_size.max(1)).collect();
        let slots: Vec<BatchSlot> = batches.iter().map(|_| Mutex::new(None)).collect();
        let failed = AtomicBool::new(false);
        crate::spread::run_all(batches.len(), &|i| {
            if failed.load(Ordering::Relaxed) {
                return;
            }
            let before = crate::model::take_plan_build_time();
            let output = self.read_batch(batches[i], options);
            let built = crate::model::take_plan_build_time();
            // On the calling thread, what was counted before the batch stays its own.
            crate::model::charge_plan_build_time(before);
            failed.fetch_or(output.is_err(), Ordering::Relaxed);
            *slots[i].lock().unwrap_or_else(PoisonError::into_inner) = Some((output, built));
        });
        let outputs: Vec<_> =
            slots.into_iter().map(|s| s.into_inner().unwrap_or_else(PoisonError::into_inner)).collect();
        crate::model::charge_plan_build_time(outputs.iter().flatten().map(|(_, built)| *built).sum());
        let (mut segments, mut skipped) = (Vec::with_capacity(boxes.len()), false);
        for output in outputs {
            match output.map(|(output, _)| output) {
                Some(Ok((mut batch, spent))) => {
                    segments.append(&mut batch);
                    *timings += spent;
                }
                Some(Err(error)) => return Err(error),
                // Skipped after a later batch failed (its error comes next), or never run.
                None => skipped = true,
            }
        }
        if skipped {
            return Err(crate::EngineError::BatchNotRun);
        }
        Ok(segments)
    }

    /// Reads the boxes of one batch in order.
    fn read_batch(&self, boxes: &[DetectedBox], options: &RecognizeOptions) -> BatchOutput {
        let mut timings = StageTimings::default();
        let mut segments = Vec::with_capacity(boxes.len());
        for detected in boxes {
            crate::cancel::checkpoint()?;
            if let Some(segment) = self.read_line(detected, options, &mut timings)? {
                segments.push(segment);
            }
        }
        Ok((segments, timings))
    }

    /// Reads one box: `None` when it cannot be cropped or reads too doubtfully.
    fn read_line(
        &self,
        detected: &DetectedBox,
        options: &RecognizeOptions,
        timings: &mut StageTimings,
    ) -> Result<Option<Segment>> {
        let cfg = self.recognizer.config();
        let clock = Instant::now();
        let Some(mut crop) = crop_line(self.page, &detected.quad, cfg.height, cfg.max_width()) else {
            return Ok(None);
        };
        timings.recognize += clock.elapsed();
        if let Some(classifier) = self.classifier {
            let clock = Instant::now();
            if classifier.is_upside_down(&crop.image)? {
                if let Some(turned) = crop.rotated_180(self.page, cfg.max_width()) {
                    crop = turned;
                }
            }
            timings.classify += clock.elapsed();
        }
        let clock = Instant::now();
        let mut reading = self.recognizer.recognize(&crop.image, options.allowed_classes.as_deref())?;
        if let Some((other, below, margin)) = self.fallback {
            if reading.confidence() < below && crop.image.width() <= other.config().max_width() {
                let second = other.recognize(&crop.image, None)?;
                if second.confidence() >= reading.confidence() + margin {
                    reading = second;
                }
            }
        }
        timings.recognize += clock.elapsed();
        let clock = Instant::now();
        let segment = (!reading.chars.is_empty() && reading.confidence() >= self.min_line_confidence).then(|| {
            let mut words = words_from_reading(&crop, &reading, self.layout, 1.0);
            words.iter_mut().for_each(|w| w.detection_score = detected.score);
            Segment { words, bbox: BoundingBox::from_quad(&crop.quad), quad: crop.quad }
        });
        timings.postprocess += clock.elapsed();
        Ok(segment)
    }
}
