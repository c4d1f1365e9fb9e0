//! One delivery attempt of one effect: building the signed request (or the e-mail, or the
//! SMS) and classifying the receiver's answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use procc_plan::{HttpMethod, Module, Plan};
use procc_runtime::{Connector, EffectKind, Engine, OutboxRow, Store};
use reqwest::header::HeaderName;
use reqwest::{StatusCode, Url};
use serde_json::Value;

use crate::config::{DeliveryConfig, read_secret};
use crate::mail::Mailer;
use crate::marketplace::sign_url;
use crate::standard::{self, WebhookSecret};

/// How many bytes of a receiver's answer the attempt log keeps.
pub const EXCERPT_BYTES: usize = 512;

/// The most characters an SMS may have (two messages).
pub const SMS_MAX_CHARS: usize = 320;

/// What the receiver made of an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Taken.
    Delivered,
    /// Worth another attempt; `after` is the receiver's `Retry-After`.
    Retry {
        /// What went wrong.
        error: String,
        /// The receiver's wish, when it said one.
        after: Option<Duration>,
    },
    /// Refused for good (a 4xx other than 408 and 429, a URL that is not allowed, a missing
    /// secret, ...).
    Refused(String),
    /// The endpoint answered 410 Gone.
    Gone(String),
}

/// One attempt's findings.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// The status code, when the receiver answered.
    pub status: Option<u16>,
    /// The start of the answer.
    pub excerpt: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
}

impl Attempt {
    fn refused(error: impl Into<String>) -> Attempt {
        Attempt {
            status: None,
            excerpt: None,
            verdict: Verdict::Refused(error.into()),
        }
    }
}

/// URLs of free webhooks kept parsed and allowed at most; a URL made from record macros may
/// differ for every call, so the cache starts afresh when full.
const ALLOWED_URLS_KEPT: usize = 1024;

/// The longest URL kept parsed (longer ones are rare and would make the cache large).
const ALLOWED_URL_BYTES: usize = 2048;

/// Free webhooks' URLs that [`Deliverer::allowed`] parsed and allowed, by their text: a
/// template's URL is called again and again, and parsing it costs more than the rest of the
/// request. Only allowed URLs are kept, and what is allowed never changes for a deliverer.
#[derive(Default)]
struct AllowedUrls(Mutex<HashMap<String, Url>>);

impl AllowedUrls {
    fn get(&self, text: &str) -> Option<Url> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(text)
            .cloned()
    }

    fn keep(&self, text: &str, url: &Url) {
        if text.len() > ALLOWED_URL_BYTES {
            return;
        }
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() >= ALLOWED_URLS_KEPT {
            kept.clear();
        }
        kept.insert(text.to_string(), url.clone());
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

const WEBHOOK_ID: HeaderName = HeaderName::from_static("webhook-id");
const WEBHOOK_TIMESTAMP: HeaderName = HeaderName::from_static("webhook-timestamp");
const WEBHOOK_SIGNATURE: HeaderName = HeaderName::from_static("webhook-signature");

/// Delivers effects for real: webhooks over HTTP (marketplace services signed as the CRM's
/// marketplace does, free webhooks signed as Standard Webhooks says), e-mail over SMTP, SMS
/// through the HTTP gateway. Letters and portal syncs go to the `fallback` connector.
pub struct Deliverer<S: Store + 'static> {
    engine: Arc<Engine<S>>,
    plan: Arc<Plan>,
    config: DeliveryConfig,
    http: reqwest::Client,
    mailer: Option<Mailer>,
    service_secrets: HashMap<String, Result<Vec<u8>, String>>,
    webhook_secrets: Result<Vec<WebhookSecret>, String>,
    sms_token: Result<Option<String>, String>,
    allowed_hosts: Vec<String>,
    allowed_urls: AllowedUrls,
    fallback: Option<Arc<dyn Connector>>,
}

