//! Asynchronous jobs against the real `ocr-server` binary: a job submitted
//! to `POST /jobs` is answered 202 at once, polled to `done` on
//! `GET /jobs/{id}` with the document `/parse/image` gives for the same
//! input, and its result is POSTed to a loopback receiver with a valid
//! HMAC-SHA256 signature (retried after a failed delivery); a callback URL
//! to a private address is refused; and a job whose instance is killed
//! (`kill -9`) mid-document is finished by another instance on the same
//! PostgreSQL database, reading only the pages the first had not stored,
//! its webhook delivered once; a finished job is
//! deleted after `[jobs].retention_secs`, unless its webhook is pending.

mod common;
#[path = "support/server_process.rs"]
mod server_process;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{block_on, client, data, Backend, TestDb};
use serde_json::Value;
use server_process::{engine_one_config, ServerProcess};

const SECRET: &str = "webhook-test-secret";

/// One `ocr-server serve` process; killed (SIGKILL) on drop.
struct Instance {
    process: ServerProcess,
    base: String,
}

impl Instance {
    /// Starts the binary on `db`: engine 1, lazy plans, one worker, loopback
    /// URLs on any port allowed (the receiver's), 3 s job leases.
    fn start(name: &str, db: &TestDb) -> Self {
        Self::start_with(name, db, "")
    }

    /// As [`Instance::start`], with more `[jobs]` settings.
    fn start_with(name: &str, db: &TestDb, jobs: &str) -> Self {
        let dir = db.data_dir.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let sections = format!(
            r#"[database]
url = "{db}"
[auth]
demo_key_enabled = "true"
burst_per_second = 1000
burst_size = 1000
[jobs]
lease_secs = 3
webhook_secret = "{SECRET}"
webhook_backoff_secs = 1
{jobs}
"#,
            db = db.url,
        );
        let server = "workers = 1\nallow_loopback_urls = true\nurl_ports = []";
        let config = engine_one_config(&db.data_dir.join("data"), &common::models_dir(), server, &sections);
        std::fs::write(dir.join("config.toml"), config).unwrap();
        let process =
            ServerProcess::spawn(env!("CARGO_BIN_EXE_ocr-server").as_ref(), &dir.join("config.toml"), &[], true)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        Self { base: process.base.clone(), process }
    }

    fn log_has(&self, text: &str) -> bool {
        self.process.log_has(text)
    }
}

/// One request the receiver got: its `X-Signature` header and body.
#[derive(Debug, Clone)]
struct Delivery {
    signature: String,
    body: Vec<u8>,
}

/// A loopback HTTP server that records every POST; the first `fail_first`
/// are answered 500, the rest 200.
struct Receiver {
    url: String,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
}

impl Receiver {
    fn start(fail_first: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
        let deliveries = Arc::new(Mutex::new(Vec::new()));
        let sink = deliveries.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let (mut length, mut signature) = (0usize, String::new());
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    let (name, value) = line.split_once(':').unwrap_or((&line, ""));
                    match name.trim().to_ascii_lowercase().as_str() {
                        "content-length" => length = value.trim().parse().unwrap_or(0),
                        "x-signature" => signature = value.trim().to_string(),
                        _ => {}
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let mut all = sink.lock().unwrap();
                all.push(Delivery { signature, body });
                let status = if all.len() <= fail_first { "500 Internal Server Error" } else { "200 OK" };
                drop(all);
                let _ = write!(stream, "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            }
        });
        Self { url, deliveries }
    }

    fn received(&self) -> Vec<Delivery> {
        self.deliveries.lock().unwrap().clone()
    }

    /// Waits until `n` deliveries arrived.
    fn wait_for(&self, n: usize, within: Duration) -> Vec<Delivery> {
        let deadline = Instant::now() + within;
        while self.received().len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        self.received()
    }
}

/// Whether the body's `X-Signature` is its HMAC-SHA256 under [`SECRET`].
fn signature_ok(delivery: &Delivery) -> bool {
    let Some(hex) = delivery.signature.strip_prefix("sha256=") else { return false };
    let tag: Vec<u8> = (0..hex.len() / 2).filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()).collect();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET.as_bytes());
    ring::hmac::verify(&key, &delivery.body, &tag).is_ok()
}

/// The body, once its signature is checked.
fn verified(delivery: &Delivery) -> Value {
    assert!(signature_ok(delivery), "the signature verifies: {delivery:?}");
    serde_json::from_slice(&delivery.body).unwrap()
}

fn form(bytes: Vec<u8>, name: &str, fields: &[(&str, &str)]) -> reqwest::blocking::multipart::Form {
    let mut form = reqwest::blocking::multipart::Form::new()
        .part("file", reqwest::blocking::multipart::Part::bytes(bytes).file_name(name.to_string()));
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    form
}

