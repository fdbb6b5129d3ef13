//! The JSON of `POST /kie`: per file, per page, the key fields
//! [`crate::kie::extract_fields`] found on that page.

use ocr_engine::PageResult;
use serde::Serialize;
use utoipa::ToSchema;

use super::response::{Language, OcrDocument, Orientation};

/// One uploaded file's fields.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct KieDocument {
    /// The file name the client sent.
    pub name: String,
    /// The first page's orientation.
    pub orientation: Orientation,
    /// The language of the file's text (with `detect_language`).
    pub language: Language,
    /// The first page's `[height, width]` in pixels.
    pub dimensions: [u32; 2],
    /// Every page, in order.
    pub pages: Vec<KiePage>,
}

/// One page's fields.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct KiePage {
    /// `[height, width]` in pixels, as read.
    pub dimensions: [u32; 2],
    /// How the page stood (with `detect_orientation` or `straighten_pages`).
    pub orientation: Orientation,
    /// Every field type, each with the values found on this page (best first; empty when none).
    pub extracted_fields: Vec<KieField>,
}

/// A field type and its values.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct KieField {
    /// `date`, `time`, `total`, `subtotal`, `tax`, `currency`, `company`,
    /// `address`, `phone`, `email`, `url`, `invoice_number` or `tax_id`.
    #[schema(example = "total")]
    pub field_type: String,
    /// Values, best first.
    pub values: Vec<KieValue>,
}

/// One value of a field.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct KieValue {
    /// The normalised value: ISO 8601 dates, `HH:MM[:SS]` times, amounts as
    /// decimal strings, ISO 4217 currency codes.
    #[schema(example = "42.50")]
    pub value: String,
    /// How sure the reading and the rule are (0..1).
    pub confidence: f32,
    /// `[x_min, y_min, x_max, y_max]` around the words read, as fractions of the page.
    pub geometry: [f32; 4],
    /// Index of the page (0-based) within the file.
    pub page: usize,
}

/// The `/kie` document of a file whose `/ocr` document is `ocr`, its fields
/// extracted with `options`.
pub fn document(ocr: OcrDocument, pages: &[PageResult], options: &crate::kie::KieOptions) -> KieDocument {
    let fields = crate::kie::extract_fields_with(pages, options);
    let kie_pages = ocr
        .pages
        .iter()
        .enumerate()
        .map(|(index, page)| KiePage {
            dimensions: page.dimensions,
            orientation: page.orientation,
            extracted_fields: fields
                .iter()
                .map(|field| KieField {
                    field_type: field.field_type.clone(),
                    values: field
                        .values
                        .iter()
                        .filter(|v| v.page == index)
                        .map(|v| KieValue {
                            value: v.value.clone(),
                            confidence: v.confidence,
                            geometry: v.geometry,
                            page: v.page,
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    KieDocument {
        name: ocr.name,
        orientation: ocr.orientation,
        language: ocr.language,
        dimensions: ocr.dimensions,
        pages: kie_pages,
    }
}
