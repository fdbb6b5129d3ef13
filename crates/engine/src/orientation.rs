//! Page orientation and skew: the geometry behind
//! [`RecognizeOptions::detect_orientation`](crate::RecognizeOptions::detect_orientation)
//! and [`RecognizeOptions::deskew`](crate::RecognizeOptions::deskew).
//!
//! Skew is estimated from the detector's boxes (each a minimum-area rectangle
//! around one text line, so its long edge follows the baseline): the median
//! angle of the long boxes. The page is then turned back by that angle on a
//! canvas large enough to keep every pixel, and results are mapped back to
//! the unturned page with [`Rotation::to_source`].

use image::{Rgb, RgbImage};

use crate::geometry::{Point, Quad};
use crate::imageops::sample_bilinear;
use crate::result::{Block, BoundingBox};

/// Boxes at least this many times longer than tall vote on the skew angle
/// (short boxes give poor angles).
const SKEW_MIN_ASPECT: f32 = 3.0;
/// At least this many boxes must vote for a skew estimate.
const SKEW_MIN_VOTES: usize = 3;

/// Angle of the text on a page in degrees, positive when lines run down to
/// the right (the page was turned clockwise): the median angle of the top
/// edges of `quads` that are at least three times longer than tall. `None`
/// with fewer than three such boxes.
pub fn estimate_skew(quads: &[Quad]) -> Option<f32> {
    let mut angles: Vec<f32> = quads
        .iter()
        .filter(|q| q.width() >= SKEW_MIN_ASPECT * q.height())
        .map(|q| {
            let [tl, tr, ..] = q.0;
            (tr.y - tl.y).atan2(tr.x - tl.x).to_degrees()
        })
        // Boxes of vertical text in a horizontal page are not baselines.
        .filter(|a| a.abs() < 45.0)
        .collect();
    if angles.len() < SKEW_MIN_VOTES {
        return None;
    }
    angles.sort_by(f32::total_cmp);
    let n = angles.len();
    Some(if n % 2 == 1 { angles[n / 2] } else { (angles[n / 2 - 1] + angles[n / 2]) / 2.0 })
}

/// A rotation of an image about its centre onto a canvas of another size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rotation {
    /// Clockwise angle (degrees) the source was turned by.
    pub degrees: f32,
    cos: f32,
    sin: f32,
    source_centre: Point,
    target_centre: Point,
}

impl Rotation {
    /// Position in the source image of a point of the rotated image.
    pub fn to_source(&self, p: Point) -> Point {
        let (dx, dy) = (p.x - self.target_centre.x, p.y - self.target_centre.y);
        // Inverse of the clockwise (y down) turn: rotate by -degrees.
        Point::new(
            self.source_centre.x + dx * self.cos + dy * self.sin,
            self.source_centre.y - dx * self.sin + dy * self.cos,
        )
    }
}

/// Turns `image` clockwise by `degrees` (y axis down, so on screen the
/// content turns clockwise) about its centre, onto a canvas just large
/// enough to hold the whole turned image. Pixels the source does not cover
/// take `fill`. Bilinear sampling.
pub fn rotate_about_centre(image: &RgbImage, degrees: f32, fill: Rgb<u8>) -> (RgbImage, Rotation) {
    let (w, h) = (image.width() as f32, image.height() as f32);
    let (sin, cos) = degrees.to_radians().sin_cos();
    let new_w = (w * cos.abs() + h * sin.abs() - 1e-3).ceil().max(1.0) as u32;
    let new_h = (w * sin.abs() + h * cos.abs() - 1e-3).ceil().max(1.0) as u32;
    let rotation = Rotation {
        degrees,
        cos,
        sin,
        source_centre: Point::new(w / 2.0, h / 2.0),
        target_centre: Point::new(new_w as f32 / 2.0, new_h as f32 / 2.0),
    };
    let mut out = RgbImage::from_pixel(new_w, new_h, fill);
    for y in 0..new_h {
        for x in 0..new_w {
            // Pixel centres: (x + 0.5, y + 0.5) in both images.
            let p = rotation.to_source(Point::new(x as f32 + 0.5, y as f32 + 0.5));
            let (sx, sy) = (p.x - 0.5, p.y - 0.5);
            if sx < -0.5 || sy < -0.5 || sx > w - 0.5 || sy > h - 0.5 {
                continue;
            }
            let v = sample_bilinear(image, sx, sy);
            out.put_pixel(x, y, Rgb(v.map(|c| c.round().clamp(0.0, 255.0) as u8)));
        }
    }
    (out, rotation)
}

