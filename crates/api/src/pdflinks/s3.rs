//! Searchable PDFs in an S3-compatible object store (AWS S3, MinIO, Ceph,
//! Garage, …), so several instances share the files. A small client over
//! reqwest's blocking API that signs with AWS Signature Version 4 (ring's
//! SHA-256 and HMAC): three object calls (PUT, GET, DELETE) and a bucket
//! check at start-up need no SDK.

use std::io::{self, Read};
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::{Method, StatusCode, Url};
use ring::{digest, hmac};

use super::storage::{PdfStorage, StoredFile};

/// SHA-256 of an empty body (GET, HEAD, DELETE).
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Access key, secret and optional session token (read from the standard
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`
/// variables, never from a config file).
#[derive(Clone, PartialEq, Eq)]
pub struct S3Credentials {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// A temporary session token, if any.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

impl S3Credentials {
    /// The credentials in the process environment (empty when unset).
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            access_key_id: var("AWS_ACCESS_KEY_ID").unwrap_or_default(),
            secret_access_key: var("AWS_SECRET_ACCESS_KEY").unwrap_or_default(),
            session_token: var("AWS_SESSION_TOKEN"),
        }
    }
}

/// Where and how to reach the bucket (`[pdf]` `s3_*` keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// Bucket name.
    pub bucket: String,
    /// Base URL of the service (`http://minio:9000`); empty: AWS S3 in `region`.
    pub endpoint: String,
    /// Region the requests are signed for.
    pub region: String,
    /// Address the bucket in the path (`endpoint/bucket/key`, as MinIO and
    /// most self-hosted stores want) instead of the host name (`bucket.host`).
    pub path_style: bool,
    /// Prefix of the object keys (`pdf/` gives `pdf/<id>.pdf`).
    pub prefix: String,
    /// Credentials.
    pub credentials: S3Credentials,
}

/// PDFs as objects `<prefix><id>.pdf` in one bucket. A PUT is atomic, so
/// no partial objects are ever visible; a missing object reads as absent.
pub struct S3Storage {
    client: Client,
    /// URL of the bucket, ending in `/` (objects are joined onto it).
    bucket_url: Url,
    /// The `Host` header value requests carry (and sign).
    host: String,
    settings: S3Settings,
}

impl std::fmt::Debug for S3Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Storage").field("bucket_url", &self.bucket_url.as_str()).finish_non_exhaustive()
    }
}

impl S3Storage {
    /// A client for `settings` (call from a blocking thread: it starts
    /// reqwest's blocking runtime). Proxy variables are ignored: the store
    /// is reached directly.
    pub fn new(settings: S3Settings) -> io::Result<Self> {
        let invalid = |m: String| io::Error::new(io::ErrorKind::InvalidInput, m);
        if settings.bucket.is_empty()
            || !settings.bucket.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        {
            return Err(invalid(format!("invalid S3 bucket name {:?}", settings.bucket)));
        }
        if settings.credentials.access_key_id.is_empty() || settings.credentials.secret_access_key.is_empty() {
            return Err(invalid("S3 storage needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into()));
        }
        let endpoint = match settings.endpoint.trim() {
            "" => format!("https://s3.{}.amazonaws.com", settings.region),
            e => e.trim_end_matches('/').to_string(),
        };
        let mut url = Url::parse(&endpoint).map_err(|e| invalid(format!("invalid S3 endpoint {endpoint:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(invalid(format!("invalid S3 endpoint {endpoint:?}: not an http(s) URL")));
        }
        if settings.path_style {
            let path = format!("{}/{}/", url.path().trim_end_matches('/'), settings.bucket);
            url.set_path(&path);
        } else {
            let host = format!("{}.{}", settings.bucket, url.host_str().unwrap_or_default());
            url.set_host(Some(&host)).map_err(|e| invalid(format!("invalid S3 host {host:?}: {e}")))?;
            let path = format!("{}/", url.path().trim_end_matches('/'));
            url.set_path(&path);
        }
        // reqwest sends the port only when it is not the scheme's default,
        // and `Url::port` is `None` exactly then: the signed Host matches.
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let client = Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(io::Error::other)?;
        Ok(Self { client, bucket_url: url, host, settings })
    }

    /// Checks that the bucket exists and the credentials are accepted
    /// (`HEAD` on the bucket), so a misconfiguration stops the start-up.
    pub fn check(&self) -> io::Result<()> {
        let response = self.send(Method::HEAD, None, None)?;
        match response.status() {
            s if s.is_success() => Ok(()),
            s => Err(io::Error::other(format!("S3 bucket {} at {}: HTTP {s}", self.settings.bucket, self.bucket_url))),
        }
    }

    /// The object key of `id`; ids are hex, so keys stay inside the prefix.
    fn key(&self, id: &str) -> io::Result<String> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "storage ids are hex strings"));
        }
        Ok(format!("{}{id}.pdf", self.settings.prefix))
    }

