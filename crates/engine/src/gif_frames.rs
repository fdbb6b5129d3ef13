//! GIF frames as pages, composited cheaply.
//!
//! Each frame becomes a page the size of the GIF's canvas, as a viewer shows
//! it: the frame drawn over what earlier frames left (per their disposal
//! method), on white. Frames are decoded as palette indices (one byte per
//! pixel of the frame only) and drawn onto a single RGB canvas that is
//! reused from frame to frame, so a 6000 × 6000 canvas of 1 × 1 frames costs
//! one 108 MB canvas, not a full-canvas RGBA buffer or two per frame. Every
//! frame's canvas pixels are charged to the input's pixel budget before it
//! is drawn, and the whole animation's (frames × canvas) before the first
//! frame is decoded, so an animation over budget is refused before any work.

use std::borrow::Cow;
use std::io::Cursor;
use std::num::NonZeroU64;

use gif::{ColorOutput, DecodeOptions, DisposalMethod, MemoryLimit};
use image::{Rgb, RgbImage};

use crate::decode::{check_size, count_gif_frames, decode_error, Budget};
use crate::{EngineError, Result};

const WHITE: Rgb<u8> = Rgb([255, 255, 255]);

/// Decodes every frame, calling `read` with each composited page.
pub(crate) fn decode_gif(
    bytes: &[u8],
    budget: &mut Budget<'_>,
    read: &mut dyn FnMut(usize, Cow<'_, RgbImage>) -> Result<()>,
) -> Result<usize> {
    let limits = budget.limits;
    let mut options = DecodeOptions::new();
    options.set_color_output(ColorOutput::Indexed);
    // Indexed frames take one byte per pixel; no frame may exceed a page's pixels.
    options.set_memory_limit(MemoryLimit::Bytes(
        NonZeroU64::new(limits.max_pixels.saturating_add(1 << 20)).unwrap_or(NonZeroU64::MIN),
    ));
    let mut decoder = options.read_info(Cursor::new(bytes)).map_err(decode_error)?;
    let (width, height) = (u32::from(decoder.width()), u32::from(decoder.height()));
    check_size(width, height, limits)?;
    let frames = count_gif_frames(bytes)?;
    if frames > limits.max_pages {
        return Err(EngineError::TooManyPages { limit: limits.max_pages });
    }
    if (frames as u64).saturating_mul(u64::from(width) * u64::from(height)) > budget.total {
        return Err(EngineError::TotalPixels { limit: budget.total });
    }
    let global = decoder.global_palette().map(<[u8]>::to_vec);
    let mut canvas: Option<RgbImage> = None;
    let mut indices = Vec::new();
    let mut index = 0;
    while let Some(info) = decoder.next_frame_info().map_err(decode_error)? {
        if index == limits.max_pages {
            return Err(EngineError::TooManyPages { limit: limits.max_pages });
        }
        let rect = Rect {
            left: u32::from(info.left),
            top: u32::from(info.top),
            width: u32::from(info.width),
            height: u32::from(info.height),
        };
        let (dispose, transparent) = (info.dispose, info.transparent);
        let palette = info.palette.clone().or_else(|| global.clone()).unwrap_or_else(gray_palette);
        budget.charge(width, height)?;
        indices.resize(decoder.buffer_size(), 0);
        decoder.read_into_buffer(&mut indices).map_err(decode_error)?;
        let page = canvas.get_or_insert_with(|| RgbImage::from_pixel(width, height, WHITE));
        let saved = (dispose == DisposalMethod::Previous).then(|| copy(page, &rect));
        draw(page, &rect, &indices, &palette, transparent);
        read(index, Cow::Borrowed(page))?;
        match (dispose, saved) {
            (DisposalMethod::Background, _) => fill(page, &rect),
            (DisposalMethod::Previous, Some(saved)) => paste(page, &rect, &saved),
            _ => {}
        }
        index += 1;
    }
    if index == 0 {
        return Err(EngineError::Decode("the GIF has no frames".into()));
    }
    Ok(index)
}

/// A frame's place on the canvas (it may reach past the canvas's edges).
struct Rect {
    left: u32,
    top: u32,
    width: u32,
    height: u32,
}

impl Rect {
    /// Calls `f(frame x, frame y, canvas x, canvas y)` for each of the
    /// frame's pixels that falls on a canvas of `size`.
    fn each(&self, size: (u32, u32), mut f: impl FnMut(u32, u32, u32, u32)) {
        let w = self.width.min(size.0.saturating_sub(self.left));
        let h = self.height.min(size.1.saturating_sub(self.top));
        for y in 0..h {
            for x in 0..w {
                f(x, y, self.left + x, self.top + y);
            }
        }
    }
}

fn gray_palette() -> Vec<u8> {
    (0..=255u8).flat_map(|v| [v, v, v]).collect()
}

fn draw(canvas: &mut RgbImage, rect: &Rect, indices: &[u8], palette: &[u8], transparent: Option<u8>) {
    let size = canvas.dimensions();
    rect.each(size, |x, y, cx, cy| {
        let Some(&i) = indices.get((y * rect.width + x) as usize) else { return };
        let at = usize::from(i) * 3;
        if Some(i) != transparent {
            if let Some(rgb) = palette.get(at..at + 3) {
                canvas.put_pixel(cx, cy, Rgb([rgb[0], rgb[1], rgb[2]]));
            }
        }
    });
}

fn fill(canvas: &mut RgbImage, rect: &Rect) {
    let size = canvas.dimensions();
    rect.each(size, |_, _, cx, cy| canvas.put_pixel(cx, cy, WHITE));
}

fn copy(canvas: &RgbImage, rect: &Rect) -> Vec<Rgb<u8>> {
    let mut saved = Vec::new();
    rect.each(canvas.dimensions(), |_, _, cx, cy| saved.push(*canvas.get_pixel(cx, cy)));
    saved
}

fn paste(canvas: &mut RgbImage, rect: &Rect, saved: &[Rgb<u8>]) {
    let size = canvas.dimensions();
    let mut pixels = saved.iter();
    rect.each(size, |_, _, cx, cy| {
        if let Some(&px) = pixels.next() {
            canvas.put_pixel(cx, cy, px);
        }
    });
}
