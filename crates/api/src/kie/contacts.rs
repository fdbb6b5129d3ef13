//! Identifiers and contact details: phone numbers, e-mail addresses, web
//! addresses, the invoice number and tax registration numbers.
//!
//! E-mail and web addresses are recognised by their format alone; phone
//! numbers by a label (`TEL`, `PHONE`, `MOBILE`, ... but not `FAX`) or an
//! international `+` prefix; invoice and tax numbers by their label
//! (`INVOICE NO`, `GST ID`, `VAT REG NO`, `TIN`, ...) followed by a token
//! with digits on the same line, the rest of the row or the line below.

use super::doc::Doc;
use super::normalise::{find_words, parse_amount, pieces};
use super::FieldValue;

/// Punctuation trimmed from both ends of a piece before reading it.
const EDGE: [char; 12] = ['<', '>', '(', ')', '[', ']', ',', ';', ':', '"', '\'', '.'];

/// Every distinct e-mail address, lower-cased, in reading order.
pub fn emails(doc: &Doc) -> Vec<FieldValue> {
    let mut out: Vec<FieldValue> = Vec::new();
    for l in &doc.lines {
        for (start, end) in pieces(&l.text) {
            let piece = l.text[start..end].trim_matches(EDGE);
            let piece = piece.rsplit(':').next().unwrap_or(piece);
            if is_email(piece) {
                push_distinct(&mut out, l.value(start, end, piece.to_ascii_lowercase(), 0.95));
            }
        }
    }
    out
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    !local.is_empty() && local.chars().all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c)) && is_domain(domain)
}

/// `label.label...tld` with an alphabetic top-level domain of two or more letters.
fn is_domain(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && labels.last().is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()))
}

/// Top-level domains accepted for a web address printed without `www.` or a scheme.
const TLDS: [&str; 44] = [
    "com", "net", "org", "io", "co", "info", "biz", "edu", "gov", "my", "sg", "uk", "de", "fr", "nl", "be", "it", "es",
    "au", "ca", "us", "in", "jp", "cn", "hk", "nz", "ch", "at", "se", "no", "dk", "fi", "pl", "cz", "ie", "pt", "eu",
    "app", "dev", "shop", "store", "online", "site", "id",
];

/// Every distinct web address, lower-cased, in reading order.
pub fn urls(doc: &Doc) -> Vec<FieldValue> {
    let mut out: Vec<FieldValue> = Vec::new();
    for l in &doc.lines {
        for (start, end) in pieces(&l.text) {
            let piece = l.text[start..end].trim_matches(EDGE);
            if piece.contains('@') {
                continue;
            }
            let lower = piece.to_ascii_lowercase();
            let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
            let explicit = rest.is_some() || lower.starts_with("www.");
            let host = rest.unwrap_or(lower.as_str()).split(['/', '?', '#']).next().unwrap_or("");
            let ok = is_domain(host)
                && host.chars().any(|c| c.is_ascii_alphabetic())
                && (explicit || host.rsplit('.').next().is_some_and(|t| TLDS.contains(&t)));
            if ok {
                push_distinct(&mut out, l.value(start, end, lower.clone(), if explicit { 0.95 } else { 0.8 }));
            }
        }
    }
    out
}

/// Labels of a phone number.
const PHONE_LABELS: [&str; 17] = [
    "TEL",
    "TELEPHONE",
    "PHONE",
    "PH",
    "MOBILE",
    "MOB",
    "HP",
    "H/P",
    "CALL",
    "WHATSAPP",
    "WHATSAPPS",
    "CONTACT",
    "CELL",
    "HOTLINE",
    "TELEFON",
    "T",
    "M",
];

/// Labels of numbers that are not phone numbers.
const OTHER_NUMBER_LABELS: [&str; 12] =
    ["FAX", "GST", "VAT", "TAX", "ID", "REG", "INVOICE", "INV", "ACCOUNT", "ACC", "IBAN", "TIN"];

/// Every distinct phone number (not fax), as `+` and digits, in reading order.
pub fn phones(doc: &Doc) -> Vec<FieldValue> {
    let mut out: Vec<FieldValue> = Vec::new();
    for l in &doc.lines {
        let up = &l.upper;
        for (start, end) in number_runs(up) {
            let run = &up[start..end];
            let digits: String = run.chars().filter(char::is_ascii_digit).collect();
            if !(7..=15).contains(&digits.len()) || run.contains('/') {
                continue;
            }
            if pieces(run).len() == 1 && parse_amount(run).is_some_and(|a| a.decimals > 0) {
                continue;
            }
            let label = nearest_label(up, start);
            let labelled = label.is_some_and(|k| PHONE_LABELS.contains(&k));
            let other = label.is_some_and(|k| OTHER_NUMBER_LABELS.contains(&k));
            let international = run.starts_with('+');
            // `(415) 555-0142`: an area code in parentheses.
            let area_code = run.starts_with('(')
                && run[1..]
                    .find(')')
                    .is_some_and(|p| (2..=4).contains(&p) && run[1..=p].bytes().all(|b| b.is_ascii_digit()));
            if other || !(labelled || international || area_code) {
                continue;
            }
            let value = if international { format!("+{digits}") } else { digits };
            push_distinct(&mut out, l.value(start, end, value, if labelled { 0.95 } else { 0.7 }));
        }
    }
    out
}

