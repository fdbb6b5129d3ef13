//! The server under test: a real `ocr-server serve` child process on
//! 127.0.0.1 (engine 1, SQLite and PDFs in one directory), with an
//! enterprise key created through `ocr-server keys create` beforehand.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::server_process::rss_kb;
use super::server_process::{engine_one_config, ServerProcess};

/// How the server is configured.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// The `ocr-server` binary.
    pub binary: PathBuf,
    /// Configuration and data directory (kept across restarts).
    pub dir: PathBuf,
    /// OCR workers.
    pub workers: usize,
    /// Places in the queue.
    pub queue: usize,
    /// The models directory.
    pub models: PathBuf,
}

/// A running server; killed on drop.
pub type Server = ServerProcess;

impl ServerSpec {
    /// Writes the configuration (first start only; later starts reuse it).
    fn write_config(&self) -> std::io::Result<PathBuf> {
        let path = self.dir.join("config.toml");
        if path.exists() {
            return Ok(path);
        }
        std::fs::create_dir_all(&self.dir)?;
        let server =
            format!("workers = {}\nqueue = {}\ntimeout_secs = 60\nshutdown_timeout_secs = 5", self.workers, self.queue);
        let sections =
            "[auth]\nburst_per_second = 1000000\nburst_size = 1000000\n[pdf]\nlink_secret = \"loadgen-secret\"\n";
        let config = engine_one_config(&self.dir.join("data"), &self.models, &server, sections);
        std::fs::write(&path, config)?;
        Ok(path)
    }

    /// Creates an enterprise key (no quotas, PDFs allowed); returns its secret.
    pub fn create_key(&self) -> Result<String, String> {
        let config = self.write_config().map_err(|e| e.to_string())?;
        let out = Command::new(&self.binary)
            .args(["keys", "--config"])
            .arg(&config)
            .args(["create", "--tier", "enterprise", "--name", "loadgen"])
            .output()
            .map_err(|e| format!("{}: {e}", self.binary.display()))?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .find_map(|l| l.strip_prefix("apikey:").map(|k| k.trim().to_string()))
            .ok_or_else(|| format!("keys create printed no key: {text}{}", String::from_utf8_lossy(&out.stderr)))
    }

    /// Starts the server and waits until it listens (its log is dropped).
    pub fn start(&self) -> Result<Server, String> {
        let config = self.write_config().map_err(|e| e.to_string())?;
        let log_filter = [("RUST_LOG", "warn,ocr_server=info,ocr_api=info".to_string())];
        ServerProcess::spawn(&self.binary, &config, &log_filter, false)
    }

    /// The SQLite database URL.
    pub fn database_url(&self) -> String {
        format!("sqlite://{}?mode=rw", self.dir.join("data/ocr-server.db").display())
    }

    /// The stored-PDF directory.
    pub fn pdf_dir(&self) -> PathBuf {
        self.dir.join("data/pdf")
    }
}

/// Other load on the machine: the 1-minute load average.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The server's RSS over time.
pub struct RssSampler {
    started: Instant,
    /// (seconds since start, KB).
    pub samples: Vec<(f64, u64)>,
}

impl RssSampler {
    /// A sampler whose clock starts now.
    pub fn start() -> Self {
        Self { started: Instant::now(), samples: Vec::new() }
    }

    /// Records one sample of `pid`.
    pub fn sample(&mut self, pid: u32) {
        self.samples.push((self.started.elapsed().as_secs_f64(), rss_kb(pid)));
    }

    /// The samples as `t=5s 812 MB, …`.
    pub fn describe(&self) -> String {
        self.samples.iter().map(|(t, kb)| format!("{t:.0}s {} MB", kb / 1024)).collect::<Vec<_>>().join(", ")
    }
}

/// A fresh directory for one run under the system's temporary directory.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ocr-loadgen-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Files in `dir` whose names end with `suffix`.
pub fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().ends_with(suffix)))
                .collect()
        })
        .unwrap_or_default()
}