fn submit(base: &str, key: &str, bytes: Vec<u8>, name: &str, fields: &[(&str, &str)]) -> (u16, Value) {
    let response = client()
        .post(format!("{base}/jobs"))
        .header("apikey", key)
        .multipart(form(bytes, name, fields))
        .send()
        .unwrap();
    (response.status().as_u16(), response.json().unwrap())
}

fn status(base: &str, key: &str, id: &str) -> (u16, Value) {
    let response = client().get(format!("{base}/jobs/{id}")).header("apikey", key).send().unwrap();
    (response.status().as_u16(), response.json().unwrap())
}

/// Polls until the job is `done` or `failed`.
fn finished(base: &str, key: &str, id: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (code, v) = status(base, key, id);
        assert_eq!(code, 200, "{v}");
        if v["State"] == "done" || v["State"] == "failed" {
            return v;
        }
        assert!(Instant::now() < deadline, "job not finished in {within:?}: {v}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_job_gives_the_parse_result_and_a_signed_webhook_and_private_callbacks_are_refused() {
    let db = TestDb::new(Backend::Sqlite);
    let server = Instance::start("one", &db);
    let receiver = Receiver::start(1);
    let receipt = std::fs::read(data("receipts/505.jpg")).unwrap();
    let fields = [("isOverlayRequired", "true"), ("callbackUrl", receiver.url.as_str())];
    let started = Instant::now();
    let (code, accepted) = submit(&server.base, "helloworld", receipt.clone(), "505.jpg", &fields);
    let answered_in = started.elapsed();
    assert_eq!(code, 202, "{accepted}");
    let id = accepted["JobId"].as_str().unwrap().to_string();
    assert_eq!(accepted["State"], "queued");

    // Another key does not see the job.
    let store = db.store();
    let other = block_on(store.create_key("free", "other")).unwrap().secret;
    assert_eq!(status(&server.base, &other, &id).0, 404);

    let done = finished(&server.base, "helloworld", &id, Duration::from_secs(180));
    println!("job answered 202 in {answered_in:?}, done after {:?}: {}", started.elapsed(), done["State"]);
    assert_eq!(done["State"], "done", "{done}");
    assert_eq!((done["PagesDone"].as_i64(), done["PagesTotal"].as_i64()), (Some(1), Some(1)));

    // The same input through /parse/image: the same document.
    let parsed: Value = client()
        .post(format!("{}/parse/image", server.base))
        .header("apikey", "helloworld")
        .multipart(form(receipt, "505.jpg", &[("isOverlayRequired", "true")]))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let result = &done["Result"];
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(result), keys(&parsed));
    assert_eq!(result["ParsedResults"][0]["ParsedText"], parsed["ParsedResults"][0]["ParsedText"]);
    assert_eq!(result["ParsedResults"][0]["TextOverlay"], parsed["ParsedResults"][0]["TextOverlay"]);
    assert!(!parsed["ParsedResults"][0]["ParsedText"].as_str().unwrap().is_empty());

    // The first delivery is answered 500, the retry 200: two deliveries of one payload, signed.
    let deliveries = receiver.wait_for(2, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(3));
    let deliveries_later = receiver.received();
    assert_eq!(deliveries_later.len(), 2, "delivered once after one failure: {deliveries:?}");
    let (first, second) = (verified(&deliveries[0]), verified(&deliveries[1]));
    assert_eq!(first, second);
    assert_eq!((first["JobId"].as_str(), first["State"].as_str()), (Some(id.as_str()), Some("done")));
    assert_eq!(first["IdempotencyKey"], format!("{id}:done"));
    assert_eq!(&first["Result"], result);
    let tampered = Delivery { signature: deliveries[0].signature.clone(), body: b"{}".to_vec() };
    assert!(!signature_ok(&tampered), "a changed body fails the signature");
    assert_eq!(status(&server.base, "helloworld", &id).1["Webhook"], "delivered");

    // Callback URLs pass the `url` input's address checks.
    for url in ["http://169.254.169.254/latest", "http://10.0.0.1/hook", "ftp://127.0.0.1/x"] {
        let receipt = std::fs::read(data("receipts/505.jpg")).unwrap();
        let (code, v) = submit(&server.base, "helloworld", receipt, "505.jpg", &[("callbackUrl", url)]);
        println!("callbackUrl {url}: HTTP {code} {}", v["ErrorMessage"]);
        assert_eq!((code, &v["IsErroredOnProcessing"]), (200, &Value::Bool(true)), "{url}: {v}");
        assert!(v["ErrorMessage"].to_string().contains("callbackUrl refused"), "{v}");
    }
    assert!(server.log_has("job finished"));
}

