//! Writing small PDFs by hand (objects as raw text), for fuzz seeds and for
//! hostile inputs in tests.

use std::io::Write;

/// A PDF of raw object bodies: object `i + 1` is `objects[i]`, object 1 the catalog.
pub fn raw_pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.5\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        writeln!(out, "{} 0 obj", i + 1).unwrap();
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).unwrap();
    for offset in offsets {
        writeln!(out, "{offset:010} 00000 n ").unwrap();
    }
    write!(out, "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).unwrap();
    out
}

/// A stream object body: `dict` entries (without `<< >>`) and the data.
pub fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut body = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(b"\nendstream");
    body
}

/// Issue 12's input: `depth` Form XObjects, each drawing the next `fan_out`
/// times (each names the next in its own resources); the last draws a square.
pub fn nested_forms(depth: usize, fan_out: usize) -> Vec<u8> {
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Resources << /XObject << /X0 5 0 R >> >> /Contents 4 0 R >>"
            .to_vec(),
        stream("", b"/X0 Do"),
    ];
    for i in 0..depth {
        let form = "/Type /XObject /Subtype /Form /BBox [0 0 10 10]";
        objects.push(if i + 1 == depth {
            stream(form, b"0 0 1 1 re f")
        } else {
            let resources = format!("{form} /Resources << /XObject << /X{} {} 0 R >> >>", i + 1, i + 6);
            stream(&resources, format!("/X{} Do ", i + 1).repeat(fan_out).as_bytes())
        });
    }
    raw_pdf(&objects)
}
