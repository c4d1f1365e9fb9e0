//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>): headers `webhook-id`
//! (stable across retries: the idempotency key), `webhook-timestamp` (Unix seconds) and
//! `webhook-signature` = space-separated `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`,
//! one per secret, so that a receiver can rotate its secret without losing calls.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// A signing secret: `whsec_<base64 of the key bytes>`, with the HMAC already keyed by it
/// (keying hashes two blocks, which every signature would otherwise repeat).
#[derive(Clone)]
pub struct WebhookSecret {
    keyed: HmacSha256,
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

impl WebhookSecret {
    /// Reads `whsec_...` (the prefix is optional); refuses anything that is not base64 or
    /// holds fewer than 24 bytes (the specification asks for 24 to 64).
    pub fn parse(text: &str) -> Result<WebhookSecret, String> {
        let body = text.trim().strip_prefix("whsec_").unwrap_or(text.trim());
        let key = STANDARD
            .decode(body)
            .map_err(|_| "a webhook secret must be `whsec_` followed by base64".to_string())?;
        if key.len() < 24 {
            return Err(format!(
                "a webhook secret must hold at least 24 bytes, this one holds {}",
                key.len()
            ));
        }
        // HMAC takes keys of any length: `new_from_slice` never fails for it.
        let keyed = <HmacSha256 as KeyInit>::new_from_slice(&key)
            .map_err(|_| "a webhook secret cannot key an HMAC".to_string())?;
        Ok(WebhookSecret { keyed })
    }

    /// Several secrets separated by spaces or commas (during a rotation).
    pub fn parse_list(text: &str) -> Result<Vec<WebhookSecret>, String> {
        let list: Vec<WebhookSecret> = text
            .split([' ', ',', '\n'])
            .filter(|s| !s.trim().is_empty())
            .map(WebhookSecret::parse)
            .collect::<Result<_, _>>()?;
        if list.is_empty() {
            return Err("no webhook secret is given".to_string());
        }
        Ok(list)
    }

    /// The HMAC-SHA256 of `{id}.{timestamp}.{body}`, fed in pieces rather than joined first.
    fn mac(&self, id: &str, timestamp: i64, body: &str) -> impl AsRef<[u8]> {
        let mut mac = self.keyed.clone();
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(itoa::Buffer::new().format(timestamp).as_bytes());
        mac.update(b".");
        mac.update(body.as_bytes());
        mac.finalize().into_bytes()
    }
}

/// The `webhook-signature` header value: `v1,<sig>` for each secret, space separated.
pub fn sign(secrets: &[WebhookSecret], id: &str, timestamp: i64, body: &str) -> String {
    let mut header = String::with_capacity(secrets.len() * 48);
    for secret in secrets {
        if !header.is_empty() {
            header.push(' ');
        }
        header.push_str("v1,");
        STANDARD.encode_string(secret.mac(id, timestamp, body), &mut header);
    }
    header
}

/// Checks a received call: one of the `v1` signatures in `header` must match one of
/// `secrets`, and the timestamp must be within `tolerance` seconds of `now`.
pub fn verify(
    secrets: &[WebhookSecret],
    id: &str,
    timestamp: i64,
    body: &str,
    header: &str,
    now: i64,
    tolerance: i64,
) -> Result<(), String> {
    if (now - timestamp).abs() > tolerance {
        return Err("the webhook timestamp is too old or too new".to_string());
    }
    let found = header.split(' ').filter_map(|s| s.strip_prefix("v1,"));
    for candidate in found {
        for secret in secrets {
            let expected = STANDARD.encode(secret.mac(id, timestamp, body));
            if constant_eq(expected.as_bytes(), candidate.as_bytes()) {
                return Ok(());
            }
        }
    }
    Err("no webhook signature matches".to_string())
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_specifications_example() {
        // The example of the Standard Webhooks specification.
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        let sig = sign(
            std::slice::from_ref(&secret),
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            body,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(
            verify(
                &[secret],
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                body,
                &sig,
                1614265330,
                300
            )
            .is_ok()
        );
    }

    #[test]
    fn signs_with_every_secret_during_a_rotation() {
        let old = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let new = "whsec_dGhpcyBpcyB0aGUgbmV3IHNlY3JldCBvZiAzMiBieXRlcw==";
        let both = WebhookSecret::parse_list(&format!("{old} {new}")).unwrap();
        let sig = sign(&both, "msg_1", 10, "{}");
        assert_eq!(sig.split(' ').count(), 2);
        let only_new = WebhookSecret::parse_list(new).unwrap();
        assert!(verify(&only_new, "msg_1", 10, "{}", &sig, 10, 300).is_ok());
        assert!(verify(&only_new, "msg_1", 10, "{!}", &sig, 10, 300).is_err());
        assert!(WebhookSecret::parse("whsec_short").is_err());
        assert!(WebhookSecret::parse("whsec_!!!").is_err());
    }
}
