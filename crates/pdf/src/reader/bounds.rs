//! Guards against decompression bombs, checked before any page is interpreted.
//!
//! The interpreter inflates Flate streams completely in memory, and a Flate
//! stream can expand about a thousandfold. So every Flate-compressed stream
//! of the document is first inflated here into a small scratch buffer,
//! counting bytes and stopping at the limits, without keeping the output.

use std::io::Read;

use hayro::hayro_interpret::hayro_syntax::object::Object;
use hayro::hayro_interpret::hayro_syntax::{Filter, Pdf};

use crate::PdfError;

/// Decoded bytes allowed for all Flate streams of one document together.
const TOTAL_LIMIT: u64 = 2 << 30;

/// Fails when one Flate stream would inflate to more than `per_stream`
/// bytes, or all of them together to more than [`TOTAL_LIMIT`].
pub(super) fn check_flate_streams(pdf: &Pdf, per_stream: u64) -> Result<(), PdfError> {
    let mut total = 0u64;
    let mut scratch = vec![0u8; 64 * 1024];
    for object in pdf.objects() {
        let Object::Stream(stream) = object else { continue };
        if stream.filters().first() != Some(&Filter::FlateDecode) {
            continue;
        }
        let raw = stream.raw_data();
        let size = inflated_size(&raw, per_stream.saturating_add(1), &mut scratch);
        total = total.saturating_add(size);
        if size > per_stream || total > TOTAL_LIMIT {
            return Err(PdfError::DecompressionLimit {
                limit: if size > per_stream { per_stream } else { TOTAL_LIMIT },
            });
        }
    }
    Ok(())
}

/// Bytes the zlib (or raw deflate) data inflates to, counting at most `cap`.
/// Corrupt data counts up to the point of the error.
fn inflated_size(data: &[u8], cap: u64, scratch: &mut [u8]) -> u64 {
    let zlib = count(flate2::read::ZlibDecoder::new(data), cap, scratch);
    if zlib.1 {
        zlib.0
    } else {
        zlib.0.max(count(flate2::read::DeflateDecoder::new(data), cap, scratch).0)
    }
}

/// (bytes read, whether the stream ended cleanly).
fn count(mut reader: impl Read, cap: u64, scratch: &mut [u8]) -> (u64, bool) {
    let mut n = 0u64;
    loop {
        match reader.read(scratch) {
            Ok(0) => return (n, true),
            Ok(k) => {
                n += k as u64;
                if n >= cap {
                    return (n, true);
                }
            }
            Err(_) => return (n, false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflated_size_counts_and_stops_at_the_cap() {
        let data = crate::image::deflate(&vec![0u8; 1_000_000]);
        let mut scratch = vec![0u8; 4096];
        assert_eq!(inflated_size(&data, u64::MAX, &mut scratch), 1_000_000);
        assert!(inflated_size(&data, 10_000, &mut scratch) < 20_000);
        assert!(inflated_size(b"junk", 100, &mut scratch) < 100);
    }
}
