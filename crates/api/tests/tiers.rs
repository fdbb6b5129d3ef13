//! Keys, tiers, quotas and rate limits, on both backends: every test runs
//! against SQLite and against a fresh database on the local PostgreSQL
//! server (reached over TCP), through the real application.

mod common;

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use common::{block_on, client, data, start, Backend, TestDb};
use ocr_api::store::{Store, Tier};
use serde_json::Value;

const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

fn line_image() -> Vec<u8> {
    std::fs::read(data("lines/book_1113_010043.png")).unwrap()
}

fn tier(id: &str, monthly: i64, file_kb: i64, pages: i64, ip_daily: i64) -> Tier {
    Tier {
        id: id.into(),
        name: id.into(),
        monthly_requests: monthly,
        max_file_kb: file_kb,
        max_pdf_pages: pages,
        ip_daily_requests: ip_daily,
        searchable_pdf: true,
    }
}

/// Creates a tier (when new) and a key on it; returns the secret and key id.
fn key_on(store: &Store, tier_row: Option<Tier>, tier_id: &str) -> (String, String) {
    block_on(async {
        if let Some(t) = tier_row {
            store.insert_tier(&t).await.unwrap();
        }
        let created = store.create_key(tier_id, "test").await.unwrap();
        (created.secret, created.key.id)
    })
}

/// POSTs `bytes` as a multipart file with the key in the header.
fn post(base: &str, key: Option<&str>, bytes: Vec<u8>) -> (u16, Value) {
    let form = reqwest::blocking::multipart::Form::new()
        .part("file", reqwest::blocking::multipart::Part::bytes(bytes).file_name("upload.png"));
    let mut request = client().post(format!("{base}/parse/image")).multipart(form);
    if let Some(key) = key {
        request = request.header("apikey", key);
    }
    let resp = request.send().unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap())
}

#[test]
fn missing_unknown_and_revoked_keys_get_403_with_a_json_string() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let base = start(db.settings(), None);
        let store = db.store();
        let (status, body) = post(&base, None, line_image());
        assert_eq!(
            (status, body.as_str().unwrap_or_default()),
            (403, "No API key was provided. Send your key in the 'apikey' header, form field or query parameter."),
            "{backend:?}"
        );
        let (status, body) = post(&base, Some("K0000000000"), line_image());
        assert_eq!((status, body), (403, Value::from("The API key is invalid.")), "{backend:?}");
        let (secret, id) = key_on(&store, None, "pro");
        let (status, body) = post(&base, Some(&secret), line_image());
        assert_eq!((status, &body["OCRExitCode"]), (200, &Value::from(1)), "{backend:?}: {body}");
        block_on(store.revoke_key(&id)).unwrap();
        let (status, body) = post(&base, Some(&secret), line_image());
        assert_eq!((status, body), (403, Value::from("The API key has been revoked.")), "{backend:?}");
        // The demo key works as a form field too (the PyPI client's way).
        let form = [("apikey", "helloworld"), ("url", "http://127.0.0.1:9/none.png")];
        let v: Value = client().post(format!("{base}/parse/image")).form(&form).send().unwrap().json().unwrap();
        assert!(v["ErrorMessage"][0].as_str().unwrap().starts_with("Unable to fetch"), "{backend:?}: {v}");
    }
}

#[test]
fn monthly_quota_and_per_ip_daily_limit_refuse_with_the_vendor_sentence() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let base = start(db.settings(), None);
        let store = db.store();
        let (monthly_key, monthly_id) = key_on(&store, Some(tier("two_a_month", 2, 1024, 3, 0)), "two_a_month");
        for _ in 0..2 {
            let (status, v) = post(&base, Some(&monthly_key), b"not an image".to_vec());
            assert_eq!((status, &v["ErrorMessage"][0]), (200, &Value::from("Unable to recognize the file type")));
        }
        let (status, v) = post(&base, Some(&monthly_key), line_image());
        assert_eq!(status, 403, "{backend:?}");
        let text = v.as_str().unwrap();
        assert!(
            text.starts_with(
                "You may only perform this action upto maximum 2 number of times within one calendar month."
            ),
            "{text}"
        );
        let usage = block_on(store.usage(Some(&monthly_id))).unwrap();
        assert_eq!(usage[0].requests, 2, "{backend:?}: refused requests are not counted");

        let (ip_key, _) = key_on(&store, Some(tier("three_a_day", 0, 1024, 3, 3)), "three_a_day");
        for _ in 0..3 {
            assert_eq!(post(&base, Some(&ip_key), b"x".to_vec()).0, 200);
        }
        let (status, v) = post(&base, Some(&ip_key), line_image());
        assert_eq!(
            (status, v),
            (403, Value::from("You may only perform this action upto maximum 3 number of times within 86400 seconds")),
            "{backend:?}"
        );
    }
}

