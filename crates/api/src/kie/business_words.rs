//! Words of business names, for repairing one misread letter in a vendor
//! name.
//!
//! Headers are printed in large, often bold or condensed type that the
//! recogniser misreads more than body text (`HARDWAKE`, `HARUWARE`). Like
//! legal forms, the words that describe a trade are a closed, common list;
//! a long word that is one letter away from exactly one of them, and is not
//! itself a word of the list, is spelled as that word. Short words are left
//! alone: with fewer than seven letters, one changed letter often makes
//! another real word or name.

/// Words common in business names (trade, kind of business, English and
/// Malay), at least seven letters long.
const BUSINESS_WORDS: [&str; 64] = [
    "ACCESSORIES",
    "APPAREL",
    "AUTOMOTIVE",
    "BOOKSHOP",
    "BOOKSTORE",
    "BOUTIQUE",
    "BROTHERS",
    "BUILDERS",
    "CAFETERIA",
    "CATERING",
    "CHEMICALS",
    "COMPANY",
    "COMPUTER",
    "CONFECTIONERY",
    "CONSTRUCTION",
    "CONSULTANCY",
    "CORPORATION",
    "DISTRIBUTION",
    "DISTRIBUTORS",
    "ELECTRICAL",
    "ELECTRONICS",
    "ENGINEERING",
    "ENTERPRISE",
    "ENTERPRISES",
    "EQUIPMENT",
    "FASHION",
    "FURNITURE",
    "GENERAL",
    "GROCERY",
    "HARDWARE",
    "HOLDINGS",
    "HYPERMARKET",
    "INDUSTRIES",
    "INTERNATIONAL",
    "JEWELLERY",
    "KITCHEN",
    "LOGISTICS",
    "MACHINERY",
    "MANUFACTURING",
    "MARKETING",
    "MEDICAL",
    "MERCHANT",
    "MINIMARKET",
    "OPTICAL",
    "PASARAYA",
    "PERNIAGAAN",
    "PERUSAHAAN",
    "PETROLEUM",
    "PHARMACY",
    "PRINTING",
    "PRODUCTS",
    "RESTAURANT",
    "RESTORAN",
    "SEAFOOD",
    "SERVICES",
    "SOLUTIONS",
    "STATIONERY",
    "SUPERMARKET",
    "SUPPLIES",
    "SYARIKAT",
    "SYSTEMS",
    "TECHNOLOGY",
    "TRADING",
    "WHOLESALE",
];

/// Shortest word repaired.
const MIN_LETTERS: usize = 7;

/// The list word `word` is one letter away from, when exactly one is: same
/// length, one position differs, and `word` is all letters and not a list
/// word itself. Upper case.
fn nearest_business_word(word: &str) -> Option<&'static str> {
    let up = word.to_ascii_uppercase();
    if up.len() < MIN_LETTERS || !up.bytes().all(|b| b.is_ascii_alphabetic()) || BUSINESS_WORDS.contains(&up.as_str()) {
        return None;
    }
    let one_off = |t: &&&str| t.len() == up.len() && t.bytes().zip(up.bytes()).filter(|(a, b)| a != b).count() == 1;
    let mut found = BUSINESS_WORDS.iter().filter(one_off);
    match (found.next(), found.next()) {
        (Some(t), None) => Some(t),
        _ => None,
    }
}

/// `name` with each word that is one letter off a trade word spelled as it,
/// in the word's case (upper, or capitalised when the word has lower-case
/// letters). Punctuation around a word is kept.
pub(super) fn fix_business_words(name: &str) -> String {
    name.split(' ')
        .map(|piece| {
            let start = piece.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(piece.len());
            let end = piece.rfind(|c: char| c.is_ascii_alphabetic()).map_or(start, |e| e + 1);
            let word = &piece[start..end];
            match nearest_business_word(word) {
                Some(t) => {
                    let lower = word.bytes().skip(1).any(|b| b.is_ascii_lowercase());
                    let spelled = if lower { t[..1].to_string() + &t[1..].to_ascii_lowercase() } else { t.to_string() };
                    format!("{}{spelled}{}", &piece[..start], &piece[end..])
                }
                None => piece.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_business_word_with_one_misread_letter_is_spelled_as_the_word() {
        assert_eq!(fix_business_words("AIK HUAT HARDWAKE ENTERPRISE."), "AIK HUAT HARDWARE ENTERPRISE.");
        assert_eq!(fix_business_words("SANYU STATIONERV SHOP"), "SANYU STATIONERY SHOP");
        assert_eq!(fix_business_words("Kopi Restavrant (KL)"), "Kopi Restaurant (KL)");
        assert_eq!(fix_business_words("GOLDEN TRADINO,"), "GOLDEN TRADING,");
    }

    #[test]
    fn other_words_are_left_as_read() {
        for name in [
            // Two letters off, a letter added, a list word, too short, not all letters.
            "AIK HUAT HAKIWARE ENTERPRISE",
            "HARDWARES SDN BHD",
            "HARDWARE TRADING",
            "SHAP CAFE",
            "HARDWAR3 SHOP",
            // A name that is not a trade word.
            "MOONLIGHT CAKE HOUSE",
        ] {
            assert_eq!(fix_business_words(name), name);
        }
    }

    #[test]
    fn every_business_word_is_long_upper_case_and_listed_once_in_order() {
        assert!(BUSINESS_WORDS.iter().all(|w| w.len() >= MIN_LETTERS && w.bytes().all(|b| b.is_ascii_uppercase())));
        assert!(BUSINESS_WORDS.windows(2).all(|p| p[0] < p[1]), "sorted, no duplicates");
    }
}
