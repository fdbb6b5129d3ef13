//! What a file that is no supported image or PDF looks like, so an error can
//! name it ("the file looks like plain text") instead of only refusing it.

/// How much of the start of a file is examined.
const HEAD: usize = 4096;

/// A short phrase naming what `bytes` look like, for messages about files
/// of no supported type: "plain text", "an HTML page", "a ZIP archive …",
/// or "binary data of an unknown kind (first bytes …)".
pub fn describe(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "an empty file".into();
    }
    let head = &bytes[..bytes.len().min(HEAD)];
    if let Some(kind) = binary_kind(head) {
        return kind.into();
    }
    if let Some(text) = as_text(head) {
        return text_kind(text).into();
    }
    let first: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("binary data of an unknown kind (first bytes {})", first.join(" "))
}

/// Formats recognised by their signature.
fn binary_kind(head: &[u8]) -> Option<&'static str> {
    const SIGNATURES: [(&[u8], &str); 13] = [
        (b"PK\x03\x04", "a ZIP archive (also the container of DOCX, XLSX, ODT and EPUB files)"),
        (b"\x1f\x8b", "a gzip-compressed file"),
        (b"Rar!\x1a\x07", "a RAR archive"),
        (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-style Microsoft Office document (DOC, XLS, PPT)"),
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "a JPEG 2000 image"),
        (b"\xff\x4f\xff\x51", "a JPEG 2000 image"),
        (b"8BPS", "a Photoshop document"),
        (b"\x7fELF", "an executable program"),
        (b"MZ", "a Windows executable"),
        (b"ID3", "an MP3 audio file"),
        (b"OggS", "an Ogg audio or video file"),
        (b"\x1aE\xdf\xa3", "a Matroska or WebM video"),
    ];
    if let Some((_, kind)) = SIGNATURES.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Some(kind);
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return Some(match &head[8..12] {
            b"heic" | b"heix" | b"heim" | b"heis" | b"mif1" | b"msf1" => "a HEIC/HEIF image",
            b"avif" | b"avis" => "an AVIF image",
            _ => "an MP4 or QuickTime video",
        });
    }
    if head.len() >= 12 && head.starts_with(b"RIFF") {
        return Some(match &head[8..12] {
            b"WAVE" => "a WAV audio file",
            b"AVI " => "an AVI video",
            _ => "a RIFF file that is not a WebP image",
        });
    }
    None
}

/// The text of `head` when it is UTF-8 (a character cut at the end allowed)
/// with no control characters other than tab, line ends and form feed.
fn as_text(head: &[u8]) -> Option<&str> {
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) if e.error_len().is_none() && e.valid_up_to() + 4 > head.len() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).ok()?
        }
        Err(_) => return None,
    };
    let printable = text.chars().all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\u{c}'));
    printable.then_some(text)
}

/// Which kind of text document `text` (the start of a file) is.
fn text_kind(text: &str) -> &'static str {
    let start = text.trim_start_matches('\u{feff}').trim_start();
    let lower: String = start.chars().take(256).collect::<String>().to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        "an HTML page"
    } else if lower.contains("<svg") {
        "an SVG drawing (vector graphics, not a raster image)"
    } else if lower.starts_with("<?xml") || lower.starts_with('<') {
        "an XML document"
    } else if lower.starts_with("%!ps") {
        "a PostScript file"
    } else if lower.starts_with("{\\rtf") {
        "an RTF document"
    } else if lower.starts_with("data:") {
        "a data: URI as text (send it as base64Image instead)"
    } else if (lower.starts_with('{') || lower.starts_with('['))
        && serde_json::from_str::<serde_json::Value>(text).is_ok()
    {
        "JSON text"
    } else if !start.is_empty() && start.len() > 64 && start.bytes().all(is_base64_byte) {
        "base64 text (decode it first, or send it as base64Image with a data: prefix)"
    } else {
        "plain text"
    }
}

fn is_base64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\r' | b'\n')
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn names_common_non_image_content() {
        assert_eq!(describe(b""), "an empty file");
        assert_eq!(describe(b"Dear customer,\nyour invoice is attached.\n"), "plain text");
        assert_eq!(describe("Grüße aus Köln".as_bytes()), "plain text");
        assert_eq!(describe(b"<!DOCTYPE html><html><body>404</body></html>"), "an HTML page");
        assert!(describe(b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>").starts_with("an SVG"));
        assert_eq!(describe(b"{\"a\": [1, 2]}"), "JSON text");
        assert!(describe(b"PK\x03\x04\x14\x00\x06\x00").starts_with("a ZIP archive"));
        assert_eq!(describe(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00"), "a HEIC/HEIF image");
        assert!(describe(&"QUJD".repeat(40).into_bytes()).starts_with("base64 text"));
        assert_eq!(describe(&[0x00, 0x01, 0x02, 0xfe]), "binary data of an unknown kind (first bytes 00 01 02 fe)");
    }

    #[test]
    fn a_utf8_character_cut_at_the_examined_length_is_still_text() {
        let mut text = "ab ".repeat((super::HEAD - 1) / 3).into_bytes();
        text.extend("é and more".as_bytes());
        assert_eq!(describe(&text), "plain text");
    }
}
