//! Seed inputs: real corpus images re-encoded small in every format, PDFs
//! from `ocr-pdf`'s writer and hand-made ones (text, vector, forms, every
//! filter, inline images), and realistic request bodies and parameters.

use std::io::{Cursor, Write};
use std::path::PathBuf;

use base64::Engine as _;
use image::{DynamicImage, ImageFormat, RgbImage};
use ocr_pdf::{write_searchable_pdf, PageImage, PdfPage, TextLayer, TextLine, TextWord};

use crate::rawpdf::{nested_forms, raw_pdf, stream};
use crate::targets::BOUNDARY;

/// The shared corpus: `$OCR_DATA_DIR`, else `../shared/data` beside the repository.
fn data(path: &str) -> PathBuf {
    let dir = std::env::var_os("OCR_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    assert!(dir.is_dir(), "the corpus is not at {}: set OCR_DATA_DIR", dir.display());
    dir.join(path)
}

/// A printed text line (PNG) and a receipt (JPEG) from the corpus, small.
fn corpus_pictures() -> Vec<RgbImage> {
    let line = image::open(data("lines/book_1113_010043.png")).expect("corpus line").to_rgb8();
    let receipt = image::open(data("receipts/503.jpg")).expect("corpus receipt");
    let receipt = receipt.resize(160, 240, image::imageops::FilterType::Triangle).to_rgb8();
    let line = DynamicImage::ImageRgb8(line).resize(400, 40, image::imageops::FilterType::Triangle).to_rgb8();
    vec![line, receipt]
}

fn encode(picture: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    picture.write_to(&mut Cursor::new(&mut out), format).expect("encode a seed");
    out
}

/// Every supported format of both pictures, a two-page TIFF and an animated GIF.
pub fn images() -> Vec<Vec<u8>> {
    let pictures = corpus_pictures();
    let mut seeds = Vec::new();
    for picture in &pictures {
        for format in [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Gif, ImageFormat::Bmp, ImageFormat::WebP] {
            seeds.push(encode(picture, format));
        }
    }
    let mut tiff = Cursor::new(Vec::new());
    {
        let mut encoder = tiff::encoder::TiffEncoder::new(&mut tiff).expect("tiff");
        for picture in &pictures {
            let gray: Vec<u8> = picture.pixels().map(|p| p.0[1]).collect();
            encoder
                .write_image::<tiff::encoder::colortype::Gray8>(picture.width(), picture.height(), &gray)
                .expect("tiff page");
        }
    }
    seeds.push(tiff.into_inner());
    let mut gif = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut gif);
        for picture in &pictures {
            let rgba = DynamicImage::ImageRgb8(picture.clone()).to_rgba8();
            encoder.encode_frame(image::Frame::new(rgba)).expect("gif frame");
        }
    }
    seeds.push(gif);
    seeds
}

fn words(text: &str, top: f32) -> TextLine {
    let mut left = 10.0;
    let words = text
        .split(' ')
        .map(|w| {
            let word = TextWord { text: w.into(), left, top, width: 9.0 * w.len() as f32, height: 14.0 };
            left += word.width + 8.0;
            word
        })
        .collect();
    TextLine { words }
}

/// The writer's PDFs (JPEG, gray and bilevel pages; hidden and visible
/// text) and hand-made ones.
pub fn pdfs() -> Vec<Vec<u8>> {
    let pictures = corpus_pictures();
    let jpeg = PageImage::jpeg(encode(&pictures[1], ImageFormat::Jpeg)).expect("jpeg page");
    let gray: Vec<u8> = pictures[0].pixels().map(|p| p.0[0]).collect();
    let gray = PageImage::gray(pictures[0].width(), pictures[0].height(), gray).expect("gray page");
    let bilevel: Vec<u8> = pictures[0].pixels().map(|p| if p.0[0] > 128 { 255 } else { 0 }).collect();
    let bilevel = PageImage::gray(pictures[0].width(), pictures[0].height(), bilevel).expect("bilevel page");
    let lines = vec![words("Größe 12,50 EUR", 10.0), words("漢字 テスト total", 30.0)];
    let mut seeds = Vec::new();
    for layer in [TextLayer::Hidden, TextLayer::Visible] {
        let pages = vec![
            PdfPage { image: jpeg.clone(), lines: lines.clone() },
            PdfPage { image: gray.clone(), lines: vec![] },
            PdfPage { image: bilevel.clone(), lines: lines[..1].to_vec() },
        ];
        seeds.push(write_searchable_pdf(&pages, layer).expect("written PDF"));
    }
    let helvetica = "/Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >>";
    let text = b"BT /F1 12 Tf 20 60 Td (Hello, world) Tj 0 -14 Td [(Kern) -120 (ed)] TJ ET".to_vec();
    let vector = b"0 0 1 rg 10 10 80 40 re f 1 0 0 RG 2 w 0 0 m 100 100 l S".to_vec();
    seeds.push(raw_page(helvetica, &[], &text));
    seeds.push(raw_page("", &[], &vector));
    seeds.push(raw_page("", &[("/Filter /FlateDecode", zlib(&vector))], b"/X0 Do"));
    seeds.push(raw_page("", &[("/Filter /ASCIIHexDecode", hex(&vector))], b"/X0 Do"));
    seeds.push(raw_page("", &[("/Filter [/RunLengthDecode /FlateDecode]", zlib(&run_length(&vector)))], b"/X0 Do"));
    seeds.push(raw_page("", &[("", b"q /X1 Do /X1 Do Q".to_vec()), ("", vector.clone())], b"/X0 Do /X0 Do"));
    let mut inline = b"q 50 0 0 20 10 10 cm BI /W 4 /H 2 /BPC 8 /CS /G /F /AHx ID 00ff00ff ff00ff00> EI Q".to_vec();
    inline.extend_from_slice(b" BT /F1 9 Tf 5 5 Td (x) Tj ET");
    seeds.push(raw_page(helvetica, &[], &inline));
    seeds.push(nested_forms(4, 3));
    seeds
}

