//! The OCR engine: loads a model set once and reads pages.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use image::RgbImage;

use crate::affine::fold_affine;
use crate::classifier::{Classifier, CLASSIFIER_HEIGHT, CLASSIFIER_WIDTH};
use crate::crop::crop_line;
use crate::decode::{decode_image, DecodeLimits};
use crate::detection::{DetectedBox, DetectionOptions, Detector, DetectorConfig};
use crate::geometry::{Point, Quad};
use crate::imageops::resize;
use crate::layout::{assemble, LayoutParams, Segment};
use crate::line_reading::LineReader;
use crate::missed_glyphs::missed_glyph_boxes;
use crate::model::{Model, OnnxModel};
use crate::orientation::{border_colour, estimate_skew, map_blocks, rotate_about_centre, turn_quad_180};
use crate::recognition::{fuse_hardswish, keep_output_classes, Dictionary, Recognizer, RecognizerConfig};
use crate::result::PageResult;
use crate::transpose::{transpose_spatial, TallAsWide};
use crate::unstride::unstride_depthwise;
use crate::{EngineError, Result};

/// Paths of the models that make up one engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSet {
    /// Short name for logs and reports (e.g. "PP-OCRv4 mobile").
    pub name: String,
    /// DB text detector.
    pub detector: PathBuf,
    /// CTC recogniser whose ONNX metadata holds its `character` dictionary.
    pub recognizer: PathBuf,
    /// Optional 180° line classifier.
    pub classifier: Option<PathBuf>,
}

impl ModelSet {
    /// Engine 1: PP-OCRv4 mobile detector and recogniser (from the
    /// `rapidocr-onnxruntime==1.4.4` wheel), as `scripts/fetch-models` lays them out.
    pub fn engine1(models_dir: impl AsRef<Path>) -> Self {
        let d = models_dir.as_ref();
        Self {
            name: "PP-OCRv4 mobile".into(),
            detector: d.join("ch_PP-OCRv4_det_infer.onnx"),
            recognizer: d.join("ch_PP-OCRv4_rec_infer.onnx"),
            classifier: Some(d.join("ch_ppocr_mobile_v2.0_cls_infer.onnx")),
        }
    }

    /// Engine 2: PP-OCRv6 small detector and recogniser (from the `rapidocr==3.10.0` wheel).
    pub fn engine2(models_dir: impl AsRef<Path>) -> Self {
        let d = models_dir.as_ref();
        Self {
            name: "PP-OCRv6 small".into(),
            detector: d.join("PP-OCRv6_det_small.onnx"),
            recognizer: d.join("PP-OCRv6_rec_small.onnx"),
            classifier: Some(d.join("ch_ppocr_mobile_v2.0_cls_mobile.onnx")),
        }
    }

    /// Whether every model file of the set exists.
    pub fn is_installed(&self) -> bool {
        self.detector.is_file() && self.recognizer.is_file() && self.classifier.as_ref().is_none_or(|c| c.is_file())
    }
}

/// Tunable engine settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// Limits applied when decoding untrusted bytes.
    pub decode: DecodeLimits,
    /// Pages with a longer side than this are read from a copy scaled down to
    /// it (pixels); boxes are still reported in original page pixels.
    pub max_working_side: u32,
    /// Detector sizing and post-processing.
    pub detector: DetectorConfig,
    /// Recogniser geometry.
    pub recognizer: RecognizerConfig,
    /// Lines whose mean character confidence is below this are dropped (0..1).
    pub min_line_confidence: f32,
    /// Classifier probability needed to turn a line by 180°.
    pub classifier_threshold: f32,
    /// Word splitting and reading-order parameters.
    pub layout: LayoutParams,
    /// Most optimised plans kept per model.
    pub plan_capacity: usize,
    /// Also load a copy of the recogniser whose output layer keeps only
    /// Latin-script classes (see [`Script::Latin`]): same readings of Latin
    /// text, less work per crop.
    pub latin_recognizer: bool,
    /// Also read ink on the detected rows that no box covers and that looks
    /// like a glyph of its row (a lone quantity `1` the detector overlooks;
    /// see `missed_glyphs`), keeping readings of at least
    /// [`MISSED_GLYPH_MIN_CONFIDENCE`].
    pub read_missed_glyphs: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            decode: DecodeLimits::default(),
            max_working_side: 2560,
            detector: DetectorConfig::default(),
            recognizer: RecognizerConfig::default(),
            min_line_confidence: 0.5,
            classifier_threshold: 0.9,
            layout: LayoutParams::default(),
            plan_capacity: 64,
            latin_recognizer: true,
            read_missed_glyphs: true,
        }
    }
}

