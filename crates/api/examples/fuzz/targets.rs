//! What is fuzzed: each target's code under test, its seeds and its tokens.

use actix_web::{web, FromRequest};
use ocr_api::ocrspace::params::OcrParams;
use ocr_api::server::{read_request, FieldLimits, SharedPayload};
use ocr_api::service::decode_base64_image;
use ocr_engine::decode::{count_pages, is_reoriented};
use ocr_engine::{for_each_page, DecodeLimits};
use ocr_pdf::{PdfReader, ReadLimits};

use crate::seeds;

/// A fuzz target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Image decoding (every format, every page), page counting, EXIF check.
    Image,
    /// PDF reading: page count, opening, reading every page.
    Pdf,
    /// A multipart/form-data request body, read as the server reads it.
    Multipart,
    /// An application/x-www-form-urlencoded request body.
    Urlencoded,
    /// A `base64Image` value.
    Base64,
    /// OCR.space parameters (`name=value` pairs).
    Params,
}

/// Every target, in the order `all` runs them.
pub const ALL: [Target; 6] =
    [Target::Image, Target::Pdf, Target::Multipart, Target::Urlencoded, Target::Base64, Target::Params];

/// The boundary of the multipart seeds (the request's header names it).
pub const BOUNDARY: &str = "fuzzBoundary7MA4YWxk";

impl Target {
    /// The target's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Pdf => "pdf",
            Self::Multipart => "multipart",
            Self::Urlencoded => "urlencoded",
            Self::Base64 => "base64",
            Self::Params => "params",
        }
    }

    /// The target called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        ALL.into_iter().find(|t| t.name() == name)
    }

    /// Largest input the mutator makes.
    pub fn max_len(self) -> usize {
        match self {
            Self::Image | Self::Pdf => 256 << 10,
            _ => 64 << 10,
        }
    }

    /// Real inputs the mutations start from.
    pub fn seeds(self) -> Vec<Vec<u8>> {
        match self {
            Self::Image => seeds::images(),
            Self::Pdf => seeds::pdfs(),
            Self::Multipart => seeds::multipart_bodies(),
            Self::Urlencoded => seeds::urlencoded_bodies(),
            Self::Base64 => seeds::base64_values(),
            Self::Params => seeds::parameter_sets(),
        }
    }

    /// Byte strings the mutator inserts (the format's own syntax).
    pub fn tokens(self) -> Vec<&'static [u8]> {
        let list: &[&str] = match self {
            Self::Image => &[
                "GIF89a",
                "\u{89}PNG\r\n\u{1a}\n",
                "IHDR",
                "IDAT",
                "IEND",
                "II*\0",
                "MM\0*",
                "BM",
                "RIFF",
                "WEBPVP8L",
                "\u{ff}\u{d8}\u{ff}",
                "!\u{f9}\u{4}",
                ",",
            ],
            Self::Pdf => &[
                "obj",
                "endobj",
                "stream\n",
                "endstream",
                "<<",
                ">>",
                "[",
                "]",
                "/Filter",
                "/FlateDecode",
                "/LZWDecode",
                "/ASCIIHexDecode",
                "/ASCII85Decode",
                "/RunLengthDecode",
                "/DecodeParms",
                "/Predictor 15",
                "/Length",
                "/XObject",
                "/Form",
                "/Image",
                " Do ",
                "BI",
                " ID ",
                "EI",
                "/Resources",
                "/Kids",
                "/Count 99999",
                "/Type /Page",
                "xref",
                "trailer",
                "startxref",
                "q ",
                " Q",
                " cm ",
                "BT",
                "ET",
                " Tj",
                " TJ",
                "/Encrypt",
                "/ObjStm",
                " R ",
                "/BBox",
                "/Matrix",
            ],
            Self::Multipart => &[
                "\r\n",
                "--",
                BOUNDARY,
                "Content-Disposition: form-data; ",
                "name=\"",
                "filename=\"",
                "\"",
                "Content-Type: ",
                "image/png",
                "apikey",
                "base64Image",
                "\r\n\r\n",
                ";",
                "*=UTF-8''",
            ],
            Self::Urlencoded => {
                &["&", "=", "%", "%00", "%FF", "+", "apikey", "base64Image", "url", "language", "%2", "&&", "=="]
            }
            Self::Base64 => &["data:", ";base64,", "=", "==", "\r\n", " ", "+", "/", "image/png", "-", "_", "%"],
            Self::Params => {
                &["&", "=", "true", "false", "OCREngine", "language", "filetype", "isTable", "scale", "\u{0}", "\n"]
            }
        };
        list.iter().map(|s| s.as_bytes()).collect()
    }
}

