//! What the load generator sends: valid OCR requests on small corpus
//! images, requests with invalid parameters, and hostile inputs (truncated
//! images, bad base64, a decompression-bomb PNG, malformed and nested-form
//! PDFs, URLs aimed at private and metadata addresses), and how an answer
//! is classified.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};

/// One kind of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A text-line PNG: OCR, answered 200 with exit code 1.
    Line,
    /// A small receipt JPEG: OCR, 200 with exit code 1.
    Receipt,
    /// A line with a searchable PDF requested (a link in the answer).
    LineWithPdf,
    /// An unknown parameter.
    UnknownParameter,
    /// `OCREngine=9`.
    BadEngine,
    /// A key that does not exist (403).
    WrongKey,
    /// A text field longer than the server allows.
    LongField,
    /// The first half of a PNG.
    TruncatedImage,
    /// `base64Image` that is not base64.
    BadBase64,
    /// A PNG declaring 10000 x 10000 pixels whose data inflates to 100 MB.
    BombPng,
    /// A file that starts like a PDF and then is not one.
    MalformedPdf,
    /// Form XObjects nested 22 deep, each drawing the next 8 times.
    NestedFormsPdf,
    /// A `url` input aimed at a private, link-local or metadata address.
    SsrfUrl,
}

/// Every kind the soak sends, with its weight in the mix (OCR is about 5%
/// of the requests, so 10,000 of them finish in minutes on 2 cores).
pub const SOAK_MIX: [(Kind, u32); 13] = [
    (Kind::Line, 4),
    (Kind::Receipt, 1),
    (Kind::LineWithPdf, 1),
    (Kind::UnknownParameter, 6),
    (Kind::BadEngine, 6),
    (Kind::WrongKey, 6),
    (Kind::LongField, 6),
    (Kind::TruncatedImage, 8),
    (Kind::BadBase64, 8),
    (Kind::BombPng, 8),
    (Kind::MalformedPdf, 8),
    (Kind::NestedFormsPdf, 6),
    (Kind::SsrfUrl, 8),
];

/// URLs the server must refuse without connecting (literal addresses only:
/// nothing is resolved, nothing leaves the machine).
const SSRF_URLS: [&str; 6] = [
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/receipt.png",
    "http://[::ffff:192.168.1.1]/x.png",
    "http://[fd00::1]/x.png",
    "http://127.0.0.1:22/x.png",
    "http://0.0.0.0/x.png",
];

/// The inputs, read and built once.
pub struct Inputs {
    lines: Vec<Vec<u8>>,
    receipt: Vec<u8>,
    bomb: Vec<u8>,
    nested: Vec<u8>,
    key: String,
}

/// How a request ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// What was sent.
    pub kind: Kind,
    /// HTTP status (0: no answer, the connection failed).
    pub status: u16,
    /// `OCRExitCode` of an OCR.space envelope, if any.
    pub exit_code: Option<i64>,
    /// The first error message, if any.
    pub message: String,
    /// `SearchablePDFURL` when it is a link.
    pub pdf_link: Option<String>,
    /// Time from sending to the full answer.
    pub latency: Duration,
}

impl Outcome {
    /// Answered 200 with the text read (exit code 1).
    pub fn is_ocr_success(&self) -> bool {
        self.status == 200 && self.exit_code == Some(1)
    }

    /// Refused as busy (503).
    pub fn is_busy(&self) -> bool {
        self.status == 503
    }
}

impl Inputs {
    /// Reads the corpus images (`data/lines/*.png`, `data/receipts/517.jpg`)
    /// and builds the hostile files; requests carry `key`.
    pub fn load(data: &Path, key: String) -> Result<Self, String> {
        let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
        let mut names: Vec<_> = std::fs::read_dir(data.join("lines"))
            .map_err(|e| format!("{}: {e}", data.join("lines").display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "png"))
            .collect();
        names.sort();
        let lines = names.iter().take(8).map(|p| read(p)).collect::<Result<Vec<_>, _>>()?;
        if lines.is_empty() {
            return Err(format!("no line images in {}", data.join("lines").display()));
        }
        Ok(Self {
            lines,
            receipt: read(&data.join("receipts/517.jpg"))?,
            bomb: bomb_png(10_000, 10_000),
            nested: rawpdf_nested(),
            key,
        })
    }

