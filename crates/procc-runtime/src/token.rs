//! Signed, expiring yes/no links for decisions by e-mail.
//!
//! A token is `base64url(payload) "." base64url(HMAC-SHA256(secret, payload))` with the payload
//! `instance.step.visit.answer.expires` (`answer` is `yes` or `no`, `expires` Unix seconds).
//! The visit binds the token to one activation of the step: an answer to an earlier visit
//! cannot decide a later one.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::model::InstanceId;
use crate::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

/// What a decision token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecisionToken {
    /// The instance.
    pub instance: InstanceId,
    /// The decision step.
    pub step: u32,
    /// The step's visit.
    pub visit: u32,
    /// Yes or no.
    pub answer: bool,
    /// Until when it counts.
    pub expires: DateTime<Utc>,
}

impl DecisionToken {
    /// The signed token text.
    pub fn sign(&self, secret: &[u8]) -> Result<String> {
        let payload = format!(
            "{}.{}.{}.{}.{}",
            self.instance,
            self.step,
            self.visit,
            if self.answer { "yes" } else { "no" },
            self.expires.timestamp()
        );
        let mut mac = HmacSha256::new_from_slice(secret).map_err(|_| Error::BadToken)?;
        mac.update(payload.as_bytes());
        let sig = mac.finalize().into_bytes();
        Ok(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload.as_bytes()),
            URL_SAFE_NO_PAD.encode(sig)
        ))
    }

    /// Checks the signature and the expiry; the token's content.
    pub fn verify(token: &str, secret: &[u8], now: DateTime<Utc>) -> Result<DecisionToken> {
        let (payload, sig) = token.split_once('.').ok_or(Error::BadToken)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| Error::BadToken)?;
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| Error::BadToken)?;
        let mut mac = HmacSha256::new_from_slice(secret).map_err(|_| Error::BadToken)?;
        mac.update(&payload);
        mac.verify_slice(&sig).map_err(|_| Error::BadToken)?;
        let text = String::from_utf8(payload).map_err(|_| Error::BadToken)?;
        let parts: Vec<&str> = text.split('.').collect();
        let [instance, step, visit, answer, expires] = parts.as_slice() else {
            return Err(Error::BadToken);
        };
        let parse = |s: &str| s.parse::<u64>().map_err(|_| Error::BadToken);
        let expires = DateTime::<Utc>::from_timestamp(
            expires.parse::<i64>().map_err(|_| Error::BadToken)?,
            0,
        )
        .ok_or(Error::BadToken)?;
        let token = DecisionToken {
            instance: parse(instance)?,
            step: u32::try_from(parse(step)?).map_err(|_| Error::BadToken)?,
            visit: u32::try_from(parse(visit)?).map_err(|_| Error::BadToken)?,
            answer: match *answer {
                "yes" => true,
                "no" => false,
                _ => return Err(Error::BadToken),
            },
            expires,
        };
        if now > token.expires {
            return Err(Error::TokenExpired);
        }
        Ok(token)
    }
}
