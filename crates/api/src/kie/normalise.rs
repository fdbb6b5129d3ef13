//! Text helpers shared by the rules: whitespace pieces with byte spans,
//! keyword search at word boundaries, and amount parsing.

/// Whitespace-separated pieces of `s` as byte spans.
pub fn pieces(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(b)) => {
                out.push((b, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(b) = start {
        out.push((b, s.len()));
    }
    out
}

/// Byte offsets of every occurrence of `keyword` in `upper` that is not part of a longer word (the characters
/// around it are not ASCII letters or digits). `keyword` is upper-case.
pub fn find_words(upper: &str, keyword: &str) -> Vec<usize> {
    let bytes = upper.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = upper[from..].find(keyword) {
        let at = from + pos;
        let end = at + keyword.len();
        let before_ok = at == 0 || !bytes[at - 1].is_ascii_alphanumeric();
        let after_ok = end >= bytes.len() || !bytes[end].is_ascii_alphanumeric();
        if before_ok && after_ok {
            out.push(at);
        }
        from = at + keyword.len().max(1);
        while from < upper.len() && !upper.is_char_boundary(from) {
            from += 1;
        }
    }
    out
}

/// Whether `keyword` occurs in `upper` as a whole word (or phrase).
pub fn has_word(upper: &str, keyword: &str) -> bool {
    !find_words(upper, keyword).is_empty()
}

/// Whether any of `keywords` occurs in `upper` as a whole word.
pub fn has_any(upper: &str, keywords: &[&str]) -> bool {
    keywords.iter().any(|k| has_word(upper, k))
}

/// A money amount as printed, normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct Amount {
    /// Decimal string with `.` as separator and no grouping, e.g. `-1234.50`.
    pub value: String,
    /// The value as a number (for comparisons).
    pub number: f64,
    /// Digits after the decimal separator (0 for a whole number).
    pub decimals: usize,
    /// Whether a currency symbol or code was attached.
    pub currency: bool,
}

/// Currency symbols and codes that may be glued to an amount, longest first.
const CURRENCY_PREFIXES: [&str; 30] = [
    "US$", "NZ$", "HK$", "MYR", "USD", "EUR", "GBP", "SGD", "AUD", "CAD", "CHF", "INR", "IDR", "JPY", "CNY", "THB",
    "PHP", "S$", "A$", "C$", "R$", "RM", "RP", "$", "€", "£", "¥", "₹", "₱", "฿",
];

/// Parses one whitespace piece as a money amount: an optional sign and
/// currency (`RM`, `$`, `€`, `-RM0.20`, `RM-0.20`), digits with grouping
/// and a decimal separator (`1,234.56`, `1.234,56`, `3.90`), and an optional
/// tax-code suffix of up to three letters (`15.56SR`). Percentages, dates and
/// words are not amounts.
pub fn parse_amount(piece: &str) -> Option<Amount> {
    let mut s = piece.trim_start_matches(['(', ':', '*', '=', '#']).trim_end_matches([')', '*', ':', ';', ',', '=']);
    let mut negative = false;
    let mut currency = false;
    for _ in 0..2 {
        if let Some(rest) = s.strip_prefix('-') {
            negative = true;
            s = rest;
        }
        if let Some(p) = CURRENCY_PREFIXES
            .iter()
            .find(|p| s.len() >= p.len() && s.is_char_boundary(p.len()) && s[..p.len()].eq_ignore_ascii_case(p))
        {
            currency = true;
            s = &s[p.len()..];
        }
    }
    // After a currency sign, a letter O is a misread zero (`RMO.02`).
    let unzeroed;
    if currency && s.contains(['O', 'o']) && s.bytes().any(|b| b.is_ascii_digit()) {
        unzeroed = s.replace(['O', 'o'], "0");
        s = &unzeroed;
    }
    if let Some(rest) = s.strip_suffix('-') {
        negative = true;
        s = rest;
    }
    let letters = s.bytes().rev().take_while(|b| b.is_ascii_alphabetic()).count();
    if letters > 0 && letters <= 3 {
        s = &s[..s.len() - letters];
    }
    let bytes = s.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_digit() || !bytes[bytes.len() - 1].is_ascii_digit() {
        return None;
    }
    if !bytes.iter().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b',' | b'\'')) {
        return None;
    }
    let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();
    if digits > 12 {
        return None;
    }
    let separators: Vec<usize> = (0..bytes.len()).filter(|&i| !bytes[i].is_ascii_digit()).collect();
    let (int_part, frac_part) = match separators.last() {
        None => (s, ""),
        Some(&last) => {
            let after = bytes.len() - last - 1;
            let sep = bytes[last];
            let is_decimal = match after {
                1 | 2 => sep != b'\'',
                3 => sep == b'.' && separators.len() == 1,
                4 => sep == b'.' && separators.len() == 1,
                _ => false,
            };
            if is_decimal {
                (&s[..last], &s[last + 1..])
            } else {
                (s, "")
            }
        }
    };
    // Every separator left in the integer part groups thousands: one kind, groups of exactly three digits.
    let groups: Vec<&str> = int_part.split(['.', ',', '\'']).collect();
    if groups.len() > 1 {
        let kinds: Vec<u8> = int_part.bytes().filter(|b| !b.is_ascii_digit()).collect();
        if kinds.iter().any(|&k| k != kinds[0])
            || groups[0].is_empty()
            || groups[0].len() > 3
            || groups[1..].iter().any(|g| g.len() != 3)
        {
            return None;
        }
        if !frac_part.is_empty() && s.as_bytes()[int_part.len()] == kinds[0] {
            return None;
        }
    }
    let int_digits: String = groups.concat();
    let int_digits = int_digits.trim_start_matches('0');
    let int_digits = if int_digits.is_empty() { "0" } else { int_digits };
    let sign = if negative { "-" } else { "" };
    let value =
        if frac_part.is_empty() { format!("{sign}{int_digits}") } else { format!("{sign}{int_digits}.{frac_part}") };
    let number = value.parse().ok()?;
    Some(Amount { value, number, decimals: frac_part.len(), currency })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(s: &str) -> Option<String> {
        parse_amount(s).map(|a| a.value)
    }

    #[test]
    fn amounts_parse_in_their_printed_forms() {
        assert_eq!(amount("3.90").as_deref(), Some("3.90"));
        assert_eq!(amount("RM21.85").as_deref(), Some("21.85"));
        assert_eq!(amount("RM-0.20").as_deref(), Some("-0.20"));
        assert_eq!(amount("-2.57").as_deref(), Some("-2.57"));
        assert_eq!(amount("15.56SR").as_deref(), Some("15.56"));
        assert_eq!(amount("$1,234.56").as_deref(), Some("1234.56"));
        assert_eq!(amount("1.234,56").as_deref(), Some("1234.56"));
        assert_eq!(amount("€12,50").as_deref(), Some("12.50"));
        assert_eq!(amount("1,234").as_deref(), Some("1234"));
        assert_eq!(amount("(12.00)").as_deref(), Some("12.00"));
        assert_eq!(amount("52").as_deref(), Some("52"));
        assert_eq!(amount("RMO.02").as_deref(), Some("0.02"));
    }

    #[test]
    fn non_amounts_are_rejected() {
        for s in ["6%", "04/12/2017", "TOTAL", "12:30", "1,23,4", "1.2.3", "A4", "10S1", ""] {
            assert_eq!(amount(s), None, "{s}");
        }
    }

    #[test]
    fn keywords_match_whole_words_only() {
        assert!(has_word("GRAND TOTAL: 3.90", "TOTAL"));
        assert!(!has_word("SUBTOTAL 3.90", "TOTAL"));
        assert!(has_word("SUB-TOTAL", "TOTAL"));
        assert_eq!(find_words("TEL TEL", "TEL"), vec![0, 4]);
    }
}
