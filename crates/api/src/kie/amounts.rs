//! Money fields: the grand total, the subtotal, the tax, and the currency.
//!
//! A label (`GRAND TOTAL`, `SUBTOTAL`, `GST`, ...) is found in a line; its
//! amount is the rightmost amount after it on the same row (the same OCR
//! line or lines to its right whose vertical extent overlaps), else an
//! amount alone on the line just below. Totals rank by label strength
//! (`GRAND TOTAL`/`AMOUNT DUE` over `TOTAL` over `TOTAL SALES`), then by
//! size (a rounded or tax-inclusive total is the largest of its kind).

use super::doc::Doc;
use super::normalise::{find_words, has_any, parse_amount, pieces, Amount};
use super::FieldValue;

/// The money fields of a document.
#[derive(Debug, Default)]
pub struct Totals {
    /// Grand total after tax and rounding.
    pub total: Option<FieldValue>,
    /// Total before tax.
    pub subtotal: Option<FieldValue>,
    /// Tax amount.
    pub tax: Option<FieldValue>,
}

/// An amount found on a line.
#[derive(Debug, Clone)]
struct Found {
    line: usize,
    start: usize,
    end: usize,
    amount: Amount,
}

/// Labels of the grand total, strongest first as (label, rank).
const TOTAL_LABELS: [(&str, u8); 27] = [
    ("GRAND TOTAL", 4),
    ("FINAL TOTAL", 4),
    ("TOTAL AFTER", 4),
    ("AMOUNT DUE", 4),
    ("TOTAL DUE", 4),
    ("BALANCE DUE", 4),
    ("TOTAL PAYABLE", 4),
    ("AMOUNT PAYABLE", 4),
    ("NET PAYABLE", 4),
    ("ROUNDED TOTAL", 4),
    ("TOTAL ROUNDED", 4),
    ("NETT TOTAL", 4),
    ("NET TOTAL", 4),
    ("INVOICE TOTAL", 4),
    ("TOTAL TO PAY", 4),
    ("AMOUNT TO PAY", 4),
    ("PLEASE PAY", 4),
    ("TOTAL AMOUNT", 3),
    ("TOTAL INCL", 3),
    ("TOTAL", 2),
    ("JUMLAH", 2),
    ("NETT", 2),
    ("SUMME", 2),
    ("GESAMT", 2),
    ("TOTAL SALES", 1),
    ("AMOUNT", 1),
    ("BALANCE", 1),
];

/// Words that make a line with a total label something else (a count, a payment, a part of the total).
const NOT_TOTAL: [&str; 30] = [
    "SUB",
    "SUBTOTAL",
    "QTY",
    "QUANTITY",
    "ITEM",
    "ITEMS",
    "DISCOUNT",
    "SAVING",
    "SAVINGS",
    "STAMP",
    "STAMPS",
    "POINT",
    "POINTS",
    "PAID",
    "TENDER",
    "TENDERED",
    "CASH",
    "CHANGE",
    "EXCL",
    "EXCLUDING",
    "BEFORE",
    "COUNT",
    "WEIGHT",
    "TOTAL TAX",
    "TOTAL GST",
    "TOTAL VAT",
    "TAX TOTAL",
    "GST TOTAL",
    "VAT TOTAL",
    "NO OF",
];

/// Labels of the pre-tax total.
const SUBTOTAL_LABELS: [&str; 9] = [
    "SUBTOTAL",
    "SUB TOTAL",
    "SUB-TOTAL",
    "TOTAL EXCL",
    "TOTAL EXCLUDING",
    "TOTAL BEFORE",
    "NET AMOUNT",
    "AMOUNT EXCL",
    "ZWISCHENSUMME",
];

/// Labels of a tax amount.
const TAX_LABELS: [&str; 13] =
    ["GST", "VAT", "TAX", "SST", "HST", "PST", "MWST", "TVA", "IVA", "SALES TAX", "MEHRWERTSTEUER", "USt", "CUKAI"];

/// Labels of a tax's total.
const TAX_TOTALS: [&str; 8] =
    ["TOTAL TAX", "TAX TOTAL", "TOTAL GST", "GST TOTAL", "TOTAL VAT", "VAT TOTAL", "TOTAL SST", "SST TOTAL"];

/// Words that make a tax-labelled line something else (a registration number, a tax-inclusive total, a heading).
const NOT_TAX: [&str; 16] = [
    "ID",
    "REG",
    "NO",
    "NUMBER",
    "INVOICE",
    "INCL",
    "INCLUSIVE",
    "INCLUDED",
    "EXCL",
    "EXCLUSIVE",
    "SUMMARY",
    "TIN",
    "RATE",
    "CODE",
    "NO.",
    "TOTAL SALES",
];

