//! The real `ocr-server` binary, started as a child process on 127.0.0.1:0
//! (engine 1 only, SQLite under a temporary directory): URL fetches ignore
//! proxy variables, SIGTERM drains in-flight requests and refuses new ones,
//! downloads stream from storage, and a keyless flood of big text fields
//! leaves the resident memory where it was.

mod common;
#[path = "support/raw.rs"]
mod raw;
#[path = "support/server_process.rs"]
mod server_process;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use server_process::{engine_one_config, ServerProcess};

/// A running `ocr-server serve` in its own directory; killed on drop, the
/// directory removed unless the test failed.
struct Running {
    process: ServerProcess,
    dir: PathBuf,
}

impl Running {
    /// Starts the binary with `env` added to a clean environment, in a
    /// fresh directory (removed on drop).
    fn start(name: &str, env: &[(&str, String)]) -> Self {
        let dir = std::env::temp_dir().join(format!("ocr-binary-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self::launch(dir, env)
    }

    /// Starts the binary on `dir` (its configuration and data directory).
    fn launch(dir: PathBuf, env: &[(&str, String)]) -> Self {
        let server =
            "allow_loopback_urls = true\nurl_ports = []\nshutdown_timeout_secs = 5\nrefused_upload_linger_ms = 0";
        let sections = "[pdf]\nlink_secret = \"binary-test-secret\"\n";
        let config = engine_one_config(&dir.join("data"), &common::models_dir(), server, sections);
        std::fs::write(dir.join("config.toml"), config).unwrap();
        let process =
            ServerProcess::spawn(env!("CARGO_BIN_EXE_ocr-server").as_ref(), &dir.join("config.toml"), env, true)
                .unwrap_or_else(|e| panic!("{e}"));
        Self { process, dir }
    }
}

impl std::ops::Deref for Running {
    type Target = ServerProcess;
    fn deref(&self) -> &ServerProcess {
        &self.process
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut ServerProcess {
        &mut self.process
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.process.kill_9();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A loopback server that counts connections and answers each with `respond`
/// (after reading the request head).
fn serve(respond: impl Fn(&mut TcpStream) + Send + Sync + 'static) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let respond = Arc::new(respond);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            seen.fetch_add(1, Ordering::SeqCst);
            let respond = respond.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                    line.clear();
                }
                respond(&mut stream);
            });
        }
    });
    (port, count)
}

fn png() -> Vec<u8> {
    std::fs::read(common::data("lines/book_1113_010043.png")).unwrap()
}

fn png_response(stream: &mut TcpStream) {
    let body = png();
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}

fn ocr_url(base: &str, url: &str) -> (u16, Value) {
    let resp = common::client()
        .post(format!("{base}/parse/image"))
        .header("apikey", "helloworld")
        .form(&[("url", url)])
        .send()
        .unwrap();
    (resp.status().as_u16(), resp.json().unwrap())
}

