//! Text rendered at test time (no committed images): fonts from Debian
//! packages (`fonts-dejavu-core`, `fonts-noto-cjk`), looked up under
//! `$OCR_TEST_FONT_DIR` if set, else the usual font folders; a missing font
//! fails the test naming the package to install.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use image::{Rgb, RgbImage};

/// A font file, the Debian package that ships it, and the face to use in a collection.
#[derive(Clone, Copy)]
pub struct FontSpec {
    /// File name, searched for under the font folders.
    pub file: &'static str,
    /// Debian package that installs it.
    pub package: &'static str,
    /// Face index within a collection (`.ttc`).
    pub index: u32,
}

/// DejaVu Sans: Latin, Greek, Cyrillic, Arabic.
pub const DEJAVU: FontSpec = FontSpec { file: "DejaVuSans.ttf", package: "fonts-dejavu-core", index: 0 };
/// DejaVu Sans Bold, for headings.
pub const DEJAVU_BOLD: FontSpec = FontSpec { file: "DejaVuSans-Bold.ttf", ..DEJAVU };
// Faces of NotoSansCJK-Regular.ttc (`fc-query`): 0 JP, 1 KR, 2 SC, 3 TC.
/// Noto Sans CJK, Japanese face.
pub const NOTO_JP: FontSpec = FontSpec { file: "NotoSansCJK-Regular.ttc", package: "fonts-noto-cjk", index: 0 };
/// Noto Sans CJK, Korean face.
pub const NOTO_KR: FontSpec = FontSpec { index: 1, ..NOTO_JP };
/// Noto Sans CJK, Simplified Chinese face.
pub const NOTO_SC: FontSpec = FontSpec { index: 2, ..NOTO_JP };
/// Noto Sans CJK, Traditional Chinese face.
pub const NOTO_TC: FontSpec = FontSpec { index: 3, ..NOTO_JP };

/// Folders searched for fonts: `$OCR_TEST_FONT_DIR` alone when set.
fn font_dirs() -> Vec<PathBuf> {
    if let Some(dir) = std::env::var_os("OCR_TEST_FONT_DIR") {
        return vec![PathBuf::from(dir)];
    }
    let mut dirs = vec![PathBuf::from("/usr/share/fonts"), PathBuf::from("/usr/local/share/fonts")];
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".local/share/fonts"));
        dirs.push(Path::new(&home).join(".fonts"));
    }
    dirs
}

fn find_file(dir: &Path, name: &str, depth: usize) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut subdirs = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            subdirs.push(path);
        } else if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
    }
    if depth == 0 {
        return None;
    }
    subdirs.sort();
    subdirs.iter().find_map(|d| find_file(d, name, depth - 1))
}

/// The bytes of a font file; panics naming the package to install.
pub fn font_bytes(spec: FontSpec) -> &'static [u8] {
    /// File name and contents of each font read so far.
    type Loaded = (&'static str, &'static [u8]);
    static CACHE: Mutex<Vec<Loaded>> = Mutex::new(Vec::new());
    let mut cache = CACHE.lock().expect("font cache");
    if let Some((_, bytes)) = cache.iter().find(|(f, _)| *f == spec.file) {
        return bytes;
    }
    let dirs = font_dirs();
    let path = dirs.iter().find_map(|d| find_file(d, spec.file, 4)).unwrap_or_else(|| {
        panic!(
            "font {} not found under {:?}: install it with `apt-get install -y {}` (or set OCR_TEST_FONT_DIR)",
            spec.file, dirs, spec.package
        )
    });
    let bytes: &'static [u8] = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).leak();
    cache.push((spec.file, bytes));
    bytes
}

/// A font face at a size, ready to measure and draw.
pub struct SizedFont {
    font: ab_glyph::PxScaleFont<FontRef<'static>>,
}

