//! From recognised text segments to words, lines and blocks in reading order.
//!
//! Words: a segment's characters are split at the spaces the model emitted
//! and also where the crop shows a run of ink-free columns between two
//! characters (located by their CTC time steps) wider than a fraction of the
//! line height: the recogniser often drops the space between words
//! ("TAMANDAYA" for "TAMAN DAYA"). On crops too faint to tell ink from paper,
//! a CTC gap much wider than the line's usual character pitch splits instead.
//!
//! Lines, blocks, columns and reading order: [`crate::reading_order`].

use crate::crop::LineCrop;
use crate::geometry::Quad;
pub use crate::ink::blank_columns;
use crate::ink::{ink_spans, InkMap};
use crate::marks::points_on_the_baseline;
pub use crate::reading_order::assemble;
use crate::recognition::{RecognizedChar, RecognizedText};
use crate::result::{BoundingBox, Word};

/// Parameters of word splitting and line/block grouping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayoutParams {
    /// Ink-free columns between two characters, as a fraction of the crop
    /// height, that make a word break...
    pub word_gap_blank: f32,
    /// ... provided they are also at least this fraction of the line's
    /// typical character pitch (wide and letter-spaced fonts have wide gaps
    /// between the letters of one word).
    pub word_gap_blank_pitch: f32,
    /// Without usable contrast: a gap between character centres wider than
    /// this many typical character pitches makes a word break.
    pub word_gap_pitches: f32,
    /// Distance between character centres, in typical pitches, that a
    /// break inside what reads as one token (`33.92`, `21:13`, `12-01-19`)
    /// needs besides the blank gap.
    pub word_gap_joined: f32,
    /// A letter or mark between digits (`1O.5O`, `2l:13`) is read as the
    /// digit the model found most probable on its time steps when that
    /// digit's mean probability there is at least this (above 1: never).
    pub digit_alternative_min: f32,
    /// A run of digits between two letters of a word (`s0cket`, `g00ds`)
    /// is read as the letters the model found most probable on its time
    /// steps when each of those letters' mean probability there is at least
    /// this (above 1: never).
    pub letter_alternative_min: f32,
    /// Inside what reads as one token (see [`LayoutParams::word_gap_joined`]),
    /// a blank-gap break also needs the model to have given its space class
    /// at least this probability between the two characters (0: not needed).
    pub joined_space_min: f32,
    /// Vertical overlap (fraction of the smaller height) for two segments to share a line.
    pub line_overlap: f32,
    /// Vertical gap, in median line heights, that starts a new block.
    pub block_gap: f32,
    /// A column holds at least this many segments.
    pub column_min_lines: usize,
    /// Most segments of a text column are at least this many line heights
    /// wide (about twice as many characters): narrower runs of cells are a
    /// table or a receipt's price column, read row by row.
    pub column_min_width: f32,
    /// A gutter between columns is at least this many line heights wide.
    pub column_min_gutter: f32,
    /// At most this fraction of a region's segments may cross a gutter
    /// (besides those wider than [`LayoutParams::column_spanner_width`]).
    pub column_max_crossing: f32,
    /// Segments at least this fraction of the region's width never count
    /// against a gutter: they are headings or full-width text.
    pub column_spanner_width: f32,
}

impl Default for LayoutParams {
    fn default() -> Self {
        Self {
            word_gap_blank: 0.23,
            word_gap_blank_pitch: 0.45,
            word_gap_pitches: 1.9,
            word_gap_joined: 1.2,
            digit_alternative_min: 0.1,
            letter_alternative_min: 0.01,
            joined_space_min: 0.001,
            line_overlap: 0.5,
            block_gap: 1.2,
            column_min_lines: 3,
            column_min_width: 8.0,
            column_min_gutter: 1.2,
            column_max_crossing: 0.05,
            column_spanner_width: 0.6,
        }
    }
}

