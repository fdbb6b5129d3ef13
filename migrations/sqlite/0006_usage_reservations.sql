-- Requests admitted but not yet answered. `usage_monthly.requests` counts
-- answered requests only; the monthly quota is checked against
-- `requests + reserved` in the same row-locked statement, so it stays exact
-- across instances. Each admission is a row here until its answer settles
-- it; a crashed instance's admissions are released when they expire.
ALTER TABLE usage_monthly ADD COLUMN reserved BIGINT NOT NULL DEFAULT 0;

CREATE TABLE usage_reservations (
    id         TEXT PRIMARY KEY,
    key_id     TEXT NOT NULL,
    month      TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX usage_reservations_expiry ON usage_reservations (expires_at);
