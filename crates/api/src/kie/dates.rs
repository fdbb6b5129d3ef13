//! Dates and times.
//!
//! Dates are read in numeric (`04/12/2017`, `30-06-2018`, `2018.06.04`,
//! `04/12/17`) and written-out forms (`04 JUN 2018`, `4 December, 2017`,
//! `June 4, 2018`, `04-JUN-2018`). The document date is the one labelled
//! `DATE` (same line, row or the line above), else the first; dates labelled
//! due/expiry/validity rank last. A numeric date whose day and month could be
//! swapped is resolved by the caller's locale, else by the document (another
//! date with a day above 12, a written-out date naming the same day, the
//! currency); unresolved it is reported as printed.

use std::collections::HashSet;

use super::doc::Doc;
use super::normalise::has_any;
use super::FieldValue;

/// A date as printed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Printed {
    /// Year, month and day known (written-out month or year first).
    Full { y: u32, m: u32, d: u32 },
    /// Two numbers that are day and month in some order, then the year.
    Numeric { a: u32, b: u32, y: u32 },
}

/// A date found in a line.
#[derive(Debug, Clone)]
struct Candidate {
    line: usize,
    start: usize,
    end: usize,
    printed: Printed,
}

/// Month names and abbreviations (English, Malay, German, French, Spanish, without accents).
const MONTHS: [(&str, u32); 50] = [
    ("JANUARY", 1),
    ("JAN", 1),
    ("JANUARI", 1),
    ("JANUAR", 1),
    ("JANVIER", 1),
    ("ENERO", 1),
    ("FEBRUARY", 2),
    ("FEB", 2),
    ("FEBRUARI", 2),
    ("FEBRUAR", 2),
    ("FEV", 2),
    ("MARCH", 3),
    ("MAR", 3),
    ("MAC", 3),
    ("MAERZ", 3),
    ("MARS", 3),
    ("MARZO", 3),
    ("APRIL", 4),
    ("APR", 4),
    ("AVRIL", 4),
    ("ABRIL", 4),
    ("MAY", 5),
    ("MEI", 5),
    ("MAI", 5),
    ("MAYO", 5),
    ("JUNE", 6),
    ("JUN", 6),
    ("JUNI", 6),
    ("JUIN", 6),
    ("JUNIO", 6),
    ("JULY", 7),
    ("JUL", 7),
    ("JULAI", 7),
    ("JULI", 7),
    ("JUILLET", 7),
    ("JULIO", 7),
    ("AUGUST", 8),
    ("AUG", 8),
    ("OGOS", 8),
    ("AOUT", 8),
    ("SEPTEMBER", 9),
    ("SEP", 9),
    ("SEPT", 9),
    ("OCTOBER", 10),
    ("OCT", 10),
    ("OKT", 10),
    ("NOVEMBER", 11),
    ("NOV", 11),
    ("DECEMBER", 12),
    ("DEC", 12),
];

/// Extra spellings of December (Malay, German).
const DECEMBER: [&str; 3] = ["DIS", "DEZ", "DEZEMBER"];

fn month(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.');
    MONTHS.iter().find(|(n, _)| *n == w).map(|&(_, m)| m).or_else(|| DECEMBER.contains(&w).then_some(12))
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn valid(y: u32, m: u32, d: u32) -> bool {
    (1970..=2099).contains(&y) && (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)
}

fn year(digits: &str) -> Option<u32> {
    let v: u32 = digits.parse().ok()?;
    match digits.len() {
        2 => Some(2000 + v),
        4 => Some(v),
        _ => None,
    }
}

/// Runs of ASCII digits or letters in `upper` with their byte spans; the separator before each run is kept.
fn runs(upper: &str) -> Vec<(usize, usize)> {
    let b = upper.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let digit = b[i].is_ascii_digit();
        if digit || b[i].is_ascii_alphabetic() {
            let start = i;
            while i < b.len() && (if digit { b[i].is_ascii_digit() } else { b[i].is_ascii_alphabetic() }) {
                i += 1;
            }
            out.push((start, i));
        } else {
            i += 1;
        }
    }
    out
}

/// Every date printed in line `line`.
fn dates_in(doc: &Doc, line: usize) -> Vec<Candidate> {
    dates_in_text(&doc.lines[line].upper)
        .into_iter()
        .map(|(start, end, printed)| Candidate { line, start, end, printed })
        .collect()
}

