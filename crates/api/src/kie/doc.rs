//! The OCR result flattened for the rules: every line of every page with its
//! text, its words' byte spans in that text, and geometric neighbours (the
//! rest of its row, the line below).

use ocr_engine::{BoundingBox, PageResult};

use super::FieldValue;

/// One OCR word inside a [`TextLine`].
#[derive(Debug, Clone)]
pub struct Token {
    /// Byte offset of the word in the line's text.
    pub start: usize,
    /// Byte offset just past the word.
    pub end: usize,
    /// OCR confidence of the word.
    pub confidence: f32,
    /// Box of the word in page pixels.
    pub bbox: BoundingBox,
}

/// One OCR line: words joined by single spaces.
#[derive(Debug, Clone)]
pub struct TextLine {
    /// Page index (0-based).
    pub page: usize,
    /// The text as read.
    pub text: String,
    /// The text for keyword matching: ASCII letters upper-cased, a lone digit misread for a letter inside a
    /// word put back (same byte offsets as `text`, see [`keyed`]).
    pub upper: String,
    /// The words, with their spans in `text`.
    pub tokens: Vec<Token>,
    /// Box around the line in page pixels.
    pub bbox: BoundingBox,
    /// Page size in pixels.
    pub page_size: (u32, u32),
}

impl TextLine {
    /// Vertical centre of the line.
    pub fn centre_y(&self) -> f32 {
        self.bbox.top + self.bbox.height / 2.0
    }

    /// A field value read from bytes `start..end` of the text: the box and
    /// mean confidence of the words overlapping that span, the confidence
    /// scaled by `weight` (how sure the rule is).
    pub fn value(&self, start: usize, end: usize, value: String, weight: f32) -> FieldValue {
        let hit: Vec<&Token> = self.tokens.iter().filter(|t| t.start < end.max(start + 1) && t.end > start).collect();
        let (bbox, confidence) = if hit.is_empty() {
            (self.bbox, 0.5)
        } else {
            let conf = hit.iter().map(|t| t.confidence).sum::<f32>() / hit.len() as f32;
            (BoundingBox::union(hit.iter().map(|t| &t.bbox)), conf)
        };
        FieldValue {
            value,
            confidence: (confidence * weight).clamp(0.0, 1.0),
            geometry: bbox.normalised(self.page_size.0, self.page_size.1),
            page: self.page,
        }
    }

    /// A field value read from the whole line.
    pub fn whole(&self, value: String, weight: f32) -> FieldValue {
        self.value(0, self.text.len(), value, weight)
    }
}

/// How many lines before and after a line are searched for the rest of its row.
const ROW_WINDOW: usize = 64;

/// Every line of a document, each page's lines ordered top to bottom, left to right.
#[derive(Debug, Clone, Default)]
pub struct Doc {
    /// The lines in page order, then by vertical centre.
    pub lines: Vec<TextLine>,
}

impl Doc {
    /// Flattens the pages' lines.
    pub fn new(pages: &[PageResult]) -> Self {
        let mut lines = Vec::new();
        for (page_no, page) in pages.iter().enumerate() {
            let page_lines: Vec<TextLine> = page
                .lines()
                .filter(|l| !l.words.is_empty())
                .map(|line| {
                    let mut text = String::new();
                    let mut tokens = Vec::new();
                    for word in &line.words {
                        if !text.is_empty() {
                            text.push(' ');
                        }
                        let start = text.len();
                        text.push_str(&word.text);
                        tokens.push(Token { start, end: text.len(), confidence: word.confidence, bbox: word.bbox });
                    }
                    let upper = keyed(&text);
                    TextLine {
                        page: page_no,
                        text,
                        upper,
                        tokens,
                        bbox: line.bbox,
                        page_size: (page.width, page.height),
                    }
                })
                .collect();
            lines.extend(in_rows(page_lines));
        }
        Self { lines }
    }

