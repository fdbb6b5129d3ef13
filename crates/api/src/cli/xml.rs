//! What the hOCR and ALTO writers share: the pages to write, XML escaping
//! and whole-pixel boxes.

use ocr_engine::{BoundingBox, PageResult};

/// One page of one input, as the XML writers receive it.
pub struct PageOf<'a> {
    /// The input file the page comes from.
    pub file: &'a str,
    /// The page's result (boxes in pixels of the page as read).
    pub page: &'a PageResult,
}

/// `text` with `&`, `<`, `>`, `"` and `'` escaped, for element text and
/// attribute values alike; characters XML 1.0 forbids are dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// A box in whole pixels, `(left, top, right, bottom)`, grown outwards to
/// whole pixels and clamped to the page.
pub fn pixel_box(b: &BoundingBox, page: &PageResult) -> (u32, u32, u32, u32) {
    let clamp = |v: f32, max: u32| (v.max(0.0) as u32).min(max);
    let left = clamp(b.left.floor(), page.width);
    let top = clamp(b.top.floor(), page.height);
    let right = clamp(b.right().ceil(), page.width).max(left);
    let bottom = clamp(b.bottom().ceil(), page.height).max(top);
    (left, top, right, bottom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_forbidden_characters() {
        assert_eq!(escape("a<b & \"c\" 'd'>\u{1}"), "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
    }

    #[test]
    fn boxes_grow_to_whole_pixels_inside_the_page() {
        let page = PageResult { width: 100, height: 50, rotation: 0, blocks: Vec::new() };
        let b = BoundingBox { left: -2.5, top: 10.2, width: 20.0, height: 45.0 };
        assert_eq!(pixel_box(&b, &page), (0, 10, 18, 50));
    }
}
