//! The vendor (merchant, company) name and its address.
//!
//! Both sit in the header of the first page. The company is the most
//! prominent header line (tall text, near the top, a legal-form suffix such
//! as `SDN BHD`, `LTD`, `GMBH`) that is not a heading (`TAX INVOICE`), a
//! contact line, a registration number or an address; a line continuing it
//! (`(SETIA ALAM) SDN BHD`) is joined, and registration numbers after it are
//! dropped. Of the name's misreads only closed-list ones are repaired: a
//! legal form with one character wrong (`SUN BHD`), a word of a business name
//! with one letter wrong (`HARDWAKE`, see `business_words.rs`), a `(`
//! read as `I` before an unopened `)`, a title read without spaces
//! (`TAXINVOICE`). The address is the run of address-like lines after it (street
//! words, a postcode, a state or country), cut where a phone, fax, e-mail or
//! tax label starts. Lines after `BILL TO`/`SHIP TO` belong to the customer
//! and are skipped.

use super::business_words::fix_business_words;
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

/// A heading word, or heading words the OCR read without the space between them (`TAXINVOICE`, `CASHSALES`).
fn is_heading_word(w: &str) -> bool {
    fn glued(w: &str) -> bool {
        w.is_empty() || HEADINGS.iter().any(|h| h.len() >= 3 && w.strip_prefix(h).is_some_and(glued))
    }
    let w = w.to_ascii_uppercase();
    HEADINGS.contains(&w.as_str()) || (!w.is_empty() && glued(&w))
}

fn is_heading(up: &str) -> bool {
    let rest: usize = pieces(up)
        .into_iter()
        .map(|(s, e)| up[s..e].trim_matches(|c: char| !c.is_ascii_alphanumeric()))
        .filter(|w| !is_heading_word(w))
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
    let title = cleaned.iter().take_while(|w| is_heading_word(w)).count();
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
    fix_legal_form(&fix_business_words(&reopen_parenthesis(name.trim().trim_end_matches([',', ':', '-', '(']).trim())))
}

/// Characters the OCR reads for an opening parenthesis.
const READ_FOR_PARENTHESIS: [char; 8] = ['I', 'l', '1', 'C', 'L', '[', '{', '|'];

/// A name that closes a parenthesis it never opened (`ENTERPRISE ISETIA ALAM)`, `L SETIA ALAM)`) had its `(`
/// misread: the nearest of the two words before the closing one that starts with a character read for `(` (or
/// is that character alone) gets it back.
fn reopen_parenthesis(name: &str) -> String {
    if !closes_parenthesis(name) || name.contains('(') {
        return name.to_string();
    }
    let mut words: Vec<String> = name.split(' ').map(str::to_string).collect();
    let Some(close) = words.iter().position(|w| w.contains(')')) else { return name.to_string() };
    for k in (close.saturating_sub(2)..close).rev() {
        let w = &words[k];
        let mut chars = w.chars();
        if !chars.next().is_some_and(|c| READ_FOR_PARENTHESIS.contains(&c)) {
            continue;
        }
        let rest = chars.as_str();
        if rest.is_empty() {
            words[k] = "(".to_string() + &words[k + 1];
            words.remove(k + 1);
            return words.join(" ");
        }
        if rest.len() >= 3 && rest.chars().all(|c| c.is_ascii_uppercase()) {
            words[k] = format!("({rest}");
            return words.join(" ");
        }
    }
    name.to_string()
}

/// Two-word legal forms: when the name ends in one of them with one word exact, the other word may be misread.
const LEGAL_PAIRS: [(&str, &str); 4] = [("SDN", "BHD"), ("PTE", "LTD"), ("PTY", "LTD"), ("PVT", "LTD")];

/// One-word legal forms long enough that one misread letter still names them.
const LONG_LEGAL_FORMS: [&str; 5] = ["BERHAD", "LIMITED", "CORPORATION", "INCORPORATED", "COMPANY"];

/// `word` (upper-cased, trailing dot dropped) spelled as `form` with exactly one letter or digit changed: the
/// position of that character, if so.
pub(super) fn one_misread(word: &str, form: &str) -> Option<usize> {
    let word = word.trim_end_matches('.');
    if word.len() != form.len() || !word.is_ascii() {
        return None;
    }
    let mut diff = word.bytes().zip(form.bytes()).enumerate().filter(|(_, (a, b))| !a.eq_ignore_ascii_case(b));
    match (diff.next(), diff.next()) {
        (Some((i, (a, _))), None) if a.is_ascii_alphanumeric() => Some(i),
        _ => None,
    }
}