impl EngineConfig {
    /// Settings for Engine 1 (PP-OCRv4 mobile): the defaults.
    pub fn engine1() -> Self {
        Self::default()
    }

    /// Settings for Engine 2 (PP-OCRv6 small). The reference package
    /// (`rapidocr` 3.10.0) runs the v6 models with the same detector and
    /// recogniser settings as v4 (DB threshold 0.3, box threshold 0.5,
    /// unclip ratio 1.6, dilation, mean/std 0.5, recogniser height 48,
    /// dictionary from the model's metadata), so those stay. What differs is
    /// word splitting: the v6 detector draws taller boxes around the same
    /// line (about 1.2x), so each crop, scaled to 48 pixels high, is
    /// narrower and the gaps between words are fewer pixels. The blank-run
    /// threshold, a fraction of the crop height, is lowered to match.
    pub fn engine2() -> Self {
        let mut config = Self::default();
        config.layout.word_gap_blank = ENGINE2_WORD_GAP_BLANK;
        config
    }
}

/// Optimised plans an engine holds, by model ([`OcrEngine::cached_plans`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanCounts {
    /// Detector input shapes.
    pub detector: usize,
    /// Recogniser width buckets (full dictionary).
    pub recognizer: usize,
    /// Width buckets of the Latin-pruned recogniser copy.
    pub latin_recognizer: usize,
    /// Line classifier (0 or 1).
    pub classifier: usize,
}

/// Most detector plans kept per engine (least recently used go first).
/// Every page size rounds to its own detector input shape, so without a
/// bound a server would keep a plan (2-7 MB) for every size it has seen.
const DETECTOR_PLANS: usize = 12;

/// Least mean character confidence of a reading of ink the detector left
/// out ([`EngineConfig::read_missed_glyphs`]): such a crop has no detector
/// score behind it, so only a reading the recogniser is sure of is kept.
pub const MISSED_GLYPH_MIN_CONFIDENCE: f32 = 0.9;

/// Engine 2's [`LayoutParams::word_gap_blank`] (Engine 1: 0.23).
const ENGINE2_WORD_GAP_BLANK: f32 = 0.19;

/// Which characters a request expects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Script {
    /// Latin script (ASCII, Latin-1, Latin Extended), digits, punctuation and
    /// currency signs: what OCR.space's default language `eng` and the other
    /// Western and Central European languages need.
    #[default]
    Latin,
    /// Every class of the recogniser (Chinese, Japanese, Greek, symbols ...).
    All,
}

/// Whether every character of a recogniser symbol belongs to [`Script::Latin`].
pub fn is_latin_symbol(symbol: &str) -> bool {
    symbol.chars().all(|c| {
        matches!(c as u32,
            0x20..=0x7E | 0xA0..=0x24F | 0x1E00..=0x1EFF | 0x2010..=0x205E | 0x20A0..=0x20CF | 0x2100..=0x2122)
    })
}

/// Decodes every page of `bytes` within `limits` and reads each with
/// `read`, timing the decoding too (shared by the engines' `recognize_bytes`).
pub(crate) fn read_every_page(
    bytes: &[u8],
    limits: &DecodeLimits,
    mut read: impl FnMut(&RgbImage, &mut StageTimings) -> Result<PageResult>,
) -> Result<(Vec<PageResult>, StageTimings)> {
    let mut timings = StageTimings::default();
    let start = Instant::now();
    let pages = decode_image(bytes, limits)?;
    timings.decode += start.elapsed();
    let mut results = Vec::with_capacity(pages.len());
    for page in &pages {
        results.push(read(page, &mut timings)?);
    }
    Ok((results, timings))
}

