//! The `ocr-server` command line: `ocr` (read files, no server needed),
//! `serve`, and the administration commands.

mod alto;
mod error;
mod hocr;
mod ocr;
mod progress;
mod xml;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use error::{CliError, EXIT_CODES};
pub use ocr::{run_ocr, Format, OcrArgs, ProgressMode};

use crate::config::{Config, ConfigError};

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
    /// Read images and PDFs and print their text, JSON, hOCR or ALTO, or
    /// write a searchable PDF (no server needed).
    #[command(after_help = EXIT_CODES)]
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
