//! Cropping text regions out of a page for the recogniser and classifier:
//! each quadrilateral is resampled (perspective-correct) into an upright
//! strip of a fixed height.

use image::{Rgb, RgbImage};

use crate::geometry::{Homography, Point, Quad};
use crate::imageops::sample_bilinear;

/// A text region resampled upright, with the transform back to the page.
#[derive(Debug, Clone)]
pub struct LineCrop {
    /// The upright strip, `height` rows tall.
    pub image: RgbImage,
    /// The page region the strip was taken from (corner order follows the
    /// strip: its first corner is the strip's top-left).
    pub quad: Quad,
    /// Maps strip coordinates `(x, y)` (pixels, origin top-left) to page coordinates.
    pub to_page: Homography,
}

impl LineCrop {
    /// Page coordinates of the strip region between columns `x0` and `x1`.
    pub fn page_quad(&self, x0: f32, x1: f32) -> Quad {
        let h = self.image.height() as f32;
        Quad([
            self.to_page.apply(x0, 0.0),
            self.to_page.apply(x1, 0.0),
            self.to_page.apply(x1, h),
            self.to_page.apply(x0, h),
        ])
    }

    /// The same region turned by 180 degrees (for upside-down lines).
    pub fn rotated_180(&self, page: &RgbImage, max_width: u32) -> Option<LineCrop> {
        let [tl, tr, br, bl] = self.quad.0;
        crop_quad(page, Quad([br, bl, tl, tr]), self.image.height(), max_width)
    }
}

/// Resamples `quad` from `page` into an upright strip `height` pixels tall
/// whose width keeps the region's aspect ratio (at most `max_width`).
/// Regions at least 1.5 times taller than wide are read as vertical text and
/// turned a quarter counter-clockwise first. `None` for degenerate regions.
pub fn crop_line(page: &RgbImage, quad: &Quad, height: u32, max_width: u32) -> Option<LineCrop> {
    let [tl, tr, br, bl] = quad.0;
    let oriented = if quad.height() >= 1.5 * quad.width() { Quad([tr, br, bl, tl]) } else { *quad };
    crop_quad(page, oriented, height, max_width)
}

fn crop_quad(page: &RgbImage, quad: Quad, height: u32, max_width: u32) -> Option<LineCrop> {
    let (w, h) = (quad.width(), quad.height());
    if !(w >= 1.0 && h >= 1.0) {
        return None;
    }
    let width = ((height as f32 * w / h).ceil() as u32).clamp(1, max_width.max(1));
    let to_page = Homography::rect_to_quad(width as f32, height as f32, &quad)?;
    let mut image = RgbImage::new(width, height);
    for y in 0..height {
        for x in 0..width {
            let Point { x: px, y: py } = to_page.apply(x as f32 + 0.5, y as f32 + 0.5);
            let v = sample_bilinear(page, px, py);
            image.put_pixel(x, y, Rgb(v.map(|c| c.round().clamp(0.0, 255.0) as u8)));
        }
    }
    Some(LineCrop { image, quad, to_page })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_aligned_crop_keeps_aspect_and_maps_back() {
        let page = RgbImage::from_fn(200, 100, |x, _| Rgb([(x % 256) as u8, 0, 0]));
        let quad =
            Quad([Point::new(20.0, 10.0), Point::new(120.0, 10.0), Point::new(120.0, 30.0), Point::new(20.0, 30.0)]);
        let crop = crop_line(&page, &quad, 48, 1000).unwrap();
        assert_eq!((crop.image.width(), crop.image.height()), (240, 48));
        // Left edge of the strip samples near x = 20, right edge near x = 120.
        assert!((crop.image.get_pixel(0, 10).0[0] as i32 - 20).abs() <= 1);
        assert!((crop.image.get_pixel(239, 10).0[0] as i32 - 120).abs() <= 1);
        let back = crop.page_quad(0.0, 240.0);
        assert!(back.0[0].distance(quad.0[0]) < 1e-3 && back.0[2].distance(quad.0[2]) < 1e-3);
    }

    #[test]
    fn tall_regions_are_turned() {
        let page = RgbImage::from_pixel(100, 300, Rgb([255, 255, 255]));
        let quad =
            Quad([Point::new(10.0, 10.0), Point::new(40.0, 10.0), Point::new(40.0, 210.0), Point::new(10.0, 210.0)]);
        let crop = crop_line(&page, &quad, 48, 1000).unwrap();
        assert!(crop.image.width() > crop.image.height());
    }
}
