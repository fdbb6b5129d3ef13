//! ALTO v4 output (<https://www.loc.gov/standards/alto/>): one `Page` per
//! page with a `PrintSpace`, a `TextBlock` per block, a `TextLine` per line
//! and a `String` per word (`HPOS`/`VPOS`/`WIDTH`/`HEIGHT` in pixels, `WC`
//! the confidence 0–1), with an `SP` between words.

use std::io::{self, Write};

use super::xml::{escape, pixel_box, PageOf};

/// The ALTO version written.
const SCHEMA: &str = "http://www.loc.gov/standards/alto/ns-v4# http://www.loc.gov/standards/alto/v4/alto-4-2.xsd";

/// Writes every page as one ALTO document.
pub fn write_alto(out: &mut dyn Write, pages: &[PageOf<'_>]) -> io::Result<()> {
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="{SCHEMA}" SCHEMAVERSION="4.2">"#
    )?;
    writeln!(out, "  <Description>")?;
    writeln!(out, "    <MeasurementUnit>pixel</MeasurementUnit>")?;
    let mut files: Vec<&str> = pages.iter().map(|p| p.file).collect();
    files.dedup();
    if let [file] = files.as_slice() {
        writeln!(out, "    <sourceImageInformation>")?;
        writeln!(out, "      <fileName>{}</fileName>", escape(file))?;
        writeln!(out, "    </sourceImageInformation>")?;
    }
    writeln!(out, r#"    <Processing ID="ocr_1">"#)?;
    writeln!(out, "      <processingSoftware>")?;
    writeln!(out, "        <softwareName>ocr-server</softwareName>")?;
    writeln!(out, "        <softwareVersion>{}</softwareVersion>", env!("CARGO_PKG_VERSION"))?;
    writeln!(out, "      </processingSoftware>")?;
    writeln!(out, "    </Processing>")?;
    writeln!(out, "  </Description>")?;
    writeln!(out, "  <Layout>")?;
    for (index, page) in pages.iter().enumerate() {
        write_page(out, index + 1, page)?;
    }
    writeln!(out, "  </Layout>")?;
    writeln!(out, "</alto>")
}

/// `HPOS="…" VPOS="…" WIDTH="…" HEIGHT="…"` of a box in whole pixels.
fn position(b: &ocr_engine::BoundingBox, page: &ocr_engine::PageResult) -> String {
    let (l, t, r, bottom) = pixel_box(b, page);
    format!(r#"HPOS="{l}" VPOS="{t}" WIDTH="{}" HEIGHT="{}""#, r - l, bottom - t)
}

fn write_page(out: &mut dyn Write, n: usize, of: &PageOf<'_>) -> io::Result<()> {
    let page = of.page;
    let (w, h) = (page.width, page.height);
    writeln!(out, r#"    <Page ID="page_{n}" PHYSICAL_IMG_NR="{n}" WIDTH="{w}" HEIGHT="{h}" PROCESSINGREFS="ocr_1">"#)?;
    writeln!(out, r#"      <PrintSpace HPOS="0" VPOS="0" WIDTH="{w}" HEIGHT="{h}">"#)?;
    let (mut line_no, mut word_no) = (0, 0);
    for (b, block) in page.blocks.iter().enumerate() {
        writeln!(out, r#"        <TextBlock ID="block_{n}_{}" {}>"#, b + 1, position(&block.bbox, page))?;
        for line in block.lines.iter().filter(|l| !l.words.is_empty()) {
            line_no += 1;
            writeln!(out, r#"          <TextLine ID="line_{n}_{line_no}" {}>"#, position(&line.bbox, page))?;
            for (i, word) in line.words.iter().enumerate() {
                if i > 0 {
                    let (_, _, previous_right, _) = pixel_box(&line.words[i - 1].bbox, page);
                    let (left, top, _, _) = pixel_box(&word.bbox, page);
                    let gap = left.saturating_sub(previous_right);
                    writeln!(out, r#"            <SP WIDTH="{gap}" HPOS="{previous_right}" VPOS="{top}"/>"#)?;
                }
                word_no += 1;
                writeln!(
                    out,
                    r#"            <String ID="string_{n}_{word_no}" CONTENT="{}" {} WC="{:.2}"/>"#,
                    escape(&word.text),
                    position(&word.bbox, page),
                    word.confidence.clamp(0.0, 1.0)
                )?;
            }
            writeln!(out, "          </TextLine>")?;
        }
        writeln!(out, "        </TextBlock>")?;
    }
    writeln!(out, "      </PrintSpace>")?;
    writeln!(out, "    </Page>")
}
