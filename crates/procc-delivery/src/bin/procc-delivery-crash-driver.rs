//! The delivery crash-test driver: starts many instances of a process with one free webhook
//! step on a SQLite file and delivers their webhooks (Standard Webhooks) on the real delivery
//! threads (as `procc run` delivers) to a receiver, so that it can be killed (SIGKILL) at any
//! point and started again until it prints `done`. Used by `tests/crash.rs`.
//!
//! ```text
//! procc-delivery-crash-driver DIR EXAMPLES_PLAN_JSON RECEIVER_URL INSTANCES
//! ```
//!
//! Instance `i` is started with the idempotency key `hook-i` on property `Pi`, whose id the
//! webhook's body carries, so the receiver can tell the deliveries of one effect apart from
//! those of another without trusting `webhook-id`. `DIR` holds `state.db` and `whsec` (the
//! signing secret).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use procc_delivery::{DeliveryConfig, DeliveryThreads};
use procc_plan::{Module, Plan, Template};
use procc_runtime::{
    Engine, EngineConfig, InstanceQuery, Links, RecordRow, SqliteStore, StartRequest, SystemClock,
};
use serde_json::json;

type Res<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The Standard Webhooks secret the driver signs with (the specification's example).
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// How long a claimed effect is held: longer than an attempt may take (one second to
/// connect, one in all), short enough that effects claimed by a killed run come back soon.
const LEASE_MS: i64 = 2_500;

/// One automatic free webhook to the receiver, then the end.
fn template(url: &str) -> Res<Template> {
    let step = |name: &str, action: serde_json::Value, next: serde_json::Value| {
        json!({
            "name": name, "action": action, "start_after": null,
            "responsible": {"kind": "owner"}, "deadline": [], "concerns": [],
            "skippable": false, "automatic": true, "next": next, "incoming": [],
            "source": {"file": "crash.proc", "line": 1, "column": 1}
        })
    };
    let hook = json!({"kind": "free_webhook", "method": "POST", "url": url,
        "headers": [{"name": "Content-Type", "value": "application/json"}],
        "body": "{\"property\": \"{property.id}\"}"});
    Ok(serde_json::from_value(json!({
        "name": "hook", "title": null, "description": null, "active": true,
        "needs": ["property"], "needs_email": false,
        "controller": {"kind": "user", "id": "k.schmidt"},
        "notify_controller_on_cancel": false, "triggers": [],
        "steps": [
            step("call", hook, json!({"kind": "step", "step": 1})),
            step("done", json!({"kind": "end"}), json!({"kind": "end"})),
        ],
        "source": {"file": "crash.proc", "line": 1, "column": 1}
    }))?)
}

fn start(engine: &Engine<SqliteStore>, i: u64) -> Res<()> {
    engine.start(&StartRequest {
        template: "hook".into(),
        owner: "k.schmidt".into(),
        links: Links {
            property: Some(format!("P{i}").into()),
            ..Links::default()
        },
        started_by: "k.schmidt".into(),
        idempotency_key: Some(format!("hook-{i}")),
        email: None,
    })?;
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, plan_path, url, count] = args.as_slice() else {
        return Err(
            "usage: procc-delivery-crash-driver DIR EXAMPLES_PLAN_JSON RECEIVER_URL INSTANCES"
                .into(),
        );
    };
    let dir = PathBuf::from(dir);
    let count: u64 = count.parse()?;
    let examples: Plan = serde_json::from_str(&std::fs::read_to_string(plan_path)?)?;
    let plan = Plan::new(examples.tenant, examples.catalog, vec![template(url)?]);

    let engine = Arc::new(Engine::new(
        SqliteStore::open(dir.join("state.db"))?,
        Arc::new(SystemClock),
        EngineConfig::default(),
    ));
    if engine.current_plan_hash()?.as_deref() != Some(plan.hash.as_str()) {
        // First run (or killed before the deployment committed): records, then the plan.
        for i in 0..count {
            engine.put_record(
                &RecordRow::new(Module::Property, &format!("P{i}"))
                    .with("supervisor", json!("k.schmidt")),
            )?;
        }
        std::fs::write(dir.join("whsec"), SECRET)?;
        engine.deploy(&plan)?;
    }
    let config = DeliveryConfig::from_toml(
        "[delivery]\nretry_schedule = [0, 0, 0, 0, 0, 0]\ntimeout_seconds = 1\n\
         connect_timeout_seconds = 1\nwebhook_secret_file = \"whsec\"\n\
         allowed_hosts = [\"127.0.0.1\"]\n",
        &dir,
    )?;
    // As `procc run` delivers: a thread per core (within the limits), each a dispatcher of its own.
    let delivery = DeliveryThreads::new(&engine, &Arc::new(plan), &config, None)?
        .with_lease(chrono::Duration::milliseconds(LEASE_MS));

    // Processes start while earlier ones are delivered, as in production.
    let have = engine.instances(&InstanceQuery::default())?.len() as u64;
    let starter = {
        let engine = engine.clone();
        tokio::task::spawn_blocking(move || -> Res<()> {
            for i in have..count {
                start(&engine, i)?;
            }
            Ok(())
        })
    };
    loop {
        let attempts = tokio::task::block_in_place(|| delivery.drain())?;
        let pending = engine.outbox()?.iter().filter(|o| o.is_pending()).count();
        if starter.is_finished() && pending == 0 {
            break;
        }
        if attempts == 0 {
            // What remains is held by the lease of a killed run, or not started yet.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    starter.await??;
    println!("done");
    Ok(())
}
