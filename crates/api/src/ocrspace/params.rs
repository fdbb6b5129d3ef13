//! Request parameters: names matched case-insensitively, boolean values
//! case-insensitive, every value checked (`ocrspace-spec.md` §3).

/// Parameter names the vendor accepts, in the order its error message lists them.
pub const VALID_PARAMETERS: [&str; 16] = [
    "apikey",
    "url",
    "language",
    "isoverlayrequired",
    "base64image",
    "iscreatesearchablepdf",
    "issearchablepdfhidetextlayer",
    "filetype",
    "addressparsing",
    "scale",
    "detectorientation",
    "istable",
    "ocrengine",
    "detectcheckbox",
    "checkboxtemplate",
    "checkboxtemplateregex",
];

/// The OCR.space language codes (plus `nor`, offered by clients, and `auto`).
pub const LANGUAGES: [&str; 26] = [
    "ara", "bul", "chs", "cht", "hrv", "cze", "dan", "dut", "eng", "fin", "fre", "ger", "gre", "hun", "kor", "ita",
    "jpn", "pol", "por", "rus", "slv", "spa", "swe", "tur", "nor", "auto",
];

/// A `filetype` override.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    /// PDF document.
    Pdf,
    /// GIF image.
    Gif,
    /// PNG image.
    Png,
    /// JPEG image (`JPG` or `JPEG`).
    Jpg,
    /// TIFF image (`TIF` or `TIFF`).
    Tif,
    /// Windows bitmap.
    Bmp,
    /// WebP image.
    Webp,
}

impl FileType {
    fn parse(value: &str) -> Option<Self> {
        match value.trim().trim_start_matches('.').to_ascii_lowercase().as_str() {
            "pdf" => Some(Self::Pdf),
            "gif" => Some(Self::Gif),
            "png" => Some(Self::Png),
            "jpg" | "jpeg" => Some(Self::Jpg),
            "tif" | "tiff" => Some(Self::Tif),
            "bmp" => Some(Self::Bmp),
            "webp" => Some(Self::Webp),
            _ => None,
        }
    }
}

/// Why a request's parameters were refused (answered with OCRExitCode 99).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// A name that is not an OCR.space parameter.
    #[error("Parameter name '{0}' is invalid. Valid parameters: {list}", list = VALID_PARAMETERS.join(","))]
    UnknownParameter(String),
    /// A value outside the parameter's domain.
    #[error("Value for parameter '{name}' is invalid: '{value}'. {expected}")]
    InvalidValue {
        /// The parameter as the client spelled it.
        name: String,
        /// The value sent.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
}

impl ParamError {
    /// The `ErrorMessage` lines the vendor sends for this error.
    pub fn messages(&self) -> Vec<String> {
        let mut lines = vec![self.to_string()];
        if matches!(self, Self::UnknownParameter(_)) {
            lines.push("Please check if you need to URL encode the URL passed in request parameters.".into());
        }
        lines
    }

    /// This error with the client's names and values escaped and truncated
    /// ([`crate::service::quoted`]), so echoing them (response, log) cannot
    /// forge a log line.
    pub fn escaped(self) -> Self {
        use crate::service::quoted;
        match self {
            Self::UnknownParameter(name) => Self::UnknownParameter(quoted(&name)),
            Self::InvalidValue { name, value, expected } => {
                Self::InvalidValue { name: quoted(&name), value: quoted(&value), expected }
            }
        }
    }
}

/// The text parameters of one request, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcrParams {
    /// API key from a form field or the query (the header is read separately).
    pub api_key: Option<String>,
    /// `url` input.
    pub url: Option<String>,
    /// `base64Image` input (with its `data:` prefix).
    pub base64_image: Option<String>,
    /// Lower-case language code (default `eng`).
    pub language: String,
    /// `isOverlayRequired`.
    pub overlay: bool,
    /// `filetype` override.
    pub file_type: Option<FileType>,
    /// `detectOrientation`.
    pub detect_orientation: bool,
    /// `isCreateSearchablePdf`.
    pub create_searchable_pdf: bool,
    /// `isSearchablePdfHideTextLayer`.
    pub hide_text_layer: bool,
    /// `scale`.
    pub scale: bool,
    /// `isTable`.
    pub is_table: bool,
    /// `OCREngine`: 1, 2 or 3.
    pub engine: u8,
}

