//! `procc run` delivers for real: the binary runs on a project whose marketplace service
//! points at an HTTP receiver on loopback and whose `[smtp]` points at aiosmtpd on loopback,
//! both started by the test; the signed call and the MIME message are checked as received.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{StatusCode, Uri};
use hmac::{Hmac, Mac};
use mail_parser::MessageParser;
use procc_diagnostics::FileId;
use procc_plan::Module;
use procc_runtime::{
    Engine, EngineConfig, InstanceStatus, Links, RecordRow, SqliteStore, StartRequest, SystemClock,
};
use serde_json::json;
use sha2::Sha256;

const SECRET: &str = "valuer-provider-secret-0815";

const PROCESS: &str = r#"process valuate "Valuation" {
  active
  needs property, address
  controller user "k.schmidt"

  step valuation: webhook valuer(mode: "full") {
    responsible supervisor of property
  }

  step inform: email template "valuation-requested" automatic {
    responsible supervisor of property
  }

  step done: end
}
"#;

fn project_file(http_port: u16, smtp_port: u16) -> String {
    format!(
        r#"files = ["*.proc"]

[tenant]
id = "musterimmo"
name = "Muster Immobilien GmbH"

[[users]]
id = "k.schmidt"
name = "Katrin Schmidt"
email = "k.schmidt@muster-immobilien.de"
rights = ["start"]

[modules.property.fields]
purchase_price = "money"

[[services]]
id = "valuer"
name = "Valuer"

[services.webhook]
url = "http://127.0.0.1:{http_port}/valuation"
method = "POST"
secret_env = "VALUER_SECRET"
timeout_seconds = 5

[services.webhook.parameters]
mode = ["full", "quick"]

[[templates.email]]
id = "valuation-requested"
subject = "Valuation of property {{property.id}} requested"
body = "The valuation of {{property.id}} (asking price {{property.purchase_price}}) is on its way."

[delivery]
retry_schedule = [0, 1, 1]

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "plain"
from = "Processes <processes@muster-immobilien.de>"
"#
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process that is killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// aiosmtpd on `port`, writing what it receives into `maildir`.
async fn smtp_server(port: u16, maildir: &Path) -> Running {
    let child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .spawn()
        .expect("python3 runs (aiosmtpd: python3 -m pip install aiosmtpd)");
    let server = Running(child);
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

fn messages(maildir: &Path) -> Vec<Vec<u8>> {
    std::fs::read_dir(maildir.join("new"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| std::fs::read(e.path()).unwrap())
                .collect()
        })
        .unwrap_or_default()
}

/// Seeds the database the way the CRM would: the plan deployed, a property and an address,
/// and one process started on them (its webhook effect waits in the outbox).
fn seed(dir: &Path) -> u64 {
    let compiled = Command::new(env!("CARGO_BIN_EXE_procc"))
        .args(["compile", "-o", "plan.json"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        compiled.status.success(),
        "{}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    let plan = procc_plan::load(
        FileId(0),
        &std::fs::read_to_string(dir.join("plan.json")).unwrap(),
    )
    .unwrap();
    let engine = Engine::new(
        SqliteStore::open(dir.join("state.db")).unwrap(),
        Arc::new(SystemClock),
        EngineConfig::default(),
    );
    engine.deploy(&plan).unwrap();
    engine
        .put_record(
            &RecordRow::new(Module::Property, "P1")
                .with("supervisor", json!("k.schmidt"))
                .with("purchase_price", json!(500000)),
        )
        .unwrap();
    engine
        .put_record(&RecordRow::new(Module::Address, "A1").with("email", json!("anna@example.org")))
        .unwrap();
    engine
        .start(&StartRequest {
            template: "valuate".into(),
            owner: "k.schmidt".into(),
            links: Links {
                address: Some("A1".into()),
                property: Some("P1".into()),
                project: None,
            },
            started_by: "k.schmidt".into(),
            ..Default::default()
        })
        .unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An HTTP receiver on loopback that answers every request with `status`; its port and the
/// URIs (path and query) it was called with.
async fn receiver(status: u16) -> (u16, Arc<Mutex<Vec<String>>>) {
    let calls: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = calls.clone();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(uri.to_string());
            (StatusCode::from_u16(status).unwrap(), "answer")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, calls)
}

/// Runs `procc run` in `dir` until `done` holds (at most 30 seconds), then stops it with
/// SIGTERM; its exit status, standard output and standard error.
async fn run_until(
    dir: &Path,
    done: impl Fn() -> bool,
) -> (std::process::ExitStatus, String, String) {
    procc_until(dir, &["run", "--db", "state.db"], done).await
}

/// Runs procc with `args` in `dir` until `done` holds (at most 30 seconds), then stops it
/// with SIGTERM; its exit status, standard output and standard error.
async fn procc_until(
    dir: &Path,
    args: &[&str],
    done: impl Fn() -> bool,
) -> (std::process::ExitStatus, String, String) {
    let mut run = Running(
        Command::new(env!("CARGO_BIN_EXE_procc"))
            .args(args)
            .current_dir(dir)
            .env("VALUER_SECRET", SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() && Instant::now() < deadline {
        if let Some(status) = run.0.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(run.0.stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("procc {args:?} ended early with {status}: {err}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stopped = Command::new("kill")
        .args(["-TERM", &run.0.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    finish(&mut run.0)
}

/// A project in `dir` with the receiver and the SMTP server on these ports, seeded.
fn project(dir: &Path, http_port: u16, smtp_port: u16) -> u64 {
    std::fs::write(dir.join("procc.toml"), project_file(http_port, smtp_port)).unwrap();
    std::fs::write(dir.join("valuate.proc"), PROCESS).unwrap();
    seed(dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn procc_run_signs_the_webhook_and_mails_the_rendered_template() {
    let dir = tempfile::tempdir().unwrap();
    let maildir: PathBuf = dir.path().join("maildir");
    let smtp_port = free_port();
    let _smtp = smtp_server(smtp_port, &maildir).await;
    let (http_port, calls) = receiver(200).await;
    let instance = project(dir.path(), http_port, smtp_port);

    let out = run_until(dir.path(), || {
        !calls.lock().unwrap().is_empty() && !messages(&maildir).is_empty()
    })
    .await;
    assert_eq!(out.0.code(), Some(0), "a graceful stop: {}", out.2);
    assert!(
        !out.1.contains(SECRET) && !out.2.contains(SECRET),
        "the secret is never printed"
    );

    // The marketplace call: the chosen parameter and the context on the URL, sorted by name,
    // a fresh timestamp, and the HMAC of the URL without its signature.
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let url = format!("http://127.0.0.1:{http_port}{}", calls[0]);
    let (unsigned, signature) = url.rsplit_once("&signature=").unwrap();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(unsigned.as_bytes());
    assert_eq!(signature, hex(&mac.finalize().into_bytes()), "{url}");
    let query = unsigned.split_once('?').unwrap().1;
    let params: Vec<(&str, &str)> = query
        .split('&')
        .map(|p| p.split_once('=').unwrap())
        .collect();
    let names: Vec<&str> = params.iter().map(|(k, _)| *k).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "parameters are sorted by name: {url}");
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("no `{name}` in {url}"))
    };
    assert_eq!(param("mode"), "full");
    assert_eq!(param("customerWebId"), "musterimmo");
    assert_eq!(param("customerName"), "Muster+Immobilien+GmbH");
    assert_eq!(param("estateId"), "P1");
    assert_eq!(param("addressId"), "A1");
    assert_eq!(param("processId"), instance.to_string());
    assert_eq!(param("processTemplate"), "valuate");
    assert_eq!(param("processStep"), "valuation");
    assert_eq!(param("userId"), "k.schmidt");
    let timestamp: i64 = param("timestamp").parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - timestamp).abs() < 120, "{timestamp} vs {now}");

    // The e-mail step's template, with record macros rendered, to the linked address.
    let raw = messages(&maildir);
    assert_eq!(raw.len(), 1);
    let mail = MessageParser::default().parse(&raw[0]).unwrap();
    assert_eq!(
        mail.to().and_then(|t| t.first()).and_then(|a| a.address()),
        Some("anna@example.org")
    );
    assert_eq!(mail.subject(), Some("Valuation of property P1 requested"));
    let body = mail.body_text(0).unwrap();
    assert!(
        body.contains("The valuation of P1 (asking price 500000) is on its way."),
        "{body}"
    );

    // Both deliveries were recorded: the process went on to its end.
    let engine = Engine::new(
        SqliteStore::open(dir.path().join("state.db")).unwrap(),
        Arc::new(SystemClock),
        EngineConfig::default(),
    );
    let view = engine.instance(instance).unwrap();
    assert_eq!(view.instance.status, InstanceStatus::Completed, "{view:?}");
    let effects = engine.deliveries(instance).unwrap();
    assert!(
        effects.iter().all(|e| e.delivered_at.is_some()),
        "{effects:?}"
    );
}

/// The exit status, standard output and standard error of a child that was told to stop.
fn finish(child: &mut Child) -> (std::process::ExitStatus, String, String) {
    let mut out = String::new();
    let mut err = String::new();
    if let Some(s) = child.stdout.as_mut() {
        std::io::Read::read_to_string(s, &mut out).unwrap();
    }
    if let Some(s) = child.stderr.as_mut() {
        std::io::Read::read_to_string(s, &mut err).unwrap();
    }
    (child.wait().unwrap(), out, err)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn procc_serve_delivers_through_smtp_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let maildir: PathBuf = dir.path().join("maildir");
    let smtp_port = free_port();
    let _smtp = smtp_server(smtp_port, &maildir).await;
    let (http_port, calls) = receiver(200).await;
    let instance = project(dir.path(), http_port, smtp_port);

    let args = ["serve", "--listen", "127.0.0.1:0", "--db", "state.db"];
    let out = procc_until(dir.path(), &args, || {
        !calls.lock().unwrap().is_empty() && !messages(&maildir).is_empty()
    })
    .await;
    // The SMTP pool is built and dropped inside the runtime: no internal error on the way.
    assert_eq!(out.0.code(), Some(0), "a graceful stop: {}", out.2);
    assert!(!out.2.contains("internal error"), "{}", out.2);
    assert_eq!(calls.lock().unwrap().len(), 1);
    let raw = messages(&maildir);
    let mail = MessageParser::default().parse(&raw[0]).unwrap();
    assert_eq!(mail.subject(), Some("Valuation of property P1 requested"));
    let engine = Engine::new(
        SqliteStore::open(dir.path().join("state.db")).unwrap(),
        Arc::new(SystemClock),
        EngineConfig::default(),
    );
    assert_eq!(
        engine.instance(instance).unwrap().instance.status,
        InstanceStatus::Completed
    );
}

fn procc(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_procc"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_410_disables_the_endpoint_until_procc_endpoint_enable() {
    let dir = tempfile::tempdir().unwrap();
    let maildir: PathBuf = dir.path().join("maildir");
    let smtp_port = free_port();
    let _smtp = smtp_server(smtp_port, &maildir).await;
    let (http_port, calls) = receiver(410).await;
    let instance = project(dir.path(), http_port, smtp_port);

    let out = run_until(dir.path(), || {
        !calls.lock().unwrap().is_empty() && !messages(&maildir).is_empty()
    })
    .await;
    assert_eq!(out.0.code(), Some(0), "{}", out.2);
    assert_eq!(calls.lock().unwrap().len(), 1, "a 410 is not retried");
    // The step became manual and the controller was told.
    let raw = messages(&maildir);
    let notice = MessageParser::default().parse(&raw[0]).unwrap();
    assert_eq!(
        notice
            .to()
            .and_then(|t| t.first())
            .and_then(|a| a.address()),
        Some("k.schmidt@muster-immobilien.de")
    );
    assert!(
        notice.subject().unwrap_or_default().contains("410"),
        "{:?}",
        notice.subject()
    );

    let endpoint = format!("http://127.0.0.1:{http_port}/valuation");
    let list = procc(dir.path(), &["endpoint", "list", "--db", "state.db"]);
    assert_eq!(list.status.code(), Some(0));
    let listed = String::from_utf8_lossy(&list.stdout).into_owned();
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(
        listed.starts_with(&format!("{endpoint}\tHTTP 410")),
        "{listed}"
    );

    let enable = procc(
        dir.path(),
        &[
            "endpoint", "enable", &endpoint, "--db", "state.db", "--by", "ops",
        ],
    );
    assert_eq!(
        enable.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&enable.stderr)
    );
    let list = procc(dir.path(), &["endpoint", "list", "--db", "state.db"]);
    assert!(list.stdout.is_empty());
    assert!(String::from_utf8_lossy(&list.stderr).contains("no endpoint is disabled"));
    let again = procc(
        dir.path(),
        &["endpoint", "enable", &endpoint, "--db", "state.db"],
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not disabled"));
    let missing = procc(dir.path(), &["endpoint", "list", "--db", "nothing.db"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(!dir.path().join("nothing.db").exists());

    let engine = Engine::new(
        SqliteStore::open(dir.path().join("state.db")).unwrap(),
        Arc::new(SystemClock),
        EngineConfig::default(),
    );
    assert!(
        engine
            .audit()
            .unwrap()
            .iter()
            .any(|a| a.event == "endpoint_enabled" && a.who == "ops")
    );
    let view = engine.instance(instance).unwrap();
    assert!(
        view.step("valuation")
            .and_then(|s| s.degraded.clone())
            .is_some_and(|d| d.contains("410")),
        "{view:?}"
    );
}
