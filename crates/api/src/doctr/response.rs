//! The JSON of `POST /ocr` (docTR's shape): one document per file, pages >
//! blocks > lines > words, every geometry normalised to the page (0..1).

use ocr_engine::geometry::{min_area_rect, Point, Quad};
use ocr_engine::{BoundingBox, PageResult, Word};
use serde::Serialize;
use utoipa::ToSchema;

/// One uploaded file's result.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OcrDocument {
    /// The file name the client sent.
    #[schema(example = "receipt.jpg")]
    pub name: String,
    /// The first page's orientation (see [`OcrPage::orientation`]).
    pub orientation: Orientation,
    /// The language of the file's text (with `detect_language`).
    pub language: Language,
    /// The first page's `[height, width]` in pixels (PDF pages at 300 dpi).
    pub dimensions: [u32; 2],
    /// Every page, in order.
    pub pages: Vec<OcrPage>,
}

/// A page's (or text line's) orientation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Orientation {
    /// Degrees counter-clockwise the content stands turned from upright
    /// (0, 90, 180 or -90); `null` when not detected.
    pub value: Option<i32>,
    /// How sure the estimate is (0..1); `null` when not measured.
    pub confidence: Option<f32>,
}

impl Orientation {
    /// Neither value nor confidence.
    pub const UNKNOWN: Self = Self { value: None, confidence: None };
}

/// A text's language.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Language {
    /// ISO 639-1 code (ISO 639-3 where there is none); `null` when not detected.
    #[schema(example = "en")]
    pub value: Option<String>,
    /// How sure the detection is (0..1); `null` when not detected.
    pub confidence: Option<f32>,
}

/// One page.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OcrPage {
    /// `[height, width]` in pixels, as read (after any turn).
    pub dimensions: [u32; 2],
    /// How the page stood (with `detect_orientation` or `straighten_pages`).
    pub orientation: Orientation,
    /// Blocks in reading order.
    pub blocks: Vec<OcrBlock>,
}

/// A box `[x_min, y_min, x_max, y_max]`, or with `assume_straight_pages=false`
/// a polygon of 4 `[x, y]` points (top-left of the text first, clockwise);
/// coordinates are fractions of the page width and height.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Geometry {
    /// Axis-aligned box.
    Box([f32; 4]),
    /// Four corners.
    Polygon([[f32; 2]; 4]),
}

/// A block of lines.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OcrBlock {
    /// Around every line of the block.
    pub geometry: Geometry,
    /// Mean detection score of its lines (0..1).
    pub detection_score: f32,
    /// Lines top to bottom.
    pub lines: Vec<OcrLine>,
}

/// A line of words.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OcrLine {
    /// Around every word of the line.
    pub geometry: Geometry,
    /// Mean detection score of its words (0..1).
    pub detection_score: f32,
    /// Words left to right.
    pub words: Vec<OcrWord>,
}

/// One word.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OcrWord {
    /// The text read.
    #[schema(example = "TOTAL")]
    pub value: String,
    /// The recogniser's mean character confidence (0..1).
    pub confidence: f32,
    /// Where the word is.
    pub geometry: Geometry,
    /// The detector's confidence that the word's region holds text (0..1).
    pub detection_score: f32,
    /// Which way the text runs, from the word's geometry: 0 left to right,
    /// 90 bottom to top, 180 upside down, -90 top to bottom.
    pub text_orientation: Orientation,
}

/// How pages are laid out in the response.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayoutChoice {
    /// Boxes (`true`) or polygons.
    pub straight: bool,
    /// Words grouped into lines (else one line per page).
    pub group_lines: bool,
    /// Lines grouped into blocks (else one block per page).
    pub group_blocks: bool,
    /// Vertical gap (fraction of the page height) that starts a new block.
    pub paragraph_break: f32,
    /// Report the page's orientation.
    pub report_orientation: bool,
}

/// Rounds to 4 decimals (a tenth of a pixel on a 1000-pixel page).
fn round4(v: f32) -> f32 {
    (v * 10_000.0).round() / 10_000.0
}

