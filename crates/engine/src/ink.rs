//! Ink and paper in an upright line crop: a pixel is ink when it is darker
//! than the midpoint between the crop's dark and light levels (its 5th and
//! 95th grey-level percentiles), provided the two differ enough to tell.
//!
//! Word splitting asks which columns hold no ink ([`InkMap::blank_columns`]);
//! [`ink_spans`] places each recognised character on its own ink; the mark
//! rules ask how high a glyph's ink reaches ([`InkMap::rows_with_ink`]).

use image::RgbImage;

use crate::recognition::RecognizedChar;

/// Dark and light levels closer than this (grey levels) leave no usable contrast.
const MIN_CONTRAST: u8 = 40;

/// The crop's grey levels and its ink threshold.
#[derive(Debug, Clone)]
pub struct InkMap {
    width: usize,
    height: usize,
    luma: Vec<u8>,
    /// Grey levels at or below this are ink; `None` without usable contrast.
    threshold: Option<u8>,
}

impl InkMap {
    /// Measures the crop's dark and light levels.
    pub fn new(crop: &RgbImage) -> Self {
        let (width, height) = (crop.width() as usize, crop.height() as usize);
        let luma: Vec<u8> = crop
            .pixels()
            .map(|p| ((p.0[0] as u32 * 77 + p.0[1] as u32 * 150 + p.0[2] as u32 * 29) >> 8) as u8)
            .collect();
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
        let threshold = (light.saturating_sub(dark) >= MIN_CONTRAST).then(|| ((dark as u32 + light as u32) / 2) as u8);
        Self { width, height, luma, threshold }
    }

    /// Whether ink can be told from paper at all.
    pub fn has_contrast(&self) -> bool {
        self.threshold.is_some()
    }

    /// Crop height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    fn is_ink(&self, x: usize, y: usize) -> bool {
        self.threshold.is_some_and(|t| self.luma[y * self.width + x] <= t)
    }

    /// For each column, whether it holds no ink in the middle rows (15% to
    /// 85% of the height: the crop's edges may catch the neighbouring lines).
    /// All `false` without usable contrast, so nothing looks blank.
    pub fn blank_columns(&self) -> Vec<bool> {
        if !self.has_contrast() {
            return vec![false; self.width];
        }
        let (top, bottom) = (self.height * 15 / 100, self.height * 85 / 100);
        (0..self.width).map(|x| (top..bottom).all(|y| !self.is_ink(x, y))).collect()
    }

    /// For each row, whether any of the columns `columns` (clamped to the
    /// crop) holds ink there.
    pub fn rows_with_ink(&self, columns: std::ops::Range<usize>) -> Vec<bool> {
        let columns = columns.start.min(self.width)..columns.end.min(self.width);
        (0..self.height).map(|y| columns.clone().any(|x| self.is_ink(x, y))).collect()
    }
}

/// For each column of `crop`, whether it holds no ink (see [`InkMap::blank_columns`]).
pub fn blank_columns(crop: &RgbImage) -> Vec<bool> {
    InkMap::new(crop).blank_columns()
}

/// A character's ink columns, `first..end` in crop pixels (`None`: no ink found).
pub(crate) type InkSpan = Option<(usize, usize)>;

/// The columns of each character's ink, `first..end` in crop pixels: the
/// ink runs (maximal runs of non-blank columns) whose middles fall between
/// the midpoints to its neighbours' CTC positions. CTC positions come in
/// whole time steps (8 crop pixels); the ink is exact to the pixel. `None`
/// where no ink is found (a glyph too faint, or no contrast at all).
pub(crate) fn ink_spans(chars: &[RecognizedChar], blank: &[bool]) -> Vec<InkSpan> {
    let ctc: Vec<f32> = chars.iter().map(|c| (c.x0 + c.x1) / 2.0).collect();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for (x, &b) in blank.iter().chain(std::iter::once(&true)).enumerate() {
        match (b, start) {
            (false, None) => start = Some(x),
            (true, Some(s)) => {
                runs.push((s, x));
                start = None;
            }
            _ => {}
        }
    }
    (0..chars.len())
        .map(|k| {
            let lo = if k == 0 { f32::NEG_INFINITY } else { (ctc[k - 1] + ctc[k]) / 2.0 };
            let hi = ctc.get(k + 1).map_or(f32::INFINITY, |&n| (ctc[k] + n) / 2.0);
            let mine = runs.iter().filter(|(a, b)| {
                let mid = (*a + *b) as f32 / 2.0;
                mid >= lo && mid < hi
            });
            let (first, end) = mine.fold((usize::MAX, 0), |(f, e), &(a, b)| (f.min(a), e.max(b)));
            (first != usize::MAX).then_some((first, end))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_columns_found_from_ink() {
        let img =
            RgbImage::from_fn(
                20,
                10,
                |x, _| if (5..8).contains(&x) { image::Rgb([0, 0, 0]) } else { image::Rgb([250; 3]) },
            );
        let blank = blank_columns(&img);
        assert!(blank[0] && !blank[6] && blank[19]);
        let flat = RgbImage::from_pixel(20, 10, image::Rgb([200, 200, 200]));
        assert!(blank_columns(&flat).iter().all(|&b| !b));
    }

    #[test]
    fn rows_with_ink_only_in_the_given_columns() {
        // A dot at rows 7..9 in columns 2..4, a bar at rows 1..4 in columns 8..11
        // (together over 5% of the pixels, so the crop has a dark level).
        let img = RgbImage::from_fn(12, 10, |x, y| {
            let dot = (2..4).contains(&x) && (7..9).contains(&y);
            let bar = (8..11).contains(&x) && (1..4).contains(&y);
            if dot || bar {
                image::Rgb([0, 0, 0])
            } else {
                image::Rgb([250; 3])
            }
        });
        let ink = InkMap::new(&img);
        let rows: Vec<usize> = ink.rows_with_ink(0..6).iter().enumerate().filter(|r| *r.1).map(|r| r.0).collect();
        assert_eq!(rows, vec![7, 8]);
        assert!(ink.rows_with_ink(20..30).iter().all(|&r| !r));
    }
}
