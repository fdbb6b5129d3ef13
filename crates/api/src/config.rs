//! Configuration: `config/default.toml` (built in), overridden by an optional
//! file, overridden by environment variables `OCR_<SECTION>__<KEY>` (and
//! `DATABASE_URL`).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The built-in defaults (the repository's `config/default.toml`).
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed or a value has the wrong type.
    #[error("invalid configuration ({origin}): {message}")]
    Invalid {
        /// Where the bad value came from.
        origin: String,
        /// What is wrong.
        message: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[server]`.
    pub server: ServerConfig,
    /// `[storage]`.
    pub storage: StorageConfig,
    /// `[models]`.
    pub models: ModelsConfig,
    /// `[database]`.
    pub database: DatabaseConfig,
    /// `[auth]`.
    pub auth: AuthConfig,
    /// `[enterprise]`.
    pub enterprise: EnterpriseConfig,
    /// `[pdf]`.
    pub pdf: PdfConfig,
    /// `[jobs]`.
    pub jobs: JobsConfig,
}

/// `[jobs]`: asynchronous jobs (`POST /jobs`) and their webhooks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    /// Seconds a worker holds a job without renewing its lease.
    pub lease_secs: u64,
    /// Claims per job before it fails.
    pub max_attempts: u32,
    /// Seconds one attempt may read (a request's limit is `[server].timeout_secs`).
    pub timeout_secs: u64,
    /// Largest input a job stores, MB (the key's file limit applies too).
    pub max_input_mb: u64,
    /// HMAC-SHA256 key of the webhook's `X-Signature` header.
    pub webhook_secret: String,
    /// Deliveries per webhook before giving up.
    pub webhook_attempts: u32,
    /// Seconds before the first webhook retry (doubled for each further one).
    pub webhook_backoff_secs: u64,
    /// Seconds a finished job (result, status) is kept once its webhook is
    /// settled, then deleted (0 = kept for ever).
    pub retention_secs: u64,
}

/// `[server]`: listening, workers, limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Base URL for links in responses; empty means `http://<bind>`.
    pub public_base_url: String,
    /// OCR jobs at once (0 = cores).
    pub workers: usize,
    /// Jobs waiting for a worker (0 = 4 per worker).
    pub queue: usize,
    /// Seconds per request in OCR.
    pub timeout_secs: u64,
    /// Hard cap on uploads, KB.
    pub max_upload_kb: u64,
    /// Let `url` inputs reach loopback addresses.
    pub allow_loopback_urls: bool,
    /// Ports `url` inputs may use (empty: any).
    pub url_ports: Vec<u16>,
    /// Text fields (form or multipart) one request may send.
    pub max_fields: usize,
    /// Bytes of one text field (`base64Image` excepted: it is bounded by
    /// the file limit, 4/3 for base64).
    pub max_field_bytes: usize,
    /// Seconds in-flight requests get to finish after SIGTERM.
    pub shutdown_timeout_secs: u64,
    /// Seconds a request's body may take to arrive.
    pub body_timeout_secs: u64,
    /// MB all request bodies in progress may hold together.
    pub max_upload_memory_mb: u64,
    /// Peers whose `X-Forwarded-For` is trusted.
    pub trusted_proxies: Vec<IpAddr>,
    /// Build model plans at start-up.
    pub prepare_plans: bool,
    /// Milliseconds to keep discarding a refused upload before closing.
    pub refused_upload_linger_ms: u64,
}

/// `[storage]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// Directory for the SQLite file and stored PDFs.
    pub data_dir: PathBuf,
}

/// `[models]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelsConfig {
    /// Model directory; empty means `$OCR_MODELS_DIR` or `./models`.
    pub dir: PathBuf,
    /// The model sets, in order (`[[models.set]]`).
    pub set: Vec<ModelSetConfig>,
}

/// One `[[models.set]]`: the files of a detector + recogniser (+ classifier)
/// serving an OCR.space engine number.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSetConfig {
    /// OCR.space engine number served (1 or 2; 3 combines 2 and 1).
    pub engine: u8,
    /// Name for logs.
    pub name: String,
    /// Detector file, relative to the models directory.
    pub detector: PathBuf,
    /// Recogniser file (its ONNX metadata holds the dictionary).
    pub recognizer: PathBuf,
    /// 180° classifier file; empty for none.
    pub classifier: PathBuf,
    /// Language codes this set may serve; empty: all its dictionary covers.
    pub languages: Vec<String>,
    /// Word-splitting profile: `pp-ocrv4` or `pp-ocrv6`.
    pub profile: ModelProfile,
}

