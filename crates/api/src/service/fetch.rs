//! Fetching the `url` input safely: only http(s), every address the name
//! resolves to checked before connecting (and again after each redirect),
//! the connection pinned to the checked address (no DNS rebinding), bounded
//! redirects, time and size; never through a proxy; only the configured
//! ports (80 and 443 by default). Failures name their cause.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Url;

use super::address::classify;
use super::error::ServiceError;

/// Limits and policy for URL fetching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPolicy {
    /// Allow loopback addresses (127.0.0.0/8, ::1): for tests only.
    pub allow_loopback: bool,
    /// Ports a URL may name (explicitly or by its scheme's default); empty
    /// allows every port (tests serving files on random loopback ports).
    pub ports: Vec<u16>,
    /// Most redirects followed.
    pub max_redirects: usize,
    /// Time for the whole fetch, redirects included.
    pub timeout: Duration,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self { allow_loopback: false, ports: vec![80, 443], max_redirects: 5, timeout: Duration::from_secs(30) }
    }
}

/// Whether `ip` may be fetched from: public unicast only (plus loopback when
/// allowed); see [`classify`] for what is refused.
pub fn is_allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    classify(ip).is_fetchable(allow_loopback)
}

/// Downloads `url` under `policy`, at most `max_bytes` bytes.
pub async fn fetch(url: &str, policy: &FetchPolicy, max_bytes: u64) -> Result<Vec<u8>, ServiceError> {
    tokio::time::timeout(policy.timeout, fetch_inner(url, policy, max_bytes))
        .await
        .map_err(|_| ServiceError::UrlFetch(format!("timed out after {} s", policy.timeout.as_secs_f32())))?
}

async fn fetch_inner(url: &str, policy: &FetchPolicy, max_bytes: u64) -> Result<Vec<u8>, ServiceError> {
    let mut current = Url::parse(url).map_err(|e| ServiceError::UrlFetch(format!("invalid URL: {e}")))?;
    for _ in 0..=policy.max_redirects {
        let addr = checked_address(&current, policy).await?;
        let host = current.host_str().unwrap_or_default().to_string();
        // No proxy, ever: a proxy would resolve the host again and undo the
        // address check (reqwest otherwise honours HTTP(S)_PROXY/ALL_PROXY).
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .resolve(&host, addr)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ServiceError::Internal(format!("building the URL client: {e}")))?;
        let response = client
            .get(current.clone())
            .send()
            .await
            .map_err(|e| ServiceError::UrlFetch(failure_cause(&e, &current)))?;
        if response.status().is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| ServiceError::UrlFetch("redirect without a Location".into()))?;
            current = current.join(location).map_err(|e| ServiceError::UrlFetch(format!("bad redirect: {e}")))?;
            continue;
        }
        if !response.status().is_success() {
            return Err(ServiceError::UrlFetch(format!("the server answered HTTP {}", response.status())));
        }
        if response.content_length().is_some_and(|n| n > max_bytes) {
            return Err(ServiceError::FileTooLarge { limit_kb: max_bytes / 1024 });
        }
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ServiceError::UrlFetch(failure_cause(&e, &current)))?;
            if body.len() as u64 + chunk.len() as u64 > max_bytes {
                return Err(ServiceError::FileTooLarge { limit_kb: max_bytes / 1024 });
            }
            body.extend_from_slice(&chunk);
        }
        return Ok(body);
    }
    Err(ServiceError::UrlFetch(format!("more than {} redirects", policy.max_redirects)))
}

/// What went wrong with a request, in words: timeout, connection refused or
/// reset, TLS failure (with the TLS library's reason), or the cause chain's
/// innermost message. Never an address the host resolved to (the connector
/// errors name none; the URL, which the client sent, is left out too).
fn failure_cause(e: &reqwest::Error, url: &Url) -> String {
    use std::error::Error as _;
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut innermost = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused".into(),
                std::io::ErrorKind::ConnectionReset => return "the connection was reset".into(),
                std::io::ErrorKind::TimedOut => return "timed out".into(),
                _ => {}
            }
        }
        innermost = cause.to_string();
        source = cause.source();
    }
    if e.is_connect() && url.scheme() == "https" {
        return format!("TLS error: {innermost}");
    }
    if e.is_connect() {
        return format!("cannot connect: {innermost}");
    }
    if e.is_body() || e.is_decode() {
        return format!("the download broke off: {innermost}");
    }
    innermost
}

