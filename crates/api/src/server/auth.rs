//! Who is asking, and may they: API key -> tier, then the burst limit
//! (in-process), the per-IP daily limit and the monthly quota (both counted
//! atomically in the database, shared by every instance). All of it runs
//! before any OCR work. An admitted request holds a reservation on the
//! quota ([`Admission`], `crate::service`) until its answer settles it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::HttpRequest;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::error::ApiError;
use crate::service::{Admission, CallerLimits, ServiceError};
use crate::store::{civil_date, ApiKey, CountOutcome, Store, Tier};

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key (never its secret).
    pub key: ApiKey,
    /// Its tier.
    pub tier: Tier,
}

/// Authentication and admission control.
#[derive(Clone)]
pub struct Gatekeeper {
    store: Store,
    burst: Arc<DefaultKeyedRateLimiter<String>>,
    burst_per_second: u32,
    trusted_proxies: Arc<Vec<IpAddr>>,
    hard_cap_bytes: u64,
    in_progress: Arc<Mutex<HashMap<String, usize>>>,
    max_concurrent: usize,
    reservation_lifetime: Duration,
}

/// A request in progress for a key; dropping it ends the request's turn.
pub struct InProgress {
    key_id: String,
    in_progress: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for InProgress {
    fn drop(&mut self) {
        let mut map = self.in_progress.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.key_id) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key_id);
            }
        }
    }
}

impl Gatekeeper {
    /// A gatekeeper over `store`; `burst_per_second`/`burst_size` bound each
    /// key's request rate in this process; `hard_cap_bytes` caps every tier's file limit.
    pub fn new(
        store: Store,
        burst_per_second: u32,
        burst_size: u32,
        trusted_proxies: Vec<IpAddr>,
        hard_cap_bytes: u64,
    ) -> Self {
        let per_second = NonZeroU32::new(burst_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let size = NonZeroU32::new(burst_size.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            store,
            burst: Arc::new(RateLimiter::keyed(Quota::per_second(per_second).allow_burst(size))),
            burst_per_second: per_second.get(),
            trusted_proxies: Arc::new(trusted_proxies),
            hard_cap_bytes,
            in_progress: Arc::new(Mutex::new(HashMap::new())),
            max_concurrent: 0,
            reservation_lifetime: Duration::from_secs(300),
        }
    }

    /// How long an admitted request may hold quota before it counts as lost
    /// (its instance died): longer than any request can take.
    pub fn with_reservation_lifetime(mut self, lifetime: Duration) -> Self {
        self.reservation_lifetime = lifetime;
        self
    }

    /// Releases, every `interval`, the reservations of requests whose
    /// instance died before answering them (any instance may do it).
    pub fn spawn_reservation_sweeper(&self, interval: Duration) {
        let store = self.store.clone();
        actix_web::rt::spawn(async move {
            loop {
                match store.release_expired_reservations(crate::store::unix_now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(released = n, "released the quota of requests never answered"),
                    Err(e) => tracing::warn!(error = %e, "releasing expired reservations failed"),
                }
                actix_web::rt::time::sleep(interval).await;
            }
        });
    }

    /// Limits each key to `max` requests in progress at once (0 = unlimited).
    pub fn with_concurrency_limit(mut self, max: usize) -> Self {
        self.max_concurrent = max;
        self
    }

    /// Starts a request for `caller`, or refuses it (403, the vendor's
    /// sentence) when the key already has the maximum in progress.
    pub fn enter(&self, caller: &Caller) -> Result<InProgress, ApiError> {
        let mut map = self.in_progress.lock().unwrap_or_else(|e| e.into_inner());
        let count = map.entry(caller.key.id.clone()).or_insert(0);
        if self.max_concurrent > 0 && *count >= self.max_concurrent {
            return Err(ApiError::TooManyConcurrent(self.max_concurrent));
        }
        *count += 1;
        Ok(InProgress { key_id: caller.key.id.clone(), in_progress: self.in_progress.clone() })
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Largest upload any request may send before its key is known.
    pub fn hard_cap_bytes(&self) -> u64 {
        self.hard_cap_bytes
    }

    /// The upload limit for a caller: its tier's, within the hard cap.
    pub fn file_limit(&self, caller: &Caller) -> u64 {
        caller.tier.max_file_bytes().min(self.hard_cap_bytes)
    }

    /// The limits one input of `caller` is read under: bytes (see
    /// [`Gatekeeper::file_limit`]) and pages (the tier's).
    pub fn limits(&self, caller: &Caller) -> CallerLimits {
        CallerLimits { file_bytes: self.file_limit(caller), max_pages: caller.tier.max_pdf_pages }
    }

    /// Looks up a key secret: unknown and revoked keys are refused (403).
    pub async fn authenticate(&self, secret: &str) -> Result<Caller, ApiError> {
        let secret = secret.trim();
        if secret.is_empty() {
            return Err(ApiError::MissingKey);
        }
        match self.store.find_key(secret).await.map_err(ServiceError::Store)? {
            None => Err(ApiError::InvalidKey),
            Some((key, _)) if key.is_revoked() => Err(ApiError::RevokedKey),
            Some((key, tier)) => Ok(Caller { key, tier }),
        }
    }

    /// Admits one request: burst limit, per-IP daily limit, monthly quota
    /// (a reservation, settled when the request is answered).
    pub async fn admit(&self, caller: &Caller, client_ip: IpAddr, now: i64) -> Result<Admission, ApiError> {
        if self.burst.check_key(&caller.key.id).is_err() {
            return Err(ApiError::RateLimited { max: u64::from(self.burst_per_second), seconds: 1 });
        }
        let tier = &caller.tier;
        if tier.ip_daily_requests > 0 {
            let counted = self
                .store
                .count_ip_request(&ip_limit_key(client_ip), tier.ip_daily_requests, now)
                .await
                .map_err(ServiceError::Store)?;
            if counted == CountOutcome::LimitReached {
                return Err(ApiError::RateLimited { max: tier.ip_daily_requests as u64, seconds: 86_400 });
            }
        }
        let expires_at = now + self.reservation_lifetime.as_secs() as i64;
        let reservation = self
            .store
            .reserve_monthly_request(&caller.key.id, tier.monthly_requests, now, expires_at)
            .await
            .map_err(ServiceError::Store)?
            .ok_or(ApiError::MonthlyQuota { max: tier.monthly_requests, resets: next_month(now) })?;
        Ok(Admission::new(self.store.clone(), reservation))
    }

    /// The client's address: the socket peer, or, when the peer is a trusted
    /// proxy, the nearest untrusted address in `X-Forwarded-For`.
    pub fn client_ip(&self, req: &HttpRequest) -> IpAddr {
        let peer = req.peer_addr().map(|a| a.ip()).unwrap_or(IpAddr::from([0, 0, 0, 0]));
        if !self.trusted_proxies.contains(&peer) {
            return peer;
        }
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(forwarded_address)
            .collect::<Vec<_>>();
        forwarded.into_iter().rev().find(|ip| !self.trusted_proxies.contains(ip)).unwrap_or(peer)
    }
}

/// One `X-Forwarded-For` entry's address: `1.2.3.4`, `1.2.3.4:5678`,
/// `2001:db8::1` or `[2001:db8::1]:80` (proxies add the client's port).
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = entry.parse::<std::net::SocketAddr>() {
        return Some(socket.ip());
    }
    // `[2001:db8::1]` without a port.
    entry.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

/// What the per-IP daily limit counts under: an IPv4 address as it is, an
/// IPv6 address by its /64 (one subscriber's usual allocation: counting each
/// address would give every /64 unlimited use). IPv4-mapped IPv6 addresses
/// count as their IPv4 address.
pub fn ip_limit_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{prefix}/64")
            }
        },
    }
}

