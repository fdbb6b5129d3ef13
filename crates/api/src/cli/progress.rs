//! A one-line progress display on stderr for multi-page input:
//! `[2/3] scan.pdf: page 4 of 12`, redrawn in place, cleared when done.

use std::io::Write;

/// The progress line of one `ocr` run.
pub struct Progress {
    enabled: bool,
    files: usize,
    drawn: bool,
}

impl Progress {
    /// A display for `files` inputs; draws nothing unless `enabled`.
    pub fn new(enabled: bool, files: usize) -> Self {
        Self { enabled, files, drawn: false }
    }

    /// Shows that page `done` of `total` of input `file` (0-based index
    /// `file_index`) has been read. Single-page inputs of a single-file run
    /// show nothing.
    pub fn page(&mut self, file_index: usize, file: &str, done: usize, total: usize) {
        if !self.enabled || (self.files == 1 && total <= 1) {
            return;
        }
        let prefix = if self.files > 1 { format!("[{}/{}] ", file_index + 1, self.files) } else { String::new() };
        let mut err = std::io::stderr().lock();
        // \r back to the line start, \x1b[K clears what a longer line left.
        let _ = write!(err, "\r\x1b[K{prefix}{file}: page {done} of {total}");
        let _ = err.flush();
        self.drawn = true;
    }

    /// Ends the line so later messages start on a fresh one.
    pub fn finish(&mut self) {
        if self.drawn {
            let _ = writeln!(std::io::stderr().lock());
            self.drawn = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