impl<S: Store + 'static> Deliverer<S> {
    /// A deliverer for the effects of `engine`, with the services and templates of `plan`.
    /// Secrets are read now from their environment variables and files; one that is missing
    /// makes only the effects that need it fail (with a message that names where it was
    /// looked for).
    pub fn new(
        engine: Arc<Engine<S>>,
        plan: Arc<Plan>,
        config: DeliveryConfig,
        fallback: Option<Arc<dyn Connector>>,
    ) -> Result<Deliverer<S>, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(config.delivery.connect_timeout_seconds))
            .timeout(Duration::from_secs(config.delivery.timeout_seconds))
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(config.delivery.per_endpoint)
            .user_agent(concat!("procc/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        let mut service_secrets = HashMap::new();
        let mut allowed_hosts = config.delivery.allowed_hosts.clone();
        for service in &plan.catalog.services {
            let Some(hook) = &service.webhook else {
                continue;
            };
            if let Some(host) = Url::parse(&hook.url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
            {
                allowed_hosts.push(host);
            }
            let secret = read_secret(
                hook.secret_env.as_deref(),
                hook.secret_file.as_deref(),
                &config.base,
            )
            .and_then(|s| {
                s.map(String::into_bytes)
                    .ok_or_else(|| format!("service `{}` has no signing secret", service.id))
            })
            .map_err(|e| format!("cannot sign for service `{}`: {e}", service.id));
            service_secrets.insert(service.id.clone(), secret);
        }
        let webhook_secrets = match read_secret(
            config.delivery.webhook_secret_env.as_deref(),
            config.delivery.webhook_secret_file.as_deref(),
            &config.base,
        ) {
            Ok(Some(text)) => WebhookSecret::parse_list(&text),
            Ok(None) => Err("free webhooks need `delivery.webhook_secret_env` or `delivery.webhook_secret_file`".to_string()),
            Err(e) => Err(e),
        }
        .map_err(|e| format!("cannot sign free webhooks: {e}"));
        let sms_token = match &config.sms_gateway {
            Some(g) => read_secret(
                g.token_env.as_deref(),
                g.token_file.as_deref(),
                &config.base,
            ),
            None => Ok(None),
        };
        let mailer = match &config.smtp {
            Some(smtp) => Some(Mailer::new(smtp, &config.base)?),
            None => None,
        };
        Ok(Deliverer {
            engine,
            plan,
            config,
            http,
            mailer,
            service_secrets,
            webhook_secrets,
            sms_token,
            allowed_hosts,
            allowed_urls: AllowedUrls::default(),
            fallback,
        })
    }

    /// The settings.
    pub fn config(&self) -> &DeliveryConfig {
        &self.config
    }

    /// Where an effect goes, for the limit of deliveries in flight per endpoint: the origin
    /// (scheme, host, port) of a webhook or of the SMS gateway, `smtp` for e-mail, the kind
    /// for the others.
    pub fn limit_key(&self, effect: &OutboxRow) -> String {
        match effect.kind {
            EffectKind::Webhook => origin_of(&effect.to),
            EffectKind::Sms => self
                .config
                .sms_gateway
                .as_ref()
                .map_or_else(|| "sms".to_string(), |g| origin_of(&g.url)),
            EffectKind::Email => "smtp".to_string(),
            EffectKind::Letter => "letter".to_string(),
            EffectKind::Portal => "portal".to_string(),
        }
    }

    /// The longest one attempt may take: the connect timeout plus the longest total timeout
    /// (of `[delivery]`, of any service, of `[smtp]`).
    pub fn longest_attempt(&self) -> Duration {
        let services = self
            .plan
            .catalog
            .services
            .iter()
            .filter_map(|s| s.webhook.as_ref())
            .map(|h| u64::from(h.timeout_seconds));
        let smtp = self.config.smtp.as_ref().map(|s| s.timeout_seconds);
        let longest = services
            .chain(smtp)
            .fold(self.config.delivery.timeout_seconds, u64::max);
        Duration::from_secs(longest.saturating_add(self.config.delivery.connect_timeout_seconds))
    }

    /// How many attempts an effect gets in all.
    pub fn max_attempts(&self, effect: &OutboxRow) -> usize {
        let schedule = self.config.delivery.retry_schedule.len();
        match self.service_of(effect) {
            Some(hook) if hook.max_attempts > 0 => schedule.min(hook.max_attempts as usize),
            _ => schedule,
        }
    }

    fn service_of(&self, effect: &OutboxRow) -> Option<&procc_plan::ServiceWebhook> {
        let id = effect.payload.get("service")?.as_str()?;
        self.plan
            .catalog
            .services
            .iter()
            .find(|s| s.id == id)?
            .webhook
            .as_ref()
    }

    /// Makes one attempt.
    pub async fn attempt(&self, effect: &OutboxRow) -> Attempt {
        match effect.kind {
            EffectKind::Webhook => match self.service_of(effect) {
                Some(_) => self.marketplace(effect).await,
                None if effect.payload.get("service").is_some() => Attempt::refused(format!(
                    "the service of this webhook is not in the plan (effect {})",
                    effect.id
                )),
                None => self.free_webhook(effect).await,
            },
            EffectKind::Email => match &self.mailer {
                Some(m) => m.send(&self.engine, &self.plan, effect).await,
                None => Attempt {
                    status: None,
                    excerpt: None,
                    verdict: Verdict::Retry {
                        error: "no `[smtp]` server is configured".into(),
                        after: None,
                    },
                },
            },
            EffectKind::Sms => self.sms(effect).await,
            EffectKind::Letter | EffectKind::Portal => match &self.fallback {
                Some(f) => match f.deliver(effect) {
                    Ok(()) => Attempt {
                        status: None,
                        excerpt: None,
                        verdict: Verdict::Delivered,
                    },
                    Err(error) => Attempt {
                        status: None,
                        excerpt: None,
                        verdict: Verdict::Retry { error, after: None },
                    },
                },
                None => Attempt::refused("nothing delivers letters and portal syncs here"),
            },
        }
    }

    /// The signed URL of a marketplace call (public for tests and tools).
    pub fn marketplace_url(&self, effect: &OutboxRow, timestamp: i64) -> Result<String, String> {
        let hook = self
            .service_of(effect)
            .ok_or_else(|| "the service is not in the plan".to_string())?;
        if effect.to != hook.url {
            return Err(format!(
                "refused: `{}` is not the webhook URL of the service",
                effect.to
            ));
        }
        let secret = self
            .payload_str(effect, "service")
            .and_then(|id| self.service_secrets.get(id))
            .ok_or_else(|| "the service has no signing secret".to_string())?
            .as_ref()
            .map_err(Clone::clone)?;
        let mut params: Vec<(String, String)> = Vec::new();
        if let Some(Value::Object(chosen)) = effect.payload.get("parameters") {
            for (name, value) in chosen {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let Some(allowed) = hook.parameters.iter().find(|p| &p.name == name) else {
                    return Err(format!("refused: the service has no parameter `{name}`"));
                };
                if !allowed.values.is_empty() && !allowed.values.contains(&text) {
                    return Err(format!(
                        "refused: `{text}` is not an allowed value of parameter `{name}`"
                    ));
                }
                params.push((name.clone(), text));
            }
        }
        let mut context = |name: &str, value: Option<String>| {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                params.push((name.to_string(), v));
            }
        };
        if let Some(t) = &self.plan.tenant {
            context("customerWebId", Some(t.id.clone()));
            context("customerName", Some(t.name.clone()));
        }
        context(
            "userId",
            self.payload_str(effect, "user").map(str::to_string),
        );
        context("processId", effect.instance.map(|i| i.to_string()));
        context(
            "processTemplate",
            self.payload_str(effect, "template").map(str::to_string),
        );
        context(
            "processStep",
            self.payload_str(effect, "step").map(str::to_string),
        );
        let links = effect.payload.get("links");
        let link = |m: &str| {
            links
                .and_then(|l| l.get(m))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        context("addressId", link("address"));
        context("estateId", link("property"));
        context("projectId", link("project"));
        context("callId", Some(effect.idempotency_key.clone()));
        sign_url(&hook.url, &params, timestamp, secret).map_err(|e| e.to_string())
    }

    fn payload_str<'e>(&self, effect: &'e OutboxRow, key: &str) -> Option<&'e str> {
        effect.payload.get(key).and_then(Value::as_str)
    }

    async fn marketplace(&self, effect: &OutboxRow) -> Attempt {
        let url = match self.marketplace_url(effect, Utc::now().timestamp()) {
            Ok(u) => u,
            Err(e) => return Attempt::refused(e),
        };
        let method = self
            .service_of(effect)
            .map_or(HttpMethod::Post, |h| h.method);
        let timeout = self
            .service_of(effect)
            .map(|h| u64::from(h.timeout_seconds))
            .filter(|t| *t > 0)
            .unwrap_or(self.config.delivery.timeout_seconds);
        let request = self
            .http
            .request(reqwest_method(method), &url)
            .timeout(Duration::from_secs(timeout))
            .header("Idempotency-Key", &effect.idempotency_key);
        send(request).await
    }

    /// Whether a free webhook may call this URL: http(s), and its host is a service's host
    /// or in `delivery.allowed_hosts`.
    pub fn allowed(&self, url: &str) -> Result<Url, String> {
        if let Some(parsed) = self.allowed_urls.get(url) {
            return Ok(parsed);
        }
        let parsed = Url::parse(url).map_err(|e| format!("refused: `{url}` is not a URL ({e})"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("refused: `{url}` is not an http(s) URL"));
        }
        let host = parsed.host_str().unwrap_or_default();
        if !self
            .allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host))
        {
            return Err(format!(
                "refused: host `{host}` is neither a service's nor in `delivery.allowed_hosts`"
            ));
        }
        self.allowed_urls.keep(url, &parsed);
        Ok(parsed)
    }

    /// The Standard Webhooks `webhook-id` of an effect: stable across attempts.
    pub fn webhook_id(effect: &OutboxRow) -> String {
        let safe: String = effect
            .idempotency_key
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        format!("msg_{safe}")
    }

    async fn free_webhook(&self, effect: &OutboxRow) -> Attempt {
        let url = match self.allowed(&effect.to) {
            Ok(u) => u,
            Err(e) => return Attempt::refused(e),
        };
        let secrets = match &self.webhook_secrets {
            Ok(s) => s,
            Err(e) => return Attempt::refused(e.clone()),
        };
        let method = effect
            .payload
            .get("method")
            .and_then(|m| serde_json::from_value::<HttpMethod>(m.clone()).ok())
            .unwrap_or(HttpMethod::Post);
        let body = self
            .payload_str(effect, "body")
            .unwrap_or_default()
            .to_string();
        let id = Self::webhook_id(effect);
        let timestamp = Utc::now().timestamp();
        let mut request = self.http.request(reqwest_method(method), url);
        if let Some(Value::Array(headers)) = effect.payload.get("headers") {
            for pair in headers {
                if let (Some(name), Some(value)) = (
                    pair.get(0).and_then(Value::as_str),
                    pair.get(1).and_then(Value::as_str),
                ) {
                    request = request.header(name, value);
                }
            }
        }
        let request = request
            .header(WEBHOOK_ID, &id)
            .header(WEBHOOK_TIMESTAMP, timestamp)
            .header(
                WEBHOOK_SIGNATURE,
                standard::sign(secrets, &id, timestamp, &body),
            )
            .body(body);
        send(request).await
    }

    async fn sms(&self, effect: &OutboxRow) -> Attempt {
        let Some(gateway) = &self.config.sms_gateway else {
            return Attempt {
                status: None,
                excerpt: None,
                verdict: Verdict::Retry {
                    error: "no `[sms_gateway]` is configured".into(),
                    after: None,
                },
            };
        };
        let token = match &self.sms_token {
            Ok(t) => t,
            Err(e) => {
                return Attempt::refused(format!("cannot authenticate at the SMS gateway: {e}"));
            }
        };
        let text = sms_text(self.payload_str(effect, "text").unwrap_or_default());
        let body = serde_json::json!({
            "from": self.payload_str(effect, "from"),
            "to": effect.to,
            "text": text,
            "reference": effect.idempotency_key,
        });
        let mut request = self
            .http
            .post(&gateway.url)
            .header("Idempotency-Key", &effect.idempotency_key)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        send(request).await
    }

    /// Renders `{address.field}`, `{property.field}` and `{project.field}` macros from the
    /// records linked to `instance`; a macro without a value stays as written. Fails when
    /// the store cannot be read (then the message is worth trying again later) or refuses a
    /// linked id.
    pub fn render(
        engine: &Engine<S>,
        instance: Option<u64>,
        text: &str,
    ) -> procc_runtime::Result<String> {
        let links = Self::links(engine, instance)?;
        Self::render_links(engine, links.as_ref(), text)
    }

    /// The records `instance` is linked to; `None` without an instance, or for one that does
    /// not exist (its macros stay as written).
    pub(crate) fn links(
        engine: &Engine<S>,
        instance: Option<u64>,
    ) -> procc_runtime::Result<Option<procc_runtime::Links>> {
        match instance.map(|i| engine.links_of(i)) {
            Some(Ok(links)) => Ok(Some(links)),
            None | Some(Err(procc_runtime::Error::UnknownInstance(_))) => Ok(None),
            Some(Err(e)) => Err(e),
        }
    }

    /// [`Deliverer::render`] with the links read already.
    pub(crate) fn render_links(
        engine: &Engine<S>,
        links: Option<&procc_runtime::Links>,
        text: &str,
    ) -> procc_runtime::Result<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                out.push_str(&rest[open..]);
                rest = "";
                break;
            };
            let name = &after[..close];
            if name.contains('{') {
                // A brace of the text itself (JSON): the macro, if any, starts later.
                out.push('{');
                rest = after;
                continue;
            }
            let value = match name.split_once('.') {
                Some((m, field)) => Self::macro_value(engine, links, m, field)?,
                None => None,
            };
            match value {
                Some(v) => out.push_str(&v),
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The value of the macro `{module.field}`: `None` when the module, the link, the record
    /// or the field is missing.
    fn macro_value(
        engine: &Engine<S>,
        links: Option<&procc_runtime::Links>,
        module: &str,
        field: &str,
    ) -> procc_runtime::Result<Option<String>> {
        let module = match module {
            "address" => Module::Address,
            "property" => Module::Property,
            "project" => Module::Project,
            _ => return Ok(None),
        };
        let Some(id) = links.and_then(|l| l.get(module)) else {
            return Ok(None);
        };
        let Some(record) = engine.record(module, id)? else {
            return Ok(None);
        };
        // The id is the record's key, not one of its fields.
        if field == "id" {
            return Ok(Some(record.id));
        }
        Ok(record.fields.get(field).map(|value| match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }))
    }
}

