//! The recogniser's class list, read from the model's ONNX metadata.

/// Maps recogniser class indices to symbols.
///
/// PP-OCR convention (verified on v4 and v6): class 0 is the CTC blank,
/// classes `1..=n` are the `n` lines of the model's `character` metadata, and
/// class `n + 1` is a space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dictionary {
    symbols: Vec<String>,
}

impl Dictionary {
    /// Parses the `character` metadata value: one symbol per line.
    pub fn from_lines(text: &str) -> Self {
        let mut symbols = vec![String::new()];
        symbols.extend(text.lines().map(|l| l.trim_end_matches('\r').to_string()));
        symbols.push(" ".to_string());
        Self { symbols }
    }

    /// Number of model classes (dictionary entries + blank + space).
    pub fn classes(&self) -> usize {
        self.symbols.len()
    }

    /// The symbol of `class` (empty for the blank or an unknown class).
    pub fn symbol(&self, class: usize) -> &str {
        self.symbols.get(class).map(String::as_str).unwrap_or("")
    }

    /// The classes of the ASCII digits `0`-`9` the model has, with their digit.
    pub fn digit_classes(&self) -> Vec<(usize, char)> {
        let digit = |s: &str| {
            let mut it = s.chars();
            it.next().filter(|c| c.is_ascii_digit() && it.next().is_none())
        };
        self.symbols.iter().enumerate().filter_map(|(i, s)| digit(s).map(|d| (i, d))).collect()
    }

    /// The classes of the ASCII letters `a`-`z` and `A`-`Z` the model has,
    /// with their letter.
    pub fn letter_classes(&self) -> Vec<(usize, char)> {
        let letter = |s: &str| {
            let mut it = s.chars();
            it.next().filter(|c| c.is_ascii_alphabetic() && it.next().is_none())
        };
        self.symbols.iter().enumerate().filter_map(|(i, s)| letter(s).map(|d| (i, d))).collect()
    }

    /// Every symbol the model can emit (blank excluded).
    pub fn symbols(&self) -> impl Iterator<Item = &str> {
        self.symbols.iter().skip(1).map(String::as_str)
    }

    /// The dictionary of a model pruned to `classes` (indices into this one,
    /// which must start with the blank 0 and end with the space).
    pub fn subset(&self, classes: &[usize]) -> Self {
        Self { symbols: classes.iter().map(|&c| self.symbol(c).to_string()).collect() }
    }

    /// Class indices whose symbol satisfies `keep`, with the blank first and
    /// the space last, ready for [`Dictionary::subset`] and
    /// [`crate::recognition::keep_output_classes`].
    pub fn classes_where(&self, keep: impl Fn(&str) -> bool) -> Vec<usize> {
        let space = self.symbols.len() - 1;
        let mut out = vec![0];
        out.extend((1..space).filter(|&i| keep(&self.symbols[i])));
        out.push(space);
        out
    }

    /// A class mask that allows the symbols for which `keep` holds (and the
    /// space), for [`crate::recognition::Recognizer::recognize`].
    pub fn mask(&self, keep: impl Fn(&str) -> bool) -> Vec<bool> {
        self.symbols.iter().enumerate().map(|(i, s)| i == 0 || s == " " || keep(s)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_first_space_last() {
        let d = Dictionary::from_lines("a\nb\nc");
        assert_eq!(d.classes(), 5);
        assert_eq!(d.symbol(0), "");
        assert_eq!(d.symbol(1), "a");
        assert_eq!(d.symbol(4), " ");
        assert_eq!(d.symbol(99), "");
        assert_eq!(d.mask(|s| s == "b"), vec![true, false, true, false, true]);
    }
}
