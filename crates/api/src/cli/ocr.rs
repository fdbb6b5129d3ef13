//! `ocr-server ocr`: reads images and PDFs with the server's own document
//! reader (born-digital PDF pages keep their text) and prints text, JSON,
//! hOCR or ALTO, or writes a searchable PDF.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use ocr_engine::decode::count_pages;
use ocr_engine::{PageResult, RecognizeOptions};
use ocr_pdf::TextLayer;
use serde::Serialize;

use super::alto::write_alto;
use super::error::CliError;
use super::hocr::write_hocr;
use super::progress::Progress;
use super::xml::PageOf;
use crate::config::{Config, ModelSetConfig};
use crate::ocrspace::params::LANGUAGES;
use crate::service::{
    accurate_engine, input_is_pdf, load_engines, model_files, DocumentJob, Engines, PageCounters, Readers,
    ServiceError, ALL_PAGES_AT_ONCE,
};

/// Output format of the `ocr` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Plain text, pages separated by a form feed.
    Text,
    /// JSON: one object per input with pages > blocks > lines > words.
    Json,
    /// hOCR (XHTML): pages, blocks, paragraphs, lines and words with boxes and confidences.
    Hocr,
    /// ALTO v4 XML: pages, text blocks, lines and strings with positions and confidences.
    Alto,
}

/// When the progress line is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// When stderr is a terminal.
    Auto,
    /// Always (on stderr).
    Always,
    /// Never.
    Never,
}

/// Arguments of `ocr-server ocr`.
#[derive(Debug, clap::Args)]
pub struct OcrArgs {
    /// Images (JPEG, PNG, GIF, BMP, WebP, TIFF) and PDFs; every page of a
    /// TIFF or PDF and every frame of a GIF is read.
    #[arg(required = true, value_name = "INPUT")]
    pub files: Vec<PathBuf>,
    /// OCR engine: 1 = PP-OCRv4 mobile (fast), 2 = PP-OCRv6 small
    /// (accurate), 3 = engine 2 with orientation, deskew and engine 1 as a
    /// second opinion.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub engine: u8,
    /// Language, as an OCR.space code (eng, ger, fre, spa, chs, cht, jpn, …, or auto).
    #[arg(long, default_value = "eng", value_parser = parse_language)]
    pub language: String,
    /// Find pages turned by 90, 180 or 270 degrees and read them upright;
    /// straighten tilts of 0.5 to 10 degrees.
    #[arg(long)]
    pub detect_orientation: bool,
    /// What to print on stdout [default: text; nothing when --searchable-pdf is given].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write a searchable PDF of the input here: each page's picture with
    /// the recognised text over it (one INPUT only).
    #[arg(long, value_name = "OUT.pdf")]
    pub searchable_pdf: Option<PathBuf>,
    /// Make the searchable PDF's text layer invisible (by default it is
    /// drawn in red, as OCR.space does).
    #[arg(long, requires = "searchable_pdf")]
    pub hide_text_layer: bool,
    /// Run the 180° line classifier on every line (for upside-down lines).
    #[arg(long)]
    pub classify_lines: bool,
    /// Progress line on stderr for multi-page input.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// Models directory (default: [models].dir of the configuration, else
    /// $OCR_MODELS_DIR, else ./models).
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    /// Configuration file (TOML) whose [[models.set]] list is used.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

fn parse_language(value: &str) -> Result<String, String> {
    let code = value.trim().to_ascii_lowercase();
    if LANGUAGES.contains(&code.as_str()) {
        Ok(code)
    } else {
        Err(format!("not an OCR.space language code; use one of {}", LANGUAGES.join(", ")))
    }
}

#[derive(Serialize)]
struct FileResult<'a> {
    file: &'a str,
    pages: &'a [PageResult],
}

