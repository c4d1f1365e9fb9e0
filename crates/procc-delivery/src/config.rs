//! The delivery settings of `procc.toml`: the `[delivery]`, `[smtp]` and `[sms_gateway]`
//! tables (which `procc check` accepts as reserved and ignores). Secrets are never values
//! here, only the names of the environment variables or files that hold them.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The longest pause of a retry schedule, in seconds (30 days): a retry further away is not a
/// retry, and the time it names must stay within the calendar's range.
pub const MAX_RETRY_PAUSE: u64 = 30 * 24 * 3600;

/// The retry schedule Standard Webhooks recommends, in seconds after the previous attempt:
/// immediately, 5 seconds, 5 minutes, 30 minutes, 2 hours, 5 hours, 10 hours, 10 hours.
pub const DEFAULT_SCHEDULE: [u64; 8] = [0, 5, 300, 1800, 7200, 18000, 36000, 36000];

/// Everything delivery needs besides the plan.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// `[delivery]`.
    #[serde(default)]
    pub delivery: Limits,
    /// `[smtp]`: without it e-mails are not sent (they fail and are retried).
    pub smtp: Option<Smtp>,
    /// `[sms_gateway]`: without it SMS are not sent.
    pub sms_gateway: Option<SmsGateway>,
    /// Where relative secret files are found (the folder of `procc.toml`).
    #[serde(skip)]
    pub base: PathBuf,
}

/// `[delivery]`: limits, timeouts, retries and what free webhooks may call.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Deliveries in flight at once, overall.
    pub concurrency: usize,
    /// Deliveries in flight at once to one endpoint (scheme, host and port).
    pub per_endpoint: usize,
    /// Threads that deliver, each with its own connections; `None`: one per core.
    pub threads: Option<usize>,
    /// Seconds to wait for a connection.
    pub connect_timeout_seconds: u64,
    /// Seconds one attempt may take in all (a service's `timeout_seconds` overrides it).
    pub timeout_seconds: u64,
    /// Seconds before each attempt, counted from the previous one; the first entry is the
    /// first attempt. Its length is the number of attempts (a service's `max_attempts`
    /// shortens it). Each pause gets up to 10 % random jitter.
    pub retry_schedule: Vec<u64>,
    /// Hosts free webhooks may call besides the hosts of the catalog's services.
    pub allowed_hosts: Vec<String>,
    /// The environment variable with the Standard Webhooks secrets of free webhooks
    /// (`whsec_...`, several separated by spaces during a rotation).
    pub webhook_secret_env: Option<String>,
    /// The file with those secrets, relative to `procc.toml`.
    pub webhook_secret_file: Option<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            concurrency: 64,
            per_endpoint: 8,
            threads: None,
            connect_timeout_seconds: 10,
            timeout_seconds: 30,
            retry_schedule: DEFAULT_SCHEDULE.to_vec(),
            allowed_hosts: Vec::new(),
            webhook_secret_env: None,
            webhook_secret_file: None,
        }
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// No encryption (only for a relay on the same host or in tests).
    Plain,
    /// Plain connection upgraded with STARTTLS (required).
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

/// `[smtp]`: the outgoing mail server.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    /// The server's host name.
    pub host: String,
    /// The port (default: 587 for STARTTLS, 465 for TLS, 25 for plain).
    pub port: Option<u16>,
    /// `plain`, `starttls` (default) or `tls`.
    #[serde(default = "default_security")]
    pub security: Security,
    /// The user name to log in with.
    pub username: Option<String>,
    /// The environment variable that holds the password.
    pub password_env: Option<String>,
    /// The file that holds the password, relative to `procc.toml`.
    pub password_file: Option<String>,
    /// The sender of notices, e.g. `"Processes <processes@example.de>"`.
    pub from: String,
    /// Seconds one SMTP conversation may take.
    #[serde(default = "default_smtp_timeout")]
    pub timeout_seconds: u64,
}

fn default_security() -> Security {
    Security::Starttls
}

fn default_smtp_timeout() -> u64 {
    30
}

/// `[sms_gateway]`: an HTTP gateway that takes `{"from", "to", "text", "reference"}` as JSON.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsGateway {
    /// The URL the JSON is POSTed to.
    pub url: String,
    /// The environment variable that holds the bearer token.
    pub token_env: Option<String>,
    /// The file that holds the bearer token, relative to `procc.toml`.
    pub token_file: Option<String>,
}

