//! One request's document, read page by page on a worker thread: images are
//! decoded and OCR'd; PDF pages are OCR'd when scanned and taken as they are
//! when born-digital. Optionally writes the searchable PDF of the result.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use ocr_engine::decode::count_pages;
use ocr_engine::{for_each_page, rotate_clockwise, PageRecognizer, PageResult, RecognizeOptions, RgbImage};
use ocr_pdf::{InputPage, PageImage, PdfPage, PdfReader, ReadLimits, TextLayer};

use super::error::ServiceError;
use super::pages::read_side_by_side;
use super::pdf_pages::{page_image, pdf_error, rendered_pdf_page, rgb_of, text_lines, text_page};

/// Resolution at which PDF pages are rasterised, and at which born-digital
/// text coordinates (points) are reported as pixels.
pub const PDF_DPI: f32 = 300.0;

/// Pages read by each path since start-up, and the time documents spent
/// building model plans (exposed on `/metrics`).
#[derive(Debug, Default)]
pub struct PageCounters {
    /// Pages that went through OCR.
    pub ocr_pages: AtomicU64,
    /// Born-digital PDF pages whose own text was returned without OCR.
    pub text_pages: AtomicU64,
    /// Microseconds all documents spent building optimised model plans (or
    /// waiting for the start-up builder to finish one they needed).
    pub plan_build_micros: AtomicU64,
    /// The most microseconds one document spent so (the bound: 0.3 s).
    pub plan_build_max_micros: AtomicU64,
}

impl PageCounters {
    /// Counts the plan-building time of one document, in microseconds.
    fn record_plan_build(&self, micros: u64) {
        self.plan_build_micros.fetch_add(micros, Ordering::Relaxed);
        self.plan_build_max_micros.fetch_max(micros, Ordering::Relaxed);
    }
}

/// What reads a page: one engine, Engine 3's combination, or one model
/// set's detector with another's recogniser (see [`PageRecognizer`]).
pub type PageReader = Arc<dyn PageRecognizer>;

/// What the worker needs to read one document.
pub struct DocumentJob<'a> {
    /// The uploaded or fetched bytes.
    pub bytes: &'a [u8],
    /// Whether the bytes are a PDF.
    pub is_pdf: bool,
    /// The engine (or engine combination).
    pub engine: &'a PageReader,
    /// Per-request options.
    pub options: &'a RecognizeOptions,
    /// The tier's page limit (already checked; the PDF reader re-checks it).
    pub max_pages: usize,
    /// The searchable PDF's text layer, when one was requested.
    pub pdf: Option<TextLayer>,
    /// Most pages read at once, on idle workers the job borrows (docTR's
    /// `detection_batch_size`; [`ALL_PAGES_AT_ONCE`] lets every idle worker help).
    pub pages_at_once: usize,
}

/// [`DocumentJob::pages_at_once`] for no limit but the idle workers.
pub const ALL_PAGES_AT_ONCE: usize = usize::MAX;

/// A job taken over from a worker that died: the pages it read, and where
/// each page read now is reported (so the next take-over skips it too).
pub struct Resume<'a> {
    /// Results of the pages already read, by page index (from 0). Used only
    /// when no searchable PDF is asked for (its pages' pictures are not kept).
    pub done: &'a BTreeMap<usize, PageResult>,
    /// Called with each page read now, on the thread that read it.
    pub on_page: &'a (dyn Fn(usize, &PageResult) + Sync),
}

/// The pages read, and the searchable PDF when requested.
pub struct DocumentResult {
    /// One result per page.
    pub pages: Vec<PageResult>,
    /// The searchable PDF.
    pub pdf: Option<Vec<u8>>,
}

