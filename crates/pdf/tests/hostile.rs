//! Hostile PDFs (built here, small): decompression bombs through filter
//! chains and inline images, nested Form XObjects that expand
//! exponentially, repeated heavy forms, cancellation, and the pixel budget
//! over all pages.

use std::io::Write;
use std::sync::atomic::AtomicBool;

use lopdf::{dictionary, Dictionary, Document, Object, Stream};
use ocr_pdf::{read_pages, InputPage, PdfError, PdfReader, ReadLimits};

/// A one-page-per-content PDF; `extra` objects are added first and may be
/// referred to by the resources (their ids are 1, 2, … in order).
fn pdf_with(pages: &[(Stream, Dictionary)], extra: Vec<Object>) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    for object in extra {
        doc.add_object(object);
    }
    let pages_id = doc.new_object_id();
    let mut kids = Vec::new();
    for (content, resources) in pages {
        let content_id = doc.add_object(content.clone());
        let page = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), 200.into(), 100.into()],
            "Resources" => resources.clone(), "Contents" => content_id,
        });
        kids.push(page.into());
    }
    let count = kids.len() as i64;
    doc.objects.insert(pages_id, dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }.into());
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// A zlib stream of `1 + 258 × matches` spaces, written directly as one
/// fixed-Huffman deflate block: a literal space, then back-references of
/// length 258 at distance 1 (13 bits each), so 2 GiB takes 13.5 MB.
fn zlib_of_spaces(matches: u64) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        n: u32,
    }
    impl Bits {
        /// Appends `count` bits of `value`, least significant first.
        fn put(&mut self, value: u64, count: u32) {
            self.acc |= value << self.n;
            self.n += count;
            while self.n >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.n -= 8;
            }
        }
        /// Appends a Huffman code (written most significant bit first).
        fn code(&mut self, code: u64, len: u32) {
            let reversed = (0..len).fold(0, |r, i| r | ((code >> i) & 1) << (len - 1 - i));
            self.put(reversed, len);
        }
    }
    let mut bits = Bits { out: vec![0x78, 0x01], acc: 0, n: 0 };
    bits.put(1, 1); // final block
    bits.put(1, 2); // fixed Huffman codes
    bits.code(0x30 + u64::from(b' '), 8);
    // Length code 285 (258 bytes) is 11000101; distance code 0 (distance 1) is 00000.
    let step = (0..8).fold(0u64, |r, i| r | ((0b1100_0101 >> i) & 1) << (7 - i));
    for _ in 0..matches {
        bits.put(step, 13);
    }
    bits.code(0, 7); // end of block
    let pad = (8 - bits.n % 8) % 8;
    bits.put(0, pad);
    let n = 1 + 258 * matches;
    // Adler-32 of n spaces: a = 1 + 32n, b = n + 32·n(n+1)/2 (mod 65521).
    let m = 65_521u128;
    let (n128, c) = (u128::from(n), u128::from(b' '));
    let a = (1 + c * n128) % m;
    let b = (n128 + c * (n128 * (n128 + 1) / 2)) % m;
    bits.out.extend_from_slice(&(((b << 16) | a) as u32).to_be_bytes());
    bits.out
}

fn rect_page() -> (Stream, Dictionary) {
    (Stream::new(dictionary! {}, b"0 0 1 rg 10 10 50 50 re f".to_vec()), dictionary! {})
}

#[test]
fn handmade_deflate_decodes_to_the_expected_spaces() {
    let data = zlib_of_spaces(1000);
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&data[..]), &mut out).unwrap();
    assert_eq!(out.len(), 1 + 258 * 1000);
    assert!(out.iter().all(|&b| b == b' '));
}

#[test]
fn twice_compressed_2_gib_content_stream_is_refused() {
    // The input: 2 GiB of spaces, /Filter [/FlateDecode /FlateDecode].
    let inner = zlib_of_spaces((2u64 << 30) / 258);
    let outer = zlib(&inner);
    let content = Stream::new(
        dictionary! { "Filter" => vec![Object::Name(b"FlateDecode".to_vec()), Object::Name(b"FlateDecode".to_vec())] },
        outer,
    );
    let pdf = pdf_with(&[(content, dictionary! {})], vec![]);
    println!("PDF of {} bytes (inner stream {} bytes)", pdf.len(), inner.len());
    assert!(pdf.len() < 1 << 20);
    let err = read_pages(&pdf, &ReadLimits::default()).unwrap_err();
    assert!(matches!(err, PdfError::DecompressionLimit { .. }), "{err}");
}

