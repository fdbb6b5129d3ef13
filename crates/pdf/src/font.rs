//! Fonts of the text layer.
//!
//! * The **glyphless font** carries the hidden (OCR) text: a Type0 font with
//!   `Identity-H` encoding over a tiny TrueType font whose two glyphs are
//!   both empty and 500/1000 em wide. Character codes are CIDs allocated per
//!   document ([`CidMap`]); the `ToUnicode` CMap maps each CID back to its
//!   text, so extractors see the right characters while nothing is painted.
//! * The **visible font** is standard-14 Courier (monospaced, 600/1000 em, no
//!   embedding) with `WinAnsiEncoding`. Characters WinAnsi cannot encode are
//!   given one of the unused control codes, drawn as `?`, and mapped to their
//!   real text by a `ToUnicode` CMap ([`VisibleMap`]).

use std::collections::HashMap;

/// Advance width of every glyph of the glyphless font, in 1/1000 em.
pub(crate) const GLYPHLESS_ADVANCE: f32 = 500.0;
/// Advance width of every Courier glyph, in 1/1000 em.
pub(crate) const COURIER_ADVANCE: f32 = 600.0;
/// Ascent of the glyphless font (1/1000 em); the descent is this minus 1000.
pub(crate) const ASCENT: i16 = 800;
/// Descent of the glyphless font (1/1000 em), negative.
pub(crate) const DESCENT: i16 = -200;
/// PostScript name of the glyphless font.
pub(crate) const GLYPHLESS_NAME: &str = "GlyphLessFont";

/// Allocates 2-byte CIDs (1, 2, 3… in order of first use) for the characters
/// of the glyphless font, one CID per Unicode scalar value.
#[derive(Default)]
pub(crate) struct CidMap {
    cids: HashMap<char, u16>,
    chars: Vec<char>,
}

impl CidMap {
    /// The CID of `c`, allocating one if needed; `None` when all 65 535 are used.
    pub(crate) fn cid(&mut self, c: char) -> Option<u16> {
        if let Some(&cid) = self.cids.get(&c) {
            return Some(cid);
        }
        let cid = u16::try_from(self.chars.len() + 1).ok()?;
        self.cids.insert(c, cid);
        self.chars.push(c);
        Some(cid)
    }

    /// The highest CID in use (0 when none).
    pub(crate) fn max_cid(&self) -> u16 {
        // At most u16::MAX characters are ever stored.
        u16::try_from(self.chars.len()).unwrap_or(u16::MAX)
    }

    /// `CIDToGIDMap` stream data: every CID ≥ 1 maps to GID 1 (never `.notdef`,
    /// whose text some viewers refuse to extract).
    pub(crate) fn cid_to_gid_map(&self) -> Vec<u8> {
        let n = usize::from(self.max_cid()) + 1;
        let mut out = vec![0u8; 2 * n];
        for pair in out.chunks_exact_mut(2).skip(1) {
            pair[1] = 1;
        }
        out
    }

    /// `ToUnicode` CMap with one `bfchar` entry per CID (UTF-16BE, so
    /// non-BMP characters become surrogate pairs).
    pub(crate) fn to_unicode(&self) -> Vec<u8> {
        let entries = self.chars.iter().enumerate().map(|(i, &c)| {
            // i + 1 <= u16::MAX by construction in `cid`.
            let code = format!("{:04X}", i + 1);
            (code, utf16_hex(c))
        });
        to_unicode_cmap(entries, "<0000> <FFFF>")
    }
}

/// Upper-case hex of the UTF-16BE encoding of `c`.
fn utf16_hex(c: char) -> String {
    let mut buf = [0u16; 2];
    c.encode_utf16(&mut buf).iter().map(|u| format!("{u:04X}")).collect()
}

