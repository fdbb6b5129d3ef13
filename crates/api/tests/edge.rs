//! The HTTP edge under hostile input: request budgets enforced before memory
//! is spent, keys checked before bodies are read, per-IP limits by /64,
//! `X-Forwarded-For` entries with ports, URL fetch failures named, internal
//! errors hidden behind an error id, echoed values escaped. The application
//! runs on 127.0.0.1:0 without OCR models: everything here happens before OCR.

mod common;
#[path = "support/engines.rs"]
mod engines;
#[path = "support/raw.rs"]
mod raw;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::{block_on, client, start, Backend, TestDb};
use engines::no_engines;
use ocr_api::server::Settings;
use ocr_api::store::{Store, Tier};
use raw::{big_text_fields, race};
use serde_json::Value;

/// Starts the app without models; refused uploads are not lingered over.
fn start_edge(settings: Settings) -> String {
    start(Settings { refused_upload_linger: Duration::ZERO, ..settings }, Some(no_engines()))
}

/// Everything the server logs, for the log-injection and error-id tests.
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || SharedWriter(sink.clone()))
            .with_env_filter("info")
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        logs
    })
}

struct SharedWriter(Arc<Mutex<Vec<u8>>>);

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logged() -> String {
    String::from_utf8_lossy(&logs().lock().unwrap()).into_owned()
}

/// The case: no key anywhere, a chunked multipart body of 30 text
/// fields of 50 MB each. The first field passes its 8 KB budget within its
/// first chunk: refused long before the client could send it all.
#[test]
fn keyless_multipart_flood_of_big_text_fields_is_refused_after_one_chunk() {
    let db = TestDb::new(Backend::Sqlite);
    let base = start_edge(db.settings());
    let head = format!(
        "POST /parse/image HTTP/1.1\r\nHost: {}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nTransfer-Encoding: chunked\r\n\r\n",
        base.trim_start_matches("http://")
    );
    let total = 30u64 * (50 << 20);
    let (response, elapsed, sent) = race(&base, &head, big_text_fields("XyZ", 30, 50 << 20));
    println!("keyless flood: answered in {elapsed:?}; the client sent {sent} of {total} bytes");
    assert!(response.contains("field 'f0' is longer than 8192 bytes"), "{response}");
    assert!(sent < 32 << 20, "the server read on: the client sent {sent} bytes");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

/// A wrong key in the header is refused (403) before the body is read.
#[test]
fn a_wrong_header_key_is_refused_before_the_body_is_read() {
    let db = TestDb::new(Backend::Sqlite);
    let base = start_edge(db.settings());
    let head = "POST /parse/image HTTP/1.1\r\nHost: x\r\napikey: wrong\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nTransfer-Encoding: chunked\r\n\r\n";
    let (response, elapsed, sent) = race(&base, head, big_text_fields("XyZ", 4, 50 << 20));
    println!("wrong key: answered in {elapsed:?}; the client sent {sent} bytes");
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    assert!(response.ends_with("\"The API key is invalid.\""), "{response}");
    assert!(sent < 32 << 20, "the client sent {sent} bytes");
}

fn post_form(base: &str, key: Option<&str>, form: reqwest::blocking::multipart::Form) -> (u16, Value) {
    let mut request = client().post(format!("{base}/parse/image")).multipart(form);
    if let Some(key) = key {
        request = request.header("apikey", key);
    }
    let resp = request.send().unwrap();
    (resp.status().as_u16(), resp.json().unwrap())
}

fn message(v: &Value) -> String {
    v["ErrorMessage"][0].as_str().unwrap_or_default().to_string()
}

#[test]
fn fields_are_few_and_short_and_base64_images_are_bounded_by_the_file_limit() {
    let db = TestDb::new(Backend::Sqlite);
    let base = start_edge(db.settings());
    // 33 fields (the key in a form field counts too): one too many.
    let mut form = reqwest::blocking::multipart::Form::new().text("apikey", "helloworld");
    for i in 0..32 {
        form = form.text(format!("f{i}"), "x");
    }
    let (_, v) = post_form(&base, None, form);
    assert_eq!(message(&v), "The request could not be read: more than 32 fields were sent.", "{v}");
    // A field over 8 KB, in a multipart and in a urlencoded body.
    let form = reqwest::blocking::multipart::Form::new().text("language", "e".repeat(9000));
    let (_, v) = post_form(&base, Some("helloworld"), form);
    assert_eq!(message(&v), "The request could not be read: field 'language' is longer than 8192 bytes.", "{v}");
    let resp = client()
        .post(format!("{base}/parse/image"))
        .header("apikey", "helloworld")
        .form(&[("language", "e".repeat(9000))])
        .send()
        .unwrap();
    let v: Value = resp.json().unwrap();
    assert_eq!(message(&v), "The request could not be read: field 'language' is longer than 8192 bytes.", "{v}");
    // base64Image may be as long as the free tier's 1 MB file (4/3 of it), not more.
    let image = |bytes: usize| {
        use base64::Engine as _;
        format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(vec![7u8; bytes]))
    };
    let resp = client()
        .post(format!("{base}/parse/image"))
        .header("apikey", "helloworld")
        .form(&[("base64Image", image(1000 * 1024))])
        .send()
        .unwrap();
    let v: Value = resp.json().unwrap();
    assert_eq!(message(&v), "Unable to recognize the file type", "read in full and decoded: {v}");
    let resp = client()
        .post(format!("{base}/parse/image"))
        .header("apikey", "helloworld")
        .form(&[("base64Image", image(1100 * 1024))])
        .send()
        .unwrap();
    let v: Value = resp.json().unwrap();
    assert!(message(&v).contains("field 'base64Image' is longer than"), "{v}");
    // Two files in one request are refused.
    let form = reqwest::blocking::multipart::Form::new()
        .part("file", reqwest::blocking::multipart::Part::bytes(vec![1; 10]).file_name("a.png"))
        .part("file2", reqwest::blocking::multipart::Part::bytes(vec![1; 10]).file_name("b.png"));
    let (_, v) = post_form(&base, Some("helloworld"), form);
    assert_eq!(message(&v), "The request could not be read: only one file may be uploaded per request", "{v}");
}