impl SizedFont {
    /// `spec` at `em_px` pixels per em.
    pub fn new(spec: FontSpec, em_px: f32) -> Self {
        let font = FontRef::try_from_slice_and_index(font_bytes(spec), spec.index)
            .unwrap_or_else(|e| panic!("{} face {}: {e}", spec.file, spec.index));
        Self { font: font.into_scaled(PxScale::from(em_px)) }
    }

    /// Ascent above the baseline, pixels.
    pub fn ascent(&self) -> f32 {
        self.font.ascent()
    }

    /// Ascent plus descent, pixels.
    pub fn height(&self) -> f32 {
        self.font.height()
    }

    /// The first character of `text` the face has no glyph for.
    pub fn missing_glyph(&self, text: &str) -> Option<char> {
        text.chars().find(|&c| !c.is_whitespace() && self.font.glyph_id(c).0 == 0)
    }

    /// Glyphs of `text` along a baseline at y = 0 from x = 0 (with kerning;
    /// reversed for right-to-left text, unshaped), and the line's advance width.
    pub fn layout(&self, text: &str, rtl: bool) -> (Vec<ab_glyph::Glyph>, f32) {
        let chars: Vec<char> = if rtl { text.chars().rev().collect() } else { text.chars().collect() };
        let mut glyphs = Vec::with_capacity(chars.len());
        let mut x = 0.0;
        let mut previous = None;
        for c in chars {
            let id = self.font.glyph_id(c);
            if let Some(p) = previous {
                x += self.font.kern(p, id);
            }
            glyphs.push(id.with_scale_and_position(self.font.scale(), point(x, 0.0)));
            x += self.font.h_advance(id);
            previous = Some(id);
        }
        (glyphs, x)
    }

    /// Advance width of `text`, pixels.
    pub fn width(&self, text: &str) -> f32 {
        self.layout(text, false).1
    }

    /// Splits `text` into lines no wider than `width` pixels, at spaces.
    pub fn wrap(&self, text: &str, width: f32) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        let mut current = String::new();
        for word in text.split_whitespace() {
            let candidate = if current.is_empty() { word.to_string() } else { format!("{current} {word}") };
            if self.width(&candidate) > width && !current.is_empty() {
                lines.push(std::mem::replace(&mut current, word.to_string()));
            } else {
                current = candidate;
            }
        }
        if !current.is_empty() {
            lines.push(current);
        }
        lines
    }
}

/// A white page that text is drawn on (ink coverage per pixel).
pub struct Canvas {
    width: u32,
    height: u32,
    coverage: Vec<f32>,
}

impl Canvas {
    /// A blank page.
    pub fn new(width: u32, height: u32) -> Self {
        Self { width, height, coverage: vec![0.0; (width * height) as usize] }
    }

    /// Draws `text` with its baseline at `(x, baseline)`.
    pub fn draw(&mut self, font: &SizedFont, text: &str, x: f32, baseline: f32, rtl: bool) {
        for mut glyph in font.layout(text, rtl).0 {
            glyph.position = point(glyph.position.x + x, glyph.position.y + baseline);
            let Some(outline) = font.font.outline_glyph(glyph) else { continue };
            let bounds = outline.px_bounds();
            let (w, h) = (self.width as i64, self.height as i64);
            outline.draw(|gx, gy, c| {
                let (px, py) = (bounds.min.x as i64 + gx as i64, bounds.min.y as i64 + gy as i64);
                if (0..w).contains(&px) && (0..h).contains(&py) {
                    let v = &mut self.coverage[(py * w + px) as usize];
                    *v = (*v + c).min(1.0);
                }
            });
        }
    }

    /// Black ink on white.
    pub fn into_image(self) -> RgbImage {
        let width = self.width;
        RgbImage::from_fn(self.width, self.height, |x, y| {
            let v = 255 - (self.coverage[(y * width + x) as usize] * 255.0).round() as u8;
            Rgb([v, v, v])
        })
    }
}