/// One recognised segment (a detector box and its reading).
#[derive(Debug, Clone)]
pub struct Segment {
    /// Words of the segment, left to right.
    pub words: Vec<Word>,
    /// Box of the whole detected region, in page pixels.
    pub bbox: BoundingBox,
    /// The detected region itself (its slope tells the text's tilt).
    pub quad: Quad,
}

/// Splits a reading into words with page-pixel boxes. `scale` maps working
/// image coordinates to original page coordinates.
pub fn words_from_reading(crop: &LineCrop, reading: &RecognizedText, params: &LayoutParams, scale: f32) -> Vec<Word> {
    let height = crop.image.height() as f32;
    let content_width = crop.image.width() as f32;
    let ink = InkMap::new(&crop.image);
    let blank = ink.blank_columns();
    let chars = digits_in_numbers(&reading.chars, params.digit_alternative_min);
    let chars = points_on_the_baseline(&chars, &ink, &ink_spans(&chars, &blank));
    let groups = split_words(&chars, &blank, height, params);
    let pitch = typical_pitch(&chars).unwrap_or(height * 0.5);
    let mut words = Vec::with_capacity(groups.len());
    for (i, group) in groups.iter().enumerate() {
        let (first, last) = (group[0], group[group.len() - 1]);
        let centre = |c: &RecognizedChar| (c.x0 + c.x1) / 2.0;
        let mut x0 = (centre(first) - pitch * 0.6).max(0.0);
        let mut x1 = (centre(last) + pitch * 0.6).min(content_width);
        // Never overlap the neighbouring words.
        if i > 0 {
            let prev = groups[i - 1][groups[i - 1].len() - 1];
            x0 = x0.max((centre(prev) + centre(first)) / 2.0);
        }
        if let Some(next) = groups.get(i + 1) {
            x1 = x1.min((centre(last) + centre(next[0])) / 2.0);
        }
        if i == 0 {
            x0 = x0.min(first.x0);
        }
        (x0, x1) = trim_to_ink(&blank, x0, x1, centre(first), centre(last));
        let quad = crop.page_quad(x0, x1.max(x0 + 1.0)).scaled(scale, scale);
        let text = letters_in_word(group, params.letter_alternative_min);
        let confidence = group.iter().map(|c| c.confidence).sum::<f32>() / group.len() as f32;
        // The detector's score of the region is the caller's to set.
        words.push(Word { text, confidence, detection_score: 1.0, bbox: BoundingBox::from_quad(&quad), quad });
    }
    words
}

/// The characters with each letter or mark that stands between digits
/// (`1O.5O`, `2l:13`, `S.00` after a digit) replaced by the digit the model
/// found most probable on its time steps, when that digit's mean probability
/// is at least `min_probability`. Between digits means: the nearest
/// character on either side, past joining marks (`.`, `,`, `:`, `-`, `/`)
/// and never past a space, is a digit. The model's own second choice
/// decides, so no table of look-alike glyphs is needed.
fn digits_in_numbers(chars: &[RecognizedChar], min_probability: f32) -> Vec<RecognizedChar> {
    let joiner = |c: &RecognizedChar| matches!(c.text.as_str(), "." | "," | ":" | "-" | "/");
    let digit = |c: &RecognizedChar| c.text.len() == 1 && c.text.chars().all(|d| d.is_ascii_digit());
    let space = |c: &RecognizedChar| c.text.trim().is_empty();
    // The first character that is not a joining mark, walking from `k` in `step`.
    let neighbour_is_digit = |k: usize, step: isize| {
        let mut i = k as isize + step;
        while let Some(c) = usize::try_from(i).ok().and_then(|i| chars.get(i)) {
            if space(c) {
                return false;
            }
            if !joiner(c) {
                return digit(c);
            }
            i += step;
        }
        false
    };
    let mut out = chars.to_vec();
    for (k, c) in chars.iter().enumerate() {
        let Some((d, p)) = c.digit_alternative else { continue };
        if p >= min_probability
            && !digit(c)
            && !space(c)
            && !joiner(c)
            && neighbour_is_digit(k, -1)
            && neighbour_is_digit(k, 1)
        {
            out[k].text = d.to_string();
            out[k].digit_alternative = None;
        }
    }
    out
}