/// An SMS text cut to [`SMS_MAX_CHARS`] characters (the last one an ellipsis when cut).
pub fn sms_text(text: &str) -> String {
    if text.chars().count() <= SMS_MAX_CHARS {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(SMS_MAX_CHARS - 1).collect();
    cut.push('…');
    cut
}

fn reqwest_method(method: HttpMethod) -> reqwest::Method {
    match method {
        HttpMethod::Get => reqwest::Method::GET,
        HttpMethod::Post => reqwest::Method::POST,
        HttpMethod::Put => reqwest::Method::PUT,
        HttpMethod::Patch => reqwest::Method::PATCH,
        HttpMethod::Delete => reqwest::Method::DELETE,
    }
}

/// The scheme, host and port of a URL, lowercased and without a default port, read from its
/// text: the key of an endpoint's concurrency limit, taken before every attempt, where a full
/// parse (`Url::parse`, several microseconds with an IP address for a host) would be needed
/// again for the request. For ASCII URLs it is the URL's origin; a host in other letters keeps
/// its spelling instead of its punycode, which only names the same endpoint twice.
fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => Some(":80"),
        "https" => Some(":443"),
        _ => None,
    };
    let host_port = default_port
        .and_then(|port| host_port.strip_suffix(port))
        .unwrap_or(host_port);
    format!("{scheme}://{}", host_port.to_ascii_lowercase())
}