/// Maximal runs of phone characters (digits, `+`, `(`, `)`, `-`, `.`, `/`, spaces) starting with a digit, `+` or `(`.
fn number_runs(up: &str) -> Vec<(usize, usize)> {
    let b = up.as_bytes();
    let is_phone_char = |c: u8| c.is_ascii_digit() || b"+()-. /".contains(&c);
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts =
            (b[i].is_ascii_digit() || b[i] == b'+' || b[i] == b'(') && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < b.len() && is_phone_char(b[j]) {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_alphabetic() {
            // Glued to letters: back off to the last separator.
            while j > i && b[j - 1].is_ascii_alphanumeric() {
                j -= 1;
            }
        }
        let end = i + up[i..j].trim_end_matches([' ', '-', '.', '(', '/']).len();
        if end > i {
            out.push((i, end));
        }
        i = j.max(i + 1);
    }
    out
}

/// The label word closest before byte `at` if only a few separator characters lie between them.
fn nearest_label(up: &str, at: usize) -> Option<&'static str> {
    let mut best: Option<(usize, &'static str)> = None;
    for k in PHONE_LABELS.iter().chain(OTHER_NUMBER_LABELS.iter()) {
        for pos in find_words(&up[..at], k) {
            let end = pos + k.len();
            if best.is_none_or(|(e, _)| end > e) {
                best = Some((end, *k));
            }
        }
    }
    let (end, k) = best?;
    let between = up[end..at].replace(['.', ':', ' ', '-', '#', '/', '(', ')'], "").replace("NO", "");
    (between.is_empty() || between == "NUMBER" || between == "NUM").then_some(k)
}

fn push_distinct(out: &mut Vec<FieldValue>, v: FieldValue) {
    if !out.iter().any(|o| o.value == v.value) {
        out.push(v);
    }
}

/// Label keywords of document numbers, by rank.
const DOC_NUMBER_KEYS: [(&str, u8); 14] = [
    ("INVOICE", 3),
    ("INV", 3),
    ("BILL", 2),
    ("RECEIPT", 2),
    ("RCPT", 2),
    ("RECHNUNG", 3),
    ("FACTURE", 3),
    ("DOCUMENT", 1),
    ("DOC", 1),
    ("TRANSACTION", 1),
    ("TRANS", 1),
    ("TXN", 1),
    ("SLIP", 1),
    ("ORDER", 0),
];

/// Words between a label keyword and its value (`NO`, `#`, `NUMBER`, ...).
const NUMBER_WORDS: [&str; 8] = ["NO", "NUMBER", "NUM", "NBR", "NR", "ID", "NUMMER", "REF"];

/// Where the value of a label at `key_end` in `up` starts: after separators and number words. Returns the offset
/// and whether a marker (`:`, `#`, `NO`, ...) was seen.
fn skip_label(up: &str, key_end: usize) -> (usize, bool) {
    let mut at = key_end;
    let mut marker = false;
    loop {
        let rest = &up[at..];
        let trimmed = rest.trim_start_matches([' ', '.', '-']);
        at += rest.len() - trimmed.len();
        if let Some(stripped) = trimmed.strip_prefix([':', '#']) {
            at += trimmed.len() - stripped.len();
            marker = true;
            continue;
        }
        if let Some(w) = NUMBER_WORDS
            .iter()
            .find(|w| trimmed.starts_with(**w) && !trimmed[w.len()..].starts_with(|c: char| c.is_ascii_alphanumeric()))
        {
            at += w.len();
            marker = true;
            continue;
        }
        return (at, marker);
    }
}

/// The first piece of `text` from `at`, trimmed, if it looks like an identifier (has a digit, 3+ characters).
fn identifier(text: &str, at: usize) -> Option<(usize, usize, String)> {
    let (s, e) = pieces(&text[at..]).into_iter().next()?;
    let raw = &text[at + s..at + e];
    let v = raw.trim_matches(EDGE);
    let ok = v.len() >= 3 && v.chars().any(|c| c.is_ascii_digit()) && parse_amount(v).is_none_or(|a| a.decimals == 0);
    ok.then(|| (at + s, at + e, v.to_string()))
}