#[test]
fn file_size_limit_at_the_boundary_and_while_streaming() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let base = start(db.settings(), None);
        let store = db.store();
        let (key, _) = key_on(&store, Some(tier("small_files", 0, 64, 3, 0)), "small_files");
        let limit = 64 * 1024;
        let too_large = "File failed validation. File size exceeds the maximum permissible file size limit of 64 KB";
        let (_, v) = post(&base, Some(&key), vec![b'x'; limit]);
        assert_eq!(v["ErrorMessage"][0], "Unable to recognize the file type", "{backend:?}: exactly the limit passes");
        let (_, v) = post(&base, Some(&key), vec![b'x'; limit + 1]);
        assert_eq!(v["ErrorMessage"][0], too_large, "{backend:?}: one byte more fails");

        // 200 MB streamed: the server answers after reading about the limit and
        // closes the connection (with the linger off: nothing more is read).
        let base = start(
            ocr_api::server::Settings { refused_upload_linger: std::time::Duration::ZERO, ..db.settings() },
            None,
        );
        let sent = Arc::new(AtomicU64::new(0));
        let body = CountingZeros { left: 200 << 20, sent: sent.clone() };
        let form = reqwest::blocking::multipart::Form::new()
            .part("file", reqwest::blocking::multipart::Part::reader(body).file_name("big.png"));
        let resp = client().post(format!("{base}/parse/image")).header("apikey", &key).multipart(form).send();
        if let Ok(resp) = resp {
            let v: Value = resp.json().unwrap();
            assert_eq!(v["ErrorMessage"][0], too_large);
        }
        let read = sent.load(Ordering::SeqCst);
        println!("{backend:?}: limit {limit} bytes, the client got {read} bytes out before the connection closed");
        assert!(read < 32 << 20, "{backend:?}: the client could push {read} bytes; the server kept reading");
    }
}

/// An endless-looking upload that counts what the server accepted.
struct CountingZeros {
    left: u64,
    sent: Arc<AtomicU64>,
}

impl Read for CountingZeros {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        buf[..n].fill(0);
        self.left -= n as u64;
        self.sent.fetch_add(n as u64, Ordering::SeqCst);
        Ok(n)
    }
}

#[test]
fn page_limit_applies_to_multi_page_tiffs_before_any_decoding() {
    let mut tiff = std::io::Cursor::new(Vec::new());
    {
        let mut enc = tiff::encoder::TiffEncoder::new(&mut tiff).unwrap();
        for _ in 0..4 {
            enc.write_image::<tiff::encoder::colortype::Gray8>(64, 32, &[255u8; 64 * 32]).unwrap();
        }
    }
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let base = start(db.settings(), None);
        let (status, v) = post(&base, Some("helloworld"), tiff.get_ref().clone());
        assert_eq!(status, 200);
        assert_eq!(
            v["ErrorMessage"][0],
            "File failed validation. PDF page limit exceeded: the file has 4 pages, the maximum for this API key is 3 pages.",
            "{backend:?}"
        );
        let (pro_pdf_key, _) = key_on(&db.store(), None, "pro_pdf");
        let (_, v) = post(&base, Some(&pro_pdf_key), tiff.get_ref().clone());
        assert_eq!(v["ParsedResults"].as_array().map(Vec::len), Some(4), "{backend:?}: {v}");
    }
}

#[test]
fn usage_is_recorded_per_key_and_month() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let base = start(db.settings(), None);
        let store = db.store();
        let (key, id) = key_on(&store, None, "pro");
        let image = line_image();
        for _ in 0..2 {
            let (_, v) = post(&base, Some(&key), image.clone());
            assert_eq!(v["OCRExitCode"], 1, "{v}");
        }
        let usage = block_on(store.usage(Some(&id))).unwrap();
        assert_eq!(usage.len(), 1);
        assert_eq!(usage[0].month, ocr_api::store::month_of(ocr_api::store::unix_now()));
        assert_eq!((usage[0].requests, usage[0].pages, usage[0].bytes), (2, 2, 2 * image.len() as i64), "{backend:?}");
    }
}

