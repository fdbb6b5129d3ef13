//! Key-information extraction (KIE): the date, total, vendor and other key
//! fields of a receipt or invoice, found by layout-aware rules over the OCR
//! result (keywords, positions on the page and in the row, value formats).
//!
//! No model and no network: each field has a small rule set in its own
//! module ([`amounts`], [`dates`], [`contacts`], [`vendor`]) working on the
//! flattened lines of [`doc`]; [`normalise`] turns the printed values into
//! canonical ones (ISO 8601 dates, decimal-string amounts).
//! `docs/api.md` (section `/kie`) lists the rules for users.

mod amounts;
mod business_words;
mod contacts;
mod dates;
mod doc;
pub mod eval;
mod normalise;
mod vendor;

use ocr_engine::PageResult;
use serde::Serialize;

use doc::Doc;

/// Every field type [`extract_fields`] reports, in the order it reports them.
pub const FIELD_TYPES: [&str; 13] = [
    "date",
    "time",
    "total",
    "subtotal",
    "tax",
    "currency",
    "company",
    "address",
    "phone",
    "email",
    "url",
    "invoice_number",
    "tax_id",
];

/// One extracted field value with where it was found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldValue {
    /// The normalised value (ISO 8601 date, `HH:MM[:SS]` time, decimal amount, ISO 4217 currency code, ...).
    pub value: String,
    /// Confidence in `[0, 1]`: the OCR confidence of the words read, scaled by how sure the rule is.
    pub confidence: f32,
    /// Box around the words the value was read from: `[x_min, y_min, x_max, y_max]` as fractions of the page size.
    pub geometry: [f32; 4],
    /// Index of the page (0-based) the value was found on.
    pub page: usize,
}

/// One field type and its values, best first (empty when not found).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExtractedField {
    /// One of [`FIELD_TYPES`].
    pub field_type: String,
    /// The values found, best first.
    pub values: Vec<FieldValue>,
}

/// Options of [`extract_fields_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KieOptions {
    /// Order of day and month in numeric dates such as `04/06/2018`: `Some(true)` day first (most of the world),
    /// `Some(false)` month first (US). `None` infers it from the document (another date on it whose order is
    /// unambiguous, a written-out month naming the same day, or the currency); when nothing decides, an
    /// ambiguous date is reported as printed rather than guessed.
    pub day_first: Option<bool>,
}

/// Extracts every field of [`FIELD_TYPES`] from the pages of one document, with default options.
pub fn extract_fields(pages: &[PageResult]) -> Vec<ExtractedField> {
    extract_fields_with(pages, &KieOptions::default())
}

/// Extracts every field of [`FIELD_TYPES`] from the pages of one document.
pub fn extract_fields_with(pages: &[PageResult], options: &KieOptions) -> Vec<ExtractedField> {
    let doc = Doc::new(pages);
    let currency = amounts::currency(&doc);
    let day_first =
        options.day_first.or_else(|| dates::infer_day_first(&doc, currency.as_ref().map(|c| c.value.as_str())));
    let date = dates::date(&doc, day_first);
    let time = dates::time(&doc, date.as_ref());
    let totals = amounts::totals(&doc);
    let (company, address) = vendor::company_and_address(&doc);
    let one = |v: Option<FieldValue>| v.into_iter().collect::<Vec<_>>();
    let values: [Vec<FieldValue>; 13] = [
        one(date),
        one(time),
        one(totals.total),
        one(totals.subtotal),
        one(totals.tax),
        one(currency),
        one(company),
        one(address),
        contacts::phones(&doc),
        contacts::emails(&doc),
        contacts::urls(&doc),
        one(contacts::invoice_number(&doc)),
        contacts::tax_ids(&doc),
    ];
    FIELD_TYPES
        .iter()
        .zip(values)
        .map(|(field_type, values)| ExtractedField { field_type: field_type.to_string(), values })
        .collect()
}