/// The first date in `text` in ISO 8601 form, numeric dates read in the order `day_first` gives.
pub fn iso_date(text: &str, day_first: Option<bool>) -> Option<String> {
    dates_in_text(&text.to_ascii_uppercase()).into_iter().find_map(|(_, _, p)| iso(p, day_first))
}

/// Every date printed in `up` (upper-case text) with its byte span.
fn dates_in_text(up: &str) -> Vec<(usize, usize, Printed)> {
    let b = up.as_bytes();
    let r = runs(up);
    let gap = |x: (usize, usize), y: (usize, usize)| &up[x.1..y.0];
    let mut out = Vec::new();
    let mut k = 0;
    while k + 2 < r.len() {
        let (w0, w1, w2) = (r[k], r[k + 1], r[k + 2]);
        let (s0, s1, s2) = (&up[w0.0..w0.1], &up[w1.0..w1.1], &up[w2.0..w2.1]);
        let (g1, g2) = (gap(w0, w1), gap(w1, w2));
        // The date must stand alone: not glued to other letters, digits or date separators.
        let free_before = w0.0 == 0 || !matches!(b[w0.0 - 1], b'/' | b'-' | b'.');
        let free_after = w2.1 >= b.len()
            || !(matches!(b[w2.1], b'/' | b'-' | b':')
                || (b[w2.1] == b'.' && b.get(w2.1 + 1).is_some_and(u8::is_ascii_digit)));
        let numeric = |s: &str, lens: std::ops::RangeInclusive<usize>| {
            s.bytes().all(|c| c.is_ascii_digit()) && lens.contains(&s.len())
        };
        let mut found = None;
        if free_before && free_after {
            let same_sep = g1 == g2 && matches!(g1, "/" | "-" | ".");
            if same_sep && numeric(s0, 4..=4) && numeric(s1, 1..=2) && numeric(s2, 1..=2) {
                let (y, m, d) = (s0.parse().unwrap_or(0), s1.parse().unwrap_or(0), s2.parse().unwrap_or(0));
                found = valid(y, m, d).then_some(Printed::Full { y, m, d });
            } else if same_sep && numeric(s0, 1..=2) && numeric(s1, 1..=2) && (numeric(s2, 4..=4) || numeric(s2, 2..=2))
            {
                let (a, bb, y) = (s0.parse().unwrap_or(0), s1.parse().unwrap_or(0), year(s2).unwrap_or(0));
                let either = valid(y, bb, a) || valid(y, a, bb);
                found = either.then_some(Printed::Numeric { a, b: bb, y });
            } else {
                let sep_ok = |g: &str| {
                    !g.is_empty() && g.len() <= 3 && g.chars().all(|c| matches!(c, ' ' | ',' | '-' | '/' | '.'))
                };
                let day = |s: &str| numeric(s, 1..=2).then(|| s.parse::<u32>().ok()).flatten();
                if sep_ok(g1) && sep_ok(g2) {
                    if let (Some(d), Some(m), Some(y)) = (day(s0), month(s1), year(s2)) {
                        found = valid(y, m, d).then_some(Printed::Full { y, m, d });
                    } else if let (Some(m), Some(d), Some(y)) = (month(s0), day(s1), year(s2)) {
                        found = valid(y, m, d).then_some(Printed::Full { y, m, d });
                    }
                }
            }
        }
        if let Some(printed) = found {
            out.push((w0.0, w2.1, printed));
            k += 3;
        } else {
            k += 1;
        }
    }
    out
}

fn all_dates(doc: &Doc) -> Vec<Candidate> {
    (0..doc.lines.len()).flat_map(|i| dates_in(doc, i)).collect()
}

/// Currencies of countries that write numeric dates month first.
const MONTH_FIRST_CURRENCIES: [&str; 1] = ["USD"];

