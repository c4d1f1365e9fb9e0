//! Shared fixtures: the example plan, hand-built plans, records, and a harness per store.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use procc_diagnostics::FileId;
use procc_plan::{Module, Plan, StepIndex, Template};
use procc_runtime::*;
use serde_json::{Value, json};

pub const SECRET: &[u8] = b"test-secret";

pub fn examples() -> Plan {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/plans/examples.plan.json"
    ))
    .expect("the example plan exists");
    procc_plan::load(FileId(0), &text).expect("the example plan loads")
}

/// Berlin wall time.
pub fn berlin(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Berlin
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("unambiguous")
        .with_timezone(&Utc)
}

/// A step as JSON with defaults: manual, owner responsible, no delay.
pub fn step(name: &str, action: Value) -> Value {
    json!({
        "name": name, "action": action, "start_after": null,
        "responsible": {"kind": "owner"}, "deadline": [], "concerns": [],
        "skippable": false, "automatic": false, "next": null, "incoming": [],
        "source": {"file": "test.proc", "line": 1, "column": 1}
    })
}

pub fn with(mut step: Value, key: &str, value: Value) -> Value {
    step[key] = value;
    step
}

pub fn auto(step: Value) -> Value {
    with(step, "automatic", json!(true))
}

pub fn end(name: &str) -> Value {
    auto(step(name, json!({"kind": "end"})))
}

/// A template whose steps without `next` lead to the following one (the last one ends).
pub fn template(name: &str, mut steps: Vec<Value>, extra: Value) -> Template {
    let n = steps.len();
    for (i, s) in steps.iter_mut().enumerate() {
        if s["next"].is_null() {
            s["next"] = if i + 1 < n {
                json!({"kind": "step", "step": i + 1})
            } else {
                json!({"kind": "end"})
            };
        }
    }
    let mut t = json!({
        "name": name, "title": null, "description": null, "active": true, "needs": [],
        "needs_email": false, "controller": {"kind": "user", "id": "k.schmidt"},
        "notify_controller_on_cancel": false, "triggers": [], "steps": steps,
        "source": {"file": "test.proc", "line": 1, "column": 1}
    });
    if let Value::Object(extra) = extra {
        for (k, v) in extra {
            t[k] = v;
        }
    }
    serde_json::from_value(t).expect("a valid template")
}

/// A plan of these templates with the example catalog.
pub fn plan(templates: Vec<Template>) -> Plan {
    let ex = examples();
    Plan::new(ex.tenant, ex.catalog, templates)
}

pub fn records() -> Vec<RecordRow> {
    vec![
        RecordRow::new(Module::Address, "A1")
            .with("email", json!("anna@example.org"))
            .with("mobile", json!("+49 170 1111111"))
            .with("supervisor", json!("m.weber"))
            .with("birthday", json!("1980-03-05")),
        RecordRow::new(Module::Address, "A2").with("supervisor", json!("a.yilmaz")),
        RecordRow::new(Module::Property, "P1")
            .with("supervisor", json!("a.yilmaz"))
            .with("status", json!("acquisition"))
            .with("purchase_price", json!(500000))
            .with("living_area", json!(120)),
    ]
}

pub struct H<S: Store> {
    pub engine: Engine<S>,
    pub clock: VirtualClock,
    pub connector: RecordingConnector,
    /// What the store lives in (a temporary directory, a PostgreSQL schema), removed on drop.
    pub _home: Option<Box<dyn std::any::Any>>,
}

pub fn config() -> EngineConfig {
    EngineConfig {
        decision_secret: SECRET.to_vec(),
        ..EngineConfig::default()
    }
}

/// Monday 2 March 2026, 09:00 in Düsseldorf.
pub fn t0() -> DateTime<Utc> {
    berlin(2026, 3, 2, 9, 0)
}

pub fn memory(plan: &Plan) -> H<MemoryStore> {
    let clock = VirtualClock::new(t0());
    let engine = Engine::new(MemoryStore::new(), Arc::new(clock.clone()), config());
    setup(
        H {
            engine,
            clock,
            connector: RecordingConnector::new(),
            _home: None,
        },
        plan,
    )
}

