//! A [`Device`] that records what a page draws, without rendering anything.

use hayro::hayro_interpret::font::{Glyph, GlyphRun};
use hayro::hayro_interpret::hayro_syntax::object::Stream;
use hayro::hayro_interpret::pattern::Pattern;
use hayro::hayro_interpret::{
    BlendMode, ClipPath, Device, DrawMode, DrawProps, Image, ImageDrawProps, Paint, SoftMask,
};
use hayro::kurbo::{Affine, BezPath, Point, Rect, Shape};

use super::budget::{stop, Meter, Stop};

/// At most this many glyphs are kept per page (forms drawn in loops could
/// otherwise make the list unbounded); the rest are counted only.
const MAX_GLYPHS: usize = 500_000;

/// Rendered pixels that cost one unit of work: painting is charged by the
/// area it covers, since that is the rasteriser's time. A fill of a whole
/// A4 page at 300 dpi (8.7 million pixels) is 4,350 units and took about
/// 1.4 ms here, so the default budget of 5 million units bounds a page's
/// painting to about 1,150 such fills, under 2 seconds.
const PIXELS_PER_UNIT: f64 = 2_000.0;

/// One glyph as drawn, in page points with a top-left origin.
#[derive(Debug, Clone)]
pub(crate) struct GlyphBox {
    /// Its Unicode text, `None` when the font gives no mapping.
    pub(crate) text: Option<String>,
    /// Bounding box of the glyph cell (advance × [descent, ascent]).
    pub(crate) bbox: Rect,
    /// The glyph origin (on the baseline).
    pub(crate) origin: Point,
    /// Em size in points.
    pub(crate) size: f64,
    /// Drawn with a visible render mode (not `3 Tr`).
    pub(crate) visible: bool,
}

/// One image as drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DrawnImage {
    /// Maps image pixel space (top-left origin) to page points (top-left origin).
    pub(crate) transform: Affine,
    /// Pixel size from the image dictionary.
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// A plain raster image without soft mask (not a stencil mask).
    pub(crate) plain: bool,
}

/// What one page draws. Every drawing call is charged to the meter.
pub(crate) struct PageScan<'c> {
    pub(crate) meter: Meter<'c>,
    /// Largest decoded size of an inline image's data.
    pub(crate) per_stream: u64,
    /// The page (points, top-left origin), and rendered pixels per point.
    page: Rect,
    px_per_pt: f64,
    pub(crate) glyphs: Vec<GlyphBox>,
    pub(crate) dropped_glyphs: usize,
    pub(crate) images: Vec<DrawnImage>,
    pub(crate) image_count: usize,
    /// Pixel size of the largest image drawn (by the image dictionary or a JPEG header).
    pub(crate) largest_image: (u64, u64),
    /// Fills and strokes of paths (clip paths are not counted).
    pub(crate) paths: usize,
}

impl<'c> PageScan<'c> {
    /// An empty record charging `meter`, for a page of `page` points
    /// rendered at `px_per_pt` pixels per point.
    pub(crate) fn new(meter: Meter<'c>, per_stream: u64, page: Rect, px_per_pt: f64) -> Self {
        Self {
            meter,
            per_stream,
            page,
            px_per_pt,
            glyphs: Vec::new(),
            dropped_glyphs: 0,
            images: Vec::new(),
            image_count: 0,
            largest_image: (0, 0),
            paths: 0,
        }
    }

    /// Units for painting `rect` (in the space `transform` maps to page points).
    fn area_units(&self, transform: Affine, rect: Rect) -> u64 {
        let covered = transform.transform_rect_bbox(rect).intersect(self.page).area().max(0.0);
        let units = covered * self.px_per_pt * self.px_per_pt / PIXELS_PER_UNIT;
        if units.is_finite() {
            units as u64
        } else {
            0
        }
    }
}

