//! Tiers (plans) and their limits.

use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError};

/// A plan: what a key on it may do. `0` in a count limit means unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tier {
    /// Identifier (`free`, `pro`, `pro_pdf`, `enterprise`, or one you add).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Requests per key per calendar month (UTC); 0 = unlimited.
    pub monthly_requests: i64,
    /// Largest file, KB (1024 bytes).
    pub max_file_kb: i64,
    /// Most pages of a PDF or multi-page TIFF.
    pub max_pdf_pages: i64,
    /// Requests per client IP per day (UTC); 0 = unlimited.
    pub ip_daily_requests: i64,
    /// Whether searchable PDFs may be created.
    pub searchable_pdf: bool,
}

impl Tier {
    /// The file size limit in bytes.
    pub fn max_file_bytes(&self) -> u64 {
        self.max_file_kb.max(0) as u64 * 1024
    }

    fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            monthly_requests: row.try_get("monthly_requests")?,
            max_file_kb: row.try_get("max_file_kb")?,
            max_pdf_pages: row.try_get("max_pdf_pages")?,
            ip_daily_requests: row.try_get("ip_daily_requests")?,
            searchable_pdf: row.try_get::<i64, _>("searchable_pdf")? != 0,
        })
    }
}

const TIER_COLUMNS: &str = "id, name, monthly_requests, max_file_kb, max_pdf_pages, ip_daily_requests, searchable_pdf";

impl Store {
    /// Every tier, ordered by file size limit.
    pub async fn list_tiers(&self) -> Result<Vec<Tier>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {TIER_COLUMNS} FROM tiers ORDER BY max_file_kb, monthly_requests, id"))
            .fetch_all(self.pool())
            .await?;
        Ok(rows.iter().map(Tier::from_row).collect::<Result<_, _>>()?)
    }

    /// One tier by id.
    pub async fn tier(&self, id: &str) -> Result<Tier, StoreError> {
        let row = sqlx::query(&format!("SELECT {TIER_COLUMNS} FROM tiers WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no tier '{id}'")))?;
        Ok(Tier::from_row(&row)?)
    }

    /// Sets a tier's limits (the enterprise tier follows the configuration).
    pub async fn set_tier_limits(
        &self,
        id: &str,
        monthly_requests: i64,
        max_file_kb: i64,
        max_pdf_pages: i64,
    ) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE tiers SET monthly_requests = $1, max_file_kb = $2, max_pdf_pages = $3 WHERE id = $4")
                .bind(monthly_requests)
                .bind(max_file_kb)
                .bind(max_pdf_pages)
                .bind(id)
                .execute(self.pool())
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("no tier '{id}'")));
        }
        Ok(())
    }

    /// Adds a tier (for custom plans and tests).
    pub async fn insert_tier(&self, tier: &Tier) -> Result<(), StoreError> {
        sqlx::query(&format!("INSERT INTO tiers ({TIER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(&tier.id)
            .bind(&tier.name)
            .bind(tier.monthly_requests)
            .bind(tier.max_file_kb)
            .bind(tier.max_pdf_pages)
            .bind(tier.ip_daily_requests)
            .bind(i64::from(tier.searchable_pdf))
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
