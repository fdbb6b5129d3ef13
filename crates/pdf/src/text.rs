//! Positioned words and lines, shared by the writer and the reader.

use unicode_normalization::UnicodeNormalization;

/// One word and its box.
///
/// Units depend on where the word is used: image pixels with a top-left
/// origin for [`write_searchable_pdf`](crate::write_searchable_pdf), PDF
/// points with a top-left origin for [`InputPage::Text`](crate::InputPage::Text).
#[derive(Debug, Clone, PartialEq)]
pub struct TextWord {
    /// The word's text (no surrounding whitespace).
    pub text: String,
    /// Left edge.
    pub left: f32,
    /// Top edge (y grows downwards).
    pub top: f32,
    /// Width, ≥ 0.
    pub width: f32,
    /// Height, ≥ 0.
    pub height: f32,
}

/// One line of words, in reading order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TextLine {
    /// The words, in reading order. The line box is the union of their boxes.
    pub words: Vec<TextWord>,
}

impl TextWord {
    /// Right edge (`left + width`).
    pub fn right(&self) -> f32 {
        self.left + self.width
    }

    /// Bottom edge (`top + height`).
    pub fn bottom(&self) -> f32 {
        self.top + self.height
    }
}

impl TextLine {
    /// The union of the word boxes as `(left, top, right, bottom)`, or
    /// `None` for a line without words.
    pub fn bbox(&self) -> Option<(f32, f32, f32, f32)> {
        self.words.iter().fold(None, |acc, w| {
            let b = (w.left, w.top, w.right(), w.bottom());
            Some(match acc {
                None => b,
                Some((l, t, r, bt)) => (l.min(b.0), t.min(b.1), r.max(b.2), bt.max(b.3)),
            })
        })
    }

    /// The words' texts joined by single spaces.
    pub fn text(&self) -> String {
        let words: Vec<&str> = self.words.iter().map(|w| w.text.as_str()).collect();
        words.join(" ")
    }
}

/// The form of a word's text that goes into the PDF: NFKC (ligatures and
/// compatibility forms split), control characters dropped, trimmed.
pub(crate) fn normalize(text: &str) -> String {
    let s: String = text.nfkc().filter(|c| !c.is_control()).collect();
    s.trim().to_owned()
}

/// Whether `c` belongs to a script written without spaces between words
/// (Han, kana, CJK punctuation and full-width forms; not Hangul).
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(u32::from(c),
        0x2E80..=0x2FFF      // radicals, Kangxi
        | 0x3000..=0x303F    // CJK symbols and punctuation
        | 0x3040..=0x30FF    // hiragana, katakana
        | 0x31F0..=0x31FF    // katakana extensions
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xF900..=0xFAFF    // compatibility ideographs
        | 0xFF00..=0xFFEF    // half/full-width forms
        | 0x20000..=0x3FFFF) // CJK extensions B…
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_splits_ligatures_and_trims() {
        assert_eq!(normalize(" ﬁne\u{7} "), "fine");
        assert_eq!(normalize("Größe"), "Größe");
        assert_eq!(normalize("\u{1D11E}"), "\u{1D11E}");
        assert!(is_cjk('漢') && is_cjk('テ') && !is_cjk('한') && !is_cjk('a'));
    }

    #[test]
    fn line_box_is_union() {
        let w = |l, t| TextWord { text: "x".into(), left: l, top: t, width: 10.0, height: 5.0 };
        let line = TextLine { words: vec![w(0.0, 2.0), w(20.0, 0.0)] };
        assert_eq!(line.bbox(), Some((0.0, 0.0, 30.0, 7.0)));
        assert_eq!(TextLine::default().bbox(), None);
    }
}