/// Runs inputs of one target; holds what they share (an async runtime).
pub struct Runner {
    target: Target,
    system: Option<actix_web::rt::SystemRunner>,
}

impl Runner {
    /// A runner for `target`.
    pub fn new(target: Target) -> Self {
        let system = matches!(target, Target::Multipart | Target::Urlencoded).then(actix_web::rt::System::new);
        Self { target, system }
    }

    /// Runs one input; `true` when the code under test accepted it.
    pub fn run(&mut self, input: &[u8]) -> bool {
        match self.target {
            Target::Image => image(input),
            Target::Pdf => pdf(input),
            Target::Multipart => {
                let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
                self.body(&content_type, input)
            }
            Target::Urlencoded => self.body("application/x-www-form-urlencoded", input),
            Target::Base64 => decode_base64_image(&String::from_utf8_lossy(input)).is_ok(),
            Target::Params => {
                let text = String::from_utf8_lossy(input);
                let pairs: Vec<(&str, &str)> = text.split('&').map(|p| p.split_once('=').unwrap_or((p, ""))).collect();
                OcrParams::parse(pairs).is_ok()
            }
        }
    }

    /// Reads a request body as the server does, then parses what it gave.
    fn body(&mut self, content_type: &str, input: &[u8]) -> bool {
        let system = self.system.as_ref().expect("an async runtime for request bodies");
        system.block_on(async {
            let (req, mut payload) = actix_web::test::TestRequest::post()
                .uri("/parse/image")
                .insert_header((actix_web::http::header::CONTENT_TYPE, content_type))
                .set_payload(input.to_vec())
                .to_http_parts();
            let Ok(payload) = web::Payload::from_request(&req, &mut payload).await else { return false };
            let limit = 1u64 << 20;
            let raw =
                read_request(&req, SharedPayload::new(payload), limit, FieldLimits::default(), async |_: &str| {
                    Ok(limit)
                })
                .await;
            let Ok(raw) = raw else { return false };
            let params = OcrParams::parse(raw.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            if let Ok(OcrParams { base64_image: Some(b64), .. }) = &params {
                let _ = decode_base64_image(b64);
            }
            params.is_ok()
        })
    }
}

/// Limits small enough that every input runs in milliseconds.
fn image(input: &[u8]) -> bool {
    let limits = DecodeLimits {
        max_pixels: 4_000_000,
        max_pages: 16,
        min_side: 8,
        max_total_pixels: 16_000_000,
        max_pixels_per_byte: 1000,
    };
    let _ = count_pages(input);
    let _ = is_reoriented(input);
    for_each_page(input, &limits, |_, page| {
        assert!(page.width() * page.height() <= 4_000_000, "a page over the pixel limit was decoded");
        Ok(())
    })
    .is_ok()
}

fn pdf(input: &[u8]) -> bool {
    let limits = ReadLimits {
        max_pages: 8,
        max_bytes: 1 << 20,
        dpi: 36.0,
        max_pixels_per_page: 1_000_000,
        max_total_pixels: 4_000_000,
        max_operations: 200_000,
    };
    let _ = ocr_pdf::page_count(input);
    let never = std::sync::atomic::AtomicBool::new(false);
    let Ok(reader) = PdfReader::open(input, &limits, &never) else { return false };
    let mut all_read = true;
    for n in 1..=reader.page_count() {
        all_read &= reader.read_page(n, &never).is_ok();
    }
    all_read
}