/// A one-page PDF whose content is `content`, with page resources
/// `resources` plus Form XObjects `/X0`, `/X1`, … (each `(filter, data)`;
/// each form sees the page's resources).
fn raw_page(resources: &str, forms: &[(&str, Vec<u8>)], content: &[u8]) -> Vec<u8> {
    let names: String = (0..forms.len()).map(|i| format!("/X{i} {} 0 R ", 5 + i)).collect();
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 120 80] /Resources << {resources} /XObject << {names}>> >> /Contents 4 0 R >>"
        )
        .into_bytes(),
        stream("", content),
    ];
    for (filter, data) in forms {
        objects.push(stream(&format!("/Type /XObject /Subtype /Form /BBox [0 0 120 80] {filter}"), data));
    }
    raw_pdf(&objects)
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn hex(data: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = data.iter().flat_map(|b| format!("{b:02X}").into_bytes()).collect();
    out.push(b'>');
    out
}

/// RunLength encoding with literal runs only (each at most 128 bytes).
fn run_length(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in data.chunks(128) {
        out.push((chunk.len() - 1) as u8);
        out.extend_from_slice(chunk);
    }
    out.push(128);
    out
}

fn small_png() -> Vec<u8> {
    encode(&corpus_pictures()[0], ImageFormat::Png)
}

/// Multipart bodies as clients send them (file part, key and parameters).
pub fn multipart_bodies() -> Vec<Vec<u8>> {
    let png = small_png();
    let field = |name: &str, value: &str| {
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").into_bytes()
    };
    let file = |name: &str| {
        let mut part = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n"
        )
        .into_bytes();
        part.extend_from_slice(&png);
        part.extend_from_slice(b"\r\n");
        part
    };
    let end = format!("--{BOUNDARY}--\r\n").into_bytes();
    let b64 = format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(&png));
    vec![
        [field("apikey", "helloworld"), field("language", "eng"), file("line.png"), end.clone()].concat(),
        [file("a.png"), field("isOverlayRequired", "true"), field("OCREngine", "2"), end.clone()].concat(),
        [field("base64Image", &b64), field("scale", "true"), field("isTable", "false"), end.clone()].concat(),
        [field("url", "http://127.0.0.1:9/a.png"), field("filetype", "PNG"), end].concat(),
    ]
}

/// Urlencoded bodies as clients send them.
pub fn urlencoded_bodies() -> Vec<Vec<u8>> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(small_png());
    let encoded: String = b64.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
    vec![
        format!("apikey=helloworld&language=eng&base64Image=data%3Aimage%2Fpng%3Bbase64%2C{encoded}").into_bytes(),
        b"url=http%3A%2F%2F127.0.0.1%3A9%2Fa.png&OCREngine=2&isOverlayRequired=true&filetype=PDF".to_vec(),
        b"apikey=k&detectOrientation=true&scale=true&isTable=true&isCreateSearchablePdf=true&isSearchablePdfHideTextLayer=false"
            .to_vec(),
    ]
}

/// `base64Image` values: a real image in the forms clients send it.
pub fn base64_values() -> Vec<Vec<u8>> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(small_png());
    let wrapped: String =
        b64.as_bytes().chunks(76).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("\r\n");
    vec![
        format!("data:image/png;base64,{b64}").into_bytes(),
        format!("data:application/pdf;base64,{wrapped}").into_bytes(),
        format!("  data:image/jpeg;base64,{}  ", b64.replace('+', " ")).into_bytes(),
    ]
}

/// Parameter sets (`name=value` joined by `&`, unescaped).
pub fn parameter_sets() -> Vec<Vec<u8>> {
    [
        "language=eng&isOverlayRequired=true&OCREngine=2&filetype=PDF",
        "LANGUAGE=GER&detectOrientation=TRUE&scale=false&isTable=true&OCREngine=3",
        "apikey=helloworld&url=http://example.com/a.png&isCreateSearchablePdf=true&isSearchablePdfHideTextLayer=true",
        "language=auto&OCREngine=1&filetype=jpg&addressparsing=false&detectcheckbox=false",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}
