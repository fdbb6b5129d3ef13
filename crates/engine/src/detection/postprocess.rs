//! DB (differentiable binarisation) post-processing: from the detector's
//! text probability map to scored, rotated text boxes.
//!
//! Steps, as in the DBNet paper and PaddleOCR's `DBPostProcess`: threshold
//! the map, dilate by 2x2, take 8-connected regions, fit a minimum-area
//! rectangle to each, score it by its mean probability, and "unclip" (grow)
//! it by `area * unclip_ratio / perimeter`, since the network predicts a
//! shrunk text kernel.
//!
//! Two choices differ from the reference, both so that a small or thin
//! region (a lone quantity `1` on a receipt, read from a page scaled down to
//! the detector's input) is judged like a large one:
//!
//! - The score is the mean probability of the region's own pixels (those
//!   above the threshold), not of its fitted rectangle. The rectangle also
//!   holds the dilated rim and the corners beside the glyph, pixels that are
//!   below the threshold by construction; in a line 100 map pixels long they
//!   are a few percent of the box, in a glyph 4 pixels wide most of it, so the
//!   rectangle's mean measured how many map pixels a glyph covers, not how sure
//!   the network is.
//! - The minimum size applies to the region's height across the text
//!   direction, not to its shorter side: an upright `1`, `l` or `!` is as tall
//!   as its line but only a stroke wide, while a speck is small both ways and
//!   a ruled line is thin across the text direction.

use crate::geometry::{min_area_rect, Point, Quad, RotatedRect};

/// Parameters of the DB post-processing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DbParams {
    /// Probability above which a pixel counts as text (0..1).
    pub threshold: f32,
    /// Minimum mean probability of a region's pixels (those above
    /// `threshold`) for its box to be kept (0..1).
    pub box_threshold: f32,
    /// How far to grow each kernel box, relative to area / perimeter.
    pub unclip_ratio: f32,
    /// Regions less than this many map pixels high across the text
    /// direction (the side of their rectangle nearer to vertical) are
    /// dropped, and so are their boxes when under `min_size + 2` after
    /// unclipping. Their length along the text is not bounded (a lone `1` is
    /// a stroke wide) beyond being more than one pixel.
    pub min_size: f32,
    /// At most this many regions are turned into boxes.
    pub max_candidates: usize,
    /// Dilate the binary map by a 2x2 kernel before finding regions.
    pub dilate: bool,
}

impl Default for DbParams {
    /// PaddleOCR / RapidOCR defaults for PP-OCR detectors.
    fn default() -> Self {
        Self {
            threshold: 0.3,
            box_threshold: 0.5,
            unclip_ratio: 1.6,
            min_size: 3.0,
            max_candidates: 1000,
            dilate: true,
        }
    }
}

/// A detector probability map: `height` rows of `stride` values, of which the
/// first `width` columns are image (the rest is padding).
#[derive(Debug, Clone, Copy)]
pub struct ProbabilityMap<'a> {
    /// Row-major probabilities in `[0, 1]`.
    pub data: &'a [f32],
    /// Values per row in `data`.
    pub stride: usize,
    /// Columns that belong to the image.
    pub width: usize,
    /// Rows that belong to the image.
    pub height: usize,
}

/// A text box found on the map, in map pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapBox {
    /// The grown (unclipped) rectangle.
    pub rect: RotatedRect,
    /// Mean probability of the region's pixels above the threshold.
    pub score: f32,
}

impl MapBox {
    /// Corners of the box, top-left first.
    pub fn quad(&self) -> Quad {
        self.rect.to_quad()
    }
}

/// Extracts text boxes from a probability map.
pub fn boxes_from_map(map: &ProbabilityMap<'_>, params: &DbParams) -> Vec<MapBox> {
    let (w, h) = (map.width, map.height);
    if w == 0 || h == 0 {
        return Vec::new();
    }
    let mut above = vec![false; w * h];
    for y in 0..h {
        let row = &map.data[y * map.stride..y * map.stride + w];
        for (x, &p) in row.iter().enumerate() {
            above[y * w + x] = p > params.threshold;
        }
    }
    let bitmap = if params.dilate { dilate_2x2(&above, w, h) } else { above.clone() };
    let mut boxes = Vec::new();
    for region in regions(&bitmap, w, h).into_iter().take(params.max_candidates) {
        let kernel = min_area_rect(&region.extremes);
        if kernel.height < params.min_size || kernel.width < MIN_LENGTH {
            continue;
        }
        let score = own_mean(map, &above, &region.pixels);
        if score < params.box_threshold {
            continue;
        }
        let perimeter = 2.0 * (kernel.width + kernel.height);
        let distance = kernel.area() * params.unclip_ratio / perimeter.max(f32::EPSILON);
        let grown = kernel.expanded(distance);
        if grown.height < params.min_size + 2.0 {
            continue;
        }
        boxes.push(MapBox { rect: grown, score });
    }
    boxes
}

