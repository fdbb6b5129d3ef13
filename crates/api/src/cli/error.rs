//! Errors of the command line and the exit code each one ends the process with.

use crate::service::ServiceError;

/// The exit codes, as printed after `ocr-server ocr --help` (numbered as
/// OCRmyPDF numbers its own, so scripts written for it read them alike).
pub const EXIT_CODES: &str = "\
Exit codes:
  0   every input was read (and the searchable PDF written)
  1   invalid arguments (also: a language the chosen engine cannot read)
  2   an input is no image or PDF this program reads, or it is damaged
  3   the models of the chosen engine are not installed (run scripts/fetch-models)
  4   an output (stdout or the searchable PDF) could not be written
  5   an input file could not be opened or read
  8   a PDF input is encrypted
  15  any other error";

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Arguments that cannot work together, or a language the engine cannot read.
    #[error("{0}")]
    Usage(String),
    /// The engine's models are not in the models directory.
    #[error("the models of engine {engine} are not installed in {dir}: run scripts/fetch-models")]
    ModelsMissing {
        /// Engine number.
        engine: u8,
        /// Models directory searched.
        dir: String,
    },
    /// An input is no supported type, is damaged, or could not be read as a document.
    #[error("{path}: {reason}")]
    Input {
        /// The input file.
        path: String,
        /// What is wrong with it.
        reason: String,
        /// Whether it is an encrypted PDF (exit code 8).
        encrypted: bool,
    },
    /// An input file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// An output could not be written.
    #[error("cannot write {path}: {source}")]
    Output {
        /// The file, or `<stdout>`.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] ocr_engine::EngineError),
    /// An administration command failed (configuration or database).
    #[error("{0}")]
    Admin(String),
    /// Anything else (a bug, or a failure outside the inputs' control).
    #[error("{0}")]
    Other(String),
}

impl CliError {
    /// The process exit code for this error (see [`EXIT_CODES`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) | Self::Admin(_) => 1,
            Self::Input { encrypted: true, .. } => 8,
            Self::Input { .. } | Self::Engine(_) => 2,
            Self::ModelsMissing { .. } => 3,
            Self::Output { .. } => 4,
            Self::Io { .. } => 5,
            Self::Other(_) => 15,
        }
    }

    /// Whether this is stdout closed by its reader (`… | head`), which
    /// ends the run without a message.
    pub fn is_closed_stdout(&self) -> bool {
        matches!(self, Self::Output { path, source } if path == "<stdout>" && source.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// The error of reading the document `path`, from the reader shared with the server.
    pub fn reading(path: &str, error: ServiceError) -> Self {
        let input = |reason: String, encrypted| Self::Input { path: path.to_string(), reason, encrypted };
        match error {
            ServiceError::UnknownFileType { detected, .. } => input(
                format!(
                    "not an image or PDF this program reads (JPEG, PNG, GIF, BMP, WebP, TIFF, PDF): the file looks like {detected}"
                ),
                false,
            ),
            ServiceError::Pdf(ocr_pdf::PdfError::Encrypted(reason)) => input(format!("the PDF is encrypted: {reason}"), true),
            ServiceError::Pdf(e) => input(e.to_string(), false),
            ServiceError::Engine(e) => input(e.to_string(), false),
            other => Self::Other(format!("{path}: {other}")),
        }
    }
}