#[test]
fn forwarded_for_is_only_believed_from_trusted_proxies() {
    let db = TestDb::new(Backend::Sqlite);
    let store = db.store();
    let (key, _) = key_on(&store, Some(tier("one_a_day", 0, 1024, 3, 1)), "one_a_day");
    let untrusting = start(db.settings(), None);
    let trusting =
        start(ocr_api::server::Settings { trusted_proxies: vec!["127.0.0.1".parse().unwrap()], ..db.settings() }, None);
    let send = |base: &str, forwarded: &str| {
        let resp = client()
            .post(format!("{base}/parse/image"))
            .header("apikey", &key)
            .header("X-Forwarded-For", forwarded)
            .form(&[("url", "http://127.0.0.1:9/x.png")])
            .send()
            .unwrap();
        resp.status().as_u16()
    };
    // Untrusted peer: the header is ignored, so both requests count for 127.0.0.1.
    assert_eq!(send(&untrusting, "203.0.113.1"), 200);
    assert_eq!(send(&untrusting, "203.0.113.2"), 403);
    // Trusted peer: each forwarded client has its own daily count.
    assert_eq!(send(&trusting, "203.0.113.3"), 200);
    assert_eq!(send(&trusting, "203.0.113.4"), 200);
    assert_eq!(send(&trusting, "203.0.113.4"), 403);
}

/// 100 concurrent requests across two instances sharing one PostgreSQL
/// database, for a key with 20 requests left: exactly 20 are served.
#[test]
fn quota_is_exact_under_concurrency_across_two_instances() {
    let db = TestDb::new(Backend::Postgres);
    let store = db.store();
    let (key, id) = key_on(&store, Some(tier("twenty", 20, 1024, 3, 0)), "twenty");
    let engines = ocr_api::service::load_engines(&common::models_dir(), &db.settings().model_sets).unwrap();
    let bases = [start(db.settings(), Some(engines.clone())), start(db.settings(), Some(engines))];
    let image = line_image();
    let started = std::time::Instant::now();
    let outcomes: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..100)
            .map(|i| {
                let (base, key, image) = (&bases[i % 2], &key, image.clone());
                scope.spawn(move || post(base, Some(key), image))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let served = outcomes.iter().filter(|(s, v)| *s == 200 && v["OCRExitCode"] == 1).count();
    let refused = outcomes
        .iter()
        .filter(|(s, v)| {
            *s == 403
                && v.as_str().is_some_and(|t| {
                    t.starts_with(
                        "You may only perform this action upto maximum 20 number of times within one calendar month.",
                    )
                })
        })
        .count();
    let counter = block_on(store.usage(Some(&id))).unwrap()[0].requests;
    println!(
        "concurrency: 100 requests over 2 instances in {:.1} s: {served} served, {refused} refused, counter {counter}",
        started.elapsed().as_secs_f32()
    );
    assert_eq!((served, refused, counter), (20, 80, 20));
}

#[test]
fn bursts_and_concurrent_requests_per_key_are_limited_in_process() {
    let db = TestDb::new(Backend::Sqlite);
    let base = start(ocr_api::server::Settings { burst: (1, 2), ..db.settings() }, None);
    // A bucket of 2 refilled at 1 per second: the third request in a row is refused.
    let statuses: Vec<u16> = (0..3).map(|_| post(&base, Some("helloworld"), b"x".to_vec()).0).collect();
    assert_eq!(statuses, [200, 200, 403]);
    let (_, v) = post(&base, Some("helloworld"), b"x".to_vec());
    assert_eq!(v, Value::from("You may only perform this action upto maximum 1 number of times within 1 seconds"));

    let base = start(ocr_api::server::Settings { max_concurrent_per_key: 1, ..db.settings() }, None);
    let receipt = std::fs::read(data("receipts/503.jpg")).unwrap();
    let outcomes: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|i| {
                let (base, receipt) = (&base, receipt.clone());
                scope.spawn(move || {
                    std::thread::sleep(std::time::Duration::from_millis(300 * i));
                    post(base, Some("helloworld"), receipt)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(outcomes[0].1["OCRExitCode"], 1, "{:?}", outcomes[0]);
    assert_eq!(
        outcomes[1],
        (
            403,
            Value::from(
                "For this API KEY only 1 concurrent connections at the same time allowed. Contact support if you need more."
            )
        )
    );
}
