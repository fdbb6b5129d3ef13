//! Where the text layer puts a line's words when the OCR boxes alone would
//! mislead text extractors.
//!
//! Extractors such as pdftotext rebuild lines from glyph positions: words
//! join one line only when their baselines lie within about half a font
//! size of each other, and a word whose glyphs reach into the next line's
//! band can be joined to that line instead. OCR boxes break both on photos
//! of receipts: a tilted or curved line's baselines drift by more than that
//! from one end to the other, and detector boxes are often taller than the
//! distance between two lines, while a lone digit's box hugs its glyph, well
//! above the line's baseline. So each line's words are no taller than the
//! distance to the nearest line above or below ([`line_height_caps`]), much
//! shorter words take the line's band ([`widen_small_words`]), and all are
//! pulled toward the line's median baseline ([`level_baselines`]); on a level
//! page with separate lines of even words nothing moves.

use crate::text::TextLine;

/// Largest distance of a word's baseline from its line's median baseline,
/// in the line's median word height. Measured with pdftotext 22: 0.2 keeps
/// a 3-degree line of eight words on one line, 0.3 splits it in two.
pub(crate) const BASELINE_SPREAD: f32 = 0.2;

/// A word's vertical extent in image pixels (top < bottom).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Band {
    /// Top edge.
    pub top: f32,
    /// Bottom edge.
    pub bottom: f32,
}

/// Moves each band toward the bands' median bottom, to within
/// [`BASELINE_SPREAD`] of their median height, keeping its height.
pub(crate) fn level_baselines(bands: &mut [Band]) {
    if bands.is_empty() {
        return;
    }
    let bottom = median(bands.iter().map(|b| b.bottom).collect());
    let reach = BASELINE_SPREAD * median(bands.iter().map(|b| b.bottom - b.top).collect());
    for band in bands.iter_mut() {
        let offset = band.bottom - bottom;
        let shift = offset.clamp(-reach, reach) - offset;
        band.top += shift;
        band.bottom += shift;
    }
}

/// A word less than this share of its line's median height (a lone digit
/// or a dash, whose detector box hugs the glyph while the other words' boxes
/// take in the line's full height) is set in the line's band.
pub(crate) const SMALL_WORD: f32 = 0.6;

/// Gives every band much shorter than the bands' median height the median
/// top and bottom: a small glyph's own box sits above the line's baseline,
/// and text extractors would read it, set that high and in a small font, as
/// a line of its own.
pub(crate) fn widen_small_words(bands: &mut [Band]) {
    if bands.is_empty() {
        return;
    }
    let top = median(bands.iter().map(|b| b.top).collect());
    let bottom = median(bands.iter().map(|b| b.bottom).collect());
    let height = median(bands.iter().map(|b| b.bottom - b.top).collect());
    for band in bands.iter_mut().filter(|b| b.bottom - b.top < SMALL_WORD * height) {
        *band = Band { top, bottom };
    }
}

/// Shrinks each band taller than `cap` to `cap` around its centre.
pub(crate) fn cap_heights(bands: &mut [Band], cap: f32) {
    for band in bands.iter_mut() {
        let excess = (band.bottom - band.top) - cap;
        if excess > 0.0 {
            band.top += excess / 2.0;
            band.bottom -= excess / 2.0;
        }
    }
}

/// For each line, the tallest its words may be: the distance between its
/// centre and the centre of the nearest line above or below that shares
/// part of its width (lines side by side on one row do not count), or
/// infinity when it has no such neighbour.
pub(crate) fn line_height_caps(lines: &[TextLine]) -> Vec<f32> {
    let rows: Vec<Option<Row>> = lines.iter().map(Row::of).collect();
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let Some(row) = row else { return f32::INFINITY };
            rows.iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .filter_map(|(_, other)| other.as_ref())
                .filter(|other| other.left < row.right && row.left < other.right)
                .map(|other| (other.centre - row.centre).abs())
                .filter(|&distance| distance >= 0.5 * row.height)
                .fold(f32::INFINITY, f32::min)
        })
        .collect()
}

