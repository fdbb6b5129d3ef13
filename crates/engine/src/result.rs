//! OCR result types: a page holds blocks, a block lines, a line words.
//!
//! Every box is in pixels of the original page image (origin top-left, x to
//! the right, y down); [`BoundingBox::normalised`] gives the `0..1` form.

use serde::{Deserialize, Serialize};

use crate::geometry::Quad;

/// An axis-aligned box in page pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct BoundingBox {
    /// Distance of the left edge from the page's left edge.
    pub left: f32,
    /// Distance of the top edge from the page's top edge.
    pub top: f32,
    /// Width in pixels.
    pub width: f32,
    /// Height in pixels.
    pub height: f32,
}

impl BoundingBox {
    /// The smallest box containing `quad`.
    pub fn from_quad(quad: &Quad) -> Self {
        let (min, max) = quad.bounds();
        Self { left: min.x, top: min.y, width: max.x - min.x, height: max.y - min.y }
    }

    /// The box's corners as a quadrilateral (top-left, top-right,
    /// bottom-right, bottom-left).
    pub fn quad(&self) -> Quad {
        let p = |x, y| crate::geometry::Point { x, y };
        Quad([
            p(self.left, self.top),
            p(self.right(), self.top),
            p(self.right(), self.bottom()),
            p(self.left, self.bottom()),
        ])
    }

    /// The smallest box containing all `boxes` (default box if empty).
    pub fn union<'a>(boxes: impl IntoIterator<Item = &'a BoundingBox>) -> Self {
        let mut it = boxes.into_iter();
        let Some(first) = it.next() else { return Self::default() };
        let (mut l, mut t, mut r, mut b) = (first.left, first.top, first.right(), first.bottom());
        for bx in it {
            l = l.min(bx.left);
            t = t.min(bx.top);
            r = r.max(bx.right());
            b = b.max(bx.bottom());
        }
        Self { left: l, top: t, width: r - l, height: b - t }
    }

    /// Right edge (`left + width`).
    pub fn right(&self) -> f32 {
        self.left + self.width
    }

    /// Bottom edge (`top + height`).
    pub fn bottom(&self) -> f32 {
        self.top + self.height
    }

    /// `[x_min, y_min, x_max, y_max]` as fractions of the page size, clamped to `0..=1`.
    pub fn normalised(&self, page_width: u32, page_height: u32) -> [f32; 4] {
        let (w, h) = (page_width.max(1) as f32, page_height.max(1) as f32);
        [self.left / w, self.top / h, self.right() / w, self.bottom() / h].map(|v| v.clamp(0.0, 1.0))
    }

    /// Intersection over union with `other` (0 when disjoint).
    pub fn iou(&self, other: &BoundingBox) -> f32 {
        let iw = (self.right().min(other.right()) - self.left.max(other.left)).max(0.0);
        let ih = (self.bottom().min(other.bottom()) - self.top.max(other.top)).max(0.0);
        let inter = iw * ih;
        let union = self.width * self.height + other.width * other.height - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }
}

/// One word: text without spaces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    /// The recognised text.
    pub text: String,
    /// Mean character confidence in `[0, 1]`.
    pub confidence: f32,
    /// The detector's confidence that the word's region holds text: the
    /// mean text probability inside the detected region it was read from
    /// (`[0, 1]`; 1 for text taken from a born-digital PDF).
    pub detection_score: f32,
    /// Axis-aligned box in page pixels.
    pub bbox: BoundingBox,
    /// The word's region as a (possibly rotated) quadrilateral in page pixels.
    pub quad: Quad,
}

/// One line of text: words left to right.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// Words in reading order.
    pub words: Vec<Word>,
    /// Box around every word.
    pub bbox: BoundingBox,
    /// Indices into `words` where a new cell starts: each cell is one text
    /// region found by the detector (e.g. "TOTAL" and "3.90" on a receipt
    /// row). Empty when the line is one cell.
    pub cell_starts: Vec<usize>,
}

impl Line {
    /// Builds a one-cell line from its words, computing its box.
    pub fn new(words: Vec<Word>) -> Self {
        Self::with_cells(vec![words])
    }

    /// Builds a line from its cells (each a run of words), left to right.
    pub fn with_cells(cells: Vec<Vec<Word>>) -> Self {
        let mut cell_starts = Vec::new();
        let mut words = Vec::new();
        for cell in cells.into_iter().filter(|c| !c.is_empty()) {
            if !words.is_empty() {
                cell_starts.push(words.len());
            }
            words.extend(cell);
        }
        let bbox = BoundingBox::union(words.iter().map(|w| &w.bbox));
        Self { words, bbox, cell_starts }
    }

    /// The text of each cell (words joined by single spaces).
    pub fn cells(&self) -> Vec<String> {
        let mut bounds = vec![0];
        bounds.extend(&self.cell_starts);
        bounds.push(self.words.len());
        bounds
            .windows(2)
            .map(|r| self.words[r[0]..r[1]].iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" "))
            .collect()
    }

    /// Words joined by single spaces.
    pub fn text(&self) -> String {
        self.words.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ")
    }

    /// Mean word confidence (0 for an empty line).
    pub fn confidence(&self) -> f32 {
        if self.words.is_empty() {
            return 0.0;
        }
        self.words.iter().map(|w| w.confidence).sum::<f32>() / self.words.len() as f32
    }
}

/// A group of lines that belong together (a paragraph, a column section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    /// Lines top to bottom.
    pub lines: Vec<Line>,
    /// Box around every line.
    pub bbox: BoundingBox,
}

impl Block {
    /// Builds a block from its lines, computing its box.
    pub fn new(lines: Vec<Line>) -> Self {
        let bbox = BoundingBox::union(lines.iter().map(|l| &l.bbox));
        Self { lines, bbox }
    }
}

/// The OCR result of one page (or frame).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageResult {
    /// Page width in pixels (after EXIF orientation and `rotation`).
    pub width: u32,
    /// Page height in pixels (after EXIF orientation and `rotation`).
    pub height: u32,
    /// Clockwise turn in degrees (0, 90, 180 or 270) applied to the page
    /// before reading it; every box is in pixels of the turned page.
    pub rotation: u16,
    /// Blocks in reading order.
    pub blocks: Vec<Block>,
}

impl PageResult {
    /// Every line of every block, in reading order.
    pub fn lines(&self) -> impl Iterator<Item = &Line> {
        self.blocks.iter().flat_map(|b| b.lines.iter())
    }

    /// Every word, in reading order.
    pub fn words(&self) -> impl Iterator<Item = &Word> {
        self.lines().flat_map(|l| l.words.iter())
    }

    /// The page text: one line of text per line, `\n`-separated.
    pub fn text(&self) -> String {
        self.lines().map(Line::text).collect::<Vec<_>>().join("\n")
    }
}