impl Default for OcrParams {
    fn default() -> Self {
        Self {
            api_key: None,
            url: None,
            base64_image: None,
            language: "eng".into(),
            overlay: false,
            file_type: None,
            detect_orientation: false,
            create_searchable_pdf: false,
            hide_text_layer: false,
            scale: false,
            is_table: false,
            engine: 1,
        }
    }
}

fn boolean(name: &str, value: &str) -> Result<bool, ParamError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" | "" => Ok(false),
        _ => Err(ParamError::InvalidValue { name: name.into(), value: value.into(), expected: "Use true or false." }),
    }
}

impl OcrParams {
    /// Parses `(name, value)` pairs from a form, multipart text fields or a
    /// query string. A later value for the same parameter replaces an earlier one.
    pub fn parse<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, ParamError> {
        let mut p = Self::default();
        for (name, value) in pairs {
            let invalid = |expected| ParamError::InvalidValue { name: name.into(), value: value.into(), expected };
            match name.to_ascii_lowercase().as_str() {
                "apikey" => p.api_key = Some(value.trim().to_string()),
                "url" => p.url = Some(value.trim().to_string()).filter(|v| !v.is_empty()),
                "base64image" => p.base64_image = Some(value.to_string()).filter(|v| !v.trim().is_empty()),
                "language" => {
                    let code = value.trim().to_ascii_lowercase();
                    if !LANGUAGES.contains(&code.as_str()) {
                        return Err(invalid(
                            "Use a three-letter OCR.space language code (e.g. eng, ger, chs) or auto.",
                        ));
                    }
                    p.language = code;
                }
                "isoverlayrequired" => p.overlay = boolean(name, value)?,
                "filetype" => {
                    p.file_type = Some(
                        FileType::parse(value).ok_or_else(|| invalid("Use PDF, GIF, PNG, JPG, TIF, BMP or WEBP."))?,
                    )
                }
                "detectorientation" => p.detect_orientation = boolean(name, value)?,
                "iscreatesearchablepdf" => p.create_searchable_pdf = boolean(name, value)?,
                "issearchablepdfhidetextlayer" => p.hide_text_layer = boolean(name, value)?,
                "scale" => p.scale = boolean(name, value)?,
                "istable" => p.is_table = boolean(name, value)?,
                "ocrengine" => {
                    p.engine = match value.trim() {
                        "1" => 1,
                        "2" => 2,
                        "3" => 3,
                        _ => return Err(invalid("Use 1, 2 or 3.")),
                    }
                }
                // Accepted by the vendor's validator, undocumented (OMR beta): ignored.
                "addressparsing" | "detectcheckbox" | "checkboxtemplate" | "checkboxtemplateregex" => {}
                _ => return Err(ParamError::UnknownParameter(name.into())),
            }
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_booleans_are_case_insensitive() {
        let p = OcrParams::parse([
            ("isOverlayRequired", "True"),
            ("OCREngine", "2"),
            ("LANGUAGE", "GER"),
            ("Base64Image", "data:image/png;base64,AAAA"),
            ("filetype", "jpg"),
            ("detectorientation", "FALSE"),
            ("istable", "true"),
        ])
        .unwrap();
        assert!(p.overlay && p.is_table && !p.detect_orientation);
        assert_eq!((p.engine, p.language.as_str(), p.file_type), (2, "ger", Some(FileType::Jpg)));
        assert_eq!(p.base64_image.as_deref(), Some("data:image/png;base64,AAAA"));
    }

    #[test]
    fn unknown_parameter_gives_the_vendor_message() {
        let e = OcrParams::parse([("colour", "red")]).unwrap_err();
        assert_eq!(
            e.messages(),
            vec![
                "Parameter name 'colour' is invalid. Valid parameters: apikey,url,language,isoverlayrequired,base64image,iscreatesearchablepdf,issearchablepdfhidetextlayer,filetype,addressparsing,scale,detectorientation,istable,ocrengine,detectcheckbox,checkboxtemplate,checkboxtemplateregex".to_string(),
                "Please check if you need to URL encode the URL passed in request parameters.".to_string(),
            ]
        );
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(OcrParams::parse([("OCREngine", "4")]).is_err());
        assert!(OcrParams::parse([("isOverlayRequired", "maybe")]).is_err());
        assert!(OcrParams::parse([("language", "english")]).is_err());
        assert!(OcrParams::parse([("filetype", "docx")]).is_err());
        assert_eq!(OcrParams::parse([]).unwrap(), OcrParams::default());
    }
}