/// Per-request choices.
#[derive(Debug, Clone, PartialEq)]
pub struct RecognizeOptions {
    /// The script of the text: [`Script::Latin`] (the default) lets the
    /// engine use its smaller Latin-only recogniser.
    pub script: Script,
    /// Run the 180° line classifier on every line and turn upside-down lines.
    pub classify_lines: bool,
    /// When most text on a page runs vertically, turn the page a quarter
    /// (direction from the line classifier) and read it upright. On by default.
    pub rotate_vertical_pages: bool,
    /// Restrict the recogniser to these classes (see [`Dictionary::mask`]).
    pub allowed_classes: Option<Vec<bool>>,
    /// Read small text better, at some cost in time (OCR.space `scale`):
    /// pages under [`UPSCALE_TARGET_SIDE`] pixels on their longer side are
    /// enlarged up to 2x before reading, and the detector runs at twice its
    /// usual resolution cap, so small print on large pages is found too.
    pub upscale: bool,
    /// OCR.space `detectOrientation`: also find pages that are upside down
    /// (the 180° classifier's votes on the largest lines) and read them
    /// turned; together with [`RecognizeOptions::rotate_vertical_pages`]
    /// this covers 0, 90, 180 and 270 degrees. [`PageResult::rotation`]
    /// reports the turn, and boxes are in the turned page.
    pub detect_orientation: bool,
    /// Straighten pages whose text is tilted by 0.5 to 10 degrees (angle
    /// from the detected lines) before reading. Boxes stay in the
    /// coordinates of the unstraightened page.
    pub deskew: bool,
    /// Enlarge the page (up to 2x) when its median detected line is
    /// shorter than [`SMALL_TEXT_HEIGHT`] pixels, and detect again.
    pub upscale_small_text: bool,
    /// Detector thresholds and input shaping for this request (default:
    /// the engine's configuration).
    pub detection: DetectionOptions,
    /// Detected lines per recognition batch (at least 1; default
    /// [`DEFAULT_RECOGNITION_BATCH`]): a page's lines are read in batches of
    /// this many consecutive boxes, and the batches go through the thread's
    /// current [`crate::spread`] (other cores, when its owner lends them).
    /// The text read does not depend on it.
    pub recognition_batch_size: usize,
}

/// Lines per recognition batch unless a request says otherwise: small
/// enough that threads sharing a page's batches finish together, large
/// enough that taking a batch costs nothing next to reading it. Measured on
/// 8 receipts on an idle 2-worker server: latency 0.63-0.68x of one batch
/// per page with 4, 0.72x with 8, 0.70x with 1, for 0-15% more CPU on the
/// core that was idle (`scripts/line-batch-bench`, docs/engines.md).
pub const DEFAULT_RECOGNITION_BATCH: usize = 4;

/// With [`RecognizeOptions::upscale_small_text`], pages whose median text
/// line is shorter than this (working pixels) are enlarged.
pub const SMALL_TEXT_HEIGHT: f32 = 16.0;

/// With [`RecognizeOptions::upscale`], pages are enlarged towards this many
/// pixels on their longer side (by at most 2x).
pub const UPSCALE_TARGET_SIDE: u32 = 2000;

impl Default for RecognizeOptions {
    fn default() -> Self {
        Self {
            script: Script::Latin,
            classify_lines: false,
            rotate_vertical_pages: true,
            allowed_classes: None,
            upscale: false,
            detect_orientation: false,
            deskew: false,
            upscale_small_text: false,
            detection: DetectionOptions::default(),
            recognition_batch_size: DEFAULT_RECOGNITION_BATCH,
        }
    }
}

/// Time spent in each stage, summed over pages.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimings {
    /// Decoding the file, orientation, scaling to the working size.
    pub decode: Duration,
    /// Detector input preparation and network.
    pub detect: Duration,
    /// 180° line classification.
    pub classify: Duration,
    /// Cropping lines and running the recogniser.
    pub recognize: Duration,
    /// Box extraction from the probability map, CTC decoding, words and layout.
    pub postprocess: Duration,
}

impl StageTimings {
    /// Sum of all stages.
    pub fn total(&self) -> Duration {
        self.decode + self.detect + self.classify + self.recognize + self.postprocess
    }
}

