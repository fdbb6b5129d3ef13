//! Pixel operations the pipeline needs: fast resizing and conversion of RGB
//! pixels into normalised model input tensors.

use image::{Rgb, RgbImage};

/// Resizes `src` to `width` x `height`.
///
/// Large reductions first average `k x k` blocks (k = the integer part of the
/// reduction factor), so every source pixel contributes and no aliasing
/// appears; the remaining factor (below 2) is bilinear.
pub fn resize(src: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (width, height) = (width.max(1), height.max(1));
    if (src.width(), src.height()) == (width, height) {
        return src.clone();
    }
    let k = (src.width() / width).min(src.height() / height);
    if k >= 2 {
        let reduced = box_downsample(src, k);
        return bilinear(&reduced, width, height);
    }
    bilinear(src, width, height)
}

/// Averages non-overlapping `k x k` blocks (the right and bottom remainders are dropped).
pub fn box_downsample(src: &RgbImage, k: u32) -> RgbImage {
    let (w, h) = (src.width() / k, src.height() / k);
    let sw = src.width() as usize;
    let raw = src.as_raw();
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    let mut sums = vec![0u32; w as usize * 3];
    let area = k * k;
    for oy in 0..h as usize {
        sums.iter_mut().for_each(|s| *s = 0);
        for sy in oy * k as usize..(oy + 1) * k as usize {
            let row = &raw[sy * sw * 3..(sy * sw + w as usize * k as usize) * 3];
            for (ox, block) in row.chunks_exact(k as usize * 3).enumerate() {
                for px in block.chunks_exact(3) {
                    sums[ox * 3] += px[0] as u32;
                    sums[ox * 3 + 1] += px[1] as u32;
                    sums[ox * 3 + 2] += px[2] as u32;
                }
            }
        }
        out.extend(sums.iter().map(|s| ((s + area / 2) / area) as u8));
    }
    RgbImage::from_raw(w, h, out).expect("buffer sized from dimensions")
}

/// Bilinear resize with pixel-centre alignment (as OpenCV's `INTER_LINEAR`).
pub fn bilinear(src: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (sw, sh) = (src.width() as usize, src.height() as usize);
    let sx = sw as f32 / width as f32;
    let sy = sh as f32 / height as f32;
    let taps = |dst: u32, scale: f32, len: usize| -> Vec<(usize, usize, f32)> {
        (0..dst)
            .map(|d| {
                let s = ((d as f32 + 0.5) * scale - 0.5).clamp(0.0, (len - 1) as f32);
                let i0 = s.floor() as usize;
                let i1 = (i0 + 1).min(len - 1);
                (i0, i1, s - i0 as f32)
            })
            .collect()
    };
    let xt = taps(width, sx, sw);
    let yt = taps(height, sy, sh);
    let raw = src.as_raw();
    let mut out = Vec::with_capacity(width as usize * height as usize * 3);
    let mut row0 = vec![0f32; width as usize * 3];
    let mut row1 = vec![0f32; width as usize * 3];
    let hinterp = |y: usize, dst: &mut [f32]| {
        let line = &raw[y * sw * 3..(y + 1) * sw * 3];
        for (x, &(i0, i1, f)) in xt.iter().enumerate() {
            for c in 0..3 {
                let a = line[i0 * 3 + c] as f32;
                let b = line[i1 * 3 + c] as f32;
                dst[x * 3 + c] = a + (b - a) * f;
            }
        }
    };
    let mut cached = (usize::MAX, usize::MAX);
    for &(y0, y1, f) in &yt {
        if cached != (y0, y1) {
            if cached.1 == y0 {
                std::mem::swap(&mut row0, &mut row1);
            } else {
                hinterp(y0, &mut row0);
            }
            hinterp(y1, &mut row1);
            cached = (y0, y1);
        }
        out.extend(row0.iter().zip(&row1).map(|(a, b)| (a + (b - a) * f).round().clamp(0.0, 255.0) as u8));
    }
    RgbImage::from_raw(width, height, out).expect("buffer sized from dimensions")
}