/// A run of digits between two letters of a word, with the letters the
/// model found most probable on its time steps.
#[derive(Debug, Clone, PartialEq)]
struct LetterRun {
    /// Index of the run's first character in the word.
    start: usize,
    /// Index past the run's last character.
    end: usize,
    /// The model's most probable letter for each digit of the run.
    letters: String,
    /// The lowest of those letters' mean probabilities.
    probability: f32,
}

/// The maximal runs of digits in `word` with a Latin letter right before
/// and right after them (`s0cket`, `g00ds`, `T0TAL`), with the model's most
/// probable letter for each digit. A digit with a letter on one side only
/// is not taken: before letters at a word's start it is a quantity or a
/// size (`8PCS`, `15A`, `1x`, `3M`), after letters at a word's end a code or
/// a subscript (`A4`, `AH019`, `Lexicon1`, `x1,`); on the receipts and pages
/// one digit after a letter at a word's end mended `N0:` but broke as many
/// subscripts (docs/engines.md).
fn digit_runs_between_letters(word: &[&RecognizedChar]) -> Vec<LetterRun> {
    let digit = |c: &RecognizedChar| c.text.len() == 1 && c.text.chars().all(|d| d.is_ascii_digit());
    let letter = |c: &RecognizedChar| {
        let mut it = c.text.chars();
        it.next().is_some_and(|l| l.is_alphabetic() && (l as u32) < 0x250) && it.next().is_none()
    };
    let mut runs = Vec::new();
    let mut k = 0;
    while k < word.len() {
        if !digit(word[k]) {
            k += 1;
            continue;
        }
        let start = k;
        while k < word.len() && digit(word[k]) {
            k += 1;
        }
        let between = start > 0 && letter(word[start - 1]) && word.get(k).is_some_and(|c| letter(c));
        let alternatives: Option<Vec<(char, f32)>> = word[start..k].iter().map(|c| c.letter_alternative).collect();
        if let (true, Some(alternatives)) = (between, alternatives) {
            runs.push(LetterRun {
                start,
                end: k,
                letters: alternatives.iter().map(|a| a.0).collect(),
                probability: alternatives.iter().map(|a| a.1).fold(1.0, f32::min),
            });
        }
    }
    runs
}

/// The text of `word` with each run of digits between two of its letters
/// (`s0cket`, `g00ds`, `T0TAL`) read as the letters the model found most
/// probable on its time steps, when each has a mean probability of at least
/// `min_probability` there. The inverse of [`digits_in_numbers`]: the
/// model's own second choice decides, so no table of look-alike glyphs is
/// needed, and a digit that touches another digit or a mark (`RM50`,
/// `1.5L`, `12A`, `No.1`) stays a digit.
fn letters_in_word(word: &[&RecognizedChar], min_probability: f32) -> String {
    let mut text = String::new();
    let mut k = 0;
    for run in digit_runs_between_letters(word) {
        if run.probability < min_probability {
            continue;
        }
        word[k..run.start].iter().for_each(|c| text.push_str(&c.text));
        text.push_str(&run.letters);
        k = run.end;
    }
    word[k..].iter().for_each(|c| text.push_str(&c.text));
    text
}

/// Narrows a word's span `x0..x1` to its ink: ink-free columns at either
/// end are dropped (never past the first and last characters' centres), so
/// neighbouring words' boxes keep the real gap between them.
fn trim_to_ink(blank: &[bool], mut x0: f32, mut x1: f32, first_centre: f32, last_centre: f32) -> (f32, f32) {
    let is_blank = |x: f32| x >= 0.0 && blank.get(x as usize).copied().unwrap_or(false);
    while x0 + 1.0 <= first_centre && is_blank(x0) {
        x0 += 1.0;
    }
    while x1 - 1.0 >= last_centre && is_blank(x1 - 1.0) {
        x1 -= 1.0;
    }
    (x0, x1)
}