/// Engine settings matched to a model generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ModelProfile {
    /// PP-OCRv4 (and earlier) models.
    #[serde(rename = "pp-ocrv4")]
    PpOcrV4,
    /// PP-OCRv6 models (taller detector boxes: a lower word-gap threshold).
    #[serde(rename = "pp-ocrv6")]
    PpOcrV6,
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `postgres://…`, `sqlite://…`, or empty for the embedded SQLite file.
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
}

/// `[auth]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// The demo key accepted on the free tier.
    pub demo_key: String,
    /// `auto`, `true` or `false`.
    pub demo_key_enabled: DemoKeySetting,
    /// Burst limit: requests per second per key.
    pub burst_per_second: u32,
    /// Burst limit: bucket size.
    pub burst_size: u32,
    /// Requests in progress per key (0 = unlimited).
    pub max_concurrent_per_key: usize,
}

/// Whether the demo key is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DemoKeySetting {
    /// Only on the embedded default (SQLite).
    Auto,
    /// Always.
    True,
    /// Never.
    False,
}

/// `[enterprise]`: the enterprise tier's limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseConfig {
    /// Requests per month (0 = unlimited).
    pub monthly_requests: i64,
    /// File size limit, KB.
    pub max_file_kb: i64,
    /// PDF/TIFF page limit.
    pub max_pdf_pages: i64,
}

/// `[pdf]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdfConfig {
    /// Lifetime of download links, seconds.
    pub link_lifetime_secs: u64,
    /// Seconds between sweeps for expired PDFs.
    pub sweep_interval_secs: u64,
    /// Link-signing key; empty means one shared through the database.
    pub link_secret: String,
    /// Where the files live: `local` (`<data_dir>/pdf`) or `s3`.
    pub storage: PdfStorageKind,
    /// S3 bucket.
    pub s3_bucket: String,
    /// S3 service URL; empty: AWS S3 in `s3_region`.
    pub s3_endpoint: String,
    /// Region requests are signed for.
    pub s3_region: String,
    /// Bucket in the URL path (MinIO and most self-hosted stores) instead of the host name.
    pub s3_path_style: bool,
    /// Prefix of the object keys.
    pub s3_prefix: String,
}

/// `[pdf].storage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PdfStorageKind {
    /// A local directory (one instance, or a shared file system).
    Local,
    /// An S3-compatible bucket (credentials from `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`).
    S3,
}

impl Config {
    /// Loads the defaults, then `file` (if any), then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(file, std::env::vars())
    }

    /// Like [`Config::load`] with an explicit environment (for tests).
    pub fn load_with_env(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = parse_table(DEFAULT_TOML, "built-in defaults")?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
            let overlay = parse_table(&text, &path.display().to_string())?;
            merge(&mut table, overlay);
        }
        for (name, value) in env {
            if let Some((section, key)) = env_key(&name) {
                set_value(&mut table, &section, &key, &value, &name)?;
            }
        }
        table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid { origin: "merged".into(), message: e.to_string() })
    }

    /// The defaults alone.
    pub fn defaults() -> Self {
        Self::load_with_env(None, std::iter::empty()).expect("built-in defaults are valid")
    }

    /// Whether no database URL is set (the embedded SQLite default).
    pub fn is_embedded_database(&self) -> bool {
        self.database.url.trim().is_empty()
    }

    /// The database URL to connect to.
    pub fn database_url(&self) -> String {
        if self.is_embedded_database() {
            format!("sqlite://{}?mode=rwc", self.storage.data_dir.join("ocr-server.db").display())
        } else {
            self.database.url.trim().to_string()
        }
    }

    /// Whether the demo key is accepted under this configuration.
    pub fn demo_key_enabled(&self) -> bool {
        match self.auth.demo_key_enabled {
            DemoKeySetting::Auto => self.is_embedded_database(),
            DemoKeySetting::True => true,
            DemoKeySetting::False => false,
        }
    }

    /// The demo key when it is accepted, else `None`.
    pub fn demo_key(&self) -> Option<String> {
        self.demo_key_enabled().then(|| self.auth.demo_key.clone())
    }

    /// The enterprise tier's limits: (requests/month, max file KB, max pages).
    pub fn enterprise_limits(&self) -> (i64, i64, i64) {
        (self.enterprise.monthly_requests, self.enterprise.max_file_kb, self.enterprise.max_pdf_pages)
    }
}

