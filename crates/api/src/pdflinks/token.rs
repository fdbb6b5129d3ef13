//! Download tokens: `<id>-<expiry>-<signature>`, the signature an
//! HMAC-SHA256 over id and expiry, so a token can be checked (and its
//! expiry read) without a database lookup, and cannot be forged or extended.

use base64::Engine as _;
use ring::hmac;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token of ours (malformed or bad signature).
    Invalid,
    /// Genuine, but past its expiry (Unix seconds).
    Expired(i64),
}

/// Signs and checks tokens with one key.
#[derive(Clone)]
pub struct TokenSigner {
    key: hmac::Key,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner(..)")
    }
}

impl TokenSigner {
    /// A signer keyed with `secret`.
    pub fn new(secret: &[u8]) -> Self {
        Self { key: hmac::Key::new(hmac::HMAC_SHA256, secret) }
    }

    fn payload(id: &str, expires_at: i64) -> String {
        format!("{id}-{expires_at}")
    }

    /// The token for stored file `id` expiring at `expires_at`.
    pub fn sign(&self, id: &str, expires_at: i64) -> String {
        let payload = Self::payload(id, expires_at);
        let tag = hmac::sign(&self.key, payload.as_bytes());
        format!("{payload}-{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// The file id of a genuine, unexpired token.
    pub fn verify(&self, token: &str, now: i64) -> Result<String, TokenError> {
        let mut parts = token.splitn(3, '-');
        let (Some(id), Some(expiry), Some(signature)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(TokenError::Invalid);
        };
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(TokenError::Invalid);
        }
        let expires_at: i64 = expiry.parse().map_err(|_| TokenError::Invalid)?;
        let tag =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature).map_err(|_| TokenError::Invalid)?;
        hmac::verify(&self.key, Self::payload(id, expires_at).as_bytes(), &tag).map_err(|_| TokenError::Invalid)?;
        if now >= expires_at {
            return Err(TokenError::Expired(expires_at));
        }
        Ok(id.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_until_they_expire_and_resist_tampering() {
        let signer = TokenSigner::new(b"secret");
        let token = signer.sign("0a1b2c", 1000);
        assert_eq!(signer.verify(&token, 999), Ok("0a1b2c".to_string()));
        assert_eq!(signer.verify(&token, 1000), Err(TokenError::Expired(1000)));
        let extended = token.replacen("-1000-", "-9999-", 1);
        assert_eq!(signer.verify(&extended, 999), Err(TokenError::Invalid));
        let other_file = token.replacen("0a1b2c", "0a1b2d", 1);
        assert_eq!(signer.verify(&other_file, 999), Err(TokenError::Invalid));
        assert_eq!(TokenSigner::new(b"other").verify(&token, 999), Err(TokenError::Invalid));
        for junk in ["", "x", "../../etc/passwd", "0a-1-", "zz-1000-AAAA"] {
            assert_eq!(signer.verify(junk, 0), Err(TokenError::Invalid), "{junk}");
        }
    }
}