/// Groups characters into words: split at spaces and at wide blank gaps
/// (`blank[x]`: column `x` of the crop holds no ink; all `false` when unknown).
///
/// A gap inside what reads as one number (a digit next to a digit, or a
/// joining mark `.`, `,`, `:`, `-` or `/` between two digits), between
/// punctuation and the word it closes or opens (`is,`, `(see`) or inside
/// an abbreviation (`i.e.`, `D.I.Y.`) also needs the two characters' centres [`LayoutParams::word_gap_joined`]
/// pitches apart: narrow glyphs (`1`, `.`, `:`) leave wide white space
/// around them in monospaced receipt fonts, yet sit one pitch from their
/// neighbours, so `33.92`, `12-01-19`, `21:13` or `D.I.Y.` stay whole while
/// `1800 88` (two pitches apart) still splits.
fn split_words<'a>(
    chars: &'a [RecognizedChar],
    blank: &[bool],
    height: f32,
    params: &LayoutParams,
) -> Vec<Vec<&'a RecognizedChar>> {
    let pitch = typical_pitch(chars);
    let has_contrast = blank.iter().any(|&b| b);
    let found = ink_centres(chars, blank);
    let ink: Vec<f32> = found.iter().zip(chars).map(|(i, c)| i.unwrap_or((c.x0 + c.x1) / 2.0)).collect();
    let ink_pitch = typical_distance(chars, &ink);
    let mut words: Vec<Vec<&RecognizedChar>> = Vec::new();
    let mut current: Vec<&RecognizedChar> = Vec::new();
    let mut previous_index = 0;
    for (k, c) in chars.iter().enumerate() {
        if c.text.trim().is_empty() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if let Some(prev) = current.last() {
            let (from, to) = ((prev.x0 + prev.x1) / 2.0, (c.x0 + c.x1) / 2.0);
            let before_prev = current.len().checked_sub(2).map(|i| current[i]);
            let next = chars.get(k + 1).filter(|n| !n.text.trim().is_empty());
            let mut breaks = if has_contrast {
                let needed = (params.word_gap_blank * height).max(pitch.unwrap_or(0.0) * params.word_gap_blank_pitch);
                longest_blank_run(blank, from, to) as f32 >= needed
            } else {
                pitch.is_some_and(|p| to - from > params.word_gap_pitches * p)
            };
            if breaks && joins_one_token(before_prev, prev, c, next) {
                // Inside what reads as one token, white space alone is no
                // evidence: the two glyphs' ink must also stand further apart
                // than the line's usual pitch (a space's worth). A glyph
                // printed too faint to count as ink (faded thermal print)
                // leaves its own place blank, and its position is only the
                // recogniser's (8 px steps): no evidence of a space either.
                let faint = has_contrast && (found[k].is_none() || found[previous_index].is_none());
                let distance = ink[k] - ink[previous_index];
                breaks = !faint && ink_pitch.is_none_or(|p| distance >= params.word_gap_joined * p);
                breaks = breaks && c.space_before >= params.joined_space_min;
            }
            if breaks {
                words.push(std::mem::take(&mut current));
            }
        }
        current.push(c);
        previous_index = k;
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// The centre of each character's ink, in crop pixels: the middle of its
/// ink columns ([`ink_spans`]); `None` where no ink is found.
fn ink_centres(chars: &[RecognizedChar], blank: &[bool]) -> Vec<Option<f32>> {
    ink_spans(chars, blank).iter().map(|span| span.map(|(first, end)| (first + end) as f32 / 2.0)).collect()
}

/// Median distance between the `positions` of consecutive non-space
/// characters; `None` with fewer than two such pairs.
fn typical_distance(chars: &[RecognizedChar], positions: &[f32]) -> Option<f32> {
    let mut distances: Vec<f32> = (1..chars.len())
        .filter(|&k| !chars[k - 1].text.trim().is_empty() && !chars[k].text.trim().is_empty())
        .map(|k| positions[k] - positions[k - 1])
        .collect();
    if distances.len() < 2 {
        return None;
    }
    distances.sort_by(f32::total_cmp);
    Some(distances[distances.len() / 2])
}

/// Whether a gap between `prev` and `next` falls inside one token (see
/// [`split_words`]); `before` precedes `prev` and `after` follows `next`
/// within the same space-free run.
fn joins_one_token(
    before: Option<&RecognizedChar>,
    prev: &RecognizedChar,
    next: &RecognizedChar,
    after: Option<&RecognizedChar>,
) -> bool {
    let first = |c: &RecognizedChar| c.text.chars().next().unwrap_or(' ');
    let last = |c: &RecognizedChar| c.text.chars().last().unwrap_or(' ');
    let (a, b) = (last(prev), first(next));
    let joiner = |ch: char| matches!(ch, '.' | ',' | ':' | '-' | '/');
    let digit = |ch: char| ch.is_ascii_digit();
    // "18|00"
    if digit(a) && digit(b) {
        return true;
    }
    // "33|.92", "21|:13", "12|-01"
    if joiner(b) && digit(a) && after.is_some_and(|n| digit(first(n))) {
        return true;
    }
    // "33.|92", "01-|19"
    if joiner(a) && digit(b) && before.is_some_and(|p| digit(last(p))) {
        return true;
    }
    // Punctuation that closes a word ("is|,", "end|.", "(see|)") or opens
    // one ("(|see", "\"|word"): narrow glyphs with white space around them.
    let closes = |ch: char| matches!(ch, '.' | ',' | ':' | ';' | '!' | '?' | ')' | ']' | '%');
    let opens = |ch: char| matches!(ch, '(' | '[');
    if (closes(b) && a.is_alphanumeric()) || (opens(a) && b.is_alphanumeric()) {
        return true;
    }
    // Abbreviations and initials: "i.|e.", "D.|I.Y."
    let letter = |ch: char| ch.is_alphabetic();
    a == '.' && letter(b) && before.is_some_and(|p| letter(last(p))) && after.is_some_and(|n| first(n) == '.')
}

/// Longest run of blank columns within `[from, to)` (clamped to the crop).
fn longest_blank_run(blank: &[bool], from: f32, to: f32) -> usize {
    let (a, b) = (from.max(0.0) as usize, (to.max(0.0) as usize).min(blank.len()));
    let (mut best, mut run) = (0, 0);
    for &is_blank in blank.get(a..b).unwrap_or(&[]) {
        run = if is_blank { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// Median distance between the CTC centres of consecutive non-space
/// characters; `None` with fewer than two such pairs.
fn typical_pitch(chars: &[RecognizedChar]) -> Option<f32> {
    let centres: Vec<f32> = chars.iter().map(|c| (c.x0 + c.x1) / 2.0).collect();
    typical_distance(chars, &centres)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(text: &str, step: usize) -> RecognizedChar {
        RecognizedChar {
            text: text.into(),
            confidence: 0.9,
            x0: step as f32 * 8.0,
            x1: step as f32 * 8.0 + 8.0,
            ..Default::default()
        }
    }

    #[test]
    fn word_spans_shrink_to_their_ink() {
        // Ink in columns 3..=7; the span 0..12 shrinks to 3..8.
        let blank: Vec<bool> = (0..12).map(|x| !(3..=7).contains(&x)).collect();
        assert_eq!(trim_to_ink(&blank, 0.0, 12.0, 4.0, 6.0), (3.0, 8.0));
        // Without ink information nothing changes.
        assert_eq!(trim_to_ink(&[], 0.0, 12.0, 4.0, 6.0), (0.0, 12.0));
    }

    #[test]
    fn splits_at_spaces_and_at_wide_gaps() {
        // "TAMAN" with a pitch of 3 steps, a gap of 7 steps, then "DAYA", then a space and "2".
        let mut chars: Vec<RecognizedChar> =
            "TAMAN".chars().enumerate().map(|(i, c)| ch(&c.to_string(), 2 + 3 * i)).collect();
        chars.extend("DAYA".chars().enumerate().map(|(i, c)| ch(&c.to_string(), 21 + 3 * i)));
        chars.push(ch(" ", 32));
        chars.push(ch("2", 34));
        let words: Vec<String> = split_words(&chars, &[], 48.0, &LayoutParams::default())
            .iter()
            .map(|w| w.iter().map(|c| c.text.as_str()).collect())
            .collect();
        assert_eq!(words, vec!["TAMAN", "DAYA", "2"]);
    }

    #[test]
    fn blank_columns_split_run_together_words() {
        // "AB" then a 16-column blank gap then "C" (pitch 32, so 0.45 pitch = 14.4).
        let chars = vec![ch("A", 0), ch("B", 2), ch("C", 6)];
        let mut blank = vec![false; 64];
        blank[22..38].iter_mut().for_each(|b| *b = true);
        let words: Vec<usize> =
            split_words(&chars, &blank, 48.0, &LayoutParams::default()).iter().map(Vec::len).collect();
        assert_eq!(words, vec![2, 1]);
    }

    /// Characters at the given centres (crop pixels), each 8 px wide.
    fn chars_at(text: &str, centres: &[f32]) -> Vec<RecognizedChar> {
        text.chars()
            .zip(centres)
            .map(|(c, &x)| RecognizedChar {
                text: c.to_string(),
                confidence: 0.9,
                x0: x - 4.0,
                x1: x + 4.0,
                ..Default::default()
            })
            .collect()
    }

    /// Blank columns everywhere but the ink of each character: 20 px wide
    /// for letters and digits, 4 px for narrow glyphs (`1`, `I` and punctuation).
    fn ink_of(text: &str, centres: &[f32], width: usize) -> Vec<bool> {
        let half: Vec<f32> =
            text.chars().map(|c| if c.is_alphanumeric() && !matches!(c, '1' | 'I') { 10.0 } else { 2.0 }).collect();
        (0..width).map(|x| !centres.iter().zip(&half).any(|(&c, &h)| (x as f32 - c).abs() <= h)).collect()
    }

    fn split(text: &str, centres: &[f32]) -> Vec<String> {
        let chars = chars_at(text, centres);
        texts(&split_words(&chars, &ink_of(text, centres, 400), 48.0, &LayoutParams::default()))
    }

    fn texts(words: &[Vec<&RecognizedChar>]) -> Vec<String> {
        words.iter().map(|w| w.iter().map(|c| c.text.as_str()).collect()).collect()
    }

    #[test]
    fn a_number_splits_only_where_the_model_saw_a_space() {
        // "21.83" in monospaced print (pitch 24) with the "." a pitch and a
        // half from the "1": 32 px of white, and ink far enough apart.
        let centres = [20.0, 44.0, 80.0, 104.0, 128.0];
        let blank = ink_of("21.83", &centres, 400);
        let mut chars = chars_at("21.83", &centres);
        let params = LayoutParams::default();
        // The model gave its space class no probability there: one token.
        assert_eq!(texts(&split_words(&chars, &blank, 48.0, &params)), vec!["21.83"]);
        // Where it did (below the emitting threshold), the gap splits.
        chars[2].space_before = 0.2;
        assert_eq!(texts(&split_words(&chars, &blank, 48.0, &params)), vec!["21", ".83"]);
    }

    fn read(chars: &[RecognizedChar], min_probability: f32) -> String {
        digits_in_numbers(chars, min_probability).iter().map(|c| c.text.as_str()).collect()
    }

    #[test]
    fn a_letter_between_digits_takes_the_models_digit() {
        let centres: Vec<f32> = (0..5).map(|i| 20.0 + 24.0 * i as f32).collect();
        let mut chars = chars_at("AH0O2", &centres);
        chars[3].digit_alternative = Some(('0', 0.45));
        let min = LayoutParams::default().digit_alternative_min;
        assert_eq!(read(&chars, min), "AH002");
        // A digit the model found less probable leaves the letter.
        chars[3].digit_alternative = Some(('0', min * 0.9));
        assert_eq!(read(&chars, min), "AH0O2");
        // Past a joining mark, still between digits ("1O.50").
        let mut amount = chars_at("1O.50", &centres);
        amount[1].digit_alternative = Some(('0', 0.45));
        assert_eq!(read(&amount, min), "10.50");
        // Not between digits: after a letter ("NO.1") or at a space ("0 O2").
        let mut no = chars_at("NO.1", &centres);
        no[1].digit_alternative = Some(('0', 0.45));
        assert_eq!(read(&no, min), "NO.1");
        let mut spaced = chars_at("0 O2", &centres);
        spaced[2].digit_alternative = Some(('0', 0.45));
        assert_eq!(read(&spaced, min), "0 O2");
        // A joining mark between digits stays a mark ("14.00/9").
        let mut slash = chars_at("0/9", &centres);
        slash[1].digit_alternative = Some(('2', 0.45));
        assert_eq!(read(&slash, min), "0/9");
    }

    fn letters(chars: &[RecognizedChar], min_probability: f32) -> String {
        letters_in_word(&chars.iter().collect::<Vec<_>>(), min_probability)
    }

    /// `text` with each digit's letter alternative set from `alternatives`
    /// (one letter and its probability per digit, in order).
    fn with_letters(text: &str, alternatives: &[(char, f32)]) -> Vec<RecognizedChar> {
        let centres: Vec<f32> = (0..text.chars().count()).map(|i| 20.0 + 24.0 * i as f32).collect();
        let mut chars = chars_at(text, &centres);
        let mut given = alternatives.iter();
        for c in chars.iter_mut().filter(|c| c.text.chars().all(|d| d.is_ascii_digit())) {
            c.letter_alternative = given.next().copied();
        }
        chars
    }

    #[test]
    fn a_digit_among_letters_takes_the_models_letter() {
        let min = LayoutParams::default().letter_alternative_min;
        assert_eq!(letters(&with_letters("s0cket", &[('o', 0.45)]), min), "socket");
        assert_eq!(letters(&with_letters("T0TAL", &[('O', 0.45)]), min), "TOTAL");
        // A letter the model found less probable leaves the digit.
        assert_eq!(letters(&with_letters("s0cket", &[('o', min * 0.9)]), min), "s0cket");
        // A run of digits among letters takes its letters only if each is probable enough.
        assert_eq!(letters(&with_letters("g00ds", &[('o', 0.45), ('o', 0.3)]), min), "goods");
        assert_eq!(letters(&with_letters("g00ds", &[('o', 0.45), ('o', min * 0.9)]), min), "g00ds");
        // A digit that touches a digit, also past a joining mark, stays:
        // "RM50", "1.5L", "10KG", "12A".
        assert_eq!(letters(&with_letters("RM50", &[('S', 0.45), ('O', 0.45)]), min), "RM50");
        assert_eq!(letters(&with_letters("1.5L", &[('l', 0.45), ('S', 0.45)]), min), "1.5L");
        assert_eq!(letters(&with_letters("10KG", &[('I', 0.45), ('O', 0.45)]), min), "10KG");
        // Nothing but marks or the word's edge beside it: "No.1", "(3)".
        assert_eq!(letters(&with_letters("No.1", &[('l', 0.45)]), min), "No.1");
        assert_eq!(letters(&with_letters("(3)", &[('B', 0.45)]), min), "(3)");
        // A letter on one side only: a quantity before letters ("8PCS"), a
        // code or a subscript after them ("AH019", "x1,") stays.
        assert_eq!(letters(&with_letters("8PCS", &[('B', 0.45)]), min), "8PCS");
        assert_eq!(letters(&with_letters("x1,", &[('i', 0.45)]), min), "x1,");
        assert_eq!(letters(&with_letters("AH019", &[('O', 0.45), ('l', 0.45), ('g', 0.45)]), min), "AH019");
    }

    #[test]
    fn numbers_with_narrow_glyphs_stay_whole() {
        // Monospaced print, pitch 24: narrow glyphs leave 12-18 px of white
        // beside them, more than the usual word-gap threshold (11 px).
        let centres: Vec<f32> = (0..5).map(|i| 20.0 + 24.0 * i as f32).collect();
        assert_eq!(split("33.92", &centres), vec!["33.92"]);
        assert_eq!(split("21:13", &centres), vec!["21:13"]);
        let date: Vec<f32> = (0..8).map(|i| 20.0 + 24.0 * i as f32).collect();
        assert_eq!(split("12-01-19", &date), vec!["12-01-19"]);
        assert_eq!(split("D.I.Y.", &date[..6]), vec!["D.I.Y."]);
        assert_eq!(split("1.5L", &date[..4]), vec!["1.5L"]);
    }

    #[test]
    fn punctuation_joins_its_word_unless_a_space_apart() {
        // Proportional print, pitch 24: the comma's ink sits one pitch from
        // the "s" with 12 px of white between them.
        let close: Vec<f32> = (0..3).map(|i| 20.0 + 24.0 * i as f32).collect();
        assert_eq!(split("is,", &close), vec!["is,"]);
        assert_eq!(split("(a", &close[..2]), vec!["(a"]);
        let abbreviation: Vec<f32> = (0..4).map(|i| 20.0 + 24.0 * i as f32).collect();
        assert_eq!(split("i.e.", &abbreviation), vec!["i.e."]);
        // Two pitches apart, where the model saw a space, it is a separate
        // token ("TOTAL :").
        let mut chars = chars_at("ABC:", &[20.0, 44.0, 68.0, 116.0]);
        chars[3].space_before = 0.3;
        let blank = ink_of("ABC:", &[20.0, 44.0, 68.0, 116.0], 400);
        assert_eq!(texts(&split_words(&chars, &blank, 48.0, &LayoutParams::default())), vec!["ABC", ":"]);
    }

    #[test]
    fn a_faded_digit_does_not_split_its_number() {
        // "7937" in monospaced print (pitch 24) with the "7" printed too
        // faint to count as ink: its place is blank, and its recogniser
        // position (whole 8 px steps) is 6 px off its true centre (92), so
        // the "7" and the "9" seem 1.25 pitches apart.
        let chars = chars_at("7937", &[86.0, 116.0, 140.0, 164.0]);
        let mut blank = ink_of("7937", &[92.0, 116.0, 140.0, 164.0], 400);
        blank[80..=104].iter_mut().for_each(|b| *b = true);
        let words: Vec<usize> =
            split_words(&chars, &blank, 48.0, &LayoutParams::default()).iter().map(Vec::len).collect();
        assert_eq!(words, vec![4]);
        // Inked, the same "7" is found where it stands.
        assert_eq!(split("7937", &[92.0, 116.0, 140.0, 164.0]), vec!["7937"]);
    }

    #[test]
    fn run_together_words_still_split() {
        // "AB" and "CD" with 4 px of blank between letters and a 64 px gap between the words.
        assert_eq!(split("ABCD", &[20.0, 44.0, 128.0, 152.0]), vec!["AB", "CD"]);
        // A wide gap splits even next to a joining mark.
        assert_eq!(split("TOTAL:33", &[20.0, 44.0, 68.0, 92.0, 116.0, 140.0, 260.0, 284.0]), vec!["TOTAL:", "33"]);
    }
}
