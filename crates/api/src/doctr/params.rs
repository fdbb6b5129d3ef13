//! The query parameters of `POST /ocr` and `POST /kie` (docTR's API), with
//! docTR's names and defaults, parsed strictly: an unknown name, a value of
//! the wrong type or out of range is an error (422), never a silent default.

use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

/// Model names a request may choose from; docTR's architectures map to the
/// nearest of ours (mobile and small networks to PP-OCRv4 mobile, larger
/// ones to PP-OCRv6 small).
pub const DETECTION_MODELS: [(&str, Model); 11] = [
    ("pp-ocrv4-mobile", Model::PpOcrV4Mobile),
    ("pp-ocrv6-small", Model::PpOcrV6Small),
    ("db_resnet34", Model::PpOcrV6Small),
    ("db_resnet50", Model::PpOcrV6Small),
    ("db_mobilenet_v3_large", Model::PpOcrV4Mobile),
    ("linknet_resnet18", Model::PpOcrV4Mobile),
    ("linknet_resnet34", Model::PpOcrV6Small),
    ("linknet_resnet50", Model::PpOcrV6Small),
    ("fast_tiny", Model::PpOcrV4Mobile),
    ("fast_small", Model::PpOcrV4Mobile),
    ("fast_base", Model::PpOcrV6Small),
];

/// Recognition model names (see [`DETECTION_MODELS`]).
pub const RECOGNITION_MODELS: [(&str, Model); 11] = [
    ("pp-ocrv4-mobile", Model::PpOcrV4Mobile),
    ("pp-ocrv6-small", Model::PpOcrV6Small),
    ("crnn_vgg16_bn", Model::PpOcrV6Small),
    ("crnn_mobilenet_v3_small", Model::PpOcrV4Mobile),
    ("crnn_mobilenet_v3_large", Model::PpOcrV4Mobile),
    ("sar_resnet31", Model::PpOcrV6Small),
    ("master", Model::PpOcrV6Small),
    ("vitstr_small", Model::PpOcrV4Mobile),
    ("vitstr_base", Model::PpOcrV6Small),
    ("parseq", Model::PpOcrV6Small),
    ("viptr_tiny", Model::PpOcrV4Mobile),
];

/// Most pages one detection batch may name, and most crops one recognition batch.
pub const MAX_DETECTION_BATCH: u32 = 64;
/// See [`MAX_DETECTION_BATCH`].
pub const MAX_RECOGNITION_BATCH: u32 = 1024;

/// One of our model sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// PP-OCRv4 mobile: OCR.space engine 1's models.
    PpOcrV4Mobile,
    /// PP-OCRv6 small: OCR.space engine 2's models.
    PpOcrV6Small,
}

impl Model {
    /// The OCR.space engine number whose models these are.
    pub fn engine_number(self) -> u8 {
        match self {
            Self::PpOcrV4Mobile => 1,
            Self::PpOcrV6Small => 2,
        }
    }

    /// Our name of the model set.
    pub fn name(self) -> &'static str {
        match self {
            Self::PpOcrV4Mobile => "pp-ocrv4-mobile",
            Self::PpOcrV6Small => "pp-ocrv6-small",
        }
    }
}

