//! From recognised text segments to words, lines and blocks in reading order.
//!
//! Words: a segment's characters are split at the spaces the model emitted
//! and also where the crop shows a run of ink-free columns between two
//! characters (located by their CTC time steps) wider than a fraction of the
//! line height: the recogniser often drops the space between words
//! ("TAMANDAYA" for "TAMAN DAYA"). On crops too faint to tell ink from paper,
//! a CTC gap much wider than the line's usual character pitch splits instead.
//!
//! Lines: segments that overlap vertically by at least half the smaller
//! height join one line, ordered left to right. Blocks: consecutive lines
//! separated by less than `block_gap` line heights.

use crate::crop::LineCrop;
use crate::recognition::{RecognizedChar, RecognizedText};
use crate::result::{Block, BoundingBox, Line, Word};

/// Parameters of word splitting and line/block grouping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayoutParams {
    /// Ink-free columns between two characters, as a fraction of the crop
    /// height, that make a word break...
    pub word_gap_blank: f32,
    /// ... provided they are also at least this fraction of the line's
    /// typical character pitch (wide and letter-spaced fonts have wide gaps
    /// between the letters of one word).
    pub word_gap_blank_pitch: f32,
    /// Without usable contrast: a gap between character centres wider than
    /// this many typical character pitches makes a word break.
    pub word_gap_pitches: f32,
    /// Vertical overlap (fraction of the smaller height) for two segments to share a line.
    pub line_overlap: f32,
    /// Vertical gap, in median line heights, that starts a new block.
    pub block_gap: f32,
}

impl Default for LayoutParams {
    fn default() -> Self {
        Self {
            word_gap_blank: 0.23,
            word_gap_blank_pitch: 0.45,
            word_gap_pitches: 1.9,
            line_overlap: 0.5,
            block_gap: 1.2,
        }
    }
}

/// One recognised segment (a detector box and its reading).
#[derive(Debug, Clone)]
pub struct Segment {
    /// Words of the segment, left to right.
    pub words: Vec<Word>,
    /// Box of the whole detected region, in page pixels.
    pub bbox: BoundingBox,
}

/// Splits a reading into words with page-pixel boxes. `scale` maps working
/// image coordinates to original page coordinates.
pub fn words_from_reading(crop: &LineCrop, reading: &RecognizedText, params: &LayoutParams, scale: f32) -> Vec<Word> {
    let height = crop.image.height() as f32;
    let content_width = crop.image.width() as f32;
    let blank = blank_columns(&crop.image);
    let groups = split_words(&reading.chars, &blank, height, params);
    let pitch = typical_pitch(&reading.chars).unwrap_or(height * 0.5);
    let mut words = Vec::with_capacity(groups.len());
    for (i, group) in groups.iter().enumerate() {
        let (first, last) = (group[0], group[group.len() - 1]);
        let centre = |c: &RecognizedChar| (c.x0 + c.x1) / 2.0;
        let mut x0 = (centre(first) - pitch * 0.6).max(0.0);
        let mut x1 = (centre(last) + pitch * 0.6).min(content_width);
        // Never overlap the neighbouring words.
        if i > 0 {
            let prev = groups[i - 1][groups[i - 1].len() - 1];
            x0 = x0.max((centre(prev) + centre(first)) / 2.0);
        }
        if let Some(next) = groups.get(i + 1) {
            x1 = x1.min((centre(last) + centre(next[0])) / 2.0);
        }
        if i == 0 {
            x0 = x0.min(first.x0);
        }
        (x0, x1) = trim_to_ink(&blank, x0, x1, centre(first), centre(last));
        let quad = crop.page_quad(x0, x1.max(x0 + 1.0)).scaled(scale, scale);
        let text: String = group.iter().map(|c| c.text.as_str()).collect();
        let confidence = group.iter().map(|c| c.confidence).sum::<f32>() / group.len() as f32;
        words.push(Word { text, confidence, bbox: BoundingBox::from_quad(&quad), quad });
    }
    words
}

/// Narrows a word's span `x0..x1` to its ink: ink-free columns at either
/// end are dropped (never past the first and last characters' centres), so
/// neighbouring words' boxes keep the real gap between them.
fn trim_to_ink(blank: &[bool], mut x0: f32, mut x1: f32, first_centre: f32, last_centre: f32) -> (f32, f32) {
    let is_blank = |x: f32| x >= 0.0 && blank.get(x as usize).copied().unwrap_or(false);
    while x0 + 1.0 <= first_centre && is_blank(x0) {
        x0 += 1.0;
    }
    while x1 - 1.0 >= last_centre && is_blank(x1 - 1.0) {
        x1 -= 1.0;
    }
    (x0, x1)
}

