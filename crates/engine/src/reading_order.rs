//! The layout stage between recognition and output: recognised segments
//! (one per detected text region) become lines, lines become blocks, and
//! blocks come out in reading order.
//!
//! 1. **Skew.** Every decision below is taken on boxes sheared by the page's
//!    text slope (the median slope of the wide segments), so the lines of a
//!    tilted receipt stay apart instead of leaning into their neighbours.
//! 2. **Columns** (a recursive cut in the manner of XY-cut, guided by
//!    whitespace rivers): within a region, a *gutter* is a vertical strip that
//!    almost no segment crosses. It splits the region into columns only when
//!    both sides look like running text: most segments on each side at least
//!    [`LayoutParams::column_min_width`] line heights wide. Receipts (a wide
//!    item column beside a narrow price column) and tables of short cells
//!    fail that test and keep their rows. The few segments that do cross the gutter
//!    (headings, captions, full-width paragraphs) stand where they are: they
//!    cut the region into bands, and within each band the left column is read
//!    before the right. Each column is cut again the same way (three columns
//!    are two cuts).
//!    A detected region with a gap as wide as a gutter between two of its
//!    words is first split there: the detector sometimes joins the lines
//!    of neighbouring columns into one box.
//! 3. **Lines** within a column: segments whose sheared vertical extents
//!    overlap by [`LayoutParams::line_overlap`] of the smaller height, judged
//!    against the horizontally nearest segment already on the line, join one
//!    line (left to right), unless their words (not their detected regions,
//!    which the detector's unclipping widens) stand above or below each
//!    other; lines are ordered top to bottom.
//! 4. **Blocks**: consecutive lines of one column closer than
//!    [`LayoutParams::block_gap`] line heights.

use crate::geometry::{Point, Quad};
use crate::layout::{LayoutParams, Segment};
use crate::result::{Block, BoundingBox, Line, Word};

/// The steepest text slope (about 10 degrees) the shear corrects.
const MAX_SLOPE: f32 = 0.18;

/// Orders segments into lines and lines into blocks, in reading order.
pub fn assemble(mut segments: Vec<Segment>, params: &LayoutParams) -> Vec<Block> {
    segments.retain(|s| !s.words.is_empty());
    if segments.is_empty() {
        return Vec::new();
    }
    let slope = text_slope(segments.iter().map(|s| &s.quad));
    let line_height = median(segments.iter().map(|s| sheared_box(&s.quad, slope).height)).max(1.0);
    // The detector sometimes draws one box over two columns' lines: such a
    // box has a gap as wide as a gutter between two of its words.
    let segments: Vec<Segment> =
        segments.into_iter().flat_map(|s| split_at_wide_gaps(s, params.column_min_gutter * line_height)).collect();
    let sheared: Vec<BoundingBox> = segments.iter().map(|s| sheared_box(&s.quad, slope)).collect();
    let ink: Vec<(f32, f32)> = segments.iter().map(ink_span).collect();
    let all: Vec<usize> = (0..segments.len()).collect();
    let mut regions = Vec::new();
    split_columns(all, &sheared, line_height, params, &mut regions);

    let mut slots: Vec<Option<Segment>> = segments.into_iter().map(Some).collect();
    let mut blocks = Vec::new();
    for region in regions {
        let lines = group_lines(region, &sheared, &ink, params);
        let mut built: Vec<(f32, f32, Line)> = Vec::with_capacity(lines.len());
        for members in lines {
            let top = members.iter().map(|&i| sheared[i].top).fold(f32::INFINITY, f32::min);
            let bottom = members.iter().map(|&i| sheared[i].bottom()).fold(f32::NEG_INFINITY, f32::max);
            let mut segs: Vec<Segment> = members.iter().filter_map(|&i| slots[i].take()).collect();
            segs.sort_by(|a, b| a.bbox.left.total_cmp(&b.bbox.left));
            built.push((top, bottom, Line::with_cells(segs.into_iter().map(|s| s.words).collect())));
        }
        built.sort_by(|a, b| a.0.total_cmp(&b.0));
        blocks.extend(group_blocks(built, params));
    }
    blocks
}

