//! Text the detector left out of its own rows: a lone quantity `1` between
//! an item code and its price, a short `SR` at a line's end.
//!
//! The DB detector marks lines by their extent; a glyph that stands alone,
//! one stroke wide, often gets no text probability at all, whatever the
//! scale (measured with the `detection_misses` example: 11 of the 13 lone
//! `1`s it misses on the development receipts peak below 0.4 on the map).
//! Yet such a glyph sits on a row the detector did find, with ink of the
//! same darkness and height as its neighbours. So, along each detected
//! box's row (following the box's slope), every ink run that no box covers
//! becomes a candidate when it looks like a glyph of that row: as tall as
//! the row's text or nearly (not a dot, rule or speck), not reaching far
//! above or below the row (not a figure, a frame or the next row's text),
//! a few line heights long at most, apart from the detected boxes and not a
//! solid blob. The candidates are read like any other line by the caller,
//! which keeps only confident readings.

use image::RgbImage;

use crate::detection::DetectedBox;
use crate::geometry::{Point, Quad};

/// Boxes steeper than this (rise over run) are not followed: the deskewed
/// page's rows are near horizontal, and a steep box is a stamp or a curve.
const MAX_SLOPE: f32 = 0.05;
/// Least difference between a row's background and its darkest ink (grey
/// levels) for the row to have legible text to compare with.
const MIN_CONTRAST: u8 = 48;
/// Least height of a row's text, in pixels, worth searching beside.
const MIN_TEXT_HEIGHT: usize = 8;
/// Ink pixels a column needs (inside the row's text band) to count as ink.
const MIN_COLUMN_INK: usize = 2;
/// Gaps narrower than this (in text heights) join two ink runs into one.
const JOIN_GAP: f32 = 0.5;
/// Least clearance (text heights) between a candidate and any detected box.
const CLEARANCE: f32 = 0.3;
/// Longest candidate, in text heights: longer missed text is not a glyph
/// the detector overlooked but something it judged not to be text.
const MAX_LENGTH: f32 = 3.0;
/// Least ink height of a candidate, relative to the row's text height.
const MIN_HEIGHT: f32 = 0.5;
/// How far (text heights) a candidate's ink may reach above or below the row.
const MAX_OVERHANG: f32 = 0.3;
/// Largest share of a candidate's box (at least a text height wide) that
/// may be ink: a glyph is strokes, a blob is solid.
const MAX_FILL: f32 = 0.6;
/// Margin (text heights) added left and right of a candidate's ink.
const MARGIN: f32 = 0.3;
/// Least width of a candidate's box relative to its height.
const MIN_ASPECT: f32 = 0.8;
/// At most this many candidates per page, so a page of noise costs little.
const MAX_CANDIDATES: usize = 48;

/// Boxes around ink on the rows of `boxes` that none of them covers and that
/// looks like a glyph of its row (see the module documentation), in `page`
/// pixels; each spans its row's box vertically. The score is the row box's.
pub(crate) fn missed_glyph_boxes(page: &RgbImage, boxes: &[DetectedBox]) -> Vec<DetectedBox> {
    let grey = Grey::of(page);
    let mut found: Vec<DetectedBox> = Vec::new();
    for row in boxes {
        let Some(band) = TextBand::of(&grey, row) else { continue };
        for (x0, x1) in band.uncovered_runs(&grey, boxes) {
            if found.len() >= MAX_CANDIDATES {
                return found;
            }
            let Some(candidate) = band.glyph_box(&grey, x0, x1, row) else { continue };
            let overlaps = |b: &DetectedBox| {
                let (a0, a1) = b.quad.bounds();
                let (c0, c1) = candidate.quad.bounds();
                let dx = a1.x.min(c1.x) - a0.x.max(c0.x);
                let dy = a1.y.min(c1.y) - a0.y.max(c0.y);
                dx > 0.0 && dy > 0.5 * (c1.y - c0.y).min(a1.y - a0.y)
            };
            if !found.iter().any(overlaps) {
                found.push(candidate);
            }
        }
    }
    found
}

/// A page in grey levels (luma).
struct Grey {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl Grey {
    fn of(page: &RgbImage) -> Self {
        let data =
            page.pixels().map(|p| ((299 * p[0] as u32 + 587 * p[1] as u32 + 114 * p[2] as u32) / 1000) as u8).collect();
        Self { width: page.width() as usize, height: page.height() as usize, data }
    }

