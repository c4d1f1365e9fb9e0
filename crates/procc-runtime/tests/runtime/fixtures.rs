//! The small hand-built plan most tests use.

use procc_plan::Plan;
use serde_json::{Value, json};

use crate::common::*;

pub fn days(n: u32) -> Value {
    json!({"amount": n, "unit": "days", "calendar": null})
}
pub fn appointment() -> Value {
    json!({"kind": "appointment", "subject": "Visit", "appointment_type": null, "all_day": false,
           "description": null, "attachments": []})
}
pub fn email() -> Value {
    json!({"kind": "email", "template": "acquisition-intro", "send_at": null, "signature": true,
           "mailbox": null, "contact": null})
}
pub fn task() -> Value {
    json!({"kind": "task", "subject": "Call the owner", "description": null, "attachments": [],
           "processor": null})
}
fn num(n: f64) -> Value {
    json!({"kind": "value", "value": {"type": "number", "value": n}})
}
fn field(module: &str, f: &str) -> Value {
    json!({"kind": "field", "module": module, "field": f})
}
fn branch(yes: u32, no: u32) -> Value {
    json!({"kind": "branch", "yes": yes, "no": no})
}
fn goto(step: u32) -> Value {
    json!({"kind": "step", "step": step})
}

pub fn small() -> Plan {
    let needs_address = json!({"needs": ["address"]});
    let needs_property = json!({"needs": ["property"]});
    plan(vec![
        template(
            "wait",
            vec![
                with(step("visit", appointment()), "skippable", json!(true)),
                with(auto(step("mail", email())), "start_after", days(2)),
                end("done"),
            ],
            needs_address.clone(),
        ),
        template(
            "bizdays",
            vec![
                with(
                    step(
                        "call_back",
                        json!({"kind": "resubmission", "reason": "call", "due": null}),
                    ),
                    "start_after",
                    json!({"amount": 3, "unit": "business_days", "calendar": "nrw"}),
                ),
                end("done"),
            ],
            json!({}),
        ),
        template(
            "hours",
            vec![
                with(
                    step("call", task()),
                    "start_after",
                    json!({"amount": 5, "unit": "hours", "calendar": null}),
                ),
                end("done"),
            ],
            json!({}),
        ),
        template(
            "deadline",
            vec![
                with(
                    step("visit", appointment()),
                    "deadline",
                    json!([
                        {"after": days(1), "action": {"kind": "remind_responsible"}},
                        {"after": days(2), "action": {"kind": "email_controller"}},
                        {"after": days(3), "action": {"kind": "reassign", "to": {"kind": "user", "of": "m.weber"}}}
                    ]),
                ),
                end("done"),
            ],
            json!({}),
        ),
        template(
            "autodecide",
            vec![
                with(
                    auto(step(
                        "expensive",
                        json!({"kind": "decision", "mode": "automatic", "question": null,
                        "condition": {"kind": "binary", "op": "gt", "left": field("property", "purchase_price"), "right": num(400000.0)},
                        "notify_decider": false}),
                    )),
                    "next",
                    branch(1, 3),
                ),
                auto(step(
                    "mark",
                    json!({"kind": "write_values", "module": "property", "field": "valuation",
                    "value": {"kind": "binary", "op": "mul", "left": field("property", "purchase_price"), "right": num(1.1)}}),
                )),
                with(end("done"), "next", json!({"kind": "end"})),
                with(
                    auto(step(
                        "withdraw",
                        json!({"kind": "set_status", "record": "property", "value": "withdrawn"}),
                    )),
                    "next",
                    goto(2),
                ),
            ],
            needs_property.clone(),
        ),
        template(
            "maildecide",
            vec![
                with(
                    step(
                        "ask",
                        json!({"kind": "decision", "mode": "by_email", "question": "Mandate?",
                        "condition": null, "notify_decider": false}),
                    ),
                    "next",
                    branch(1, 2),
                ),
                with(end("yes_end"), "next", json!({"kind": "end"})),
                end("no_end"),
            ],
            json!({}),
        ),
        template(
            "looper",
            vec![
                auto(step(
                    "again",
                    json!({"kind": "follow_up", "template": "looper", "carry": ["property"]}),
                )),
                end("done"),
            ],
            needs_property.clone(),
        ),
        template(
            "manualwrite",
            vec![
                step(
                    "enter",
                    json!({"kind": "write_values", "module": "property", "field": "valuation", "value": null}),
                ),
                end("done"),
            ],
            needs_property.clone(),
        ),
        template(
            "taskflow",
            vec![
                step("call", task()),
                step("visit", appointment()),
                end("done"),
            ],
            json!({}),
        ),
        template(
            "evening",
            vec![
                auto(step(
                    "mail",
                    json!({"kind": "email", "template": "acquisition-intro", "send_at": "18:00",
                    "signature": true, "mailbox": null, "contact": null}),
                )),
                end("done"),
            ],
            needs_address.clone(),
        ),
        template("inactive", vec![end("done")], json!({"active": false})),
        template(
            "cancelme",
            vec![step("visit", appointment()), end("done")],
            json!({"notify_controller_on_cancel": true}),
        ),
        template(
            "skipflow",
            vec![
                with(step("visit", appointment()), "skippable", json!(true)),
                step("call", task()),
                end("done"),
            ],
            json!({}),
        ),
        template(
            "on_status",
            vec![step("visit", appointment()), end("done")],
            json!({"needs": ["property"], "triggers": [{"event": {"kind": "status_set", "record": "property", "value": "reserved"},
                "filter": null, "owner": {"kind": "supervisor", "of": "property"}, "condition": null}]}),
        ),
        template(
            "on_save",
            vec![step("check", appointment()), end("done")],
            json!({"needs": ["property"], "triggers": [{"event": {"kind": "saved", "record": "property"},
                "filter": "active-sales", "owner": null,
                "condition": {"kind": "call", "function": "changed", "args": [field("property", "purchase_price")]}}]}),
        ),
        template(
            "on_birthday",
            vec![auto(step("greet", email())), end("done")],
            json!({"needs": ["address"], "triggers": [{"event": {"kind": "date", "module": "address", "field": "birthday",
                "offset_days": -3, "ignore_year": true}, "filter": null, "owner": null, "condition": null}]}),
        ),
        template(
            "on_mail",
            vec![
                auto(step(
                    "forward",
                    json!({"kind": "forward_email", "send_at": null, "signature": false,
                    "to": {"kind": "user", "id": "k.schmidt"}, "cc": [], "bcc": [], "note": null}),
                )),
                end("done"),
            ],
            json!({"needs": ["address"], "triggers": [{"event": {"kind": "email_received", "feature": "inquiry"},
                "filter": null, "owner": {"kind": "user", "of": "k.schmidt"}, "condition": null}]}),
        ),
    ])
}
