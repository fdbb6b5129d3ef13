//! The crate's error type.

/// Everything that can go wrong writing or reading a PDF.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    /// A page picture is unusable (not a JPEG, wrong pixel buffer length, zero size…).
    #[error("invalid page image: {0}")]
    InvalidImage(String),
    /// A word box has a coordinate that is not a finite number, or a negative size.
    #[error("invalid word box on page {page}: {reason}")]
    InvalidWord {
        /// 1-based page number.
        page: usize,
        /// What is wrong.
        reason: String,
    },
    /// Nothing to write: the page list is empty.
    #[error("a PDF needs at least one page")]
    NoPages,
    /// The text layer uses more distinct characters than a 2-byte font can address.
    #[error("the text layer uses more than 65535 distinct characters")]
    TooManyCharacters,
    /// Serialising the document failed.
    #[error("writing the PDF failed: {0}")]
    Write(String),
    /// A [`ReadLimits`](crate::ReadLimits) value is out of range.
    #[error("invalid read limits: {0}")]
    InvalidLimits(String),
    /// The input is larger than [`ReadLimits::max_bytes`](crate::ReadLimits::max_bytes).
    #[error("the PDF is {bytes} bytes, more than the limit of {max}")]
    TooLarge {
        /// Size of the input.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The input is not a PDF that can be parsed (truncated, damaged, not a PDF at all).
    #[error("the file is not a readable PDF: {0}")]
    Malformed(String),
    /// The PDF is encrypted with a password, or with an unsupported scheme.
    #[error("the PDF is encrypted: {0}")]
    Encrypted(String),
    /// The document has more pages than [`ReadLimits::max_pages`](crate::ReadLimits::max_pages).
    #[error("the PDF has {pages} pages, more than the limit of {max}")]
    TooManyPages {
        /// Pages in the document.
        pages: usize,
        /// The limit.
        max: usize,
    },
    /// A page (its raster at the requested resolution, or an image on it that
    /// would have to be decoded) has more pixels than
    /// [`ReadLimits::max_pixels_per_page`](crate::ReadLimits::max_pixels_per_page).
    #[error("page {page} would need {width}×{height} pixels, more than the limit of {max}")]
    PageTooLarge {
        /// 1-based page number.
        page: usize,
        /// Width in pixels.
        width: u64,
        /// Height in pixels.
        height: u64,
        /// The limit on width × height.
        max: u64,
    },
    /// A compressed stream of the PDF inflates to more than the reader allows
    /// (a decompression bomb, or an absurdly large page).
    #[error("a compressed stream inflates to more than {limit} bytes")]
    DecompressionLimit {
        /// The limit that was hit, in bytes.
        limit: u64,
    },
    /// A page would make the interpreter run more operators (with nested
    /// Form XObjects expanded) or more drawing work than
    /// [`ReadLimits::max_operations`](crate::ReadLimits::max_operations) allows.
    #[error("page {page} needs more than {limit} drawing operations (nested or repeated forms, or very many page-sized fills)")]
    TooMuchWork {
        /// 1-based page number.
        page: usize,
        /// The limit.
        limit: u64,
    },
    /// The pages decoded so far and the next one together have more pixels
    /// than [`ReadLimits::max_total_pixels`](crate::ReadLimits::max_total_pixels).
    #[error("the document's pages need more than {max} pixels in total")]
    PixelBudget {
        /// The limit on the pixels of all pages together.
        max: u64,
    },
    /// The caller's cancellation flag was set (the request timed out or went away).
    #[error("reading the PDF was cancelled")]
    Cancelled,
    /// Interpreting or rendering a page failed (the renderer gave up or panicked).
    #[error("page {page} could not be rendered: {reason}")]
    Render {
        /// 1-based page number.
        page: usize,
        /// What happened.
        reason: String,
    },
}
