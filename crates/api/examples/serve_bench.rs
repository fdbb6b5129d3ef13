//! Start-up and memory benchmark of the real `ocr-server` binary: starts
//! `ocr-server serve` on a loopback port with a fresh data directory, and
//! prints the time to `/health` and to `/ready`, the resident memory (VmRSS)
//! at `/ready` and after a fixed mix of requests over loopback (receipts, an
//! A4 page, line images and a 3-page TIFF on Engines 1, 2 and 3 in turn),
//! the peak (VmHWM), the time requests spent building model plans (the most
//! one request paid, and the total, from `/metrics`) with the plans held,
//! and the latency of each kind of request; then the latency of a receipt
//! and of a 10-page scanned PDF on Engine 1 at 1 and at 2 concurrent clients
//! (`--rounds` requests per client; `--rounds 0` skips this part). Compare
//! the PDF at 1 client with `-- --workers 1` to see a request's pages read
//! side by side. The machine's load average is printed with the figures.
//!
//! ```text
//! cargo build -p ocr-api --bin ocr-server --example serve_bench
//! $CARGO_TARGET_DIR/debug/examples/serve_bench [--requests 100] [--clients 2] [--rounds 3] [--trace] [--in-process]
//!     [--bin PATH] [--data DIR] [-- SERVE_ARGS...]
//! ```
//!
//! Run it from the repository root (the server finds `./models` there, or
//! `$OCR_MODELS_DIR`). `--bin` defaults to the `ocr-server` built next to
//! this example; `--data` to `../shared/data`. `--trace` prints each mixed
//! request (kind, engine, seconds) with the server's RSS after it to stderr.
//! `--in-process` runs the server in this process instead of the binary (same
//! allocator, mimalloc) and prints its live heap beside the RSS: what the
//! program holds against what the allocator keeps.
//! Arguments after `--` go to `ocr-server serve` (e.g. `--workers 1`). The
//! server is stopped at the end.

use std::alloc::{GlobalAlloc, Layout};
use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use image::imageops::FilterType;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One kind of request in the mix.
struct Input {
    kind: &'static str,
    name: String,
    bytes: Vec<u8>,
}

/// The server under test: a child process (killed when the benchmark ends,
/// however it ends), or, with `--in-process`, a thread of this process.
enum Server {
    Process(Child),
    InProcess(std::thread::JoinHandle<Result<(), String>>),
}

impl Server {
    /// The process whose memory is measured.
    fn pid(&self) -> u32 {
        match self {
            Self::Process(child) => child.id(),
            Self::InProcess(_) => std::process::id(),
        }
    }

    /// Why the server stopped, once it has.
    fn stopped(&mut self) -> Result<Option<String>, BoxError> {
        Ok(match self {
            Self::Process(child) => child.try_wait()?.map(|status| status.to_string()),
            Self::InProcess(thread) => thread.is_finished().then(|| "its thread ended".to_string()),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Self::Process(child) = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Heap bytes the process holds now (counted by [`Counting`]).
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// The server binary's allocator (mimalloc), counting live heap bytes: with
/// `--in-process`, the difference between RSS and the live heap is memory
/// the allocator holds that the program does not.
struct Counting;

// SAFETY: every call is forwarded to mimalloc unchanged; only a counter is updated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = mimalloc::MiMalloc.alloc(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        mimalloc::MiMalloc.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = mimalloc::MiMalloc.alloc_zeroed(layout);
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = mimalloc::MiMalloc.realloc(ptr, layout, new_size);
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE.fetch_add(new_size, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The live heap in MB.
fn live_mb() -> f64 {
    LIVE.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0)
}

/// Starts the server on `port` in this process (a thread running its own
/// actix system), with the settings `ocr-server serve` would use.
fn serve_in_process(port: u16, dir: &Path, serve_args: &[String]) -> Result<Server, BoxError> {
    use clap::Parser;
    let mut argv: Vec<std::ffi::OsString> = vec!["ocr-server".into(), "serve".into(), "--bind".into()];
    argv.push(format!("127.0.0.1:{port}").into());
    argv.push("--data-dir".into());
    argv.push(dir.as_os_str().to_owned());
    argv.extend(serve_args.iter().map(Into::into));
    let ocr_api::cli::Cli { command: ocr_api::cli::Command::Serve(args) } = ocr_api::cli::Cli::try_parse_from(argv)?
    else {
        return Err("not a serve command".into());
    };
    let settings = args.settings()?;
    Ok(Server::InProcess(std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = ocr_api::server::Application::build(&settings).await.map_err(|e| e.to_string())?;
            app.run_until_stopped().await.map_err(|e| e.to_string())
        })
    })))
}

