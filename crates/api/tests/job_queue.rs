//! The durable job queue in the database, on PostgreSQL and SQLite: claims
//! are exclusive (also between two instances claiming at once), a lease
//! that runs out hands the job to another worker and fences the old one
//! out, attempts are bounded, only the submitting key sees a job, and a
//! finished job's webhook is queued exactly once and retried when asked;
//! a job's read pages are kept for a take-over, and finished jobs are
//! deleted after their retention.

mod common;

use common::{block_on, Backend, TestDb};
use ocr_api::store::{JobOutcome, JobState, NewJob, Store};

fn new_job(key: &str, callback: Option<&str>, max_attempts: i64) -> NewJob {
    NewJob {
        key_id: key.into(),
        params: r#"{"language":"eng"}"#.into(),
        input: vec![0, 1, 2, 255],
        callback_url: callback.map(str::to_string),
        max_attempts,
    }
}

const NOW: i64 = 1_800_000_000;

#[test]
fn a_job_is_claimed_once_finished_once_and_seen_by_its_key_only() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        let db = TestDb::new(backend);
        let store = db.store();
        block_on(async {
            let id = store.insert_job(&new_job("k1", Some("http://cb.example/x"), 3), NOW).await.unwrap();
            assert_eq!(id.len(), 32);
            let status = store.job(&id, "k1").await.unwrap().unwrap();
            assert_eq!((status.state, status.attempt, status.webhook_state.as_str()), (JobState::Queued, 0, "none"));
            assert!(store.job(&id, "k2").await.unwrap().is_none(), "{backend:?}: another key sees the job");

            let claimed = store.claim_job(NOW, NOW + 30).await.unwrap().expect("a job to claim");
            assert_eq!((claimed.id.as_str(), claimed.attempt, claimed.key_id.as_str()), (id.as_str(), 1, "k1"));
            assert_eq!(claimed.input, vec![0, 1, 2, 255]);
            assert_eq!(claimed.params, r#"{"language":"eng"}"#);
            assert!(store.claim_job(NOW + 1, NOW + 31).await.unwrap().is_none(), "{backend:?}: claimed twice");

            assert!(store.renew_job(&id, 1, 2, 5, NOW + 60).await.unwrap());
            let status = store.job(&id, "k1").await.unwrap().unwrap();
            assert_eq!((status.state, status.pages_done, status.pages_total), (JobState::Running, 2, 5));
            // The renewed lease holds past the first one's end.
            assert!(store.claim_job(NOW + 40, NOW + 70).await.unwrap().is_none());

            let outcome = JobOutcome::Done(r#"{"OCRExitCode":1}"#.into());
            assert!(store.finish_job(&id, 1, &outcome, NOW + 50).await.unwrap());
            assert!(!store.finish_job(&id, 1, &outcome, NOW + 51).await.unwrap(), "finished twice");
            let status = store.job(&id, "k1").await.unwrap().unwrap();
            assert_eq!((status.state, status.pages_done, status.finished_at), (JobState::Done, 5, Some(NOW + 50)));
            assert_eq!(status.result.as_deref(), Some(r#"{"OCRExitCode":1}"#));
            assert_eq!(status.webhook_state, "pending");
            assert!(store.claim_job(NOW + 1000, NOW + 1030).await.unwrap().is_none());
        });
    }
}

#[test]
fn an_expired_lease_hands_the_job_on_and_fences_out_the_old_worker() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        let db = TestDb::new(backend);
        let store = db.store();
        block_on(async {
            let id = store.insert_job(&new_job("k", None, 2), NOW).await.unwrap();
            let first = store.claim_job(NOW, NOW + 10).await.unwrap().unwrap();
            // The first worker dies; its lease ends at NOW + 10.
            assert!(store.claim_job(NOW + 9, NOW + 19).await.unwrap().is_none());
            let second = store.claim_job(NOW + 10, NOW + 20).await.unwrap().expect("{backend:?}: reclaimed");
            assert_eq!((second.id.as_str(), first.attempt, second.attempt), (id.as_str(), 1, 2));
            assert_eq!(second.input, first.input);
            // The old worker wakes up: it can neither renew nor finish.
            assert!(!store.renew_job(&id, 1, 1, 1, NOW + 100).await.unwrap());
            let stale = JobOutcome::Done("stale".into());
            assert!(!store.finish_job(&id, 1, &stale, NOW + 11).await.unwrap());
            assert!(store.finish_job(&id, 2, &JobOutcome::Done("fresh".into()), NOW + 12).await.unwrap());
            let status = store.job(&id, "k").await.unwrap().unwrap();
            assert_eq!((status.state, status.result.as_deref()), (JobState::Done, Some("fresh")));
            assert_eq!(status.webhook_state, "none", "no callback URL, no webhook");
        });
    }
}

