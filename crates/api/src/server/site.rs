//! The browser page at `/` and the API reference at `/docs`: static files
//! embedded in the binary (no build step, nothing fetched from elsewhere),
//! plus `/web/config.json`, which tells the page the demo key (when the
//! server accepts it), the language codes and the engines it can offer.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::state::AppState;

/// What the page needs from the server's configuration.
#[derive(Debug, Clone)]
pub struct Site {
    /// The demo key, when the free tier's demo key is enabled.
    pub demo_key: Option<String>,
}

/// One embedded file: request path, content type, body.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

/// Every embedded file (`crates/api/web/`).
static ASSETS: [Asset; 6] = [
    Asset { path: "/", content_type: "text/html; charset=utf-8", body: include_str!("../../web/index.html") },
    Asset { path: "/docs", content_type: "text/html; charset=utf-8", body: include_str!("../../web/docs.html") },
    Asset { path: "/web/app.css", content_type: "text/css; charset=utf-8", body: include_str!("../../web/app.css") },
    Asset {
        path: "/web/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/app.js"),
    },
    Asset {
        path: "/web/doctr.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/doctr.js"),
    },
    Asset {
        path: "/web/docs.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../web/docs.js"),
    },
];

/// Scripts and styles only from this server; images also from `blob:`
/// (the chosen file) and from http(s) (the preview of a `url` input, which
/// the user typed). Responses of the API are read with `fetch` on this origin.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' blob: data: http: https:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; \
     base-uri 'none'";

/// Registers `/`, `/docs`, `/web/*` and `/web/config.json`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    for asset in &ASSETS {
        cfg.route(asset.path, web::get().to(move || serve(asset)));
    }
    cfg.route("/web/config.json", web::get().to(config));
}

async fn serve(asset: &'static Asset) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(asset.body)
}

/// `GET /web/config.json`: what the web page offers on this server.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebConfig {
    /// The demo key, when the server offers one (else null).
    pub demo_key: Option<String>,
    /// The OCR.space language codes the `language` parameter takes.
    pub languages: Vec<&'static str>,
    /// The `OCREngine` numbers installed.
    pub engines: Vec<u8>,
    /// The resolution PDF pages are read at (their overlay is in pixels at it).
    pub pdf_dpi: f32,
}

async fn config(site: web::Data<Site>, state: web::Data<AppState>) -> HttpResponse {
    let mut engines: Vec<u8> = state.models.primary.keys().copied().collect();
    if state.accurate.is_some() && !engines.contains(&3) {
        engines.push(3);
    }
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(WebConfig {
        demo_key: site.demo_key.clone(),
        languages: crate::ocrspace::params::LANGUAGES.to_vec(),
        engines,
        pdf_dpi: crate::service::PDF_DPI,
    })
}

#[cfg(test)]
mod tests {
    use super::ASSETS;

    /// Every `/web/...` file a page links to is embedded, so no page asks for a missing file.
    #[test]
    fn linked_files_are_embedded() {
        for page in ASSETS.iter().filter(|a| a.content_type.starts_with("text/html")) {
            let links: Vec<&str> = page.body.split(['"', '\'']).filter(|s| s.starts_with("/web/")).collect();
            assert!(!links.is_empty(), "{} links no script or style", page.path);
            for link in links {
                assert!(ASSETS.iter().any(|a| a.path == link), "{} links {link}, which is not embedded", page.path);
            }
        }
    }

    /// The pages load nothing from another host (no CDN): no absolute URL in a `src` or `href`.
    #[test]
    fn no_third_party_urls() {
        for asset in &ASSETS {
            for attr in ["src=\"http", "href=\"http", "src=\"//", "href=\"//", "@import"] {
                assert!(!asset.body.contains(attr), "{} contains {attr}", asset.path);
            }
        }
    }
}
