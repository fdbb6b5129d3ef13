//! Detector plans for new input shapes start from one decluttered graph
//! (`OnnxModel::reusing_declutter`, `retarget.rs`) once two shapes built from
//! scratch have checked it, and read exactly what a plan built from scratch
//! reads.

mod common;

use common::models_dir;
use ocr_engine::model::{DenseTensor, Model, OnnxModel};
use ocr_engine::ModelSet;

/// A deterministic input of `shape` with values in -1..1.
fn input(shape: &[usize]) -> DenseTensor {
    let n: usize = shape.iter().product();
    DenseTensor { shape: shape.to_vec(), data: (0..n).map(|i| (i * 7919 % 1000) as f32 / 500.0 - 1.0).collect() }
}

#[test]
fn detector_plans_of_new_shapes_reuse_the_decluttered_graph_and_read_the_same() {
    for set in [ModelSet::engine1(models_dir()), ModelSet::engine2(models_dir())] {
        assert!(set.is_installed(), "models missing in {}: run scripts/fetch-models", models_dir().display());
        let reusing = OnnxModel::load(&set.detector, 8).expect("detector loads").reusing_declutter();
        let scratch = OnnxModel::load(&set.detector, 8).expect("detector loads");
        // Two shapes differing in height and width, built from scratch, check the template.
        for shape in [[1, 3, 256, 192], [1, 3, 192, 256]] {
            reusing.prepare(&shape).expect("plan builds");
        }
        assert_eq!(reusing.retargeted_plans(), 0, "{}: built from scratch until checked", set.name);
        // Other shapes (a receipt-like strip, a small line image) reuse it,
        // including the reciprocals of the mean reductions.
        for shape in [[1, 3, 320, 128], [1, 3, 96, 224]] {
            let x = input(&shape);
            let fast = reusing.run(&x).expect("retargeted plan runs");
            let slow = scratch.run(&x).expect("plan from scratch runs");
            assert_eq!(fast.shape, slow.shape);
            let diff = fast.data.iter().zip(&slow.data).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(diff <= 1e-6, "{} {shape:?}: max difference {diff}", set.name);
        }
        assert_eq!(reusing.retargeted_plans(), 2, "{}: new shapes start from the decluttered graph", set.name);
        assert_eq!(scratch.retargeted_plans(), 0);
    }
}
