//! Streaming decoders for the PDF data filters, used only to measure how
//! much a stream decodes to before the interpreter decodes it in memory.
//!
//! Each filter of a chain is a [`Read`] adapter over the previous one, and
//! every stage's output is counted against a cap ([`Capped`]), so a chain
//! such as `[/FlateDecode /FlateDecode]` is refused as soon as any stage
//! passes the cap, using a few small buffers whatever the expansion.
//! Decoding errors end a stage (what was decoded so far counts), as the
//! interpreter's own lenient decoders also keep what they got.

use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Read};
use std::rc::Rc;

use hayro::hayro_interpret::hayro_syntax::Filter;

/// Output bytes of one decoder step are at most this (an LZW code can
/// expand to 4096 bytes; the others produce less).
const STEP: usize = 4096;

/// One filter's decoding, one small step at a time.
trait Decode {
    /// Appends the next decoded bytes to `out` (a few KB at most); `Ok(false)` at the end of data.
    fn step(&mut self, input: &mut dyn BufRead, out: &mut Vec<u8>) -> io::Result<bool>;
}

/// A [`Decode`] as a [`Read`].
struct Stage<R, D> {
    input: BufReader<R>,
    decoder: D,
    out: Vec<u8>,
    at: usize,
    ended: bool,
}

impl<R: Read, D: Decode> Stage<R, D> {
    fn new(input: R, decoder: D) -> Self {
        Self { input: BufReader::with_capacity(16 * 1024, input), decoder, out: Vec::new(), at: 0, ended: false }
    }
}

impl<R: Read, D: Decode> Read for Stage<R, D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.out.len() {
            if self.ended {
                return Ok(0);
            }
            self.out.clear();
            self.at = 0;
            self.ended = !self.decoder.step(&mut self.input, &mut self.out)?;
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Counts what passes through and fails once more than `cap` bytes did,
/// raising the shared `hit` flag (decoders above it may swallow the error).
pub(super) struct Capped<R> {
    inner: R,
    count: u64,
    cap: u64,
    hit: Rc<Cell<bool>>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if self.count > self.cap {
            self.hit.set(true);
            return Err(io::Error::other("decoded size limit reached"));
        }
        Ok(n)
    }
}

/// Whether a filter decodes to bytes that later filters or the interpreter
/// read (image codecs end a chain: their output is bounded by the image's
/// pixel size, which is checked separately).
fn is_data_filter(filter: Filter) -> bool {
    matches!(
        filter,
        Filter::FlateDecode
            | Filter::LzwDecode
            | Filter::RunLengthDecode
            | Filter::AsciiHexDecode
            | Filter::Ascii85Decode
    )
}

/// What a stream's filter chain decodes to, each stage capped at `cap` bytes:
/// `(bytes out of the last data filter, whether some stage passed the cap)`.
/// `early_change[i]` is the LZW `EarlyChange` parameter of filter `i`.
pub(super) fn decoded_size(raw: &[u8], filters: &[Filter], early_change: &[bool], cap: u64) -> (u64, bool) {
    let hit = Rc::new(Cell::new(false));
    let mut reader: Box<dyn Read + '_> = Box::new(raw);
    let mut any = false;
    for (i, &filter) in filters.iter().enumerate() {
        if filter == Filter::Crypt && i == 0 {
            continue;
        }
        if !is_data_filter(filter) {
            break;
        }
        any = true;
        let stage: Box<dyn Read + '_> = match filter {
            Filter::FlateDecode => flate(reader),
            Filter::LzwDecode => Box::new(Stage::new(reader, Lzw::new(early_change.get(i).copied().unwrap_or(true)))),
            Filter::RunLengthDecode => Box::new(Stage::new(reader, RunLength)),
            Filter::AsciiHexDecode => Box::new(Stage::new(reader, AsciiHex::default())),
            _ => Box::new(Stage::new(reader, Ascii85::default())),
        };
        reader = Box::new(Capped { inner: stage, count: 0, cap, hit: hit.clone() });
    }
    if !any {
        return (0, false);
    }
    let mut scratch = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    while let Ok(n) = reader.read(&mut scratch) {
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    (total, hit.get())
}