impl std::ops::AddAssign for StageTimings {
    fn add_assign(&mut self, o: Self) {
        self.decode += o.decode;
        self.detect += o.detect;
        self.classify += o.classify;
        self.recognize += o.recognize;
        self.postprocess += o.postprocess;
    }
}

/// A loaded OCR engine. Cheap to share (`&self` everywhere, `Send + Sync`).
pub struct OcrEngine {
    name: String,
    detector: Detector,
    recognizer: Recognizer,
    latin_recognizer: Option<Recognizer>,
    classifier: Option<Classifier>,
    config: EngineConfig,
}

impl OcrEngine {
    /// Loads (parses) the models of `models`. Optimised plans are built on
    /// first use of each input shape, or ahead of time with [`OcrEngine::prepare`].
    pub fn load(models: &ModelSet, config: EngineConfig) -> Result<Self> {
        // Detector plans are built for every new page size, often while a
        // request waits: they start from one decluttered graph.
        // Both models get the same graph edits: one in-place HardSwish for
        // each exported four-node hard-swish, and the constant scale/shift
        // steps folded into the neighbouring convolutions (PP-OCRv4: about
        // 0.85x and 0.95x the time per recogniser call, 0.8-0.9x per detector
        // call; docs/engines.md).
        // Pages taller than wide run through a transposed copy of the
        // detector, so tract's depthwise convolutions run along the longer
        // axis (`transpose.rs`), and depthwise convolutions strided along the
        // row run unstrided and subsampled (`unstride.rs`): PP-OCRv4's
        // detector about 0.87x the time per page, its recogniser about 0.99x.
        let load_detector = |transposed: bool| {
            let mut transposable = !transposed;
            let model = OnnxModel::load_edited(&models.detector, config.plan_capacity.min(DETECTOR_PLANS), |proto| {
                fuse_hardswish(proto);
                fold_affine(proto);
                if transposed {
                    transposable = transpose_spatial(proto).is_some();
                }
                Ok(())
            });
            model.map(|m| transposable.then(|| m.reusing_declutter().editing_plans(unstride_depthwise)))
        };
        let wide = load_detector(false)?.ok_or_else(|| EngineError::Inference("detector not loaded".into()))?;
        let det: Box<dyn Model> = match load_detector(true)? {
            Some(tall) => Box::new(TallAsWide::new(Box::new(wide), Box::new(tall))),
            None => Box::new(wide),
        };
        let rec = OnnxModel::load_edited(&models.recognizer, config.plan_capacity, |proto| {
            fuse_hardswish(proto);
            fold_affine(proto);
            Ok(())
        })?
        .editing_plans(unstride_depthwise);
        let dictionary = Dictionary::from_lines(
            rec.metadata("character").ok_or_else(|| EngineError::MissingDictionary(models.recognizer.clone()))?,
        );
        let latin_recognizer = if config.latin_recognizer {
            let keep = dictionary.classes_where(is_latin_symbol);
            let model = OnnxModel::load_edited(&models.recognizer, config.plan_capacity, |proto| {
                fuse_hardswish(proto);
                fold_affine(proto);
                keep_output_classes(proto, &keep)
            })?
            .editing_plans(unstride_depthwise);
            Some(Recognizer::new(Box::new(model), dictionary.subset(&keep), config.recognizer.clone()))
        } else {
            None
        };
        let classifier = match &models.classifier {
            Some(path) => Some(Classifier::new(Box::new(OnnxModel::load(path, 4)?), config.classifier_threshold)),
            None => None,
        };
        Ok(Self {
            name: models.name.clone(),
            detector: Detector::new(det, config.detector),
            recognizer: Recognizer::new(Box::new(rec), dictionary, config.recognizer.clone()),
            latin_recognizer,
            classifier,
            config,
        })
    }

    /// The model set's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The configuration in use.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The recogniser's dictionary (what this engine can read).
    pub fn dictionary(&self) -> &Dictionary {
        self.recognizer.dictionary()
    }

    /// Optimised plans held now by each of this engine's models.
    pub fn cached_plans(&self) -> PlanCounts {
        PlanCounts {
            detector: self.detector.cached_plans(),
            recognizer: self.recognizer.cached_plans(),
            latin_recognizer: self.latin_recognizer.as_ref().map_or(0, Recognizer::cached_plans),
            classifier: self.classifier.as_ref().map_or(0, Classifier::cached_plans),
        }
    }