/// Why the delivery settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl DeliveryConfig {
    /// The settings of a `procc.toml` text; `base` is its folder. Unknown keys and values of
    /// the wrong type are refused with the TOML path in the message.
    pub fn from_toml(text: &str, base: &Path) -> Result<DeliveryConfig, ConfigError> {
        #[derive(Deserialize)]
        struct Project {
            #[serde(default)]
            delivery: Option<toml::Value>,
            #[serde(default)]
            smtp: Option<toml::Value>,
            #[serde(default)]
            sms_gateway: Option<toml::Value>,
        }
        let project: Project = toml::from_str(text)
            .map_err(|e| ConfigError(format!("procc.toml: {}", e.message())))?;
        let mut table = toml::Table::new();
        for (key, value) in [
            ("delivery", project.delivery),
            ("smtp", project.smtp),
            ("sms_gateway", project.sms_gateway),
        ] {
            if let Some(v) = value {
                table.insert(key.to_string(), v);
            }
        }
        let mut config: DeliveryConfig = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError(format!("procc.toml: {}", e.message())))?;
        config.base = base.to_path_buf();
        config.check()?;
        Ok(config)
    }

    /// Defaults: no SMTP, no SMS gateway.
    pub fn new(base: &Path) -> DeliveryConfig {
        DeliveryConfig {
            delivery: Limits::default(),
            smtp: None,
            sms_gateway: None,
            base: base.to_path_buf(),
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        let d = &self.delivery;
        if d.concurrency == 0 || d.per_endpoint == 0 {
            return Err(ConfigError(
                "`delivery.concurrency` and `delivery.per_endpoint` must be at least 1".into(),
            ));
        }
        if d.threads == Some(0) {
            return Err(ConfigError("`delivery.threads` must be at least 1".into()));
        }
        if d.retry_schedule.is_empty() {
            return Err(ConfigError(
                "`delivery.retry_schedule` needs at least one entry (the first attempt)".into(),
            ));
        }
        if let Some(pause) = d.retry_schedule.iter().find(|p| **p > MAX_RETRY_PAUSE) {
            return Err(ConfigError(format!(
                "`delivery.retry_schedule` has a pause of {pause} seconds; at most \
                 {MAX_RETRY_PAUSE} (30 days) between two attempts"
            )));
        }
        if d.timeout_seconds == 0 || d.connect_timeout_seconds == 0 {
            return Err(ConfigError(
                "delivery timeouts must be at least 1 second".into(),
            ));
        }
        if let Some(g) = &self.sms_gateway
            && !(g.url.starts_with("https://") || g.url.starts_with("http://"))
        {
            return Err(ConfigError(format!(
                "`sms_gateway.url` must be an http(s) URL, not `{}`",
                g.url
            )));
        }
        Ok(())
    }
}

/// Reads a secret from an environment variable or a file (relative to `base`); the error
/// names where it looked, never the secret.
pub(crate) fn read_secret(
    env: Option<&str>,
    file: Option<&str>,
    base: &Path,
) -> Result<Option<String>, String> {
    if let Some(name) = env {
        return match std::env::var(name) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
            _ => Err(format!("the environment variable `{name}` is not set")),
        };
    }
    if let Some(path) = file {
        let path = base.join(path);
        return match std::fs::read_to_string(&path) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
            Ok(_) => Err(format!("the secret file `{}` is empty", path.display())),
            Err(e) => Err(format!(
                "cannot read the secret file `{}`: {e}",
                path.display()
            )),
        };
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_reserved_tables() {
        let text = r#"
files = ["*.proc"]
[tenant]
id = "x"
[delivery]
concurrency = 4
retry_schedule = [0, 1]
allowed_hosts = ["hooks.example.de"]
[smtp]
host = "127.0.0.1"
port = 2525
security = "plain"
from = "procc@example.de"
[sms_gateway]
url = "http://127.0.0.1:9/sms"
token_env = "SMS_TOKEN"
"#;
        let c = DeliveryConfig::from_toml(text, Path::new("/p")).unwrap();
        assert_eq!(c.delivery.concurrency, 4);
        assert_eq!(c.delivery.per_endpoint, 8);
        assert_eq!(c.delivery.retry_schedule, vec![0, 1]);
        let smtp = c.smtp.unwrap();
        assert_eq!((smtp.port, smtp.security), (Some(2525), Security::Plain));
        assert_eq!(
            c.sms_gateway.unwrap().token_env.as_deref(),
            Some("SMS_TOKEN")
        );
    }

    #[test]
    fn refuses_unknown_keys_and_bad_values_clearly() {
        let e = DeliveryConfig::from_toml("[smtp]\nhots = \"x\"\nfrom = \"a@b\"", Path::new("."))
            .unwrap_err();
        assert!(e.0.contains("unknown field `hots`"), "{e}");
        let e = DeliveryConfig::from_toml("[delivery]\nconcurrency = \"many\"", Path::new("."))
            .unwrap_err();
        assert!(e.0.contains("invalid type"), "{e}");
        let e = DeliveryConfig::from_toml("[delivery]\nretry_schedule = []", Path::new("."))
            .unwrap_err();
        assert!(e.0.contains("retry_schedule"), "{e}");
        let e = DeliveryConfig::from_toml("[delivery]\nthreads = 0", Path::new(".")).unwrap_err();
        assert!(e.0.contains("`delivery.threads` must be at least 1"), "{e}");
        let c = DeliveryConfig::from_toml("[delivery]\nthreads = 3", Path::new(".")).unwrap();
        assert_eq!(c.delivery.threads, Some(3));
        let e =
            DeliveryConfig::from_toml("[delivery]\nretry_schedule = [0, 2592001]", Path::new("."))
                .unwrap_err();
        assert!(e.0.contains("a pause of 2592001 seconds"), "{e}");
        assert!(
            DeliveryConfig::from_toml("[delivery]\nretry_schedule = [0, 2592000]", Path::new("."))
                .is_ok()
        );
        let e = DeliveryConfig::from_toml(
            "[smtp]\nhost = \"h\"\nfrom = \"a@b\"\nsecurity = \"ssl\"",
            Path::new("."),
        )
        .unwrap_err();
        assert!(e.0.contains("ssl"), "{e}");
    }
}