impl<'a> Device<'a> for PageScan<'_> {
    fn draw_path(&mut self, path: &BezPath, props: DrawProps<'a>, mode: &DrawMode) {
        self.paths += 1;
        self.meter.tick(self.area_units(props.transform, path.bounding_box()));
        charge_paint(&mut self.meter, &props, mode);
    }

    fn push_clip_path(&mut self, _: &ClipPath) {
        self.meter.tick(1);
    }

    fn push_transparency_group(&mut self, _: f32, _: Option<SoftMask<'a>>, _: BlendMode) {
        self.meter.tick(1);
    }

    fn draw_glyph_run(&mut self, run: &GlyphRun<'_, 'a>, props: DrawProps<'a>, mode: &DrawMode) {
        charge_run(&mut self.meter, run, &props, mode);
        let visible = !matches!(mode, DrawMode::Invisible);
        for glyph in run.glyphs() {
            if self.glyphs.len() >= MAX_GLYPHS {
                self.dropped_glyphs += 1;
                continue;
            }
            let m = props.transform * glyph.transform();
            let advance = match &**glyph {
                Glyph::Outline(g) => g.advance_width(),
                Glyph::Type3(g) => g.advance_width(),
            }
            .filter(|a| a.is_finite() && *a > 0.0)
            .unwrap_or(500.0);
            let corners = [(0.0, -200.0), (f64::from(advance), -200.0), (0.0, 800.0), (f64::from(advance), 800.0)]
                .map(|(x, y)| m * Point::new(x, y));
            let bbox = corners.iter().skip(1).fold(Rect::from_points(corners[0], corners[0]), |r, &p| r.union_pt(p));
            let origin = m * Point::ORIGIN;
            let size = (m * Point::new(0.0, 1000.0) - origin).hypot();
            if !(bbox.is_finite() && size.is_finite()) {
                continue;
            }
            let text = glyph.as_unicode().map(|u| match u {
                hayro::hayro_interpret::hayro_cmap::BfString::Char(c) => c.to_string(),
                hayro::hayro_interpret::hayro_cmap::BfString::String(s) => s,
            });
            self.glyphs.push(GlyphBox { text, bbox, origin, size, visible });
        }
    }

    fn draw_image(&mut self, image: Image<'a, '_>, props: ImageDrawProps<'a>) {
        let unit = Rect::new(0.0, 0.0, f64::from(image.width()), f64::from(image.height()));
        self.meter.tick(1 + self.area_units(props.transform, unit));
        if let Image::Raster(raster) = &image {
            // Inline images are not objects, so the document-wide stream check missed them.
            let stream = raster.stream();
            if stream.dict().obj_id().is_none() {
                let mut total = 0;
                if super::bounds::check_stream(stream, self.per_stream, &mut total).is_err() {
                    stop(Stop::Decompression(self.per_stream));
                }
            }
        }
        self.image_count += 1;
        let mut dims = [(u64::from(image.width()), u64::from(image.height()))].to_vec();
        if let Image::Raster(raster) = &image {
            // A JPEG's own header decides what its decoder allocates.
            let stream = raster.stream();
            if stream.filters().contains(&hayro::hayro_interpret::hayro_syntax::Filter::DctDecode) {
                if let Ok(info) = crate::image::jpeg_info(&stream.raw_data()) {
                    dims.push((u64::from(info.width), u64::from(info.height)));
                }
            }
        }
        for d in dims {
            if d.0.saturating_mul(d.1) > self.largest_image.0.saturating_mul(self.largest_image.1) {
                self.largest_image = d;
            }
        }
        if self.images.len() >= 16 {
            return;
        }
        let plain = matches!(image, Image::Raster(_)) && props.soft_mask.is_none();
        self.images.push(DrawnImage {
            transform: props.transform,
            width: image.width(),
            height: image.height(),
            plain,
        });
    }

    fn pop_clip(&mut self) {}

    fn pop_transparency_group(&mut self) {}
}

/// The raw stream of the first raster image a page draws.
pub(crate) struct FirstImage<'c> {
    pub(crate) meter: Meter<'c>,
    pub(crate) found: Option<Grabbed>,
}

/// What [`FirstImage`] takes from the image.
pub(crate) enum Grabbed {
    /// The encoded bytes of a JPEG that can be passed through.
    Jpeg(Vec<u8>),
    /// Decoded pixels: (width, height, channels 1 or 3, bytes).
    Pixels(u32, u32, u8, Vec<u8>),
    /// Decoding failed.
    Failed,
}

impl<'a> Device<'a> for FirstImage<'_> {
    fn draw_path(&mut self, _: &BezPath, _: DrawProps<'a>, _: &DrawMode) {
        self.meter.tick(1);
    }
    fn push_clip_path(&mut self, _: &ClipPath) {
        self.meter.tick(1);
    }
    fn push_transparency_group(&mut self, _: f32, _: Option<SoftMask<'a>>, _: BlendMode) {}
    fn draw_glyph_run(&mut self, _: &GlyphRun<'_, 'a>, _: DrawProps<'a>, _: &DrawMode) {
        self.meter.tick(1);
    }
    fn pop_clip(&mut self) {}
    fn pop_transparency_group(&mut self) {}

    fn draw_image(&mut self, image: Image<'a, '_>, _: ImageDrawProps<'a>) {
        self.meter.tick(1);
        let Image::Raster(raster) = image else { return };
        if self.found.is_some() {
            return;
        }
        if let Some(jpeg) = passthrough_jpeg(raster.stream()) {
            self.found = Some(Grabbed::Jpeg(jpeg));
            return;
        }
        let mut grabbed = Grabbed::Failed;
        raster.with_rgba(
            |data, _alpha| {
                use hayro::hayro_interpret::ImageData;
                grabbed = match data {
                    ImageData::Rgb(d) => Grabbed::Pixels(d.width, d.height, 3, d.data),
                    ImageData::Luma(d) => Grabbed::Pixels(d.width, d.height, 1, d.data),
                };
            },
            None,
        );
        self.found = Some(grabbed);
    }
}

