//! Scoring extracted fields against a receipt's key file (`company`, `date`,
//! `address`, `total`, as in the shared corpus's `*.key.json`), for the
//! `kie_eval` example and the corpus test.
//!
//! Both sides are normalised before comparing: company case and spaces
//! ignored (and, as a second figure, up to 10% of its characters misread); dates compared in ISO form (the key's numeric dates read day
//! first, the corpus's locale); totals as numbers (`RM 30.00` = `30.00`);
//! the address by token F1 (tokens split at spaces and commas, case ignored).

use std::collections::HashMap;

use super::normalise::parse_amount;
use super::{dates, ExtractedField};

/// The ground truth of one receipt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyFields {
    /// Vendor name.
    pub company: String,
    /// Date as printed.
    pub date: String,
    /// Address as printed.
    pub address: String,
    /// Total as printed.
    pub total: String,
}

impl KeyFields {
    /// Reads a `*.key.json` document (`{"company": .., "date": .., "address": .., "total": ..}`).
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        let v: HashMap<String, String> = serde_json::from_str(json)?;
        let get = |k: &str| v.get(k).cloned().unwrap_or_default();
        Ok(Self { company: get("company"), date: get("date"), address: get("address"), total: get("total") })
    }
}

/// Per-field results over a set of receipts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    /// Receipts scored.
    pub receipts: usize,
    /// Receipts whose company matches.
    pub company: usize,
    /// Receipts whose company is within 10% character edits of the key (the right line, misread by the OCR).
    pub company_close: usize,
    /// Receipts whose date matches.
    pub date: usize,
    /// Receipts whose total matches.
    pub total: usize,
    /// Receipts whose address matches exactly (case and spaces ignored).
    pub address_exact: usize,
    /// Sum of the address token F1 of each receipt.
    pub address_f1_sum: f64,
}

/// The result of one receipt.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiptScore {
    /// Company matches.
    pub company: bool,
    /// Company within 10% character edits of the key.
    pub company_close: bool,
    /// Date matches.
    pub date: bool,
    /// Total matches.
    pub total: bool,
    /// Address matches exactly.
    pub address_exact: bool,
    /// Address token F1.
    pub address_f1: f64,
}

impl Tally {
    /// Adds one receipt's result.
    pub fn add(&mut self, s: &ReceiptScore) {
        self.receipts += 1;
        self.company += usize::from(s.company);
        self.company_close += usize::from(s.company_close);
        self.date += usize::from(s.date);
        self.total += usize::from(s.total);
        self.address_exact += usize::from(s.address_exact);
        self.address_f1_sum += s.address_f1;
    }

    fn rate(&self, n: usize) -> f64 {
        n as f64 / self.receipts.max(1) as f64
    }

    /// Share of receipts with the right company.
    pub fn company_rate(&self) -> f64 {
        self.rate(self.company)
    }

    /// Share of receipts whose company is the right line, allowing 10% misread characters.
    pub fn company_close_rate(&self) -> f64 {
        self.rate(self.company_close)
    }

    /// Share of receipts with the right date.
    pub fn date_rate(&self) -> f64 {
        self.rate(self.date)
    }

    /// Share of receipts with the right total.
    pub fn total_rate(&self) -> f64 {
        self.rate(self.total)
    }

    /// Share of receipts with the address exactly right.
    pub fn address_exact_rate(&self) -> f64 {
        self.rate(self.address_exact)
    }

    /// Mean address token F1.
    pub fn address_f1(&self) -> f64 {
        self.address_f1_sum / self.receipts.max(1) as f64
    }
}

/// The first value of a field, or `""`.
pub fn first_value<'a>(fields: &'a [ExtractedField], field_type: &str) -> &'a str {
    fields.iter().find(|f| f.field_type == field_type).and_then(|f| f.values.first()).map_or("", |v| v.value.as_str())
}

/// Upper-cased with every space removed.
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect()
}

/// An amount as a number with cents (`RM 30.00` → 3000), if it reads as one.
fn cents(s: &str) -> Option<i64> {
    let a = parse_amount(&s.replace(' ', ""))?;
    Some((a.number * 100.0).round() as i64)
}

/// Upper-cased tokens split at spaces and commas (dots kept inside tokens, trailing ones dropped).
pub fn tokens(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || c == ',')
        .map(|t| t.trim_end_matches('.').to_uppercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Token F1 of `found` against `truth` (bag of tokens).
pub fn token_f1(found: &str, truth: &str) -> f64 {
    let (f, t) = (tokens(found), tokens(truth));
    if f.is_empty() || t.is_empty() {
        return if f.is_empty() && t.is_empty() { 1.0 } else { 0.0 };
    }
    let mut pool: HashMap<&str, usize> = HashMap::new();
    for w in &t {
        *pool.entry(w.as_str()).or_default() += 1;
    }
    let mut hits = 0;
    for w in &f {
        if let Some(n) = pool.get_mut(w.as_str()).filter(|n| **n > 0) {
            *n -= 1;
            hits += 1;
        }
    }
    let (p, r) = (hits as f64 / f.len() as f64, hits as f64 / t.len() as f64);
    if hits == 0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1).min(row[j] + 1).min(diagonal + usize::from(ca != cb));
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Scores the extracted fields of one receipt against its key.
pub fn score(fields: &[ExtractedField], key: &KeyFields) -> ReceiptScore {
    let company = first_value(fields, "company");
    let date = first_value(fields, "date");
    let total = first_value(fields, "total");
    let address = first_value(fields, "address");
    let key_date = dates::iso_date(&key.date, Some(true)).unwrap_or_else(|| key.date.clone());
    ReceiptScore {
        company: !company.is_empty() && squash(company) == squash(&key.company),
        company_close: !company.is_empty() && {
            let (found, truth) = (squash(company), squash(&key.company));
            edit_distance(&found, &truth) * 10 <= truth.chars().count()
        },
        date: !date.is_empty() && date == key_date,
        total: cents(total).is_some() && cents(total) == cents(&key.total),
        address_exact: !address.is_empty() && squash(address) == squash(&key.address),
        address_f1: token_f1(address, &key.address),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("SDNBHD", "SDNBHD"), 0);
        assert_eq!(edit_distance("SUNBHD", "SDNBHD"), 1);
        assert_eq!(edit_distance("", "ABC"), 3);
        assert_eq!(edit_distance("AB", "BA"), 2);
    }

    #[test]
    fn token_f1_counts_shared_tokens() {
        assert_eq!(token_f1("NO. 1, JALAN X", "NO 1 JALAN X"), 1.0);
        assert_eq!(token_f1("", "A"), 0.0);
        assert!((token_f1("A B", "A C") - 0.5).abs() < 1e-9);
    }

    #[test]
    fn key_amounts_and_dates_normalise() {
        assert_eq!(cents("RM 30.00"), Some(3000));
        assert_eq!(cents("7.70"), Some(770));
        assert_eq!(dates::iso_date("04 JUN 2018", Some(true)).as_deref(), Some("2018-06-04"));
        assert_eq!(dates::iso_date("04/12/2017", Some(true)).as_deref(), Some("2017-12-04"));
        assert_eq!(dates::iso_date("30-06-2018", None).as_deref(), Some("2018-06-30"));
    }
}
