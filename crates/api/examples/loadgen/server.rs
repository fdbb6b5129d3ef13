//! The server under test: a real `ocr-server serve` child process on
//! 127.0.0.1 (engine 1, SQLite and PDFs in one directory), with an
//! enterprise key created through `ocr-server keys create` beforehand.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl ServerSpec {
    /// Writes the configuration (first start only; later starts reuse it).
    fn write_config(&self) -> std::io::Result<PathBuf> {
        let path = self.dir.join("config.toml");
        if path.exists() {
            return Ok(path);
        }
        std::fs::create_dir_all(&self.dir)?;
        let config = format!(
            r#"[server]
bind = "127.0.0.1:0"
workers = {workers}
queue = {queue}
prepare_plans = false
timeout_secs = 60
shutdown_timeout_secs = 5
[storage]
data_dir = "{data}"
[models]
dir = "{models}"
[[models.set]]
engine = 1
name = "PP-OCRv4 mobile"
detector = "ch_PP-OCRv4_det_infer.onnx"
recognizer = "ch_PP-OCRv4_rec_infer.onnx"
classifier = ""
languages = []
profile = "pp-ocrv4"
[auth]
burst_per_second = 1000000
burst_size = 1000000
[pdf]
link_secret = "loadgen-secret"
"#,
            workers = self.workers,
            queue = self.queue,
            data = self.dir.join("data").display(),
            models = self.models.display(),
        );
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

    /// Starts the server and waits until it listens.
    pub fn start(&self) -> Result<Server, String> {
        let config = self.write_config().map_err(|e| e.to_string())?;
        let mut child = Command::new(&self.binary)
            .args(["serve", "--config"])
            .arg(&config)
            .env("RUST_LOG", "warn,ocr_server=info,ocr_api=info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{}: {e}", self.binary.display()))?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("ocr-server listening") {
                    let port = line.split("port=").nth(1).and_then(|p| p.split_whitespace().next());
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(port.and_then(|p| p.parse::<u16>().ok()));
                    }
                }
                // The rest of the log is read and dropped, so the pipe never fills.
            }
        });
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(Some(port)) => Ok(Server { child, base: format!("http://127.0.0.1:{port}") }),
            _ => {
                let _ = child.kill();
                Err("the server did not start within 120 s".into())
            }
        }
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

impl Server {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory in KB (`VmRSS` of /proc/PID/status).
    pub fn rss_kb(&self) -> u64 {
        rss_kb(self.pid())
    }

    /// CPU time used so far (user + system).
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        Duration::from_millis((ticks(11) + ticks(12)) * 10) // USER_HZ is 100 on Linux
    }

    /// `kill -9`, then waits for the process to be gone.
    pub fn kill_9(&mut self) {
        let _ = Command::new("kill").args(["-KILL", &self.pid().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `VmRSS` of process `pid`, in KB (0 when gone).
pub fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
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