/// A device that only charges the meter, for content interpreted to
/// measure what the renderer would do with it.
struct Counter<'m, 'c> {
    meter: &'m mut Meter<'c>,
}

impl<'a> Device<'a> for Counter<'_, '_> {
    fn draw_path(&mut self, _: &BezPath, props: DrawProps<'a>, mode: &DrawMode) {
        charge_paint(self.meter, &props, mode);
    }
    fn push_clip_path(&mut self, _: &ClipPath) {
        self.meter.tick(1);
    }
    fn push_transparency_group(&mut self, _: f32, _: Option<SoftMask<'a>>, _: BlendMode) {
        self.meter.tick(1);
    }
    fn draw_glyph_run(&mut self, run: &GlyphRun<'_, 'a>, props: DrawProps<'a>, mode: &DrawMode) {
        charge_run(self.meter, run, &props, mode);
    }
    fn draw_image(&mut self, _: Image<'a, '_>, _: ImageDrawProps<'a>) {
        self.meter.tick(1);
    }
    fn pop_clip(&mut self) {}
    fn pop_transparency_group(&mut self) {}
}

/// Charges a fill or stroke: one unit, plus what the renderer runs to paint
/// with a tiling pattern (its cell's content, once per cell copy it draws).
fn charge_paint<'a>(meter: &mut Meter<'_>, props: &DrawProps<'a>, mode: &DrawMode) {
    meter.tick(1);
    let Paint::Pattern(pattern) = &props.paint else { return };
    let Pattern::Tiling(tiling) = &**pattern else { return };
    let copies = |extent: f64, step: f32| (extent / f64::from(step.abs()).max(1e-9)).min(1e9) + 2.0;
    let per_cell = (copies(tiling.bbox.width(), tiling.x_step) * copies(tiling.bbox.height(), tiling.y_step)) as u64;
    let before = meter.used();
    tiling.interpret(&mut Counter { meter }, props.transform, matches!(mode, DrawMode::Stroke(_)));
    let cell = meter.used() - before;
    meter.tick(cell.saturating_mul(per_cell.saturating_sub(1)));
}

/// Charges a glyph run: one unit per glyph, plus the procedures of Type 3
/// glyphs, which the renderer interprets for every glyph drawn.
fn charge_run<'a>(meter: &mut Meter<'_>, run: &GlyphRun<'_, 'a>, props: &DrawProps<'a>, _: &DrawMode) {
    meter.tick(run.glyphs().len() as u64 + 1);
    for glyph in run.glyphs() {
        if let Glyph::Type3(g) = &**glyph {
            g.interpret(&mut Counter { meter }, props.transform, glyph.transform(), &props.paint);
        }
    }
}

/// The JPEG bytes of an image stream that can be used as they are: only the
/// `DCTDecode` filter, gray or RGB (device or ICC-based), no `/Decode`, no mask.
pub(crate) fn passthrough_jpeg(stream: &Stream<'_>) -> Option<Vec<u8>> {
    use hayro::hayro_interpret::hayro_syntax::object::{dict::keys, Object};
    use hayro::hayro_interpret::hayro_syntax::Filter;
    let dict = stream.dict();
    if stream.filters().as_slice() != [Filter::DctDecode] {
        return None;
    }
    for key in [keys::DECODE, keys::SMASK, keys::MASK] {
        if dict.contains_key(key) {
            return None;
        }
    }
    let space_ok = match dict.get::<Object<'_>>(keys::COLORSPACE) {
        Some(Object::Name(n)) => n.as_ref() == b"DeviceGray" || n.as_ref() == b"DeviceRGB",
        Some(Object::Array(a)) => {
            let mut it = a.iter::<Object<'_>>();
            let is_icc = matches!(it.next(), Some(Object::Name(ref n)) if n.as_ref() == b"ICCBased");
            let n = it.next().and_then(|o| match o {
                Object::Stream(s) => s.dict().get::<i64>(keys::N),
                _ => None,
            });
            is_icc && matches!(n, Some(1 | 3))
        }
        _ => false,
    };
    if !space_ok {
        return None;
    }
    let bytes = stream.raw_data().into_owned();
    let info = crate::image::jpeg_info(&bytes).ok()?;
    let same_size = dict.get::<i64>(keys::WIDTH) == Some(i64::from(info.width))
        && dict.get::<i64>(keys::HEIGHT) == Some(i64::from(info.height));
    (same_size && matches!(info.components, 1 | 3)).then_some(bytes)
}