/// The day/month order the document itself shows, if any: numeric dates with a
/// number above 12, written-out dates naming an ambiguous date's day, else
/// the currency (US dollars mean month first, any other currency day first),
/// else words only day-first countries print (see [`locale_words`]).
pub fn infer_day_first(doc: &Doc, currency: Option<&str>) -> Option<bool> {
    let dates = all_dates(doc);
    let (mut day_first, mut month_first) = (0, 0);
    for c in &dates {
        if let Printed::Numeric { a, b, .. } = c.printed {
            if a > 12 && b <= 12 {
                day_first += 1;
            } else if b > 12 && a <= 12 {
                month_first += 1;
            }
        }
    }
    if day_first != month_first {
        return Some(day_first > month_first);
    }
    for c in &dates {
        let Printed::Numeric { a, b, y } = c.printed else { continue };
        for other in &dates {
            if let Printed::Full { y: y2, m, d } = other.printed {
                if y2 == y && (a, b) == (d, m) && a != b {
                    return Some(true);
                }
                if y2 == y && (a, b) == (m, d) && a != b {
                    return Some(false);
                }
            }
        }
    }
    currency.map(|code| !MONTH_FIRST_CURRENCIES.contains(&code)).or_else(|| locale_words(doc))
}

/// Words that only documents from day-first countries carry: legal forms (`SDN BHD`, `LTD`, `GMBH`, ...), tax
/// names (`GST`, `VAT`, `MWST`, ...), and international phone prefixes other than +1.
fn locale_words(doc: &Doc) -> Option<bool> {
    const DAY_FIRST_WORDS: [&str; 16] = [
        "SDN BHD", "BHD", "BERHAD", "PTE", "PTY", "LTD", "PLC", "GMBH", "SARL", "GST", "VAT", "SST", "MWST", "TVA",
        "IVA", "BTW",
    ];
    let day_first = doc.lines.iter().any(|l| {
        has_any(&l.upper, &DAY_FIRST_WORDS)
            || l.upper.match_indices('+').any(|(at, _)| {
                let digits = &l.upper[at + 1..];
                digits.starts_with(|c: char| c.is_ascii_digit()) && !digits.starts_with('1')
            })
    });
    day_first.then_some(true)
}

/// The ISO 8601 form of a printed date, or `None` when the day/month order is needed and unknown.
fn iso(printed: Printed, day_first: Option<bool>) -> Option<String> {
    let (y, m, d) = match printed {
        Printed::Full { y, m, d } => (y, m, d),
        Printed::Numeric { a, b, y } => {
            let as_dm = valid(y, b, a);
            let as_md = valid(y, a, b);
            match (as_dm, as_md, day_first) {
                _ if a == b => (y, a, b),
                (true, false, _) => (y, b, a),
                (false, true, _) => (y, a, b),
                (true, true, Some(true)) => (y, b, a),
                (true, true, Some(false)) => (y, a, b),
                _ => return None,
            }
        }
    };
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// Words that label the document's date.
const DATE_LABELS: [&str; 7] = ["DATE", "DATED", "TARIKH", "DATUM", "FECHA", "ISSUED", "DATE:"];
/// Words that label some other date.
const OTHER_DATES: [&str; 10] =
    ["DUE", "EXPIRY", "EXPIRES", "EXP", "VALID", "BIRTH", "DOB", "BEFORE", "DELIVERY", "PERIOD"];

/// The document date, ISO 8601 when the order of day and month is known.
pub fn date(doc: &Doc, day_first: Option<bool>) -> Option<FieldValue> {
    let dates = all_dates(doc);
    // Lines a `DATE` label points at: the rest of its row and the line below it.
    let mut labelled: HashSet<usize> = HashSet::new();
    for j in (0..doc.lines.len()).filter(|&j| has_any(&doc.lines[j].upper, &DATE_LABELS)) {
        labelled.extend(doc.row_right(j));
        labelled.extend(doc.below(j));
    }
    let score = |c: &Candidate| {
        let l = &doc.lines[c.line];
        let mut s = 0.0f32;
        let before = &l.upper[..c.start];
        let label_near = has_any(before, &DATE_LABELS) || labelled.contains(&c.line);
        if label_near {
            s += 3.0;
        }
        if has_any(&l.upper, &OTHER_DATES) {
            s -= 4.0;
        }
        if iso(c.printed, day_first).is_some() {
            s += 0.5;
        }
        s
    };
    let best = dates.iter().enumerate().max_by(|(i, a), (j, b)| score(a).total_cmp(&score(b)).then(j.cmp(i)))?.1;
    let l = &doc.lines[best.line];
    Some(match iso(best.printed, day_first) {
        Some(v) => l.value(best.start, best.end, v, 0.95),
        None => l.value(best.start, best.end, l.text[best.start..best.end].to_string(), 0.5),
    })
}

/// A time of day found in a line: byte span and `HH:MM[:SS]` in 24-hour form.
fn times_in(upper: &str) -> Vec<(usize, usize, String)> {
    let b = upper.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || (i > 0 && (b[i - 1].is_ascii_digit() || matches!(b[i - 1], b':' | b'.' | b'/'))) {
            i += 1;
            continue;
        }
        let num = |at: usize, n: usize| -> Option<u32> {
            let s = upper.get(at..at + n)?;
            s.bytes().all(|c| c.is_ascii_digit()).then(|| s.parse().ok()).flatten()
        };
        let h_len = if b.get(i + 1).is_some_and(u8::is_ascii_digit) { 2 } else { 1 };
        let (Some(h), true, Some(m)) = (num(i, h_len), b.get(i + h_len) == Some(&b':'), num(i + h_len + 1, 2)) else {
            i += 1;
            continue;
        };
        let mut end = i + h_len + 3;
        let mut s = None;
        if b.get(end) == Some(&b':') {
            if let Some(v) = num(end + 1, 2) {
                s = Some(v);
                end += 3;
            }
        }
        if b.get(end).is_some_and(|c| c.is_ascii_digit() || *c == b':') {
            i = end;
            continue;
        }
        let rest = upper[end..].trim_start();
        let meridiem = ["AM", "PM", "A.M.", "P.M."]
            .iter()
            .find(|p| rest.starts_with(**p) && !rest[p.len()..].starts_with(|c: char| c.is_ascii_alphabetic()));
        let mut hour = h;
        if let Some(p) = meridiem {
            if !(1..=12).contains(&h) {
                i = end;
                continue;
            }
            hour = match (p.starts_with('P'), h) {
                (true, 12) => 12,
                (true, h) => h + 12,
                (false, 12) => 0,
                (false, h) => h,
            };
            end = upper.len() - rest.len() + p.len();
        }
        if hour < 24 && m < 60 && s.is_none_or(|s| s < 60) {
            let value = match s {
                Some(s) => format!("{hour:02}:{m:02}:{s:02}"),
                None => format!("{hour:02}:{m:02}"),
            };
            out.push((i, end, value));
        }
        i = end;
    }
    out
}