fn parse_table(text: &str, origin: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>().map_err(|e| ConfigError::Invalid { origin: origin.into(), message: e.to_string() })
}

/// Merges `overlay` into `base`, recursing into tables.
fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(over)) => merge(inner, over),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// `OCR_SERVER__BIND` -> ("server", "bind"); `DATABASE_URL` -> ("database", "url").
fn env_key(name: &str) -> Option<(String, String)> {
    if name == "DATABASE_URL" {
        return Some(("database".into(), "url".into()));
    }
    let rest = name.strip_prefix("OCR_")?;
    let (section, key) = rest.split_once("__")?;
    Some((section.to_ascii_lowercase(), key.to_ascii_lowercase()))
}

/// Sets `[section].key` from an environment string, typed like the default.
fn set_value(table: &mut toml::Table, section: &str, key: &str, raw: &str, var: &str) -> Result<(), ConfigError> {
    let invalid = |message: String| ConfigError::Invalid { origin: format!("environment variable {var}"), message };
    let Some(toml::Value::Table(section_table)) = table.get_mut(section) else {
        return Err(invalid(format!("no section [{section}]")));
    };
    let Some(current) = section_table.get(key) else {
        return Err(invalid(format!("no key '{key}' in [{section}]")));
    };
    let value = match current {
        toml::Value::String(_) => toml::Value::String(raw.to_string()),
        _ => {
            // Numbers, booleans and arrays are written as TOML values.
            let parsed: toml::Table =
                format!("v = {raw}").parse().map_err(|e: toml::de::Error| invalid(e.message().to_string()))?;
            parsed.get("v").cloned().ok_or_else(|| invalid("empty value".into()))?
        }
    };
    section_table.insert(key.to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_are_the_embedded_sqlite_setup_with_the_demo_key() {
        let config = Config::defaults();
        assert!(config.is_embedded_database());
        assert!(config.demo_key_enabled());
        assert_eq!(config.storage.data_dir, PathBuf::from("./data"));
        assert!(config.database_url().starts_with("sqlite://./data/ocr-server.db"));
        assert_eq!(config.pdf.link_lifetime_secs, 3600);
    }

    #[test]
    fn environment_overrides_are_typed_like_the_defaults() {
        let config = Config::load_with_env(
            None,
            env(&[
                ("OCR_SERVER__BIND", "0.0.0.0:9000"),
                ("OCR_SERVER__WORKERS", "3"),
                ("OCR_SERVER__TRUSTED_PROXIES", "[\"10.0.0.1\"]"),
                ("OCR_SERVER__URL_PORTS", "[443, 8443]"),
                ("DATABASE_URL", "postgres://postgres@127.0.0.1/ocr"),
                ("PATH", "/usr/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(config.server.bind, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(config.server.workers, 3);
        assert_eq!(config.server.trusted_proxies, vec!["10.0.0.1".parse::<IpAddr>().unwrap()]);
        assert_eq!(config.server.url_ports, [443, 8443]);
        assert_eq!((config.server.max_fields, config.server.max_field_bytes), (32, 8192));
        assert!(!config.is_embedded_database());
        assert!(!config.demo_key_enabled(), "auto: no demo key on PostgreSQL");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors_naming_their_origin() {
        let err = Config::load_with_env(None, env(&[("OCR_SERVER__BINDD", "x")])).unwrap_err();
        assert!(err.to_string().contains("OCR_SERVER__BINDD"), "{err}");
        let err = Config::load_with_env(None, env(&[("OCR_SERVER__WORKERS", "many")])).unwrap_err();
        assert!(err.to_string().contains("OCR_SERVER__WORKERS"), "{err}");
        let dir = std::env::temp_dir().join(format!("ocr-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("bad.toml");
        std::fs::write(&file, "[server]\nworkers = \"two\"\n").unwrap();
        assert!(Config::load_with_env(Some(&file), Vec::new()).is_err());
        std::fs::write(&file, "[auth]\ndemo_key_enabled = \"true\"\n[storage]\ndata_dir = \"/srv/ocr\"\n").unwrap();
        let config = Config::load_with_env(Some(&file), Vec::new()).unwrap();
        assert_eq!(config.storage.data_dir, PathBuf::from("/srv/ocr"));
        assert_eq!(config.auth.demo_key_enabled, DemoKeySetting::True);
        assert_eq!(config.server.timeout_secs, 120, "untouched keys keep their defaults");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
