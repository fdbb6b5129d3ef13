//! Grouping drawn glyphs into words and lines.
//!
//! Glyphs are taken in content-stream order, which for born-digital PDFs is
//! almost always reading order. A word ends at a whitespace glyph or where
//! the gap to the next glyph exceeds [`WORD_GAP_EM`] of the font size; a line
//! ends where the baseline moves by more than half the font size or the text
//! jumps back to the left.

use hayro::kurbo::Rect;

use super::scan::GlyphBox;
use crate::text::normalize;
use crate::{TextLine, TextWord};

/// A horizontal gap wider than this fraction of the em size separates words
/// (inter-letter kerning stays well below it; the narrowest spaces are ~0.2 em).
const WORD_GAP_EM: f64 = 0.15;

/// Builds lines of words from glyphs (page points, top-left origin).
pub(crate) fn group(glyphs: &[&GlyphBox]) -> Vec<TextLine> {
    let mut lines: Vec<TextLine> = Vec::new();
    let mut line: Vec<TextWord> = Vec::new();
    let mut word: Option<Partial> = None;
    // Baseline y and font size of the current line, and the right edge of its last glyph.
    let mut line_state: Option<(f64, f64, f64)> = None;

    for g in glyphs {
        let text = g.text.as_deref().unwrap_or("\u{FFFD}");
        let size = g.size.max(0.01);
        let new_line = match line_state {
            None => true,
            Some((baseline, line_size, right)) => {
                let tol = 0.5 * size.min(line_size);
                (g.origin.y - baseline).abs() > tol || g.bbox.x0 < right - 2.0 * size
            }
        };
        if new_line {
            finish_word(&mut word, &mut line);
            finish_line(&mut line, &mut lines);
        } else if let (Some(w), Some((_, _, right))) = (&word, line_state) {
            if g.bbox.x0 - right > WORD_GAP_EM * size.max(w.size) {
                finish_word(&mut word, &mut line);
            }
        }
        let right = line_state.map_or(g.bbox.x1, |(_, _, r)| if new_line { g.bbox.x1 } else { r.max(g.bbox.x1) });
        let baseline = match line_state {
            Some((b, _, _)) if !new_line => b,
            _ => g.origin.y,
        };
        line_state = Some((baseline, size, right));
        if text.chars().all(char::is_whitespace) {
            finish_word(&mut word, &mut line);
            continue;
        }
        match &mut word {
            Some(w) => {
                w.text.push_str(text);
                w.bbox = w.bbox.union(g.bbox);
                w.size = w.size.max(size);
            }
            None => {
                word = Some(Partial { text: text.to_owned(), bbox: g.bbox, size });
            }
        }
    }
    finish_word(&mut word, &mut line);
    finish_line(&mut line, &mut lines);
    lines
}

/// A word being assembled.
struct Partial {
    text: String,
    bbox: Rect,
    size: f64,
}

fn finish_word(word: &mut Option<Partial>, line: &mut Vec<TextWord>) {
    let Some(w) = word.take() else { return };
    let text = normalize(&w.text);
    if text.is_empty() {
        return;
    }
    // A word can hold inner spaces only if a single glyph maps to several words.
    for part in text.split_whitespace() {
        line.push(TextWord {
            text: part.to_owned(),
            left: w.bbox.x0 as f32,
            top: w.bbox.y0 as f32,
            width: w.bbox.width() as f32,
            height: w.bbox.height() as f32,
        });
    }
}

fn finish_line(line: &mut Vec<TextWord>, lines: &mut Vec<TextLine>) {
    if !line.is_empty() {
        lines.push(TextLine { words: std::mem::take(line) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hayro::kurbo::Point;

    fn glyph(text: &str, x: f64, y: f64, w: f64) -> GlyphBox {
        GlyphBox {
            text: Some(text.to_owned()),
            bbox: Rect::new(x, y - 8.0, x + w, y + 2.0),
            origin: Point::new(x, y),
            size: 10.0,
            visible: true,
        }
    }

    #[test]
    fn gaps_spaces_and_baselines_split_words_and_lines() {
        let glyphs = [
            glyph("a", 10.0, 20.0, 5.0),
            glyph("b", 15.0, 20.0, 5.0),
            glyph(" ", 20.0, 20.0, 3.0),
            glyph("c", 23.0, 20.0, 5.0),
            glyph("d", 40.0, 20.0, 5.0), // gap of 12 pt > 1.5 pt
            glyph("e", 10.0, 40.0, 5.0), // next line
            glyph("ﬁ", 15.0, 40.0, 5.0),
        ];
        let refs: Vec<&GlyphBox> = glyphs.iter().collect();
        let lines = group(&refs);
        let texts: Vec<String> = lines.iter().map(TextLine::text).collect();
        assert_eq!(texts, ["ab c d", "efi"]);
        assert_eq!(lines[0].words[0].left, 10.0);
        assert_eq!(lines[0].words[0].width, 10.0);
    }
}