/// Least length (map pixels, between the outermost pixel centres) of a
/// region along the text direction: two pixels, so the box is not a line.
const MIN_LENGTH: f32 = 1.0;

/// Mean probability of the pixels of a region (indices into the image part
/// of the map, row-major) that are above the threshold: the dilated rim
/// belongs to the region but not to what the network marked as text.
fn own_mean(map: &ProbabilityMap<'_>, above: &[bool], pixels: &[usize]) -> f32 {
    let (mut sum, mut count) = (0.0f64, 0usize);
    for &i in pixels.iter().filter(|&&i| above[i]) {
        let (x, y) = (i % map.width, i / map.width);
        sum += map.data[y * map.stride + x] as f64;
        count += 1;
    }
    if count == 0 {
        0.0
    } else {
        (sum / count as f64) as f32
    }
}

/// OpenCV-style dilation with a 2x2 kernel anchored at its centre: a pixel is
/// set if it or its left, upper or upper-left neighbour is set.
fn dilate_2x2(bitmap: &[bool], w: usize, h: usize) -> Vec<bool> {
    let mut out = bitmap.to_vec();
    for y in 0..h {
        for x in 0..w {
            if out[y * w + x] {
                continue;
            }
            let left = x > 0 && bitmap[y * w + x - 1];
            let up = y > 0 && bitmap[(y - 1) * w + x];
            let up_left = x > 0 && y > 0 && bitmap[(y - 1) * w + x - 1];
            out[y * w + x] = left || up || up_left;
        }
    }
    out
}

/// One 8-connected region of set pixels.
struct Region {
    /// The left-most and right-most pixel centre of each of its rows: enough
    /// to determine its convex hull.
    extremes: Vec<Point>,
    /// Its pixels, as row-major indices.
    pixels: Vec<usize>,
}