    /// Lines on the same row as line `i` and to its right, left to right.
    pub fn row_right(&self, i: usize) -> Vec<usize> {
        let me = &self.lines[i];
        // Lines are ordered by row, so the rest of a row is among the neighbours in that order.
        let window = i.saturating_sub(ROW_WINDOW)..(i + ROW_WINDOW).min(self.lines.len());
        let mut right: Vec<usize> = window
            .filter(|&j| {
                let other = &self.lines[j];
                j != i
                    && other.page == me.page
                    && other.bbox.left >= me.bbox.right() - 0.25 * me.bbox.height
                    && vertical_overlap(&me.bbox, &other.bbox) >= 0.5 * me.bbox.height.min(other.bbox.height)
            })
            .collect();
        right.sort_by(|&a, &b| self.lines[a].bbox.left.total_cmp(&self.lines[b].bbox.left));
        right
    }

    /// The first line below line `i` that starts within about a line's height
    /// under it and overlaps its horizontal span (extended to the right).
    pub fn below(&self, i: usize) -> Option<usize> {
        let me = &self.lines[i];
        let h = me.bbox.height.max(1.0);
        (i + 1..self.lines.len()).take(12).find(|&j| {
            let other = &self.lines[j];
            other.page == me.page
                && other.bbox.top >= me.centre_y()
                && other.bbox.top - me.bbox.bottom() < 1.5 * h
                && other.bbox.left <= me.bbox.right() + 4.0 * h
                && other.bbox.right() >= me.bbox.left
        })
    }

    /// Median line height of page `page` (1 if it has no lines).
    pub fn median_height(&self, page: usize) -> f32 {
        let mut h: Vec<f32> = self.lines.iter().filter(|l| l.page == page).map(|l| l.bbox.height).collect();
        if h.is_empty() {
            return 1.0;
        }
        h.sort_by(f32::total_cmp);
        h[h.len() / 2].max(1.0)
    }
}

/// Orders lines top to bottom in rows (a line whose centre is within half a line height of the row's first line
/// joins that row), each row left to right.
fn in_rows(mut lines: Vec<TextLine>) -> Vec<TextLine> {
    lines.sort_by(|a, b| a.centre_y().total_cmp(&b.centre_y()));
    let mut rows: Vec<Vec<TextLine>> = Vec::new();
    for line in lines {
        match rows.last_mut() {
            Some(row)
                if (line.centre_y() - row[0].centre_y()).abs() < 0.5 * line.bbox.height.min(row[0].bbox.height) =>
            {
                row.push(line)
            }
            _ => rows.push(vec![line]),
        }
    }
    rows.into_iter()
        .flat_map(|mut row| {
            row.sort_by(|a, b| a.bbox.left.total_cmp(&b.bbox.left));
            row
        })
        .collect()
}

/// `text` upper-cased for keyword matching, with the digit OCR reads for a letter inside a word (`TE1`, `N0`,
/// `TOTA1`, `F1NAL`) put back: in a piece with two or more letters and exactly one digit, not at its start,
/// `0` becomes `O`, `5` `S`, and `1` `L` at the end of the word or `I` inside it. Byte offsets are kept.
pub fn keyed(text: &str) -> String {
    let mut out = text.to_ascii_uppercase().into_bytes();
    let mut start = 0;
    while start < out.len() {
        let end = out[start..].iter().position(|b| !b.is_ascii_alphanumeric()).map_or(out.len(), |p| start + p);
        let word = &out[start..end];
        let letters = word.iter().filter(|b| b.is_ascii_alphabetic()).count();
        let digits: Vec<usize> = (0..word.len()).filter(|&i| word[i].is_ascii_digit()).collect();
        if letters >= 2 && digits.len() == 1 && digits[0] > 0 {
            let i = start + digits[0];
            out[i] = match out[i] {
                b'0' => b'O',
                b'5' => b'S',
                b'1' if i + 1 == end => b'L',
                b'1' => b'I',
                other => other,
            };
        }
        start = end + 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_ascii_uppercase())
}

/// Height of the vertical overlap of two boxes (0 when disjoint).
pub fn vertical_overlap(a: &BoundingBox, b: &BoundingBox) -> f32 {
    (a.bottom().min(b.bottom()) - a.top.max(b.top)).max(0.0)
}
