//! A real `ocr-server serve` child process, as the process-level tests
//! (`binary`, `fleet`, `jobs`) and the load generator (`examples/loadgen`)
//! start it: the engine-1-only configuration they share, the launch that
//! waits for the "listening" log line, the log kept for assertions, and
//! the process's resident memory and CPU time.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// A configuration file's text: `[server]` on loopback port 0 with lazy
/// plans and `server_lines` added, data in `data_dir`, Engine 1 (PP-OCRv4
/// mobile) from `models_dir` as the only model set, then `sections` (more
/// TOML sections, e.g. `[database]` or `[pdf]`).
pub fn engine_one_config(data_dir: &Path, models_dir: &Path, server_lines: &str, sections: &str) -> String {
    format!(
        r#"[server]
bind = "127.0.0.1:0"
prepare_plans = false
{server_lines}
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
{sections}"#,
        server_lines = server_lines.trim_end(),
        data = data_dir.display(),
        models = models_dir.display(),
    )
}

/// A running `ocr-server serve`; killed on drop.
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    log: Arc<Mutex<String>>,
}

impl ServerProcess {
    /// Starts `binary serve --config config` with `env` in an otherwise
    /// clean environment (`RUST_LOG=info` unless `env` sets it) and waits
    /// (at most 120 s) for it to listen. The log is kept in memory when
    /// `keep_log`, else read and dropped so the pipe never fills.
    pub fn spawn(binary: &Path, config: &Path, env: &[(&str, String)], keep_log: bool) -> Result<Self, String> {
        let mut command = Command::new(binary);
        command
            .args(["serve", "--config"])
            .arg(config)
            .env_clear()
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().map_err(|e| format!("{}: {e}", binary.display()))?;
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("ocr-server listening") {
                    let port = line.split("port=").nth(1).and_then(|p| p.split_whitespace().next());
                    let _ = tx.send(port.and_then(|p| p.parse::<u16>().ok()));
                }
                if keep_log {
                    sink.lock().unwrap_or_else(|e| e.into_inner()).push_str(&(line + "\n"));
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(Some(port)) => Ok(Self { child, base: format!("http://127.0.0.1:{port}"), log }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("the server did not start within 120 s: {}", log.lock().unwrap_or_else(|e| e.into_inner())))
            }
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// The log so far (empty unless started with `keep_log`).
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether the log so far holds `text`.
    pub fn log_has(&self, text: &str) -> bool {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).contains(text)
    }

    /// The exit status if the process has ended.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Sends `signal` (e.g. `TERM`, `KILL`) with `kill`.
    pub fn signal(&self, signal: &str) {
        let _ = Command::new("kill").arg(format!("-{signal}")).arg(self.pid().to_string()).status();
    }

    /// `kill -9`, then waits for the process to be gone.
    pub fn kill_9(&mut self) {
        self.signal("KILL");
        let _ = self.child.wait();
    }

    /// Resident memory in KB (`VmRSS` of /proc/PID/status; 0 once gone).
    pub fn rss_kb(&self) -> u64 {
        rss_kb(self.pid())
    }

    /// CPU time used so far (user + system, from /proc/PID/stat).
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        // Fields after the command name (which may hold spaces) start after the last ')'.
        let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        Duration::from_millis((ticks(11) + ticks(12)) * 10) // USER_HZ is 100 on Linux
    }
}

impl Drop for ServerProcess {
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