/// The parameters of `POST /ocr` and `POST /kie`, as docTR names them, each
/// with docTR's default. (These doc comments are the OpenAPI descriptions.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, IntoParams)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DoctrParams {
    /// Detection model: `pp-ocrv4-mobile` or `pp-ocrv6-small`, or a docTR
    /// architecture (`db_resnet50`, `db_resnet34`, `db_mobilenet_v3_large`,
    /// `linknet_resnet18/34/50`, `fast_tiny/small/base`) mapped to the nearest
    /// of the two. Unknown names are refused (422) with the list.
    #[param(default = "db_resnet50")]
    pub detection_model: String,
    /// Recognition model: `pp-ocrv4-mobile` or `pp-ocrv6-small`, or a docTR
    /// architecture (`crnn_vgg16_bn`, `crnn_mobilenet_v3_small/large`,
    /// `sar_resnet31`, `master`, `vitstr_small/base`, `parseq`, `viptr_tiny`)
    /// mapped to the nearest of the two.
    #[param(default = "crnn_vgg16_bn")]
    pub recognition_model: String,
    /// `true`: every `geometry` is a box `[x_min, y_min, x_max, y_max]`;
    /// `false`: words and lines get 4-point polygons `[[x, y] x 4]` that
    /// follow rotated text (blocks too).
    #[param(default = true)]
    pub assume_straight_pages: bool,
    /// Keep the page's aspect ratio when it is scaled for the detector
    /// (`false`: stretch it to a square input).
    #[param(default = true)]
    pub preserve_aspect_ratio: bool,
    /// With `preserve_aspect_ratio`: centre the page in the padded detector
    /// input (`false`: pad at the bottom and right only).
    #[param(default = true)]
    pub symmetric_padding: bool,
    /// Find upside-down pages too (besides quarter-turned ones), read them
    /// turned and report the angle in `orientation` (otherwise `null`).
    #[param(default = false)]
    pub detect_orientation: bool,
    /// Report the language of each file's text in `language` (otherwise `null`).
    #[param(default = false)]
    pub detect_language: bool,
    /// Turn and straighten pages before recognition: upside-down pages and
    /// pages tilted by 0.5 to 10 degrees are read upright.
    #[param(default = false)]
    pub straighten_pages: bool,
    /// Pages per detection batch (1 to 64). Accepted for compatibility:
    /// pages are read one at a time, which bounds memory.
    #[param(default = 2, minimum = 1, maximum = 64)]
    pub detection_batch_size: u32,
    /// Text crops per recognition batch (1 to 1024). Accepted for
    /// compatibility: crops are read one at a time.
    #[param(default = 128, minimum = 1, maximum = 1024)]
    pub recognition_batch_size: u32,
    /// Skip page orientation entirely: no page is turned (quarter-turned
    /// and upside-down pages are read as they are).
    #[param(default = false)]
    pub disable_page_orientation: bool,
    /// Skip the 180-degree classifier on each text line (upside-down lines
    /// on an upright page are then read as they are).
    #[param(default = false)]
    pub disable_text_orientation: bool,
    /// Probability above which a pixel of the detector's map counts as
    /// text (0 to 1; lower finds more, and fainter, text). Default: the
    /// model's own, 0.3 for our PP-OCR detectors (docTR's 0.1 is tuned to
    /// its own networks).
    #[param(minimum = 0.0, maximum = 1.0)]
    pub binary_threshold: Option<f32>,
    /// Mean probability a detected region needs to be kept (0 to 1).
    /// Default: the model's own, 0.5 for our PP-OCR detectors.
    #[param(minimum = 0.0, maximum = 1.0)]
    pub box_threshold: Option<f32>,
    /// Group words into lines (`false`: each page has one line holding
    /// every word in reading order).
    #[param(default = true)]
    pub group_lines: bool,
    /// Group lines into blocks (paragraphs, columns), split where the gap
    /// between two lines exceeds `paragraph_break` (`false`: one block per page).
    #[param(default = false)]
    pub group_blocks: bool,
    /// With `group_blocks`: the vertical gap between two lines, as a
    /// fraction of the page height (0 to 1), above which a new block starts.
    #[param(default = 0.0035, minimum = 0.0, maximum = 1.0)]
    pub paragraph_break: f32,
    /// `/kie` only (refused by `/ocr`): the order of day and month in
    /// numeric dates such as `03/04/2024` (`true`: day first, as in most of
    /// the world; `false`: month first, as in the US). Unset, the document
    /// decides (another date on it, a written-out month, the currency), and
    /// a date nothing decides is reported as printed.
    pub day_first: Option<bool>,
}

impl Default for DoctrParams {
    fn default() -> Self {
        Self {
            detection_model: "db_resnet50".into(),
            recognition_model: "crnn_vgg16_bn".into(),
            assume_straight_pages: true,
            preserve_aspect_ratio: true,
            symmetric_padding: true,
            detect_orientation: false,
            detect_language: false,
            straighten_pages: false,
            detection_batch_size: 2,
            recognition_batch_size: 128,
            disable_page_orientation: false,
            disable_text_orientation: false,
            binary_threshold: None,
            box_threshold: None,
            group_lines: true,
            group_blocks: false,
            paragraph_break: 0.0035,
            day_first: None,
        }
    }
}

/// Parameters that are booleans without a default (unset means "decide from the document").
const OPTIONAL_BOOLEANS: [&str; 1] = ["day_first"];

/// Why parameters were refused (sent as `{"detail": …}` with status 422).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ParamsError(pub String);

