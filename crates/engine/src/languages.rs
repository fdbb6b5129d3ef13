//! OCR.space language codes, and what an engine can read of each.
//!
//! Whether an engine reads a language is not hard-coded per engine: it is
//! measured on the recogniser's [`Dictionary`]. Each language has a few
//! *character groups* it cannot be written without (for German: the basic
//! Latin letters, and `äöüÄÖÜß`; for Japanese: hiragana, katakana and a
//! sample of the most frequent kanji). A group's coverage is the share of
//! its characters the dictionary holds; a language's coverage is the lowest
//! of its groups' coverages, since a missing group (Japanese without kana)
//! makes the language unreadable however complete the others are.
//!
//! A language is supported when its coverage reaches
//! [`SUPPORTED_COVERAGE`]. It is read with [`Script::Latin`] (the smaller,
//! Latin-pruned recogniser, see [`is_latin_symbol`]) when that recogniser
//! keeps every covered character of the language, and with [`Script::All`]
//! otherwise.

use std::collections::HashSet;

use unicode_normalization::UnicodeNormalization;

use crate::engine::{is_latin_symbol, Script};
use crate::recognition::Dictionary;

/// Every language code OCR.space accepts in its `language` parameter, plus
/// `auto` (OCR.space Engine 2's automatic detection).
pub const OCR_SPACE_LANGUAGES: [&str; 26] = [
    "ara", "bul", "chs", "cht", "hrv", "cze", "dan", "dut", "eng", "fin", "fre", "ger", "gre", "hun", "kor", "ita",
    "jpn", "pol", "por", "rus", "slv", "spa", "swe", "tur", "nor", "auto",
];

/// Lowest coverage (0..1) at which a language counts as supported.
///
/// Measured on the two shipped recognisers (`languages` example): the
/// supported languages score 99% (Japanese on PP-OCRv6, which lacks only
/// the obsolete kana ゐ and ヱ) or 100%; the best-covered unsupported ones
/// score 83% (traditional Chinese on PP-OCRv4: 28 of the 163 most frequent
/// traditional forms, such as 說 and 沒, are missing) and 72% (Greek on
/// PP-OCRv6: no final sigma ς and no accented vowels). 95% sits in that gap
/// and still tolerates one rare letter missing from a future dictionary.
pub const SUPPORTED_COVERAGE: f32 = 0.95;

/// How many missing characters [`LanguageSupport::Unsupported`] lists.
pub const MISSING_EXAMPLES: usize = 8;

/// Whether, and how, an engine reads a language.
#[derive(Debug, Clone, PartialEq)]
pub enum LanguageSupport {
    /// The dictionary covers the language: read it with `script`.
    Supported {
        /// The recogniser to use ([`Script::Latin`] only when the
        /// Latin-pruned recogniser keeps the language's letters).
        script: Script,
        /// Share of the language's characteristic characters covered (0..1).
        coverage: f32,
    },
    /// The dictionary lacks too many of the language's characters.
    Unsupported {
        /// Share of the language's characteristic characters covered (0..1).
        coverage: f32,
        /// A few of the characters the dictionary lacks (at most [`MISSING_EXAMPLES`]).
        missing: Vec<char>,
    },
}

impl LanguageSupport {
    /// Whether the language is supported.
    pub fn is_supported(&self) -> bool {
        matches!(self, Self::Supported { .. })
    }

    /// The script to read the language with, when supported.
    pub fn script(&self) -> Option<Script> {
        match self {
            Self::Supported { script, .. } => Some(*script),
            Self::Unsupported { .. } => None,
        }
    }

    /// Share of the language's characteristic characters covered (0..1).
    pub fn coverage(&self) -> f32 {
        match self {
            Self::Supported { coverage, .. } | Self::Unsupported { coverage, .. } => *coverage,
        }
    }
}

/// A language code that is not in [`OCR_SPACE_LANGUAGES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language code {0:?}")]
pub struct UnknownLanguage(pub String);