/// Sends and classifies: 2xx delivered; 410 gone; 408, 429 and 5xx (and failures to
/// connect, time-outs and resets) retried, with `Retry-After` when the receiver gave one;
/// any other status refused.
async fn send(request: reqwest::RequestBuilder) -> Attempt {
    let mut response = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            return Attempt {
                status: None,
                excerpt: None,
                verdict: Verdict::Retry {
                    error: describe(&e),
                    after: None,
                },
            };
        }
    };
    let status = response.status();
    let after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry_after(v, Utc::now()));
    let mut excerpt = Vec::new();
    while excerpt.len() < EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
            _ => break,
        }
    }
    excerpt.truncate(EXCERPT_BYTES);
    let excerpt = Some(String::from_utf8_lossy(&excerpt).into_owned()).filter(|e| !e.is_empty());
    let error = || format!("HTTP {status}");
    let verdict = if status.is_success() {
        Verdict::Delivered
    } else if status == StatusCode::GONE {
        Verdict::Gone(error())
    } else if status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
    {
        Verdict::Retry {
            error: error(),
            after,
        }
    } else {
        Verdict::Refused(error())
    };
    Attempt {
        status: Some(status.as_u16()),
        excerpt,
        verdict,
    }
}

/// The error of a request in words, without the URL (it may carry a signature).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "the request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {cause}")
    }
}

