-- Pages a job's attempt has read (each page's result, JSON), so a worker
-- taking the job over after its instance died skips them. Written only by
-- the attempt holding the job; dropped when the job finishes.
CREATE TABLE job_pages (
    job_id  TEXT NOT NULL,
    page    BIGINT NOT NULL,
    result  TEXT NOT NULL,
    PRIMARY KEY (job_id, page)
);