/// Groups characters into words: split at spaces and at wide blank gaps
/// (`blank[x]`: column `x` of the crop holds no ink; all `false` when unknown).
fn split_words<'a>(
    chars: &'a [RecognizedChar],
    blank: &[bool],
    height: f32,
    params: &LayoutParams,
) -> Vec<Vec<&'a RecognizedChar>> {
    let pitch = typical_pitch(chars);
    let has_contrast = blank.iter().any(|&b| b);
    let mut words: Vec<Vec<&RecognizedChar>> = Vec::new();
    let mut current: Vec<&RecognizedChar> = Vec::new();
    for c in chars {
        if c.text.trim().is_empty() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if let Some(prev) = current.last() {
            let (from, to) = ((prev.x0 + prev.x1) / 2.0, (c.x0 + c.x1) / 2.0);
            let breaks = if has_contrast {
                let needed = (params.word_gap_blank * height).max(pitch.unwrap_or(0.0) * params.word_gap_blank_pitch);
                longest_blank_run(blank, from, to) as f32 >= needed
            } else {
                pitch.is_some_and(|p| to - from > params.word_gap_pitches * p)
            };
            if breaks {
                words.push(std::mem::take(&mut current));
            }
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// For each column of `crop`, whether it holds no ink: no pixel in the middle
/// rows is darker than the midpoint between the crop's dark and light levels
/// (5th and 95th luminance percentiles). Low-contrast crops count as blank nowhere.
pub fn blank_columns(crop: &image::RgbImage) -> Vec<bool> {
    let (w, h) = (crop.width() as usize, crop.height() as usize);
    let luma: Vec<u8> =
        crop.pixels().map(|p| ((p.0[0] as u32 * 77 + p.0[1] as u32 * 150 + p.0[2] as u32 * 29) >> 8) as u8).collect();
    let mut histogram = [0usize; 256];
    luma.iter().for_each(|&v| histogram[v as usize] += 1);
    let percentile = |q: f32| {
        let target = (luma.len() as f32 * q) as usize;
        let mut seen = 0;
        for (v, &n) in histogram.iter().enumerate() {
            seen += n;
            if seen > target {
                return v as u8;
            }
        }
        255
    };
    let (dark, light) = (percentile(0.05), percentile(0.95));
    if light.saturating_sub(dark) < 40 {
        return vec![false; w];
    }
    let threshold = (dark as u32 + light as u32) / 2;
    let (top, bottom) = (h * 15 / 100, h * 85 / 100);
    (0..w).map(|x| (top..bottom).all(|y| luma[y * w + x] as u32 > threshold)).collect()
}

/// Longest run of blank columns within `[from, to)` (clamped to the crop).
fn longest_blank_run(blank: &[bool], from: f32, to: f32) -> usize {
    let (a, b) = (from.max(0.0) as usize, (to.max(0.0) as usize).min(blank.len()));
    let (mut best, mut run) = (0, 0);
    for &is_blank in blank.get(a..b).unwrap_or(&[]) {
        run = if is_blank { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// Median distance between the centres of consecutive non-space characters
/// that are not separated by a space; `None` with fewer than two such pairs.
fn typical_pitch(chars: &[RecognizedChar]) -> Option<f32> {
    let mut distances: Vec<f32> = chars
        .windows(2)
        .filter(|w| !w[0].text.trim().is_empty() && !w[1].text.trim().is_empty())
        .map(|w| (w[1].x0 + w[1].x1) / 2.0 - (w[0].x0 + w[0].x1) / 2.0)
        .collect();
    if distances.len() < 2 {
        return None;
    }
    distances.sort_by(f32::total_cmp);
    Some(distances[distances.len() / 2])
}

/// Orders segments into lines and lines into blocks.
pub fn assemble(mut segments: Vec<Segment>, params: &LayoutParams) -> Vec<Block> {
    segments.retain(|s| !s.words.is_empty());
    segments.sort_by(|a, b| centre_y(&a.bbox).total_cmp(&centre_y(&b.bbox)));
    let mut lines: Vec<Vec<Segment>> = Vec::new();
    for seg in segments {
        let target = lines.iter_mut().rev().take(3).find(|line| {
            line.iter().all(|other| horizontal_overlap(&other.bbox, &seg.bbox) < 0.3)
                && line.iter().any(|other| vertical_overlap(&other.bbox, &seg.bbox) >= params.line_overlap)
        });
        match target {
            Some(line) => line.push(seg),
            None => lines.push(vec![seg]),
        }
    }
    let mut lines: Vec<Line> = lines
        .into_iter()
        .map(|mut segs| {
            segs.sort_by(|a, b| a.bbox.left.total_cmp(&b.bbox.left));
            Line::with_cells(segs.into_iter().map(|s| s.words).collect())
        })
        .collect();
    lines.sort_by(|a, b| a.bbox.top.total_cmp(&b.bbox.top));
    group_blocks(lines, params)
}

fn group_blocks(lines: Vec<Line>, params: &LayoutParams) -> Vec<Block> {
    if lines.is_empty() {
        return Vec::new();
    }
    let mut heights: Vec<f32> = lines.iter().map(|l| l.bbox.height).collect();
    heights.sort_by(f32::total_cmp);
    let median = heights[heights.len() / 2].max(1.0);
    let mut blocks: Vec<Vec<Line>> = Vec::new();
    for line in lines {
        let joins = blocks
            .last()
            .and_then(|b| b.last())
            .is_some_and(|prev: &Line| line.bbox.top - prev.bbox.bottom() < params.block_gap * median);
        if joins {
            blocks.last_mut().expect("checked above").push(line);
        } else {
            blocks.push(vec![line]);
        }
    }
    blocks.into_iter().map(Block::new).collect()
}

fn centre_y(b: &BoundingBox) -> f32 {
    b.top + b.height / 2.0
}

/// Overlap of the vertical extents as a fraction of the smaller height.
fn vertical_overlap(a: &BoundingBox, b: &BoundingBox) -> f32 {
    let overlap = (a.bottom().min(b.bottom()) - a.top.max(b.top)).max(0.0);
    overlap / a.height.min(b.height).max(1e-3)
}

/// Overlap of the horizontal extents as a fraction of the narrower width.
fn horizontal_overlap(a: &BoundingBox, b: &BoundingBox) -> f32 {
    let overlap = (a.right().min(b.right()) - a.left.max(b.left)).max(0.0);
    overlap / a.width.min(b.width).max(1e-3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Quad;

    fn ch(text: &str, step: usize) -> RecognizedChar {
        RecognizedChar { text: text.into(), confidence: 0.9, x0: step as f32 * 8.0, x1: step as f32 * 8.0 + 8.0 }
    }

    #[test]
    fn word_spans_shrink_to_their_ink() {
        // Ink in columns 3..=7; the span 0..12 shrinks to 3..8.
        let blank: Vec<bool> = (0..12).map(|x| !(3..=7).contains(&x)).collect();
        assert_eq!(trim_to_ink(&blank, 0.0, 12.0, 4.0, 6.0), (3.0, 8.0));
        // Without ink information nothing changes.
        assert_eq!(trim_to_ink(&[], 0.0, 12.0, 4.0, 6.0), (0.0, 12.0));
    }

    #[test]
    fn splits_at_spaces_and_at_wide_gaps() {
        // "TAMAN" with a pitch of 3 steps, a gap of 7 steps, then "DAYA", then a space and "2".
        let mut chars: Vec<RecognizedChar> =
            "TAMAN".chars().enumerate().map(|(i, c)| ch(&c.to_string(), 2 + 3 * i)).collect();
        chars.extend("DAYA".chars().enumerate().map(|(i, c)| ch(&c.to_string(), 21 + 3 * i)));
        chars.push(ch(" ", 32));
        chars.push(ch("2", 34));
        let words: Vec<String> = split_words(&chars, &[], 48.0, &LayoutParams::default())
            .iter()
            .map(|w| w.iter().map(|c| c.text.as_str()).collect())
            .collect();
        assert_eq!(words, vec!["TAMAN", "DAYA", "2"]);
    }

    #[test]
    fn blank_columns_split_run_together_words() {
        // "AB" then a 16-column blank gap then "C" (pitch 32, so 0.45 pitch = 14.4).
        let chars = vec![ch("A", 0), ch("B", 2), ch("C", 6)];
        let mut blank = vec![false; 64];
        blank[22..38].iter_mut().for_each(|b| *b = true);
        let words: Vec<usize> =
            split_words(&chars, &blank, 48.0, &LayoutParams::default()).iter().map(Vec::len).collect();
        assert_eq!(words, vec![2, 1]);
    }

    #[test]
    fn blank_columns_found_from_ink() {
        let img = image::RgbImage::from_fn(20, 10, |x, _| {
            if (5..8).contains(&x) {
                image::Rgb([0, 0, 0])
            } else {
                image::Rgb([250, 250, 250])
            }
        });
        let blank = blank_columns(&img);
        assert!(blank[0] && !blank[6] && blank[19]);
        let flat = image::RgbImage::from_pixel(20, 10, image::Rgb([200, 200, 200]));
        assert!(blank_columns(&flat).iter().all(|&b| !b));
    }

    #[test]
    fn segments_on_one_row_form_one_line() {
        let word = |text: &str, l: f32, t: f32| Word {
            text: text.into(),
            confidence: 1.0,
            bbox: BoundingBox { left: l, top: t, width: 40.0, height: 20.0 },
            quad: Quad::default(),
        };
        let seg = |w: Word| Segment { bbox: w.bbox, words: vec![w] };
        let blocks = assemble(
            vec![
                seg(word("3.90", 300.0, 102.0)),
                seg(word("TOTAL", 10.0, 100.0)),
                seg(word("CASH", 10.0, 125.0)),
                seg(word("END", 10.0, 400.0)),
            ],
            &LayoutParams::default(),
        );
        let texts: Vec<Vec<String>> = blocks.iter().map(|b| b.lines.iter().map(|l| l.text()).collect()).collect();
        assert_eq!(blocks[0].lines[0].cells(), vec!["TOTAL", "3.90"]);
        assert_eq!(blocks[0].lines[1].cells(), vec!["CASH"]);
        assert_eq!(texts, vec![vec!["TOTAL 3.90".to_string(), "CASH".to_string()], vec!["END".to_string()]]);
    }
}