#[test]
fn every_data_filter_of_a_chain_counts() {
    // ASCIIHex of a Flate bomb: the second stage is the one that expands.
    let bomb = zlib(&vec![0u8; 64 << 20]);
    let hex: Vec<u8> = bomb.iter().flat_map(|b| format!("{b:02x}").into_bytes()).chain(*b">").collect();
    let names = |n: &[&str]| Object::Array(n.iter().map(|s| Object::Name(s.as_bytes().to_vec())).collect());
    let limits = ReadLimits { max_pixels_per_page: 1000, ..ReadLimits::default() };
    for (filters, data) in [
        (names(&["ASCIIHexDecode", "FlateDecode"]), hex),
        (names(&["FlateDecode"]), bomb.clone()),
        (names(&["FlateDecode", "RunLengthDecode"]), zlib(&[129u8, b' '].repeat(1 << 20))),
    ] {
        let image = Stream::new(dictionary! { "Filter" => filters.clone(), "Length" => data.len() as i64 }, data);
        let pdf = pdf_with(&[rect_page()], vec![image.into()]);
        let err = read_pages(&pdf, &limits).unwrap_err();
        assert!(matches!(err, PdfError::DecompressionLimit { .. }), "{filters:?}: {err}");
    }
}

#[test]
fn inline_image_bomb_is_refused() {
    let mut content = b"q 10 0 0 10 0 0 cm BI /W 10 /H 10 /BPC 8 /CS /G /F /Fl ID ".to_vec();
    content.extend(zlib(&vec![0u8; 64 << 20]));
    content.extend_from_slice(b"\nEI Q");
    let pdf = pdf_with(&[(Stream::new(dictionary! {}, content), dictionary! {})], vec![]);
    let limits = ReadLimits { max_pixels_per_page: 1000, ..ReadLimits::default() };
    let err = read_pages(&pdf, &limits).unwrap_err();
    assert!(matches!(err, PdfError::DecompressionLimit { .. }), "{err}");
}

/// 22 Form XObjects, each drawing the next 8 times (8²² expanded draws);
/// with `own_resources` each form names the next in its own resources,
/// else every form inherits the page's resources, which name them all.
fn nested_forms(own_resources: bool) -> Vec<u8> {
    const DEPTH: usize = 22;
    let mut extra = Vec::new();
    for i in 0..DEPTH {
        let body = if i + 1 == DEPTH { "0 0 1 1 re f".to_string() } else { format!("/X{} Do ", i + 1).repeat(8) };
        let mut dict = dictionary! { "Type" => "XObject", "Subtype" => "Form", "BBox" => vec![0.into(), 0.into(), 10.into(), 10.into()] };
        if own_resources && i + 1 < DEPTH {
            // Object ids start at 1, in the order added.
            dict.set("Resources", dictionary! { "XObject" => dictionary! { format!("X{}", i + 1) => Object::Reference(((i + 2) as u32, 0)) } });
        }
        extra.push(Stream::new(dict, body.into_bytes()).into());
    }
    let mut names = Dictionary::new();
    for i in 0..if own_resources { 1 } else { DEPTH } {
        names.set(format!("X{i}"), Object::Reference(((i + 1) as u32, 0)));
    }
    let page = (Stream::new(dictionary! {}, b"/X0 Do".to_vec()), dictionary! { "XObject" => names });
    pdf_with(&[page], extra)
}

#[test]
fn nested_forms_exceed_the_work_budget_before_interpreting() {
    for own in [true, false] {
        let pdf = nested_forms(own);
        assert!(pdf.len() < 16 << 10, "{}", pdf.len());
        let err = read_pages(&pdf, &ReadLimits::default()).unwrap_err();
        assert!(matches!(err, PdfError::TooMuchWork { page: 1, limit: 5_000_000 }), "own resources {own}: {err}");
    }
}

