//! API keys: stored as SHA-256 hashes, never in clear; each has a tier, a
//! name, and created/revoked times.

use serde::Serialize;
use sqlx::Row;

use super::{random_bytes, unix_now, Store, StoreError, Tier};

/// The id of the row holding the configured demo key.
pub const DEMO_KEY_ID: &str = "demo";

/// A stored key (without its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    /// Public identifier (`key_…`), used by `keys revoke` and `usage`.
    pub id: String,
    /// The tier it belongs to.
    pub tier_id: String,
    /// A human label.
    pub name: String,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Revocation time, Unix seconds; `None` while valid.
    pub revoked_at: Option<i64>,
}

impl ApiKey {
    /// Whether the key has been revoked.
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }

    fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            tier_id: row.try_get("tier_id")?,
            name: row.try_get("name")?,
            created_at: row.try_get("created_at")?,
            revoked_at: row.try_get("revoked_at")?,
        })
    }
}

/// A freshly created key: the only time its secret is known.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// The stored record.
    pub key: ApiKey,
    /// The secret to give to the client (`apikey`).
    pub secret: String,
}

/// SHA-256 of a key secret, hex: what the database stores.
pub fn hash_secret(secret: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` random base-62 characters (rejection sampling: no modulo bias).
fn random_base62(n: usize) -> Result<String, StoreError> {
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for byte in random_bytes::<64>()? {
            if byte < 248 && out.len() < n {
                out.push(BASE62[(byte % 62) as usize] as char);
            }
        }
    }
    Ok(out)
}

const KEY_COLUMNS: &str = "id, tier_id, name, created_at, revoked_at";

impl Store {
    /// Creates a key on `tier_id`; the secret is returned once and only its hash is stored.
    pub async fn create_key(&self, tier_id: &str, name: &str) -> Result<NewKey, StoreError> {
        self.tier(tier_id).await?;
        let secret = format!("ocr_{}", random_base62(32)?);
        let key = ApiKey {
            id: format!("key_{}", random_base62(10)?),
            tier_id: tier_id.to_string(),
            name: name.to_string(),
            created_at: unix_now(),
            revoked_at: None,
        };
        sqlx::query(
            "INSERT INTO api_keys (id, key_hash, tier_id, name, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, NULL)",
        )
        .bind(&key.id)
        .bind(hash_secret(&secret))
        .bind(&key.tier_id)
        .bind(&key.name)
        .bind(key.created_at)
        .execute(self.pool())
        .await?;
        Ok(NewKey { key, secret })
    }

    /// Every key, oldest first.
    pub async fn list_keys(&self) -> Result<Vec<ApiKey>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, id"))
            .fetch_all(self.pool())
            .await?;
        Ok(rows.iter().map(ApiKey::from_row).collect::<Result<_, _>>()?)
    }

    /// Revokes a key by id (idempotent); unknown ids are an error.
    pub async fn revoke_key(&self, id: &str) -> Result<ApiKey, StoreError> {
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(unix_now())
            .bind(id)
            .execute(self.pool())
            .await?;
        let row = sqlx::query(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no API key with id '{id}'")))?;
        Ok(ApiKey::from_row(&row)?)
    }

    /// Looks a secret up: the key (revoked or not) and its tier.
    pub async fn find_key(&self, secret: &str) -> Result<Option<(ApiKey, Tier)>, StoreError> {
        let row = sqlx::query(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = $1"))
            .bind(hash_secret(secret))
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let key = ApiKey::from_row(&row)?;
        let tier = self.tier(&key.tier_id).await?;
        Ok(Some((key, tier)))
    }

    /// Makes the demo key `secret` a valid free-tier key (`enabled`), or
    /// revokes it (not enabled), so switching the setting off takes effect.
    pub async fn sync_demo_key(&self, secret: &str, enabled: bool) -> Result<(), StoreError> {
        if enabled && !secret.is_empty() {
            sqlx::query(
                "INSERT INTO api_keys (id, key_hash, tier_id, name, created_at, revoked_at)
                 VALUES ($1, $2, 'free', 'demo key', $3, NULL)
                 ON CONFLICT (id) DO UPDATE SET key_hash = excluded.key_hash, tier_id = 'free', revoked_at = NULL",
            )
            .bind(DEMO_KEY_ID)
            .bind(hash_secret(secret))
            .bind(unix_now())
            .execute(self.pool())
            .await?;
        } else {
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(unix_now())
                .bind(DEMO_KEY_ID)
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hash_to_sha256_hex() {
        assert_eq!(hash_secret("helloworld"), "936a185caaa266bb9cbe981e9e05cb78cd732b0b3280eb944412bb6f8f8f07af");
    }

    #[test]
    fn random_keys_are_base62_and_distinct() {
        let a = random_base62(32).unwrap();
        let b = random_base62(32).unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