/// Splits `segment` wherever two consecutive words are at least `gap`
/// pixels apart.
fn split_at_wide_gaps(segment: Segment, gap: f32) -> Vec<Segment> {
    let wide = segment.words.windows(2).any(|w| w[1].bbox.left - w[0].bbox.right() >= gap);
    if !wide {
        return vec![segment];
    }
    let Segment { words, quad, .. } = segment;
    let mut parts: Vec<Vec<Word>> = vec![Vec::new()];
    for word in words {
        let last = parts.last_mut().expect("never empty");
        if last.last().is_some_and(|p: &Word| word.bbox.left - p.bbox.right() >= gap) {
            parts.push(vec![word]);
        } else {
            last.push(word);
        }
    }
    parts
        .into_iter()
        .map(|words| {
            let bbox = BoundingBox::union(words.iter().map(|w| &w.bbox));
            let quad = sub_quad(&quad, bbox.left, bbox.right());
            Segment { words, bbox, quad }
        })
        .collect()
}

/// The part of `quad` (corners top-left first) between the page
/// x-coordinates `x0` and `x1`, following its top and bottom edges.
fn sub_quad(quad: &Quad, x0: f32, x1: f32) -> Quad {
    let [tl, tr, br, bl] = quad.0;
    let along = |a: Point, b: Point, x: f32| {
        let dx = b.x - a.x;
        let t = if dx.abs() < 1e-3 { 0.0 } else { ((x - a.x) / dx).clamp(0.0, 1.0) };
        Point::new(a.x + t * dx, a.y + t * (b.y - a.y))
    };
    Quad([along(tl, tr, x0), along(tl, tr, x1), along(bl, br, x1), along(bl, br, x0)])
}

/// Median slope (dy/dx) of the top edges of segments at least twice as wide
/// as tall, clamped to [`MAX_SLOPE`]; 0 without such segments.
fn text_slope<'a>(quads: impl Iterator<Item = &'a Quad>) -> f32 {
    let slopes: Vec<f32> = quads
        .filter(|q| q.width() >= 2.0 * q.height())
        .filter_map(|q| {
            let [tl, tr, ..] = q.0;
            let dx = tr.x - tl.x;
            (dx.abs() > 1.0).then(|| (tr.y - tl.y) / dx)
        })
        .collect();
    if slopes.is_empty() {
        return 0.0;
    }
    median(slopes.into_iter()).clamp(-MAX_SLOPE, MAX_SLOPE)
}

/// The axis-aligned box of `quad` after the shear `y' = y - slope * x`.
fn sheared_box(quad: &Quad, slope: f32) -> BoundingBox {
    let sheared = Quad(quad.0.map(|p| Point::new(p.x, p.y - slope * p.x)));
    BoundingBox::from_quad(&sheared)
}