#[test]
fn attempts_are_bounded_and_a_released_job_is_claimed_again() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        let db = TestDb::new(backend);
        let store = db.store();
        block_on(async {
            let id = store.insert_job(&new_job("k", Some("http://cb.example/"), 2), NOW).await.unwrap();
            let first = store.claim_job(NOW, NOW + 10).await.unwrap().unwrap();
            assert!(store.release_job(&id, first.attempt, "server busy", NOW + 1).await.unwrap());
            assert_eq!(store.job(&id, "k").await.unwrap().unwrap().state, JobState::Queued);
            let second = store.claim_job(NOW + 1, NOW + 10).await.unwrap().unwrap();
            assert_eq!(second.attempt, 2);
            // The last attempt's worker dies too: the job fails, its webhook is due.
            assert!(store.claim_job(NOW + 11, NOW + 20).await.unwrap().is_none(), "{backend:?}: a third attempt");
            let status = store.job(&id, "k").await.unwrap().unwrap();
            assert_eq!((status.state, status.attempt), (JobState::Failed, 2));
            assert!(status.error.unwrap().contains("abandoned"));
            assert_eq!(status.webhook_state, "pending");
            // A job the input fails is failed at once, with its error document.
            let bad = store.insert_job(&new_job("k", None, 3), NOW).await.unwrap();
            let claimed = store.claim_job(NOW + 12, NOW + 20).await.unwrap().unwrap();
            assert_eq!(claimed.id, bad);
            let failed = JobOutcome::Failed("not an image".into(), r#"{"IsErroredOnProcessing":true}"#.into());
            assert!(store.finish_job(&bad, claimed.attempt, &failed, NOW + 13).await.unwrap());
            let status = store.job(&bad, "k").await.unwrap().unwrap();
            assert_eq!((status.state, status.error.as_deref()), (JobState::Failed, Some("not an image")));
            // Released on its last attempt, a job fails instead of waiting for a claim that never comes.
            let last = store.insert_job(&new_job("k", None, 1), NOW).await.unwrap();
            let claimed = store.claim_job(NOW + 14, NOW + 20).await.unwrap().unwrap();
            assert_eq!(claimed.id, last);
            assert!(store.release_job(&last, claimed.attempt, "timed out", NOW + 15).await.unwrap());
            let status = store.job(&last, "k").await.unwrap().unwrap();
            assert_eq!((status.state, status.error.as_deref()), (JobState::Failed, Some("timed out")));
        });
    }
}

/// Two instances (two pools) claim 40 jobs at once: each job is claimed
/// by exactly one of them.
#[test]
fn concurrent_claims_take_each_job_once() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        let db = TestDb::new(backend);
        block_on(async {
            let a = Store::connect(&db.url, 4).await.unwrap();
            let b = Store::connect(&db.url, 4).await.unwrap();
            for _ in 0..40 {
                a.insert_job(&new_job("k", None, 3), NOW).await.unwrap();
            }
            async fn drain(store: &Store) -> Vec<String> {
                let mut ids = Vec::new();
                while let Some(job) = store.claim_job(NOW, NOW + 60).await.unwrap() {
                    ids.push(job.id);
                }
                ids
            }
            let (mut from_a, from_b) = tokio::join!(drain(&a), drain(&b));
            println!("{backend:?}: instance A claimed {}, instance B {}", from_a.len(), from_b.len());
            from_a.extend(from_b);
            let total = from_a.len();
            from_a.sort();
            from_a.dedup();
            assert_eq!((total, from_a.len()), (40, 40), "{backend:?}: every job claimed exactly once");
        });
    }
}

