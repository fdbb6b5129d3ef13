//! Plane geometry for text boxes: points, quadrilaterals, convex hulls,
//! minimum-area rectangles and perspective transforms.
//!
//! Coordinates are in pixels, origin at the top-left corner, x to the right
//! and y down. A pixel centre sits at integer coordinates.

use serde::{Deserialize, Serialize};

/// A point in pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Point {
    /// Horizontal coordinate, pixels from the left edge.
    pub x: f32,
    /// Vertical coordinate, pixels from the top edge.
    pub y: f32,
}

impl Point {
    /// A point at `(x, y)`.
    pub const fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }

    /// Euclidean distance to `other`.
    pub fn distance(self, other: Point) -> f32 {
        ((self.x - other.x).powi(2) + (self.y - other.y).powi(2)).sqrt()
    }
}

/// A quadrilateral given as its corners in the order top-left, top-right,
/// bottom-right, bottom-left (as seen along the text direction).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Quad(pub [Point; 4]);

impl Quad {
    /// Orders four corners as top-left, top-right, bottom-right, bottom-left:
    /// the two left-most points are the left side (upper one first), the two
    /// right-most the right side.
    pub fn from_corners(mut corners: [Point; 4]) -> Self {
        corners.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
        let (tl, bl) = if corners[0].y <= corners[1].y { (corners[0], corners[1]) } else { (corners[1], corners[0]) };
        let (tr, br) = if corners[2].y <= corners[3].y { (corners[2], corners[3]) } else { (corners[3], corners[2]) };
        Quad([tl, tr, br, bl])
    }

    /// Length of the text direction: the longer of the top and bottom edges.
    pub fn width(&self) -> f32 {
        let [tl, tr, br, bl] = self.0;
        tl.distance(tr).max(bl.distance(br))
    }

    /// Height across the text direction: the longer of the left and right edges.
    pub fn height(&self) -> f32 {
        let [tl, tr, br, bl] = self.0;
        tl.distance(bl).max(tr.distance(br))
    }

    /// The smallest axis-aligned box containing the quad, as `(min, max)`.
    pub fn bounds(&self) -> (Point, Point) {
        let mut min = Point::new(f32::INFINITY, f32::INFINITY);
        let mut max = Point::new(f32::NEG_INFINITY, f32::NEG_INFINITY);
        for p in self.0 {
            min.x = min.x.min(p.x);
            min.y = min.y.min(p.y);
            max.x = max.x.max(p.x);
            max.y = max.y.max(p.y);
        }
        (min, max)
    }

    /// Whether `p` lies inside the quad (which must be convex); the edges count as inside.
    pub fn contains(&self, p: Point) -> bool {
        let mut sign = 0.0f32;
        for i in 0..4 {
            let a = self.0[i];
            let b = self.0[(i + 1) % 4];
            let cross = (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x);
            if cross.abs() <= f32::EPSILON {
                continue;
            }
            if sign == 0.0 {
                sign = cross.signum();
            } else if cross.signum() != sign {
                return false;
            }
        }
        true
    }

    /// The same quad with every coordinate multiplied by `sx` and `sy`.
    pub fn scaled(&self, sx: f32, sy: f32) -> Self {
        Quad(self.0.map(|p| Point::new(p.x * sx, p.y * sy)))
    }

    /// The same quad with every corner clamped into `[0, width] x [0, height]`.
    pub fn clamped(&self, width: f32, height: f32) -> Self {
        Quad(self.0.map(|p| Point::new(p.x.clamp(0.0, width), p.y.clamp(0.0, height))))
    }
}

/// A rectangle of any orientation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RotatedRect {
    /// Centre of the rectangle.
    pub center: Point,
    /// Length of the side along `angle`.
    pub width: f32,
    /// Length of the side perpendicular to `angle`.
    pub height: f32,
    /// Direction of the `width` side, in radians.
    pub angle: f32,
}

impl RotatedRect {
    /// Area in square pixels.
    pub fn area(&self) -> f32 {
        self.width * self.height
    }

    /// The shorter side.
    pub fn short_side(&self) -> f32 {
        self.width.min(self.height)
    }

    /// The rectangle grown by `distance` on every side.
    pub fn expanded(&self, distance: f32) -> Self {
        Self { width: self.width + 2.0 * distance, height: self.height + 2.0 * distance, ..*self }
    }

