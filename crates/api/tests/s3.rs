//! Searchable PDFs in an S3-compatible bucket: a real S3 server on loopback
//! (scripts/s3-test-server.py) that checks every request's signature. The
//! app stores the PDF there (nothing on local disk), serves it through its
//! link, and its sweeper deletes the object, once, when the link expires;
//! a missing bucket stops the start-up.

mod common;
#[path = "support/engines.rs"]
mod engines;
#[path = "support/s3.rs"]
mod s3;

use std::io::Read;
use std::time::{Duration, Instant};

use common::{block_on, client, data, start, Backend, TestDb};
use ocr_api::pdflinks::{PdfStorage, S3Storage};
use ocr_api::server::{Application, Settings};
use s3::S3Server;

fn read_all(storage: &S3Storage, id: &str) -> Option<Vec<u8>> {
    storage.open(id).unwrap().map(|mut file| {
        let mut bytes = Vec::new();
        file.reader.read_to_end(&mut bytes).unwrap();
        assert_eq!(file.len, bytes.len() as u64);
        bytes
    })
}

#[test]
fn objects_round_trip_and_wrong_keys_or_buckets_are_refused() {
    let server = S3Server::start(&["ocr-objects"]);
    let storage = S3Storage::new(server.settings("ocr-objects")).unwrap();
    storage.check().unwrap();
    let pdf: Vec<u8> = b"%PDF-1.7 ".iter().copied().chain((0..300_000u32).map(|i| (i % 251) as u8)).collect();
    storage.put("0a1b2c", &pdf).unwrap();
    assert_eq!(server.objects("ocr-objects"), ["pdf/0a1b2c.pdf"]);
    assert_eq!(read_all(&storage, "0a1b2c").as_deref(), Some(&pdf[..]));
    assert_eq!(read_all(&storage, "0a1b2d"), None, "an absent object reads as absent");
    storage.delete("0a1b2c").unwrap();
    storage.delete("0a1b2c").unwrap();
    assert_eq!(read_all(&storage, "0a1b2c"), None);
    assert!(server.objects("ocr-objects").is_empty());
    assert!(storage.put("../escape", b"x").is_err());

    // The server checks signatures: a wrong secret is refused.
    let mut wrong = server.settings("ocr-objects");
    wrong.credentials.secret_access_key.push('x');
    let wrong = S3Storage::new(wrong).unwrap();
    let err = wrong.put("0a", b"%PDF").unwrap_err().to_string();
    assert!(err.contains("403") && err.contains("SignatureDoesNotMatch"), "{err}");
    assert!(wrong.check().is_err());
    assert!(server.objects("ocr-objects").is_empty());
    let missing = S3Storage::new(server.settings("no-such-bucket")).unwrap().check().unwrap_err().to_string();
    assert!(missing.contains("404"), "{missing}");
}

#[test]
fn searchable_pdfs_live_in_the_bucket_until_the_sweeper_deletes_them() {
    let server = S3Server::start(&["ocr-pdfs"]);
    let db = TestDb::new(Backend::Sqlite);
    let settings = Settings {
        pdf_s3: Some(server.settings("ocr-pdfs")),
        pdf_link_lifetime: Duration::from_secs(8),
        pdf_sweep_interval: Duration::from_secs(1),
        ..db.settings()
    };
    let base = start(settings, None);
    let png = std::fs::read(data("lines/book_1113_010043.png")).unwrap();
    let form = reqwest::blocking::multipart::Form::new()
        .part("file", reqwest::blocking::multipart::Part::bytes(png).file_name("line.png"))
        .text("OCREngine", "1")
        .text("isCreateSearchablePdf", "true");
    let answer: serde_json::Value = client()
        .post(format!("{base}/parse/image"))
        .header("apikey", "helloworld")
        .multipart(form)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let link = answer["SearchablePDFURL"].as_str().unwrap_or_else(|| panic!("no link: {answer}")).to_string();

    // The object is in the bucket under the link's id; nothing on disk.
    let objects = server.objects("ocr-pdfs");
    assert_eq!(objects.len(), 1, "{objects:?}");
    let id = objects[0].trim_start_matches("pdf/").trim_end_matches(".pdf").to_string();
    assert!(link.contains(&format!("/pdf/{id}-")), "{link} vs {objects:?}");
    let local = db.data_dir.join("pdf");
    assert!(std::fs::read_dir(&local).map(|d| d.count()).unwrap_or(0) == 0, "a file in {}", local.display());

    let download = client().get(&link).send().unwrap();
    assert_eq!(download.status(), 200);
    let length = download.content_length();
    let bytes = download.bytes().unwrap();
    assert!(bytes.starts_with(b"%PDF-") && length == Some(bytes.len() as u64), "{length:?} {}", bytes.len());
    let direct = S3Storage::new(server.settings("ocr-pdfs")).unwrap();
    assert_eq!(read_all(&direct, &id).as_deref(), Some(&bytes[..]), "the link serves the stored object");

    // Expired: the sweeper deletes the object and its record, once.
    let started = Instant::now();
    while !server.objects("ocr-pdfs").is_empty() {
        assert!(started.elapsed() < Duration::from_secs(20), "the expired object is still in the bucket");
        std::thread::sleep(Duration::from_millis(200));
    }
    let rows: i64 = block_on(async {
        let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM pdf_links").fetch_one(&pool).await.unwrap()
    });
    assert_eq!(rows, 0);
    assert_eq!(client().get(&link).send().unwrap().status(), 410);
    let deletes = server.requests("DELETE");
    assert_eq!(deletes, [(format!("/ocr-pdfs/pdf/{id}.pdf"), 204)]);
    println!("stored, downloaded and swept {} bytes through the bucket; S3 DELETEs: {deletes:?}", bytes.len());
}

#[test]
fn a_missing_bucket_stops_the_start_up() {
    let server = S3Server::start(&["ocr-present"]);
    let db = TestDb::new(Backend::Sqlite);
    let settings = Settings { pdf_s3: Some(server.settings("ocr-absent")), ..db.settings() };
    let built = actix_web::rt::System::new()
        .block_on(async { Application::build_with_engines(&settings, engines::no_engines()).await.map(|_| ()) });
    let message = built.unwrap_err().to_string();
    assert!(message.contains("ocr-absent") && message.contains("404"), "{message}");
}