#[test]
fn webhook_deliveries_are_claimed_retried_and_settled() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        let db = TestDb::new(backend);
        let store = db.store();
        block_on(async {
            let id = store.insert_job(&new_job("k", Some("http://127.0.0.1:9/hook"), 3), NOW).await.unwrap();
            assert!(store.claim_webhook(NOW + 100, NOW + 110).await.unwrap().is_none(), "not finished yet");
            let job = store.claim_job(NOW, NOW + 10).await.unwrap().unwrap();
            store.finish_job(&id, job.attempt, &JobOutcome::Done("{}".into()), NOW + 5).await.unwrap();

            let hook = store.claim_webhook(NOW + 5, NOW + 35).await.unwrap().expect("{backend:?}: a webhook");
            assert_eq!((hook.job_id.as_str(), hook.callback_url.as_str()), (id.as_str(), "http://127.0.0.1:9/hook"));
            assert_eq!((hook.state, hook.result.as_deref(), hook.attempts), (JobState::Done, Some("{}"), 0));
            // Held while being delivered.
            assert!(store.claim_webhook(NOW + 6, NOW + 36).await.unwrap().is_none());
            store.webhook_attempted(&id, false, Some(NOW + 65)).await.unwrap();
            assert!(store.claim_webhook(NOW + 64, NOW + 94).await.unwrap().is_none(), "retried before its time");
            let again = store.claim_webhook(NOW + 65, NOW + 95).await.unwrap().expect("retried");
            assert_eq!(again.attempts, 1);
            store.webhook_attempted(&id, true, None).await.unwrap();
            assert!(store.claim_webhook(NOW + 10_000, NOW + 10_030).await.unwrap().is_none());
            assert_eq!(store.job(&id, "k").await.unwrap().unwrap().webhook_state, "delivered");
        });
    }
}

/// Retention: a job that finished at or before the cut-off is deleted once
/// its webhook is settled; an unfinished job, a newer one and one whose
/// webhook is pending stay; batches are bounded; a second sweep (another
/// instance) finds nothing to do twice.
#[test]
fn finished_jobs_past_the_retention_are_deleted_once_their_webhook_is_settled() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        let db = TestDb::new(backend);
        let store = db.store();
        let store = &store;
        block_on(async {
            // Finishes the next claimed job at `at`.
            async fn finish_next(store: &Store, at: i64) -> String {
                let job = store.claim_job(at, at + 10).await.unwrap().unwrap();
                assert!(store.finish_job(&job.id, job.attempt, &JobOutcome::Done("{}".into()), at).await.unwrap());
                job.id
            }
            let old_a = store.insert_job(&new_job("k", None, 3), NOW).await.unwrap();
            let old_b = store.insert_job(&new_job("k", None, 3), NOW + 1).await.unwrap();
            let old_hooked = store.insert_job(&new_job("k", Some("http://cb.example/"), 3), NOW + 2).await.unwrap();
            let newer = store.insert_job(&new_job("k", None, 3), NOW + 3).await.unwrap();
            assert_eq!(finish_next(store, NOW + 10).await, old_a);
            assert_eq!(finish_next(store, NOW + 11).await, old_b);
            assert_eq!(finish_next(store, NOW + 12).await, old_hooked);
            assert_eq!(finish_next(store, NOW + 500).await, newer);
            let running = store.insert_job(&new_job("k", None, 3), NOW + 4).await.unwrap();
            store.claim_job(NOW + 5, NOW + 10).await.unwrap().unwrap();
            let queued = store.insert_job(&new_job("k", None, 3), NOW + 6).await.unwrap();
            let exists = |id: String| async move { store.job(&id, "k").await.unwrap().is_some() };

            // Cut-off NOW + 100: one batch of 1, then the rest.
            assert_eq!(store.delete_finished_jobs(NOW + 100, 1).await.unwrap(), 1, "{backend:?}");
            assert!(!exists(old_a.clone()).await, "the oldest goes first");
            assert_eq!(store.delete_finished_jobs(NOW + 100, 500).await.unwrap(), 1, "{backend:?}");
            assert!(!exists(old_b.clone()).await);
            assert_eq!(store.delete_finished_jobs(NOW + 100, 500).await.unwrap(), 0, "nothing twice");
            for id in [&old_hooked, &newer, &running, &queued] {
                assert!(exists(id.clone()).await, "{backend:?}: {id} kept");
            }
            // Its webhook delivered, the hooked job goes too; a given-up webhook counts as settled.
            let hook = store.claim_webhook(NOW + 12, NOW + 40).await.unwrap().unwrap();
            assert_eq!(hook.job_id, old_hooked);
            assert_eq!(store.delete_finished_jobs(NOW + 100, 500).await.unwrap(), 0, "being delivered: kept");
            store.webhook_attempted(&old_hooked, false, None).await.unwrap();
            assert_eq!(store.delete_finished_jobs(NOW + 100, 500).await.unwrap(), 1);
            assert!(!exists(old_hooked.clone()).await, "{backend:?}");
            assert!(exists(running.clone()).await && exists(queued.clone()).await && exists(newer.clone()).await);
        });
    }
}

