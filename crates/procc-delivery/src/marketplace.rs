//! Marketplace signing, as the CRM's marketplace signs the URLs it calls a provider with:
//! the parameters sorted by name and encoded as PHP's `http_build_query` does (`+` for a
//! space), a `timestamp` in Unix seconds, and `signature` = lowercase-hex HMAC-SHA256 with the
//! provider's secret over the complete URL with every parameter but `signature`.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a signed URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The URL has no `signature` parameter.
    #[error("the URL has no `signature` parameter")]
    MissingSignature,
    /// The URL has no `timestamp` parameter, or it is not a number.
    #[error("the URL has no `timestamp` parameter in Unix seconds")]
    MissingTimestamp,
    /// The signature does not match the URL and the secret.
    #[error("the signature does not match (another secret, or the URL was changed)")]
    BadSignature,
    /// The timestamp is further from now than allowed.
    #[error("the timestamp is {age} seconds away from now, more than the {max} allowed")]
    Stale {
        /// Seconds between the timestamp and now.
        age: i64,
        /// Seconds allowed.
        max: i64,
    },
    /// A parameter is not valid percent-encoding.
    #[error("the query is not valid URL encoding near `{0}`")]
    BadEncoding(String),
}

/// Encodes a query component as PHP's `urlencode` (used by `http_build_query`): letters,
/// digits and `-_.` stay, a space becomes `+`, every other byte becomes `%XX`.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Decodes a query component (`+` is a space).
pub fn decode(text: &str) -> Result<String, VerifyError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = text
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| VerifyError::BadEncoding(text.to_string()))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| VerifyError::BadEncoding(text.to_string()))
}

/// `base?k=v&...` with the parameters sorted by name (then value) and encoded.
fn canonical(base: &str, params: &mut [(String, String)]) -> String {
    params.sort();
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    format!("{base}?{}", query.join("&"))
}

fn mac(secret: &[u8], text: &str) -> HmacSha256 {
    // HMAC takes keys of any length: `new_from_slice` never fails for it.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default()));
    mac.update(text.as_bytes());
    mac
}

/// Splits a URL into the part before `?` and its decoded parameters.
/// Query parameters, decoded, in the order written.
type Params = Vec<(String, String)>;

fn split(url: &str) -> Result<(&str, Params), VerifyError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let query = query.split('#').next().unwrap_or("");
    let mut params = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        params.push((decode(k)?, decode(v)?));
    }
    Ok((base, params))
}

/// Signs a call: `url` (which may carry parameters of its own) plus `params` and
/// `timestamp`, sorted and encoded, then `&signature=<hex>` appended.
pub fn sign_url(
    url: &str,
    params: &[(String, String)],
    timestamp: i64,
    secret: &[u8],
) -> Result<String, VerifyError> {
    let (base, mut all) = split(url)?;
    all.retain(|(k, _)| k != "signature" && k != "timestamp");
    all.extend(params.iter().cloned());
    all.push(("timestamp".to_string(), timestamp.to_string()));
    let unsigned = canonical(base, &mut all);
    let signature = hex(&mac(secret, &unsigned).finalize().into_bytes());
    Ok(format!("{unsigned}&signature={signature}"))
}

/// What a verified URL carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The parameters (without `signature`), sorted by name.
    pub params: Vec<(String, String)>,
    /// The `timestamp`.
    pub timestamp: i64,
}

/// Checks a signed URL as a provider does: recomputes the signature over the URL without
/// `signature` (parameters sorted and encoded again) and compares in constant time; with
/// `max_age`, refuses a timestamp more than that many seconds away from `now`.
pub fn verify_url(
    url: &str,
    secret: &[u8],
    now: i64,
    max_age: Option<i64>,
) -> Result<Verified, VerifyError> {
    let (base, mut params) = split(url)?;
    let position = params
        .iter()
        .position(|(k, _)| k == "signature")
        .ok_or(VerifyError::MissingSignature)?;
    let (_, signature) = params.remove(position);
    let timestamp = params
        .iter()
        .find(|(k, _)| k == "timestamp")
        .and_then(|(_, v)| v.parse::<i64>().ok())
        .ok_or(VerifyError::MissingTimestamp)?;
    let unsigned = canonical(base, &mut params);
    let expected = unhex(&signature.to_ascii_lowercase()).ok_or(VerifyError::BadSignature)?;
    mac(secret, &unsigned)
        .verify_slice(&expected)
        .map_err(|_| VerifyError::BadSignature)?;
    if let Some(max) = max_age {
        let age = (now - timestamp).abs();
        if age > max {
            return Err(VerifyError::Stale { age, max });
        }
    }
    Ok(Verified { params, timestamp })
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_the_marketplace_does_and_verifies() {
        let params = vec![
            ("userId".to_string(), "k.schmidt".to_string()),
            ("customerWebId".to_string(), "exampleimmo".to_string()),
            (
                "customerName".to_string(),
                "Example Immobilien GmbH".to_string(),
            ),
        ];
        let url = sign_url("https://p.example/hook", &params, 1_700_000_000, b"s3cret").unwrap();
        let (unsigned, signature) = url.rsplit_once("&signature=").unwrap();
        assert_eq!(
            unsigned,
            "https://p.example/hook?customerName=Example+Immobilien+GmbH&customerWebId=exampleimmo&timestamp=1700000000&userId=k.schmidt"
        );
        // The same HMAC, computed independently of `sign_url`.
        assert_eq!(
            signature,
            hex(&mac(b"s3cret", unsigned).finalize().into_bytes())
        );
        assert_eq!(signature.len(), 64);
        assert!(
            signature
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        let ok = verify_url(&url, b"s3cret", 1_700_000_100, Some(300)).unwrap();
        assert_eq!(ok.timestamp, 1_700_000_000);
        assert_eq!(
            verify_url(&url, b"other", 1_700_000_000, None),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify_url(
                &url.replace("k.schmidt", "j.becker"),
                b"s3cret",
                1_700_000_000,
                None
            ),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify_url(&url, b"s3cret", 1_700_001_000, Some(300)),
            Err(VerifyError::Stale {
                age: 1000,
                max: 300
            })
        );
        assert_eq!(
            verify_url("https://p.example/hook?a=1", b"s3cret", 0, None),
            Err(VerifyError::MissingSignature)
        );
    }

    #[test]
    fn encodes_as_php_urlencode() {
        assert_eq!(encode("a b&c=d/ä~*"), "a+b%26c%3Dd%2F%C3%A4%7E%2A");
        assert_eq!(decode("a+b%26c%3Dd%2F%C3%A4%7E%2A").unwrap(), "a b&c=d/ä~*");
        assert!(decode("%zz").is_err());
    }
}