pub fn sqlite(plan: &Plan) -> H<SqliteStore> {
    let dir = tempfile::tempdir().expect("a temp dir");
    let store = SqliteStore::open(dir.path().join("runtime.db")).expect("the store opens");
    let clock = VirtualClock::new(t0());
    let engine = Engine::new(store, Arc::new(clock.clone()), config());
    setup(
        H {
            engine,
            clock,
            connector: RecordingConnector::new(),
            _home: Some(Box::new(dir)),
        },
        plan,
    )
}

#[path = "../support/postgres.rs"]
mod postgres_support;
pub use postgres_support::{Schema, postgres_url};

pub fn postgres(plan: &Plan) -> H<PostgresStore> {
    let schema = Schema::new();
    let store =
        PostgresStore::open_schema(&postgres_url(), &schema.name).expect("PostgreSQL is up");
    let clock = VirtualClock::new(t0());
    let engine = Engine::new(store, Arc::new(clock.clone()), config());
    setup(
        H {
            engine,
            clock,
            connector: RecordingConnector::new(),
            _home: Some(Box::new(schema)),
        },
        plan,
    )
}

fn setup<S: Store>(h: H<S>, plan: &Plan) -> H<S> {
    h.engine.deploy(plan).expect("the plan deploys");
    for r in records() {
        h.engine.put_record(&r).expect("records are written");
    }
    h
}

impl<S: Store> H<S> {
    pub fn start(&self, template: &str, links: Links) -> InstanceId {
        self.engine
            .start(&StartRequest {
                template: template.into(),
                owner: "j.becker".into(),
                links,
                started_by: "k.schmidt".into(),
                ..Default::default()
            })
            .expect("the process starts")
    }
    pub fn view(&self, id: InstanceId) -> InstanceView {
        self.engine.instance(id).expect("the instance exists")
    }
    pub fn state(&self, id: InstanceId, step: &str) -> StepState {
        self.view(id)
            .step(step)
            .unwrap_or_else(|| panic!("step {step} was reached"))
            .state
            .clone()
    }
    pub fn index(&self, id: InstanceId, step: &str) -> StepIndex {
        self.view(id).step(step).expect("reached").index
    }
    pub fn advance(&self, by: chrono::Duration) {
        let until = self.clock.now() + by;
        self.engine
            .advance_to(&self.clock, until, None)
            .expect("time advances");
    }
    /// Everything observable, to check that a refused operation changed nothing.
    pub fn snapshot(&self) -> String {
        let mut out = format!("{:?}\n{:?}\n", self.engine.audit(), self.engine.outbox());
        for i in self.engine.running().expect("running") {
            out.push_str(&format!("{:?}\n", self.view(i.id)));
        }
        for r in records() {
            out.push_str(&format!("{:?}\n", self.engine.record(r.module, &r.id)));
        }
        out
    }
    pub fn emails_to(&self, to: &str) -> Vec<OutboxRow> {
        self.engine
            .outbox()
            .expect("outbox")
            .into_iter()
            .filter(|o| o.kind == EffectKind::Email && o.to == to)
            .collect()
    }
}

/// A start of the fixture's `hours` template by k.schmidt for j.becker.
pub fn hours_request() -> StartRequest {
    StartRequest {
        template: "hours".into(),
        owner: "j.becker".into(),
        started_by: "k.schmidt".into(),
        ..Default::default()
    }
}

pub fn links(address: Option<&str>, property: Option<&str>) -> Links {
    Links {
        address: address.map(Into::into),
        property: property.map(Into::into),
        project: None,
    }
}

/// Runs the same scenario on the memory store, on a SQLite file and on PostgreSQL.
#[macro_export]
macro_rules! on_every_store {
    ($name:ident, $plan:expr, |$h:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn memory() {
                let $h = $crate::common::memory(&$plan);
                $body
            }
            #[test]
            fn sqlite() {
                let $h = $crate::common::sqlite(&$plan);
                $body
            }
            #[test]
            fn postgres() {
                let $h = $crate::common::postgres(&$plan);
                $body
            }
        }
    };
}
