//! The `ocr-server` command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use ocr_engine::{PageResult, RecognizeOptions};
use serde::Serialize;

use crate::config::{Config, ConfigError};
use crate::engines::{load_engine, models_dir, CliError};

/// OCR.space-compatible OCR server with a pure-Rust neural OCR engine.
#[derive(Debug, Parser)]
#[command(name = "ocr-server", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read the text of image files and print it (no server needed).
    Ocr(OcrArgs),
    /// Run the OCR.space-compatible HTTP server.
    Serve(ServeArgs),
    /// Create, list and revoke API keys.
    Keys(crate::admin::KeysArgs),
    /// Show the tiers (plans) and their limits.
    Tiers(crate::admin::TiersArgs),
    /// Show usage per key and month (requests, pages, bytes).
    Usage(crate::admin::UsageArgs),
}

/// Where the configuration comes from; shared by `serve` and the admin commands.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigArgs {
    /// Configuration file (TOML) overriding the built-in defaults.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory: SQLite database and stored PDFs (default ./data).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl ConfigArgs {
    /// Loads the configuration: defaults, then the file, then the
    /// environment, then these arguments.
    pub fn load(&self) -> Result<Config, ConfigError> {
        let mut config = Config::load(self.config.as_deref())?;
        if let Some(dir) = &self.data_dir {
            config.storage.data_dir = dir.clone();
        }
        Ok(config)
    }
}

/// Arguments of `ocr-server serve`; each given option overrides the configuration.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Configuration sources.
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    pub bind: Option<std::net::SocketAddr>,
    /// Models directory (default: $OCR_MODELS_DIR or ./models).
    #[arg(long)]
    pub models_dir: Option<PathBuf>,
    /// OCR jobs run at once (default: number of cores).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Seconds one request may spend in OCR before it is answered with exit code 6.
    #[arg(long)]
    pub timeout_secs: Option<u64>,
    /// Hard cap on any upload in KB (tiers have their own limits below it).
    #[arg(long)]
    pub max_upload_kb: Option<u64>,
    /// Allow `url` inputs on loopback addresses (for local testing only;
    /// private and link-local addresses stay refused).
    #[arg(long)]
    pub allow_loopback_urls: bool,
    /// Build model plans on first use instead of at start-up.
    #[arg(long)]
    pub lazy_plans: bool,
}

impl ServeArgs {
    /// The configuration with these arguments applied.
    pub fn config(&self) -> Result<Config, ConfigError> {
        let mut config = self.config.load()?;
        let server = &mut config.server;
        if let Some(bind) = self.bind {
            server.bind = bind;
        }
        if let Some(workers) = self.workers {
            server.workers = workers;
        }
        if let Some(secs) = self.timeout_secs {
            server.timeout_secs = secs;
        }
        if let Some(kb) = self.max_upload_kb {
            server.max_upload_kb = kb;
        }
        server.allow_loopback_urls |= self.allow_loopback_urls;
        server.prepare_plans &= !self.lazy_plans;
        if let Some(dir) = &self.models_dir {
            config.models.dir = dir.clone();
        }
        Ok(config)
    }

    /// The server settings these arguments describe.
    pub fn settings(&self) -> Result<crate::server::Settings, ConfigError> {
        Ok(crate::server::Settings::from_config(&self.config()?))
    }
}

/// Output format of the `ocr` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Plain text, pages separated by a form feed.
    Text,
    /// JSON: one object per file with pages > blocks > lines > words.
    Json,
}

/// Arguments of `ocr-server ocr`.
#[derive(Debug, clap::Args)]
pub struct OcrArgs {
    /// Image files (JPEG, PNG, GIF, BMP, WebP, TIFF; every page/frame is read).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// OCR engine: 1 = PP-OCRv4 mobile (fast), 2 = PP-OCRv6 small (accurate).
    #[arg(long, default_value_t = 1)]
    pub engine: u8,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Run the 180° line classifier on every line (for upside-down text).
    #[arg(long)]
    pub classify_lines: bool,
    /// Models directory (default: $OCR_MODELS_DIR or ./models).
    #[arg(long)]
    pub models_dir: Option<PathBuf>,
}

#[derive(Serialize)]
struct FileResult<'a> {
    file: String,
    pages: &'a [PageResult],
}

/// Runs `ocr-server ocr`, writing results to `out`.
pub fn run_ocr(args: &OcrArgs, out: &mut dyn std::io::Write) -> Result<(), CliError> {
    let dir = args.models_dir.clone().unwrap_or_else(models_dir);
    let engine = load_engine(args.engine, &dir)?;
    let options = RecognizeOptions { classify_lines: args.classify_lines, ..Default::default() };
    let write_err = |e: std::io::Error| CliError::Io { path: "<stdout>".into(), source: e };
    for (i, file) in args.files.iter().enumerate() {
        let bytes = std::fs::read(file).map_err(|e| CliError::Io { path: file.display().to_string(), source: e })?;
        let pages = engine.recognize_bytes(&bytes, &options)?;
        match args.format {
            Format::Text => {
                if i > 0 {
                    writeln!(out, "\u{c}").map_err(write_err)?;
                }
                let texts: Vec<String> = pages.iter().map(PageResult::text).collect();
                writeln!(out, "{}", texts.join("\n\u{c}\n")).map_err(write_err)?;
            }
            Format::Json => {
                let record = FileResult { file: file.display().to_string(), pages: &pages };
                let json = serde_json::to_string(&record).map_err(|e| write_err(e.into()))?;
                writeln!(out, "{json}").map_err(write_err)?;
            }
        }
    }
    Ok(())
}
