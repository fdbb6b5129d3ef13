//! The vendor (merchant, company) name and its address.
//!
//! Both sit in the header of the first page. The company is the most
//! prominent header line (tall text, near the top, a legal-form suffix such
//! as `SDN BHD`, `LTD`, `GMBH`) that is not a heading (`TAX INVOICE`), a
//! contact line, a registration number or an address; a line continuing it
//! (`(SETIA ALAM) SDN BHD`) is joined, and registration numbers after it are
//! dropped. The address is the run of address-like lines after it (street
//! words, a postcode, a state or country), cut where a phone, fax, e-mail or
//! tax label starts. Lines after `BILL TO`/`SHIP TO` belong to the customer
//! and are skipped.

use super::doc::{Doc, TextLine};
use super::normalise::{find_words, has_any, pieces};
use super::FieldValue;

/// Legal-form and trade suffixes of company names.
const SUFFIXES: [&str; 30] = [
    "SDN BHD",
    "SDN. BHD.",
    "BHD",
    "BERHAD",
    "LTD",
    "LIMITED",
    "LLC",
    "INC",
    "CORP",
    "CORPORATION",
    "CO",
    "COMPANY",
    "GMBH",
    "AG",
    "SA",
    "SAS",
    "SARL",
    "BV",
    "NV",
    "PLC",
    "PTY",
    "PTE",
    "LLP",
    "ENTERPRISE",
    "ENTERPRISES",
    "TRADING",
    "SB",
    "KG",
    "S.A.",
    "OY",
];

/// Words of the document's title, not of its issuer.
const HEADINGS: [&str; 24] = [
    "TAX",
    "INVOICE",
    "RECEIPT",
    "OFFICIAL",
    "CASH",
    "SALE",
    "SALES",
    "SIMPLIFIED",
    "BILL",
    "QUOTATION",
    "STATEMENT",
    "ORDER",
    "WELCOME",
    "TO",
    "THANK",
    "YOU",
    "COPY",
    "ORIGINAL",
    "DUPLICATE",
    "CUSTOMER",
    "MERCHANT",
    "COUNTER",
    "RECHNUNG",
    "FACTURE",
];

/// Labels starting contact or registration details (where an address line is cut).
const CONTACT_LABELS: [&str; 22] = [
    "TEL",
    "TEL.",
    "TELEPHONE",
    "PHONE",
    "FAX",
    "MOBILE",
    "HP",
    "H/P",
    "EMAIL",
    "E-MAIL",
    "WEBSITE",
    "WEB",
    "GST",
    "VAT",
    "TAX",
    "SST",
    "REG",
    "REGISTRATION",
    "CO.REG",
    "COMPANY NO",
    "ABN",
    "TIN",
];

/// Labels starting the customer's block.
const CUSTOMER_LABELS: [&str; 7] =
    ["BILL TO", "BILLED TO", "SHIP TO", "SOLD TO", "INVOICE TO", "DELIVER TO", "CUSTOMER"];

/// Words that mark an address line.
const ADDRESS_WORDS: [&str; 70] = [
    "JALAN",
    "JLN",
    "LORONG",
    "PERSIARAN",
    "TAMAN",
    "KAWASAN",
    "BANDAR",
    "SEKSYEN",
    "LEBUH",
    "KAMPUNG",
    "STREET",
    "ST",
    "ROAD",
    "RD",
    "AVENUE",
    "AVE",
    "LANE",
    "DRIVE",
    "BOULEVARD",
    "BLVD",
    "WAY",
    "PLACE",
    "COURT",
    "SQUARE",
    "HIGHWAY",
    "HWY",
    "SUITE",
    "STE",
    "FLOOR",
    "FLR",
    "LEVEL",
    "BLOCK",
    "BLK",
    "UNIT",
    "LOT",
    "BUILDING",
    "BLDG",
    "PLAZA",
    "CENTRE",
    "CENTER",
    "MALL",
    "TOWER",
    "INDUSTRIAL",
    "ESTATE",
    "STRASSE",
    "STR",
    "PLATZ",
    "WEG",
    "RUE",
    "AVENIDA",
    "CALLE",
    "PO BOX",
    "P.O. BOX",
    "SELANGOR",
    "JOHOR",
    "KUALA LUMPUR",
    "PENANG",
    "PERAK",
    "KEDAH",
    "MELAKA",
    "PAHANG",
    "SABAH",
    "SARAWAK",
    "NEGERI SEMBILAN",
    "KELANTAN",
    "PUTRAJAYA",
    "MALAYSIA",
    "SINGAPORE",
    "USA",
    "UNITED KINGDOM",
];

