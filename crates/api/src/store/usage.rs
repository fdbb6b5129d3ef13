//! Usage counters: one atomic statement per check, so several server
//! instances sharing the database never let a quota through twice.
//!
//! A request is *reserved* when admitted and *settled* when answered: the
//! quota is checked against answered plus reserved requests, while
//! `requests` counts answers only. A reservation whose instance died before
//! the answer expires and is released by any instance's sweep.

use serde::Serialize;
use sqlx::Row;

use super::{day_of, month_of, random_bytes, Store, StoreError};

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
    /// Requests answered (refusals before admission are not counted).
    pub requests: i64,
    /// Requests admitted and not yet answered (they hold quota).
    pub reserved: i64,
    /// Pages read.
    pub pages: i64,
    /// Input bytes read.
    pub bytes: i64,
}

/// A request admitted against a key's monthly quota and not yet answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// Random id of the reservation row.
    pub id: String,
    /// The key.
    pub key_id: String,
    /// `YYYY-MM` of the admission: the month the request counts in.
    pub month: String,
}

/// Reserves one request for a key in the month of `now`, unless `limit`
/// (> 0) requests were already answered or reserved. The check is this one
/// statement: the row lock taken by `ON CONFLICT … DO UPDATE` serialises
/// concurrent requests, and the `WHERE` is re-checked on the locked row.
const RESERVE_LIMITED: &str = "INSERT INTO usage_monthly (key_id, month, requests, pages, bytes, reserved)
     VALUES ($1, $2, 0, 0, 0, 1)
     ON CONFLICT (key_id, month) DO UPDATE SET reserved = usage_monthly.reserved + 1
     WHERE usage_monthly.requests + usage_monthly.reserved < $3
     RETURNING reserved";

const RESERVE: &str = "INSERT INTO usage_monthly (key_id, month, requests, pages, bytes, reserved)
     VALUES ($1, $2, 0, 0, 0, 1)
     ON CONFLICT (key_id, month) DO UPDATE SET reserved = usage_monthly.reserved + 1
     RETURNING reserved";

const COUNT_IP_LIMITED: &str = "INSERT INTO ip_daily (ip, day, requests) VALUES ($1, $2, 1)
     ON CONFLICT (ip, day) DO UPDATE SET requests = ip_daily.requests + 1
     WHERE ip_daily.requests < $3
     RETURNING requests";

impl Store {
    /// Reserves a request against a key's monthly quota (`limit` 0 =
    /// unlimited); the reservation is released by itself at `expires_at`
    /// (Unix seconds) unless settled or released first.
    pub async fn reserve_monthly_request(
        &self,
        key_id: &str,
        limit: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<Option<Reservation>, StoreError> {
        let month = month_of(now);
        let mut tx = self.pool().begin().await?;
        let row = if limit > 0 {
            sqlx::query(RESERVE_LIMITED).bind(key_id).bind(&month).bind(limit).fetch_optional(&mut *tx).await?
        } else {
            sqlx::query(RESERVE).bind(key_id).bind(&month).fetch_optional(&mut *tx).await?
        };
        if outcome(row)? == CountOutcome::LimitReached {
            return Ok(None);
        }
        let id: String = random_bytes::<16>()?.iter().map(|b| format!("{b:02x}")).collect();
        sqlx::query("INSERT INTO usage_reservations (id, key_id, month, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(key_id)
            .bind(&month)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(Reservation { id, key_id: key_id.to_string(), month }))
    }

    /// Settles an answered request: counts it with its pages and bytes in
    /// the month it was admitted and gives its reservation back. A
    /// reservation already released (it expired) is counted all the same.
    pub async fn settle_reservation(
        &self,
        reservation: &Reservation,
        pages: i64,
        bytes: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let held = take_reservation(&mut tx, reservation).await?;
        sqlx::query(
            "UPDATE usage_monthly SET requests = requests + 1, reserved = reserved - $3,
             pages = pages + $4, bytes = bytes + $5 WHERE key_id = $1 AND month = $2",
        )
        .bind(&reservation.key_id)
        .bind(&reservation.month)
        .bind(held)
        .bind(pages)
        .bind(bytes)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives a reservation back without counting a request (its client went
    /// away before the answer).
    pub async fn release_reservation(&self, reservation: &Reservation) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let held = take_reservation(&mut tx, reservation).await?;
        if held > 0 {
            sqlx::query("UPDATE usage_monthly SET reserved = reserved - 1 WHERE key_id = $1 AND month = $2")
                .bind(&reservation.key_id)
                .bind(&reservation.month)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Releases every reservation that expired before `now` (its instance
    /// died or hung); returns how many. Instances may sweep at once: each
    /// row is deleted, and its quota given back, by one of them.
    pub async fn release_expired_reservations(&self, now: i64) -> Result<u64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let rows = sqlx::query("DELETE FROM usage_reservations WHERE expires_at < $1 RETURNING key_id, month")
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
        let mut released = std::collections::BTreeMap::<(String, String), i64>::new();
        for row in &rows {
            *released.entry((row.try_get("key_id")?, row.try_get("month")?)).or_default() += 1;
        }
        for ((key_id, month), count) in &released {
            sqlx::query("UPDATE usage_monthly SET reserved = reserved - $3 WHERE key_id = $1 AND month = $2")
                .bind(key_id)
                .bind(month)
                .bind(count)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(rows.len() as u64)
    }

    /// Counts a request against a client IP's daily limit (`limit` > 0).
    pub async fn count_ip_request(&self, ip: &str, limit: i64, now: i64) -> Result<CountOutcome, StoreError> {
        let row =
            sqlx::query(COUNT_IP_LIMITED).bind(ip).bind(day_of(now)).bind(limit).fetch_optional(self.pool()).await?;
        outcome(row)
    }

    /// Adds the pages and bytes of work done after its request was answered
    /// (an async job) to the key's month.
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
        let columns = "key_id, month, requests, reserved, pages, bytes";
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
                reserved: row.try_get("reserved")?,
                pages: row.try_get("pages")?,
                bytes: row.try_get("bytes")?,
            })
        };
        Ok(rows.iter().map(read).collect::<Result<_, _>>()?)
    }
}

/// Deletes a reservation's row; 1 if it was still held, 0 if it was
/// already settled, released or expired.
async fn take_reservation(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    reservation: &Reservation,
) -> Result<i64, StoreError> {
    let deleted =
        sqlx::query("DELETE FROM usage_reservations WHERE id = $1").bind(&reservation.id).execute(&mut **tx).await?;
    Ok(deleted.rows_affected() as i64)
}

fn outcome(row: Option<sqlx::any::AnyRow>) -> Result<CountOutcome, StoreError> {
    match row {
        Some(row) => Ok(CountOutcome::Counted(row.try_get::<i64, _>(0)?)),
        None => Ok(CountOutcome::LimitReached),
    }
}