/// Resolves the URL's host and returns an address to connect to, refusing
/// the URL if its scheme or port is not allowed or any address it resolves
/// to is not; the refusal names the class of address, never the address.
pub async fn checked_address(url: &Url, policy: &FetchPolicy) -> Result<SocketAddr, ServiceError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ServiceError::UrlFetch(format!("scheme '{}' is not allowed: use http or https", url.scheme())));
    }
    let host = url.host_str().ok_or_else(|| ServiceError::UrlFetch("the URL has no host".into()))?;
    let port = url.port_or_known_default().unwrap_or(80);
    if !policy.ports.is_empty() && !policy.ports.contains(&port) {
        let allowed = policy.ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
        return Err(ServiceError::UrlFetch(format!("port {port} is not allowed (allowed: {allowed}): not fetched")));
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|e| ServiceError::UrlFetch(format!("DNS lookup of '{host}' failed: {}", dns_cause(&e))))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(ServiceError::UrlFetch(format!("DNS lookup of '{host}' found no address")));
    }
    if let Some(class) = addrs.iter().map(|a| classify(a.ip())).find(|c| !c.is_fetchable(policy.allow_loopback)) {
        let what = if bare.parse::<IpAddr>().is_ok() { "is" } else { "resolves to" };
        let class = class.to_string();
        let article = if class.starts_with(['a', 'e', 'i', 'o', 'u', 'I']) { "an" } else { "a" };
        return Err(ServiceError::UrlFetch(format!("'{host}' {what} {article} {class} address: not fetched")));
    }
    Ok(addrs[0])
}

/// The resolver's reason without the OS error number.
fn dns_cause(e: &std::io::Error) -> String {
    let text = e.to_string();
    text.split(" (os error").next().unwrap_or(&text).to_string()
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

    fn refusal(url: &str, policy: &FetchPolicy) -> String {
        let url = Url::parse(url).unwrap();
        let result = actix_web::rt::System::new().block_on(checked_address(&url, policy));
        result.unwrap_err().to_string()
    }

    #[test]
    fn refusals_name_the_class_of_address_and_the_port_never_a_resolved_address() {
        let policy = FetchPolicy::default();
        for (url, class) in [
            ("http://203.0.113.5/x.jpg", "a reserved/documentation address"),
            ("http://198.18.0.1/x.jpg", "a reserved/documentation address"),
            ("http://100.64.1.1/x.jpg", "a shared (carrier-grade NAT) address"),
            ("https://[64:ff9b::a00:1]/x.jpg", "a private address"),
            ("https://[2002:a9fe:a9fe::1]/x.jpg", "a link-local address"),
            ("http://[fec0::1]/x.jpg", "a site-local address"),
            ("http://[::7f00:1]/x.jpg", "a loopback address"),
            ("http://0.0.0.0/x.jpg", "an unspecified address"),
        ] {
            let message = refusal(url, &policy);
            assert!(message.contains(class) && message.ends_with("not fetched"), "{url}: {message}");
        }
        // A name: the class is given, the address it resolved to is not.
        let message = refusal("http://localhost/x.jpg", &policy);
        assert_eq!(
            message,
            "Unable to fetch the file from the URL: 'localhost' resolves to a loopback address: not fetched"
        );
        // Ports other than 80 and 443 are refused before any lookup or connection.
        let message = refusal("http://93.184.216.34:8080/x.jpg", &policy);
        assert!(message.contains("port 8080 is not allowed (allowed: 80, 443)"), "{message}");
        assert!(refusal("ftp://93.184.216.34/x.jpg", &policy).contains("scheme 'ftp'"));
        let any_port = FetchPolicy { ports: vec![], ..FetchPolicy::default() };
        assert!(refusal("http://10.0.0.1:8080/x.jpg", &any_port).contains("a private address"));
    }
}
