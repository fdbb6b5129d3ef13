//! `ocr-server`: OCR.space-compatible OCR server and CLI.

use clap::Parser;
use ocr_api::admin::{run_keys, run_tiers, run_usage};
use ocr_api::cli::{run_ocr, Cli, CliError, Command, ServeArgs};
use ocr_api::server::Application;

/// mimalloc returns freed pages to the system soon after they are freed; with
/// glibc's malloc the server's resident memory kept the peak of the large,
/// short-lived buffers of detection (RSS 850 MB after 100 mixed requests).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version exit 0; usage errors exit 1 (see `ocr --help`).
            return std::process::ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    let result = match &cli.command {
        Command::Ocr(args) => run_ocr(args, &mut std::io::stdout().lock()),
        Command::Serve(args) => serve(args).map_err(CliError::Other),
        Command::Keys(args) => run_keys(args, &mut std::io::stdout().lock()),
        Command::Tiers(args) => run_tiers(args, &mut std::io::stdout().lock()),
        Command::Usage(args) => run_usage(args, &mut std::io::stdout().lock()),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            if !e.is_closed_stdout() {
                eprintln!("ocr-server: {e}");
            }
            std::process::ExitCode::from(e.exit_code())
        }
    }
}

fn serve(args: &ServeArgs) -> Result<(), String> {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let settings = args.settings().map_err(|e| e.to_string())?;
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(&settings).await.map_err(|e| e.to_string())?;
        tracing::info!(address = %settings.bind.ip(), port = app.port(), "ocr-server listening");
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}
