//! `ocr-server`: OCR.space-compatible OCR server and CLI.

use clap::Parser;
use ocr_api::admin::{run_keys, run_tiers, run_usage};
use ocr_api::cli::{run_ocr, Cli, CliError, Command, ServeArgs};
use ocr_api::server::Application;

/// mimalloc returns freed pages to the system; with glibc's malloc the
/// server's resident memory kept the peak of the large, short-lived buffers
/// of detection (RSS 850 MB after 100 mixed requests).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// mimalloc functions linked in with the allocator (the `mimalloc` crate
// declares them only with its `extended` feature).
extern "C" {
    fn mi_option_set_default(option: std::ffi::c_int, value: std::ffi::c_long);
    fn mi_collect(force: bool);
    fn prctl(option: std::ffi::c_int, ...) -> std::ffi::c_int;
}

/// Linux's `PR_SET_THP_DISABLE`.
const PR_SET_THP_DISABLE: std::ffi::c_int = 41;

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_t`.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// How long freed memory stays committed before mimalloc returns it to the
/// system (its default: 1000 ms). `MIMALLOC_PURGE_DELAY` overrides it.
const PURGE_DELAY_MS: std::ffi::c_long = 100;

/// Turns transparent huge pages off for this process. mimalloc asks for
/// them on its arenas (`madvise`), and a 2 MB page stays resident whole
/// while any of it is in use, and is not returned by purging 64 kB of it:
/// serve_bench, same binary, `MIMALLOC_ALLOW_THP=0`: RSS 328 -> 278 MB at
/// `/ready`, 521 -> 452 MB after the mix, CPU unchanged. mimalloc's own
/// option acts at its start, before `main`, so the kernel is told instead.
fn no_transparent_huge_pages() {
    // SAFETY: prctl with an integer option and argument changes only this
    // process's THP flag; a failure (older kernel) leaves THP as it was.
    let [on, unused]: [std::ffi::c_ulong; 2] = [1, 0];
    let failed = unsafe { prctl(PR_SET_THP_DISABLE, on, unused, unused, unused) } != 0;
    if failed {
        tracing::debug!("transparent huge pages could not be turned off");
    }
}

/// Returns freed memory to the system soon after it is freed. The
/// detector's activations (hundreds of MB for a large page) are freed at
/// the end of each page; mimalloc returns freed memory only once it has
/// waited its delay and the thread that freed it calls into it again, so
/// after a request they stayed resident (serve_bench: 576 MB after the mix
/// and 5 s later, of which 324 MB live heap). No delay at all cost 30% more
/// CPU (every tensor freed and faulted in again inside a page); instead each
/// worker collects its freed memory after each job, and the delay is shorter.
fn return_freed_memory_soon() {
    // SAFETY: a plain setter of mimalloc's global options, valid at any time;
    // the index is that of purge_delay in mimalloc 3's header.
    unsafe { mi_option_set_default(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    ocr_api::service::OcrPool::after_each_job(|| {
        // SAFETY: collects the calling thread's heap and returns freed
        // memory to the system; valid on any thread at any time.
        unsafe { mi_collect(true) }
    });
}

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
    no_transparent_huge_pages();
    return_freed_memory_soon();
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(&settings).await.map_err(|e| e.to_string())?;
        tracing::info!(address = %settings.bind.ip(), port = app.port(), "ocr-server listening");
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}
