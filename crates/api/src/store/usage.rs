//! Usage counters: one atomic statement per check, so several server
//! instances sharing the database never let a quota through twice.

use serde::Serialize;
use sqlx::Row;

use super::{day_of, month_of, Store, StoreError};

/// What a counter said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountOutcome {
    /// Counted; the counter now reads this value.
    Counted(i64),
    /// The limit was already reached; nothing was counted.
    LimitReached,
}

/// One key's usage in one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageRow {
    /// The key id.
    pub key_id: String,
    /// `YYYY-MM` (UTC).
    pub month: String,
    /// Requests admitted.
    pub requests: i64,
    /// Pages read.
    pub pages: i64,
    /// Input bytes read.
    pub bytes: i64,
}

/// Counts one request for a key in the month of `now`, unless `limit`
/// (> 0) requests were already counted. The whole check is this one
/// statement; the row lock taken by `ON CONFLICT … DO UPDATE` serialises
/// concurrent requests, and the `WHERE` is re-checked on the locked row.
const COUNT_MONTHLY_LIMITED: &str = "INSERT INTO usage_monthly (key_id, month, requests, pages, bytes)
     VALUES ($1, $2, 1, 0, 0)
     ON CONFLICT (key_id, month) DO UPDATE SET requests = usage_monthly.requests + 1
     WHERE usage_monthly.requests < $3
     RETURNING requests";

const COUNT_MONTHLY: &str = "INSERT INTO usage_monthly (key_id, month, requests, pages, bytes)
     VALUES ($1, $2, 1, 0, 0)
     ON CONFLICT (key_id, month) DO UPDATE SET requests = usage_monthly.requests + 1
     RETURNING requests";

const COUNT_IP_LIMITED: &str = "INSERT INTO ip_daily (ip, day, requests) VALUES ($1, $2, 1)
     ON CONFLICT (ip, day) DO UPDATE SET requests = ip_daily.requests + 1
     WHERE ip_daily.requests < $3
     RETURNING requests";

impl Store {
    /// Counts a request against a key's monthly quota (`limit` 0 = unlimited).
    pub async fn count_monthly_request(&self, key_id: &str, limit: i64, now: i64) -> Result<CountOutcome, StoreError> {
        let month = month_of(now);
        let row = if limit > 0 {
            sqlx::query(COUNT_MONTHLY_LIMITED).bind(key_id).bind(&month).bind(limit).fetch_optional(self.pool()).await?
        } else {
            sqlx::query(COUNT_MONTHLY).bind(key_id).bind(&month).fetch_optional(self.pool()).await?
        };
        outcome(row)
    }

    /// Counts a request against a client IP's daily limit (`limit` > 0).
    pub async fn count_ip_request(&self, ip: &str, limit: i64, now: i64) -> Result<CountOutcome, StoreError> {
        let row =
            sqlx::query(COUNT_IP_LIMITED).bind(ip).bind(day_of(now)).bind(limit).fetch_optional(self.pool()).await?;
        outcome(row)
    }

    /// Adds the pages and bytes of a finished request to the key's month.
    pub async fn record_work(&self, key_id: &str, pages: i64, bytes: i64, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO usage_monthly (key_id, month, requests, pages, bytes) VALUES ($1, $2, 0, $3, $4)
             ON CONFLICT (key_id, month) DO UPDATE
             SET pages = usage_monthly.pages + $3, bytes = usage_monthly.bytes + $4",
        )
        .bind(key_id)
        .bind(month_of(now))
        .bind(pages)
        .bind(bytes)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Usage rows, newest month first; one key's only when `key_id` is given.
    pub async fn usage(&self, key_id: Option<&str>) -> Result<Vec<UsageRow>, StoreError> {
        let columns = "key_id, month, requests, pages, bytes";
        let rows = match key_id {
            Some(id) => {
                sqlx::query(&format!("SELECT {columns} FROM usage_monthly WHERE key_id = $1 ORDER BY month DESC"))
                    .bind(id)
                    .fetch_all(self.pool())
                    .await?
            }
            None => {
                sqlx::query(&format!("SELECT {columns} FROM usage_monthly ORDER BY month DESC, key_id"))
                    .fetch_all(self.pool())
                    .await?
            }
        };
        let read = |row: &sqlx::any::AnyRow| -> Result<UsageRow, sqlx::Error> {
            Ok(UsageRow {
                key_id: row.try_get("key_id")?,
                month: row.try_get("month")?,
                requests: row.try_get("requests")?,
                pages: row.try_get("pages")?,
                bytes: row.try_get("bytes")?,
            })
        };
        Ok(rows.iter().map(read).collect::<Result<_, _>>()?)
    }
}

fn outcome(row: Option<sqlx::any::AnyRow>) -> Result<CountOutcome, StoreError> {
    match row {
        Some(row) => Ok(CountOutcome::Counted(row.try_get::<i64, _>(0)?)),
        None => Ok(CountOutcome::LimitReached),
    }
}