    /// Builds every recogniser plan, the classifier plan, and detector plans
    /// for pages of the given sizes, so later requests pay no optimisation.
    pub fn prepare(&self, page_sizes: &[(u32, u32)]) -> Result<()> {
        self.recognizer.prepare_all()?;
        if let Some(latin) = &self.latin_recognizer {
            latin.prepare_all()?;
        }
        if let Some(c) = &self.classifier {
            c.prepare()?;
        }
        for &(w, h) in page_sizes {
            let (ww, wh, _) = self.working_size(w, h);
            self.detector.prepare(ww, wh)?;
        }
        Ok(())
    }

    /// Decodes `bytes` (any supported format, every page) and reads each page.
    pub fn recognize_bytes(&self, bytes: &[u8], options: &RecognizeOptions) -> Result<Vec<PageResult>> {
        self.recognize_bytes_timed(bytes, options).map(|(pages, _)| pages)
    }

    /// As [`OcrEngine::recognize_bytes`], also returning time per stage.
    pub fn recognize_bytes_timed(
        &self,
        bytes: &[u8],
        options: &RecognizeOptions,
    ) -> Result<(Vec<PageResult>, StageTimings)> {
        read_every_page(bytes, &self.config.decode, |page, timings| self.recognize_page_timed(page, options, timings))
    }

    /// Reads one decoded page.
    pub fn recognize_page(&self, page: &RgbImage, options: &RecognizeOptions) -> Result<PageResult> {
        self.recognize_page_timed(page, options, &mut StageTimings::default())
    }

    fn working_size(&self, w: u32, h: u32) -> (u32, u32, f32) {
        let long = w.max(h);
        if long <= self.config.max_working_side {
            return (w, h, 1.0);
        }
        let s = self.config.max_working_side as f32 / long as f32;
        (((w as f32 * s).round() as u32).max(1), ((h as f32 * s).round() as u32).max(1), s)
    }

    /// Reads one decoded page, adding the time of each stage to `timings`.
    pub fn recognize_page_timed(
        &self,
        page: &RgbImage,
        options: &RecognizeOptions,
        timings: &mut StageTimings,
    ) -> Result<PageResult> {
        self.read_page(page, options, None, timings)
    }

    /// Reads one decoded page with this engine's detector and layout
    /// settings and `reader`'s recogniser (see [`crate::MixedEngine`], which
    /// checks that both read crops of the same height).
    pub(crate) fn recognize_page_with_timed(
        &self,
        page: &RgbImage,
        options: &RecognizeOptions,
        reader: &OcrEngine,
        timings: &mut StageTimings,
    ) -> Result<PageResult> {
        self.read_page_using(page, options, reader, None, timings)
    }

    /// Height in pixels of the crops this engine's recogniser reads.
    pub fn crop_height(&self) -> u32 {
        self.recognizer.config().height
    }

    /// The recogniser a request uses: the Latin-only copy when it suffices.
    fn recognizer_for(&self, options: &RecognizeOptions) -> &Recognizer {
        match (&self.latin_recognizer, options.script, &options.allowed_classes) {
            (Some(latin), Script::Latin, None) => latin,
            _ => &self.recognizer,
        }
    }

    /// The page pipeline. With `fallback = Some((other, below, margin))`,
    /// lines read with a mean confidence under `below` are read again by
    /// `other`'s recogniser, whose reading is kept when its confidence is
    /// higher by at least `margin`.
    pub(crate) fn read_page(
        &self,
        page: &RgbImage,
        options: &RecognizeOptions,
        fallback: Option<(&OcrEngine, f32, f32)>,
        timings: &mut StageTimings,
    ) -> Result<PageResult> {
        self.read_page_using(page, options, self, fallback, timings)
    }