/// Share of letters among the non-space characters of `s`.
fn letter_share(s: &str) -> f32 {
    let non_space = s.chars().filter(|c| !c.is_whitespace()).count().max(1);
    s.chars().filter(|c| c.is_alphabetic()).count() as f32 / non_space as f32
}

fn is_heading(up: &str) -> bool {
    let rest: usize = pieces(up)
        .into_iter()
        .map(|(s, e)| up[s..e].trim_matches(|c: char| !c.is_ascii_alphanumeric()))
        .filter(|w| !HEADINGS.contains(w))
        .map(|w| w.chars().filter(|c| c.is_alphabetic()).count())
        .sum();
    rest < 3
}

/// A postcode: a standalone run of 4 to 6 digits, or a UK-style `SW1A 1AA`.
fn has_postcode(up: &str) -> bool {
    pieces(up).into_iter().any(|(s, e)| {
        let w = up[s..e].trim_matches(|c: char| matches!(c, ',' | '.' | ';'));
        let digits = w.len() >= 4 && w.len() <= 6 && w.bytes().all(|b| b.is_ascii_digit());
        let b = w.as_bytes();
        let uk_inward = b.len() == 3 && b[0].is_ascii_digit() && b[1].is_ascii_uppercase() && b[2].is_ascii_uppercase();
        digits || (uk_inward && s > 0)
    })
}

fn is_address(up: &str) -> bool {
    has_any(up, &ADDRESS_WORDS) || (has_postcode(up) && letter_share(up) > 0.3) || starts_with_number(up)
}

/// `NO. 12`, `NO.1,`, `12, JALAN` or `123 MAIN` style starts.
fn starts_with_number(up: &str) -> bool {
    let t = up.trim_start();
    let t = t.strip_prefix("NO").map(|r| r.trim_start_matches(['.', ' '])).unwrap_or(t);
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0
        && digits <= 5
        && t[digits..]
            .trim_start_matches(|c: char| c.is_ascii_alphabetic() && c.is_ascii_uppercase())
            .starts_with([',', ' ', '-', '/'])
        && letter_share(t) > 0.3
}

/// Byte offset where a contact or registration label starts in `up` (the line's length if none).
fn contact_start(up: &str) -> usize {
    let mut cut = up.len();
    for k in CONTACT_LABELS {
        for p in find_words(up, k) {
            cut = cut.min(p);
        }
    }
    if up.contains('@') {
        cut = cut.min(pieces(up).into_iter().find(|&(s, e)| up[s..e].contains('@')).map_or(cut, |(s, _)| s));
    }
    cut
}

/// Whether the line is contact, date or registration detail rather than a name or address.
fn is_detail(l: &TextLine) -> bool {
    let up = &l.upper;
    contact_start(up) < 3 || letter_share(up) < 0.45 || up.contains("WWW.") || up.contains(".COM") || up.contains('@')
}

/// Removes a trailing registration number (`(862725-U)`, `862725-U`, `CO. NO. 123`) from a company name.
fn strip_registration(text: &str) -> String {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    while let Some(last) = words.last() {
        let digits = last.chars().filter(char::is_ascii_digit).count();
        if digits >= 3 || last.trim_matches(|c: char| !c.is_alphanumeric()).is_empty() {
            words.pop();
        } else {
            break;
        }
    }
    let joined = words.join(" ");
    let cut = contact_start(&joined.to_ascii_uppercase());
    joined[..cut].trim().trim_end_matches([',', ':', '-']).trim().to_string()
}

fn has_suffix(up: &str) -> bool {
    has_any(up, &SUFFIXES)
}

