-- Tiers, API keys and usage counters (SQLite). Times are Unix seconds
-- (BIGINT) so that PostgreSQL and SQLite share one code path; 0 in a limit
-- column means "unlimited".
CREATE TABLE tiers (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    monthly_requests  BIGINT NOT NULL,
    max_file_kb       BIGINT NOT NULL,
    max_pdf_pages     BIGINT NOT NULL,
    ip_daily_requests BIGINT NOT NULL,
    searchable_pdf    BIGINT NOT NULL DEFAULT 1
);

-- The vendor's plans (OCR.space API page, 2026).
INSERT INTO tiers (id, name, monthly_requests, max_file_kb, max_pdf_pages, ip_daily_requests, searchable_pdf) VALUES
    ('free',       'Free',       25000,  1024,   3,    500, 1),
    ('pro',        'PRO',        300000, 5120,   3,    0,   1),
    ('pro_pdf',    'PRO PDF',    300000, 102400, 999,  0,   1),
    ('enterprise', 'Enterprise', 0,      102400, 9999, 0,   1);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    key_hash   TEXT NOT NULL UNIQUE,
    tier_id    TEXT NOT NULL REFERENCES tiers (id),
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE usage_monthly (
    key_id   TEXT NOT NULL REFERENCES api_keys (id),
    month    TEXT NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    pages    BIGINT NOT NULL DEFAULT 0,
    bytes    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, month)
);

CREATE TABLE ip_daily (
    ip       TEXT NOT NULL,
    day      TEXT NOT NULL,
    requests BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (ip, day)
);