/// The first day of the month after `now`, `YYYY-MM-01` (UTC).
fn next_month(now: i64) -> String {
    let (year, month, _) = civil_date(now);
    let (year, month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    format!("{year:04}-{month:02}-01")
}

/// The API key a request carries in its `apikey` header or query parameter
/// (form fields are read with the body).
pub fn key_from_head(req: &HttpRequest) -> Option<String> {
    if let Some(value) = req.headers().get("apikey").and_then(|v| v.to_str().ok()) {
        return Some(value.trim().to_string());
    }
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .ok()?
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("apikey"))
        .map(|(_, value)| value.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_reset_on_the_first_of_next_month() {
        assert_eq!(next_month(1_795_000_000), "2026-12-01");
        assert_eq!(next_month(1_798_700_000), "2027-01-01");
    }

    #[test]
    fn forwarded_entries_with_ports_are_read() {
        let ip = |s: &str| forwarded_address(s).map(|a| a.to_string());
        assert_eq!(ip("1.2.3.4").as_deref(), Some("1.2.3.4"));
        assert_eq!(ip(" 1.2.3.4:5678 ").as_deref(), Some("1.2.3.4"));
        assert_eq!(ip("[2001:db8::1]:80").as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("[2001:db8::1]").as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("2001:db8::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("unknown"), None);
        assert_eq!(ip("1.2.3.4:x"), None);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let key = |s: &str| ip_limit_key(s.parse().unwrap());
        assert_eq!(key("203.0.113.9"), "203.0.113.9");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(key("::ffff:203.0.113.9"), "203.0.113.9");
    }
}