/// The document time: on the date's row or labelled `TIME`, else the first.
pub fn time(doc: &Doc, date: Option<&FieldValue>) -> Option<FieldValue> {
    let mut best: Option<(f32, FieldValue)> = None;
    for l in &doc.lines {
        for (start, end, v) in times_in(&l.upper) {
            let value = l.value(start, end, v, 0.9);
            let mut score = 0.0;
            if let Some(d) = date {
                let same_row = d.page == value.page
                    && (d.geometry[1] + d.geometry[3] - value.geometry[1] - value.geometry[3]).abs() / 2.0
                        < (d.geometry[3] - d.geometry[1]).max(0.005);
                if same_row {
                    score += 2.0;
                }
            }
            if has_any(&l.upper[..start], &["TIME", "MASA", "ZEIT", "HEURE"]) {
                score += 1.0;
            }
            if best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((score, value));
            }
        }
    }
    best.map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_in_24_hour_form() {
        let t = |s: &str| times_in(s).into_iter().map(|(_, _, v)| v).collect::<Vec<_>>();
        assert_eq!(t("04/06/2018 18:17:54"), vec!["18:17:54"]);
        assert_eq!(t("1:55:54 PM"), vec!["13:55:54"]);
        assert_eq!(t("12:05 AM"), vec!["00:05"]);
        assert!(t("SUN-THU:1000 HRS").is_empty());
        assert!(t("25:61").is_empty());
    }

    #[test]
    fn ambiguous_dates_need_an_order() {
        let p = Printed::Numeric { a: 4, b: 6, y: 2018 };
        assert_eq!(iso(p, None), None);
        assert_eq!(iso(p, Some(true)).as_deref(), Some("2018-06-04"));
        assert_eq!(iso(p, Some(false)).as_deref(), Some("2018-04-06"));
        assert_eq!(iso(Printed::Numeric { a: 30, b: 6, y: 2018 }, Some(false)).as_deref(), Some("2018-06-30"));
    }
}