/// The invoice (or receipt, bill, document) number.
pub fn invoice_number(doc: &Doc) -> Option<FieldValue> {
    let mut best: Option<(u8, FieldValue)> = None;
    for (i, l) in doc.lines.iter().enumerate() {
        for &(key, rank) in &DOC_NUMBER_KEYS {
            for pos in find_words(&l.upper, key) {
                if best.as_ref().is_some_and(|(r, _)| *r >= rank) {
                    continue;
                }
                let (at, marker) = skip_label(&l.upper, pos + key.len());
                let found = match identifier(&l.text, at) {
                    Some((s, e, v)) => Some(l.value(s, e, v, 0.9)),
                    None if marker && at >= l.text.trim_end().len() => {
                        let next = doc.row_right(i).into_iter().next().or_else(|| doc.below(i));
                        next.and_then(|j| {
                            let n = &doc.lines[j];
                            identifier(&n.text, 0).map(|(s, e, v)| n.value(s, e, v, 0.8))
                        })
                    }
                    None => None,
                };
                if let Some(v) = found {
                    best = Some((rank, v));
                }
            }
        }
    }
    best.map(|(_, v)| v)
}

/// Labels of tax registration numbers that need no `NO`/`ID` after them.
const TAX_ID_ALONE: [&str; 10] =
    ["TIN", "ABN", "EIN", "GSTIN", "NIF", "CIF", "BTW", "SIRET", "USTIDNR", "STEUERNUMMER"];
/// Labels of tax registration numbers when followed by `NO`, `ID`, `REG`, ... or `:`.
const TAX_ID_KEYS: [&str; 7] = ["GST", "VAT", "TAX", "SST", "UST", "TVA", "MWST"];

/// Every distinct tax registration number (GST/VAT/TIN/...), upper-cased without spaces.
pub fn tax_ids(doc: &Doc) -> Vec<FieldValue> {
    let mut out: Vec<FieldValue> = Vec::new();
    for (i, l) in doc.lines.iter().enumerate() {
        let up = &l.upper;
        let mut labels: Vec<(usize, bool)> = Vec::new();
        for k in TAX_ID_KEYS {
            labels.extend(find_words(up, k).into_iter().map(|p| (p + k.len(), false)));
        }
        for k in TAX_ID_ALONE {
            labels.extend(find_words(up, k).into_iter().map(|p| (p + k.len(), true)));
        }
        for (key_end, alone) in labels {
            let after = up[key_end..].trim_start_matches([' ', '.', '-', '/']);
            let mut at = up.len() - after.len();
            let mut marker = alone;
            for w in ["REGISTRATION", "REG", "IDNR", "ID", "NUMBER", "NO", "NR", "#", ":", ".", "-"] {
                let rest = up[at..].trim_start_matches([' ', '.']);
                if rest.starts_with(w)
                    && (w.len() == 1 || !rest[w.len()..].starts_with(|c: char| c.is_ascii_alphanumeric()))
                {
                    at = up.len() - rest.len() + w.len();
                    marker = true;
                }
            }
            let (at, m2) = skip_label(up, at);
            if !(marker || m2) {
                continue;
            }
            // The value: pieces with digits (a two-letter country prefix may stand apart).
            let mut value = String::new();
            let (mut first, mut last) = (None, at);
            for (s, e) in pieces(&l.text[at..]) {
                let piece = l.text[at + s..at + e].trim_matches(EDGE).to_ascii_uppercase();
                let prefix = value.is_empty() && piece.len() == 2 && piece.chars().all(|c| c.is_ascii_uppercase());
                if !prefix && !piece.chars().any(|c| c.is_ascii_digit()) {
                    break;
                }
                if !piece.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/') {
                    break;
                }
                value.push_str(&piece);
                first.get_or_insert(at + s);
                last = at + e;
            }
            if let Some(first) = first {
                if value.chars().filter(char::is_ascii_digit).count() >= 6 {
                    push_distinct(&mut out, l.value(first, last, value, 0.9));
                }
            } else if at >= l.text.trim_end().len() {
                if let Some(j) = doc.row_right(i).into_iter().next().or_else(|| doc.below(i)) {
                    let n = &doc.lines[j];
                    if let Some((s, e, v)) = identifier(&n.text, 0) {
                        if v.chars().filter(char::is_ascii_digit).count() >= 6 {
                            push_distinct(&mut out, n.value(s, e, v.to_ascii_uppercase(), 0.8));
                        }
                    }
                }
            }
        }
    }
    out
}
