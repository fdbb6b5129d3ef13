//! hOCR output (<http://kba.github.io/hocr-spec/1.2/>): an XHTML document with
//! one `ocr_page` per page, `ocr_carea` and `ocr_par` per block, `ocr_line`
//! per line and `ocrx_word` per word, each with its `bbox` in page pixels;
//! words carry `x_wconf` (confidence 0–100).

use std::io::{self, Write};

use super::xml::{escape, pixel_box, PageOf};

/// Writes every page as one hOCR document.
pub fn write_hocr(out: &mut dyn Write, pages: &[PageOf<'_>]) -> io::Result<()> {
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">"#
    )?;
    writeln!(out, r#"<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">"#)?;
    writeln!(out, " <head>")?;
    writeln!(out, "  <title>{}</title>", escape(pages.first().map_or("", |p| p.file)))?;
    writeln!(out, r#"  <meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>"#)?;
    writeln!(out, r#"  <meta name="ocr-system" content="ocr-server {}"/>"#, env!("CARGO_PKG_VERSION"))?;
    writeln!(out, r#"  <meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_par ocr_line ocrx_word"/>"#)?;
    writeln!(out, r#"  <meta name="ocr-number-of-pages" content="{}"/>"#, pages.len())?;
    writeln!(out, " </head>")?;
    writeln!(out, " <body>")?;
    for (index, page) in pages.iter().enumerate() {
        write_page(out, index, page)?;
    }
    writeln!(out, " </body>")?;
    writeln!(out, "</html>")
}

fn write_page(out: &mut dyn Write, index: usize, of: &PageOf<'_>) -> io::Result<()> {
    let page = of.page;
    let n = index + 1;
    writeln!(
        out,
        r#"  <div class="ocr_page" id="page_{n}" title="image {}; bbox 0 0 {} {}; ppageno {index}">"#,
        escape(&format!("\"{}\"", of.file)),
        page.width,
        page.height
    )?;
    let bbox = |b| {
        let (l, t, r, btm) = pixel_box(b, page);
        format!("bbox {l} {t} {r} {btm}")
    };
    let (mut line_no, mut word_no) = (0, 0);
    for (b, block) in page.blocks.iter().enumerate() {
        let id = format!("{n}_{}", b + 1);
        writeln!(out, r#"   <div class="ocr_carea" id="block_{id}" title="{}">"#, bbox(&block.bbox))?;
        writeln!(out, r#"    <p class="ocr_par" id="par_{id}" title="{}">"#, bbox(&block.bbox))?;
        for line in &block.lines {
            line_no += 1;
            writeln!(out, r#"     <span class="ocr_line" id="line_{n}_{line_no}" title="{}">"#, bbox(&line.bbox))?;
            for word in &line.words {
                word_no += 1;
                let conf = (word.confidence.clamp(0.0, 1.0) * 100.0).round() as u32;
                writeln!(
                    out,
                    r#"      <span class="ocrx_word" id="word_{n}_{word_no}" title="{}; x_wconf {conf}">{}</span>"#,
                    bbox(&word.bbox),
                    escape(&word.text)
                )?;
            }
            writeln!(out, "     </span>")?;
        }
        writeln!(out, "    </p>")?;
        writeln!(out, "   </div>")?;
    }
    writeln!(out, "  </div>")
}
