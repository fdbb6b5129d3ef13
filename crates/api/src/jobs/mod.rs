//! Asynchronous jobs: `POST /jobs` takes the same inputs and parameters as
//! `/parse/image` plus `callbackUrl`, stores the input in the database and
//! answers 202 at once; a worker loop in every instance claims queued jobs
//! (see [`crate::store::Store::claim_job`]) and runs them on the instance's
//! OCR pool; `GET /jobs/{id}` shows the state, progress and result; a
//! webhook loop POSTs each finished job to its callback URL, signed; a
//! retention loop deletes finished jobs after `[jobs].retention_secs`.

mod http;
mod retention;
mod webhook;
mod worker;

use std::time::Duration;

pub use http::{status, submit, JobAccepted, JobView};
pub use webhook::{sign, SIGNATURE_HEADER};

/// How jobs are run and delivered.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// How long a claim holds a job without renewal (renewed every third of it).
    pub lease: Duration,
    /// Claims per job before it fails.
    pub max_attempts: i64,
    /// Time between looks at an empty queue.
    pub poll_interval: Duration,
    /// Longest one attempt may read.
    pub timeout: Duration,
    /// Most bytes of one job's stored input (below the key's file limit).
    pub max_input_bytes: u64,
    /// HMAC-SHA256 key of the webhook's `X-Signature`.
    pub webhook_secret: String,
    /// Deliveries tried per webhook before giving up.
    pub webhook_attempts: i64,
    /// Wait before the first retry; doubled for each further one.
    pub webhook_backoff: Duration,
    /// How long a finished job is kept (once its webhook is settled);
    /// `None`: for ever.
    pub retention: Option<Duration>,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(30),
            max_attempts: 3,
            poll_interval: Duration::from_millis(500),
            timeout: Duration::from_secs(3600),
            max_input_bytes: 50 << 20,
            webhook_secret: String::new(),
            webhook_attempts: 6,
            webhook_backoff: Duration::from_secs(2),
            retention: Some(Duration::from_secs(7 * 86_400)),
        }
    }
}

/// Starts this instance's job worker, webhook and retention loops.
pub fn spawn(state: crate::server::AppState, settings: JobSettings) {
    worker::spawn(state.clone(), settings.clone());
    retention::spawn(state.clone(), settings.retention);
    webhook::spawn(state, settings);
}