/// Mean colour of the outermost pixels of `image`: the fill for a deskewed
/// page, so the new corners look like the page's margin.
pub fn border_colour(image: &RgbImage) -> Rgb<u8> {
    let (w, h) = (image.width(), image.height());
    if w == 0 || h == 0 {
        return Rgb([255, 255, 255]);
    }
    let mut sum = [0u64; 3];
    let mut n = 0u64;
    let mut add = |x: u32, y: u32| {
        let Rgb(v) = *image.get_pixel(x, y);
        (0..3).for_each(|i| sum[i] += v[i] as u64);
        n += 1;
    };
    for x in 0..w {
        add(x, 0);
        add(x, h - 1);
    }
    for y in 0..h {
        add(0, y);
        add(w - 1, y);
    }
    Rgb(sum.map(|s| (s / n.max(1)) as u8))
}

/// `quad` after the page (`width` x `height` pixels) is turned by 180
/// degrees, corners still in reading order (top-left first).
pub fn turn_quad_180(quad: &Quad, width: u32, height: u32) -> Quad {
    let f = |p: Point| Point::new(width as f32 - 1.0 - p.x, height as f32 - 1.0 - p.y);
    let [tl, tr, br, bl] = quad.0;
    Quad([f(br), f(bl), f(tl), f(tr)])
}

/// Maps every word's quad through `f` and recomputes the word, line and
/// block boxes.
pub fn map_blocks(blocks: &mut [Block], f: impl Fn(Point) -> Point) {
    for block in blocks.iter_mut() {
        for line in block.lines.iter_mut() {
            for word in line.words.iter_mut() {
                word.quad = Quad(word.quad.0.map(&f));
                word.bbox = BoundingBox::from_quad(&word.quad);
            }
            line.bbox = BoundingBox::union(line.words.iter().map(|w| &w.bbox));
        }
        block.bbox = BoundingBox::union(block.lines.iter().map(|l| &l.bbox));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(x: f32, y: f32, len: f32, degrees: f32) -> Quad {
        let (s, c) = degrees.to_radians().sin_cos();
        let tl = Point::new(x, y);
        let tr = Point::new(x + len * c, y + len * s);
        let br = Point::new(tr.x - 20.0 * s, tr.y + 20.0 * c);
        let bl = Point::new(x - 20.0 * s, y + 20.0 * c);
        Quad([tl, tr, br, bl])
    }

    #[test]
    fn skew_is_the_median_angle_of_long_boxes() {
        let quads = vec![
            line(0.0, 0.0, 300.0, 3.0),
            line(0.0, 50.0, 300.0, 2.8),
            line(0.0, 100.0, 300.0, 3.2),
            line(0.0, 150.0, 30.0, 40.0), // short: ignored
        ];
        let a = estimate_skew(&quads).unwrap();
        assert!((a - 3.0).abs() < 1e-3, "{a}");
        assert_eq!(estimate_skew(&quads[..2]), None);
    }

    #[test]
    fn rotation_round_trips_and_keeps_the_whole_page() {
        let img = RgbImage::from_fn(200, 100, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 0]));
        let (out, rot) = rotate_about_centre(&img, 3.0, Rgb([255, 255, 255]));
        assert!(out.width() > 200 && out.height() > 100);
        // The centre maps to the centre, and a point 3° off maps back onto the x axis.
        let c = rot.to_source(Point::new(out.width() as f32 / 2.0, out.height() as f32 / 2.0));
        assert!((c.x - 100.0).abs() < 1e-3 && (c.y - 50.0).abs() < 1e-3);
        let (s, co) = 3f32.to_radians().sin_cos();
        let p = rot.to_source(Point::new(out.width() as f32 / 2.0 + 50.0 * co, out.height() as f32 / 2.0 + 50.0 * s));
        assert!((p.x - 150.0).abs() < 1e-3 && (p.y - 50.0).abs() < 1e-3, "{p:?}");
        // A quarter turn is exact on pixel centres.
        let (q, _) = rotate_about_centre(&img, 90.0, Rgb([255, 255, 255]));
        assert_eq!((q.width(), q.height()), (100, 200));
        assert_eq!(q.get_pixel(99, 0), img.get_pixel(0, 0));
    }

    #[test]
    fn half_turn_keeps_reading_order() {
        let q = line(10.0, 20.0, 100.0, 0.0);
        let t = turn_quad_180(&q, 200, 100);
        assert_eq!(t.0[0], Point::new(89.0, 59.0));
        assert_eq!(t.0[1], Point::new(189.0, 59.0));
    }
}
