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
use super::normalise::{find_words, has_any, parse_amount, pieces};
use super::FieldValue;

/// Legal forms: a line ending a company name.
const LEGAL_FORMS: [&str; 28] = [
    "SDN BHD",
    "SDN",
    "SDNBHD",
    "SDN. BHD.",
    "BHD",
    "BERHAD",
    "LTD",
    "LIMITED",
    "LLC",
    "INC",
    "CORP",
    "CORPORATION",
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
    "SB",
    "S.A.",
    "OY",
    "KG",
    "SRL",
];

/// Trade words common in business names.
const TRADE_WORDS: [&str; 9] =
    ["CO", "COMPANY", "ENTERPRISE", "ENTERPRISES", "TRADING", "STORE", "STORES", "SHOP", "RESTAURANT"];

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

/// Cuts a company name before its registration number (`(862725-U)`, `862725-U`, `SB(306295-X)`) and any
/// contact label.
fn strip_registration(text: &str) -> String {
    let mut cut = text.len();
    for (s, e) in pieces(text) {
        let piece = &text[s..e];
        // A registration number may be glued to the name after an opening parenthesis.
        let (offset, rest) = match piece.find('(') {
            Some(p) if p > 0 => (p, &piece[p..]),
            _ => (0, piece),
        };
        if rest.chars().filter(char::is_ascii_digit).count() >= 3 {
            cut = s + offset;
            break;
        }
    }
    // OCR noise (lone underscores and bars) and a title the OCR joined to the name (`TAXINVOICE RAPID RAIL`).
    let mut cleaned: Vec<&str> =
        text[..cut].split_whitespace().map(|w| w.trim_matches(['_', '|'])).filter(|w| !w.is_empty()).collect();
    let title = cleaned.iter().take_while(|w| HEADINGS.contains(&w.to_ascii_uppercase().as_str())).count();
    cleaned.drain(..title.min(cleaned.len().saturating_sub(1)));
    let cleaned = cleaned.join(" ");
    let name = cleaned.as_str();
    let name = &name[..contact_start(&name.to_ascii_uppercase())];
    // A legal form ends the name: what follows it is a registration number or a branch (`SDN` alone does not:
    // `BHD` follows it, perhaps misread).
    let up = name.to_ascii_uppercase();
    let end = LEGAL_FORMS
        .iter()
        .filter(|k| **k != "SDN")
        .flat_map(|k| find_words(&up, k).into_iter().map(move |p| p + k.len()))
        .max();
    let name = match end {
        Some(e) if name[e..].trim_start().starts_with(|c: char| c.is_alphanumeric()) => &name[..e],
        _ => name,
    };
    name.trim().trim_end_matches([',', ':', '-', '(']).trim().to_string()
}

fn has_legal_form(up: &str) -> bool {
    has_any(up, &LEGAL_FORMS)
}

/// Whether line `b` continues line `a` of the same text block: just below it, of similar height, overlapping
/// horizontally.
fn continues(a: &TextLine, b: &TextLine) -> bool {
    let h = a.bbox.height.max(1.0);
    b.page == a.page
        && b.bbox.top >= a.centre_y()
        && b.bbox.top - a.bbox.bottom() < 0.8 * h
        && (b.bbox.height - h).abs() < 0.35 * h
        && b.bbox.left < a.bbox.right()
        && b.bbox.right() > a.bbox.left
}

/// A company registration line (`CO. REG. NO: 1011128-T`, `(867388-U)`, `822737-X`, `ROC 12345`), which follows the
/// registered name.
fn is_registration(up: &str) -> bool {
    let t = up.trim();
    let bare_number = !t.contains(' ')
        && t.chars().filter(char::is_ascii_digit).count() >= 4
        && t.chars().filter(char::is_ascii_alphabetic).count() <= 3;
    bare_number
        || has_any(up, &["CO. REG", "CO REG", "CO.REG", "COMPANY NO", "COMPANY REG", "ROC", "REG. NO", "REG NO"])
}

/// Unbalanced `(` in a line (a name broken inside parentheses).
fn opens_parenthesis(text: &str) -> bool {
    text.matches('(').count() > text.matches(')').count()
}