    /// [`OcrEngine::read_page`] with `reader`'s recogniser (`self` for this engine's own).
    fn read_page_using(
        &self,
        page: &RgbImage,
        options: &RecognizeOptions,
        reader: &OcrEngine,
        fallback: Option<(&OcrEngine, f32, f32)>,
        timings: &mut StageTimings,
    ) -> Result<PageResult> {
        let clock = Instant::now();
        let (mut ww, mut wh, mut s) = if options.upscale {
            upscaled_size(page.width(), page.height(), self.config.max_working_side)
        } else {
            self.working_size(page.width(), page.height())
        };
        // Borrow the page unless it has to be scaled (or, below, turned).
        let mut work = if s != 1.0 { Cow::Owned(resize(page, ww, wh)) } else { Cow::Borrowed(page) };
        // A tightly cropped line (or any thin strip) gets a border of its own
        // background, so the detector sees text away from the edges and the
        // line crops can take in whole glyphs.
        let pad = thin_page_padding(work.width(), work.height());
        if pad > 0 {
            work = Cow::Owned(pad_image(&work, pad, border_colour(&work)));
        }
        timings.decode += clock.elapsed();
        let mut detect_side =
            if options.upscale { self.detector.config().max_side * 2 } else { self.detector.config().max_side };

        let mut boxes = self.detect(&work, detect_side, &options.detection, timings)?;
        if options.upscale_small_text && !options.upscale {
            if let Some(factor) = small_text_factor(&boxes) {
                let clock = Instant::now();
                (ww, wh, s) = ((ww as f32 * factor).round() as u32, (wh as f32 * factor).round() as u32, s * factor);
                work = Cow::Owned(resize(page, ww, wh));
                detect_side = ((detect_side as f32 * factor) as u32).min(self.config.max_working_side);
                timings.decode += clock.elapsed();
                boxes = self.detect(&work, detect_side, &options.detection, timings)?;
            }
        }
        let to_page = 1.0 / s;
        let mut rotation = 0;
        if options.rotate_vertical_pages {
            if let Some(turn) = self.vertical_page_turn(&work, &boxes, timings)? {
                let clock = Instant::now();
                work = Cow::Owned(if turn == 90 {
                    image::imageops::rotate90(work.as_ref())
                } else {
                    image::imageops::rotate270(work.as_ref())
                });
                rotation = turn;
                timings.decode += clock.elapsed();
                boxes = self.detect(&work, detect_side, &options.detection, timings)?;
            }
        }
        if options.detect_orientation && self.is_upside_down_page(&work, &boxes, timings)? {
            let clock = Instant::now();
            let (w, h) = (work.width(), work.height());
            work = Cow::Owned(image::imageops::rotate180(work.as_ref()));
            for b in boxes.iter_mut() {
                b.quad = turn_quad_180(&b.quad, w, h);
            }
            rotation = (rotation + 180) % 360;
            timings.decode += clock.elapsed();
        }
        let mut straightened = None;
        // A line or two is too little evidence of a page's skew (and each
        // line's crop is straightened by its own quad anyway).
        if options.deskew && boxes.len() >= ORIENTATION_MIN_VOTES {
            let quads: Vec<Quad> = boxes.iter().map(|b| b.quad).collect();
            if let Some(angle) =
                estimate_skew(&quads).filter(|a| (DESKEW_MIN_DEGREES..=DESKEW_MAX_DEGREES).contains(&a.abs()))
            {
                let clock = Instant::now();
                let (turned, rot) = rotate_about_centre(&work, -angle, border_colour(&work));
                work = Cow::Owned(turned);
                straightened = Some(rot);
                timings.decode += clock.elapsed();
                boxes = self.detect(&work, detect_side, &options.detection, timings)?;
            }
        }

        let recognizer = reader.recognizer_for(options);
        let fallback = fallback
            .filter(|_| options.allowed_classes.is_none())
            .map(|(other, below, margin)| (other.recognizer_for(options), below, margin))
            .filter(|(other, ..)| other.config().height == recognizer.config().height);
        let lines = LineReader {
            page: &work,
            recognizer,
            fallback,
            classifier: self.classifier.as_ref().filter(|_| options.classify_lines),
            layout: &self.config.layout,
            min_line_confidence: self.config.min_line_confidence,
        };
        let mut segments = lines.read_all(&boxes, options, timings)?;
        if self.config.read_missed_glyphs {
            let clock = Instant::now();
            let missed = missed_glyph_boxes(&work, &boxes);
            timings.postprocess += clock.elapsed();
            if !missed.is_empty() {
                let strict = LineReader {
                    min_line_confidence: self.config.min_line_confidence.max(MISSED_GLYPH_MIN_CONFIDENCE),
                    ..lines
                };
                let legible = |s: &Segment| s.words.iter().any(|w| w.text.chars().any(char::is_alphanumeric));
                segments.extend(strict.read_all(&missed, options, timings)?.into_iter().filter(legible));
            }
        }
        let clock = Instant::now();
        let mut blocks = assemble(segments, &self.config.layout);
        let (width, height) =
            if rotation % 180 == 0 { (page.width(), page.height()) } else { (page.height(), page.width()) };
        // Back from working pixels (straightened, padded, scaled) to page pixels.
        let pad = pad as f32;
        map_blocks(&mut blocks, |p| {
            let p = straightened.as_ref().map_or(p, |r| r.to_source(p));
            Point::new(
                ((p.x - pad) * to_page).clamp(0.0, width as f32),
                ((p.y - pad) * to_page).clamp(0.0, height as f32),
            )
        });
        timings.postprocess += clock.elapsed();
        Ok(PageResult { width, height, rotation, blocks })
    }