    /// Sends a signed request for object `key` (`None`: the bucket itself).
    fn send(&self, method: Method, key: Option<&str>, body: Option<Vec<u8>>) -> io::Result<Response> {
        let mut url = self.bucket_url.clone();
        if let Some(key) = key {
            let path = format!("{}{}", url.path(), uri_encode(key, false));
            url.set_path(&path);
        } else if url.path().len() > 1 {
            // The bucket itself is addressed without the trailing slash.
            let path = url.path().trim_end_matches('/').to_string();
            url.set_path(&path);
        }
        let payload_hash = match &body {
            Some(bytes) => hex(digest::digest(&digest::SHA256, bytes).as_ref()),
            None => EMPTY_SHA256.to_string(),
        };
        let amz_date = amz_date(crate::store::unix_now());
        let mut headers = vec![("x-amz-content-sha256", payload_hash.clone()), ("x-amz-date", amz_date.clone())];
        if let Some(token) = &self.settings.credentials.session_token {
            headers.push(("x-amz-security-token", token.clone()));
        }
        let request = SignedRequest {
            method: method.as_str(),
            host: &self.host,
            path: url.path(),
            headers: &headers,
            payload_hash: &payload_hash,
            amz_date: &amz_date,
        };
        let authorization = request.authorization(&self.settings.credentials, &self.settings.region);
        let mut builder = self.client.request(method.clone(), url.clone()).header("authorization", authorization);
        for (name, value) in &headers {
            builder = builder.header(*name, value);
        }
        if let Some(bytes) = body {
            builder = builder.header("content-type", "application/pdf").body(bytes);
        }
        builder.send().map_err(|e| io::Error::other(format!("S3 {method} {url}: {e}")))
    }
}

/// The error for an unexpected answer, with the start of its body (S3
/// explains itself in XML: `<Code>SignatureDoesNotMatch</Code>…`).
fn failure(what: &str, response: Response) -> io::Error {
    let status = response.status();
    let mut text = String::new();
    let _ = response.take(512).read_to_string(&mut text);
    io::Error::other(format!("S3 {what}: HTTP {status} {}", text.trim()))
}

impl PdfStorage for S3Storage {
    fn put(&self, id: &str, bytes: &[u8]) -> io::Result<()> {
        let key = self.key(id)?;
        let response = self.send(Method::PUT, Some(&key), Some(bytes.to_vec()))?;
        if !response.status().is_success() {
            return Err(failure(&format!("PUT {key}"), response));
        }
        Ok(())
    }

    fn open(&self, id: &str) -> io::Result<Option<StoredFile>> {
        let key = self.key(id)?;
        let response = self.send(Method::GET, Some(&key), None)?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => {
                let len = response
                    .content_length()
                    .ok_or_else(|| io::Error::other(format!("S3 GET {key}: no Content-Length")))?;
                Ok(Some(StoredFile { len, reader: Box::new(response) }))
            }
            _ => Err(failure(&format!("GET {key}"), response)),
        }
    }

    fn delete(&self, id: &str) -> io::Result<()> {
        let key = self.key(id)?;
        let response = self.send(Method::DELETE, Some(&key), None)?;
        // S3 answers 204 whether or not the object existed; some stores 404.
        match response.status() {
            s if s.is_success() || s == StatusCode::NOT_FOUND => Ok(()),
            _ => Err(failure(&format!("DELETE {key}"), response)),
        }
    }
}

/// One request as Signature Version 4 sees it.
struct SignedRequest<'a> {
    method: &'a str,
    host: &'a str,
    /// The URI path, already percent-encoded as sent.
    path: &'a str,
    /// Headers to sign besides `host` (lower-case names).
    headers: &'a [(&'a str, String)],
    payload_hash: &'a str,
    /// `YYYYMMDDTHHMMSSZ`.
    amz_date: &'a str,
}

