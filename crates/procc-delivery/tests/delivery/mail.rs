//! E-mail goes over SMTP to a real server on loopback (aiosmtpd, from PyPI) and is read back
//! from its maildir with a MIME parser.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::Duration;

use mail_parser::MessageParser;
use procc_runtime::*;
use serde_json::json;

use crate::common::*;

/// aiosmtpd on a free loopback port, writing what it receives into a maildir.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpServer {
    async fn start(dir: &Path) -> SmtpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = dir.join("maildir");
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .spawn()
            .expect("python3 runs (aiosmtpd: python3 -m pip install aiosmtpd)");
        let server = SmtpServer {
            child,
            port,
            maildir,
        };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("aiosmtpd did not start; install it with `python3 -m pip install aiosmtpd`");
    }

    /// The raw messages received so far.
    fn messages(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) {
            for e in entries.flatten() {
                out.push(std::fs::read(e.path()).unwrap());
            }
        }
        out
    }
}

fn smtp_table(port: u16) -> String {
    format!(
        "[smtp]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"plain\"\nfrom = \"Processes <processes@example-immobilien.de>\"\n"
    )
}

fn decision_template() -> procc_plan::Template {
    let mut t = template(
        "decide",
        json!({"kind": "decision", "mode": "by_email", "question": "Is the mandate exclusive?",
               "condition": null, "notify_decider": false}),
    );
    t.steps[0].automatic = false;
    t.steps[0].next = procc_plan::Next::Branch { yes: 1, no: 1 };
    t
}

