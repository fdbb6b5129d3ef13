//! `detect_language`: the language of a file's text, from character
//! trigram statistics (the `whatlang` crate: 69 languages, no model files).

use super::response::Language;

/// ISO 639-3 codes with an ISO 639-1 equivalent (docTR reports 639-1).
const TWO_LETTER: [(&str, &str); 52] = [
    ("afr", "af"),
    ("aka", "ak"),
    ("amh", "am"),
    ("ara", "ar"),
    ("aze", "az"),
    ("bel", "be"),
    ("ben", "bn"),
    ("bul", "bg"),
    ("cat", "ca"),
    ("ces", "cs"),
    ("cmn", "zh"),
    ("cym", "cy"),
    ("dan", "da"),
    ("deu", "de"),
    ("ell", "el"),
    ("eng", "en"),
    ("epo", "eo"),
    ("est", "et"),
    ("fin", "fi"),
    ("fra", "fr"),
    ("guj", "gu"),
    ("heb", "he"),
    ("hin", "hi"),
    ("hrv", "hr"),
    ("hun", "hu"),
    ("hye", "hy"),
    ("ind", "id"),
    ("ita", "it"),
    ("jav", "jv"),
    ("jpn", "ja"),
    ("kat", "ka"),
    ("kor", "ko"),
    ("lat", "la"),
    ("lav", "lv"),
    ("lit", "lt"),
    ("mkd", "mk"),
    ("nld", "nl"),
    ("nob", "nb"),
    ("pes", "fa"),
    ("pol", "pl"),
    ("por", "pt"),
    ("ron", "ro"),
    ("rus", "ru"),
    ("slk", "sk"),
    ("slv", "sl"),
    ("spa", "es"),
    ("srp", "sr"),
    ("swe", "sv"),
    ("tur", "tr"),
    ("ukr", "uk"),
    ("vie", "vi"),
    ("zul", "zu"),
];

/// The language of `text`, or both fields `null` when the text is too short
/// or mixed to tell.
pub fn detect(text: &str) -> Language {
    match whatlang::detect(text) {
        Some(info) => {
            let code = info.lang().code();
            let short = TWO_LETTER.iter().find(|(long, _)| *long == code).map_or(code, |(_, short)| short);
            Language {
                value: Some(short.to_string()),
                confidence: Some((info.confidence() as f32 * 1e4).round() / 1e4),
            }
        }
        None => Language { value: None, confidence: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_come_as_two_letter_codes() {
        let english = detect("The quick brown fox jumps over the lazy dog and then runs into the forest.");
        assert_eq!(english.value.as_deref(), Some("en"));
        assert!(english.confidence.is_some_and(|c| c > 0.0 && c <= 1.0));
        let german = detect("Der schnelle braune Fuchs springt über den faulen Hund und läuft in den Wald.");
        assert_eq!(german.value.as_deref(), Some("de"));
        assert_eq!(detect("").value, None);
    }
}