/// A zlib stream when the data starts with a valid zlib header, else raw deflate.
fn flate<'a>(mut input: Box<dyn Read + 'a>) -> Box<dyn Read + 'a> {
    let mut head = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match input.read(&mut head[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    let zlib = got == 2 && head[0] & 0x0f == 8 && (u16::from(head[0]) << 8 | u16::from(head[1])).is_multiple_of(31);
    let whole = io::Cursor::new(head[..got].to_vec()).chain(input);
    if zlib {
        Box::new(flate2::read::ZlibDecoder::new(whole))
    } else {
        Box::new(flate2::read::DeflateDecoder::new(whole))
    }
}

/// The next byte of input, `None` at its end.
fn next_byte(input: &mut dyn BufRead) -> io::Result<Option<u8>> {
    let buf = input.fill_buf()?;
    let Some(&b) = buf.first() else { return Ok(None) };
    input.consume(1);
    Ok(Some(b))
}

/// `RunLengthDecode`: a length byte, then a literal run or one repeated byte.
struct RunLength;

impl Decode for RunLength {
    fn step(&mut self, input: &mut dyn BufRead, out: &mut Vec<u8>) -> io::Result<bool> {
        let Some(len) = next_byte(input)? else { return Ok(false) };
        match len {
            128 => Ok(false),
            0..=127 => {
                for _ in 0..=len {
                    let Some(b) = next_byte(input)? else { return Ok(false) };
                    out.push(b);
                }
                Ok(true)
            }
            _ => {
                let Some(b) = next_byte(input)? else { return Ok(false) };
                out.extend(std::iter::repeat_n(b, 257 - usize::from(len)));
                Ok(true)
            }
        }
    }
}

/// `ASCIIHexDecode`: pairs of hex digits up to `>`, whitespace ignored.
#[derive(Default)]
struct AsciiHex {
    high: Option<u8>,
}

impl Decode for AsciiHex {
    fn step(&mut self, input: &mut dyn BufRead, out: &mut Vec<u8>) -> io::Result<bool> {
        while out.len() < STEP {
            let v = match next_byte(input)? {
                None | Some(b'>') => {
                    out.extend(self.high.take().map(|h| h << 4));
                    return Ok(false);
                }
                Some(c) if c.is_ascii_whitespace() => continue,
                Some(c) => (c as char).to_digit(16).ok_or_else(|| io::Error::other("bad hex digit"))? as u8,
            };
            match self.high.take() {
                Some(h) => out.push(h << 4 | v),
                None => self.high = Some(v),
            }
        }
        Ok(true)
    }
}

/// `ASCII85Decode`: groups of five characters, `z` for four zero bytes, `~>` ends.
#[derive(Default)]
struct Ascii85 {
    group: [u8; 5],
    n: usize,
}

impl Decode for Ascii85 {
    fn step(&mut self, input: &mut dyn BufRead, out: &mut Vec<u8>) -> io::Result<bool> {
        while out.len() < STEP {
            match next_byte(input)? {
                None | Some(b'~') => {
                    let n = std::mem::take(&mut self.n);
                    if n > 1 {
                        self.group[n..].fill(84);
                        out.extend_from_slice(&base85(&self.group)?[..n - 1]);
                    }
                    return Ok(false);
                }
                Some(b'z') if self.n == 0 => out.extend_from_slice(&[0; 4]),
                Some(c @ b'!'..=b'u') => {
                    self.group[self.n] = c - b'!';
                    self.n += 1;
                    if self.n == 5 {
                        out.extend_from_slice(&base85(&self.group)?);
                        self.n = 0;
                    }
                }
                Some(c) if c.is_ascii_whitespace() => {}
                Some(_) => return Err(io::Error::other("bad ASCII85 character")),
            }
        }
        Ok(true)
    }
}

fn base85(group: &[u8; 5]) -> io::Result<[u8; 4]> {
    let v = group.iter().fold(0u64, |acc, &d| acc * 85 + u64::from(d));
    u32::try_from(v).map(u32::to_be_bytes).map_err(|_| io::Error::other("ASCII85 group overflows"))
}

/// `LZWDecode` (MSB-first codes of 9 to 12 bits, clear 256, end 257).
struct Lzw {
    early: bool,
    /// (prefix code, last byte, first byte, length) of codes from 258 on.
    table: Vec<(u16, u8, u8, u16)>,
    width: u32,
    bits: u32,
    nbits: u32,
    prev: Option<u16>,
}

impl Lzw {
    fn new(early: bool) -> Self {
        Self { early, table: Vec::with_capacity(4096), width: 9, bits: 0, nbits: 0, prev: None }
    }

    fn next_code(&mut self, input: &mut dyn BufRead) -> io::Result<Option<u16>> {
        while self.nbits < self.width {
            let Some(b) = next_byte(input)? else { return Ok(None) };
            self.bits = (self.bits << 8) | u32::from(b);
            self.nbits += 8;
        }
        self.nbits -= self.width;
        let code = (self.bits >> self.nbits) & ((1 << self.width) - 1);
        self.bits &= (1 << self.nbits) - 1;
        Ok(Some(code as u16))
    }

    /// (first byte, length) of a code's string.
    fn head(&self, code: u16) -> (u8, u16) {
        match code {
            0..=255 => (code as u8, 1),
            c => {
                let e = self.table[usize::from(c) - 258];
                (e.2, e.3)
            }
        }
    }

    /// Appends the string of `code` to `out`.
    fn emit(&self, mut code: u16, out: &mut Vec<u8>) {
        let len = usize::from(self.head(code).1);
        let start = out.len();
        out.resize(start + len, 0);
        for slot in out[start..].iter_mut().rev() {
            if code < 256 {
                *slot = code as u8;
                break;
            }
            let e = self.table[usize::from(code) - 258];
            *slot = e.1;
            code = e.0;
        }
    }
}

impl Decode for Lzw {
    fn step(&mut self, input: &mut dyn BufRead, out: &mut Vec<u8>) -> io::Result<bool> {
        let Some(code) = self.next_code(input)? else { return Ok(false) };
        match code {
            256 => {
                self.table.clear();
                self.width = 9;
                self.prev = None;
                return Ok(true);
            }
            257 => return Ok(false),
            _ => {}
        }
        let next = 258 + self.table.len() as u16;
        if code > next || (code == next && self.prev.is_none()) {
            return Err(io::Error::other("bad LZW code"));
        }
        let first = if code == next { self.head(self.prev.unwrap_or(0)).0 } else { self.head(code).0 };
        if let Some(prev) = self.prev {
            if self.table.len() < 4096 - 258 {
                let (pfirst, plen) = self.head(prev);
                self.table.push((prev, first, pfirst, plen + 1));
            }
        }
        self.emit(code, out);
        let size = 258 + self.table.len() as u32 + u32::from(self.early);
        if size >= (1 << self.width) && self.width < 12 {
            self.width += 1;
        }
        self.prev = Some(code);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(raw: &[u8], filters: &[Filter]) -> u64 {
        decoded_size(raw, filters, &[], u64::MAX).0
    }

    #[test]
    fn simple_filters_decode_to_the_right_sizes() {
        assert_eq!(size(b"48 65 6c6c 6F>", &[Filter::AsciiHexDecode]), 5);
        assert_eq!(size(b"87cURD]i,\"Ebo80~>", &[Filter::Ascii85Decode]), 12); // "Hello World!"
        assert_eq!(size(b"zz~>", &[Filter::Ascii85Decode]), 8);
        assert_eq!(size(&[2, b'a', b'b', b'c', 255, b'x', 128], &[Filter::RunLengthDecode]), 5);
        let deflated = crate::image::deflate(&vec![7u8; 100_000]);
        assert_eq!(size(&deflated, &[Filter::FlateDecode]), 100_000);
        assert_eq!(size(b"anything", &[Filter::DctDecode]), 0);
    }

    #[test]
    fn lzw_decodes_the_specification_example() {
        // ISO 32000-1 §7.4.4.2: 45 45 45 45 45 65 45 45 45 66 with EarlyChange 1.
        let data = [0x80, 0x0B, 0x60, 0x50, 0x22, 0x0C, 0x0C, 0x85, 0x01];
        let mut reader = Stage::new(&data[..], Lzw::new(true));
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, [45, 45, 45, 45, 45, 65, 45, 45, 45, 66]);
    }

    #[test]
    fn every_stage_of_a_chain_is_capped() {
        let inner = crate::image::deflate(&vec![b' '; 4 << 20]);
        let outer = crate::image::deflate(&inner);
        let chain = [Filter::FlateDecode, Filter::FlateDecode];
        assert_eq!(decoded_size(&outer, &chain, &[], u64::MAX), (4 << 20, false));
        let (n, hit) = decoded_size(&outer, &chain, &[], 1 << 20);
        assert!(hit && n <= 1 << 20, "{n} {hit}");
    }
}
