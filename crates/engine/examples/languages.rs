//! Prints which OCR.space languages each engine reads, measured on its
//! recogniser's dictionary (see `ocr_engine::languages`), as a Markdown
//! table for the README.
//!
//! `cargo run -p ocr-engine --example languages [-- MODELS_DIR]`

use ocr_engine::languages::{characteristic_groups, DictionaryChars, SUPPORTED_COVERAGE};
use ocr_engine::model::OnnxModel;
use ocr_engine::recognition::Dictionary;
use ocr_engine::{LanguageSupport, ModelSet, Script, OCR_SPACE_LANGUAGES};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let models =
        std::env::args().nth(1).or_else(|| std::env::var("OCR_MODELS_DIR").ok()).unwrap_or_else(|| "models".into());
    let mut engines = Vec::new();
    for set in [ModelSet::engine1(&models), ModelSet::engine2(&models)] {
        // Only the recogniser's metadata is needed, not a whole engine.
        let model = OnnxModel::load(&set.recognizer, 1)?;
        let dictionary = Dictionary::from_lines(model.metadata("character").ok_or("recogniser has no dictionary")?);
        println!("{}: {} classes", set.name, dictionary.classes());
        engines.push((set.name, DictionaryChars::of(&dictionary)));
    }
    println!("\nSupported at coverage >= {SUPPORTED_COVERAGE}; coverage is the weakest of the language's groups.\n");
    println!("| code | characters checked | {} | {} |", engines[0].0, engines[1].0);
    println!("|---|---|---|---|");
    for code in OCR_SPACE_LANGUAGES {
        let groups = characteristic_groups(code).expect("every listed code is known");
        let checked: Vec<String> = groups.iter().map(|g| format!("{} ({})", g.name, g.characters().len())).collect();
        let verdicts: Vec<String> =
            engines.iter().map(|(_, chars)| verdict(chars.support(code).expect("known code"))).collect();
        let checked = if checked.is_empty() { "-".to_string() } else { checked.join(", ") };
        println!("| {code} | {checked} | {} | {} |", verdicts[0], verdicts[1]);
    }
    Ok(())
}

fn verdict(support: LanguageSupport) -> String {
    match support {
        LanguageSupport::Supported { script, coverage } => {
            let script = match script {
                Script::Latin => "Latin",
                Script::All => "All",
            };
            format!("{:.0}% yes ({script})", coverage * 100.0)
        }
        LanguageSupport::Unsupported { coverage, missing } => {
            format!("{:.0}% no (lacks {})", coverage * 100.0, missing.iter().take(5).collect::<String>())
        }
    }
}