    /// The four corners, ordered as [`Quad::from_corners`] does.
    pub fn to_quad(&self) -> Quad {
        let (s, c) = self.angle.sin_cos();
        let (hw, hh) = (self.width / 2.0, self.height / 2.0);
        let corner = |u: f32, v: f32| Point::new(self.center.x + u * c - v * s, self.center.y + u * s + v * c);
        Quad::from_corners([corner(-hw, -hh), corner(hw, -hh), corner(hw, hh), corner(-hw, hh)])
    }
}

/// Convex hull of `points` (Andrew's monotone chain), counter-clockwise in
/// y-down coordinates, without repeated or collinear points.
pub fn convex_hull(points: &[Point]) -> Vec<Point> {
    let mut pts: Vec<Point> = points.to_vec();
    pts.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let cross = |o: Point, a: Point, b: Point| (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
    let mut hull: Vec<Point> = Vec::with_capacity(pts.len() * 2);
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &Point>> =
            if pass == 0 { Box::new(pts.iter()) } else { Box::new(pts.iter().rev()) };
        for &p in iter {
            while hull.len() >= start + 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0 {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

/// The minimum-area enclosing rectangle of `points` (rotating calipers over
/// the convex hull edges). Degenerate inputs give zero-sized rectangles.
pub fn min_area_rect(points: &[Point]) -> RotatedRect {
    let hull = convex_hull(points);
    match hull.len() {
        0 => {
            return RotatedRect { center: Point::default(), width: 0.0, height: 0.0, angle: 0.0 };
        }
        1 => return RotatedRect { center: hull[0], width: 0.0, height: 0.0, angle: 0.0 },
        _ => {}
    }
    let mut best: Option<(f32, RotatedRect)> = None;
    for i in 0..hull.len() {
        let a = hull[i];
        let b = hull[(i + 1) % hull.len()];
        let len = a.distance(b);
        if len <= f32::EPSILON {
            continue;
        }
        let (ux, uy) = ((b.x - a.x) / len, (b.y - a.y) / len);
        let (mut min_u, mut max_u, mut min_v, mut max_v) =
            (f32::INFINITY, f32::NEG_INFINITY, f32::INFINITY, f32::NEG_INFINITY);
        for p in &hull {
            let (dx, dy) = (p.x - a.x, p.y - a.y);
            let u = dx * ux + dy * uy;
            let v = -dx * uy + dy * ux;
            min_u = min_u.min(u);
            max_u = max_u.max(u);
            min_v = min_v.min(v);
            max_v = max_v.max(v);
        }
        let area = (max_u - min_u) * (max_v - min_v);
        if best.as_ref().is_none_or(|(a0, _)| area < *a0) {
            let (cu, cv) = ((min_u + max_u) / 2.0, (min_v + max_v) / 2.0);
            let center = Point::new(a.x + cu * ux - cv * uy, a.y + cu * uy + cv * ux);
            let rect = RotatedRect { center, width: max_u - min_u, height: max_v - min_v, angle: uy.atan2(ux) };
            best = Some((area, rect));
        }
    }
    let mut rect = best.map(|(_, r)| r).unwrap_or(RotatedRect { center: hull[0], width: 0.0, height: 0.0, angle: 0.0 });
    normalise_angle(&mut rect);
    rect
}

/// Makes `width` the side closest to horizontal, with `angle` in (-45°, 45°].
fn normalise_angle(rect: &mut RotatedRect) {
    use std::f32::consts::{FRAC_PI_2, FRAC_PI_4, PI};
    let mut angle = rect.angle.rem_euclid(PI);
    if angle > FRAC_PI_2 {
        angle -= PI;
    }
    if angle > FRAC_PI_4 {
        angle -= FRAC_PI_2;
        std::mem::swap(&mut rect.width, &mut rect.height);
    } else if angle <= -FRAC_PI_4 {
        angle += FRAC_PI_2;
        std::mem::swap(&mut rect.width, &mut rect.height);
    }
    rect.angle = angle;
}

/// A projective transform (3x3 matrix, row-major, last entry 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Homography(pub [f64; 9]);

impl Homography {
    /// The transform mapping the rectangle `[0, width] x [0, height]` onto
    /// `quad` (corner order top-left, top-right, bottom-right, bottom-left).
    /// `None` when the quad is degenerate.
    pub fn rect_to_quad(width: f32, height: f32, quad: &Quad) -> Option<Self> {
        let src = [(0.0, 0.0), (width as f64, 0.0), (width as f64, height as f64), (0.0, height as f64)];
        let mut a = [[0.0f64; 9]; 8];
        for (i, ((x, y), p)) in src.iter().zip(quad.0.iter()).enumerate() {
            let (u, v) = (p.x as f64, p.y as f64);
            a[2 * i] = [*x, *y, 1.0, 0.0, 0.0, 0.0, -x * u, -y * u, u];
            a[2 * i + 1] = [0.0, 0.0, 0.0, *x, *y, 1.0, -x * v, -y * v, v];
        }
        let h = solve8(a)?;
        Some(Homography([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1.0]))
    }

    /// Applies the transform to `(x, y)`.
    pub fn apply(&self, x: f32, y: f32) -> Point {
        let m = &self.0;
        let (x, y) = (x as f64, y as f64);
        let w = m[6] * x + m[7] * y + m[8];
        let w = if w.abs() < 1e-12 { 1e-12 } else { w };
        Point::new(((m[0] * x + m[1] * y + m[2]) / w) as f32, ((m[3] * x + m[4] * y + m[5]) / w) as f32)
    }
}

/// Solves the 8x8 linear system given as an augmented matrix (Gaussian
/// elimination with partial pivoting).
fn solve8(mut a: [[f64; 9]; 8]) -> Option<[f64; 8]> {
    for col in 0..8 {
        let pivot = (col..8).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-9 {
            return None;
        }
        a.swap(col, pivot);
        let pivot_row = a[col];
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot_row[col];
                for (v, p) in row.iter_mut().zip(pivot_row.iter()).skip(col) {
                    *v -= f * p;
                }
            }
        }
    }
    Some(std::array::from_fn(|i| a[i][8] / a[i][i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_area_rect_of_axis_aligned_points() {
        let pts: Vec<Point> = (0..10).flat_map(|x| (0..4).map(move |y| Point::new(x as f32, y as f32))).collect();
        let r = min_area_rect(&pts);
        assert!((r.width - 9.0).abs() < 1e-4 && (r.height - 3.0).abs() < 1e-4, "{r:?}");
        assert!(r.angle.abs() < 1e-4);
        assert!((r.center.x - 4.5).abs() < 1e-4 && (r.center.y - 1.5).abs() < 1e-4);
    }

    #[test]
    fn min_area_rect_of_rotated_rectangle() {
        let rect = RotatedRect { center: Point::new(50.0, 40.0), width: 60.0, height: 10.0, angle: 0.3 };
        let r = min_area_rect(&rect.to_quad().0);
        assert!((r.width - 60.0).abs() < 1e-3 && (r.height - 10.0).abs() < 1e-3, "{r:?}");
        assert!((r.angle - 0.3).abs() < 1e-4);
    }

    #[test]
    fn quad_order_and_containment() {
        let q = Quad::from_corners([
            Point::new(10.0, 20.0),
            Point::new(0.0, 0.0),
            Point::new(10.0, 0.0),
            Point::new(0.0, 20.0),
        ]);
        assert_eq!(q.0[0], Point::new(0.0, 0.0));
        assert_eq!(q.0[2], Point::new(10.0, 20.0));
        assert!(q.contains(Point::new(5.0, 5.0)));
        assert!(!q.contains(Point::new(11.0, 5.0)));
    }

    #[test]
    fn homography_maps_rectangle_corners_onto_quad() {
        let q = Quad([Point::new(10.0, 5.0), Point::new(110.0, 15.0), Point::new(105.0, 45.0), Point::new(8.0, 35.0)]);
        let h = Homography::rect_to_quad(100.0, 30.0, &q).unwrap();
        for (p, (x, y)) in q.0.iter().zip([(0.0, 0.0), (100.0, 0.0), (100.0, 30.0), (0.0, 30.0)]) {
            let m = h.apply(x, y);
            assert!(m.distance(*p) < 1e-3, "{m:?} vs {p:?}");
        }
    }
}
