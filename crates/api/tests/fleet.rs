//! Two real `ocr-server` processes on one PostgreSQL database and one S3
//! bucket (a real S3 server on loopback that checks signatures), as behind a
//! load balancer: a searchable-PDF link made by either instance downloads
//! from the other; when the links expire the two sweepers delete every
//! object exactly once (one S3 DELETE per object, none left, no record
//! left); a key's monthly quota holds exactly over both processes.

mod common;
#[path = "support/s3.rs"]
mod s3;
#[path = "support/server_process.rs"]
mod server_process;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{block_on, client, data, Backend, TestDb};
use s3::S3Server;
use serde_json::Value;
use server_process::{engine_one_config, ServerProcess};

/// One `ocr-server serve` process; killed on drop, its directory removed.
struct Instance {
    process: ServerProcess,
    base: String,
    dir: PathBuf,
}

impl Instance {
    /// Starts the binary on `db` and `bucket` of `s3` (engine 1 only, lazy
    /// plans, links living `link_secs`, sweeps every second).
    fn start(name: &str, db: &TestDb, s3: &S3Server, bucket: &str, link_secs: u64, monthly_quota: i64) -> Self {
        let dir = db.data_dir.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let sections = format!(
            r#"[database]
url = "{db}"
[auth]
demo_key_enabled = "true"
burst_per_second = 1000
burst_size = 1000
[enterprise]
monthly_requests = {monthly_quota}
[pdf]
link_lifetime_secs = {link_secs}
sweep_interval_secs = 1
storage = "s3"
s3_bucket = "{bucket}"
s3_endpoint = "{endpoint}"
s3_path_style = true
"#,
            db = db.url,
            endpoint = s3.endpoint,
        );
        let config = engine_one_config(&dir.join("data"), &common::models_dir(), "workers = 1", &sections);
        std::fs::write(dir.join("config.toml"), config).unwrap();
        let env = [
            ("AWS_ACCESS_KEY_ID", s3.credentials.access_key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", s3.credentials.secret_access_key.clone()),
        ];
        let process =
            ServerProcess::spawn(env!("CARGO_BIN_EXE_ocr-server").as_ref(), &dir.join("config.toml"), &env, true)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        Self { base: process.base.clone(), process, dir }
    }

    /// Expired PDFs this instance's sweeper reports having deleted.
    fn swept(&self) -> usize {
        self.process
            .log()
            .lines()
            .filter(|l| l.contains("expired searchable PDFs deleted"))
            .filter_map(|l| l.split("removed=").nth(1)?.split_whitespace().next()?.parse::<usize>().ok())
            .sum()
    }

    fn log_has(&self, text: &str) -> bool {
        self.process.log_has(text)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.process.kill_9();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// POSTs `bytes` as a file to `base` with `fields` (demo key unless `key`).
fn post(base: &str, key: &str, bytes: Vec<u8>, fields: &[(&str, &str)]) -> (u16, Value) {
    let mut form = reqwest::blocking::multipart::Form::new()
        .part("file", reqwest::blocking::multipart::Part::bytes(bytes).file_name("upload.png"));
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    let response = client().post(format!("{base}/parse/image")).header("apikey", key).multipart(form).send().unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap())
}

#[test]
fn links_cross_instances_and_expired_objects_are_deleted_once() {
    let s3 = S3Server::start(&["ocr-fleet"]);
    let db = TestDb::new(Backend::Postgres);
    let a = Instance::start("a", &db, &s3, "ocr-fleet", 15, 0);
    let b = Instance::start("b", &db, &s3, "ocr-fleet", 15, 0);
    let image = std::fs::read(data("lines/book_1113_010043.png")).unwrap();
    let started = Instant::now();
    let mut links = Vec::new();
    for i in 0..6 {
        let (made_on, other) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let (status, v) = post(&made_on.base, "helloworld", image.clone(), &[("isCreateSearchablePdf", "true")]);
        let link = v["SearchablePDFURL"].as_str().unwrap_or_else(|| panic!("{status}: {v}")).to_string();
        assert!(link.starts_with(&made_on.base), "{link}");
        // The same link through the other instance (as a load balancer would send it).
        let elsewhere = link.replacen(&made_on.base, &other.base, 1);
        let download = client().get(&elsewhere).send().unwrap();
        assert_eq!(download.status(), 200, "{elsewhere}");
        assert!(download.bytes().unwrap().starts_with(b"%PDF-"));
        links.push(elsewhere);
    }
    let objects = s3.objects("ocr-fleet");
    assert_eq!(objects.len(), 6, "{objects:?}");
    println!("6 links made alternately on A and B, each downloaded from the other, in {:?}", started.elapsed());

    // Expiry: both sweepers run every second; every object goes, once.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !s3.objects("ocr-fleet").is_empty() || a.swept() + b.swept() < 6 {
        assert!(Instant::now() < deadline, "left: {:?}; swept {} + {}", s3.objects("ocr-fleet"), a.swept(), b.swept());
        std::thread::sleep(Duration::from_millis(250));
    }
    std::thread::sleep(Duration::from_secs(2)); // a double delete would show up meanwhile
    let deletes = s3.requests("DELETE");
    let mut deleted: Vec<&str> = deletes.iter().map(|(path, _)| path.as_str()).collect();
    deleted.sort();
    let mut expected: Vec<String> = objects.iter().map(|k| format!("/ocr-fleet/{k}")).collect();
    expected.sort();
    assert_eq!(deleted, expected, "one DELETE per object, none twice");
    assert!(deletes.iter().all(|(_, status)| *status == 204), "{deletes:?}");
    assert_eq!(a.swept() + b.swept(), 6, "the sweepers report 6 deletions in all");
    let rows: i64 = block_on(async {
        let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM pdf_links").fetch_one(&pool).await.unwrap()
    });
    assert_eq!(rows, 0, "no link record left");
    for link in &links {
        assert_eq!(client().get(link).send().unwrap().status(), 410);
    }
    assert!(!a.log_has("deleting an expired PDF failed") && !b.log_has("deleting an expired PDF failed"));
    println!(
        "sweepers: A deleted {}, B deleted {}; S3 saw {} DELETEs for 6 objects, bucket empty, 0 records",
        a.swept(),
        b.swept(),
        deletes.len()
    );
}

#[test]
fn a_monthly_quota_is_exact_across_two_processes() {
    let s3 = S3Server::start(&["ocr-quota"]);
    let db = TestDb::new(Backend::Postgres);
    let a = Instance::start("a", &db, &s3, "ocr-quota", 60, 20);
    let b = Instance::start("b", &db, &s3, "ocr-quota", 60, 20);
    let store = db.store();
    let created = block_on(store.create_key("enterprise", "fleet")).unwrap();
    let (key, id) = (created.secret, created.key.id);
    let started = Instant::now();
    let outcomes: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..60)
            .map(|i| {
                let (base, key) = (if i % 2 == 0 { &a.base } else { &b.base }, &key);
                scope.spawn(move || post(base, key, b"not an image".to_vec(), &[]))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let refused = outcomes
        .iter()
        .filter(|(status, v)| {
            *status == 403
                && v.as_str().is_some_and(|t| t.contains("upto maximum 20 number of times within one calendar month"))
        })
        .count();
    let counter = block_on(store.usage(Some(&id))).unwrap()[0].requests;
    println!(
        "quota: 60 requests over 2 processes in {:.1} s: {} answered, {refused} refused by the quota, counter {counter}",
        started.elapsed().as_secs_f32(),
        60 - refused
    );
    assert_eq!((60 - refused, refused, counter), (20, 40, 20));
}