fn median(values: impl Iterator<Item = f32>) -> f32 {
    let mut v: Vec<f32> = values.collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

/// Splits `members` into column regions in reading order, appending each
/// final region (no further column cut) to `out`.
fn split_columns(
    members: Vec<usize>,
    boxes: &[BoundingBox],
    line_height: f32,
    params: &LayoutParams,
    out: &mut Vec<Vec<usize>>,
) {
    let Some(gutter) = find_gutter(&members, boxes, line_height, params) else {
        out.push(members);
        return;
    };
    // Segments crossing the gutter cut the region into bands; the columns of
    // each band are read left, then right.
    let crosses = |i: usize| boxes[i].left < gutter.1 && boxes[i].right() > gutter.0;
    let mut spanners: Vec<usize> = members.iter().copied().filter(|&i| crosses(i)).collect();
    spanners.sort_by(|&a, &b| boxes[a].top.total_cmp(&boxes[b].top));
    let mut rest: Vec<usize> = members.into_iter().filter(|&i| !crosses(i)).collect();
    rest.sort_by(|&a, &b| centre_y(&boxes[a]).total_cmp(&centre_y(&boxes[b])));
    let mut rest = rest.into_iter().peekable();
    let mut pending_spanners: Vec<usize> = Vec::new();
    let flush_band = |band: Vec<usize>, out: &mut Vec<Vec<usize>>| {
        let (left, right): (Vec<usize>, Vec<usize>) =
            band.into_iter().partition(|&i| boxes[i].right() <= (gutter.0 + gutter.1) / 2.0);
        for side in [left, right] {
            if !side.is_empty() {
                split_columns(side, boxes, line_height, params, out);
            }
        }
    };
    for s in spanners {
        let mut band = Vec::new();
        while let Some(&i) = rest.peek() {
            if centre_y(&boxes[i]) < centre_y(&boxes[s]) {
                band.push(i);
                rest.next();
            } else {
                break;
            }
        }
        if !band.is_empty() {
            if !pending_spanners.is_empty() {
                out.push(std::mem::take(&mut pending_spanners));
            }
            flush_band(band, out);
        }
        pending_spanners.push(s);
    }
    if !pending_spanners.is_empty() {
        out.push(pending_spanners);
    }
    let band: Vec<usize> = rest.collect();
    if !band.is_empty() {
        flush_band(band, out);
    }
}

fn centre_y(b: &BoundingBox) -> f32 {
    b.top + b.height / 2.0
}

/// The widest vertical strip `(x0, x1)` inside the region that splits it into
/// two text columns (see the module docs), if any.
fn find_gutter(
    members: &[usize],
    boxes: &[BoundingBox],
    line_height: f32,
    params: &LayoutParams,
) -> Option<(f32, f32)> {
    if members.len() < 2 * params.column_min_lines {
        return None;
    }
    let left = members.iter().map(|&i| boxes[i].left).fold(f32::INFINITY, f32::min);
    let right = members.iter().map(|&i| boxes[i].right()).fold(f32::NEG_INFINITY, f32::max);
    let (x0, width) = (left.floor() as i64, (right - left).ceil().max(1.0) as usize);
    // How many segments cover each pixel column of the region.
    // Segments wider than most of the region (titles, full-width paragraphs)
    // are never column content: they do not count against a gutter.
    let mut coverage = vec![0usize; width + 1];
    for &i in members.iter().filter(|&&i| boxes[i].width < params.column_spanner_width * (right - left)) {
        let a = ((boxes[i].left.floor() as i64 - x0).max(0) as usize).min(width);
        let b = ((boxes[i].right().ceil() as i64 - x0).max(0) as usize).min(width);
        coverage[a..b].iter_mut().for_each(|c| *c += 1);
    }
    // A clean gutter (crossed by no segment) first; failing that, one that
    // a few segments cross (headings, captions).
    let most_crossing = (members.len() as f32 * params.column_max_crossing).floor() as usize;
    (0..=most_crossing).find_map(|allowed| widest_gutter(members, boxes, &coverage, x0, allowed, line_height, params))
}

/// The widest run of pixel columns crossed by at most `allowed` segments
/// (`coverage[x]`, region starting at page column `x0`) that splits the
/// region into text columns.
fn widest_gutter(
    members: &[usize],
    boxes: &[BoundingBox],
    coverage: &[usize],
    x0: i64,
    allowed: usize,
    line_height: f32,
    params: &LayoutParams,
) -> Option<(f32, f32)> {
    let min_gutter = (params.column_min_gutter * line_height).max(2.0) as usize;
    let mut best: Option<(f32, f32)> = None;
    let mut start = None;
    for (x, &c) in coverage.iter().enumerate() {
        match (c <= allowed, start) {
            (true, None) => start = Some(x),
            (false, Some(s)) => {
                if x - s >= min_gutter && s > 0 {
                    let candidate = (x0 as f32 + s as f32, x0 as f32 + x as f32);
                    let wider = best.is_none_or(|b| candidate.1 - candidate.0 > b.1 - b.0);
                    if wider && splits_into_text_columns(members, boxes, candidate, line_height, params) {
                        best = Some(candidate);
                    }
                }
                start = None;
            }
            _ => {}
        }
    }
    best
}

/// Whether both sides of the gutter look like running text: enough
/// segments, and most of them at least [`LayoutParams::column_min_width`]
/// line heights wide (lines of prose, not cells or prices). A side may
/// itself hold several columns: it is cut again later.
fn splits_into_text_columns(
    members: &[usize],
    boxes: &[BoundingBox],
    gutter: (f32, f32),
    line_height: f32,
    params: &LayoutParams,
) -> bool {
    let left: Vec<f32> =
        members.iter().map(|&i| &boxes[i]).filter(|b| b.right() <= gutter.0).map(|b| b.width).collect();
    let right: Vec<f32> = members.iter().map(|&i| &boxes[i]).filter(|b| b.left >= gutter.1).map(|b| b.width).collect();
    [left, right].into_iter().all(|widths| {
        widths.len() >= params.column_min_lines && median(widths.into_iter()) >= params.column_min_width * line_height
    })
}

/// The horizontal extent of a segment's words: the ink, without the margin
/// the detector's unclipping adds around its region (neighbouring words'
/// regions overlap by up to half a line height: `RM` and `50.00` printed a
/// space apart).
fn ink_span(segment: &Segment) -> (f32, f32) {
    let left = segment.words.iter().map(|w| w.bbox.left).fold(f32::INFINITY, f32::min);
    let right = segment.words.iter().map(|w| w.bbox.right()).fold(f32::NEG_INFINITY, f32::max);
    if left < right {
        (left, right)
    } else {
        (segment.bbox.left, segment.bbox.right())
    }
}

/// Overlap of two horizontal extents as a fraction of the narrower one.
fn span_overlap(a: (f32, f32), b: (f32, f32)) -> f32 {
    let overlap = (a.1.min(b.1) - a.0.max(b.0)).max(0.0);
    overlap / (a.1 - a.0).min(b.1 - b.0).max(1e-3)
}

/// Groups the segments of one region into lines (each a list of indices).
/// A segment never joins a line holding a segment whose words stand above or
/// below its own (`ink`: each segment's horizontal word extent).
fn group_lines(
    mut members: Vec<usize>,
    boxes: &[BoundingBox],
    ink: &[(f32, f32)],
    params: &LayoutParams,
) -> Vec<Vec<usize>> {
    members.sort_by(|&a, &b| centre_y(&boxes[a]).total_cmp(&centre_y(&boxes[b])));
    let mut lines: Vec<Vec<usize>> = Vec::new();
    for i in members {
        let seg = &boxes[i];
        let target = lines.iter_mut().rev().take(3).find(|line| {
            if line.iter().any(|&j| span_overlap(ink[j], ink[i]) >= 0.3) {
                return false;
            }
            // Judge the row by its segment nearest to this one.
            let nearest = line
                .iter()
                .min_by(|&&a, &&b| horizontal_distance(&boxes[a], seg).total_cmp(&horizontal_distance(&boxes[b], seg)));
            nearest.is_some_and(|&j| vertical_overlap(&boxes[j], seg) >= params.line_overlap)
        });
        match target {
            Some(line) => line.push(i),
            None => lines.push(vec![i]),
        }
    }
    lines
}

/// Consecutive lines (sorted by sheared top; `(top, bottom, line)`) closer
/// than `block_gap` median line heights form one block.
fn group_blocks(lines: Vec<(f32, f32, Line)>, params: &LayoutParams) -> Vec<Block> {
    if lines.is_empty() {
        return Vec::new();
    }
    let median_height = median(lines.iter().map(|(t, b, _)| b - t)).max(1.0);
    let mut blocks: Vec<Vec<Line>> = Vec::new();
    let mut previous_bottom = f32::NEG_INFINITY;
    for (top, bottom, line) in lines {
        if top - previous_bottom < params.block_gap * median_height && !blocks.is_empty() {
            blocks.last_mut().expect("checked above").push(line);
        } else {
            blocks.push(vec![line]);
        }
        previous_bottom = previous_bottom.max(bottom);
    }
    blocks.into_iter().map(Block::new).collect()
}

/// Overlap of the vertical extents as a fraction of the smaller height.
fn vertical_overlap(a: &BoundingBox, b: &BoundingBox) -> f32 {
    let overlap = (a.bottom().min(b.bottom()) - a.top.max(b.top)).max(0.0);
    overlap / a.height.min(b.height).max(1e-3)
}

/// Horizontal gap between two boxes (0 when their extents overlap).
fn horizontal_distance(a: &BoundingBox, b: &BoundingBox) -> f32 {
    (a.left.max(b.left) - a.right().min(b.right())).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(text: &str, left: f32, top: f32, width: f32) -> Segment {
        seg_tilted(text, left, top, width, 0.0)
    }

    /// A one-word segment 20 px tall whose top edge falls by `slope` per px.
    fn seg_tilted(text: &str, left: f32, top: f32, width: f32, slope: f32) -> Segment {
        let quad = Quad([
            Point::new(left, top),
            Point::new(left + width, top + slope * width),
            Point::new(left + width, top + slope * width + 20.0),
            Point::new(left, top + 20.0),
        ]);
        let bbox = BoundingBox::from_quad(&quad);
        Segment {
            words: vec![Word { text: text.into(), confidence: 1.0, detection_score: 1.0, bbox, quad }],
            bbox,
            quad,
        }
    }

    /// A one-word segment whose detected region reaches `margin` px beyond
    /// its word on the left and right (the detector's unclipping).
    fn seg_with_margin(text: &str, left: f32, top: f32, width: f32, margin: f32) -> Segment {
        let mut segment = seg(text, left, top, width);
        let quad = Quad([
            Point::new(left - margin, top),
            Point::new(left + width + margin, top),
            Point::new(left + width + margin, top + 20.0),
            Point::new(left - margin, top + 20.0),
        ]);
        segment.quad = quad;
        segment.bbox = BoundingBox::from_quad(&quad);
        segment
    }

    fn lines_of(blocks: &[Block]) -> Vec<String> {
        blocks.iter().flat_map(|b| b.lines.iter().map(Line::text)).collect()
    }

    #[test]
    fn receipt_rows_stay_rows() {
        let blocks = assemble(
            vec![
                seg("3.90", 300.0, 102.0, 40.0),
                seg("TOTAL", 10.0, 100.0, 60.0),
                seg("CASH", 10.0, 125.0, 50.0),
                seg("END", 10.0, 400.0, 40.0),
            ],
            &LayoutParams::default(),
        );
        assert_eq!(blocks[0].lines[0].cells(), vec!["TOTAL", "3.90"]);
        assert_eq!(lines_of(&blocks), vec!["TOTAL 3.90", "CASH", "END"]);
        assert_eq!(blocks.len(), 2);
    }

    #[test]
    fn words_a_space_apart_share_a_row_although_their_regions_overlap() {
        // `RM 50.00` under `TOTAL AMOUNT PAYABLE`, detected as two regions
        // whose unclipped margins overlap; `RM` sits a little lower.
        let blocks = assemble(
            vec![
                seg("TOTAL AMOUNT PAYABLE", 0.0, 0.0, 300.0),
                seg_with_margin("50.00", 330.0, 14.0, 60.0, 20.0),
                seg_with_margin("RM", 290.0, 16.0, 28.0, 20.0),
                seg("CASH", 0.0, 40.0, 50.0),
            ],
            &LayoutParams::default(),
        );
        assert_eq!(lines_of(&blocks), vec!["TOTAL AMOUNT PAYABLE", "RM 50.00", "CASH"]);
    }

    #[test]
    fn two_columns_under_a_heading_read_column_by_column() {
        let mut segments = vec![seg("Heading", 0.0, 0.0, 900.0)];
        for row in 0..6 {
            let y = 40.0 + row as f32 * 25.0;
            segments.push(seg(&format!("L{row}"), 0.0, y, 420.0));
            segments.push(seg(&format!("R{row}"), 480.0, y, 420.0));
        }
        segments.push(seg("Footer", 0.0, 220.0, 900.0));
        let text = lines_of(&assemble(segments, &LayoutParams::default()));
        assert_eq!(
            text,
            vec!["Heading", "L0", "L1", "L2", "L3", "L4", "L5", "R0", "R1", "R2", "R3", "R4", "R5", "Footer"]
        );
    }

    #[test]
    fn a_table_of_short_cells_keeps_its_rows() {
        let mut segments = Vec::new();
        for row in 0..6 {
            let y = row as f32 * 25.0;
            segments.push(seg(&format!("item{row}"), 0.0, y, 80.0));
            segments.push(seg(&format!("{row}.50"), 400.0, y, 50.0));
        }
        let text = lines_of(&assemble(segments, &LayoutParams::default()));
        assert_eq!(text[0], "item0 0.50");
        assert_eq!(text.len(), 6);
    }

    #[test]
    fn tilted_rows_do_not_interleave() {
        // A page tilted by about 3 degrees: each row's right end sits as low
        // as the next row's left end.
        let slope = 0.05;
        let mut segments = Vec::new();
        for row in 0..5 {
            let y = row as f32 * 24.0;
            segments.push(seg_tilted(&format!("A{row}"), 0.0, y, 200.0, slope));
            segments.push(seg_tilted(&format!("B{row}"), 400.0, y + 400.0 * slope, 100.0, slope));
        }
        let text = lines_of(&assemble(segments, &LayoutParams::default()));
        assert_eq!(text, vec!["A0 B0", "A1 B1", "A2 B2", "A3 B3", "A4 B4"]);
    }
}