/// The header of the document: the first lines of its first page, up to the first line with a price (after at
/// least four lines), without the customer's block.
fn header(doc: &Doc) -> Vec<usize> {
    let Some(first) = doc.lines.first() else { return Vec::new() };
    let mut header: Vec<usize> = Vec::new();
    let mut skip = 0;
    for (i, l) in doc.lines.iter().enumerate().filter(|(_, l)| l.page == first.page).take(18) {
        let priced =
            pieces(&l.text).into_iter().any(|(s, e)| parse_amount(&l.text[s..e]).is_some_and(|a| a.decimals == 2));
        if priced && header.len() >= 4 {
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
    header
}

/// The company name and address of the document.
pub fn company_and_address(doc: &Doc) -> (Option<FieldValue>, Option<FieldValue>) {
    let header = header(doc);
    let Some(&top) = header.first() else { return (None, None) };
    let median = doc.median_height(doc.lines[top].page);
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
        let letters = l.text.chars().filter(|c| c.is_alphabetic()).count();
        let score = (l.bbox.height / median).min(2.5)
            + if has_legal_form(&l.upper) { 2.0 } else { 0.0 }
            + if has_any(&l.upper, &TRADE_WORDS) { 0.75 } else { 0.0 }
            - if letters < 5 { 1.0 } else { 0.0 }
            - 0.25 * rank as f32
            + if header.get(rank + 1).is_some_and(|&j| is_registration(&doc.lines[j].upper)) { 1.0 } else { 0.0 };
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, rank));
        }
    }
    let Some((_, rank)) = best else { return (None, address(doc, &header, None)) };
    // The name's block: lines above a legal-form line that lead up to it, lines below that finish it.
    let (mut first, mut last) = (rank, rank);
    while first > 0 && rank - first < 2 {
        let (above, me) = (&doc.lines[header[first - 1]], &doc.lines[header[first]]);
        let leads_up = has_legal_form(&doc.lines[header[rank]].upper)
            && name_like(above)
            && !has_legal_form(&above.upper)
            && continues(above, me);
        if !leads_up {
            break;
        }
        first -= 1;
    }
    while last + 1 < header.len() && last - rank < 2 {
        let (me, below) = (&doc.lines[header[last]], &doc.lines[header[last + 1]]);
        let unfinished = opens_parenthesis(&me.text)
            || below.upper.trim_start().starts_with('(')
            || (has_legal_form(&below.upper) && !has_legal_form(&me.upper));
        if !(unfinished && name_like(below) && continues(me, below)) {
            break;
        }
        last += 1;
    }
    let lines = &header[first..=last];
    let name = strip_registration(&lines.iter().map(|&i| doc.lines[i].text.as_str()).collect::<Vec<_>>().join(" "));
    let mut company = doc.lines[lines[0]].whole(name, 0.85);
    for &i in &lines[1..] {
        company.geometry = union(company.geometry, doc.lines[i].whole(String::new(), 1.0).geometry);
    }
    let company = (!company.value.is_empty()).then_some(company);
    // The address follows the name, or (on some receipts) precedes it.
    let after = address(doc, &header[last + 1..], Some(4));
    let rest: Vec<usize> = header.iter().copied().filter(|i| !lines.contains(i)).collect();
    (company, after.or_else(|| address(doc, &rest, None)))
}

fn union(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
    [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])]
}

/// The address: address-like lines in `lines` from the first one (among the first `within` lines, if given), each
/// cut before contact labels.
fn address(doc: &Doc, lines: &[usize], within: Option<usize>) -> Option<FieldValue> {
    let start = lines.iter().take(within.unwrap_or(lines.len())).position(|&i| is_address(&doc.lines[i].upper))?;
    let mut parts: Vec<(usize, usize)> = Vec::new();
    let mut previous: Option<usize> = None;
    let column = doc.lines[lines[start]].bbox;
    for &i in lines[start..].iter().take(10) {
        let l = &doc.lines[i];
        // Lines of another column (beside the address) are passed over.
        if l.bbox.left > column.right() || l.bbox.right() < column.left {
            continue;
        }
        if parts.len() >= 5 {
            break;
        }
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
        value.geometry = union(value.geometry, doc.lines[i].value(0, cut, String::new(), 1.0).geometry);
    }
    Some(value)
}
