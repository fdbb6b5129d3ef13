//! The asynchronous job queue: jobs wait in the database, a worker of any
//! instance claims one by taking a lease, renews the lease as pages finish
//! and stores the result; a job whose lease runs out (its worker died) is
//! claimed again, at most `max_attempts` times. Each claim increments the
//! job's `attempt`, and only the holder of the current attempt may renew or
//! finish it, so a worker that lost its lease cannot overwrite the result.
//!
//! PostgreSQL claims with `FOR UPDATE SKIP LOCKED` (instances never wait for
//! each other's claims); SQLite runs one writer at a time, so the same
//! statement without the lock clause is equally exclusive there.
//!
//! Finished jobs with a callback URL enter a second queue, of webhook
//! deliveries, claimed the same way (a lease on `webhook_next_at`).
//!
//! A finished job's input is dropped when it finishes (no attempt follows);
//! the job itself is deleted after the retention, once its webhook is
//! settled ([`Store::delete_finished_jobs`]).

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{random_bytes, Backend, Store, StoreError};

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for a worker.
    Queued,
    /// A worker holds its lease.
    Running,
    /// Finished with a result.
    Done,
    /// Finished without one (bad input, or every attempt ran out).
    Failed,
}

impl JobState {
    /// The state's name, as stored and as shown by `GET /jobs/{id}`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    fn parse(name: &str) -> Result<Self, StoreError> {
        Ok(match name {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "done" => Self::Done,
            "failed" => Self::Failed,
            other => return Err(StoreError::NotFound(format!("unknown job state {other:?}"))),
        })
    }
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// The API key that submitted it (only this key may read it).
    pub key_id: String,
    /// The request's parameters, serialized by the caller.
    pub params: String,
    /// The uploaded input (empty when the input is a URL in `params`).
    pub input: Vec<u8>,
    /// Where to POST the result, already checked by the caller.
    pub callback_url: Option<String>,
    /// How many times a worker may claim it.
    pub max_attempts: i64,
}

/// A job's state as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus {
    /// Job id.
    pub id: String,
    /// State.
    pub state: JobState,
    /// Claims so far.
    pub attempt: i64,
    /// Pages finished (by the current attempt).
    pub pages_done: i64,
    /// Pages in the input (0 until a worker has read it).
    pub pages_total: i64,
    /// The result document (JSON) once finished.
    pub result: Option<String>,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Submission time, Unix seconds.
    pub created_at: i64,
    /// Completion time, Unix seconds.
    pub finished_at: Option<i64>,
    /// Webhook delivery: `none`, `pending`, `delivered` or `failed`.
    pub webhook_state: String,
}

/// A job a worker has claimed.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    /// Job id.
    pub id: String,
    /// The key that submitted it.
    pub key_id: String,
    /// Its parameters, as the submitter serialized them.
    pub params: String,
    /// Its uploaded input.
    pub input: Vec<u8>,
    /// This claim's number: the fencing token for renew and finish.
    pub attempt: i64,
}

/// A webhook delivery a worker has claimed.
#[derive(Debug, Clone)]
pub struct WebhookDelivery {
    /// Job id.
    pub job_id: String,
    /// The key that submitted the job.
    pub key_id: String,
    /// Where to POST.
    pub callback_url: String,
    /// The job's final state.
    pub state: JobState,
    /// Its result document (JSON), if any.
    pub result: Option<String>,
    /// Its error, if any.
    pub error: Option<String>,
    /// Deliveries tried before this one.
    pub attempts: i64,
}

/// How a worker's job ended.
#[derive(Debug, Clone)]
pub enum JobOutcome {
    /// Finished: the result document (JSON).
    Done(String),
    /// Failed for good (the input is at fault, retrying would not help):
    /// the reason and the error document (JSON) to show.
    Failed(String, String),
}

/// Marks a newly final job's webhook as due (when it has a callback URL).
const WEBHOOK_DUE: &str = "webhook_state = CASE WHEN callback_url IS NULL THEN 'none' ELSE 'pending' END";

impl Store {
    /// Enqueues a job submitted at `now`; returns its id (32 hex digits).
    pub async fn insert_job(&self, job: &NewJob, now: i64) -> Result<String, StoreError> {
        let id: String = random_bytes::<16>()?.iter().map(|b| format!("{b:02x}")).collect();
        sqlx::query(
            "INSERT INTO jobs (id, key_id, state, params, input, callback_url, max_attempts, created_at)
             VALUES ($1, $2, 'queued', $3, $4, NULLIF($5, ''), $6, $7)",
        )
        .bind(&id)
        .bind(&job.key_id)
        .bind(&job.params)
        .bind(job.input.clone())
        .bind(job.callback_url.clone().unwrap_or_default())
        .bind(job.max_attempts.max(1))
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(id)
    }

    /// The job `id` if `key_id` submitted it.
    pub async fn job(&self, id: &str, key_id: &str) -> Result<Option<JobStatus>, StoreError> {
        let row = sqlx::query(
            "SELECT id, state, attempt, pages_done, pages_total, result, error, created_at, finished_at, webhook_state
             FROM jobs WHERE id = $1 AND key_id = $2",
        )
        .bind(id)
        .bind(key_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| status(&row)).transpose()
    }