/// The company name and address of the document.
pub fn company_and_address(doc: &Doc) -> (Option<FieldValue>, Option<FieldValue>) {
    let Some(first) = doc.lines.first() else { return (None, None) };
    let page = first.page;
    let (_, page_h) = first.page_size;
    let median = doc.median_height(page);
    // Header lines: the top of the first page, minus any customer block.
    let mut header: Vec<usize> = Vec::new();
    let mut skip = 0;
    for (i, l) in doc.lines.iter().enumerate().filter(|(_, l)| l.page == page).take(18) {
        if l.centre_y() > 0.5 * page_h as f32 && header.len() >= 4 {
            break;
        }
        if has_any(&l.upper, &CUSTOMER_LABELS) {
            skip = 4;
            continue;
        }
        if skip > 0 {
            skip -= 1;
            continue;
        }
        header.push(i);
    }
    let name_like = |l: &TextLine| {
        l.text.chars().filter(|c| c.is_alphabetic()).count() >= 3
            && !is_heading(&l.upper)
            && !is_detail(l)
            && !is_address(&l.upper)
    };
    let mut best: Option<(f32, usize)> = None;
    for (rank, &i) in header.iter().enumerate() {
        let l = &doc.lines[i];
        if !name_like(l) {
            continue;
        }
        let score =
            (l.bbox.height / median).min(3.0) + if has_suffix(&l.upper) { 1.5 } else { 0.0 } - 0.25 * rank as f32;
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, i));
        }
    }
    let company_end;
    let company = match best {
        Some((_, i)) => {
            let l = &doc.lines[i];
            let mut name = strip_registration(&l.text);
            let mut value = l.whole(String::new(), 0.85);
            let mut last = i;
            if let Some(j) = doc.below(i) {
                let n = &doc.lines[j];
                let continues = name_like(n)
                    && (n.upper.trim_start().starts_with('(') || (has_suffix(&n.upper) && !has_suffix(&l.upper)))
                    && (n.bbox.height - l.bbox.height).abs() < 0.4 * l.bbox.height;
                if continues {
                    name = format!("{name} {}", strip_registration(&n.text));
                    let g = n.whole(String::new(), 0.85).geometry;
                    value.geometry = [
                        value.geometry[0].min(g[0]),
                        value.geometry[1].min(g[1]),
                        value.geometry[2].max(g[2]),
                        value.geometry[3].max(g[3]),
                    ];
                    last = j;
                }
            }
            company_end = header.iter().position(|&h| h == last).map_or(0, |p| p + 1);
            value.value = name;
            (!value.value.is_empty()).then_some(value)
        }
        None => {
            company_end = 0;
            None
        }
    };
    (company, address(doc, &header[company_end.min(header.len())..]))
}

/// The address: address-like lines in `lines`, from the first one on, each cut before contact labels.
fn address(doc: &Doc, lines: &[usize]) -> Option<FieldValue> {
    let start = lines.iter().take(4).position(|&i| is_address(&doc.lines[i].upper))?;
    let mut parts: Vec<(usize, usize)> = Vec::new();
    let mut previous: Option<usize> = None;
    for &i in lines[start..].iter().take(6) {
        let l = &doc.lines[i];
        if let Some(p) = previous {
            let prev = &doc.lines[p];
            if l.bbox.top - prev.bbox.bottom() > 1.5 * prev.bbox.height {
                break;
            }
        }
        let cut = contact_start(&l.upper);
        let kept = l.upper[..cut].trim();
        let address_like = is_address(kept) || (letter_share(kept) > 0.6 && !is_heading(kept));
        if kept.is_empty() || !address_like || (previous.is_some() && is_detail(l) && cut == l.upper.len()) {
            break;
        }
        parts.push((i, cut));
        previous = Some(i);
        if cut < l.upper.len() {
            break;
        }
    }
    let (&(first, _), rest) = parts.split_first()?;
    let text: Vec<String> = parts
        .iter()
        .map(|&(i, cut)| doc.lines[i].text[..cut].trim().trim_end_matches([',', ':']).trim().to_string())
        .collect();
    let mut value = doc.lines[first].value(0, parts[0].1, text.join(" "), 0.8);
    for &(i, cut) in rest {
        let g = doc.lines[i].value(0, cut, String::new(), 1.0).geometry;
        value.geometry = [
            value.geometry[0].min(g[0]),
            value.geometry[1].min(g[1]),
            value.geometry[2].max(g[2]),
            value.geometry[3].max(g[3]),
        ];
    }
    Some(value)
}