/// Amounts with one or two decimals (OCR drops a trailing zero now and then) or a currency sign on line `line` from byte `from`.
fn amounts_in(doc: &Doc, line: usize, from: usize) -> Vec<Found> {
    let l = &doc.lines[line];
    pieces(&l.text)
        .into_iter()
        .filter(|&(s, _)| s >= from)
        .filter_map(|(start, end)| {
            // A label glued to its amount (`TOTAL:3.90`): the part after the last colon.
            let start = l.text[start..end].rfind(':').map_or(start, |p| start + p + 1);
            let amount = parse_amount(&l.text[start..end])?;
            (matches!(amount.decimals, 1 | 2) || (amount.currency && amount.decimals == 0)).then_some(Found {
                line,
                start,
                end,
                amount,
            })
        })
        .collect()
}

/// The amount a label on line `line` ending at byte `from` refers to.
fn label_amount(doc: &Doc, line: usize, from: usize) -> Option<Found> {
    let mut row = amounts_in(doc, line, from);
    for j in doc.row_right(line) {
        row.extend(amounts_in(doc, j, 0));
    }
    if let Some(last) = row.into_iter().max_by(|a, b| {
        let (la, lb) = (&doc.lines[a.line], &doc.lines[b.line]);
        (la.bbox.left + a.start as f32).total_cmp(&(lb.bbox.left + b.start as f32)).then(a.start.cmp(&b.start))
    }) {
        return Some(last);
    }
    // Label and amount stacked: the line below holds only the amount.
    let below = doc.below(line)?;
    let l = &doc.lines[below];
    let found = amounts_in(doc, below, 0);
    let only_amount = found.len() == 1
        && pieces(&l.text).into_iter().all(|(s, e)| {
            parse_amount(&l.text[s..e]).is_some() || CODES.contains(&&l.upper[s..e]) || &l.upper[s..e] == "RM"
        });
    only_amount.then(|| found.into_iter().next()).flatten()
}

/// A value from a found amount, with two decimals when one was read.
fn value(doc: &Doc, f: &Found, weight: f32) -> FieldValue {
    // One decimal is a dropped trailing zero (`4.0`): cents are written out.
    let text = if f.amount.decimals == 1 { format!("{}0", f.amount.value) } else { f.amount.value.clone() };
    doc.lines[f.line].value(f.start, f.end, text, weight)
}

/// The total, subtotal and tax of a document.
pub fn totals(doc: &Doc) -> Totals {
    let mut best: Option<(u8, Found)> = None;
    let mut subtotal = None;
    let mut tax: Option<(bool, Found)> = None;
    for (i, l) in doc.lines.iter().enumerate() {
        let up = &l.upper;
        if !has_any(up, &NOT_TOTAL) {
            let label =
                TOTAL_LABELS.iter().find_map(|&(k, rank)| find_words(up, k).first().map(|&at| (at + k.len(), rank)));
            if let Some((end, rank)) = label {
                if let Some(f) = label_amount(doc, i, end) {
                    let better = match &best {
                        None => true,
                        Some((r, b)) => rank > *r || (rank == *r && f.amount.number > b.amount.number),
                    };
                    if better {
                        best = Some((rank, f));
                    }
                }
            }
        }
        if subtotal.is_none() {
            if let Some(end) = SUBTOTAL_LABELS.iter().find_map(|k| find_words(up, k).first().map(|&at| at + k.len())) {
                subtotal = label_amount(doc, i, end);
            }
        }
        // A tax line names the tax; with `TOTAL` in it, it must be the tax's total (`TOTAL GST`), not a total
        // that mentions the tax (`SUB-TOTAL (GST)`).
        let tax_total = has_any(up, &TAX_TOTALS);
        if !has_any(up, &NOT_TAX) && (tax_total || !up.contains("TOTAL")) {
            let label =
                TAX_LABELS.iter().find_map(|k| find_words(up, &k.to_ascii_uppercase()).first().map(|&at| at + k.len()));
            if let Some(end) = label {
                let is_total = tax_total;
                if tax.as_ref().is_none_or(|(t, _)| is_total && !t) {
                    if let Some(f) = label_amount(doc, i, end) {
                        tax = Some((is_total, f));
                    }
                }
            }
        }
    }
    let total = match best {
        Some((rank, f)) if rank < 4 => Some(match rounding_after(doc, &f) {
            Some(r) => {
                let mut v = value(doc, &f, 0.8);
                v.value = format!("{:.2}", f.amount.number + r.amount.number);
                v
            }
            None => value(doc, &f, if rank >= 2 { 1.0 } else { 0.8 }),
        }),
        Some((_, f)) => Some(value(doc, &f, 1.0)),
        None => unlabelled_total(doc),
    };
    Totals { total, subtotal: subtotal.map(|f| value(doc, &f, 0.9)), tax: tax.map(|(_, f)| value(doc, &f, 0.85)) }
}