    fn at(&self, x: usize, y: isize) -> Option<u8> {
        (y >= 0 && (y as usize) < self.height && x < self.width).then(|| self.data[y as usize * self.width + x])
    }
}

/// The rows of one detected box that hold its text, extended across the
/// page along the box's slope, with the grey level below which a pixel is ink.
struct TextBand {
    /// Top of the text at column 0 (may lie off the page for sloped rows).
    top_at_zero: f32,
    slope: f32,
    /// Text height in pixels.
    height: usize,
    ink_below: u8,
}

impl TextBand {
    /// The text band of `row`, when the box is near horizontal and holds
    /// text of legible contrast and height.
    fn of(grey: &Grey, row: &DetectedBox) -> Option<Self> {
        let [tl, tr, _, bl] = row.quad.0;
        let run = tr.x - tl.x;
        if run <= 0.0 {
            return None;
        }
        let slope = (tr.y - tl.y) / run;
        let box_height = (bl.y - tl.y).round();
        if slope.abs() > MAX_SLOPE || box_height < MIN_TEXT_HEIGHT as f32 {
            return None;
        }
        let box_height = box_height as usize;
        let top = |x: usize| tl.y + (x as f32 - tl.x) * slope;
        let (x0, x1) = (tl.x.max(0.0) as usize, (tr.x as usize).min(grey.width));
        let mut levels = Vec::with_capacity((x1.saturating_sub(x0)) * box_height);
        for x in x0..x1 {
            let y0 = top(x).round() as isize;
            levels.extend((0..box_height as isize).filter_map(|dy| grey.at(x, y0 + dy)));
        }
        if levels.is_empty() {
            return None;
        }
        levels.sort_unstable();
        let background = levels[levels.len() * 9 / 10];
        let darkest = levels[levels.len() / 100];
        if background.saturating_sub(darkest) < MIN_CONTRAST {
            return None;
        }
        let ink_below = ((background as u16 + darkest as u16) / 2) as u8;
        // The box's rows that hold ink: its text, without the unclipped margin.
        let inked_row = |dy: usize| {
            (x0..x1)
                .filter(|&x| grey.at(x, top(x).round() as isize + dy as isize).is_some_and(|g| g < ink_below))
                .count()
                >= MIN_COLUMN_INK
        };
        let first = (0..box_height).find(|&dy| inked_row(dy))?;
        let last = (0..box_height).rev().find(|&dy| inked_row(dy))?;
        let height = last + 1 - first;
        if height < MIN_TEXT_HEIGHT {
            return None;
        }
        Some(Self { top_at_zero: tl.y - tl.x * slope + first as f32, slope, height, ink_below })
    }

    fn top(&self, x: usize) -> isize {
        (self.top_at_zero + x as f32 * self.slope).round() as isize
    }

    fn is_ink(&self, grey: &Grey, x: usize, y: isize) -> bool {
        grey.at(x, y).is_some_and(|g| g < self.ink_below)
    }

    /// Ink pixels of column `x` between `from` and `to` rows of the band.
    fn column_ink(&self, grey: &Grey, x: usize, from: isize, to: isize) -> usize {
        let top = self.top(x);
        (from..to).filter(|&dy| self.is_ink(grey, x, top + dy)).count()
    }