/// With every proxy variable pointing at a loopback listener, a URL input is
/// still fetched directly: the stand-in proxy receives nothing.
#[test]
fn url_fetches_never_go_through_a_proxy() {
    let (proxy, proxied) = serve(|s| {
        let _ = s.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
    let (files, fetched) = serve(png_response);
    let proxy_url = format!("http://127.0.0.1:{proxy}");
    let env: Vec<(&str, String)> = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"]
        .into_iter()
        .map(|k| (k, proxy_url.clone()))
        .collect();
    let server = Running::start("proxy", &env);
    let (status, v) = ocr_url(&server.base, &format!("http://127.0.0.1:{files}/line.png"));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["OCRExitCode"], 1, "{v}");
    assert_eq!((fetched.load(Ordering::SeqCst), proxied.load(Ordering::SeqCst)), (1, 0), "direct fetches, no proxy");
}

/// SIGTERM: the server stops accepting, answers the request in progress,
/// then exits.
#[test]
fn sigterm_drains_in_flight_requests_and_refuses_new_ones() {
    let (arrived_tx, arrived_rx) = mpsc::channel::<()>();
    let arrived_tx = Mutex::new(arrived_tx);
    let (slow, _) = serve(move |s| {
        let _ = arrived_tx.lock().unwrap().send(());
        std::thread::sleep(Duration::from_secs(2));
        png_response(s);
    });
    // A generous drain time: the OCR after the slow fetch may be slow on a busy machine.
    let mut server = Running::start("sigterm", &[("OCR_SERVER__SHUTDOWN_TIMEOUT_SECS", "60".to_string())]);
    let base = server.base.clone();
    let in_flight = std::thread::spawn(move || ocr_url(&base, &format!("http://127.0.0.1:{slow}/line.png")));
    arrived_rx.recv_timeout(Duration::from_secs(30)).expect("the slow request reached the file server");
    server.signal("TERM");
    let signalled = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    // New connections are refused (or closed unanswered) while the request drains.
    let (refused, how) = match TcpStream::connect(server.address()) {
        Err(e) => (true, format!("connect failed: {e}")),
        Ok(mut stream) => {
            stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let _ = stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            (!answer.starts_with("HTTP/1.1 200"), format!("connected, answer {answer:?}"))
        }
    };
    println!("SIGTERM: a new connection 0.5 s after the signal: {how}");
    let (status, v) = in_flight.join().unwrap();
    let drained_after = signalled.elapsed();
    assert!(refused, "a new connection was served after SIGTERM");
    assert_eq!((status, v["OCRExitCode"].as_i64()), (200, Some(1)), "{v}");
    let exit = loop {
        if let Some(exit) = server.try_wait() {
            break exit;
        }
        assert!(signalled.elapsed() < Duration::from_secs(15), "still running: {}", server.log());
        std::thread::sleep(Duration::from_millis(50));
    };
    println!(
        "SIGTERM: in-flight request answered {drained_after:?} after the signal; exited after {:?} ({exit})",
        signalled.elapsed()
    );
    assert!(exit.success(), "{exit}: {}", server.log());
}

/// SIGTERM waits for in-flight requests no longer than the shutdown
/// timeout: a request still waiting for its URL then is cut off, and the
/// process exits.
#[test]
fn sigterm_waits_no_longer_than_the_shutdown_timeout() {
    let (arrived_tx, arrived_rx) = mpsc::channel::<()>();
    let arrived_tx = Mutex::new(arrived_tx);
    let (stuck, _) = serve(move |s| {
        let _ = arrived_tx.lock().unwrap().send(());
        std::thread::sleep(Duration::from_secs(30));
        png_response(s);
    });
    let mut server = Running::start("sigterm-bound", &[("OCR_SERVER__SHUTDOWN_TIMEOUT_SECS", "1".to_string())]);
    let base = server.base.clone();
    let in_flight = std::thread::spawn(move || {
        let form = [("url", format!("http://127.0.0.1:{stuck}/line.png"))];
        common::client().post(format!("{base}/parse/image")).header("apikey", "helloworld").form(&form).send()
    });
    arrived_rx.recv_timeout(Duration::from_secs(30)).expect("the request reached the stuck file server");
    server.signal("TERM");
    let signalled = Instant::now();
    let exit = loop {
        if let Some(exit) = server.try_wait() {
            break exit;
        }
        assert!(signalled.elapsed() < Duration::from_secs(20), "still running 20 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    let exited_after = signalled.elapsed();
    let cut_off = in_flight.join().unwrap().is_err();
    println!(
        "SIGTERM with a 1 s shutdown timeout: exited after {exited_after:?} ({exit}); the stuck request was cut off: {cut_off}"
    );
    assert!(cut_off, "the stuck request got an answer");
    assert!(exited_after < Duration::from_secs(10), "{exited_after:?}");
}

/// A stored PDF of 256 MB is served in full with its length, while the
/// server's resident memory stays far below the file's size; the SQLite
/// file and the stored PDFs are owner-only.
#[test]
fn downloads_stream_from_storage_and_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let server = Running::start("download", &[]);
    let pdf_dir = server.dir.join("data/pdf");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&pdf_dir), 0o700);
    assert_eq!(mode(&server.dir.join("data/ocr-server.db")), 0o600);
    let size: u64 = 256 << 20;
    let id = "00ff00ff00ff00ff";
    let file = std::fs::File::create(pdf_dir.join(format!("{id}.pdf"))).unwrap();
    file.set_len(size).unwrap();
    let token = ocr_api::pdflinks::TokenSigner::new(b"binary-test-secret").sign(id, ocr_api::store::unix_now() + 600);
    let before = server.rss_kb();
    let mut stream = TcpStream::connect(server.address()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(stream, "GET /pdf/{token}.pdf HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        head.push_str(&line);
        if line == "\r\n" || line.is_empty() {
            break;
        }
    }
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_ascii_lowercase().contains(&format!("content-length: {size}")), "{head}");
    let mut first = vec![0; 1 << 20];
    reader.read_exact(&mut first).unwrap();
    // The client stalls: a server that buffered the file would hold it all now.
    std::thread::sleep(Duration::from_millis(700));
    let during = server.rss_kb();
    let rest = std::io::copy(&mut reader, &mut std::io::sink()).unwrap();
    println!("download of {size} bytes: server RSS {before} KB before, {during} KB while the client stalled");
    assert_eq!(first.len() as u64 + rest, size);
    assert!(during < before + 64 * 1024, "RSS grew from {before} KB to {during} KB");
}