/// Orientation angle of a clockwise turn applied before reading: the
/// content stood turned counter-clockwise by as much.
pub fn page_orientation(rotation: u16) -> i32 {
    match rotation % 360 {
        270 => -90,
        r => i32::from(r),
    }
}

/// Renders one page.
pub fn render_page(page: &PageResult, layout: &LayoutChoice) -> OcrPage {
    let (w, h) = (page.width, page.height);
    let norm =
        |p: Point| [round4((p.x / w.max(1) as f32).clamp(0.0, 1.0)), round4((p.y / h.max(1) as f32).clamp(0.0, 1.0))];
    let geometry = |points: &[Point]| -> Geometry {
        if layout.straight {
            let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
            for p in points {
                (x0, y0, x1, y1) = (x0.min(p.x), y0.min(p.y), x1.max(p.x), y1.max(p.y));
            }
            let b = BoundingBox { left: x0, top: y0, width: (x1 - x0).max(0.0), height: (y1 - y0).max(0.0) };
            Geometry::Box(b.normalised(w, h).map(round4))
        } else if points.len() == 4 {
            Geometry::Polygon([norm(points[0]), norm(points[1]), norm(points[2]), norm(points[3])])
        } else {
            let rect = min_area_rect(points).to_quad();
            Geometry::Polygon(rect.0.map(&norm))
        }
    };
    let word = |x: &Word| OcrWord {
        value: x.text.clone(),
        confidence: round4(x.confidence),
        geometry: if layout.straight {
            Geometry::Box(x.bbox.normalised(w, h).map(round4))
        } else {
            geometry(&x.quad.0)
        },
        detection_score: round4(x.detection_score),
        text_orientation: Orientation { value: Some(text_direction(&x.quad)), confidence: None },
    };
    let make_line = |words: Vec<&Word>| {
        let points: Vec<Point> = words.iter().flat_map(|w| w.quad.0).collect();
        OcrLine {
            geometry: geometry(&points),
            detection_score: round4(mean(words.iter().map(|w| w.detection_score))),
            words: words.into_iter().map(&word).collect(),
        }
    };
    // Lines, each with the engine block it came from and its vertical extent.
    let mut lines: Vec<(usize, f32, f32, OcrLine, Vec<Point>)> = Vec::new();
    if layout.group_lines {
        for (b, block) in page.blocks.iter().enumerate() {
            for line in block.lines.iter().filter(|l| !l.words.is_empty()) {
                let points = line.words.iter().flat_map(|w| w.quad.0).collect();
                lines.push((b, line.bbox.top, line.bbox.bottom(), make_line(line.words.iter().collect()), points));
            }
        }
    } else {
        let words: Vec<&Word> = page.words().collect();
        if !words.is_empty() {
            let points = words.iter().flat_map(|w| w.quad.0).collect();
            let bbox = BoundingBox::union(words.iter().map(|w| &w.bbox));
            lines.push((0, bbox.top, bbox.bottom(), make_line(words), points));
        }
    }
    let mut groups: Vec<Vec<(OcrLine, Vec<Point>)>> = Vec::new();
    let mut previous: Option<(usize, f32)> = None;
    for (block, top, bottom, line, points) in lines {
        let split = match previous {
            None => true,
            Some(_) if !layout.group_blocks => false,
            Some((prev_block, prev_bottom)) => {
                prev_block != block || (top - prev_bottom) / h.max(1) as f32 > layout.paragraph_break
            }
        };
        if split {
            groups.push(Vec::new());
        }
        previous = Some((block, bottom));
        if let Some(group) = groups.last_mut() {
            group.push((line, points));
        }
    }
    let blocks = groups
        .into_iter()
        .map(|group| {
            let points: Vec<Point> = group.iter().flat_map(|(_, p)| p.iter().copied()).collect();
            let detection_score = round4(mean(group.iter().map(|(l, _)| l.detection_score)));
            OcrBlock {
                geometry: geometry(&points),
                detection_score,
                lines: group.into_iter().map(|(l, _)| l).collect(),
            }
        })
        .collect();
    OcrPage {
        dimensions: [h, w],
        orientation: if layout.report_orientation {
            Orientation { value: Some(page_orientation(page.rotation)), confidence: None }
        } else {
            Orientation::UNKNOWN
        },
        blocks,
    }
}