    /// Whether most of the largest (horizontal) lines read upside down,
    /// by the mean of the 180° classifier's probabilities.
    fn is_upside_down_page(&self, work: &RgbImage, boxes: &[DetectedBox], timings: &mut StageTimings) -> Result<bool> {
        let Some(classifier) = &self.classifier else { return Ok(false) };
        let clock = Instant::now();
        let mut largest: Vec<&DetectedBox> = boxes.iter().filter(|b| b.quad.width() >= b.quad.height()).collect();
        largest.sort_by(|a, b| (b.quad.width() * b.quad.height()).total_cmp(&(a.quad.width() * a.quad.height())));
        if largest.len() < ORIENTATION_MIN_VOTES {
            return Ok(false);
        }
        let (mut votes, mut counted) = (0.0, 0);
        for b in largest.into_iter().take(ORIENTATION_VOTES) {
            if let Some(crop) = crop_line(work, &b.quad, CLASSIFIER_HEIGHT, CLASSIFIER_WIDTH * 4) {
                votes += classifier.upside_down_probability(&crop.image)?;
                counted += 1;
            }
        }
        timings.classify += clock.elapsed();
        Ok(counted > 0 && votes / counted as f32 > 0.5)
    }

    fn detect(
        &self,
        work: &RgbImage,
        max_side: u32,
        options: &DetectionOptions,
        timings: &mut StageTimings,
    ) -> Result<Vec<DetectedBox>> {
        let clock = Instant::now();
        let (map, geometry) = self.detector.probability_map_with(work, max_side, options)?;
        timings.detect += clock.elapsed();
        let clock = Instant::now();
        let boxes = self.detector.boxes_with(&map, &geometry, work.width(), work.height(), options);
        timings.postprocess += clock.elapsed();
        Ok(boxes)
    }

    /// When most text boxes stand upright (text running up or down the page),
    /// the clockwise turn (90 or 270 degrees) that makes the text readable.
    /// The direction comes from the 180° classifier's votes on the largest
    /// boxes (each crop is first turned a quarter counter-clockwise, so
    /// "upside down" means the page needs a clockwise quarter turn).
    fn vertical_page_turn(
        &self,
        work: &RgbImage,
        boxes: &[DetectedBox],
        timings: &mut StageTimings,
    ) -> Result<Option<u16>> {
        let is_vertical = |b: &&DetectedBox| b.quad.height() >= 1.5 * b.quad.width();
        let vertical: Vec<&DetectedBox> = boxes.iter().filter(is_vertical).collect();
        if vertical.is_empty() || vertical.len() * 2 <= boxes.len() {
            return Ok(None);
        }
        let Some(classifier) = &self.classifier else { return Ok(Some(270)) };
        let clock = Instant::now();
        let mut largest = vertical;
        largest.sort_by(|a, b| (b.quad.width() * b.quad.height()).total_cmp(&(a.quad.width() * a.quad.height())));
        let mut votes = 0.0;
        let mut counted = 0;
        for b in largest.into_iter().take(5) {
            if let Some(crop) = crop_line(work, &b.quad, CLASSIFIER_HEIGHT, CLASSIFIER_WIDTH * 4) {
                votes += classifier.upside_down_probability(&crop.image)?;
                counted += 1;
            }
        }
        timings.classify += clock.elapsed();
        Ok(Some(if counted > 0 && votes / counted as f32 >= 0.5 { 90 } else { 270 }))
    }
}

