//! A test project (the example catalog with services pointing at loopback receivers),
//! engines on SQLite, and HTTP receivers whose answers the tests script.

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use procc_delivery::{Deliverer, DeliveryConfig, Dispatcher};
use procc_diagnostics::FileId;
use procc_plan::{Module, Plan, Template};
use procc_runtime::*;
use serde_json::{Value, json};
use tokio::sync::Notify;

pub const SERVICE_SECRET: &str = "sprengnetter-provider-secret-4711";
pub const WHSEC_OLD: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const WHSEC_NEW: &str = "whsec_dGhpcyBpcyB0aGUgbmV3IHNlY3JldCBvZiAzMiBieXRlcw==";

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a receiver answers to its n-th request (0-based).
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    /// Answer only after this is notified (a slow receiver).
    pub hold: Option<Arc<Notify>>,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: format!("status {status}"),
            hold: None,
        }
    }
}

type Script = Arc<dyn Fn(usize) -> Reply + Send + Sync>;

/// An HTTP server on 127.0.0.1 that logs requests and answers as scripted.
pub struct Receiver {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    pub async fn start(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Receiver {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let script: Script = Arc::new(script);
        let log = seen.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let log = log.clone();
                let script = script.clone();
                async move {
                    let n = {
                        let mut log = log.lock().unwrap();
                        log.push(Seen {
                            method: method.to_string(),
                            uri: uri.to_string(),
                            headers: headers
                                .iter()
                                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                                .collect(),
                            body: String::from_utf8_lossy(&body).into_owned(),
                        });
                        log.len() - 1
                    };
                    let reply = script(n);
                    if let Some(hold) = &reply.hold {
                        hold.notified().await;
                    }
                    let mut response: Response =
                        (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
                    for (k, v) in reply.headers {
                        response.headers_mut().insert(k, v.parse().unwrap());
                    }
                    response
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url, seen, task }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A receiver that answers 200 to every request only once `hold` (returned) is notified: a
/// slow receiver.
pub async fn holding_receiver() -> (Receiver, Arc<Notify>) {
    let hold = Arc::new(Notify::new());
    let held = hold.clone();
    let receiver = Receiver::start(move |_| Reply {
        hold: Some(held.clone()),
        ..Reply::status(200)
    })
    .await;
    (receiver, hold)
}

/// The example plan with the sprengnetter service at `service_url` (secret in a file) and
/// these templates.
pub fn plan(service_url: &str, templates: Vec<Template>) -> Plan {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/plans/examples.plan.json"
    ))
    .unwrap();
    let mut ex = procc_plan::load(FileId(0), &text).unwrap();
    for s in &mut ex.catalog.services {
        if let Some(hook) = &mut s.webhook
            && s.id == "sprengnetter"
        {
            hook.url = service_url.to_string();
            hook.secret_env = None;
            hook.secret_file = Some("sprengnetter.key".to_string());
        }
    }
    Plan::new(ex.tenant, ex.catalog, templates)
}

fn step(name: &str, action: Value) -> Value {
    json!({
        "name": name, "action": action, "start_after": null,
        "responsible": {"kind": "supervisor", "of": "property"}, "deadline": [],
        "concerns": [], "skippable": false, "automatic": true, "next": null, "incoming": [],
        "source": {"file": "test.proc", "line": 1, "column": 1}
    })
}

/// A template of one automatic step and an end, needing a property and an address.
pub fn template(name: &str, action: Value) -> Template {
    let steps = vec![
        {
            let mut s = step("act", action);
            s["next"] = json!({"kind": "step", "step": 1});
            s
        },
        {
            let mut s = step("done", json!({"kind": "end"}));
            s["next"] = json!({"kind": "end"});
            s
        },
    ];
    serde_json::from_value(json!({
        "name": name, "title": null, "description": null, "active": true,
        "needs": ["property", "address"], "needs_email": false,
        "controller": {"kind": "user", "id": "k.schmidt"},
        "notify_controller_on_cancel": false, "triggers": [], "steps": steps,
        "source": {"file": "test.proc", "line": 1, "column": 1}
    }))
    .unwrap()
}

pub fn valuation() -> Template {
    template(
        "valuate",
        json!({"kind": "service_webhook", "service": "sprengnetter",
               "parameter": {"name": "mode", "value": {"kind": "value", "value": {"type": "text", "value": "full"}}}}),
    )
}

pub fn free_hook(url: &str) -> Template {
    template(
        "sync",
        json!({"kind": "free_webhook", "method": "POST", "url": url,
               "headers": [{"name": "Content-Type", "value": "application/json"}],
               "body": "{\"event\": \"sync\", \"price\": {property.purchase_price}}"}),
    )
}

/// An engine on a SQLite file in `dir` with the plan deployed and records P1 and A1.
pub fn engine(dir: &Path, plan: &Plan) -> Arc<Engine<SqliteStore>> {
    let store = SqliteStore::open(dir.join("state.db")).unwrap();
    prepared(store, dir, plan)
}

/// An engine on `store` with the plan deployed, records P1 and A1, and the secrets in `dir`.
pub fn prepared<S: Store + 'static>(store: S, dir: &Path, plan: &Plan) -> Arc<Engine<S>> {
    let engine = Arc::new(Engine::new(
        store,
        Arc::new(SystemClock),
        EngineConfig {
            decision_secret: b"decision-secret-for-tests".to_vec(),
            decision_base_url: "https://crm.example/decide".into(),
            ..EngineConfig::default()
        },
    ));
    engine.deploy(plan).unwrap();
    engine
        .put_record(
            &RecordRow::new(Module::Property, "P1")
                .with("supervisor", json!("a.yilmaz"))
                .with("purchase_price", json!(500000)),
        )
        .unwrap();
    engine
        .put_record(
            &RecordRow::new(Module::Address, "A1")
                .with("email", json!("anna@example.org"))
                .with("mobile", json!("+49 170 1111111"))
                .with("supervisor", json!("m.weber")),
        )
        .unwrap();
    std::fs::write(dir.join("sprengnetter.key"), SERVICE_SECRET).unwrap();
    std::fs::write(dir.join("whsec"), format!("{WHSEC_OLD} {WHSEC_NEW}")).unwrap();
    engine
}

pub fn start<S: Store + 'static>(engine: &Engine<S>, template: &str) -> InstanceId {
    engine
        .start(&StartRequest {
            template: template.into(),
            owner: "j.becker".into(),
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

/// Settings: quick retries for tests, the free-webhook secrets in a file; `delivery`
/// replaces keys of `[delivery]`, `tables` adds tables.
pub fn config(dir: &Path, delivery: &[(&str, &str)], tables: &str) -> DeliveryConfig {
    let mut keys = vec![
        ("retry_schedule", "[0, 0, 0]"),
        ("timeout_seconds", "2"),
        ("connect_timeout_seconds", "1"),
        ("webhook_secret_file", "\"whsec\""),
        ("allowed_hosts", "[\"127.0.0.1\"]"),
    ];
    for (k, v) in delivery {
        keys.retain(|(n, _)| n != k);
        keys.push((k, v));
    }
    let lines: Vec<String> = keys.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    let text = format!("[delivery]\n{}\n{tables}", lines.join("\n"));
    DeliveryConfig::from_toml(&text, dir).unwrap()
}

pub fn dispatcher(
    engine: &Arc<Engine<SqliteStore>>,
    plan: &Plan,
    config: DeliveryConfig,
) -> Dispatcher<SqliteStore> {
    let deliverer = Deliverer::new(engine.clone(), Arc::new(plan.clone()), config, None).unwrap();
    Dispatcher::new(engine.clone(), deliverer)
}

#[path = "../../../procc-runtime/tests/support/postgres.rs"]
mod postgres_support;
pub use postgres_support::{Schema, postgres_url};

pub fn step_state(engine: &Engine<SqliteStore>, id: InstanceId) -> StepRow {
    engine.instance(id).unwrap().step("act").unwrap().clone()
}

pub fn hooks(engine: &Engine<SqliteStore>, id: InstanceId) -> Vec<OutboxRow> {
    engine
        .deliveries(id)
        .unwrap()
        .into_iter()
        .filter(|o| o.kind == EffectKind::Webhook)
        .collect()
}
