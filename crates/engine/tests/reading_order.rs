//! Reading order on multi-column pages composed at test time from known
//! text (DejaVu Sans from `fonts-dejavu-core`), so the true order is known
//! and the character error rate measures it: two and three columns, a
//! heading across the columns, a full-width paragraph between two column
//! bands, and a two-column table whose rows must stay rows.
//!
//! `cargo test -p ocr-engine --test reading_order -- --nocapture` prints the
//! figures. Bound: CER ≤ 0.02 on every page and engine (the target).
//! A page read line by line across its columns scores far above it (about
//! 0.6 on these pages), so the bound fails on any loss of column order,
//! while leaving room for the odd misread character.

mod common;
mod fonts;

use fonts::{Canvas, SizedFont, DEJAVU, DEJAVU_BOLD};
use image::RgbImage;
use ocr_engine::eval::Scores;
use ocr_engine::{OcrEngine, RecognizeOptions};

/// Highest character error rate accepted on a composed page.
const MAX_CER: f64 = 0.02;
/// Page size: US Letter at 200 dpi, as the `pages/` corpus.
const PAGE: (u32, u32) = (1700, 2200);
const MARGIN: f32 = 110.0;
const GUTTER: f32 = 70.0;
const BODY_EM: f32 = 30.0;

/// Running text for the columns (written for this test).
const PARAGRAPHS: [&str; 6] = [
    "The survey team reached the northern station on the third morning, after two days of slow travel across \
     the frozen river. Their first task was to check the instruments that had been left running through the winter.",
    "Most of the sensors had survived the cold without damage. The wind gauge, however, had frozen solid in \
     early February, and its record stopped at 14:20 on the ninth day of that month.",
    "Readings from the snow depth probes were more useful. They showed a steady rise until the middle of March, \
     followed by a sharp fall during a week of unusually warm weather near the coast.",
    "The team replaced the batteries in every unit and copied the stored data onto two separate drives. One drive \
     travelled back with the supply plane; the other stayed at the station as a spare.",
    "In the afternoon the group walked out to the old weather mast, which had leaned badly after a storm. Four \
     people needed nearly three hours to raise it again and secure the cables.",
    "By evening the station was quiet. The cook prepared a large pot of soup, and the team wrote their reports \
     by lamp light before the generator was switched off for the night.",
];

/// Items of the composed two-column table, with their amounts.
const TABLE: [(&str, &str); 8] = [
    ("Field notebooks", "12.50"),
    ("Spare batteries", "48.00"),
    ("Rope and cables", "23.75"),
    ("Fuel for generator", "96.40"),
    ("Snow probes", "31.20"),
    ("Tent repair kit", "18.90"),
    ("Radio parts", "64.10"),
    ("Food supplies", "152.35"),
];

/// Lays running text into `columns` columns (filled one after the other,
/// paragraphs separated by half a line), below an optional heading across
/// all columns. Returns the page and its text in reading order.
fn compose_columns(columns: usize, heading: Option<&str>, paragraphs: &[&str]) -> (RgbImage, String) {
    let body = SizedFont::new(DEJAVU, BODY_EM);
    let head = SizedFont::new(DEJAVU_BOLD, BODY_EM * 1.6);
    let mut canvas = Canvas::new(PAGE.0, PAGE.1);
    let mut truth = Vec::new();
    let mut y = MARGIN;
    if let Some(h) = heading {
        canvas.draw(&head, h, MARGIN, y + head.ascent(), false);
        truth.push(h.to_string());
        y += head.height() * 1.8;
    }
    let column_width = (PAGE.0 as f32 - 2.0 * MARGIN - GUTTER * (columns - 1) as f32) / columns as f32;
    // Every line of every paragraph, with a gap marker between paragraphs.
    let mut lines: Vec<Option<String>> = Vec::new();
    for p in paragraphs {
        if !lines.is_empty() {
            lines.push(None);
        }
        lines.extend(body.wrap(p, column_width).into_iter().map(Some));
    }
    let per_column = lines.len().div_ceil(columns);
    let line_height = body.height() * 1.35;
    for (c, chunk) in lines.chunks(per_column).enumerate() {
        let x = MARGIN + c as f32 * (column_width + GUTTER);
        let mut line_y = y;
        for line in chunk {
            match line {
                Some(text) => {
                    canvas.draw(&body, text, x, line_y + body.ascent(), false);
                    truth.push(text.clone());
                    line_y += line_height;
                }
                None => line_y += line_height * 0.5,
            }
        }
    }
    (canvas.into_image(), truth.join("\n"))
}