/// A `kB` figure of `/proc/PID/status` (VmRSS, VmHWM), in MB.
fn status_mb(pid: u32, field: &str) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb: f64 = text
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    kb / 1024.0
}

fn sorted_files(dir: &Path, ext: &str) -> Result<Vec<PathBuf>, BoxError> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    paths.sort();
    Ok(paths)
}

/// A TIFF of three receipts (each scaled to 800 px wide).
fn three_page_tiff(receipts: &[PathBuf]) -> Result<Vec<u8>, BoxError> {
    let mut out = Cursor::new(Vec::new());
    let mut encoder = tiff::encoder::TiffEncoder::new(&mut out)?;
    for path in receipts.iter().take(3) {
        let page = image::open(path)?.to_rgb8();
        let height = (page.height() as f32 * 800.0 / page.width() as f32).round() as u32;
        let page = image::imageops::resize(&page, 800, height, FilterType::Triangle);
        encoder.write_image::<tiff::encoder::colortype::RGB8>(page.width(), page.height(), page.as_raw())?;
    }
    Ok(out.into_inner())
}

/// A 10-page scanned PDF: the first ten development receipts, one JPEG per page.
fn ten_page_pdf(data: &Path) -> Result<Vec<u8>, BoxError> {
    use ocr_pdf::{write_searchable_pdf, PageImage, PdfPage, TextLayer};
    let receipts = sorted_files(&data.join("receipts"), "jpg")?;
    let pages = receipts
        .iter()
        .take(10)
        .map(|path| -> Result<PdfPage, BoxError> {
            let image = PageImage::jpeg(std::fs::read(path)?)?.with_dpi(300.0, 300.0);
            Ok(PdfPage { image, lines: Vec::new() })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if pages.len() < 10 {
        return Err(format!("{} has fewer than 10 receipts", data.display()).into());
    }
    Ok(write_searchable_pdf(&pages, TextLayer::Hidden)?)
}

/// The request mix: 4 receipts, 1 A4 page, 4 line images, 1 TIFF per 10.
fn inputs(data: &Path) -> Result<Vec<Input>, BoxError> {
    let read = |p: &Path, kind: &'static str| -> Result<Input, BoxError> {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Ok(Input { kind, name, bytes: std::fs::read(p)? })
    };
    let receipts = sorted_files(&data.join("receipts"), "jpg")?;
    let lines = sorted_files(&data.join("lines"), "png")?;
    let pages = sorted_files(&data.join("pages"), "jpg")?;
    if receipts.len() < 4 || lines.len() < 4 || pages.is_empty() {
        return Err(format!("{} lacks receipts/, lines/ or pages/ images", data.display()).into());
    }
    let mut mix = Vec::new();
    for path in &receipts[..4] {
        mix.push(read(path, "receipt")?);
    }
    mix.push(read(&pages[0], "A4 page")?);
    for path in &lines[..4] {
        mix.push(read(path, "line")?);
    }
    mix.push(Input { kind: "3-page TIFF", name: "receipts.tif".into(), bytes: three_page_tiff(&receipts[4..])? });
    Ok(mix)
}

/// Waits for `url` to answer 200; the time it took since `start`.
fn wait_for(
    client: &reqwest::blocking::Client,
    url: &str,
    start: Instant,
    server: &mut Server,
) -> Result<f64, BoxError> {
    loop {
        if let Ok(r) = client.get(url).send() {
            if r.status().is_success() {
                return Ok(start.elapsed().as_secs_f64());
            }
        }
        if let Some(why) = server.stopped()? {
            return Err(format!("server stopped ({why}) before {url} answered").into());
        }
        if start.elapsed() > Duration::from_secs(300) {
            return Err(format!("{url} did not answer 200 within 300 s").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// POSTs `input` to `/parse/image` on `engine`: whether the answer carried
/// text (`OCRExitCode` 1), and the seconds it took.
fn send(client: &reqwest::blocking::Client, base: &str, key: &str, input: &Input, engine: u8) -> (bool, f64) {
    let form = reqwest::blocking::multipart::Form::new()
        .text("apikey", key.to_string())
        .text("OCREngine", engine.to_string())
        .part("file", reqwest::blocking::multipart::Part::bytes(input.bytes.clone()).file_name(input.name.clone()));
    let sent = Instant::now();
    let ok = client
        .post(format!("{base}/parse/image"))
        .multipart(form)
        .send()
        .and_then(|r| r.json::<serde_json::Value>())
        .map(|v| v["OCRExitCode"] == 1)
        .unwrap_or(false);
    (ok, sent.elapsed().as_secs_f64())
}

/// User and system CPU seconds process `pid` has used (`/proc/PID/stat`).
fn cpu_seconds(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces), from field 3 on.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN) / 100.0;
    (ticks(11), ticks(12))
}

/// The 1-minute load average of the machine (`/proc/loadavg`).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// The value of the unlabelled metric `name` in the server's `/metrics`.
fn metric(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The sum of every sample of the labelled metric `name` (`name{...} value`).
fn metric_sum(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter_map(|l| l.strip_prefix(name)?.strip_prefix('{')?.rsplit_once(' ')?.1.trim().parse::<f64>().ok())
        .sum()
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() as f64 - 1.0) * p).round() as usize]
}

fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let exe_dir = std::env::current_exe()?.parent().and_then(Path::parent).map(Path::to_path_buf);
    let mut bin = exe_dir.map(|d| d.join("ocr-server")).unwrap_or_else(|| "ocr-server".into());
    let (mut data, mut requests, mut clients, mut rounds) = (PathBuf::from("../shared/data"), 100usize, 2usize, 3usize);
    let mut serve_args: Vec<String> = Vec::new();
    let (mut trace, mut in_process) = (false, false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bin" => bin = args.next().ok_or("--bin needs a value")?.into(),
            "--data" => data = args.next().ok_or("--data needs a value")?.into(),
            "--requests" => requests = args.next().ok_or("--requests needs a value")?.parse()?,
            "--clients" => clients = args.next().ok_or("--clients needs a value")?.parse::<usize>()?.max(1),
            "--rounds" => rounds = args.next().ok_or("--rounds needs a value")?.parse::<usize>()?,
            "--trace" => trace = true,
            "--in-process" => in_process = true,
            "--" => serve_args.extend(args.by_ref()),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let mix = inputs(&data)?;
    let dir = std::env::temp_dir().join(format!("serve-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let created = Command::new(&bin)
        .args(["keys", "create", "--tier", "enterprise", "--data-dir"])
        .arg(&dir)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let stdout = String::from_utf8_lossy(&created.stdout);
    let key =
        stdout.lines().find_map(|l| l.strip_prefix("apikey:")).map(|k| k.trim().to_string()).ok_or_else(|| {
            format!("keys create printed no key: {stdout} {}", String::from_utf8_lossy(&created.stderr))
        })?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let base = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(dir.join("server.log"))?;
    let live_before = live_mb();
    let start = Instant::now();
    let mut server = if in_process {
        serve_in_process(port, &dir, &serve_args)?
    } else {
        Server::Process(
            Command::new(&bin)
                .arg("serve")
                .args(["--bind", &format!("127.0.0.1:{port}"), "--data-dir"])
                .arg(&dir)
                .args(&serve_args)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()?,
        )
    };
    let pid = server.pid();
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(300)).build()?;
    let health = wait_for(&client, &format!("{base}/health"), start, &mut server)?;
    let ready = wait_for(&client, &format!("{base}/ready"), start, &mut server)?;
    let rss_ready = status_mb(pid, "VmRSS:");
    let load_ready = load_average();
    let live_ready = live_mb() - live_before;
    let cpu_ready = cpu_seconds(pid);

    // The mix: request i sends input i % 10 to engine 1 + i % 3, so every
    // input meets every engine; `clients` threads take requests in turn.
    let next = AtomicUsize::new(0);
    let latencies: Mutex<BTreeMap<(&str, u8), Vec<f64>>> = Mutex::new(BTreeMap::new());
    let failures = AtomicUsize::new(0);
    let mix_start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                let input = &mix[i % mix.len()];
                let engine = 1 + (i % 3) as u8;
                let (ok, seconds) = send(&client, &base, &key, input, engine);
                if !ok {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                if trace {
                    let rss = status_mb(pid, "VmRSS:");
                    let live = if in_process {
                        format!(", live heap {:.0} MB", live_mb() - live_before)
                    } else {
                        String::new()
                    };
                    eprintln!("{i:>4} {:<12} engine {engine} {seconds:>6.2} s  RSS {rss:>5.0} MB{live}", input.kind);
                }
                latencies.lock().map(|mut l| l.entry((input.kind, engine)).or_default().push(seconds)).ok();
            });
        }
    });
    let mix_seconds = mix_start.elapsed().as_secs_f64();
    let rss_after = status_mb(pid, "VmRSS:");
    let peak = status_mb(pid, "VmHWM:");
    let load_mix = load_average();
    let live_after = live_mb() - live_before;
    let cpu_mix = cpu_seconds(pid);
    let (user, system) = (cpu_mix.0 - cpu_ready.0, cpu_mix.1 - cpu_ready.1);
    let metrics = client.get(format!("{base}/metrics")).send().and_then(|r| r.text()).unwrap_or_default();
    // Freed buffers go back to the system a moment after the last request.
    std::thread::sleep(Duration::from_secs(5));
    let rss_settled = status_mb(pid, "VmRSS:");
    let live_settled = live_mb() - live_before;

    // A receipt and a 10-page scanned PDF on Engine 1, at 1 and at 2
    // concurrent clients (`rounds` requests per client each).
    let receipt = &mix[0];
    let pdf = Input { kind: "10-page PDF", name: "receipts.pdf".into(), bytes: ten_page_pdf(&data)? };
    let mut concurrent = Vec::new();
    for input in [receipt, &pdf].into_iter().filter(|_| rounds > 0) {
        for at_once in [1usize, 2] {
            let times = Mutex::new(Vec::new());
            std::thread::scope(|s| {
                for _ in 0..at_once {
                    s.spawn(|| {
                        for _ in 0..rounds {
                            let (ok, seconds) = send(&client, &base, &key, input, 1);
                            if !ok {
                                failures.fetch_add(1, Ordering::Relaxed);
                            }
                            times.lock().map(|mut t| t.push(seconds)).ok();
                        }
                    });
                }
            });
            concurrent.push((input.kind, at_once, times.into_inner().unwrap_or_default()));
        }
    }

    println!("server: {} {}", bin.display(), serve_args.join(" "));
    println!("/health after {health:.2} s, /ready after {ready:.2} s");
    println!("RSS at /ready {rss_ready:.0} MB (load average {load_ready})");
    println!(
        "RSS after {requests} mixed requests ({clients} clients, {mix_seconds:.0} s, {} failed): {rss_after:.0} MB (peak {peak:.0} MB; load average {load_mix})",
        failures.load(Ordering::Relaxed)
    );
    println!("RSS 5 s after the mix: {rss_settled:.0} MB");
    println!("server CPU during the mix: {:.0} s (user {user:.0} s, system {system:.0} s)", user + system);
    if in_process {
        println!(
            "live heap of the server (in process, beside the benchmark's {live_before:.0} MB of inputs): {live_ready:.0} MB at /ready, {live_after:.0} MB after the mix, {live_settled:.0} MB 5 s later"
        );
    }
    match (metric(&metrics, "ocr_plan_build_seconds_max"), metric(&metrics, "ocr_plan_build_seconds_total")) {
        (Some(max), Some(total)) => println!(
            "plan building during the mix: at most {max:.2} s in one request, {total:.2} s in all; {} plans held",
            metric_sum(&metrics, "ocr_model_plans")
        ),
        _ => println!("plan building: the server's /metrics has no ocr_plan_build_seconds_*"),
    }
    println!("{:<12} {:>6} {:>5} {:>8} {:>8}", "input", "engine", "n", "p50 s", "p95 s");
    for ((kind, engine), mut values) in latencies.into_inner().unwrap_or_default() {
        let (p50, p95) = (percentile(&mut values, 0.5), percentile(&mut values, 0.95));
        println!("{kind:<12} {engine:>6} {:>5} {p50:>8.2} {p95:>8.2}", values.len());
    }
    if rounds > 0 {
        println!("engine 1, {rounds} requests per client:");
        println!("{:<12} {:>7} {:>8} {:>8}", "input", "clients", "p50 s", "p95 s");
    }
    for (kind, at_once, mut values) in concurrent {
        if values.is_empty() {
            continue;
        }
        let (p50, p95) = (percentile(&mut values, 0.5), percentile(&mut values, 0.95));
        println!("{kind:<12} {at_once:>7} {p50:>8.2} {p95:>8.2}");
    }
    if failures.load(Ordering::Relaxed) > 0 {
        println!("{} requests failed in all", failures.load(Ordering::Relaxed));
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
