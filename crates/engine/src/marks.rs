//! Telling a decimal point from a hyphen by where its ink sits.
//!
//! Receipt printers draw the decimal point of `6.00` as a short bar on the
//! baseline (dot-matrix and thermal fonts), and the recogniser, which sees a
//! short bar between digits, reads a hyphen: `6-00`. A hyphen stands at
//! mid-height, clear of the baseline; a point stands on it. So a `-` read
//! between two digits whose ink lies on the digits' baseline, in their lower
//! part only, is read as `.`. The glyph's own geometry decides, measured
//! against its two neighbours on the same crop: no font table, no threshold
//! fitted to a corpus.

use crate::ink::{InkMap, InkSpan};
use crate::recognition::RecognizedChar;

/// A point's ink starts no higher than this fraction of the digit height
/// below the digits' top (a hyphen's starts near the middle).
const POINT_MIN_TOP: f32 = 0.6;

/// A point's ink ends within this fraction of the digit height of the
/// digits' baseline (a hyphen's ends a quarter or more above it; a comma's
/// tail reaches further below).
const POINT_BASELINE_TOLERANCE: f32 = 0.15;

/// The characters, with each `-` that stands between two digits and sits on
/// their baseline read as `.`. `spans` are the characters' ink columns
/// ([`crate::ink::ink_spans`]); characters without ink found are left alone.
pub(crate) fn points_on_the_baseline(chars: &[RecognizedChar], ink: &InkMap, spans: &[InkSpan]) -> Vec<RecognizedChar> {
    let digit = |c: &RecognizedChar| c.text.len() == 1 && c.text.chars().all(|d| d.is_ascii_digit());
    let mut out = chars.to_vec();
    for k in 1..chars.len().saturating_sub(1) {
        if chars[k].text != "-" || !digit(&chars[k - 1]) || !digit(&chars[k + 1]) {
            continue;
        }
        let (Some(before), Some(mark), Some(after)) = (spans[k - 1], spans[k], spans[k + 1]) else { continue };
        if sits_on_the_baseline(ink, mark, [before, after]) {
            out[k].text = ".".into();
        }
    }
    out
}

/// Whether the ink in columns `mark` lies in the lower part of the digits
/// in columns `digits`, down to their baseline and not below it.
fn sits_on_the_baseline(ink: &InkMap, mark: (usize, usize), digits: [(usize, usize); 2]) -> bool {
    let mut band: Option<(usize, usize)> = None;
    for (from, to) in digits {
        let Some((top, bottom)) = glyph_rows(&ink.rows_with_ink(from..to), ink.height()) else { return false };
        band = Some(band.map_or((top, bottom), |(t, b)| (t.min(top), b.max(bottom))));
    }
    let Some((top, bottom)) = band else { return false };
    let height = (bottom - top + 1) as f32;
    if height < ink.height() as f32 / 4.0 {
        return false;
    }
    // The mark's ink between a little above the digits and well below them
    // (a comma's tail), ignoring what the crop caught of other lines.
    let rows = ink.rows_with_ink(mark.0..mark.1);
    let from = top.saturating_sub((height / 4.0) as usize);
    let to = (bottom + (height / 2.0) as usize).min(ink.height() - 1);
    let Some(mark_top) = (from..=to).find(|&y| rows[y]) else { return false };
    let Some(mark_bottom) = (from..=to).rev().find(|&y| rows[y]) else { return false };
    let relative = |y: usize| (y as f32 - top as f32) / height;
    relative(mark_top) >= POINT_MIN_TOP && (relative(mark_bottom + 1) - 1.0).abs() <= POINT_BASELINE_TOLERANCE
}

/// The first and last row of a glyph's ink: the run of ink rows through (or
/// nearest) the crop's middle, bridging gaps of up to a sixteenth of the
/// crop height (the dots of dot-matrix print), so ink the crop caught of
/// the lines above and below stays out.
fn glyph_rows(rows: &[bool], height: usize) -> Option<(usize, usize)> {
    let middle = height / 2;
    let start = (0..height).filter(|&y| rows[y]).min_by_key(|&y| y.abs_diff(middle))?;
    let max_gap = (height / 16).max(1);
    let extend = |mut y: usize, step: isize| {
        let mut gap = 0;
        let mut edge = y;
        while let Some(next) = y.checked_add_signed(step).filter(|&n| n < height) {
            y = next;
            if rows[y] {
                edge = y;
                gap = 0;
            } else {
                gap += 1;
                if gap > max_gap {
                    break;
                }
            }
        }
        edge
    };
    Some((extend(start, -1), extend(start, 1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    /// A 48-row crop with two digit-like bars (rows 12..36, columns 4..10
    /// and 30..36) and a mark in columns 18..24 at `mark_rows`.
    fn crop(mark_rows: std::ops::Range<u32>) -> (InkMap, Vec<RecognizedChar>, Vec<InkSpan>) {
        let img = RgbImage::from_fn(40, 48, |x, y| {
            let digit = ((4..10).contains(&x) || (30..36).contains(&x)) && (12..36).contains(&y);
            let mark = (18..24).contains(&x) && mark_rows.contains(&y);
            if digit || mark {
                Rgb([20, 20, 20])
            } else {
                Rgb([235; 3])
            }
        });
        let ch =
            |text: &str, x: f32| RecognizedChar { text: text.into(), x0: x - 4.0, x1: x + 4.0, ..Default::default() };
        let chars = vec![ch("6", 7.0), ch("-", 21.0), ch("0", 33.0)];
        let ink = InkMap::new(&img);
        let spans = crate::ink::ink_spans(&chars, &ink.blank_columns());
        (ink, chars, spans)
    }

    fn read(mark_rows: std::ops::Range<u32>) -> String {
        let (ink, chars, spans) = crop(mark_rows);
        points_on_the_baseline(&chars, &ink, &spans).iter().map(|c| c.text.as_str()).collect()
    }

    #[test]
    fn a_bar_on_the_baseline_is_a_point() {
        assert_eq!(read(31..36), "6.0");
    }

    #[test]
    fn a_bar_at_mid_height_stays_a_hyphen() {
        assert_eq!(read(21..26), "6-0");
        // Low, but clear of the baseline: still a hyphen.
        assert_eq!(read(26..30), "6-0");
    }

    #[test]
    fn a_tail_below_the_baseline_is_not_a_point() {
        assert_eq!(read(31..42), "6-0");
    }

    #[test]
    fn only_between_digits() {
        let (ink, mut chars, spans) = crop(31..36);
        chars[0].text = "A".into();
        let text: String = points_on_the_baseline(&chars, &ink, &spans).iter().map(|c| c.text.as_str()).collect();
        assert_eq!(text, "A-0");
    }
}