/// A body whose declared length passes every budget is refused unread.
#[test]
fn a_declared_body_over_the_budget_is_refused_unread() {
    let db = TestDb::new(Backend::Sqlite);
    let base = start_edge(db.settings());
    let mut stream = TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = "POST /parse/image HTTP/1.1\r\nHost: x\r\napikey: helloworld\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000000\r\n\r\nlanguage=eng";
    stream.write_all(head.as_bytes()).unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    assert!(response.contains("the body exceeds the maximum of"), "{response}");
}

/// A body that trickles in is cut off at the body deadline, answered.
#[test]
fn a_body_that_does_not_arrive_in_time_is_refused() {
    let db = TestDb::new(Backend::Sqlite);
    let base = start_edge(Settings { body_timeout: Duration::from_secs(1), ..db.settings() });
    let mut stream = TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = "POST /parse/image HTTP/1.1\r\nHost: x\r\napikey: helloworld\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nlanguage=e";
    stream.write_all(head.as_bytes()).unwrap();
    let started = std::time::Instant::now();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    println!("slow body: answered after {:?}", started.elapsed());
    assert!(response.contains("the body did not arrive within 1 s."), "{response}");
}

/// Uploads in progress share one memory budget: while a stalled upload
/// holds most of it, another is refused as busy (503) as it uploads; once
/// the first ends, its room is given back.
#[test]
fn concurrent_uploads_share_one_memory_budget() {
    let db = TestDb::new(Backend::Sqlite);
    // The default linger: a refused upload is read on briefly, so the client
    // finishes sending and reads its 503 instead of a reset.
    let base = start(Settings { upload_memory_bytes: 1 << 20, ..db.settings() }, Some(no_engines()));
    let part_head = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n";
    let file = vec![b'x'; 900 * 1024];
    let tail = "\r\n--XyZ--\r\n";
    let mut stalled = TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    stalled.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let head = format!(
        "POST /parse/image HTTP/1.1\r\nHost: x\r\napikey: helloworld\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{part_head}",
        part_head.len() + file.len() + tail.len()
    );
    stalled.write_all(head.as_bytes()).unwrap();
    stalled.write_all(&file[..800 * 1024]).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let upload = |bytes: usize| {
        let form = reqwest::blocking::multipart::Form::new()
            .part("file", reqwest::blocking::multipart::Part::bytes(vec![b'y'; bytes]).file_name("b.png"));
        post_form(&base, Some("helloworld"), form)
    };
    let (status, v) = upload(400 * 1024);
    assert_eq!(status, 503, "{v}");
    assert_eq!(message(&v), "Server busy: too many uploads in progress. Please retry in a few seconds.");
    stalled.write_all(&file[800 * 1024..]).unwrap();
    stalled.write_all(tail.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stalled.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let (status, v) = upload(400 * 1024);
    assert_eq!(status, 200, "the first upload's room was given back: {v}");
}

fn tier(id: &str, ip_daily: i64) -> Tier {
    Tier {
        id: id.into(),
        name: id.into(),
        monthly_requests: 0,
        max_file_kb: 1024,
        max_pdf_pages: 3,
        ip_daily_requests: ip_daily,
        searchable_pdf: true,
    }
}

fn key_on(store: &Store, tier_row: Tier) -> String {
    block_on(async {
        store.insert_tier(&tier_row).await.unwrap();
        store.create_key(&tier_row.id, "test").await.unwrap().secret
    })
}

/// IPv6 clients are counted by their /64; forwarded entries with ports count
/// for their address (before, they were dropped and the proxy was counted).
#[test]
fn per_ip_limits_count_ipv6_by_the_64_and_read_forwarded_ports() {
    let db = TestDb::new(Backend::Sqlite);
    let key = key_on(&db.store(), tier("one_a_day", 1));
    let base = start_edge(Settings { trusted_proxies: vec!["127.0.0.1".parse().unwrap()], ..db.settings() });
    let send = |forwarded: Option<&str>| {
        let mut request = client().post(format!("{base}/parse/image")).header("apikey", &key);
        if let Some(f) = forwarded {
            request = request.header("X-Forwarded-For", f);
        }
        request.form(&[("url", "http://127.0.0.1:9/x.png")]).send().unwrap().status().as_u16()
    };
    assert_eq!(send(None), 200, "the proxy's own request");
    assert_eq!(send(Some("203.0.113.7:5678")), 200, "a client with a port: its own count, not the proxy's");
    assert_eq!(send(Some("203.0.113.7")), 403, "the same client without the port");
    assert_eq!(send(Some("[2001:db8:1:2::1]:443")), 200);
    assert_eq!(send(Some("[2001:db8:1:2:ffff::9]:80")), 403, "same /64");
    assert_eq!(send(Some("2001:db8:1:2::abcd")), 403, "same /64, no port");
    assert_eq!(send(Some("2001:db8:1:3::1")), 200, "another /64");
}

/// Parameter values are echoed escaped and truncated: a newline cannot
/// start a forged log line, and the response carries the escaped text.
#[test]
fn echoed_parameter_values_cannot_forge_log_lines() {
    logs();
    let db = TestDb::new(Backend::Sqlite);
    let base = start_edge(db.settings());
    let forged = "eng\nERROR forged: admin logged in\r\n";
    let resp = client()
        .post(format!("{base}/parse/image"))
        .header("apikey", "helloworld")
        .form(&[("language", forged)])
        .send()
        .unwrap();
    let v: Value = resp.json().unwrap();
    let text = message(&v);
    assert!(text.contains("'eng\\nERROR forged: admin logged in\\r\\n'"), "{text}");
    let resp = client()
        .post(format!("{base}/parse/image"))
        .header("apikey", "helloworld")
        .form(&[("x\nWARN forged name", "1")])
        .send()
        .unwrap();
    let v: Value = resp.json().unwrap();
    assert!(message(&v).starts_with("Parameter name 'x\\nWARN forged name' is invalid"), "{v}");
    let resp = client()
        .post(format!("{base}/parse/image"))
        .header("apikey", "helloworld")
        .form(&[("filetype", "z".repeat(5000))])
        .send()
        .unwrap();
    let v: Value = resp.json().unwrap();
    assert!(message(&v).contains(&format!("'{}…'", "z".repeat(64))), "{v}");
    let log = logged();
    assert!(log.contains("admin logged in"), "the refusal is logged: {log}");
    for line in log.lines() {
        assert!(!line.starts_with("ERROR forged") && !line.starts_with("WARN forged"), "forged line: {line}");
    }
}

/// A database failure reaches the client as a generic message with an
/// error id; the log has the cause under the same id.
#[test]
fn internal_errors_are_hidden_behind_an_error_id() {
    logs();
    let db = TestDb::new(Backend::Sqlite);
    let base = start_edge(db.settings());
    // Break the database under the running server: its tables disappear.
    block_on(async {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        sqlx::query("DROP TABLE api_keys").execute(&pool).await.unwrap();
    });
    let resp = client().post(format!("{base}/parse/image")).header("apikey", "helloworld").send().unwrap();
    let status = resp.status().as_u16();
    let v: Value = resp.json().unwrap();
    let text = message(&v);
    println!("{status} {text}");
    assert!(text.starts_with("Internal server error (error id "), "{v}");
    for leak in ["sqlx", "database", "api_keys", "no such table", "SELECT"] {
        assert!(!text.contains(leak), "{leak} leaked: {text}");
    }
    let id = text.split("error id ").nth(1).unwrap().split(')').next().unwrap().to_string();
    assert_eq!(id.len(), 8, "{id}");
    let log = logged();
    let line = log.lines().find(|l| l.contains(&id)).unwrap_or_else(|| panic!("no log line with {id}: {log}"));
    assert!(line.contains("api_keys"), "the log has the cause: {line}");
}

/// A loopback HTTP server answering every connection with `respond`
/// once the request head has arrived.
fn serve(respond: impl Fn(&mut TcpStream) + Send + 'static) -> u16 {
    use std::io::BufRead;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                line.clear();
            }
            respond(&mut stream);
        }
    });
    port
}