impl DoctrParams {
    /// Parses `(name, value)` pairs (query string and form text fields;
    /// `apikey` is skipped). Booleans take `true`/`false` (also `1`/`0`,
    /// `yes`/`no`, `on`/`off`, any case); every value is range-checked.
    pub fn parse<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, ParamsError> {
        let defaults = serde_json::to_value(Self::default()).map_err(|e| ParamsError(e.to_string()))?;
        let mut seen = std::collections::BTreeSet::new();
        let mut normalised = Vec::new();
        for (name, value) in pairs {
            if name.eq_ignore_ascii_case("apikey") {
                continue;
            }
            if !seen.insert(name) {
                return Err(ParamsError(format!("parameter '{}' is given more than once", quote(name))));
            }
            let boolean =
                matches!(defaults.get(name), Some(serde_json::Value::Bool(_))) || OPTIONAL_BOOLEANS.contains(&name);
            let value = match boolean {
                true => match value.trim().to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "on" => "true".to_string(),
                    "false" | "0" | "no" | "off" => "false".to_string(),
                    _ => return Err(invalid(name, value, "a boolean (true or false)")),
                },
                false => value.trim().to_string(),
            };
            normalised.push((name.to_string(), value));
        }
        let decode = |pairs: &[(String, String)]| -> Result<Self, ParamsError> {
            let encoded = serde_urlencoded::to_string(pairs).map_err(|e| ParamsError(e.to_string()))?;
            serde_urlencoded::from_str(&encoded).map_err(|e| ParamsError(e.to_string()))
        };
        for (name, value) in &normalised {
            if defaults.get(name.as_str()).is_none() {
                return Err(ParamsError(format!(
                    "unknown parameter '{}'; accepted: {}",
                    quote(name),
                    accepted_names(&defaults)
                )));
            }
            // Each value alone first, so the error names its parameter.
            if let Err(e) = decode(&[(name.clone(), value.clone())]) {
                return Err(invalid(name, value, &format!("a value of its type ({})", e.0)));
            }
        }
        let params = decode(&normalised)?;
        params.check()?;
        Ok(params)
    }

    fn check(&self) -> Result<(), ParamsError> {
        let unit = |name: &str, v: f32| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(invalid(name, &v.to_string(), "a number from 0 to 1"))
            }
        };
        if let Some(v) = self.binary_threshold {
            unit("binary_threshold", v)?;
        }
        if let Some(v) = self.box_threshold {
            unit("box_threshold", v)?;
        }
        unit("paragraph_break", self.paragraph_break)?;
        if !(1..=MAX_DETECTION_BATCH).contains(&self.detection_batch_size) {
            let value = self.detection_batch_size.to_string();
            return Err(invalid("detection_batch_size", &value, "an integer from 1 to 64"));
        }
        if !(1..=MAX_RECOGNITION_BATCH).contains(&self.recognition_batch_size) {
            let value = self.recognition_batch_size.to_string();
            return Err(invalid("recognition_batch_size", &value, "an integer from 1 to 1024"));
        }
        self.detection()?;
        self.recognition()?;
        Ok(())
    }

    /// The detection model set the request names.
    pub fn detection(&self) -> Result<Model, ParamsError> {
        lookup("detection_model", &self.detection_model, &DETECTION_MODELS)
    }

    /// The recognition model set the request names.
    pub fn recognition(&self) -> Result<Model, ParamsError> {
        lookup("recognition_model", &self.recognition_model, &RECOGNITION_MODELS)
    }
}

fn lookup(parameter: &str, name: &str, table: &[(&str, Model)]) -> Result<Model, ParamsError> {
    let wanted = name.trim().to_ascii_lowercase();
    table.iter().find(|(n, _)| *n == wanted).map(|(_, m)| *m).ok_or_else(|| {
        let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
        ParamsError(format!("{parameter} '{}' is not available; accepted: {}", quote(name), names.join(", ")))
    })
}

fn accepted_names(defaults: &serde_json::Value) -> String {
    defaults.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>().join(", ")).unwrap_or_default()
}

fn invalid(name: &str, value: &str, expected: &str) -> ParamsError {
    ParamsError(format!("parameter '{}' has the invalid value '{}': expected {expected}", quote(name), quote(value)))
}

/// A client's text as echoed in an error: control characters escaped, at most 64 characters.
fn quote(value: &str) -> String {
    crate::service::quoted(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_docs_and_models_map_to_ours() {
        let p = DoctrParams::parse([]).unwrap();
        assert_eq!(p, DoctrParams::default());
        assert_eq!(p.detection().unwrap(), Model::PpOcrV6Small);
        assert_eq!(p.recognition().unwrap(), Model::PpOcrV6Small);
        let p = DoctrParams::parse([("detection_model", "fast_tiny"), ("recognition_model", "PARSEQ")]).unwrap();
        assert_eq!((p.detection().unwrap(), p.recognition().unwrap()), (Model::PpOcrV4Mobile, Model::PpOcrV6Small));
    }

    #[test]
    fn bad_values_are_refused_with_what_was_expected() {
        let err = |pairs: &[(&str, &str)]| DoctrParams::parse(pairs.iter().copied()).unwrap_err().0;
        assert!(err(&[("detection_model", "yolo")]).contains("db_resnet50"), "{}", err(&[("detection_model", "yolo")]));
        assert!(err(&[("binary_threshold", "1.5")]).contains("from 0 to 1"));
        assert!(err(&[("binary_threshold", "NaN")]).contains("from 0 to 1"));
        assert!(err(&[("detection_batch_size", "0")]).contains("1 to 64"));
        assert!(err(&[("group_lines", "maybe")]).contains("boolean"));
        assert!(err(&[("colour", "red")]).contains("paragraph_break"));
        assert!(err(&[("group_lines", "true"), ("group_lines", "false")]).contains("more than once"));
        let p = DoctrParams::parse([("group_lines", "OFF"), ("apikey", "x"), ("box_threshold", "0.7")]).unwrap();
        assert!(!p.group_lines);
        assert_eq!(p.box_threshold, Some(0.7));
    }
}