    /// Sends request number `n` of `kind` to `base` and classifies the answer.
    pub async fn send(&self, client: &reqwest::Client, base: &str, kind: Kind, n: usize) -> Outcome {
        let url = format!("{base}/parse/image");
        let line = || self.lines[n % self.lines.len()].clone();
        let file = |bytes: Vec<u8>, name: &'static str| Part::bytes(bytes).file_name(name);
        let key = self.key.clone();
        let form = match kind {
            Kind::Line => Form::new().part("file", file(line(), "line.png")),
            Kind::Receipt => Form::new().part("file", file(self.receipt.clone(), "receipt.jpg")),
            Kind::LineWithPdf => {
                Form::new().text("isCreateSearchablePdf", "true").part("file", file(line(), "line.png"))
            }
            Kind::UnknownParameter => Form::new().text("colour", "blue").part("file", file(line(), "line.png")),
            Kind::BadEngine => Form::new().text("OCREngine", "9").part("file", file(line(), "line.png")),
            Kind::WrongKey => Form::new().part("file", file(line(), "line.png")),
            Kind::LongField => Form::new().text("language", "x".repeat(9000)),
            Kind::TruncatedImage => {
                let mut bytes = line();
                bytes.truncate(bytes.len() / 2);
                Form::new().part("file", file(bytes, "half.png"))
            }
            Kind::BadBase64 => Form::new().text("base64Image", "data:image/png;base64,iVBORw0K@@@@not*base64"),
            Kind::BombPng => Form::new().part("file", file(self.bomb.clone(), "bomb.png")),
            Kind::MalformedPdf => Form::new().part("file", file(malformed_pdf(n), "broken.pdf")),
            Kind::NestedFormsPdf => Form::new().part("file", file(self.nested.clone(), "nested.pdf")),
            Kind::SsrfUrl => Form::new().text("url", SSRF_URLS[n % SSRF_URLS.len()]),
        };
        let key = if kind == Kind::WrongKey { "not-a-key".to_string() } else { key };
        let started = Instant::now();
        let sent = client.post(url).header("apikey", key).multipart(form).send().await;
        let (status, body) = match sent {
            Ok(resp) => {
                let status = resp.status().as_u16();
                (status, resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default())
            }
            Err(_) => (0, Vec::new()),
        };
        let latency = started.elapsed();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        let message = match &v["ErrorMessage"] {
            serde_json::Value::Array(a) => a.first().and_then(|m| m.as_str()).unwrap_or("").to_string(),
            serde_json::Value::String(s) => s.clone(),
            _ => v.as_str().unwrap_or("").to_string(),
        };
        Outcome {
            kind,
            status,
            exit_code: v["OCRExitCode"].as_i64(),
            message,
            pdf_link: v["SearchablePDFURL"].as_str().filter(|u| u.starts_with("http")).map(str::to_string),
            latency,
        }
    }
}

/// A grayscale PNG of `width` x `height` whose IDAT really holds every row
/// (zeros, deflated to about 1/1000): a decoder that trusts it allocates
/// `width * height` bytes.
pub fn bomb_png(width: u32, height: u32) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let row = vec![0u8; width as usize + 1];
    for _ in 0..height {
        let _ = z.write_all(&row);
    }
    let idat = z.finish().unwrap_or_default();
    let mut ihdr = Vec::new();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let chunks: [(&[u8], &[u8]); 3] = [(b"IHDR", &ihdr), (b"IDAT", &idat), (b"IEND", &[])];
    for (name, data) in chunks {
        png.extend((data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(name);
        crc.update(data);
        png.extend(name);
        png.extend(data);
        png.extend(crc.sum().to_be_bytes());
    }
    png
}

/// A PDF header followed by broken objects (varied by `n`).
fn malformed_pdf(n: usize) -> Vec<u8> {
    let mut pdf = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n".to_vec();
    match n % 3 {
        0 => pdf.extend(b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1\nxref\n0 1\n"),
        1 => pdf.extend(b"2 0 obj\n<< /Length 999999 >>\nstream\n\x78\x9c\xff\xff\nendstream\n%%EOF"),
        _ => pdf.extend(b"trailer\n<< /Root 9 0 R /Size -4 >>\nstartxref\n-1\n%%EOF"),
    }
    pdf
}

fn rawpdf_nested() -> Vec<u8> {
    super::rawpdf::nested_forms(22, 8)
}