/// Runs `ocr-server ocr`, writing results to `out` (progress goes to stderr).
pub fn run_ocr(args: &OcrArgs, out: &mut dyn Write) -> Result<(), CliError> {
    if args.searchable_pdf.is_some() && args.files.len() > 1 {
        return Err(CliError::Usage(
            "--searchable-pdf takes one INPUT (a TIFF or PDF may hold many pages): run once per file".into(),
        ));
    }
    let format = args.format.or(if args.searchable_pdf.is_some() { None } else { Some(Format::Text) });
    let config = Config::load(args.config.as_deref()).map_err(|e| CliError::Usage(e.to_string()))?;
    let dir = match &args.models_dir {
        Some(dir) => dir.clone(),
        None if !config.models.dir.as_os_str().is_empty() => config.models.dir.clone(),
        None => crate::engines::models_dir(),
    };
    let engines = load(args.engine, &dir, &config.models.set)?;
    let accurate = accurate_engine(&engines);
    let readers = Readers { models: &engines, accurate: accurate.as_ref() };
    let (reader, script) = match readers.select(args.engine, &args.language) {
        Ok(found) => found,
        Err(e) => return Err(language_error(e, args, &dir, &config.models.set)),
    };
    let options = RecognizeOptions {
        script,
        classify_lines: args.classify_lines,
        detect_orientation: args.detect_orientation,
        deskew: args.detect_orientation,
        ..Default::default()
    };
    let layer =
        args.searchable_pdf.as_ref().map(|_| if args.hide_text_layer { TextLayer::Hidden } else { TextLayer::Visible });
    let show = match args.progress {
        ProgressMode::Always => true,
        ProgressMode::Never => false,
        ProgressMode::Auto => std::io::stderr().is_terminal(),
    };
    let mut progress = Progress::new(show, args.files.len());
    let counters = PageCounters::default();
    let stdout_error = |e: std::io::Error| CliError::Output { path: "<stdout>".into(), source: e };
    let mut documents: Vec<(String, Vec<PageResult>)> = Vec::new();
    for (index, path) in args.files.iter().enumerate() {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| CliError::Io { path: name.clone(), source: e })?;
        let is_pdf = input_is_pdf(&bytes, None).map_err(|e| CliError::reading(&name, e))?;
        let pages = if is_pdf {
            ocr_pdf::page_count(&bytes).map_err(|e| CliError::reading(&name, ServiceError::Pdf(e)))?
        } else {
            count_pages(&bytes).map_err(|e| CliError::reading(&name, ServiceError::Engine(e)))?
        };
        let job = DocumentJob {
            bytes: &bytes,
            is_pdf,
            engine: &reader,
            options: &options,
            max_pages: pages.max(1),
            pdf: layer,
            pages_at_once: ALL_PAGES_AT_ONCE,
        };
        let document = job
            .run_observed(&counters, &mut |done, total| progress.page(index, &name, done, total))
            .map_err(|e| CliError::reading(&name, e))?;
        progress.finish();
        if let (Some(target), Some(pdf)) = (&args.searchable_pdf, &document.pdf) {
            write_file(target, pdf)?;
        }
        match format {
            Some(Format::Text) => {
                if index > 0 {
                    writeln!(out, "\u{c}").map_err(stdout_error)?;
                }
                let texts: Vec<String> = document.pages.iter().map(PageResult::text).collect();
                writeln!(out, "{}", texts.join("\n\u{c}\n")).map_err(stdout_error)?;
            }
            Some(Format::Json) => {
                let record = FileResult { file: &name, pages: &document.pages };
                let json = serde_json::to_string(&record).map_err(|e| CliError::Other(e.to_string()))?;
                writeln!(out, "{json}").map_err(stdout_error)?;
            }
            Some(Format::Hocr | Format::Alto) => documents.push((name, document.pages)),
            None => {}
        }
    }
    let pages: Vec<PageOf<'_>> = documents
        .iter()
        .flat_map(|(file, pages)| pages.iter().map(move |page| PageOf { file: file.as_str(), page }))
        .collect();
    match format {
        Some(Format::Hocr) => write_hocr(out, &pages).map_err(stdout_error)?,
        Some(Format::Alto) => write_alto(out, &pages).map_err(stdout_error)?,
        _ => {}
    }
    out.flush().map_err(stdout_error)
}

/// Loads the configured model sets the engine needs (engine 3 uses 1 and
/// 2), with a clear error when none of them is installed.
fn load(engine: u8, dir: &Path, sets: &[ModelSetConfig]) -> Result<Engines, CliError> {
    let wanted: &[u8] = if engine == 3 { &[1, 2] } else { std::slice::from_ref(&engine) };
    let sets: Vec<ModelSetConfig> = sets.iter().filter(|s| wanted.contains(&s.engine)).cloned().collect();
    if !sets.iter().any(|s| model_files(dir, s).is_installed()) {
        return Err(CliError::ModelsMissing { engine, dir: dir.display().to_string() });
    }
    load_engines(dir, &sets).map_err(|e| CliError::Other(e.to_string()))
}

/// The error for a language the engine cannot read, naming the engines
/// that can (every configured set is loaded to find them).
fn language_error(error: ServiceError, args: &OcrArgs, dir: &Path, sets: &[ModelSetConfig]) -> CliError {
    let error = match (&error, load_engines(dir, sets)) {
        (ServiceError::UnsupportedLanguage { .. }, Ok(all)) => {
            let accurate = accurate_engine(&all);
            let readers = Readers { models: &all, accurate: accurate.as_ref() };
            readers.select(args.engine, &args.language).err().unwrap_or(error)
        }
        _ => error,
    };
    match error {
        ServiceError::UnsupportedLanguage { engine, language, coverage_percent, missing, engines_that_read_it } => {
            let instead = match engines_that_read_it.as_slice() {
                [] => "No installed engine reads it.".to_string(),
                engines => format!("Use --engine {}.", engines.join(" or --engine ")),
            };
            CliError::Usage(format!(
                "engine {engine} cannot read --language {language}: its character set covers {coverage_percent}% of the language's letters (missing e.g. {missing}). {instead}"
            ))
        }
        ServiceError::EngineUnavailable(engine) => CliError::ModelsMissing { engine, dir: dir.display().to_string() },
        other => CliError::Other(other.to_string()),
    }
}

/// Writes `bytes` to `target` through a temporary file beside it, so a
/// failed run never leaves a truncated PDF behind.
fn write_file(target: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let error = |e| CliError::Output { path: target.display().to_string(), source: e };
    let mut temporary = target.as_os_str().to_owned();
    temporary.push(".partial");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, bytes).map_err(error)?;
    std::fs::rename(&temporary, target).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        error(e)
    })
}