/// `Retry-After` as seconds or an HTTP date, capped at one day.
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let cap = Duration::from_secs(86_400);
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(seconds).min(cap));
    }
    let at = DateTime::parse_from_rfc2822(value.trim()).ok()?;
    let wait = (at.with_timezone(&Utc) - now)
        .to_std()
        .unwrap_or(Duration::ZERO);
    Some(wait.min(cap))
}

#[cfg(test)]
mod tests {
    /// The endpoint key read from the text is the origin the `url` crate gives, for ASCII URLs
    /// of every shape a service or a free webhook may have.
    #[test]
    fn the_endpoint_key_is_the_urls_origin() {
        for url in [
            "https://hooks.example.de/valuation?mode=full&timestamp=1",
            "http://127.0.0.1:8080/hook",
            "http://127.0.0.1:80/hook",
            "https://Hooks.Example.DE:443/a/b#frag",
            "https://HOOKS.example.de:8443",
            "http://user:secret@hooks.example.de:81/x",
            "http://[::1]:9000/hook",
            "http://[::1]/hook",
            "https://hooks.example.de?x=1",
            "HTTP://hooks.example.de/",
        ] {
            let parsed = Url::parse(url).expect("a URL");
            assert_eq!(
                super::origin_of(url),
                parsed.origin().ascii_serialization(),
                "{url}"
            );
        }
    }