/// The case against the real binary: no key, a chunked multipart
/// body of 30 text fields of 50 MB each. Answered at once, memory flat.
#[test]
fn keyless_flood_leaves_resident_memory_flat() {
    let server = Running::start("flood", &[]);
    let before = server.rss_kb();
    let head = "POST /parse/image HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nTransfer-Encoding: chunked\r\n\r\n";
    let (response, elapsed, sent) = raw::race(&server.base, head, raw::big_text_fields("XyZ", 30, 50 << 20));
    let after = server.rss_kb();
    println!(
        "keyless flood (30 x 50 MB fields) on the binary: answered in {elapsed:?}, client sent {sent} bytes, RSS {before} KB -> {after} KB"
    );
    assert!(response.contains("field 'f0' is longer than 8192 bytes"), "{response}");
    assert!(after < before + 50 * 1024, "RSS grew from {before} KB to {after} KB");
    // Idle afterwards (no reading or work left behind), and serving normally.
    std::thread::sleep(Duration::from_secs(2));
    let cpu = server.cpu_time();
    std::thread::sleep(Duration::from_secs(1));
    let busy = server.cpu_time() - cpu;
    println!("keyless flood: CPU used in the second 2 s after the refusal: {busy:?}");
    assert!(busy < Duration::from_millis(500), "the server kept working: {busy:?} CPU in 1 s");
    let form = reqwest::blocking::multipart::Form::new()
        .part("file", reqwest::blocking::multipart::Part::bytes(png()).file_name("line.png"));
    let resp =
        common::client().post(format!("{}/parse/image", server.base)).header("apikey", "helloworld").multipart(form);
    let v: Value = resp.send().unwrap().json().unwrap();
    assert_eq!(v["OCRExitCode"], 1, "a normal request right after: {v}");
}