/// Lines that vote on whether a page is upside down.
const ORIENTATION_VOTES: usize = 12;
/// Pages with fewer lines than this are never turned by 180 degrees: one or
/// two lines are too few votes (a single upright line of the UW-III corpus
/// reads as upside down to the classifier).
const ORIENTATION_MIN_VOTES: usize = 3;
/// Skew angles (degrees) that [`RecognizeOptions::deskew`] corrects.
const DESKEW_MIN_DEGREES: f32 = 0.5;
const DESKEW_MAX_DEGREES: f32 = 10.0;

/// With [`RecognizeOptions::upscale_small_text`]: the enlargement that brings
/// the median line height to about 1.5x [`SMALL_TEXT_HEIGHT`] (at most 2x),
/// or `None` when the text is not small (or there are too few lines to tell).
fn small_text_factor(boxes: &[DetectedBox]) -> Option<f32> {
    if boxes.len() < 3 {
        return None;
    }
    let mut heights: Vec<f32> = boxes.iter().map(|b| b.quad.height().min(b.quad.width())).collect();
    heights.sort_by(f32::total_cmp);
    let median = heights[heights.len() / 2];
    (median < SMALL_TEXT_HEIGHT).then(|| (1.5 * SMALL_TEXT_HEIGHT / median.max(1.0)).min(2.0))
}

/// Pages whose shorter side is under this many pixels, or that are this
/// many times wider than tall (or taller than wide), are read with a border.
const THIN_PAGE_SIDE: u32 = 160;
const THIN_PAGE_RATIO: u32 = 6;

/// The border (pixels on every side) a thin page is read with: half its
/// shorter side, at least 16 pixels; 0 for other pages.
fn thin_page_padding(width: u32, height: u32) -> u32 {
    let (short, long) = (width.min(height), width.max(height));
    if short < THIN_PAGE_SIDE || long >= THIN_PAGE_RATIO * short.max(1) {
        (short / 2).max(16)
    } else {
        0
    }
}

/// `image` centred on a canvas `pad` pixels larger on every side, filled with `colour`.
fn pad_image(image: &RgbImage, pad: u32, colour: image::Rgb<u8>) -> RgbImage {
    let mut out = RgbImage::from_pixel(image.width() + 2 * pad, image.height() + 2 * pad, colour);
    image::imageops::replace(&mut out, image, pad as i64, pad as i64);
    out
}

/// Working size with [`RecognizeOptions::upscale`]: pages under
/// [`UPSCALE_TARGET_SIDE`] are enlarged towards it (at most 2x); larger
/// pages are only ever scaled down, to `max_side`.
fn upscaled_size(width: u32, height: u32, max_side: u32) -> (u32, u32, f32) {
    let long = width.max(height).max(1) as f32;
    let s = if long < UPSCALE_TARGET_SIDE as f32 {
        (UPSCALE_TARGET_SIDE as f32 / long).min(2.0)
    } else {
        (max_side as f32 / long).min(1.0)
    };
    (((width as f32 * s).round() as u32).max(1), ((height as f32 * s).round() as u32).max(1), s)
}

#[cfg(test)]
mod upscale_tests {
    use super::*;

    #[test]
    fn small_pages_are_enlarged_at_most_twice_and_large_ones_never() {
        assert_eq!(upscaled_size(500, 300, 2560), (1000, 600, 2.0));
        assert_eq!(upscaled_size(1600, 800, 2560), (2000, 1000, 1.25));
        assert_eq!(upscaled_size(2400, 1000, 2560), (2400, 1000, 1.0));
        assert_eq!(upscaled_size(5120, 1000, 2560), (2560, 500, 0.5));
    }
}

#[path = "plans.rs"]
mod plans;
pub use plans::{PlanJob, PlanPriority};