    /// Claims the oldest job that is queued or whose worker's lease ran
    /// out before `now`, holding it until `lease_until`. Jobs whose lease
    /// ran out on their last attempt are failed first.
    pub async fn claim_job(&self, now: i64, lease_until: i64) -> Result<Option<ClaimedJob>, StoreError> {
        sqlx::query(&format!(
            "UPDATE jobs SET state = 'failed', error = 'the job was abandoned by its worker on every attempt',
                 finished_at = $1, lease_until = NULL, input = NULL, {WEBHOOK_DUE}, webhook_next_at = $1
             WHERE state = 'running' AND lease_until <= $1 AND attempt >= max_attempts"
        ))
        .bind(now)
        .execute(self.pool())
        .await?;
        let lock = if self.backend() == Backend::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
        let row = sqlx::query(&format!(
            "UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_until = $2, pages_done = 0
             WHERE id = (SELECT id FROM jobs
                         WHERE (state = 'queued' OR (state = 'running' AND lease_until <= $1))
                           AND attempt < max_attempts
                         ORDER BY created_at, id LIMIT 1 {lock})
               AND (state = 'queued' OR (state = 'running' AND lease_until <= $1))
             RETURNING id, key_id, params, input, attempt"
        ))
        .bind(now)
        .bind(lease_until)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ClaimedJob {
            id: row.try_get("id")?,
            key_id: row.try_get("key_id")?,
            params: row.try_get("params")?,
            input: row.try_get::<Option<Vec<u8>>, _>("input")?.unwrap_or_default(),
            attempt: row.try_get("attempt")?,
        }))
    }

    /// Records progress and extends the lease of a claimed job; `false`
    /// when this attempt no longer holds it (the worker must stop).
    pub async fn renew_job(
        &self,
        id: &str,
        attempt: i64,
        pages_done: i64,
        pages_total: i64,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET pages_done = $3, pages_total = $4, lease_until = $5
             WHERE id = $1 AND attempt = $2 AND state = 'running'",
        )
        .bind(id)
        .bind(attempt)
        .bind(pages_done)
        .bind(pages_total)
        .bind(lease_until)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores a claimed job's outcome at `now`; `false` when this attempt
    /// no longer holds it (another worker took it over, and its outcome
    /// counts). Exactly one call per job returns `true`, so a webhook is
    /// queued once per job.
    pub async fn finish_job(&self, id: &str, attempt: i64, outcome: &JobOutcome, now: i64) -> Result<bool, StoreError> {
        let (state, result, error) = match outcome {
            JobOutcome::Done(result) => ("done", result.as_str(), ""),
            JobOutcome::Failed(error, result) => ("failed", result.as_str(), error.as_str()),
        };
        let done = sqlx::query(&format!(
            "UPDATE jobs SET state = $3, result = $4, error = NULLIF($5, ''), finished_at = $6, lease_until = NULL,
                 input = NULL, pages_done = CASE WHEN $3 = 'done' THEN pages_total ELSE pages_done END,
                 {WEBHOOK_DUE}, webhook_next_at = $6
             WHERE id = $1 AND attempt = $2 AND state = 'running'"
        ))
        .bind(id)
        .bind(attempt)
        .bind(state)
        .bind(result)
        .bind(error)
        .bind(now)
        .execute(self.pool())
        .await?;
        let finished = done.rows_affected() == 1;
        if finished {
            self.forget_job_pages(id).await?;
        }
        Ok(finished)
    }

    /// Deletes a finished job's stored pages.
    async fn forget_job_pages(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM job_pages WHERE job_id = $1").bind(id).execute(self.pool()).await?;
        Ok(())
    }

    /// Gives a claimed job back at `now` after a passing failure (the
    /// server was busy, storage failed): it is queued again while attempts
    /// remain, else it fails with `error` (and its webhook is due).
    pub async fn release_job(&self, id: &str, attempt: i64, error: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', lease_until = NULL, error = $3
             WHERE id = $1 AND attempt = $2 AND state = 'running' AND attempt < max_attempts",
        )
        .bind(id)
        .bind(attempt)
        .bind(error)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 1 {
            return Ok(true);
        }
        let done = sqlx::query(&format!(
            "UPDATE jobs SET state = 'failed', error = $3, finished_at = $4, lease_until = NULL, input = NULL,
                 {WEBHOOK_DUE}, webhook_next_at = $4
             WHERE id = $1 AND attempt = $2 AND state = 'running'"
        ))
        .bind(id)
        .bind(attempt)
        .bind(error)
        .bind(now)
        .execute(self.pool())
        .await?;
        let failed = done.rows_affected() == 1;
        if failed {
            self.forget_job_pages(id).await?;
        }
        Ok(failed)
    }

    /// Claims the oldest webhook delivery due at `now`, holding it until
    /// `lease_until` (a worker that dies mid-delivery leaves it to be
    /// claimed again then).
    pub async fn claim_webhook(&self, now: i64, lease_until: i64) -> Result<Option<WebhookDelivery>, StoreError> {
        let lock = if self.backend() == Backend::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
        let row = sqlx::query(&format!(
            "UPDATE jobs SET webhook_next_at = $2
             WHERE id = (SELECT id FROM jobs WHERE webhook_state = 'pending' AND webhook_next_at <= $1
                         ORDER BY webhook_next_at, id LIMIT 1 {lock})
               AND webhook_state = 'pending' AND webhook_next_at <= $1
             RETURNING id, key_id, callback_url, state, result, error, webhook_attempts"
        ))
        .bind(now)
        .bind(lease_until)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(WebhookDelivery {
            job_id: row.try_get("id")?,
            key_id: row.try_get("key_id")?,
            callback_url: row.try_get("callback_url")?,
            state: JobState::parse(&row.try_get::<String, _>("state")?)?,
            result: row.try_get("result")?,
            error: row.try_get("error")?,
            attempts: row.try_get("webhook_attempts")?,
        }))
    }

    /// Records a webhook delivery's end: delivered, or failed and tried
    /// again at `retry_at` (`None`: given up).
    pub async fn webhook_attempted(
        &self,
        job_id: &str,
        delivered: bool,
        retry_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let state = match (delivered, retry_at) {
            (true, _) => "delivered",
            (false, Some(_)) => "pending",
            (false, None) => "failed",
        };
        sqlx::query(
            "UPDATE jobs SET webhook_state = $2, webhook_attempts = webhook_attempts + 1, webhook_next_at = $3
             WHERE id = $1 AND webhook_state = 'pending'",
        )
        .bind(job_id)
        .bind(state)
        .bind(retry_at.unwrap_or(0))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Stores the result (JSON) of page `page` (from 0) read by `attempt`
    /// of job `id`; `false` when that attempt no longer holds the job.
    pub async fn save_job_page(&self, id: &str, attempt: i64, page: i64, result: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO job_pages (job_id, page, result)
             SELECT $1, $3, $4 WHERE EXISTS (SELECT 1 FROM jobs WHERE id = $1 AND attempt = $2 AND state = 'running')
             ON CONFLICT (job_id, page) DO NOTHING",
        )
        .bind(id)
        .bind(attempt)
        .bind(page)
        .bind(result)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The pages of job `id` that earlier attempts read: (page from 0, result JSON).
    pub async fn job_pages(&self, id: &str) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = sqlx::query("SELECT page, result FROM job_pages WHERE job_id = $1 ORDER BY page")
            .bind(id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|row| Ok((row.try_get("page")?, row.try_get("result")?))).collect()
    }

    /// Deletes the stored pages of jobs that are no longer queued or
    /// running (a finished job's pages are deleted when it finishes; this
    /// catches jobs failed as abandoned, or finished by a worker that died
    /// before deleting them); returns how many went.
    pub async fn delete_orphan_job_pages(&self) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM job_pages WHERE job_id NOT IN (SELECT id FROM jobs WHERE state IN ('queued', 'running'))",
        )
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// Deletes at most `limit` jobs that finished (done or failed) at or
    /// before `finished_before` and whose webhook is settled (none,
    /// delivered or given up), oldest first; returns how many went. A job
    /// whose webhook is pending (or being delivered) stays. Several
    /// instances may sweep at once: PostgreSQL skips rows another sweep has
    /// locked, and a row deleted twice is simply gone.
    pub async fn delete_finished_jobs(&self, finished_before: i64, limit: i64) -> Result<u64, StoreError> {
        // The batch is chosen once (a materialised CTE: a locking subquery
        // under IN may be evaluated again per row, and a batch overrun).
        let (materialized, lock) = match self.backend() {
            Backend::Postgres => ("MATERIALIZED", "FOR UPDATE SKIP LOCKED"),
            Backend::Sqlite => ("", ""),
        };
        let done = sqlx::query(&format!(
            "WITH batch AS {materialized} (
                 SELECT id FROM jobs WHERE {EXPIRED} ORDER BY finished_at, id LIMIT $2 {lock})
             DELETE FROM jobs WHERE id IN (SELECT id FROM batch) AND {EXPIRED}"
        ))
        .bind(finished_before)
        .bind(limit.max(1))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }
}

/// A finished job past its retention (`$1`: the latest finish time to
/// delete) whose webhook needs nothing more.
const EXPIRED: &str = "state IN ('done', 'failed') AND finished_at <= $1
     AND webhook_state IN ('none', 'delivered', 'failed')";

fn status(row: &AnyRow) -> Result<JobStatus, StoreError> {
    Ok(JobStatus {
        id: row.try_get("id")?,
        state: JobState::parse(&row.try_get::<String, _>("state")?)?,
        attempt: row.try_get("attempt")?,
        pages_done: row.try_get("pages_done")?,
        pages_total: row.try_get("pages_total")?,
        result: row.try_get("result")?,
        error: row.try_get("error")?,
        created_at: row.try_get("created_at")?,
        finished_at: row.try_get("finished_at")?,
        webhook_state: row.try_get("webhook_state")?,
    })
}