fn mail_template() -> procc_plan::Template {
    template(
        "mail",
        json!({"kind": "email", "template": "acquisition-intro", "send_at": null,
               "signature": true, "mailbox": null, "contact": null}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e_mails_reach_a_real_smtp_server_with_subject_links_and_notices() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(dir.path()).await;
    let receiver = Receiver::start(|_| Reply::status(400)).await;
    let plan = plan(
        &format!("{}/hook", receiver.url),
        vec![valuation(), decision_template(), mail_template()],
    );
    let engine = engine(dir.path(), &plan);
    let failed = start(&engine, "valuate");
    let decision = start(&engine, "decide");
    let mail = start(&engine, "mail");
    dispatcher(
        &engine,
        &plan,
        config(dir.path(), &[], &smtp_table(smtp.port)),
    )
    .drain()
    .await
    .unwrap();

    // Every e-mail effect was delivered, with the server's reply logged.
    let mails: Vec<OutboxRow> = [failed, decision, mail]
        .iter()
        .flat_map(|id| engine.deliveries(*id).unwrap())
        .filter(|o| o.kind == EffectKind::Email)
        .collect();
    assert_eq!(mails.len(), 3, "{mails:?}");
    for m in &mails {
        assert!(m.delivered_at.is_some(), "{m:?}");
        assert_eq!(engine.attempts(m.id).unwrap()[0].status, Some(250));
    }

    let raw = smtp.messages();
    assert_eq!(raw.len(), 3);
    let parsed: Vec<_> = raw
        .iter()
        .map(|r| MessageParser::default().parse(r).expect("a MIME message"))
        .collect();
    let find = |to: &str| {
        parsed
            .iter()
            .find(|m| m.to().and_then(|t| t.first()).and_then(|a| a.address()) == Some(to))
            .unwrap_or_else(|| panic!("no mail to {to}"))
    };
    // The controller hears that the webhook step became manual.
    let notice = find("k.schmidt@example-immobilien.de");
    assert!(
        notice
            .subject()
            .unwrap()
            .contains("delivery failed: HTTP 400"),
        "{:?}",
        notice.subject()
    );
    assert_eq!(
        notice.from().unwrap().first().unwrap().address(),
        Some("processes@example-immobilien.de")
    );
    // The decider gets signed yes/no links that the engine accepts.
    let ask = find("a.yilmaz@example-immobilien.de");
    assert_eq!(ask.subject(), Some("Is the mandate exclusive?"));
    let body = ask.body_text(0).unwrap().to_string();
    let yes = body
        .lines()
        .find_map(|l| l.strip_prefix("Yes: "))
        .unwrap()
        .trim()
        .to_string();
    assert!(body.contains("valid for 14 days"), "{body}");
    let token = yes.split_once("?token=").unwrap().1;
    engine.decide_by_token(token).unwrap();
    assert_eq!(
        engine
            .instance(decision)
            .unwrap()
            .step("act")
            .unwrap()
            .answer,
        Some(true)
    );
    // The e-mail step's template, to the linked address, with a stable Message-ID.
    let intro = find("anna@example.org");
    assert_eq!(
        intro.subject(),
        Some("Selling your property with Example Immobilien")
    );
    assert!(intro.message_id().unwrap().ends_with("@procc"));
}

/// Composing an e-mail reads its process and records; on PostgreSQL that is a blocking call
/// through the client's own runtime, which must not run on a delivery thread. (Not a tokio
/// test: PostgreSQL's client cannot be opened inside a runtime either.)
#[test]
fn e_mails_are_composed_from_a_postgresql_store() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let smtp = runtime.block_on(SmtpServer::start(dir.path()));
    let plan = plan("http://127.0.0.1:9/unused", vec![mail_template()]);
    let schema = Schema::new();
    let store =
        PostgresStore::open_schema(&postgres_url(), &schema.name).expect("PostgreSQL is up");
    let engine = prepared(store, dir.path(), &plan);
    let id = start(&engine, "mail");
    let settings = config(dir.path(), &[], &smtp_table(smtp.port));
    let delivery =
        procc_delivery::DeliveryThreads::new(&engine, &Arc::new(plan), &settings, None).unwrap();
    let attempts = delivery.drain().unwrap();
    let mail = &engine.deliveries(id).unwrap()[0];
    assert_eq!(attempts, 1, "{:?}", engine.attempts(mail.id).unwrap());
    assert!(mail.delivered_at.is_some());
    let raw = smtp.messages();
    assert_eq!(raw.len(), 1);
    let message = MessageParser::default()
        .parse(&raw[0])
        .expect("a MIME message");
    assert_eq!(
        message.subject(),
        Some("Selling your property with Example Immobilien")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e_mail_to_an_smtp_server_that_is_down_is_retried_then_given_up() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let plan = plan("http://127.0.0.1:9/unused", vec![mail_template()]);
    let engine = engine(dir.path(), &plan);
    let id = start(&engine, "mail");
    dispatcher(&engine, &plan, config(dir.path(), &[], &smtp_table(port)))
        .drain()
        .await
        .unwrap();
    let mail = &engine.deliveries(id).unwrap()[0];
    let attempts = engine.attempts(mail.id).unwrap();
    assert_eq!(attempts.len(), 3);
    assert!(mail.failed_at.is_some());
    assert!(
        attempts[2]
            .error
            .as_deref()
            .unwrap()
            .starts_with("gave up after 3 attempts: SMTP")
    );
    assert!(
        engine
            .instance(id)
            .unwrap()
            .history
            .iter()
            .any(|a| a.event == "delivery_failed")
    );
}

/// A memory store whose reads fail once `reads_left` reaches 0, as a database that cannot
/// be reached any more.
struct FlakyStore {
    inner: MemoryStore,
    reads_left: std::sync::atomic::AtomicUsize,
}

impl FlakyStore {
    fn fail_after(&self, reads: usize) {
        self.reads_left
            .store(reads, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Store for FlakyStore {
    fn transaction<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        self.inner.transaction(f)
    }
    fn read_transaction<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        let left = &self.reads_left;
        if left
            .fetch_update(
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
                |n| n.checked_sub(1),
            )
            .is_err()
        {
            return Err(Error::Unavailable("the database cannot be reached".into()));
        }
        self.inner.read_transaction(f)
    }
}

#[test]
fn macros_render_from_records_and_a_store_that_cannot_be_read_is_an_error_not_a_blank() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan("http://127.0.0.1:9/unused", vec![mail_template()]);
    let store = FlakyStore {
        inner: MemoryStore::new(),
        reads_left: std::sync::atomic::AtomicUsize::new(usize::MAX),
    };
    let engine = prepared(store, dir.path(), &plan);
    let id = start(&engine, "mail");
    let text = "Price {property.purchase_price}, {property.id}, {property.none}, {other.x}";
    let render = |instance| procc_delivery::Deliverer::render(&engine, instance, text);
    assert_eq!(
        render(Some(id)).unwrap(),
        "Price 500000, P1, {property.none}, {other.x}"
    );
    // No such process: the macros stay as written.
    assert_eq!(
        render(Some(id + 1000)).unwrap(),
        "Price {property.purchase_price}, {property.id}, {property.none}, {other.x}"
    );
    // The process cannot be read, or (after it) its record: an error either way.
    for reads in [0, 1] {
        engine.store().fail_after(reads);
        let error = render(Some(id)).unwrap_err();
        assert!(error.to_string().contains("cannot be reached"), "{error}");
    }
}
