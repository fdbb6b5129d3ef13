//! Accuracy measures for OCR output against ground truth: character error
//! rate (CER) and an order-insensitive bag-of-words F1.
//!
//! Both texts are normalised the same way first: Unicode NFKC, and every run
//! of whitespace collapsed to one space (trimmed at both ends).

use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;

/// NFKC, whitespace collapsed to single spaces, trimmed.
pub fn normalise(text: &str) -> String {
    let nfkc: String = text.nfkc().collect();
    nfkc.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Levenshtein distance between two character sequences.
pub fn edit_distance(a: &[char], b: &[char]) -> usize {
    if a.is_empty() {
        return b.len();
    }
    let mut row: Vec<usize> = (0..=a.len()).collect();
    for (j, cb) in b.iter().enumerate() {
        let mut diag = row[0];
        row[0] = j + 1;
        for (i, ca) in a.iter().enumerate() {
            let next = (row[i + 1] + 1).min(row[i] + 1).min(diag + usize::from(ca != cb));
            diag = row[i + 1];
            row[i + 1] = next;
        }
    }
    row[a.len()]
}

/// Counts gathered over a corpus; the rates are corpus-level (errors summed
/// over documents divided by reference length summed over documents).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scores {
    /// Edit operations, case-sensitive.
    pub char_errors: usize,
    /// Edit operations after lower-casing both texts.
    pub char_errors_caseless: usize,
    /// Characters in the normalised references.
    pub reference_chars: usize,
    /// Words found in both (multiset intersection, case-sensitive).
    pub words_matched: usize,
    /// Words found in both after lower-casing.
    pub words_matched_caseless: usize,
    /// Words in the hypotheses.
    pub hypothesis_words: usize,
    /// Words in the references.
    pub reference_words: usize,
    /// Reference words that contain a digit (amounts, dates, times, codes).
    pub reference_digit_words: usize,
    /// Of those, how many the hypothesis holds as one whole word (caseless
    /// multiset match): a split `33 .92` or a merged `RM33.92` misses.
    pub digit_words_whole: usize,
}

impl Scores {
    /// Scores one document and returns its counts.
    pub fn of(hypothesis: &str, reference: &str) -> Self {
        let (h, r) = (normalise(hypothesis), normalise(reference));
        let hc: Vec<char> = h.chars().collect();
        let rc: Vec<char> = r.chars().collect();
        let hl: Vec<char> = h.to_lowercase().chars().collect();
        let rl: Vec<char> = r.to_lowercase().chars().collect();
        Self {
            char_errors: edit_distance(&hc, &rc),
            char_errors_caseless: edit_distance(&hl, &rl),
            reference_chars: rc.len(),
            words_matched: bag_intersection(&h, &r),
            words_matched_caseless: bag_intersection(&h.to_lowercase(), &r.to_lowercase()),
            hypothesis_words: h.split(' ').filter(|w| !w.is_empty()).count(),
            reference_words: r.split(' ').filter(|w| !w.is_empty()).count(),
            reference_digit_words: r.split(' ').filter(|w| has_digit(w)).count(),
            digit_words_whole: digit_word_matches(&h.to_lowercase(), &r.to_lowercase()),
        }
    }

    /// Character error rate (case-sensitive).
    pub fn cer(&self) -> f64 {
        self.char_errors as f64 / self.reference_chars.max(1) as f64
    }

    /// Character error rate ignoring case.
    pub fn cer_caseless(&self) -> f64 {
        self.char_errors_caseless as f64 / self.reference_chars.max(1) as f64
    }

    /// Bag-of-words F1 (harmonic mean of word precision and recall), case-sensitive.
    pub fn bag_of_words_f1(&self) -> f64 {
        f1(self.words_matched, self.hypothesis_words, self.reference_words)
    }

    /// Bag-of-words F1 ignoring case (the SROIE ground truth is upper-cased
    /// even where the receipt prints lower case).
    pub fn bag_of_words_f1_caseless(&self) -> f64 {
        f1(self.words_matched_caseless, self.hypothesis_words, self.reference_words)
    }

    /// Share of the reference's digit-bearing words read as one whole word
    /// (1 when the reference has none).
    pub fn digit_words_whole_rate(&self) -> f64 {
        if self.reference_digit_words == 0 {
            return 1.0;
        }
        self.digit_words_whole as f64 / self.reference_digit_words as f64
    }
}

fn has_digit(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_digit())
}

/// Reference words with a digit that `hypothesis` holds whole (multiset match).
fn digit_word_matches(hypothesis: &str, reference: &str) -> usize {
    let digits_only = |t: &str| t.split(' ').filter(|w| has_digit(w)).collect::<Vec<_>>().join(" ");
    bag_intersection(&digits_only(hypothesis), &digits_only(reference))
}

/// Size of the multiset intersection of the space-separated words of `a` and `b`.
fn bag_intersection(a: &str, b: &str) -> usize {
    let mut bag: HashMap<&str, isize> = HashMap::new();
    for w in b.split(' ').filter(|w| !w.is_empty()) {
        *bag.entry(w).or_default() += 1;
    }
    let mut matched = 0;
    for w in a.split(' ').filter(|w| !w.is_empty()) {
        if let Some(n) = bag.get_mut(w) {
            if *n > 0 {
                *n -= 1;
                matched += 1;
            }
        }
    }
    matched
}

fn f1(matched: usize, hypothesis: usize, reference: usize) -> f64 {
    let p = matched as f64 / hypothesis.max(1) as f64;
    let r = matched as f64 / reference.max(1) as f64;
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

impl std::ops::AddAssign for Scores {
    fn add_assign(&mut self, o: Self) {
        self.char_errors += o.char_errors;
        self.char_errors_caseless += o.char_errors_caseless;
        self.reference_chars += o.reference_chars;
        self.words_matched += o.words_matched;
        self.words_matched_caseless += o.words_matched_caseless;
        self.hypothesis_words += o.hypothesis_words;
        self.reference_words += o.reference_words;
        self.reference_digit_words += o.reference_digit_words;
        self.digit_words_whole += o.digit_words_whole;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_width_and_whitespace() {
        assert_eq!(normalise("  ＡＢＣ\r\n  d\te "), "ABC d e");
    }

    #[test]
    fn edit_distance_basics() {
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        assert_eq!(edit_distance(&c("kitten"), &c("sitting")), 3);
        assert_eq!(edit_distance(&c(""), &c("abc")), 3);
        assert_eq!(edit_distance(&c("abc"), &c("abc")), 0);
    }

    #[test]
    fn scores_count_case_and_words() {
        let s = Scores::of("Total 3.90\nCASH", "TOTAL 3.90 CASH CHANGE");
        assert_eq!(s.reference_chars, 22);
        assert_eq!(s.char_errors_caseless, 7);
        assert_eq!(s.words_matched, 2);
        assert_eq!(s.words_matched_caseless, 3);
        assert_eq!((s.reference_digit_words, s.digit_words_whole), (1, 1));
        assert_eq!(Scores::of("TOTAL 33 .92", "TOTAL 33.92").digit_words_whole_rate(), 0.0);
        assert!((s.bag_of_words_f1() - 2.0 * (2.0 / 3.0) * 0.5 / (2.0 / 3.0 + 0.5)).abs() < 1e-9);
    }
}
