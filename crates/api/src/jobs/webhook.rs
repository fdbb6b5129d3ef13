//! Webhook delivery: each finished job with a callback URL is POSTed there
//! once delivered (2xx), retried with doubling waits otherwise. The body is
//! signed: `X-Signature: sha256=<hex HMAC-SHA256 of the body>` with the
//! configured key. The payload's `IdempotencyKey` is the same on every
//! delivery of a job (a delivery whose answer was lost is sent again).
//! The callback's address is checked, and pinned, as `url` inputs are.

use std::time::Duration;

use ring::hmac;

use super::JobSettings;
use crate::server::AppState;
use crate::service::checked_address;
use crate::store::{unix_now, JobState, WebhookDelivery};

/// The header carrying the body's signature.
pub const SIGNATURE_HEADER: &str = "X-Signature";

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let tag = hmac::sign(&key, body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

pub(super) fn spawn(state: AppState, settings: JobSettings) {
    actix_web::rt::spawn(async move {
        loop {
            let now = unix_now();
            let store = state.gate.store();
            match store.claim_webhook(now, now + 60).await {
                Ok(Some(delivery)) => {
                    let delivered = deliver(&state, &settings, &delivery).await;
                    let tries = delivery.attempts + 1;
                    let retry_at = (!delivered && tries < settings.webhook_attempts).then(|| {
                        let wait = settings.webhook_backoff.as_secs().max(1).saturating_mul(1 << (tries - 1).min(12));
                        unix_now() + wait as i64
                    });
                    if let Err(e) = store.webhook_attempted(&delivery.job_id, delivered, retry_at).await {
                        tracing::warn!(error = %e, "recording a webhook delivery failed");
                    }
                }
                Ok(None) => actix_web::rt::time::sleep(settings.poll_interval).await,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming a webhook failed");
                    actix_web::rt::time::sleep(settings.poll_interval * 4).await;
                }
            }
        }
    });
}

/// The webhook's body.
pub(super) fn payload(delivery: &WebhookDelivery) -> serde_json::Value {
    let result = delivery.result.as_deref().and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok());
    serde_json::json!({
        "JobId": delivery.job_id,
        "IdempotencyKey": format!("{}:{}", delivery.job_id, delivery.state.as_str()),
        "State": delivery.state.as_str(),
        "Error": delivery.error,
        "Result": result,
    })
}

async fn deliver(state: &AppState, settings: &JobSettings, delivery: &WebhookDelivery) -> bool {
    let body = match serde_json::to_vec(&payload(delivery)) {
        Ok(body) => body,
        Err(_) => return false,
    };
    let outcome = post(state, settings, &delivery.callback_url, body).await;
    match &outcome {
        Ok(()) => tracing::info!(job = %delivery.job_id, state = delivery.state.as_str(), "webhook delivered"),
        Err(e) => tracing::info!(job = %delivery.job_id, error = %e, "webhook delivery failed"),
    }
    debug_assert!(delivery.state != JobState::Queued);
    outcome.is_ok()
}

async fn post(state: &AppState, settings: &JobSettings, url: &str, body: Vec<u8>) -> Result<(), String> {
    let url = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    let addr = checked_address(&url, &state.fetch_policy).await.map_err(|e| e.to_string())?;
    let host = url.host_str().unwrap_or_default().to_string();
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&host, addr)
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let signature = sign(&settings.webhook_secret, &body);
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", response.status()))
    }
}

#[cfg(test)]
mod tests {
    /// RFC 4231 test case 2.
    #[test]
    fn signatures_are_hmac_sha256() {
        assert_eq!(
            super::sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
