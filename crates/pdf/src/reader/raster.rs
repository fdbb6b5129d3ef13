//! Rasterising a page with hayro.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};

use hayro::hayro_interpret::hayro_syntax::page::Page;
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::{render, PixmapSettings, RenderCache, RenderSettings};

use super::{check_pixels, InputPage, PdfReader};
use crate::PdfError;

/// Renders the page at the reader's dpi to RGB on white, after charging its
/// pixels to the document's budget.
pub(super) fn render_page(
    reader: &PdfReader,
    page: &Page<'_>,
    number: usize,
    cancel: &AtomicBool,
) -> Result<InputPage, PdfError> {
    let (limits, settings) = (&reader.limits, &reader.settings);
    if cancel.load(Ordering::Relaxed) {
        return Err(PdfError::Cancelled);
    }
    let (w_pt, h_pt) = page.render_dimensions();
    let scale = limits.dpi / 72.0;
    // hayro sizes the pixmap as `(points × scale) as u16`.
    let (w, h) = ((w_pt * scale) as u64, (h_pt * scale) as u64);
    check_pixels(number, w, h, limits)?;
    if w == 0 || h == 0 || w > u64::from(u16::MAX) || h > u64::from(u16::MAX) {
        return Err(PdfError::PageTooLarge { page: number, width: w, height: h, max: limits.max_pixels_per_page });
    }
    reader.charge_pixels(number, w, h)?;
    let pixmap = catch_unwind(AssertUnwindSafe(|| {
        let cache = RenderCache::new();
        render(
            page,
            &cache,
            settings,
            &RenderSettings::default(),
            &PixmapSettings { x_scale: scale, y_scale: scale, bg_color: WHITE },
        )
    }))
    .map_err(|_| PdfError::Render { page: number, reason: "the renderer panicked".into() })?;
    let (width, height) = (u32::from(pixmap.width()), u32::from(pixmap.height()));
    // The background is opaque white, so premultiplied RGBA is plain RGBA.
    let rgba = pixmap.data_as_u8_slice();
    let mut pixels = Vec::with_capacity(rgba.len() / 4 * 3);
    for px in rgba.chunks_exact(4) {
        pixels.extend_from_slice(&px[..3]);
    }
    Ok(InputPage::Raster { width, height, pixels, dpi: limits.dpi })
}