/// One group of characters a language cannot be written without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CharGroup {
    /// What the group is ("special letters", "hiragana", ...).
    pub name: &'static str,
    /// The characters, as a string (NFC).
    pub chars: &'static str,
}

impl CharGroup {
    /// The group's characters in order, without repeats or whitespace.
    pub fn characters(&self) -> Vec<char> {
        let mut seen = HashSet::new();
        self.chars.chars().filter(|c| !c.is_whitespace() && seen.insert(*c)).collect()
    }
}

const ASCII_LETTERS: CharGroup =
    CharGroup { name: "basic Latin letters", chars: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" };

const SPECIAL: &str = "special letters";

const GREEK: CharGroup = CharGroup {
    name: "Greek letters",
    chars: "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩαβγδεζηθικλμνξοπρστυφχψωςάέήίόύώΆΈΉΊΌΎΏϊϋΐΰ",
};

const RUSSIAN: CharGroup = CharGroup {
    name: "Cyrillic letters",
    chars: "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзийклмнопрстуфхцчшщъыьэюя",
};

const BULGARIAN: CharGroup = CharGroup {
    name: "Cyrillic letters",
    chars: "АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЬЮЯабвгдежзийклмнопрстуфхцчшщъьюя",
};

/// The 36 Arabic letters and hamza forms (U+0621..U+063A, U+0641..U+064A).
const ARABIC: CharGroup = CharGroup {
    name: "Arabic letters", chars: "ءآأؤإئابةتثجحخدذرزسشصضطظعغفقكلمنهوىي"
};

/// About 100 of the most frequent Hangul syllables.
const HANGUL: CharGroup = CharGroup {
    name: "Hangul syllables",
    chars: "이다는의에가을하고서지기로한를도리사자어수나시대일그인정있국해것적주들아전보내라우상부제면만게여구과원경동성소요무화계중장관금회용공신비위문방마연물세분실생\
            없되었습니니까요해서말당학년우리같때문으로까지부터에서처럼보다와과만큼",
};

const HIRAGANA: CharGroup = CharGroup {
    name: "hiragana",
    chars: "ぁあぃいぅうぇえぉおかがきぎくぐけげこごさざしじすずせぜそぞただちぢっつづてでとどなにぬねのはばぱひびぴふぶぷへべぺほぼぽまみむめもゃやゅゆょよらりるれろゎわゐゑをん",
};

const KATAKANA: CharGroup = CharGroup {
    name: "katakana",
    chars: "ァアィイゥウェエォオカガキギクグケゲコゴサザシジスズセゼソゾタダチヂッツヅテデトドナニヌネノハバパヒビピフブプヘベペホボポマミムメモャヤュユョヨラリルレロヮワヰヱヲンヴー",
};

/// About 200 of the most frequent kanji in Japanese newspapers, in their
/// Japanese (shinjitai) forms: 発, 対, 関, 権, 済, 売, 広 ... differ from
/// both simplified and traditional Chinese.
const KANJI: CharGroup = CharGroup {
    name: "common kanji",
    chars: "日一国会人年大十二本中長出三同時政事自行社見月分議後前民生連五発間対上部東者党地合市業内相方四定今回新場金員九入選立開手米力学問高代明実円関決子動京全目表戦経通外最言氏現理調体化田当八六約主題下首意法不来作性的要用制治度務強気小七成期公持野協取都和統以機平総加山思家話世受区領多県続進正安設保改数記院女初北午指権心界支第産結百派点教報済書府活原先共得解名交資予川向際査勝面委告軍文反元重近千考判認画海参売利組知案道信策集在件団別物側任引使求所次水半品昨論計死官増係感特情投示変打男基私各始島直両朝革価式確村提運終挙果西勢減台広容必応演電歳住争談能無再位置企真流格有疑口過局少放税検藤町常校料沢裁状工建語球営空職証土与急止送援供可役構木割聞身費付施切由説転食比難防補車優夫研収断井何南石足違消境神番規術護展態導鮮備宅害配副算視条幹独警宮究育席輸訪楽起万着乗店述残想線率病農州武声質念待試族象銀域助労例衛然早張映限親額監環験追審商葉義伝働形景落欧担好退準賞訴辺造英被株頭技低毎医復仕去姿味負閣韓渡失移差衆個門写評課末守若脳極種美岡影命含福蔵量望松非撃佐核観察整段横融型白深字答夜製票況音申様財港識注呼渉達",
};

/// About 500 of the most frequent Chinese characters, split below into
/// the 336 written alike in simplified and traditional Chinese ...
const HANZI_COMMON: CharGroup = CharGroup {
    name: "common hanzi",
    chars: "的一是不了人我在有他中大上到子和你地出道也年得就那要下以生自去之家可她小心多天而能好都然日起成事只作想看文手十用主行方又如前所本面公同三已老知民分外但身些高意把法此回二理美月明其全工己者向情部正名定女力等很最新什打便位因重被走四第相次政海口使教西再平真世信北少加化由代入先山五太水市眼才比住九笑性通目立命活神件安表原白路期叫死常提感金何更反合放做或司利受光王果界及今京制解各任至清物台象共接它八特望直服毛林建南度色字交算百吃科怎元社六功指思非流每青管夫跟花快院言往展近留治周保武半候七必城父步完革深即求品士量空甚技程告江英基派式李息呢令德收倒未持取始版越史商千片容研像找友孩站改形委早房音火首影失拿香似斯石若兵弟校志究包造落喜坐集府拉黑且格布微怕母局根曾段切克精哪官示冷域",
};

/// ... and the 163 whose simplified form differs: here simplified ...
const HANZI_SIMPLIFIED: CharGroup = CharGroup {
    name: "simplified forms",
    chars: "这来个国说们为时会着过学对里后么没于还发当无开见经头从动两长样现将与进实点种声话儿问机给几业间电门东听气关并内却军产万体别处总场师书员华报马张难数车应系计亲务记边风战干许觉题统请爱让认论义术结连远资队带条变联权该领传红决达办运强区转众轻语满写识极黄脸钱党设双历广议际则单据导网专谁读飞观争组视济离虽编宝谈随尽剑讲杀调准团终乐级",
};

/// ... and here traditional (same order as [`HANZI_SIMPLIFIED`]). Without
/// this split a simplified-only dictionary would score ~94% on traditional
/// text, as two thirds of frequent characters are shared.
const HANZI_TRADITIONAL: CharGroup = CharGroup {
    name: "traditional forms",
    chars: "這來個國說們為時會著過學對裡後麼沒於還發當無開見經頭從動兩長樣現將與進實點種聲話兒問機給幾業間電門東聽氣關並內卻軍產萬體別處總場師書員華報馬張難數車應係計親務記邊風戰幹許覺題統請愛讓認論義術結連遠資隊帶條變聯權該領傳紅決達辦運強區轉眾輕語滿寫識極黃臉錢黨設雙歷廣議際則單據導網專誰讀飛觀爭組視濟離雖編寶談隨盡劍講殺調準團終樂級",
};

/// The character groups of an OCR.space language (`None` for an unknown
/// code; empty for `auto`). Codes are matched case-insensitively.
pub fn characteristic_groups(code: &str) -> Option<&'static [CharGroup]> {
    let groups: &'static [CharGroup] = match code.trim().to_ascii_lowercase().as_str() {
        "auto" => &[],
        "eng" => &[ASCII_LETTERS],
        "ger" => &[ASCII_LETTERS, CharGroup { name: SPECIAL, chars: "äöüÄÖÜß" }],
        "fre" => &[ASCII_LETTERS, CharGroup { name: SPECIAL, chars: "àâæçéèêëîïôœùûüÿÀÂÆÇÉÈÊËÎÏÔŒÙÛÜŸ" }],
        "spa" => &[ASCII_LETTERS, CharGroup { name: SPECIAL, chars: "áéíóúüñÁÉÍÓÚÜÑ" }],
        "ita" => &[ASCII_LETTERS, CharGroup { name: SPECIAL, chars: "àèéìíòóùúÀÈÉÌÒÙ" }],
        "por" => &[ASCII_LETTERS, CharGroup { name: SPECIAL, chars: "áâãàçéêíóôõúÁÂÃÀÇÉÊÍÓÔÕÚ" }],
        "dut" => &[ASCII_LETTERS, CharGroup { name: SPECIAL, chars: "éèëïóöüÉËÏ" }],
        "dan" | "nor" => &[ASCII_LETTERS, CharGroup { name: SPECIAL, chars: "æøåÆØÅé" }],
        "swe" => &[ASCII_LETTERS, CharGroup { name: SPECIAL, chars: "åäöÅÄÖé" }],
        "fin" => &[ASCII_LETTERS, CharGroup { name: SPECIAL, chars: "äöåÄÖÅšžŠŽ" }],
        "pol" => &[ASCII_LETTERS, CharGroup { name: SPECIAL, chars: "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ" }],
        "cze" => &[ASCII_LETTERS, CharGroup { name: SPECIAL, chars: "áčďéěíňóřšťúůýžÁČĎÉĚÍŇÓŘŠŤÚŮÝŽ" }],
        "slv" => &[ASCII_LETTERS, CharGroup { name: SPECIAL, chars: "čšžČŠŽ" }],
        "hrv" => &[ASCII_LETTERS, CharGroup { name: SPECIAL, chars: "čćđšžČĆĐŠŽ" }],
        "hun" => &[ASCII_LETTERS, CharGroup { name: SPECIAL, chars: "áéíóöőúüűÁÉÍÓÖŐÚÜŰ" }],
        "tur" => &[ASCII_LETTERS, CharGroup { name: SPECIAL, chars: "çğıöşüÇĞİÖŞÜâîû" }],
        "gre" => &[GREEK],
        "rus" => &[RUSSIAN],
        "bul" => &[BULGARIAN],
        "ara" => &[ARABIC],
        "kor" => &[HANGUL],
        "jpn" => &[HIRAGANA, KATAKANA, KANJI],
        "chs" => &[HANZI_COMMON, HANZI_SIMPLIFIED],
        "cht" => &[HANZI_COMMON, HANZI_TRADITIONAL],
        _ => return None,
    };
    Some(groups)
}