/// Samples `src` at a real-valued position with bilinear interpolation;
/// positions outside the image take the nearest edge pixel.
#[inline]
pub fn sample_bilinear(src: &RgbImage, x: f32, y: f32) -> [f32; 3] {
    let (w, h) = (src.width() as i64, src.height() as i64);
    let xf = x.floor();
    let yf = y.floor();
    let (fx, fy) = (x - xf, y - yf);
    let x0 = (xf as i64).clamp(0, w - 1) as u32;
    let x1 = (xf as i64 + 1).clamp(0, w - 1) as u32;
    let y0 = (yf as i64).clamp(0, h - 1) as u32;
    let y1 = (yf as i64 + 1).clamp(0, h - 1) as u32;
    let p = |x, y| -> [f32; 3] {
        let Rgb(v) = *src.get_pixel(x, y);
        [v[0] as f32, v[1] as f32, v[2] as f32]
    };
    let (a, b, c, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
    let mut out = [0f32; 3];
    for i in 0..3 {
        let top = a[i] + (b[i] - a[i]) * fx;
        let bottom = c[i] + (d[i] - c[i]) * fx;
        out[i] = top + (bottom - top) * fy;
    }
    out
}

/// Writes `image` into a CHW tensor slice of shape `3 x tensor_h x tensor_w`
/// (BGR channel order, as the PP-OCR models were trained with OpenCV), each
/// value `(v / 255 - 0.5) / 0.5` in `[-1, 1]`. The image is placed at the
/// top-left; the rest of the slice keeps its contents (the padding value).
pub fn write_bgr_normalised(image: &RgbImage, tensor: &mut [f32], tensor_w: usize, tensor_h: usize) {
    let plane = tensor_w * tensor_h;
    let (w, h) = (image.width() as usize, image.height() as usize);
    for (y, row) in image.as_raw().chunks_exact(w * 3).take(h.min(tensor_h)).enumerate() {
        for (x, px) in row.chunks_exact(3).take(w.min(tensor_w)).enumerate() {
            let i = y * tensor_w + x;
            tensor[i] = px[2] as f32 / 127.5 - 1.0;
            tensor[plane + i] = px[1] as f32 / 127.5 - 1.0;
            tensor[2 * plane + i] = px[0] as f32 / 127.5 - 1.0;
        }
    }
}

/// `page` turned clockwise by `degrees` (0, 90, 180 or 270; anything else
/// is taken modulo 360 and rounded down to a quarter turn).
pub fn rotate_clockwise(page: &RgbImage, degrees: u16) -> RgbImage {
    match (degrees % 360) / 90 {
        1 => image::imageops::rotate90(page),
        2 => image::imageops::rotate180(page),
        3 => image::imageops::rotate270(page),
        _ => page.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_keeps_flat_colour_and_size() {
        let img = RgbImage::from_pixel(101, 57, Rgb([10, 200, 30]));
        for (w, h) in [(50, 28), (300, 171), (13, 7), (101, 57)] {
            let r = resize(&img, w, h);
            assert_eq!((r.width(), r.height()), (w, h));
            assert!(r.pixels().all(|p| p.0 == [10, 200, 30]));
        }
    }

    #[test]
    fn box_downsample_averages_blocks() {
        let img = RgbImage::from_fn(4, 2, |x, _| if x % 2 == 0 { Rgb([0, 0, 0]) } else { Rgb([200, 100, 50]) });
        let r = box_downsample(&img, 2);
        assert_eq!((r.width(), r.height()), (2, 1));
        assert_eq!(r.get_pixel(0, 0).0, [100, 50, 25]);
    }

    #[test]
    fn normalised_tensor_is_bgr_in_unit_range() {
        let img = RgbImage::from_pixel(2, 1, Rgb([255, 0, 127]));
        let mut t = vec![9.0; 3 * 2 * 3];
        write_bgr_normalised(&img, &mut t, 3, 2);
        assert!((t[0] - (127.0 / 127.5 - 1.0)).abs() < 1e-6); // B plane
        assert_eq!(t[6], -1.0); // G plane
        assert_eq!(t[12], 1.0); // R plane
        assert_eq!(t[2], 9.0); // padding untouched
    }
}
