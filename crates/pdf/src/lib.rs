//! PDF output and input for the OCR server.
//!
//! # Writing searchable PDFs
//!
//! [`write_searchable_pdf`] turns page images plus OCR word boxes into a
//! "sandwich" PDF: each page shows its image, with a text layer on top that
//! viewers can search, select and copy. The technique (see the module
//! sources for details):
//!
//! * **Image**: a JPEG is embedded byte for byte with `/DCTDecode` (no
//!   re-encoding: no loss and no CPU cost); raw gray/RGB pixels are
//!   Flate-compressed, and gray images holding only black and white are
//!   stored at 1 bit per pixel. The page is `pixels × 72 / dpi` points and the
//!   image fills it.
//! * **Font**: one shared Type0 font with `Identity-H` encoding over a small
//!   TrueType font built by this crate, whose glyphs are empty and half an em
//!   wide. Character codes are CIDs allocated per document; a `ToUnicode`
//!   CMap maps each back to its text (UTF-16, so characters beyond the BMP
//!   work). The descriptor's ascent/descent (800/−200) make extracted word
//!   boxes span the line box.
//! * **Text**: invisible (render mode 3). Each word's font size is its box
//!   height; it gets an absolute text matrix at its left edge on its baseline
//!   and a horizontal scaling (`Tz`) that stretches it to its box width; a
//!   space glyph stretched over the gap separates words (none between
//!   Chinese/Japanese words). Text is NFKC-normalised. On tilted lines the
//!   baselines are levelled and boxes taller than the line pitch are capped
//!   (`placement`), so text extractors keep each line whole.
//! * [`TextLayer::Visible`] paints the words in red Courier instead (for
//!   checking OCR against the scan), with the same geometry.
//!
//! # Reading PDFs
//!
//! [`page_count`] is cheap (it only parses the cross-reference table and page
//! tree) so a page limit can be enforced before any work. [`read_pages`]
//! interprets each page once without rendering and then decides, per page:
//!
//! 1. **Born-digital** ([`InputPage::Text`]): the page shows visible text
//!    (render mode other than 3) and at least 90 % of those glyphs map to
//!    Unicode. All of the page's text, visible and invisible, is returned as
//!    words and lines in content order; no OCR is needed. Images on such a
//!    page are not looked at.
//! 2. **Scanned** ([`InputPage::EmbeddedImage`]): no visible text, no vector
//!    drawing, and exactly one image that covers at least 90 % of the page
//!    upright (no rotation or mirroring) and has no mask. A JPEG without a
//!    `/Decode` array in gray or RGB is returned as its original bytes;
//!    any other image is decoded to gray or RGB pixels. Invisible text is
//!    ignored: an OCR'd sandwich page (such as the hidden layer this crate
//!    writes) counts as scanned, so the server re-does the OCR with its own
//!    engine and reading order.
//! 3. **Anything else** ([`InputPage::Raster`]): rendered at
//!    [`ReadLimits::dpi`] to RGB pixels on white. A page with no content at
//!    all gives an empty [`InputPage::Text`].
//!
//! [`PdfReader`] reads the pages one at a time (so a caller holds one page's
//! pixels at a time), and its methods take a cancellation flag.
//!
//! Input is bounded by [`ReadLimits`]. Before any page is interpreted the
//! page count is checked, and every stream is decoded once through its
//! whole filter chain (Flate, LZW, RunLength, ASCIIHex, ASCII85) with
//! streaming decoders, every stage counted against a limit, to refuse
//! decompression bombs (inline images are checked when drawn). Before a page
//! is interpreted, its operators with every Form XObject expanded are
//! counted (memoised, so nested forms drawing each other cost nothing to
//! count) against a work budget, and while it is interpreted every drawing
//! call is charged to the same budget. Images are checked against the
//! per-page pixel limit (by their dictionary and, for JPEGs, their own
//! header) and every page's pixels against a total for the document before
//! they are decoded or a page is rendered. Files encrypted with an
//! empty user password are read; ones that need a password, damaged files and
//! oversized pages give a [`PdfError`]. Third-party parsing and rendering run
//! under `catch_unwind`, so malformed input gives an error, never a panic
//! (the panic message still reaches the process's panic hook).
//!
//! Known limits: text is extracted in content-stream order (no column
//! detection), glyph boxes assume an ascent/descent of 0.8/−0.2 em, and
//! rasterising a page (once its work has been measured) cannot be cancelled.
#![forbid(unsafe_code)]

mod error;
mod font;
mod image;
mod placement;
mod reader;
mod text;
mod writer;

pub use error::PdfError;
pub use image::{ImageData, PageImage, DEFAULT_DPI};
pub use reader::{page_count, read_pages, render_page, InputPage, PdfReader, ReadLimits};
pub use text::{TextLine, TextWord};
pub use writer::{write_searchable_pdf, PdfPage, TextLayer};