/// A line's horizontal span and its words' median centre and height.
struct Row {
    left: f32,
    right: f32,
    centre: f32,
    height: f32,
}

impl Row {
    fn of(line: &TextLine) -> Option<Self> {
        let (left, _, right, _) = line.bbox()?;
        let centre = median(line.words.iter().map(|w| w.top + w.height / 2.0).collect());
        let height = median(line.words.iter().map(|w| w.height).collect());
        Some(Self { left, right, centre, height })
    }
}

/// The upper median of a non-empty list.
fn median(mut values: Vec<f32>) -> f32 {
    values.sort_by(f32::total_cmp);
    values[values.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::TextWord;

    fn line(words: &[(f32, f32, f32, f32)]) -> TextLine {
        let words = words
            .iter()
            .map(|&(left, top, width, height)| TextWord { text: "w".into(), left, top, width, height })
            .collect();
        TextLine { words }
    }

    #[test]
    fn a_tilted_line_is_levelled_to_within_a_fifth_of_its_height() {
        // Eight words of height 30 whose baselines climb 6 px each.
        let mut bands: Vec<Band> =
            (0..8).map(|i| Band { top: 100.0 - 6.0 * i as f32, bottom: 130.0 - 6.0 * i as f32 }).collect();
        level_baselines(&mut bands);
        let bottoms: Vec<f32> = bands.iter().map(|b| b.bottom).collect();
        let spread =
            bottoms.iter().cloned().fold(f32::MIN, f32::max) - bottoms.iter().cloned().fold(f32::MAX, f32::min);
        assert!(spread <= 2.0 * BASELINE_SPREAD * 30.0 + 1e-3, "{bottoms:?}");
        assert!(bands.iter().all(|b| (b.bottom - b.top - 30.0).abs() < 1e-3), "heights are kept");
        // Words near the median do not move.
        assert_eq!(bands[4], Band { top: 76.0, bottom: 106.0 });
    }

    #[test]
    fn a_lone_digit_is_set_in_its_lines_band() {
        // Receipt 521: `Cheese *# 1 RM4.15`, the `1` boxed 39 px high in a
        // line of 116 px boxes.
        let mut bands = vec![
            Band { top: 2304.0, bottom: 2420.0 },
            Band { top: 2299.0, bottom: 2410.0 },
            Band { top: 2317.0, bottom: 2356.0 },
            Band { top: 2274.0, bottom: 2395.0 },
        ];
        widen_small_words(&mut bands);
        assert_eq!(bands[2], Band { top: 2304.0, bottom: 2410.0 });
        assert_eq!(bands[0], Band { top: 2304.0, bottom: 2420.0 }, "the others keep their boxes");
    }

    #[test]
    fn a_level_line_does_not_move() {
        let mut bands = vec![Band { top: 10.0, bottom: 40.0 }, Band { top: 12.0, bottom: 41.0 }];
        let before = bands.clone();
        level_baselines(&mut bands);
        assert_eq!(bands, before);
    }

    #[test]
    fn boxes_taller_than_the_line_pitch_are_capped_by_it() {
        // Boxes 130 px tall on lines 90 px apart (detector boxes overlapping
        // the next line), and a line beside the first on the same row.
        let lines = [
            line(&[(0.0, 0.0, 100.0, 130.0), (120.0, 0.0, 100.0, 130.0)]),
            line(&[(50.0, 90.0, 100.0, 130.0)]),
            line(&[(400.0, 10.0, 100.0, 120.0)]),
            line(&[(0.0, 400.0, 100.0, 30.0)]),
        ];
        let caps = line_height_caps(&lines);
        assert_eq!(caps[0], 90.0);
        assert_eq!(caps[1], 90.0);
        assert_eq!(caps[2], f32::INFINITY, "no line above or below shares its width");
        assert_eq!(caps[3], 400.0 + 15.0 - 155.0);
        let mut bands = vec![Band { top: 0.0, bottom: 130.0 }];
        cap_heights(&mut bands, caps[0]);
        assert_eq!(bands, vec![Band { top: 20.0, bottom: 110.0 }]);
    }
}