/// A `ToUnicode` CMap from (hex code, hex UTF-16BE) pairs, in blocks of at
/// most 100 entries as the CMap syntax requires.
fn to_unicode_cmap(entries: impl Iterator<Item = (String, String)>, codespace: &str) -> Vec<u8> {
    let entries: Vec<(String, String)> = entries.collect();
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n",
    );
    s.push_str(&format!("1 begincodespacerange\n{codespace}\nendcodespacerange\n"));
    for block in entries.chunks(100) {
        s.push_str(&format!("{} beginbfchar\n", block.len()));
        for (code, text) in block {
            s.push_str(&format!("<{code}> <{text}>\n"));
        }
        s.push_str("endbfchar\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s.into_bytes()
}

/// Maps characters to single-byte codes of the visible Courier font.
pub(crate) struct VisibleMap {
    /// Extra codes (unused in WinAnsi) handed out to other characters.
    extra: HashMap<char, u8>,
    extra_chars: Vec<(u8, char)>,
    /// Every code written, for the `ToUnicode` map.
    used: Vec<Option<char>>,
}

/// Codes WinAnsiEncoding leaves undefined below 0x20, given to characters it
/// cannot encode (code 0 and the whitespace controls are avoided).
const SPARE_CODES: [u8; 28] =
    [1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31];

impl Default for VisibleMap {
    fn default() -> Self {
        Self { extra: HashMap::new(), extra_chars: Vec::new(), used: vec![None; 256] }
    }
}

impl VisibleMap {
    /// The byte code for `c`: its WinAnsi code, else a spare code drawn as
    /// `?` but extracted as `c`, else plain `?` once the spare codes run out.
    pub(crate) fn code(&mut self, c: char) -> u8 {
        let code = if let Some(b) = winansi(c) {
            b
        } else if let Some(&b) = self.extra.get(&c) {
            b
        } else if let Some(&b) = SPARE_CODES.get(self.extra.len()) {
            self.extra.insert(c, b);
            self.extra_chars.push((b, c));
            b
        } else {
            b'?'
        };
        if self.used[usize::from(code)].is_none() {
            self.used[usize::from(code)] = Some(if code == b'?' { '?' } else { c });
        }
        code
    }

    /// The `/Differences` array body: spare codes drawn with the `question` glyph.
    pub(crate) fn differences(&self) -> Vec<u8> {
        let mut codes: Vec<u8> = self.extra_chars.iter().map(|&(b, _)| b).collect();
        codes.sort_unstable();
        codes
    }

    /// `ToUnicode` CMap for every code used.
    pub(crate) fn to_unicode(&self) -> Vec<u8> {
        let entries =
            self.used.iter().enumerate().filter_map(|(code, c)| c.map(|c| (format!("{code:02X}"), utf16_hex(c))));
        to_unicode_cmap(entries, "<00> <FF>")
    }
}

/// The WinAnsiEncoding (CP1252) byte of `c`, if it has one (and is printable).
fn winansi(c: char) -> Option<u8> {
    const HIGH: [(char, u8); 27] = [
        ('€', 0x80),
        ('‚', 0x82),
        ('ƒ', 0x83),
        ('„', 0x84),
        ('…', 0x85),
        ('†', 0x86),
        ('‡', 0x87),
        ('ˆ', 0x88),
        ('‰', 0x89),
        ('Š', 0x8A),
        ('‹', 0x8B),
        ('Œ', 0x8C),
        ('Ž', 0x8E),
        ('‘', 0x91),
        ('’', 0x92),
        ('“', 0x93),
        ('”', 0x94),
        ('•', 0x95),
        ('–', 0x96),
        ('—', 0x97),
        ('˜', 0x98),
        ('™', 0x99),
        ('š', 0x9A),
        ('›', 0x9B),
        ('œ', 0x9C),
        ('ž', 0x9E),
        ('Ÿ', 0x9F),
    ];
    let u = u32::from(c);
    match u {
        0x20..=0x7E | 0xA1..=0xFF => u8::try_from(u).ok(),
        _ => HIGH.iter().find(|&&(h, _)| h == c).map(|&(_, b)| b),
    }
}

/// The embedded TrueType program of the glyphless font: `.notdef` and one
/// other glyph, both without outlines, 500 units wide, 1000 units per em,
/// ascent 800 / descent −200. Built here rather than copied from elsewhere.
pub(crate) fn glyphless_ttf() -> Vec<u8> {
    let tables: [(&[u8; 4], Vec<u8>); 10] = [
        (b"OS/2", os2()),
        (b"cmap", cmap()),
        (b"glyf", Vec::new()),
        (b"head", head()),
        (b"hhea", hhea()),
        (b"hmtx", be(&[500, 0, 500, 0])),
        (b"loca", be(&[0, 0, 0])),
        (b"maxp", maxp()),
        (b"name", name()),
        (b"post", post()),
    ];
    let num = tables.len() as u16;
    let mut font = Vec::with_capacity(1024);
    // sfnt header: version 1.0, numTables, searchRange, entrySelector, rangeShift.
    font.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    font.extend(be(&[num, 128, 3, num * 16 - 128]));
    let mut offset = 12 + 16 * tables.len();
    let mut head_offset = 0;
    for (tag, data) in &tables {
        font.extend_from_slice(*tag);
        font.extend_from_slice(&checksum(data).to_be_bytes());
        font.extend_from_slice(&(offset as u32).to_be_bytes());
        font.extend_from_slice(&(data.len() as u32).to_be_bytes());
        if *tag == b"head" {
            head_offset = offset;
        }
        offset += data.len().div_ceil(4) * 4;
    }
    for (_, data) in &tables {
        font.extend_from_slice(data);
        font.resize(font.len().div_ceil(4) * 4, 0);
    }
    let adjust = 0xB1B0_AFBAu32.wrapping_sub(checksum(&font));
    font[head_offset + 8..head_offset + 12].copy_from_slice(&adjust.to_be_bytes());
    font
}

/// Big-endian bytes of 16-bit values (signed values pass through `as u16`).
fn be(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// TrueType table checksum: the sum of big-endian u32 words, zero-padded.
fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |sum, chunk| {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        sum.wrapping_add(u32::from_be_bytes(word))
    })
}