/// Fetch failures say what happened, in the OCR.space envelope.
#[test]
fn url_fetch_failures_name_their_cause() {
    let db = TestDb::new(Backend::Sqlite);
    let mut settings = db.settings();
    settings.fetch_policy.timeout = Duration::from_secs(2);
    let base = start_edge(settings);
    let fetch = |url: String| {
        let resp = client()
            .post(format!("{base}/parse/image"))
            .header("apikey", "helloworld")
            .form(&[("url", url.as_str())])
            .send()
            .unwrap();
        let v: Value = resp.json().unwrap();
        assert_eq!(v["IsErroredOnProcessing"], true, "{v}");
        message(&v)
    };
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    assert_eq!(
        fetch(format!("http://127.0.0.1:{closed}/x.png")),
        "Unable to fetch the file from the URL: connection refused"
    );
    let plain = serve(|s| {
        let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
    assert_eq!(
        fetch(format!("http://127.0.0.1:{plain}/x.png")),
        "Unable to fetch the file from the URL: the server answered HTTP 404 Not Found"
    );
    let tls = fetch(format!("https://127.0.0.1:{plain}/x.png"));
    assert!(tls.starts_with("Unable to fetch the file from the URL: TLS error: "), "{tls}");
    let silent = serve(|s| {
        let held = s.try_clone().unwrap();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(10));
            drop(held);
        });
    });
    assert_eq!(
        fetch(format!("http://127.0.0.1:{silent}/x.png")),
        "Unable to fetch the file from the URL: timed out after 2 s"
    );
    let huge = serve(|s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\nConnection: close\r\n\r\n");
    });
    assert_eq!(
        fetch(format!("http://127.0.0.1:{huge}/x.png")),
        "File failed validation. File size exceeds the maximum permissible file size limit of 1024 KB"
    );
}
