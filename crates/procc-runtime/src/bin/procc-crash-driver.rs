//! The crash-test driver: drives many instances of a small process on a SQLite file and a
//! persisted virtual clock, so that it can be killed (SIGKILL) at any point and started again
//! until it reports `done`. Used by `tests/crash.rs`; see `docs/performance.md` ("Runtime").
//!
//! ```text
//! procc-crash-driver DIR EXAMPLES_PLAN_JSON INSTANCES
//! ```
//!
//! In `DIR` it keeps `state.db` (the store), `clock` (the virtual time, written before the
//! clock moves, so a restart never goes back behind a committed transition), `delivered.log`
//! (the idempotency key of every effect handed to the connector, one a line, fsynced before the
//! engine marks the effect delivered) and, at the end, `final.json` (every instance with its
//! steps and history, and the outbox keys).
//!
//! Everything the driver does is a function of the stored state and the virtual time: process
//! `i` starts at `T0 + 41·i minutes` with the idempotency key `crash-i`; a work item is done
//! `1 + (7·instance + 13·step) mod 60` hours after it was created (a task by completing its
//! task, the e-mail decision through its signed link, answering yes unless the instance id is
//! a multiple of 3). At one instant, due timers always fire before the driver acts, so a run
//! that is killed and restarted makes the same transitions at the same times as one that is
//! not.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use procc_plan::{Module, Plan, Template};
use procc_runtime::{
    Clock, Connector, Engine, EngineConfig, Links, Operation, OutboxRow, RecordRow, SqliteStore,
    StartRequest, Store, ViewOf, VirtualClock,
};
use serde_json::{Value, json};

type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The virtual time the first run starts at (Monday 2 March 2026, 08:00 UTC).
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0)
        .single()
        .unwrap_or_default()
}

fn start_at(i: u64) -> DateTime<Utc> {
    t0() + Duration::minutes(41 * i as i64)
}

fn act_at(created: DateTime<Utc>, instance: u64, step: u32) -> DateTime<Utc> {
    created + Duration::hours(1 + ((7 * instance + 13 * u64::from(step)) % 60) as i64)
}

fn step(name: &str, action: Value, automatic: bool) -> Value {
    json!({
        "name": name, "action": action, "start_after": null,
        "responsible": {"kind": "owner"}, "deadline": [], "concerns": [],
        "skippable": false, "automatic": automatic, "next": null, "incoming": [],
        "source": {"file": "crash.proc", "line": 1, "column": 1}
    })
}

fn email() -> Value {
    json!({"kind": "email", "template": "acquisition-intro", "send_at": null, "signature": true,
           "mailbox": null, "contact": null})
}

fn delay(amount: u32, unit: &str) -> Value {
    json!({"amount": amount, "unit": unit, "calendar": null})
}

/// The process: automatic e-mail; automatic decision on the price; a task two days later with
/// a two-rung deadline ladder; a decision by e-mail; a reminder e-mail a day later; end.
fn template() -> Res<Template> {
    let mut steps = vec![
        step("welcome", email(), true),
        step(
            "pricey",
            json!({"kind": "decision", "mode": "automatic", "question": null,
                "condition": {"kind": "binary", "op": "gt",
                    "left": {"kind": "field", "module": "property", "field": "purchase_price"},
                    "right": {"kind": "value", "value": {"type": "number", "value": 400000.0}}},
                "notify_decider": false}),
            true,
        ),
        step(
            "call",
            json!({"kind": "task", "subject": "Call the owner", "description": null,
                "attachments": [], "processor": null}),
            false,
        ),
        step(
            "ask",
            json!({"kind": "decision", "mode": "by_email", "question": "Mandate?",
                "condition": null, "notify_decider": false}),
            false,
        ),
        step("reminder", email(), true),
        step("done", json!({"kind": "end"}), true),
    ];
    steps[1]["next"] = json!({"kind": "branch", "yes": 2, "no": 4});
    steps[2]["start_after"] = delay(2, "days");
    steps[2]["deadline"] = json!([
        {"after": delay(1, "days"), "action": {"kind": "remind_responsible"}},
        {"after": delay(2, "days"), "action": {"kind": "email_controller"}}
    ]);
    steps[3]["next"] = json!({"kind": "branch", "yes": 5, "no": 4});
    steps[4]["start_after"] = delay(1, "days");
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
    Ok(serde_json::from_value(json!({
        "name": "crash", "title": null, "description": null, "active": true,
        "needs": ["address", "property"], "needs_email": false,
        "controller": {"kind": "user", "id": "k.schmidt"},
        "notify_controller_on_cancel": false, "triggers": [], "steps": steps,
        "source": {"file": "crash.proc", "line": 1, "column": 1}
    }))?)
}

