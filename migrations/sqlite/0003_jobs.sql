-- Asynchronous OCR jobs: a durable queue shared by every instance. A worker
-- claims a job by taking a lease (lease_until); a job whose lease ran out
-- (its worker died) is claimed again until max_attempts. attempt fences a
-- stale worker: only the holder of the current attempt may finish the job.
-- The webhook columns form a second queue for callback deliveries.
CREATE TABLE jobs (
    id                  TEXT PRIMARY KEY,
    key_id              TEXT NOT NULL,
    state               TEXT NOT NULL,
    params              TEXT NOT NULL,
    input               BLOB,
    callback_url        TEXT,
    attempt             BIGINT NOT NULL DEFAULT 0,
    max_attempts        BIGINT NOT NULL,
    lease_until         BIGINT,
    pages_done          BIGINT NOT NULL DEFAULT 0,
    pages_total         BIGINT NOT NULL DEFAULT 0,
    result              TEXT,
    error               TEXT,
    created_at          BIGINT NOT NULL,
    finished_at         BIGINT,
    webhook_state       TEXT NOT NULL DEFAULT 'none',
    webhook_attempts    BIGINT NOT NULL DEFAULT 0,
    webhook_next_at     BIGINT
);

CREATE INDEX jobs_queue ON jobs (state, lease_until, created_at);
CREATE INDEX jobs_webhooks ON jobs (webhook_state, webhook_next_at);
