-- Job retention: finished jobs are deleted [jobs].retention_secs after they
-- finished (once their webhook is settled), oldest first, in batches.
CREATE INDEX jobs_finished ON jobs (finished_at);
