//! Searchable-PDF link records and the shared link-signing secret.

use sqlx::Row;

use super::{random_bytes, Store, StoreError};

/// A stored searchable PDF's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfLink {
    /// Storage id (also inside the download token).
    pub id: String,
    /// The key that asked for it.
    pub key_id: String,
    /// File size.
    pub bytes: i64,
    /// Pages in it.
    pub pages: i64,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Expiry time, Unix seconds.
    pub expires_at: i64,
}

impl Store {
    /// Records a stored PDF.
    pub async fn insert_pdf_link(&self, link: &PdfLink) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pdf_links (id, key_id, bytes, pages, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&link.id)
        .bind(&link.key_id)
        .bind(link.bytes)
        .bind(link.pages)
        .bind(link.created_at)
        .bind(link.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Claims up to `limit` PDFs expired at `now` for deletion and returns
    /// their ids: their `expires_at` moves to `lease_until`, so no other
    /// sweeper (of any instance) claims them meanwhile; one that is not
    /// deleted by then expires again and is claimed anew. One statement:
    /// PostgreSQL re-checks `expires_at` on each row it locks, SQLite runs
    /// writers one at a time, so a link is never claimed twice.
    pub async fn claim_expired_pdf_links(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "UPDATE pdf_links SET expires_at = $2
             WHERE expires_at <= $1
               AND id IN (SELECT id FROM pdf_links WHERE expires_at <= $1 ORDER BY expires_at LIMIT $3)
             RETURNING id",
        )
        .bind(now)
        .bind(lease_until)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(|r| r.try_get::<String, _>("id")).collect::<Result<_, _>>()?)
    }

    /// Forgets a PDF record (after its file was deleted).
    pub async fn delete_pdf_link(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM pdf_links WHERE id = $1").bind(id).execute(self.pool()).await?;
        Ok(())
    }

    /// The secret called `name`, created at random (32 bytes, hex) the first
    /// time any instance asks; every instance then reads the same value.
    pub async fn shared_secret(&self, name: &str) -> Result<String, StoreError> {
        let fresh: String = random_bytes::<32>()?.iter().map(|b| format!("{b:02x}")).collect();
        sqlx::query("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(&fresh)
            .execute(self.pool())
            .await?;
        let row =
            sqlx::query("SELECT value FROM server_secrets WHERE name = $1").bind(name).fetch_one(self.pool()).await?;
        Ok(row.try_get("value")?)
    }
}