/// Two columns, then a full-width paragraph, then two more columns.
fn compose_two_bands() -> (RgbImage, String) {
    let body = SizedFont::new(DEJAVU, BODY_EM);
    let mut canvas = Canvas::new(PAGE.0, PAGE.1);
    let mut truth = Vec::new();
    let full_width = PAGE.0 as f32 - 2.0 * MARGIN;
    let column_width = (full_width - GUTTER) / 2.0;
    let line_height = body.height() * 1.35;
    let mut y = MARGIN;
    let band = |canvas: &mut Canvas, truth: &mut Vec<String>, y: &mut f32, texts: [&str; 2]| {
        let mut bottom = *y;
        for (c, text) in texts.iter().enumerate() {
            let x = MARGIN + c as f32 * (column_width + GUTTER);
            let mut line_y = *y;
            for line in body.wrap(text, column_width) {
                canvas.draw(&body, &line, x, line_y + body.ascent(), false);
                truth.push(line);
                line_y += line_height;
            }
            bottom = bottom.max(line_y);
        }
        *y = bottom + line_height;
    };
    band(&mut canvas, &mut truth, &mut y, [PARAGRAPHS[0], PARAGRAPHS[1]]);
    for line in body.wrap(PARAGRAPHS[2], full_width) {
        canvas.draw(&body, &line, MARGIN, y + body.ascent(), false);
        truth.push(line);
        y += line_height;
    }
    y += line_height;
    band(&mut canvas, &mut truth, &mut y, [PARAGRAPHS[3], PARAGRAPHS[4]]);
    (canvas.into_image(), truth.join("\n"))
}

/// A heading and a two-column table of items and amounts.
fn compose_table() -> (RgbImage, Vec<String>) {
    let body = SizedFont::new(DEJAVU, BODY_EM);
    let mut canvas = Canvas::new(PAGE.0, 1000);
    let mut rows = Vec::new();
    let mut y = MARGIN;
    for (item, amount) in TABLE {
        canvas.draw(&body, item, MARGIN, y + body.ascent(), false);
        let right = PAGE.0 as f32 - MARGIN - body.width(amount);
        canvas.draw(&body, amount, right, y + body.ascent(), false);
        rows.push(format!("{item} {amount}"));
        y += body.height() * 1.5;
    }
    (canvas.into_image(), rows)
}

fn read(engine: &OcrEngine, page: &RgbImage) -> String {
    engine.recognize_page(page, &RecognizeOptions::default()).expect("ocr").text()
}

fn check_columns(name: &str, page: (RgbImage, String)) {
    let (image, truth) = page;
    for (number, engine) in [(1, common::engine1()), (2, common::engine2())] {
        let text = read(engine, &image);
        let cer = Scores::of(&text, &truth).cer();
        eprintln!("{name}, engine {number}: CER {cer:.4}");
        assert!(cer <= MAX_CER, "{name}, engine {number}: CER {cer:.4} above {MAX_CER}; read:\n{text}");
    }
}

#[test]
fn two_columns_under_a_heading_read_column_by_column() {
    check_columns("two columns", compose_columns(2, Some("Report from the Northern Station"), &PARAGRAPHS));
}

#[test]
fn three_columns_read_column_by_column() {
    check_columns("three columns", compose_columns(3, None, &PARAGRAPHS));
}

#[test]
fn a_full_width_paragraph_between_column_bands_stands_where_it_is() {
    check_columns("two bands", compose_two_bands());
}

#[test]
fn a_two_column_table_keeps_its_rows() {
    let (image, rows) = compose_table();
    for (number, engine) in [(1, common::engine1()), (2, common::engine2())] {
        let text = read(engine, &image);
        let cer = Scores::of(&text, &rows.join("\n")).cer();
        eprintln!("table, engine {number}: CER {cer:.4}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), rows.len(), "engine {number}: one line per row expected; read:\n{text}");
        assert!(cer <= MAX_CER, "table, engine {number}: CER {cer:.4} above {MAX_CER}; read:\n{text}");
    }
}