#[test]
fn a_job_whose_instance_is_killed_is_finished_by_another_and_delivered_once() {
    let db = TestDb::new(Backend::Postgres);
    let key = block_on(db.store().create_key("pro_pdf", "jobs")).unwrap().secret;
    let receiver = Receiver::start(0);
    let first = Instance::start("first", &db);
    let fields = [("callbackUrl", receiver.url.as_str())];
    let (code, accepted) = submit(&first.base, &key, common::three_receipt_tiff(), "three.tif", &fields);
    assert_eq!(code, 202, "{accepted}");
    let id = accepted["JobId"].as_str().unwrap().to_string();
    // Killed while reading the document.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !first.log_has("job claimed") {
        assert!(Instant::now() < deadline, "the job was not claimed");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Killed once at least one page is stored (pages are stored with the
    // progress, at each lease renewal) and before the last.
    let running = loop {
        let (_, running) = status(&first.base, &key, &id);
        assert_eq!(running["State"], "running", "{running}");
        if running["PagesDone"].as_i64().unwrap_or(0) >= 1 {
            break running;
        }
        assert!(Instant::now() < deadline, "no page was read: {running}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let read_before = running["PagesDone"].as_i64().unwrap();
    assert!(read_before < 3, "killed before the last page: {running}");
    drop(first);
    println!("killed the first instance (kill -9) while the job was {running}");

    let second = Instance::start("second", &db);
    let killed_at = Instant::now();
    let done = finished(&second.base, &key, &id, Duration::from_secs(240));
    println!(
        "the second instance finished it {:?} after the kill: {} pages, attempt {}",
        killed_at.elapsed(),
        done["PagesTotal"],
        done["Attempts"]
    );
    assert_eq!(done["State"], "done", "{done}");
    assert_eq!(done["Attempts"], 2);
    let parsed = done["Result"]["ParsedResults"].as_array().unwrap();
    assert_eq!(parsed.len(), 3);
    assert!(parsed.iter().all(|page| !page["ParsedText"].as_str().unwrap().trim().is_empty()), "{done}");
    // The second instance read only the pages the first had not stored.
    assert!(second.log_has("job resumed after the pages read before"));
    let metrics = client().get(format!("{}/metrics", second.base)).send().unwrap().text().unwrap();
    let ocr_pages: i64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("ocr_pages_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no ocr_pages_total in {metrics}"));
    println!("the first instance had read {read_before} page(s); the second read {ocr_pages}");
    assert!(ocr_pages <= 3 - read_before, "pages read again: {ocr_pages} after {read_before} read");
    // The stored pages make the same document as one reading.
    let whole: Value = client()
        .post(format!("{}/parse/image", second.base))
        .header("apikey", &key)
        .multipart(form(common::three_receipt_tiff(), "three.tif", &[]))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(done["Result"]["ParsedResults"], whole["ParsedResults"]);
    let deliveries = receiver.wait_for(1, Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(receiver.received().len(), 1, "one webhook per success: {deliveries:?}");
    let payload = verified(&deliveries[0]);
    assert_eq!(payload["IdempotencyKey"], format!("{id}:done"));
    assert_eq!(payload["Result"], done["Result"]);
}

#[test]
fn a_finished_job_is_deleted_after_the_retention_unless_its_webhook_is_pending() {
    let db = TestDb::new(Backend::Sqlite);
    let server = Instance::start_with("retention", &db, "retention_secs = 3");
    // Every delivery fails: the webhook stays pending (retried after 1, 2, 4, … s).
    let receiver = Receiver::start(usize::MAX);
    let receipt = std::fs::read(data("receipts/505.jpg")).unwrap();
    let (code, plain) = submit(&server.base, "helloworld", receipt.clone(), "505.jpg", &[]);
    assert_eq!(code, 202, "{plain}");
    let fields = [("callbackUrl", receiver.url.as_str())];
    let (code, hooked) = submit(&server.base, "helloworld", receipt, "505.jpg", &fields);
    assert_eq!(code, 202, "{hooked}");
    let (plain, hooked) = (plain["JobId"].as_str().unwrap(), hooked["JobId"].as_str().unwrap());
    let done = finished(&server.base, "helloworld", plain, Duration::from_secs(180));
    assert_eq!((&done["State"], &done["Webhook"]), (&Value::from("done"), &Value::from("none")), "{done}");
    let done = finished(&server.base, "helloworld", hooked, Duration::from_secs(180));
    assert_eq!(done["State"], "done", "{done}");
    let finished_at = Instant::now();

    // Gone within the retention and a sweep (every second at this retention).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, v) = status(&server.base, "helloworld", plain);
        if code == 404 {
            break;
        }
        assert_eq!(code, 200, "{v}");
        assert!(Instant::now() < deadline, "the finished job was kept past its retention: {v}");
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("the finished job was deleted {:?} after the second one finished", finished_at.elapsed());
    assert!(server.log_has("deleted finished jobs past their retention"));
    // The job whose webhook is still pending stays, though it is past the
    // retention too (3 s, whole seconds, and a sweep a second).
    std::thread::sleep(Duration::from_secs(7).saturating_sub(finished_at.elapsed()));
    let (code, v) = status(&server.base, "helloworld", hooked);
    assert_eq!((code, &v["Webhook"]), (200, &Value::from("pending")), "{v}");
    assert!(!receiver.received().is_empty(), "deliveries were tried");
}