/// 8-connected regions of set pixels, in raster order of their first pixel.
fn regions(bitmap: &[bool], w: usize, h: usize) -> Vec<Region> {
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if !bitmap[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let mut rows: Vec<(usize, usize, usize)> = Vec::new(); // (y, min_x, max_x)
        let mut pixels = Vec::new();
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            rows.push((y, x, x));
            pixels.push(i);
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if bitmap[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        rows.sort_unstable();
        let mut extremes: Vec<Point> = Vec::new();
        let mut i = 0;
        while i < rows.len() {
            let y = rows[i].0;
            let (mut lo, mut hi) = (rows[i].1, rows[i].2);
            while i < rows.len() && rows[i].0 == y {
                lo = lo.min(rows[i].1);
                hi = hi.max(rows[i].2);
                i += 1;
            }
            extremes.push(Point::new(lo as f32, y as f32));
            if hi != lo {
                extremes.push(Point::new(hi as f32, y as f32));
            }
        }
        out.push(Region { extremes, pixels });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic map: background 0.05, text kernels of probability `p` on
    /// the given axis-aligned rectangles `(x0, y0, x1, y1)` (inclusive).
    fn synthetic(w: usize, h: usize, rects: &[(usize, usize, usize, usize, f32)]) -> Vec<f32> {
        let mut m = vec![0.05; w * h];
        for &(x0, y0, x1, y1, p) in rects {
            for y in y0..=y1 {
                for x in x0..=x1 {
                    m[y * w + x] = p;
                }
            }
        }
        m
    }

    #[test]
    fn finds_each_kernel_and_unclips_it() {
        let data = synthetic(200, 100, &[(20, 10, 119, 19, 0.9), (30, 60, 79, 69, 0.8)]);
        let map = ProbabilityMap { data: &data, stride: 200, width: 200, height: 100 };
        let mut boxes = boxes_from_map(&map, &DbParams::default());
        boxes.sort_by(|a, b| a.rect.center.y.total_cmp(&b.rect.center.y));
        assert_eq!(boxes.len(), 2, "{boxes:?}");
        let first = &boxes[0];
        // Kernel after 2x2 dilation spans centres 20..=119 x 10..=19 -> 100 x 10
        // (the dilation adds one pixel right and down, centres are 99 x 9 apart + 1).
        let (kw, kh) = (100.0f32, 10.0f32);
        let d = kw * kh * 1.6 / (2.0 * (kw + kh));
        assert!((first.rect.width - (kw + 2.0 * d)).abs() < 1.5, "{first:?}");
        assert!((first.rect.height - (kh + 2.0 * d)).abs() < 1.5, "{first:?}");
        // The score is that of the kernel's own pixels, not of the dilated rim (0.05).
        assert!((first.score - 0.9).abs() < 1e-4, "{first:?}");
        assert!((first.rect.center.x - 70.0).abs() < 1.0 && (first.rect.center.y - 15.0).abs() < 1.0);
    }

    #[test]
    fn weak_and_tiny_regions_are_dropped() {
        // One region below the box threshold, one speck of 2x2 pixels.
        let data = synthetic(100, 50, &[(10, 10, 60, 20, 0.35), (80, 40, 81, 41, 0.99)]);
        let map = ProbabilityMap { data: &data, stride: 100, width: 100, height: 50 };
        assert!(boxes_from_map(&map, &DbParams::default()).is_empty());
    }

    /// A thin upright glyph such as a lone `1` on a page scaled down for the
    /// detector: a sure stroke two map pixels wide (0.95 beside 0.6), twelve
    /// high, with blurred sides (0.2, under the threshold).
    fn thin_glyph(w: usize, h: usize, x: usize, y: usize) -> Vec<f32> {
        synthetic(w, h, &[(x - 1, y, x + 2, y + 11, 0.2), (x, y, x, y + 11, 0.6), (x + 1, y, x + 1, y + 11, 0.95)])
    }

    #[test]
    fn thin_isolated_glyph_yields_a_box() {
        let data = thin_glyph(60, 40, 30, 10);
        let map = ProbabilityMap { data: &data, stride: 60, width: 60, height: 40 };
        let boxes = boxes_from_map(&map, &DbParams::default());
        // Its rectangle is two pixel centres wide (after dilation): under a
        // minimum size of 3 applied to the shorter side.
        assert_eq!(boxes.len(), 1, "{boxes:?}");
        let b = &boxes[0];
        assert!((b.score - 0.775).abs() < 1e-3, "{b:?}");
        assert!(b.rect.height > 12.0 && b.rect.width > 2.0 && b.rect.width < b.rect.height, "{b:?}");
        assert!((b.rect.center.x - 31.0).abs() < 1.0 && (b.rect.center.y - 16.0).abs() < 1.0, "{b:?}");
    }

    #[test]
    fn small_glyph_is_scored_by_its_own_pixels() {
        // A glyph three map pixels wide and eight high, sure in the middle
        // (0.95), less at its sides (0.5), blurred beyond (0.2). Over its
        // rectangle with the dilated rim the mean is 0.48, under the box
        // threshold; its own pixels average 0.65.
        let data = synthetic(50, 30, &[(19, 10, 23, 17, 0.2), (20, 10, 22, 17, 0.5), (21, 10, 21, 17, 0.95)]);
        let map = ProbabilityMap { data: &data, stride: 50, width: 50, height: 30 };
        let boxes = boxes_from_map(&map, &DbParams::default());
        assert_eq!(boxes.len(), 1, "{boxes:?}");
        assert!((boxes[0].score - 0.65).abs() < 1e-3, "{:?}", boxes[0]);
        // A region of the same shape that the network is unsure of stays out.
        let data = synthetic(50, 30, &[(20, 10, 22, 17, 0.45)]);
        let map = ProbabilityMap { data: &data, stride: 50, width: 50, height: 30 };
        assert!(boxes_from_map(&map, &DbParams::default()).is_empty());
    }

    #[test]
    fn thin_regions_across_the_text_are_dropped() {
        // A ruled line: long, but one pixel high (two after dilation).
        let data = synthetic(100, 30, &[(10, 15, 89, 15, 0.95)]);
        let map = ProbabilityMap { data: &data, stride: 100, width: 100, height: 30 };
        assert!(boxes_from_map(&map, &DbParams::default()).is_empty());
        // The thin glyph on its side is the same: a stroke across the text direction.
        let upright = thin_glyph(40, 40, 20, 10);
        let mut turned = vec![0.0; 40 * 40];
        for y in 0..40 {
            for x in 0..40 {
                turned[x * 40 + y] = upright[y * 40 + x];
            }
        }
        let map = ProbabilityMap { data: &turned, stride: 40, width: 40, height: 40 };
        assert!(boxes_from_map(&map, &DbParams::default()).is_empty());
    }

    #[test]
    fn padding_columns_are_ignored() {
        // Text lies only in the padding area (x >= width).
        let data = synthetic(120, 40, &[(100, 10, 119, 25, 0.9)]);
        let map = ProbabilityMap { data: &data, stride: 120, width: 96, height: 40 };
        assert!(boxes_from_map(&map, &DbParams::default()).is_empty());
    }

    #[test]
    fn tilted_kernel_gives_tilted_box() {
        let (w, h) = (300, 200);
        let mut data = vec![0.0; w * h];
        let angle = 0.2f32;
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f32 - 150.0, y as f32 - 100.0);
                let u = dx * angle.cos() + dy * angle.sin();
                let v = -dx * angle.sin() + dy * angle.cos();
                if u.abs() <= 80.0 && v.abs() <= 8.0 {
                    data[y * w + x] = 0.95;
                }
            }
        }
        let map = ProbabilityMap { data: &data, stride: w, width: w, height: h };
        let boxes = boxes_from_map(&map, &DbParams::default());
        assert_eq!(boxes.len(), 1);
        assert!((boxes[0].rect.angle - angle).abs() < 0.03, "{:?}", boxes[0]);
    }
}