    use super::*;

    #[test]
    fn keeps_allowed_urls_up_to_a_bound_and_no_long_ones() {
        let cache = AllowedUrls::default();
        let url = Url::parse("http://127.0.0.1:8080/hook?a=1").unwrap();
        assert_eq!(cache.get(url.as_str()), None);
        cache.keep(url.as_str(), &url);
        assert_eq!(cache.get(url.as_str()), Some(url.clone()));
        assert_eq!(cache.get("http://127.0.0.1:8080/other"), None);
        let long = format!("http://127.0.0.1/{}", "x".repeat(ALLOWED_URL_BYTES));
        cache.keep(&long, &Url::parse(&long).unwrap());
        assert_eq!(cache.get(&long), None);
        for port in 0..ALLOWED_URLS_KEPT {
            let text = format!("http://127.0.0.1:{}/", port + 1);
            cache.keep(&text, &Url::parse(&text).unwrap());
        }
        // Full at the bound: the next one starts it afresh.
        assert_eq!(cache.len(), 1);
        assert_eq!(
            cache.get(&format!("http://127.0.0.1:{ALLOWED_URLS_KEPT}/")),
            Some(Url::parse(&format!("http://127.0.0.1:{ALLOWED_URLS_KEPT}/")).unwrap())
        );
    }

    #[test]
    fn reads_retry_after_in_both_forms() {
        let now = DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Mon, 02 Mar 2026 09:01:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            retry_after("999999", now),
            Some(Duration::from_secs(86_400))
        );
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn cuts_sms_texts_at_320_characters() {
        assert_eq!(sms_text("Hallo"), "Hallo");
        let long = "ä".repeat(400);
        let cut = sms_text(&long);
        assert_eq!(cut.chars().count(), 320);
        assert!(cut.ends_with('…'));
    }
}