/// Writes `form`'s character at `at` into `word`, in the word's case.
pub(super) fn respell(word: &str, form: &str, at: usize) -> String {
    let lower = word.bytes().skip(1).any(|b| b.is_ascii_lowercase());
    let c = form.as_bytes()[at] as char;
    let c = if lower && at > 0 { c.to_ascii_lowercase() } else { c };
    let mut out = word.to_string();
    out.replace_range(at..at + 1, c.encode_utf8(&mut [0; 4]));
    out
}

/// A legal form that ends the name with one character misread (`SUN BHD`, `SDN BHI`, `PTE LID`, `LIMITEO`) is
/// spelled as the form: legal forms are a closed list, so the context (the other word of a two-word form, or a
/// long form's other letters) names it. Other words are left as read.
fn fix_legal_form(name: &str) -> String {
    let mut words: Vec<String> = name.split(' ').map(str::to_string).collect();
    let n = words.len();
    if n >= 3 {
        let (prev, last) = (words[n - 2].to_ascii_uppercase(), words[n - 1].to_ascii_uppercase());
        let last_bare = last.trim_end_matches('.');
        for (a, b) in LEGAL_PAIRS {
            if prev.trim_end_matches('.') == a {
                if let Some(at) = one_misread(&last, b) {
                    words[n - 1] = respell(&words[n - 1], b, at);
                    break;
                }
            }
            if last_bare == b {
                if let Some(at) = one_misread(&prev, a) {
                    words[n - 2] = respell(&words[n - 2], a, at);
                    break;
                }
            }
        }
    }
    if n >= 2 {
        let last = words[n - 1].to_ascii_uppercase();
        if let Some((form, at)) = LONG_LEGAL_FORMS.iter().find_map(|f| one_misread(&last, f).map(|at| (f, at))) {
            words[n - 1] = respell(&words[n - 1], form, at);
        }
    }
    words.join(" ")
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

/// Unbalanced `)` in a line (the rest of a name broken inside parentheses).
fn closes_parenthesis(text: &str) -> bool {
    text.matches(')').count() > text.matches('(').count()
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
        // A name ending in a legal form, or closing a parenthesis it did not open (`ALAM) SDN BHD`), began above.
        let chosen = &doc.lines[header[rank]];
        let leads_up = (has_legal_form(&chosen.upper) || closes_parenthesis(&chosen.text))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_legal_form_with_one_misread_character_is_spelled_as_the_form() {
        assert_eq!(fix_legal_form("KOPI CORNER SUN BHD"), "KOPI CORNER SDN BHD");
        assert_eq!(fix_legal_form("KOPI CORNER SDN BHI"), "KOPI CORNER SDN BHD");
        assert_eq!(fix_legal_form("Kopi Corner Sdn Bhu"), "Kopi Corner Sdn Bhd");
        assert_eq!(fix_legal_form("HARBOUR TRADING PTE LID"), "HARBOUR TRADING PTE LTD");
        assert_eq!(fix_legal_form("Northwind Tools Limiteo"), "Northwind Tools Limited");
        // Two misread characters, an exact form, or a form not at the end are left as read.
        for name in ["KOPI CORNER SIN EHU", "KOPI CORNER SDN BHD", "SUN BHD PARK CAFE", "BLUE SUN", "BHD"] {
            assert_eq!(fix_legal_form(name), name);
        }
    }

    #[test]
    fn a_misread_opening_parenthesis_is_put_back() {
        assert_eq!(reopen_parenthesis("HUAT ENTERPRISE ISETIA ALAM) SDN BHD"), "HUAT ENTERPRISE (SETIA ALAM) SDN BHD");
        assert_eq!(reopen_parenthesis("HUAT ENTERPRISE L SETIA ALAM) SDN BHD"), "HUAT ENTERPRISE (SETIA ALAM) SDN BHD");
        assert_eq!(reopen_parenthesis("HUAT ENTERPRISE CSETIA ALAM) SDN BHD"), "HUAT ENTERPRISE (SETIA ALAM) SDN BHD");
        // Balanced, no candidate, or a candidate too far from the closing word: left as read.
        for name in ["AEON CO. (M) BHD", "ALAM) SDN BHD", "ISETIA NORTH WEST ALAM) SDN BHD", "KEDAI IPOH"] {
            assert_eq!(reopen_parenthesis(name), name);
        }
    }

    #[test]
    fn headings_read_without_spaces_are_headings() {
        assert!(is_heading_word("TAXINVOICE"));
        assert!(is_heading_word("CashSales"));
        assert!(is_heading_word("RECEIPT"));
        assert!(!is_heading_word("TAXI"));
        assert!(!is_heading_word("RAPID"));
        assert_eq!(strip_registration("TAXINVOICE RAPID RAIL SDN BHD"), "RAPID RAIL SDN BHD");
    }
}