    /// Runs of columns (`x0..x1`) with ink in the band that no box of the
    /// band's row covers, at least [`CLEARANCE`] text heights from any box.
    fn uncovered_runs(&self, grey: &Grey, boxes: &[DetectedBox]) -> Vec<(usize, usize)> {
        let h = self.height as f32;
        let mut covered = vec![false; grey.width];
        let clearance = (CLEARANCE * h).ceil() as isize;
        let centre_x = |b: &DetectedBox| {
            let (a, c) = b.quad.bounds();
            (a.x + c.x) / 2.0
        };
        for b in boxes {
            let (a, c) = b.quad.bounds();
            let band_top = self.top(centre_x(b).max(0.0) as usize) as f32;
            let overlap = c.y.min(band_top + h) - a.y.max(band_top);
            if overlap > 0.3 * h {
                let from = (a.x as isize - clearance).max(0) as usize;
                let to = ((c.x.ceil() as isize + clearance).max(0) as usize).min(grey.width);
                covered[from..to.max(from)].iter_mut().for_each(|v| *v = true);
            }
        }
        let join = (JOIN_GAP * h).ceil() as usize;
        let mut runs: Vec<(usize, usize)> = Vec::new();
        let mut x = 0;
        while x < grey.width {
            if covered[x] || self.column_ink(grey, x, 0, self.height as isize) < MIN_COLUMN_INK {
                x += 1;
                continue;
            }
            let start = x;
            let mut end = x + 1;
            let mut gap = 0;
            x += 1;
            while x < grey.width && !covered[x] && gap <= join {
                if self.column_ink(grey, x, 0, self.height as isize) >= MIN_COLUMN_INK {
                    end = x + 1;
                    gap = 0;
                } else {
                    gap += 1;
                }
                x += 1;
            }
            // A run cut short by a box touches its clearance: not apart from it.
            // So is a run at the page's edge: a glyph cut by the border.
            let touches_box = (start > 0 && covered[start - 1]) || (end < grey.width && covered[end]);
            if !touches_box && start > 0 && end < grey.width {
                runs.push((start, end));
            }
        }
        runs
    }

    /// The box of the ink run `x0..x1`, spanning `row`'s box vertically, when
    /// the run looks like a glyph of the band (see the module documentation).
    fn glyph_box(&self, grey: &Grey, x0: usize, x1: usize, row: &DetectedBox) -> Option<DetectedBox> {
        let h = self.height as f32;
        if (x1 - x0) as f32 > MAX_LENGTH * h {
            return None;
        }
        let row_has_ink = |dy: isize| (x0..x1).any(|x| self.is_ink(grey, x, self.top(x) + dy));
        // The run's ink, followed up and down from the band while rows touch.
        let inside: Vec<isize> = (0..self.height as isize).filter(|&dy| row_has_ink(dy)).collect();
        let (&first, &last) = (inside.first()?, inside.last()?);
        let reach = self.height as isize + (MAX_OVERHANG * h).ceil() as isize + 1;
        let mut top = first;
        while top > -reach && row_has_ink(top - 1) {
            top -= 1;
        }
        let mut bottom = last;
        while bottom < self.height as isize + reach && row_has_ink(bottom + 1) {
            bottom += 1;
        }
        let overhang = (MAX_OVERHANG * h).ceil() as isize;
        if top < -overhang || bottom >= self.height as isize + overhang {
            return None;
        }
        let ink_height = (bottom + 1 - top) as f32;
        if ink_height < MIN_HEIGHT * h {
            return None;
        }
        let ink: usize = (x0..x1).map(|x| self.column_ink(grey, x, top, bottom + 1)).sum();
        // Against at least a square: a `1` or `l` fills its own narrow box.
        if ink as f32 > MAX_FILL * ink_height * ((x1 - x0) as f32).max(h) {
            return None;
        }
        // The row box's vertical extent, moved to the run along the slope.
        let [tl, tr, _, bl] = row.quad.0;
        let box_height = bl.y - tl.y;
        // Wide enough that the crop is not taken for vertical text (see
        // `crop_line`): a lone `1` with its margins is taller than wide.
        let half = ((x1 - x0) as f32 / 2.0 + MARGIN * h).max(MIN_ASPECT * box_height / 2.0);
        let centre = (x0 + x1) as f32 / 2.0;
        let (left, right) = ((centre - half).max(0.0), (centre + half).min(grey.width as f32));
        let top_at = |x: f32| tl.y + (x - tl.x) * (tr.y - tl.y) / (tr.x - tl.x);
        let corners = [
            Point::new(left, top_at(left)),
            Point::new(right, top_at(right)),
            Point::new(right, top_at(right) + box_height),
            Point::new(left, top_at(left) + box_height),
        ];
        let quad = Quad(corners).clamped(grey.width as f32, grey.height as f32);
        Some(DetectedBox { quad, score: row.score })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A white page with dark rectangles (x0, y0, x1, y1) as "glyphs".
    fn page(width: u32, height: u32, glyphs: &[(u32, u32, u32, u32)]) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| {
            let dark = glyphs.iter().any(|&(x0, y0, x1, y1)| (x0..x1).contains(&x) && (y0..y1).contains(&y));
            image::Rgb(if dark { [20, 20, 20] } else { [235, 235, 235] })
        })
    }