/// The single characters a dictionary can emit (NFC), split by whether the
/// Latin-pruned recogniser keeps them.
#[derive(Debug, Clone, Default)]
pub struct DictionaryChars {
    all: HashSet<char>,
    latin: HashSet<char>,
}

impl DictionaryChars {
    /// Collects the single-character symbols of `dictionary`. Build this
    /// once per engine when asking about many languages (it walks every
    /// class: about a millisecond for 18,000 classes).
    pub fn of(dictionary: &Dictionary) -> Self {
        let mut chars = Self::default();
        for symbol in dictionary.symbols() {
            let nfc: String = symbol.nfc().collect();
            let mut it = nfc.chars();
            if let (Some(c), None) = (it.next(), it.next()) {
                chars.all.insert(c);
                if is_latin_symbol(symbol) {
                    chars.latin.insert(c);
                }
            }
        }
        chars
    }

    /// Whether the full recogniser can emit `c`.
    pub fn contains(&self, c: char) -> bool {
        self.all.contains(&c)
    }

    /// Whether the Latin-pruned recogniser can emit `c`.
    pub fn contains_latin(&self, c: char) -> bool {
        self.latin.contains(&c)
    }

    /// How well these characters cover the language `code`.
    pub fn support(&self, code: &str) -> Result<LanguageSupport, UnknownLanguage> {
        let groups = characteristic_groups(code).ok_or_else(|| UnknownLanguage(code.to_string()))?;
        let mut coverage = 1.0f32;
        let mut latin_keeps_all = true;
        let mut missing = Vec::new();
        for group in groups {
            let chars = group.characters();
            let covered = chars.iter().filter(|&&c| self.contains(c)).count();
            coverage = coverage.min(covered as f32 / chars.len().max(1) as f32);
            latin_keeps_all &= chars.iter().all(|&c| !self.contains(c) || self.contains_latin(c));
            missing.extend(chars.iter().filter(|&&c| !self.contains(c)));
        }
        Ok(if coverage >= SUPPORTED_COVERAGE {
            let script = if latin_keeps_all && !groups.is_empty() { Script::Latin } else { Script::All };
            LanguageSupport::Supported { script, coverage }
        } else {
            missing.truncate(MISSING_EXAMPLES);
            LanguageSupport::Unsupported { coverage, missing }
        })
    }
}