fn head() -> Vec<u8> {
    let mut t = Vec::with_capacity(54);
    t.extend(be(&[1, 0, 1, 0])); // version 1.0, fontRevision 1.0
    t.extend_from_slice(&[0; 4]); // checkSumAdjustment, patched later
    t.extend_from_slice(&0x5F0F_3CF5u32.to_be_bytes()); // magic
    t.extend(be(&[0x000B, 1000])); // flags, unitsPerEm
    t.extend_from_slice(&[0; 16]); // created, modified: fixed for reproducible output
    t.extend(be(&[0, DESCENT as u16, 500, ASCENT as u16])); // xMin yMin xMax yMax
    t.extend(be(&[0, 3, 2, 0, 0])); // macStyle, lowestRecPPEM, direction, short loca, glyf format
    t
}

fn hhea() -> Vec<u8> {
    let mut t = be(&[1, 0, ASCENT as u16, DESCENT as u16, 0, 500, 0, 0, 0, 1, 0, 0]);
    t.extend(be(&[0, 0, 0, 0, 0, 2])); // reserved ×4, metricDataFormat, numberOfHMetrics
    t
}

fn maxp() -> Vec<u8> {
    // version 1.0, numGlyphs 2, then the TrueType limits (all zero but maxZones).
    be(&[1, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0])
}

fn cmap() -> Vec<u8> {
    // One format-4 subtable (Windows, Unicode BMP) mapping U+0020 to glyph 1.
    let mut t = be(&[0, 1, 3, 1, 0, 12]);
    t.extend(be(&[4, 32, 0, 4, 4, 1, 0])); // format, length, language, segCountX2, search…
    t.extend(be(&[0x20, 0xFFFF, 0, 0x20, 0xFFFF])); // endCode, pad, startCode
    t.extend(be(&[(1i16 - 0x20) as u16, 1, 0, 0])); // idDelta, idRangeOffset
    t
}