/// A rounding adjustment (`ROUNDING -0.02`) printed below a total that is not the final one: the amount paid
/// is the total plus the adjustment.
fn rounding_after(doc: &Doc, total: &Found) -> Option<Found> {
    let t = &doc.lines[total.line];
    (total.line + 1..doc.lines.len().min(total.line + 6))
        .filter(|&j| doc.lines[j].page == t.page && doc.lines[j].centre_y() > t.bbox.bottom())
        .find_map(|j| {
            let label = ["ROUNDING", "ROUND"]
                .iter()
                .find_map(|k| find_words(&doc.lines[j].upper, k).first().map(|&p| p + k.len()))?;
            label_amount(doc, j, label)
        })
        .filter(|r| r.amount.number.abs() < 1.0 && r.amount.number != 0.0)
}

/// With no total label: the largest amount not on a payment line.
fn unlabelled_total(doc: &Doc) -> Option<FieldValue> {
    const PAYMENT: [&str; 6] = ["CASH", "CHANGE", "TENDER", "TENDERED", "PAID", "VISA"];
    (0..doc.lines.len())
        .filter(|&i| !has_any(&doc.lines[i].upper, &PAYMENT))
        .flat_map(|i| amounts_in(doc, i, 0))
        .max_by(|a, b| a.amount.number.total_cmp(&b.amount.number))
        .map(|f| value(doc, &f, 0.4))
}

/// Currency codes recognised as words.
const CODES: [&str; 27] = [
    "USD", "EUR", "GBP", "MYR", "SGD", "AUD", "CAD", "CHF", "JPY", "CNY", "INR", "IDR", "THB", "PHP", "HKD", "NZD",
    "KRW", "SEK", "NOK", "DKK", "PLN", "CZK", "ZAR", "BRL", "MXN", "AED", "SAR",
];

/// The currency of a document as an ISO 4217 code: explicit codes and
/// symbols are counted (`RM` as a word or glued to an amount counts as MYR,
/// a bare `$` as USD, weaker); the most frequent wins.
pub fn currency(doc: &Doc) -> Option<FieldValue> {
    let mut votes: Vec<(&'static str, f32, FieldValue)> = Vec::new();
    let mut vote = |code: &'static str, weight: f32, v: FieldValue| match votes.iter_mut().find(|(c, _, _)| *c == code)
    {
        Some(entry) => entry.1 += weight,
        None => votes.push((code, weight, v)),
    };
    for l in &doc.lines {
        for code in CODES {
            for at in find_words(&l.upper, code) {
                vote(code, 2.0, l.value(at, at + code.len(), code.into(), 0.95));
            }
        }
        for at in find_words(&l.upper, "RM") {
            vote("MYR", 1.0, l.value(at, at + 2, "MYR".into(), 0.9));
        }
        for (start, end) in pieces(&l.text) {
            let piece = &l.upper[start..end];
            let Some(symbol_at) = piece.find(['$', '€', '£', '¥', '₹', '₱', '฿']) else {
                if piece.starts_with("RM") && piece[2..].starts_with(|c: char| c.is_ascii_digit() || c == '-') {
                    vote("MYR", 1.0, l.value(start, end, "MYR".into(), 0.9));
                }
                continue;
            };
            let prefix = piece[..symbol_at].trim_start_matches(['(', '-']);
            let symbol = piece[symbol_at..].chars().next().unwrap_or('$');
            let (code, weight) = match (symbol, prefix) {
                ('$', "S") => ("SGD", 1.0),
                ('$', "A" | "AU") => ("AUD", 1.0),
                ('$', "C" | "CA") => ("CAD", 1.0),
                ('$', "HK") => ("HKD", 1.0),
                ('$', "NZ") => ("NZD", 1.0),
                ('$', "US") => ("USD", 1.0),
                ('$', "R") => ("BRL", 1.0),
                ('$', _) => ("USD", 0.6),
                ('€', _) => ("EUR", 1.0),
                ('£', _) => ("GBP", 1.0),
                ('¥', _) => ("JPY", 0.8),
                ('₹', _) => ("INR", 1.0),
                ('₱', _) => ("PHP", 1.0),
                _ => ("THB", 1.0),
            };
            vote(code, weight, l.value(start, end, code.into(), 0.8));
        }
    }
    votes.into_iter().max_by(|a, b| a.1.total_cmp(&b.1)).map(|(_, _, v)| v)
}