#[test]
fn a_heavy_form_drawn_many_times_exceeds_the_budget() {
    // 100,000 no-op operators drawn 100 times: nothing reaches the device,
    // yet the interpreter would run 10 million operators.
    let form = Stream::new(
        dictionary! { "Type" => "XObject", "Subtype" => "Form", "BBox" => vec![0.into(), 0.into(), 10.into(), 10.into()] },
        "q Q ".repeat(50_000).into_bytes(),
    );
    let page = (
        Stream::new(dictionary! {}, "/X Do ".repeat(100).into_bytes()),
        dictionary! {
            "XObject" => dictionary! { "X" => Object::Reference((1, 0)) },
        },
    );
    let pdf = pdf_with(&[page], vec![form.into()]);
    let err = read_pages(&pdf, &ReadLimits::default()).unwrap_err();
    assert!(matches!(err, PdfError::TooMuchWork { .. }), "{err}");
    // Within a larger budget the same page is read.
    let roomy = ReadLimits { max_operations: 20_000_000, dpi: 72.0, ..ReadLimits::default() };
    assert_eq!(read_pages(&pdf, &roomy).unwrap()[0].kind(), "text", "a page that draws nothing");
}

#[test]
fn drawing_calls_count_against_the_budget_while_interpreting() {
    // Four operators, but 10,000 glyphs drawn: refused by the run-time count.
    let content = format!("BT /F1 1 Tf 0 50 Td ({}) Tj ET", "a".repeat(10_000));
    let font = dictionary! { "Font" => dictionary! { "F1" => dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    } } };
    let pdf = pdf_with(&[(Stream::new(dictionary! {}, content.into_bytes()), font)], vec![]);
    let tight = ReadLimits { max_operations: 5_000, dpi: 72.0, ..ReadLimits::default() };
    let err = read_pages(&pdf, &tight).unwrap_err();
    assert!(matches!(err, PdfError::TooMuchWork { page: 1, limit: 5_000 }), "{err}");
    let enough = ReadLimits { max_operations: 20_000, dpi: 72.0, ..ReadLimits::default() };
    assert_eq!(read_pages(&pdf, &enough).unwrap()[0].kind(), "text");
}

#[test]
fn painting_is_charged_by_the_area_it_covers() {
    // 100,000 fills of the whole 200 × 100 pt page: 200,000 operators, but
    // 35 billion pixels to paint at 300 dpi.
    let fills = "0 0 200 100 re f ".repeat(100_000);
    let pdf = pdf_with(&[(Stream::new(dictionary! {}, fills.into_bytes()), dictionary! {})], vec![]);
    let err = read_pages(&pdf, &ReadLimits::default()).unwrap_err();
    assert!(matches!(err, PdfError::TooMuchWork { page: 1, .. }), "{err}");
    // The same page with 20 fills is an ordinary page.
    let few =
        pdf_with(&[(Stream::new(dictionary! {}, "0 0 200 100 re f ".repeat(20).into_bytes()), dictionary! {})], vec![]);
    assert_eq!(read_pages(&few, &ReadLimits::default()).unwrap()[0].kind(), "raster");
}

#[test]
fn a_set_cancellation_flag_stops_opening_and_reading() {
    let pdf = pdf_with(&[rect_page()], vec![]);
    let limits = ReadLimits { dpi: 72.0, ..ReadLimits::default() };
    let cancelled = AtomicBool::new(true);
    assert!(matches!(PdfReader::open(&pdf, &limits, &cancelled), Err(PdfError::Cancelled)));
    let go = AtomicBool::new(false);
    let reader = PdfReader::open(&pdf, &limits, &go).unwrap();
    assert!(matches!(reader.read_page(1, &cancelled), Err(PdfError::Cancelled)));
    assert_eq!(reader.read_page(1, &go).unwrap().kind(), "raster");
}

#[test]
fn pixels_of_all_pages_share_one_budget() {
    // Each page is 200 × 100 pt: 20,000 pixels at 72 dpi.
    let pdf = pdf_with(&[rect_page(), rect_page(), rect_page()], vec![]);
    let limits = ReadLimits { dpi: 72.0, max_total_pixels: 50_000, ..ReadLimits::default() };
    let go = AtomicBool::new(false);
    let reader = PdfReader::open(&pdf, &limits, &go).unwrap();
    assert_eq!(reader.page_count(), 3);
    for n in 1..=2 {
        assert!(matches!(reader.read_page(n, &go).unwrap(), InputPage::Raster { width: 200, height: 100, .. }));
    }
    assert!(matches!(reader.read_page(3, &go), Err(PdfError::PixelBudget { max: 50_000 })));
}