fn name() -> Vec<u8> {
    let strings: [(u16, &str); 4] = [(1, GLYPHLESS_NAME), (2, "Regular"), (4, GLYPHLESS_NAME), (6, GLYPHLESS_NAME)];
    let encoded: Vec<Vec<u8>> =
        strings.iter().map(|(_, s)| s.encode_utf16().flat_map(u16::to_be_bytes).collect()).collect();
    let count = strings.len() as u16;
    let mut t = be(&[0, count, 6 + 12 * count]);
    let mut offset = 0u16;
    for ((id, _), bytes) in strings.iter().zip(&encoded) {
        let len = bytes.len() as u16;
        t.extend(be(&[3, 1, 0x409, *id, len, offset]));
        offset += len;
    }
    encoded.iter().for_each(|b| t.extend_from_slice(b));
    t
}

fn post() -> Vec<u8> {
    // version 3.0 (no glyph names), italic angle 0, underline, fixed pitch.
    let mut t = be(&[3, 0, 0, 0, (-100i16) as u16, 50, 0, 1]);
    t.extend_from_slice(&[0; 16]);
    t
}

fn os2() -> Vec<u8> {
    let mut t = be(&[4, 500, 400, 5, 0]); // version, avg width, weight, width, fsType
    t.extend(be(&[650, 600, 0, 75, 650, 600, 0, 350, 50, 300, 0])); // sub/superscript, strikeout, class
    t.extend_from_slice(&[0; 10]); // panose
    t.extend_from_slice(&[0; 16]); // unicode ranges
    t.extend_from_slice(b"NONE"); // vendor id
    t.extend(be(&[0x40, 0x20, 0x20])); // fsSelection REGULAR, first/last char
    t.extend(be(&[ASCENT as u16, DESCENT as u16, 0, ASCENT as u16, (-DESCENT) as u16]));
    t.extend(be(&[0, 1, 0, 0])); // code page ranges (Latin 1)
    t.extend(be(&[500, 700, 0, 0x20, 1])); // xHeight, capHeight, default/break char, context
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttf_checksum_adjustment_balances() {
        let font = glyphless_ttf();
        assert_eq!(checksum(&font), 0xB1B0_AFBA);
        assert_eq!(&font[..4], &[0, 1, 0, 0]);
        assert_eq!(os2().len(), 96);
        assert_eq!(head().len(), 54);
        assert_eq!(hhea().len(), 36);
        assert_eq!(maxp().len(), 32);
        assert_eq!(post().len(), 32);
    }

    #[test]
    fn cids_are_allocated_in_order_of_first_use() {
        let mut map = CidMap::default();
        assert_eq!(map.cid('a'), Some(1));
        assert_eq!(map.cid('𝄞'), Some(2));
        assert_eq!(map.cid('a'), Some(1));
        assert_eq!(map.max_cid(), 2);
        assert_eq!(map.cid_to_gid_map(), vec![0, 0, 0, 1, 0, 1]);
        let cmap = String::from_utf8(map.to_unicode()).unwrap();
        assert!(cmap.contains("<0001> <0061>"));
        assert!(cmap.contains("<0002> <D834DD1E>"));
    }

    #[test]
    fn visible_codes_fall_back_to_spare_codes_then_question_mark() {
        let mut map = VisibleMap::default();
        assert_eq!(map.code('A'), b'A');
        assert_eq!(map.code('é'), 0xE9);
        assert_eq!(map.code('€'), 0x80);
        assert_eq!(map.code('漢'), 1);
        assert_eq!(map.code('漢'), 1);
        for (i, c) in ('一'..).take(27).enumerate() {
            assert_eq!(map.code(c), SPARE_CODES[i + 1]);
        }
        assert_eq!(map.code('字'), b'?');
        let cmap = String::from_utf8(map.to_unicode()).unwrap();
        assert!(cmap.contains("<01> <6F22>"));
        assert!(cmap.contains("<3F> <003F>"));
    }
}