fn records() -> Vec<RecordRow> {
    vec![
        RecordRow::new(Module::Address, "A1")
            .with("email", json!("anna@example.org"))
            .with("supervisor", json!("m.weber")),
        RecordRow::new(Module::Address, "A2")
            .with("email", json!("bernd@example.org"))
            .with("supervisor", json!("a.yilmaz")),
        RecordRow::new(Module::Property, "P1")
            .with("supervisor", json!("a.yilmaz"))
            .with("purchase_price", json!(500000)),
        RecordRow::new(Module::Property, "P2")
            .with("supervisor", json!("m.weber"))
            .with("purchase_price", json!(300000)),
        RecordRow::new(Module::Property, "P3")
            .with("supervisor", json!("m.weber"))
            .with("purchase_price", json!(450000)),
    ]
}

/// Appends the idempotency key of every effect to a file and fsyncs it before returning.
struct FileConnector {
    file: Mutex<File>,
}

impl FileConnector {
    fn open(path: &Path) -> Res<FileConnector> {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        // A line cut off by a kill (not expected for such short writes, but cheap to handle).
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        if !text.is_empty() && !text.ends_with('\n') {
            let keep = text.rfind('\n').map_or(0, |i| i + 1);
            file.set_len(keep as u64)?;
            file.seek(SeekFrom::End(0))?;
            file.sync_all()?;
        }
        Ok(FileConnector {
            file: Mutex::new(file),
        })
    }
}

impl Connector for FileConnector {
    fn deliver(&self, effect: &OutboxRow) -> std::result::Result<(), String> {
        let mut file = self.file.lock().map_err(|_| "poisoned".to_string())?;
        file.write_all(format!("{}\n", effect.idempotency_key).as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| e.to_string())
    }
}

