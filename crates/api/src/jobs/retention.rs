//! Job retention: every instance deletes finished jobs (their result and
//! any input left) `[jobs].retention_secs` after they finished, once their
//! webhook is settled, in bounded batches so no sweep holds the database
//! long. `GET /jobs/{id}` of a deleted job is a 404, as for an unknown id.
//! The same loop deletes the stored pages of jobs that ended without
//! deleting them (failed as abandoned), also when jobs are kept for ever.

use std::time::Duration;

use crate::server::AppState;
use crate::store::unix_now;

/// Most jobs one statement deletes.
const BATCH: i64 = 500;

/// Longest wait between sweeps.
const MAX_INTERVAL: Duration = Duration::from_secs(60);

/// Time between sweeps: a quarter of the retention, between 1 s and a minute.
pub(super) fn interval(retention: Duration) -> Duration {
    (retention / 4).clamp(Duration::from_secs(1), MAX_INTERVAL)
}

/// Starts the loop; `retention` `None` keeps finished jobs for ever.
pub(super) fn spawn(state: AppState, retention: Option<Duration>) {
    let every = retention.map_or(MAX_INTERVAL, interval);
    actix_web::rt::spawn(async move {
        loop {
            actix_web::rt::time::sleep(every).await;
            if let Err(e) = state.gate.store().delete_orphan_job_pages().await {
                tracing::warn!(error = %e, "deleting ended jobs' pages failed");
            }
            let Some(retention) = retention else { continue };
            let finished_before = unix_now() - retention.as_secs().min(i64::MAX as u64) as i64;
            // Batch after batch while batches come back full, each its own statement.
            loop {
                match state.gate.store().delete_finished_jobs(finished_before, BATCH).await {
                    Ok(0) => break,
                    Ok(deleted) => {
                        tracing::info!(deleted, "deleted finished jobs past their retention");
                        if deleted < BATCH as u64 {
                            break;
                        }
                        tokio::task::yield_now().await;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "deleting finished jobs failed");
                        break;
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn sweeps_come_every_quarter_retention_within_a_second_and_a_minute() {
        assert_eq!(super::interval(Duration::from_secs(7 * 86_400)), Duration::from_secs(60));
        assert_eq!(super::interval(Duration::from_secs(8)), Duration::from_secs(2));
        assert_eq!(super::interval(Duration::from_secs(1)), Duration::from_secs(1));
    }
}