    fn detected(x0: f32, y0: f32, x1: f32, y1: f32) -> DetectedBox {
        let quad = Quad([Point::new(x0, y0), Point::new(x1, y0), Point::new(x1, y1), Point::new(x0, y1)]);
        DetectedBox { quad, score: 0.9 }
    }

    /// Strokes 3 px wide, 20 px tall, every 12 px: a word from `x` to `x + 12 * n`.
    fn word(x: u32, y: u32, n: u32) -> Vec<(u32, u32, u32, u32)> {
        (0..n).map(|i| (x + 12 * i, y, x + 12 * i + 3, y + 20)).collect()
    }

    #[test]
    fn a_lone_stroke_between_two_detected_words_is_found() {
        let mut glyphs = word(20, 40, 5);
        glyphs.extend(word(300, 40, 4));
        glyphs.push((200, 40, 204, 60)); // the lone `1`
        let boxes = [detected(10.0, 32.0, 90.0, 68.0), detected(290.0, 32.0, 355.0, 68.0)];
        let found = missed_glyph_boxes(&page(400, 120, &glyphs), &boxes);
        assert_eq!(found.len(), 1, "{found:?}");
        let (a, c) = found[0].quad.bounds();
        assert!(a.x < 200.0 && c.x > 204.0 && a.x > 180.0 && c.x < 225.0, "{found:?}");
        assert!((a.y - 32.0).abs() < 1.0 && (c.y - 68.0).abs() < 1.0, "spans the row's box: {found:?}");
    }

    #[test]
    fn dots_rules_tall_strokes_and_blobs_are_not_glyphs() {
        let mut glyphs = word(20, 40, 5);
        glyphs.push((150, 56, 153, 59)); // a dot at the baseline
        glyphs.push((200, 49, 240, 51)); // a thin rule
        glyphs.push((270, 0, 273, 120)); // a frame line crossing the row
        glyphs.push((320, 38, 345, 62)); // a solid blob
        glyphs.push((400, 40, 560, 60)); // far longer than a glyph
        let boxes = [detected(10.0, 32.0, 90.0, 68.0)];
        let found = missed_glyph_boxes(&page(600, 120, &glyphs), &boxes);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn ink_next_to_a_box_is_that_box_s_text_and_a_faint_row_has_no_band() {
        let mut glyphs = word(20, 40, 5);
        glyphs.push((93, 40, 96, 60)); // a stroke just past the box's edge
        let boxes = [detected(10.0, 32.0, 90.0, 68.0)];
        assert!(missed_glyph_boxes(&page(200, 120, &glyphs), &boxes).is_empty());

        let faint = RgbImage::from_fn(200, 120, |x, y| {
            let ink = (20..80).contains(&x) && (40..60).contains(&y) && x % 12 < 3 || (150..153).contains(&x);
            image::Rgb(if ink { [215, 215, 215] } else { [235, 235, 235] })
        });
        assert!(missed_glyph_boxes(&faint, &boxes).is_empty());
    }

    #[test]
    fn a_sloped_row_is_followed_along_its_slope() {
        // Rows fall 1 px per 25 px (slope 0.04); the stroke sits 160 px on.
        let slope = 0.04;
        let glyphs: Vec<(u32, u32, u32, u32)> = (0..6)
            .map(|i| {
                let x = 20 + 12 * i;
                let y = 40 + (x as f32 * slope) as u32;
                (x, y, x + 3, y + 20)
            })
            .chain(std::iter::once((250, 40 + (250.0 * slope) as u32, 253, 60 + (250.0 * slope) as u32)))
            .collect();
        let (x0, x1) = (10.0, 100.0);
        let quad = Quad([
            Point::new(x0, 32.0 + x0 * slope),
            Point::new(x1, 32.0 + x1 * slope),
            Point::new(x1, 68.0 + x1 * slope),
            Point::new(x0, 68.0 + x0 * slope),
        ]);
        let found = missed_glyph_boxes(&page(320, 120, &glyphs), &[DetectedBox { quad, score: 0.9 }]);
        assert_eq!(found.len(), 1, "{found:?}");
        let (a, c) = found[0].quad.bounds();
        assert!(a.y < 40.0 + 250.0 * slope && c.y > 60.0 + 250.0 * slope, "{found:?}");
    }
}