/// Whether, and with which [`Script`], a recogniser with `dictionary` reads
/// the OCR.space language `code` (see the module documentation). `auto` is
/// always supported, with [`Script::All`].
pub fn language_support(dictionary: &Dictionary, code: &str) -> Result<LanguageSupport, UnknownLanguage> {
    DictionaryChars::of(dictionary).support(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dictionary(chars: &str) -> Dictionary {
        let lines: Vec<String> = chars.chars().map(String::from).collect();
        Dictionary::from_lines(&lines.join("\n"))
    }

    #[test]
    fn every_code_has_groups_and_unknown_codes_are_errors() {
        for code in OCR_SPACE_LANGUAGES {
            let groups = characteristic_groups(code).unwrap_or_else(|| panic!("{code} has no groups"));
            assert_eq!(groups.is_empty(), code == "auto", "{code}");
        }
        let d = dictionary("abc");
        assert_eq!(language_support(&d, "xx"), Err(UnknownLanguage("xx".into())));
        assert!(language_support(&d, " ENG ").is_ok());
    }

    #[test]
    fn auto_is_always_supported_with_every_class() {
        let support = language_support(&dictionary(""), "auto").unwrap();
        assert_eq!(support, LanguageSupport::Supported { script: Script::All, coverage: 1.0 });
    }

    #[test]
    fn coverage_is_the_weakest_group() {
        let ascii = ASCII_LETTERS.chars;
        let german = language_support(&dictionary(&format!("{ascii}äöüÄÖÜß")), "ger").unwrap();
        assert_eq!(german, LanguageSupport::Supported { script: Script::Latin, coverage: 1.0 });
        // Without ß and its capitals the special letters are 4/7 covered.
        let partial = language_support(&dictionary(&format!("{ascii}äöü")), "ger").unwrap();
        let LanguageSupport::Unsupported { coverage, missing } = partial else { panic!("{partial:?}") };
        assert!((coverage - 3.0 / 7.0).abs() < 1e-6, "{coverage}");
        assert_eq!(missing, vec!['Ä', 'Ö', 'Ü', 'ß']);
        // Special letters alone do not make German readable.
        assert_eq!(language_support(&dictionary("äöüÄÖÜß"), "ger").unwrap().coverage(), 0.0);
    }

    #[test]
    fn non_latin_letters_need_every_class() {
        let greek = language_support(&dictionary(GREEK.chars), "gre").unwrap();
        assert_eq!(greek.script(), Some(Script::All));
        let japanese = language_support(&dictionary(KANJI.chars), "jpn").unwrap();
        assert!(!japanese.is_supported(), "kanji without kana: {japanese:?}");
    }

    #[test]
    fn decomposed_symbols_count_as_their_composed_letter() {
        let d = dictionary(ASCII_LETTERS.chars);
        let mut lines: Vec<String> = d.symbols().filter(|s| *s != " ").map(String::from).collect();
        lines.extend(["a\u{308}", "o\u{308}", "u\u{308}", "A\u{308}", "O\u{308}", "U\u{308}", "ß"].map(String::from));
        let support = language_support(&Dictionary::from_lines(&lines.join("\n")), "ger").unwrap();
        // Covered, but a combining mark is not a Latin symbol: the pruned
        // recogniser would drop those classes, so the full one must read it.
        assert_eq!(support.script(), Some(Script::All));
    }
}
