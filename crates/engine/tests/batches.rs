//! Recognition batches: a page's lines go to the thread's current spread in
//! batches of `recognition_batch_size` boxes, the spread may read them on
//! other threads, and the page reads the same whatever the batch size and
//! wherever the batches ran.

mod common;

use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use common::{corpus, engine1};
use ocr_engine::spread::{Spread, Spreader};
use ocr_engine::{decode_image, DecodeLimits, PageResult, RecognizeOptions};

/// Runs every batch on a scoped thread of its own (two at a time), and
/// records how many batches each call had and which threads read them.
#[derive(Default)]
struct TwoThreads {
    counts: Mutex<Vec<usize>>,
    threads: Mutex<Vec<ThreadId>>,
}

impl Spread for TwoThreads {
    fn run(&self, count: usize, work: &(dyn Fn(usize) + Sync)) {
        self.counts.lock().unwrap().push(count);
        for pair in (0..count).collect::<Vec<_>>().chunks(2) {
            std::thread::scope(|s| {
                for &i in pair {
                    s.spawn(move || {
                        self.threads.lock().unwrap().push(std::thread::current().id());
                        work(i)
                    });
                }
            });
        }
    }
}

fn text_and_boxes(page: &PageResult) -> Vec<(String, [u32; 4])> {
    page.blocks
        .iter()
        .flat_map(|b| &b.lines)
        .flat_map(|l| &l.words)
        .map(|w| (w.text.clone(), [w.bbox.left as u32, w.bbox.top as u32, w.bbox.width as u32, w.bbox.height as u32]))
        .collect()
}

#[test]
fn batches_through_a_spread_read_the_page_exactly_as_one_thread_does() {
    let (path, _) = corpus("receipts").into_iter().next().expect("a receipt");
    let page = decode_image(&std::fs::read(&path).unwrap(), &DecodeLimits::default()).unwrap().remove(0);
    let engine = engine1();
    let alone = engine.recognize_page(&page, &RecognizeOptions::default()).unwrap();
    let lines = alone.blocks.iter().map(|b| b.lines.len()).sum::<usize>();
    assert!(lines >= 10, "a receipt has many lines ({lines})");

    for batch in [1, 5, 1024] {
        let spread = Arc::new(TwoThreads::default());
        let options = RecognizeOptions { recognition_batch_size: batch, ..Default::default() };
        let spread_page = Spreader::new(spread.clone()).scope(|| engine.recognize_page(&page, &options)).unwrap();
        assert_eq!(text_and_boxes(&spread_page), text_and_boxes(&alone), "batch size {batch}");
        let counts = spread.counts.lock().unwrap().clone();
        assert_eq!(counts.len(), 1, "one call per page read");
        // Detected boxes (read or dropped as doubtful) are at least the lines kept.
        let detected = counts[0] * batch;
        assert!(detected >= lines, "batch {batch}: {counts:?} batches for {lines} lines");
        if batch == 1024 {
            assert_eq!(counts, vec![1], "every box in one batch");
        } else {
            assert!(counts[0] >= lines.div_ceil(batch), "batch {batch}: {counts:?} for {lines} lines");
            let threads = spread.threads.lock().unwrap();
            let distinct: std::collections::HashSet<_> = threads.iter().collect();
            assert!(distinct.len() > 1, "batches were read on other threads");
            assert!(!threads.contains(&std::thread::current().id()));
        }
    }
}
