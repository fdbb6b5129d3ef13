//! Guards against decompression bombs, checked before any page is interpreted.
//!
//! The interpreter decodes streams completely in memory, filter after
//! filter, and a Flate or LZW stage can expand about a thousandfold (a chain
//! of two, a millionfold). So every stream of the document is first decoded
//! here through its whole filter chain with streaming decoders, counting the
//! bytes of every stage and stopping at the limits, without keeping the output.

use std::sync::atomic::{AtomicBool, Ordering};

use hayro::hayro_interpret::hayro_syntax::object::dict::keys;
use hayro::hayro_interpret::hayro_syntax::object::{Dict, Object, Stream};
use hayro::hayro_interpret::hayro_syntax::Pdf;

use super::filters::decoded_size;
use crate::PdfError;

/// Decoded bytes allowed for all streams of one document together.
const TOTAL_LIMIT: u64 = 2 << 30;

/// Fails when any stage of one stream's filter chain would decode to more
/// than `per_stream` bytes, or all streams together to more than
/// [`TOTAL_LIMIT`]; stops with [`PdfError::Cancelled`] once `cancel` is set.
pub(super) fn check_streams(pdf: &Pdf, per_stream: u64, cancel: &AtomicBool) -> Result<(), PdfError> {
    let mut total = 0u64;
    for object in pdf.objects() {
        if cancel.load(Ordering::Relaxed) {
            return Err(PdfError::Cancelled);
        }
        let Object::Stream(stream) = object else { continue };
        check_stream(&stream, per_stream, &mut total)?;
    }
    Ok(())
}

/// Checks one stream (also used for inline images, which are not objects),
/// adding what it decodes to to `total`.
pub(super) fn check_stream(stream: &Stream<'_>, per_stream: u64, total: &mut u64) -> Result<(), PdfError> {
    let filters = stream.filters();
    if filters.is_empty() {
        return Ok(());
    }
    let (size, hit) =
        decoded_size(&stream.raw_data(), &filters, &early_change(stream.dict(), filters.len()), per_stream);
    *total = total.saturating_add(size);
    if hit || size > per_stream {
        return Err(PdfError::DecompressionLimit { limit: per_stream });
    }
    if *total > TOTAL_LIMIT {
        return Err(PdfError::DecompressionLimit { limit: TOTAL_LIMIT });
    }
    Ok(())
}

/// The LZW `EarlyChange` parameter (default on) of each of `n` filters.
fn early_change(dict: &Dict<'_>, n: usize) -> Vec<bool> {
    let of = |params: Option<Dict<'_>>| params.and_then(|p| p.get::<i64>(keys::EARLY_CHANGE)).is_none_or(|e| e != 0);
    let single = dict.get::<Dict<'_>>(keys::DECODE_PARMS).or_else(|| dict.get::<Dict<'_>>(keys::DP));
    if single.is_some() {
        return vec![of(single); n];
    }
    match dict.get::<hayro::hayro_interpret::hayro_syntax::object::Array<'_>>(keys::DECODE_PARMS) {
        Some(array) => {
            let mut items = array.iter::<Object<'_>>();
            (0..n).map(|_| of(items.next().and_then(|o| o.into_dict()))).collect()
        }
        None => vec![true; n],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hayro::hayro_interpret::hayro_syntax::Filter;

    #[test]
    fn decoded_size_counts_and_stops_at_the_cap() {
        let data = crate::image::deflate(&vec![0u8; 1_000_000]);
        let flate = [Filter::FlateDecode];
        assert_eq!(decoded_size(&data, &flate, &[], u64::MAX), (1_000_000, false));
        let (n, hit) = decoded_size(&data, &flate, &[], 10_000);
        assert!(hit && n < 20_000, "{n}");
        assert!(decoded_size(b"junk", &flate, &[], 100).0 < 100);
    }
}