/// Pages read by a job's attempt are stored for the attempt that takes it
/// over, only by the attempt holding the job, and dropped when it ends.
#[test]
fn a_job_keeps_the_pages_its_current_attempt_read_until_it_finishes() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        let db = TestDb::new(backend);
        let store = db.store();
        block_on(async {
            let id = store.insert_job(&new_job("k", None, 3), NOW).await.unwrap();
            let first = store.claim_job(NOW, NOW + 10).await.unwrap().unwrap();
            assert!(store.save_job_page(&id, first.attempt, 0, "page 0").await.unwrap(), "{backend:?}");
            assert!(store.save_job_page(&id, first.attempt, 2, "page 2").await.unwrap());
            assert!(!store.save_job_page(&id, first.attempt, 2, "again").await.unwrap(), "stored once");
            // The first worker dies; the second sees its pages, the first can store no more.
            let second = store.claim_job(NOW + 10, NOW + 20).await.unwrap().unwrap();
            assert_eq!(store.job_pages(&id).await.unwrap(), vec![(0, "page 0".into()), (2, "page 2".into())]);
            assert!(!store.save_job_page(&id, first.attempt, 1, "stale").await.unwrap(), "{backend:?}: fenced");
            assert!(store.save_job_page(&id, second.attempt, 1, "page 1").await.unwrap());
            assert_eq!(store.job_pages(&id).await.unwrap().len(), 3);
            assert!(store.finish_job(&id, second.attempt, &JobOutcome::Done("{}".into()), NOW + 15).await.unwrap());
            assert!(store.job_pages(&id).await.unwrap().is_empty(), "{backend:?}: dropped when finished");
            // A job failed as abandoned leaves its pages to the retention sweep.
            let abandoned = store.insert_job(&new_job("k", None, 1), NOW).await.unwrap();
            let claimed = store.claim_job(NOW + 20, NOW + 30).await.unwrap().unwrap();
            assert!(store.save_job_page(&abandoned, claimed.attempt, 0, "page 0").await.unwrap());
            let running = store.insert_job(&new_job("k", None, 3), NOW).await.unwrap();
            assert!(store.claim_job(NOW + 30, NOW + 100).await.unwrap().is_some(), "fails the abandoned job");
            assert!(store.save_job_page(&running, 1, 0, "page 0").await.unwrap());
            assert_eq!(store.delete_orphan_job_pages().await.unwrap(), 1, "{backend:?}");
            assert!(store.job_pages(&abandoned).await.unwrap().is_empty());
            assert_eq!(store.job_pages(&running).await.unwrap().len(), 1, "a running job's pages stay");
        });
    }
}
