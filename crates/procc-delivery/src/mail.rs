//! E-mail over SMTP with lettre: the step's template (or the notice) rendered with record
//! macros, to the address the effect names.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use procc_plan::Plan;
use procc_runtime::{Engine, OutboxRow, Store};
use serde_json::Value;

use crate::config::{Security, Smtp, read_secret};
use crate::dispatcher::with_store;
use crate::http::{Attempt, Deliverer, Verdict};

/// An SMTP connection pool and the sender.
pub(crate) struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub(crate) fn new(smtp: &Smtp, base: &std::path::Path) -> Result<Mailer, String> {
        let builder = match smtp.security {
            Security::Plain => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
                .port(smtp.port.unwrap_or(25)),
            Security::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                .map_err(|e| format!("cannot set up SMTP with STARTTLS for `{}`: {e}", smtp.host))?
                .port(smtp.port.unwrap_or(587)),
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                .map_err(|e| format!("cannot set up SMTP over TLS for `{}`: {e}", smtp.host))?
                .port(smtp.port.unwrap_or(465)),
        };
        let mut builder = builder.timeout(Some(Duration::from_secs(smtp.timeout_seconds)));
        if let Some(user) = &smtp.username {
            let password = read_secret(
                smtp.password_env.as_deref(),
                smtp.password_file.as_deref(),
                base,
            )
            .map_err(|e| format!("cannot log in to SMTP: {e}"))?
            .unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let from: Mailbox = smtp
            .from
            .parse()
            .map_err(|e| format!("`smtp.from` is not an e-mail address: {e}"))?;
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
    }

    pub(crate) async fn send<S: Store + 'static>(
        &self,
        engine: &Arc<Engine<S>>,
        plan: &Arc<Plan>,
        effect: &OutboxRow,
    ) -> Attempt {
        // Composing reads the process and its records.
        let (plan, from) = (plan.clone(), self.from.clone());
        let effect = effect.clone();
        let composed = with_store(engine, move |engine| compose(engine, &plan, &effect, &from))
            .await
            .unwrap_or_else(|e| Err(retry(format!("composing failed: {e}"))));
        let message = match composed {
            Ok(m) => m,
            Err(verdict) => {
                return Attempt {
                    status: None,
                    excerpt: None,
                    verdict,
                };
            }
        };
        match self.transport.send(message).await {
            Ok(response) => Attempt {
                status: Some(u16::from(response.code())),
                excerpt: Some(response.message().collect::<Vec<_>>().join(" ")),
                verdict: Verdict::Delivered,
            },
            Err(e) => {
                let status = e.status().map(u16::from);
                let error = format!("SMTP: {e}");
                Attempt {
                    status,
                    excerpt: None,
                    verdict: if e.is_permanent() {
                        Verdict::Refused(error)
                    } else {
                        retry(error)
                    },
                }
            }
        }
    }
}

fn text<'e>(effect: &'e OutboxRow, key: &str) -> Option<&'e str> {
    effect.payload.get(key).and_then(Value::as_str)
}

/// Another attempt later, when the receiver named no time.
fn retry(error: String) -> Verdict {
    Verdict::Retry { error, after: None }
}

/// The message of an e-mail effect; why not (for good: an address that is not one, a message
/// that cannot be built; for now: the records could not be read) as the attempt's verdict.
pub(crate) fn compose<S: Store + 'static>(
    engine: &Engine<S>,
    plan: &Plan,
    effect: &OutboxRow,
    default_from: &Mailbox,
) -> Result<Message, Verdict> {
    let p = &effect.payload;
    let template = text(effect, "template").and_then(|id| {
        plan.catalog
            .email_templates
            .iter()
            .find(|t| t.id == id && p.get("notice").is_none())
    });
    let unreadable =
        |e: procc_runtime::Error| retry(format!("cannot read the records of the message: {e}"));
    // The links are read once, for the subject and the body.
    let links = Deliverer::links(engine, effect.instance).map_err(unreadable)?;
    let render = |t: &str| Deliverer::render_links(engine, links.as_ref(), t).map_err(unreadable);
    let subject = match (text(effect, "subject"), template) {
        (Some(s), _) => render(s)?,
        (None, Some(t)) => render(&t.subject)?,
        (None, None) => "Process notice".to_string(),
    };
    let mut body = match template.and_then(|t| t.body.as_deref()) {
        Some(b) => render(b)?,
        None => String::new(),
    };
    let process = effect
        .instance
        .map(|i| format!("process {i}"))
        .unwrap_or_else(|| "a process".to_string());
    match text(effect, "notice") {
        Some("controller") => {
            body = format!(
                "{subject}\n\nThis concerns {process} ({}).\n",
                text(effect, "template").unwrap_or("-")
            );
        }
        Some("reminder") => {
            body = format!(
                "{subject}\n\nStep `{}` of {process} waits for you.\n",
                text(effect, "step").unwrap_or("-")
            );
        }
        _ => {}
    }
    if let Some(decision) = p.get("decision") {
        let ttl = engine.config().decision_link_ttl.num_days();
        let link = |k: &str| {
            decision
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        body.push_str(&format!(
            "{}Step `{}` of {process} needs your decision.\n\nYes: {}\nNo: {}\n\nThe links are valid for {ttl} days and for this decision only.\n",
            if body.is_empty() { "" } else { "\n" },
            text(effect, "step").unwrap_or("-"),
            link("yes"),
            link("no"),
        ));
    }
    if let Some(note) = text(effect, "note") {
        body.push_str(&format!("\n{note}\n"));
    }
    if let Some(forward) = text(effect, "forward") {
        body.push_str(&format!("\nForwarded e-mail: {forward}\n"));
    }
    if body.is_empty() {
        body = format!("{subject}\n");
    }
    let from = match text(effect, "mailbox") {
        Some(m) => m.parse().map_err(|e| {
            Verdict::Refused(format!("the mailbox `{m}` is not an e-mail address: {e}"))
        })?,
        None => default_from.clone(),
    };
    let to: Mailbox = effect
        .to
        .parse()
        .map_err(|e| Verdict::Refused(format!("`{}` is not an e-mail address: {e}", effect.to)))?;
    let safe: String = effect
        .idempotency_key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '.' })
        .collect();
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .message_id(Some(format!("<{safe}@procc>")));
    for (key, cc) in [("cc", true), ("bcc", false)] {
        if let Some(Value::Array(list)) = p.get(key) {
            for address in list.iter().filter_map(Value::as_str) {
                let mailbox: Mailbox = address.parse().map_err(|e| {
                    Verdict::Refused(format!("`{address}` is not an e-mail address: {e}"))
                })?;
                builder = if cc {
                    builder.cc(mailbox)
                } else {
                    builder.bcc(mailbox)
                };
            }
        }
    }
    builder
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| Verdict::Refused(format!("cannot build the e-mail: {e}")))
}
