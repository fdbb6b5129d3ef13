-- Searchable-PDF download links (the files live in PDF storage) and
-- secrets shared by every instance (the link-signing key).
CREATE TABLE pdf_links (
    id         TEXT PRIMARY KEY,
    key_id     TEXT NOT NULL,
    bytes      BIGINT NOT NULL,
    pages      BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX pdf_links_expiry ON pdf_links (expires_at);

CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
