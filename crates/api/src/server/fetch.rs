//! Fetching the `url` input safely: only http(s), every address the name
//! resolves to checked before connecting (and again after each redirect),
//! the connection pinned to the checked address (no DNS rebinding), bounded
//! redirects, time and size.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Url;

use super::error::ApiError;

/// Limits and policy for URL fetching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchPolicy {
    /// Allow loopback addresses (127.0.0.0/8, ::1): for tests only.
    pub allow_loopback: bool,
    /// Most redirects followed.
    pub max_redirects: usize,
    /// Time for the whole fetch, redirects included.
    pub timeout: Duration,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self { allow_loopback: false, max_redirects: 5, timeout: Duration::from_secs(30) }
    }
}

/// Whether `ip` may be fetched from: public unicast only (plus loopback when
/// allowed). Private, link-local (incl. the 169.254.169.254 metadata
/// service), shared, unspecified, multicast, documentation and
/// IPv4-mapped/translated forms of those are refused.
pub fn is_allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                return allow_loopback;
            }
            !(v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])) // shared address space (CGNAT)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
                || (o[0] == 198 && (18..20).contains(&o[1])) // benchmarking
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_allowed(IpAddr::V4(v4), allow_loopback);
            }
            if v6.is_loopback() {
                return allow_loopback;
            }
            let s = v6.segments();
            !(v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64 (embeds IPv4)
                || s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        }
    }
}

/// Downloads `url` under `policy`, at most `max_bytes` bytes.
pub async fn fetch(url: &str, policy: FetchPolicy, max_bytes: u64) -> Result<Vec<u8>, ApiError> {
    tokio::time::timeout(policy.timeout, fetch_inner(url, policy, max_bytes))
        .await
        .map_err(|_| ApiError::UrlFetch(format!("timed out after {} s", policy.timeout.as_secs())))?
}

async fn fetch_inner(url: &str, policy: FetchPolicy, max_bytes: u64) -> Result<Vec<u8>, ApiError> {
    let mut current = Url::parse(url).map_err(|e| ApiError::UrlFetch(format!("invalid URL: {e}")))?;
    for _ in 0..=policy.max_redirects {
        let addr = checked_address(&current, policy.allow_loopback).await?;
        let host = current.host_str().unwrap_or_default().to_string();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .resolve(&host, addr)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let response = client.get(current.clone()).send().await.map_err(|e| ApiError::UrlFetch(e.to_string()))?;
        if response.status().is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| ApiError::UrlFetch("redirect without a Location".into()))?;
            current = current.join(location).map_err(|e| ApiError::UrlFetch(format!("bad redirect: {e}")))?;
            continue;
        }
        if !response.status().is_success() {
            return Err(ApiError::UrlFetch(format!("the server answered {}", response.status())));
        }
        if response.content_length().is_some_and(|n| n > max_bytes) {
            return Err(ApiError::FileTooLarge { limit_kb: max_bytes / 1024 });
        }
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ApiError::UrlFetch(e.to_string()))?;
            if body.len() as u64 + chunk.len() as u64 > max_bytes {
                return Err(ApiError::FileTooLarge { limit_kb: max_bytes / 1024 });
            }
            body.extend_from_slice(&chunk);
        }
        return Ok(body);
    }
    Err(ApiError::UrlFetch(format!("more than {} redirects", policy.max_redirects)))
}

/// Resolves the URL's host and returns an address to connect to, refusing
/// the URL if any resolved address is not allowed.
async fn checked_address(url: &Url, allow_loopback: bool) -> Result<SocketAddr, ApiError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ApiError::UrlFetch(format!("scheme '{}' is not allowed: use http or https", url.scheme())));
    }
    let host = url.host_str().ok_or_else(|| ApiError::UrlFetch("the URL has no host".into()))?;
    let port = url.port_or_known_default().unwrap_or(80);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|e| ApiError::UrlFetch(format!("cannot resolve '{host}': {e}")))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(ApiError::UrlFetch(format!("'{host}' has no address")));
    }
    if let Some(bad) = addrs.iter().find(|a| !is_allowed(a.ip(), allow_loopback)) {
        return Err(ApiError::UrlFetch(format!(
            "'{host}' resolves to {}, a private, loopback or link-local address: not fetched",
            bad.ip()
        )));
    }
    Ok(addrs[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!is_allowed(ip.parse().unwrap(), false), "{ip}");
        }
        assert!(is_allowed("127.0.0.1".parse().unwrap(), true));
        assert!(!is_allowed("10.0.0.1".parse().unwrap(), true));
        for ip in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"] {
            assert!(is_allowed(ip.parse().unwrap(), false), "{ip}");
        }
    }
}
