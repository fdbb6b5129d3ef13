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

use super::vendor::{one_misread, respell};

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

/// The list word `word` is one letter away from, when exactly one is, and
/// the position of that letter: `word` is all letters, at least
/// [`MIN_LETTERS`] long and not a list word itself.
fn nearest_business_word(word: &str) -> Option<(&'static str, usize)> {
    let up = word.to_ascii_uppercase();
    if up.len() < MIN_LETTERS || !up.bytes().all(|b| b.is_ascii_alphabetic()) || BUSINESS_WORDS.contains(&up.as_str()) {
        return None;
    }
    let mut found = BUSINESS_WORDS.iter().filter_map(|t| one_misread(&up, t).map(|at| (*t, at)));
    match (found.next(), found.next()) {
        (Some(hit), None) => Some(hit),
        _ => None,
    }
}

/// `name` with each word that is one letter off a trade word spelled as it,
/// in the word's case. Punctuation around a word is kept.
pub(super) fn fix_business_words(name: &str) -> String {
    name.split(' ')
        .map(|piece| {
            let start = piece.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(piece.len());
            let end = piece.rfind(|c: char| c.is_ascii_alphabetic()).map_or(start, |e| e + 1);
            let word = &piece[start..end];
            match nearest_business_word(word) {
                Some((form, at)) => format!("{}{}{}", &piece[..start], respell(word, form, at), &piece[end..]),
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