impl SignedRequest<'_> {
    /// The `Authorization` header value (no query string: none of our
    /// requests has one).
    fn authorization(&self, credentials: &S3Credentials, region: &str) -> String {
        let mut headers: Vec<(&str, &str)> = vec![("host", self.host)];
        headers.extend(self.headers.iter().map(|(n, v)| (*n, v.trim())));
        headers.sort();
        let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
        let signed_headers = headers.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(";");
        let canonical_request =
            format!("{}\n{}\n\n{canonical_headers}\n{signed_headers}\n{}", self.method, self.path, self.payload_hash);
        let date = &self.amz_date[..8];
        let scope = format!("{date}/{region}/s3/aws4_request");
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
            self.amz_date,
            hex(digest::digest(&digest::SHA256, canonical_request.as_bytes()).as_ref())
        );
        let mut key = format!("AWS4{}", credentials.secret_access_key).into_bytes();
        for part in [date, region, "s3", "aws4_request"] {
            key = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), part.as_bytes()).as_ref().to_vec();
        }
        let signature = hex(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), string_to_sign.as_bytes()).as_ref());
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            credentials.access_key_id
        )
    }
}

/// `YYYYMMDDTHHMMSSZ` of a Unix time (UTC).
fn amz_date(unix: i64) -> String {
    let (year, month, day) = crate::store::civil_date(unix);
    let secs = unix.rem_euclid(86_400);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Percent-encodes all but the unreserved characters (and `/` unless
/// `slash` is set), as Signature Version 4 wants.
fn uri_encode(text: &str, slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            b'/' if !slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The "GET Object" example of AWS's Signature Version 4 documentation
    /// for S3 (fixed keys, date and expected signature).
    #[test]
    fn signatures_match_the_aws_documentation_example() {
        let credentials = S3Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let headers = [
            ("range", "bytes=0-9".to_string()),
            ("x-amz-content-sha256", EMPTY_SHA256.to_string()),
            ("x-amz-date", "20130524T000000Z".to_string()),
        ];
        let request = SignedRequest {
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/test.txt",
            headers: &headers,
            payload_hash: EMPTY_SHA256,
            amz_date: "20130524T000000Z",
        };
        assert_eq!(
            request.authorization(&credentials, "us-east-1"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn dates_keys_and_urls_are_formed_as_s3_wants() {
        assert_eq!(amz_date(1_369_353_600), "20130524T000000Z");
        assert_eq!(amz_date(1_798_761_599), "20261231T235959Z");
        assert_eq!(uri_encode("pdf/a b$.pdf", false), "pdf/a%20b%24.pdf");
        assert_eq!(uri_encode("a/b", true), "a%2Fb");
        let settings = |endpoint: &str, path_style| S3Settings {
            bucket: "ocr".into(),
            endpoint: endpoint.into(),
            region: "eu-west-1".into(),
            path_style,
            prefix: "pdf/".into(),
            credentials: S3Credentials {
                access_key_id: "a".into(),
                secret_access_key: "b".into(),
                session_token: None,
            },
        };
        let path = S3Storage::new(settings("http://127.0.0.1:9000/", true)).unwrap();
        assert_eq!((path.bucket_url.as_str(), path.host.as_str()), ("http://127.0.0.1:9000/ocr/", "127.0.0.1:9000"));
        assert_eq!(path.key("0a1b").unwrap(), "pdf/0a1b.pdf");
        assert!(path.key("../x").is_err());
        let aws = S3Storage::new(settings("", false)).unwrap();
        assert_eq!(aws.bucket_url.as_str(), "https://ocr.s3.eu-west-1.amazonaws.com/");
        assert_eq!(aws.host, "ocr.s3.eu-west-1.amazonaws.com");
        assert!(S3Storage::new(S3Settings { bucket: "a/b".into(), ..settings("", true) }).is_err());
        let no_secret = S3Settings {
            credentials: S3Credentials { secret_access_key: String::new(), ..settings("", true).credentials },
            ..settings("", true)
        };
        assert!(S3Storage::new(no_secret).is_err());
        assert!(!format!("{:?}", settings("", true).credentials).contains("\"b\""), "the secret is not printed");
    }
}
