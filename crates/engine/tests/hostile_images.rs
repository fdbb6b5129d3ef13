//! Hostile images (built here, small): a GIF whose 1 × 1 frames sit on a
//! huge canvas, a total pixel budget over all pages, and cancellation
//! between pages. No model files are needed.

use std::borrow::Cow;
use std::io::Cursor;

use ocr_engine::cancel::Cancel;
use ocr_engine::{decode_image, for_each_page, DecodeLimits, EngineError, RgbImage};

/// A GIF89a with a `width` × `height` canvas, a black-and-white global
/// palette, and one 1 × 1 black frame at each of `at` (150 bytes for three).
fn tiny_frames_on_a_big_canvas(width: u16, height: u16, at: &[(u16, u16)]) -> Vec<u8> {
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&width.to_le_bytes());
    gif.extend_from_slice(&height.to_le_bytes());
    gif.extend_from_slice(&[0x80, 0, 0]); // global palette of 2 colours
    gif.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    for &(x, y) in at {
        gif.extend_from_slice(&[0x21, 0xF9, 4, 0b0000_0100, 10, 0, 0, 0]); // keep each frame
        gif.push(0x2C);
        for v in [x, y, 1, 1] {
            gif.extend_from_slice(&v.to_le_bytes());
        }
        gif.push(0);
        // LZW, minimum code size 2: clear (4), index 0, end (5) in 3-bit codes.
        gif.extend_from_slice(&[2, 2, 0x44, 0x01, 0]);
    }
    gif.push(0x3B);
    gif
}

#[test]
fn big_canvas_gif_frames_are_decoded_one_at_a_time_on_one_canvas() {
    let gif = tiny_frames_on_a_big_canvas(6000, 6000, &[(10, 10), (5000, 20), (30, 5999)]);
    assert!(gif.len() < 200, "{}", gif.len());
    let mut seen = Vec::new();
    // Allowed here, to see the frames (the default budget refuses this file).
    let roomy = DecodeLimits { max_pixels_per_byte: u64::MAX, ..DecodeLimits::default() };
    let pages = for_each_page(&gif, &roomy, |index, page| {
        assert!(matches!(page, Cow::Borrowed(_)), "frames are lent from the reused canvas, not copied");
        assert_eq!(page.dimensions(), (6000, 6000));
        seen.push((index, page.get_pixel(10, 10).0, page.get_pixel(5000, 20).0, page.get_pixel(30, 5999).0));
        Ok(())
    })
    .unwrap();
    assert_eq!(pages, 3);
    let (black, white) = ([0, 0, 0], [255, 255, 255]);
    assert_eq!(seen, [(0, black, white, white), (1, black, black, white), (2, black, black, black)]);
    println!("peak RSS so far: {}", peak_rss());
}

#[test]
fn the_issues_gif_is_refused_before_any_frame_is_decoded() {
    // 3 × 36 MP from 89 bytes: over max(64 MP, 1000 pixels per byte).
    let gif = tiny_frames_on_a_big_canvas(6000, 6000, &[(10, 10), (5000, 20), (30, 5999)]);
    let mut read = 0;
    let err = for_each_page(&gif, &DecodeLimits::default(), |_, _| {
        read += 1;
        Ok(())
    })
    .unwrap_err();
    assert!(matches!(err, EngineError::TotalPixels { limit: 64_000_000 }), "{err}");
    assert_eq!(read, 0);
    // One such frame is a single (blank) page within the per-page limit.
    let one = tiny_frames_on_a_big_canvas(6000, 6000, &[(10, 10)]);
    assert_eq!(for_each_page(&one, &DecodeLimits::default(), |_, _| Ok(())).unwrap(), 1);
}

#[test]
fn canvas_pixels_of_every_frame_count_against_the_total() {
    let gif = tiny_frames_on_a_big_canvas(6000, 6000, &[(0, 0), (1, 1), (2, 2)]);
    let limits =
        DecodeLimits { max_total_pixels: 100_000_000, max_pixels_per_byte: u64::MAX, ..DecodeLimits::default() };
    let mut read = 0;
    let err = for_each_page(&gif, &limits, |_, _| {
        read += 1;
        Ok(())
    })
    .unwrap_err();
    assert!(matches!(err, EngineError::TotalPixels { limit: 100_000_000 }), "{err}");
    assert_eq!(read, 0, "3 × 36 MP is over 100 MP: refused before the first frame");
    let frames = DecodeLimits { max_pages: 2, ..DecodeLimits::default() };
    assert!(matches!(for_each_page(&gif, &frames, |_, _| Ok(())), Err(EngineError::TooManyPages { limit: 2 })));
}

#[test]
fn composited_frames_match_the_image_crate() {
    // An ordinary animation: frames of different sizes and places, with transparency.
    let mut bytes = Vec::new();
    {
        let mut enc = image::codecs::gif::GifEncoder::new(&mut bytes);
        for (shade, size) in [(0u8, 30u32), (120, 12), (200, 20)] {
            let frame = image::RgbaImage::from_fn(size, size, |x, _| {
                image::Rgba([shade, 255 - shade, shade / 2, if x % 3 == 0 { 0 } else { 255 }])
            });
            enc.encode_frame(image::Frame::from_parts(frame, 4, 5, image::Delay::from_numer_denom_ms(10, 1))).unwrap();
        }
    }
    let ours = decode_image(&bytes, &DecodeLimits::default()).unwrap();
    let theirs: Vec<RgbImage> = {
        use image::AnimationDecoder;
        let decoder = image::codecs::gif::GifDecoder::new(Cursor::new(&bytes)).unwrap();
        decoder
            .into_frames()
            .map(|f| {
                let rgba = f.unwrap().into_buffer();
                RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
                    let p = rgba.get_pixel(x, y).0;
                    let a = u32::from(p[3]);
                    let blend = |c: u8| ((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
                    image::Rgb([blend(p[0]), blend(p[1]), blend(p[2])])
                })
            })
            .collect()
    };
    assert_eq!(ours.len(), theirs.len());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a.dimensions(), b.dimensions(), "frame {i}");
        assert!(a == b, "frame {i} differs");
    }
}

#[test]
fn a_cancelled_token_stops_decoding_between_pages() {
    let gif = tiny_frames_on_a_big_canvas(64, 64, &[(0, 0), (1, 1), (2, 2)]);
    let token = Cancel::new();
    let mut read = 0;
    let result = token.scope(|| {
        for_each_page(&gif, &DecodeLimits::default(), |_, _| {
            read += 1;
            token.cancel();
            Ok(())
        })
    });
    assert!(matches!(result, Err(EngineError::Cancelled)), "{result:?}");
    assert_eq!(read, 1);
}

/// The process's peak resident memory, for the log.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM")).map(str::to_owned))
        .unwrap_or_default()
}