/// `kill -9` under load, then a restart on the same data: the request
/// counter equals the requests answered 200 before the crash (a request cut
/// off in flight holds a reservation, released when it expires, and is not
/// counted), a PDF cut off half-written is never served and is deleted by
/// the restarted instance's sweep once stale, and links issued before the
/// crash still download.
#[test]
fn kill_9_under_load_loses_no_counted_work_or_issued_links() {
    let first = Running::start("crash", &[]);
    let image = png();
    let post = |base: &str| -> Option<(u16, Value)> {
        let form = reqwest::blocking::multipart::Form::new()
            .text("isCreateSearchablePdf", "true")
            .part("file", reqwest::blocking::multipart::Part::bytes(image.clone()).file_name("line.png"));
        let resp =
            common::client().post(format!("{base}/parse/image")).header("apikey", "helloworld").multipart(form).send();
        let resp = resp.ok()?;
        let status = resp.status().as_u16();
        Some((status, resp.json().ok()?))
    };
    let mut links = Vec::new();
    for _ in 0..3 {
        let (status, v) = post(&first.base).unwrap();
        assert_eq!((status, v["OCRExitCode"].as_i64()), (200, Some(1)), "{v}");
        links.push(v["SearchablePDFURL"].as_str().unwrap().to_string());
    }
    // Load: 4 clients in a loop; kill -9 while they run.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (served, cut_off) = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    let (mut served, mut cut_off) = (0, 0);
                    while !stop.load(Ordering::SeqCst) {
                        match post(&first.base) {
                            Some((200, v)) if v["OCRExitCode"] == 1 => served += 1,
                            Some((status, v)) => panic!("{status}: {v}"),
                            None => cut_off += 1,
                        }
                    }
                    (served, cut_off)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs(4));
        first.signal("KILL");
        stop.store(true, Ordering::SeqCst);
        clients.into_iter().map(|c| c.join().unwrap()).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    let served = served + links.len();
    let partial: Vec<_> = std::fs::read_dir(first.dir.join("data/pdf"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    // A write cut off by the kill leaves its `.partial` file (the rename
    // never happened): at most one per request in flight. Aged past the
    // sweep's lease, the restarted instance deletes them.
    // One more is planted, so the deletion is checked even when the kill
    // fell between writes.
    let planted = first.dir.join("data/pdf/00000000000000000000000000000000.pdf.partial");
    std::fs::write(&planted, b"%PDF-1.7\n% cut off").unwrap();
    let mut stale: Vec<PathBuf> = partial.iter().map(|e| e.path()).collect();
    stale.push(planted);
    let an_hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    for path in &stale {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(an_hour_ago).unwrap();
    }
    let second = Running::launch(first.dir.clone(), &[("OCR_PDF__SWEEP_INTERVAL_SECS", "1".to_string())]);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while stale.iter().any(|p| p.exists()) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let left: Vec<_> = stale.iter().filter(|p| p.exists()).collect();
    let url = format!("sqlite://{}?mode=rw", first.dir.join("data/ocr-server.db").display());
    let (counted, pages, reserved): (i64, i64, i64) = common::block_on(async {
        let store = ocr_api::store::Store::connect(&url, 1).await.unwrap();
        let rows = store.usage(None).await.unwrap();
        let sum = |field: fn(&ocr_api::store::UsageRow) -> i64| rows.iter().map(field).sum();
        (sum(|row| row.requests), sum(|row| row.pages), sum(|row| row.reserved))
    });
    println!(
        "kill -9: {served} requests answered 200, {cut_off} cut off in flight; counters: {counted} requests, \
         {pages} pages, {reserved} reservations held; {} partial files (deleted after restart)",
        partial.len()
    );
    assert!(partial.len() <= cut_off, "more partial PDFs than requests in flight: {partial:?}");
    assert!(left.is_empty(), "stale partial PDFs not deleted by the restarted sweep: {left:?}");
    // One page per request, counted with its answer: a crash can fall
    // between the count and the answer only for the time of one write.
    let bounded = |n: i64| n >= served as i64 && n <= (served + cut_off) as i64;
    assert!(
        bounded(counted) && counted == pages && reserved <= cut_off as i64,
        "requests {counted}, pages {pages}, reserved {reserved}, served {served}, cut off {cut_off}"
    );
    for link in &links {
        let link = link.replace(&first.base, &second.base);
        let resp = common::client().get(&link).send().unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{link}");
        assert!(resp.bytes().unwrap().starts_with(b"%PDF-"));
    }
}
