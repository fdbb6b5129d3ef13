//! DB (differentiable binarisation) post-processing: from the detector's
//! text probability map to scored, rotated text boxes.
//!
//! Steps, as in the DBNet paper and PaddleOCR's `DBPostProcess`: threshold
//! the map, dilate by 2x2, take 8-connected regions, fit a minimum-area
//! rectangle to each, score it by the mean probability inside, and "unclip"
//! (grow) it by `area * unclip_ratio / perimeter`, since the network predicts
//! a shrunk text kernel.

use crate::geometry::{min_area_rect, Point, Quad, RotatedRect};

/// Parameters of the DB post-processing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DbParams {
    /// Probability above which a pixel counts as text (0..1).
    pub threshold: f32,
    /// Minimum mean probability inside a box for it to be kept (0..1).
    pub box_threshold: f32,
    /// How far to grow each kernel box, relative to area / perimeter.
    pub unclip_ratio: f32,
    /// Boxes whose shorter side is below this many map pixels are dropped.
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
    /// Mean probability inside the kernel rectangle.
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
    let mut bitmap = vec![false; w * h];
    for y in 0..h {
        let row = &map.data[y * map.stride..y * map.stride + w];
        for (x, &p) in row.iter().enumerate() {
            bitmap[y * w + x] = p > params.threshold;
        }
    }
    if params.dilate {
        bitmap = dilate_2x2(&bitmap, w, h);
    }
    let mut boxes = Vec::new();
    for region in regions(&bitmap, w, h).into_iter().take(params.max_candidates) {
        let kernel = min_area_rect(&region);
        if kernel.short_side() < params.min_size {
            continue;
        }
        let score = mean_inside(map, &kernel.to_quad());
        if score < params.box_threshold {
            continue;
        }
        let perimeter = 2.0 * (kernel.width + kernel.height);
        let distance = kernel.area() * params.unclip_ratio / perimeter.max(f32::EPSILON);
        let grown = kernel.expanded(distance);
        if grown.short_side() < params.min_size + 2.0 {
            continue;
        }
        boxes.push(MapBox { rect: grown, score });
    }
    boxes
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

/// 8-connected regions of set pixels, in raster order of their first pixel.
/// Each region is given by the left-most and right-most pixel centre of each
/// of its rows: enough to determine its convex hull.
fn regions(bitmap: &[bool], w: usize, h: usize) -> Vec<Vec<Point>> {
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
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            rows.push((y, x, x));
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
        out.push(extremes);
    }
    out
}

/// Mean probability over the map pixels whose centres lie inside `quad`.
fn mean_inside(map: &ProbabilityMap<'_>, quad: &Quad) -> f32 {
    let (min, max) = quad.bounds();
    let x0 = min.x.floor().max(0.0) as usize;
    let y0 = min.y.floor().max(0.0) as usize;
    let x1 = (max.x.ceil() as usize).min(map.width - 1);
    let y1 = (max.y.ceil() as usize).min(map.height - 1);
    let (mut sum, mut count) = (0.0f64, 0usize);
    for y in y0..=y1 {
        for x in x0..=x1 {
            if quad.contains(Point::new(x as f32, y as f32)) {
                sum += map.data[y * map.stride + x] as f64;
                count += 1;
            }
        }
    }
    if count == 0 {
        0.0
    } else {
        (sum / count as f64) as f32
    }
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
        // The dilated row and column (probability 0.05) are part of the scored box.
        assert!(first.score > 0.75 && first.score < 0.9, "{first:?}");
        assert!((first.rect.center.x - 70.0).abs() < 1.0 && (first.rect.center.y - 15.0).abs() < 1.0);
    }

    #[test]
    fn weak_and_tiny_regions_are_dropped() {
        // One region below the box threshold, one speck of 2x2 pixels.
        let data = synthetic(100, 50, &[(10, 10, 60, 20, 0.35), (80, 40, 81, 41, 0.99)]);
        let map = ProbabilityMap { data: &data, stride: 100, width: 100, height: 50 };
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
