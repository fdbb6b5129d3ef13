//! `ocr-server`: OCR.space-compatible OCR server and CLI.

use clap::Parser;
use ocr_api::cli::{run_ocr, Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Ocr(args) => run_ocr(args, &mut std::io::stdout().lock()),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ocr-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
