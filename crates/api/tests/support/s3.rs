//! A real S3-compatible server for the tests: scripts/s3-test-server.py
//! (moto's server, PyPI `moto[server]`, installed by scripts/prereqs) on
//! 127.0.0.1, checking every request's signature against one access key. It
//! stops when this handle is dropped (its standard input closes), or when
//! the test process dies.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use ocr_api::pdflinks::{S3Credentials, S3Settings};

/// A running S3 server on loopback with its buckets created.
pub struct S3Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// The key it accepts.
    pub credentials: S3Credentials,
    /// Its access log (one line per request).
    log: PathBuf,
}

impl S3Server {
    /// Starts the server with `buckets` created.
    pub fn start(buckets: &[&str]) -> Self {
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let log = std::env::temp_dir().join(format!("ocr-s3-test-{}-{n}.log", std::process::id()));
        let mut child = Command::new("python3")
            .arg(super::common::root().join("scripts/s3-test-server.py"))
            .args(buckets)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("python3 runs scripts/s3-test-server.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let info: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|_| {
            panic!(
                "scripts/s3-test-server.py did not start (is moto[server] installed? scripts/prereqs installs it): {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
        let text = |k: &str| info[k].as_str().unwrap().to_string();
        Self {
            child,
            endpoint: text("endpoint"),
            credentials: S3Credentials {
                access_key_id: text("access_key_id"),
                secret_access_key: text("secret_access_key"),
                session_token: None,
            },
            log,
        }
    }

    /// Path-style settings for `bucket` with the accepted key.
    pub fn settings(&self, bucket: &str) -> S3Settings {
        S3Settings {
            bucket: bucket.into(),
            endpoint: self.endpoint.clone(),
            region: "us-east-1".into(),
            path_style: true,
            prefix: "pdf/".into(),
            credentials: self.credentials.clone(),
        }
    }

    /// The keys of the objects in `bucket` (read through moto's own
    /// inspection API, which needs no signature).
    pub fn objects(&self, bucket: &str) -> Vec<String> {
        let client = reqwest::blocking::Client::builder().no_proxy().build().unwrap();
        let state: serde_json::Value =
            client.get(format!("{}/moto-api/data.json", self.endpoint)).send().unwrap().json().unwrap();
        let keys = state["s3"]["FakeKey"].as_array().cloned().unwrap_or_default();
        keys.iter()
            .filter(|k| k["bucket_name"] == bucket && k["disposed"] == false)
            .map(|k| k["name"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// The paths of the requests made with `method` and the status each got
    /// (`("/bucket/pdf/x.pdf", 204)`), in order.
    pub fn requests(&self, method: &str) -> Vec<(String, u16)> {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let marker = format!("\"{method} ");
        log.lines()
            .filter_map(|line| {
                let rest = &line[line.find(&marker)? + marker.len()..];
                let (path, rest) = rest.split_once(' ')?;
                let status = rest.split_once("\" ")?.1.split_whitespace().next()?.parse().ok()?;
                Some((path.to_string(), status))
            })
            .collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        if self.child.wait_timeout_secs(5).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

trait WaitTimeout {
    fn wait_timeout_secs(&mut self, secs: u64) -> Option<std::process::ExitStatus>;
}

impl WaitTimeout for Child {
    fn wait_timeout_secs(&mut self, secs: u64) -> Option<std::process::ExitStatus> {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        while std::time::Instant::now() < until {
            if let Ok(Some(status)) = self.try_wait() {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        None
    }
}