fn mean(values: impl Iterator<Item = f32>) -> f32 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        0.0
    } else {
        sum / n as f32
    }
}

/// Which way text runs, from its region's first edge (the top of the text,
/// left to right as read): 0, 90 (upwards), 180 or -90 (downwards).
pub fn text_direction(quad: &Quad) -> i32 {
    let [a, b, ..] = quad.0;
    // y grows downwards: text running up the page has a negative dy.
    let degrees = (-(b.y - a.y)).atan2(b.x - a.x).to_degrees();
    match ((degrees / 90.0).round() as i32).rem_euclid(4) {
        0 => 0,
        1 => 90,
        2 => 180,
        _ => -90,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocr_engine::{Block, Line};

    fn word(text: &str, left: f32, top: f32) -> Word {
        let bbox = BoundingBox { left, top, width: 50.0, height: 20.0 };
        Word { text: text.into(), confidence: 0.9, detection_score: 0.8, bbox, quad: bbox.quad() }
    }

    fn page() -> PageResult {
        let first = Block::new(vec![
            Line::new(vec![word("A", 10.0, 10.0), word("B", 70.0, 10.0)]),
            Line::new(vec![word("C", 10.0, 32.0)]),
        ]);
        let second = Block::new(vec![Line::new(vec![word("D", 10.0, 300.0)])]);
        PageResult { width: 500, height: 1000, rotation: 0, blocks: vec![first, second] }
    }

    fn layout() -> LayoutChoice {
        LayoutChoice {
            straight: true,
            group_lines: true,
            group_blocks: false,
            paragraph_break: 0.0035,
            report_orientation: false,
        }
    }

    #[test]
    fn grouping_follows_the_parameters() {
        let one = render_page(&page(), &layout());
        assert_eq!((one.blocks.len(), one.blocks[0].lines.len()), (1, 3));
        assert_eq!(one.blocks[0].lines[0].geometry, Geometry::Box([0.02, 0.01, 0.24, 0.03]));
        let flat = render_page(&page(), &LayoutChoice { group_lines: false, ..layout() });
        assert_eq!(flat.blocks[0].lines.len(), 1);
        assert_eq!(flat.blocks[0].lines[0].words.len(), 4);
        let blocks = render_page(&page(), &LayoutChoice { group_blocks: true, ..layout() });
        assert_eq!(blocks.blocks.len(), 2, "the 2 px gap stays within 0.0035 of 1000 px");
        let tight = render_page(&page(), &LayoutChoice { group_blocks: true, paragraph_break: 0.001, ..layout() });
        assert_eq!(tight.blocks.len(), 3);
        let polygons = render_page(&page(), &LayoutChoice { straight: false, ..layout() });
        assert!(matches!(polygons.blocks[0].lines[0].words[0].geometry, Geometry::Polygon(_)));
    }

    #[test]
    fn text_direction_follows_the_first_edge() {
        let p = |x, y| Point { x, y };
        assert_eq!(text_direction(&Quad([p(0.0, 0.0), p(10.0, 0.0), p(10.0, 5.0), p(0.0, 5.0)])), 0);
        assert_eq!(text_direction(&Quad([p(10.0, 5.0), p(0.0, 5.0), p(0.0, 0.0), p(10.0, 0.0)])), 180);
        assert_eq!(text_direction(&Quad([p(0.0, 10.0), p(0.0, 0.0), p(5.0, 0.0), p(5.0, 10.0)])), 90);
        assert_eq!(text_direction(&Quad([p(5.0, 0.0), p(5.0, 10.0), p(0.0, 10.0), p(0.0, 0.0)])), -90);
    }
}