impl DocumentJob<'_> {
    /// Reads every page (blocking, CPU-bound).
    pub fn run(&self, counters: &PageCounters) -> Result<DocumentResult, ServiceError> {
        self.run_observed(counters, &mut |_, _| {})
    }

    /// As [`DocumentJob::run`], calling `progress(pages_done, pages_total)`
    /// as pages are read (the command line's progress line, a job's progress).
    pub fn run_observed(
        &self,
        counters: &PageCounters,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<DocumentResult, ServiceError> {
        self.run_resumed(counters, progress, None)
    }

    /// As [`DocumentJob::run_observed`], skipping the OCR of the pages
    /// `resume` holds (when no searchable PDF is asked for) and reporting
    /// each page read now to it.
    pub fn run_resumed(
        &self,
        counters: &PageCounters,
        progress: &mut dyn FnMut(usize, usize),
        resume: Option<&Resume<'_>>,
    ) -> Result<DocumentResult, ServiceError> {
        let empty = BTreeMap::new();
        let done = match resume {
            Some(resume) if self.pdf.is_none() => resume.done,
            _ => &empty,
        };
        // Time spent building optimised plans (or waiting for the start-up
        // builder to finish one), summed over the threads that read pages:
        // the "no request pays more than 0.3 s of plan building".
        let building = AtomicU64::new(0);
        let work = |(index, task): (usize, PageTask)| {
            let fresh = !matches!(task, PageTask::Done(_));
            ocr_engine::model::take_plan_build_time();
            let output = self.read_page(task, counters);
            let built = ocr_engine::model::take_plan_build_time().as_micros().try_into().unwrap_or(u64::MAX);
            building.fetch_add(built, Ordering::Relaxed);
            let output = output?;
            if let Some(resume) = resume.filter(|_| fresh) {
                (resume.on_page)(index, &output.0);
            }
            Ok(output)
        };
        // Pages read on borrowed workers may finish after the last one was
        // handed out: the final count is reported once all are in.
        let mut reported = 0;
        let mut report = |done: usize, total: usize| {
            reported = done;
            progress(done, total);
        };
        let read = if self.is_pdf {
            self.read_pdf(&work, &mut report, done)
        } else {
            self.read_image(&work, &mut report, done)
        };
        let building = building.load(Ordering::Relaxed);
        counters.record_plan_build(building);
        tracing::debug!(plan_build_seconds = building as f64 / 1e6, "document read; model plan building");
        let read = read?;
        if reported < read.len() {
            progress(read.len(), read.len());
        }
        let (pages, pdf_pages): (Vec<PageResult>, Vec<Option<PdfPage>>) = read.into_iter().unzip();
        Ok(DocumentResult { pages, pdf: self.searchable_pdf(pdf_pages)? })
    }

    /// The searchable PDF of the pages read, when one is asked for.
    fn searchable_pdf(&self, pages: Vec<Option<PdfPage>>) -> Result<Option<Vec<u8>>, ServiceError> {
        let Some(layer) = self.pdf else { return Ok(None) };
        let pages: Vec<PdfPage> = pages.into_iter().flatten().collect();
        Ok(Some(ocr_pdf::write_searchable_pdf(&pages, layer).map_err(pdf_error)?))
    }

    /// Workers to borrow for a document of `total` pages: one per page
    /// read at once, besides the job's own thread.
    fn helpers_for(&self, total: usize) -> usize {
        total.min(self.pages_at_once).saturating_sub(1)
    }

    /// Decodes the image's pages one at a time (a GIF's frames onto one
    /// reused canvas) and hands each to `work`, here or on a spare worker.
    fn read_image(
        &self,
        work: &PageWork<'_>,
        progress: &mut dyn FnMut(usize, usize),
        done: &BTreeMap<usize, PageResult>,
    ) -> Result<Vec<PageOutput>, ServiceError> {
        let total = count_pages(self.bytes)?;
        // A JPEG shown as stored goes into the PDF byte for byte.
        let passthrough = total == 1
            && ocr_engine::decode::ImageKind::sniff(self.bytes) == Some(ocr_engine::decode::ImageKind::Jpeg)
            && !ocr_engine::decode::is_reoriented(self.bytes);
        read_side_by_side(self.helpers_for(total), work, |dispatcher| {
            // A failure of our own is kept here and stops decoding.
            let mut failure = None;
            let decoded = for_each_page(self.bytes, &self.engine.config().decode, |index, page| {
                let source = if passthrough { PdfSource::Jpeg(self.bytes.to_vec()) } else { PdfSource::Pixels(None) };
                let task = match done.get(&index) {
                    Some(result) => PageTask::Done(result.clone()),
                    None => PageTask::Ocr { pixels: page.into_owned(), source },
                };
                if let Err(e) = dispatcher.submit((index, task)) {
                    failure = Some(e);
                    return Err(ocr_engine::EngineError::Cancelled);
                }
                progress(dispatcher.done(), total);
                Ok(())
            });
            match (failure, decoded) {
                (Some(e), _) => Err(e),
                (None, Err(e)) => Err(e.into()),
                (None, Ok(_)) => Ok(()),
            }
        })
    }

    /// Reads the PDF's pages in order (born-digital text taken as it is,
    /// scans decoded, other pages rendered) and hands each to `work`.
    fn read_pdf(
        &self,
        work: &PageWork<'_>,
        progress: &mut dyn FnMut(usize, usize),
        done: &BTreeMap<usize, PageResult>,
    ) -> Result<Vec<PageOutput>, ServiceError> {
        let decode = &self.engine.config().decode;
        let limits = ReadLimits {
            max_pages: self.max_pages,
            max_bytes: self.bytes.len().max(1),
            dpi: PDF_DPI,
            max_pixels_per_page: decode.max_pixels,
            max_total_pixels: decode.max_total_pixels,
            ..ReadLimits::default()
        };
        // The worker pool runs jobs inside a cancellation scope; elsewhere
        // (the command line) nothing cancels.
        let cancel = ocr_engine::cancel::current().unwrap_or_default();
        let clock = std::time::Instant::now();
        let reader = PdfReader::open(self.bytes, &limits, cancel.flag()).map_err(pdf_error)?;
        let total = reader.page_count();
        tracing::debug!(pages = total, seconds = clock.elapsed().as_secs_f64(), "PDF opened");
        read_side_by_side(self.helpers_for(total), work, |dispatcher| {
            // One page at a time: read (rendered or decoded), handed out, dropped once read.
            for number in 1..=total {
                cancel.check()?;
                if let Some(result) = done.get(&(number - 1)) {
                    dispatcher.submit((number - 1, PageTask::Done(result.clone())))?;
                    progress(dispatcher.done(), total);
                    continue;
                }
                let clock = std::time::Instant::now();
                let task = self.pdf_task(&reader, number, cancel.flag())?;
                tracing::debug!(page = number - 1, seconds = clock.elapsed().as_secs_f64(), "PDF page produced");
                dispatcher.submit((number - 1, task))?;
                progress(dispatcher.done(), total);
            }
            Ok(())
        })
    }

    /// PDF page `number` (from 1) as a page to read: born-digital text as
    /// it is (with the rendered page when a searchable PDF is asked for), an
    /// embedded scan as its image, any other page rendered.
    fn pdf_task(&self, reader: &PdfReader, number: usize, cancel: &AtomicBool) -> Result<PageTask, ServiceError> {
        Ok(match reader.read_page(number, cancel).map_err(pdf_error)? {
            InputPage::Text { width_pt, height_pt, lines } => {
                let result = text_page(width_pt, height_pt, &lines);
                let pdf_page = match self.pdf {
                    Some(_) => Some(rendered_pdf_page(reader, number, cancel, &result)?),
                    None => None,
                };
                PageTask::Text(result, pdf_page)
            }
            InputPage::EmbeddedImage { image, .. } => {
                PageTask::Ocr { pixels: rgb_of(&image)?, source: PdfSource::Embedded(image) }
            }
            InputPage::Raster { width, height, pixels, dpi } => {
                let pixels = RgbImage::from_raw(width, height, pixels)
                    .ok_or_else(|| ServiceError::Internal("a rendered PDF page has the wrong size".into()))?;
                PageTask::Ocr { pixels, source: PdfSource::Pixels(Some(dpi)) }
            }
        })
    }

    /// Reads one page handed out by `read_image` or `read_pdf` (on any
    /// thread): OCR, and the searchable PDF's page when one is asked for.
    fn read_page(&self, task: PageTask, counters: &PageCounters) -> Result<PageOutput, ServiceError> {
        let (pixels, source) = match task {
            PageTask::Done(result) => return Ok((result, None)),
            PageTask::Text(result, pdf_page) => {
                counters.text_pages.fetch_add(1, Ordering::Relaxed);
                return Ok((result, pdf_page));
            }
            PageTask::Ocr { pixels, source } => (pixels, source),
        };
        let result = self.engine.recognize_page(&pixels, self.options)?;
        counters.ocr_pages.fetch_add(1, Ordering::Relaxed);
        if self.pdf.is_none() {
            return Ok((result, None));
        }
        let upright = result.rotation == 0;
        let image = match source {
            PdfSource::Jpeg(bytes) if upright => PageImage::jpeg(bytes).map_err(pdf_error)?,
            PdfSource::Embedded(image) if upright => image,
            PdfSource::Pixels(Some(dpi)) => page_image(&rotate_clockwise(&pixels, result.rotation))?.with_dpi(dpi, dpi),
            _ => page_image(&rotate_clockwise(&pixels, result.rotation))?,
        };
        let pdf_page = PdfPage { image, lines: text_lines(&result) };
        Ok((result, Some(pdf_page)))
    }
}

/// One page's result and, when a searchable PDF is asked for, its PDF page.
type PageOutput = (PageResult, Option<PdfPage>);

/// Reads one handed-out page (its index from 0, and the page).
type PageWork<'a> = dyn Fn((usize, PageTask)) -> Result<PageOutput, ServiceError> + Sync + 'a;

/// A page ready to be read.
enum PageTask {
    /// A page an earlier attempt read: its result, no OCR (no searchable PDF).
    Done(PageResult),
    /// A born-digital page: its own text (and rendered PDF page), no OCR.
    Text(PageResult, Option<PdfPage>),
    /// Pixels to OCR, and where its searchable-PDF picture comes from.
    Ocr {
        /// The page.
        pixels: RgbImage,
        /// The PDF page's picture when the page needs no turning.
        source: PdfSource,
    },
}

/// Where a searchable PDF page's picture comes from when the page is upright.
enum PdfSource {
    /// The uploaded JPEG, byte for byte.
    Jpeg(Vec<u8>),
    /// The image embedded in the input PDF, as it is.
    Embedded(PageImage),
    /// The pixels read (at this resolution, when a PDF page was rendered).
    Pixels(Option<f32>),
}