/// Writes the virtual time durably (temporary file, fsync, rename, fsync of the folder).
fn persist_clock(dir: &Path, at: DateTime<Utc>) -> Res<()> {
    let tmp = dir.join("clock.tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(at.to_rfc3339().as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join("clock"))?;
    File::open(dir)?.sync_all()?;
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, plan_path, count] = args.as_slice() else {
        return Err("usage: procc-crash-driver DIR EXAMPLES_PLAN_JSON INSTANCES".into());
    };
    let dir = PathBuf::from(dir);
    let count: u64 = count.parse()?;
    let examples: Plan = serde_json::from_str(&std::fs::read_to_string(plan_path)?)?;
    let plan = Plan::new(examples.tenant, examples.catalog, vec![template()?]);

    let now = match std::fs::read_to_string(dir.join("clock")) {
        Ok(text) => DateTime::parse_from_rfc3339(text.trim())?.with_timezone(&Utc),
        Err(_) => t0(),
    };
    let clock = VirtualClock::new(now);
    let config = EngineConfig {
        decision_secret: b"crash-test".to_vec(),
        worker: "crash-driver".into(),
        ..EngineConfig::default()
    };
    let engine = Engine::new(
        SqliteStore::open(dir.join("state.db"))?,
        Arc::new(clock.clone()),
        config,
    );
    let connector = FileConnector::open(&dir.join("delivered.log"))?;

    if engine.current_plan_hash()?.as_deref() != Some(plan.hash.as_str()) {
        // First run (or killed before the deployment committed): records, then the plan.
        for r in records() {
            engine.put_record(&r)?;
        }
        engine.deploy(&plan)?;
    }
    // The only worker starts again: timers it claimed before it was killed are its own, so it
    // takes them back at once instead of waiting for the lease to run out.
    engine.store().transaction(&mut |tx| {
        for inst in tx.running_instances()? {
            for mut t in tx.timers_of(inst.id)? {
                if t.lease_owner.as_deref() == Some("crash-driver") {
                    t.lease_owner = None;
                    t.lease_until = None;
                    tx.insert_timer(t)?;
                }
            }
        }
        Ok(())
    })?;

    let mut previous: Option<DateTime<Utc>> = None;
    loop {
        let now = clock.now();
        // Timers first, then what people do at this instant.
        engine.advance_to(&clock, now, Some(&connector))?;
        // What happens at one instant is applied in batches: one commit each.
        let mut starts = Vec::new();
        for i in 0..count {
            let at = start_at(i);
            if at <= now && previous.is_none_or(|p| at > p) {
                starts.push(Operation::Start(StartRequest {
                    template: "crash".into(),
                    owner: "j.becker".into(),
                    links: Links {
                        address: Some(format!("A{}", 1 + i % 2).into()),
                        property: Some(format!("P{}", 1 + i % 3).into()),
                        project: None,
                    },
                    started_by: "k.schmidt".into(),
                    idempotency_key: Some(format!("crash-{i}")),
                    email: None,
                }));
            }
        }
        let mut acted = !starts.is_empty();
        for result in engine.batch(&starts)? {
            result?;
        }
        previous = Some(now);
        let mut items = engine.controller_view(&ViewOf::All)?;
        items.sort_by_key(|e| {
            (
                act_at(e.item.created_at, e.item.instance, e.item.step),
                e.item.id,
            )
        });
        let mut next_act = None;
        let mut actions = Vec::new();
        for entry in items {
            let item = &entry.item;
            let at = act_at(item.created_at, item.instance, item.step);
            if at > now {
                next_act = Some(at);
                break;
            }
            let view = engine.instance(item.instance)?;
            let row = view
                .steps
                .iter()
                .find(|s| s.index == item.step)
                .ok_or("a work item without its step")?;
            if let Some(task) = row.task {
                actions.push(Operation::CompleteTask {
                    task,
                    by: item.user.clone(),
                });
            } else {
                let (yes, no) = engine.decision_tokens(item.instance, item.step)?;
                let token = if item.instance % 3 == 0 { no } else { yes };
                actions.push(Operation::DecideByToken(token));
            }
        }
        acted |= !actions.is_empty();
        for result in engine.batch(&actions)? {
            result?;
        }
        if acted {
            continue;
        }
        let next_start = (0..count).map(start_at).find(|&at| at > now);
        let next = [engine.next_due()?, next_act, next_start]
            .into_iter()
            .flatten()
            .min();
        match next {
            Some(next) => {
                persist_clock(&dir, next)?;
                clock.set(next);
            }
            None => break,
        }
    }

    // The final state, for comparison with an uninterrupted run.
    let mut instances = Vec::new();
    for id in 1..=count {
        let view = engine.instance(id)?;
        let history: Vec<Value> = view
            .history
            .iter()
            .map(|a| json!([a.at, a.step, a.who, a.event, a.detail]))
            .collect();
        instances.push(json!({
            "instance": view.instance.id,
            "status": view.instance.status,
            "steps": view.steps,
            "history": history,
            "open_timers": view.timers.len(),
        }));
    }
    let outbox = engine.outbox()?;
    let keys: BTreeSet<&str> = outbox.iter().map(|o| o.idempotency_key.as_str()).collect();
    let undelivered = outbox.iter().filter(|o| o.delivered_at.is_none()).count();
    let report = json!({
        "instances": instances,
        "outbox_keys": keys,
        "undelivered": undelivered,
        "clock": clock.now(),
    });
    let tmp = dir.join("final.json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&report)?)?;
    std::fs::rename(&tmp, dir.join("final.json"))?;
    println!("done");
    Ok(())
}
