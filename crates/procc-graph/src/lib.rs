//! Pictures of process templates: Graphviz DOT and Mermaid flowcharts, drawn from the plan.
//!
//! Steps are boxes labelled with their name, kind, responsible person and timing ("3 days
//! after", "deadline 2 days"); decisions are diamonds with yes/no edges; merges are small
//! circles; the end is a double circle; triggers are entry points; follow-up processes are
//! dashed links to the template they start. Drawing from the plan (not the source) shows what
//! runs, with every default filled in.

use std::fmt::Write as _;

use procc_plan::{
    Action, Delay, Next, Plan, Record, Responsible, Step, Template, TimeUnit, TriggerEvent,
};

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Graphviz DOT, for `dot -Tsvg`.
    Dot,
    /// A Mermaid flowchart, for Markdown viewers.
    Mermaid,
}

/// Draws the named templates of `plan` (all when `names` is empty).
pub fn draw(plan: &Plan, names: &[String], format: Format) -> String {
    let templates: Vec<&Template> = plan
        .templates
        .iter()
        .filter(|t| names.is_empty() || names.contains(&t.name))
        .collect();
    match format {
        Format::Dot => dot(&templates),
        Format::Mermaid => mermaid(&templates),
    }
}

/// Where a running instance stands at a step, for [`draw_instance`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepMark {
    /// Waiting for its start time.
    Scheduled,
    /// Waiting for a person.
    Active,
    /// Active and past its deadline.
    Overdue,
    /// Done.
    Done,
    /// Skipped or cancelled.
    Passed,
}

/// Draws one template as Graphviz DOT with the steps of a running instance coloured by
/// where it stands (steps not reached keep the template's colours).
pub fn draw_instance(
    plan: &Plan,
    name: &str,
    marks: &[(procc_plan::StepIndex, StepMark)],
) -> String {
    let Some(template) = plan.templates.iter().find(|t| t.name == name) else {
        return dot(&[]);
    };
    let mut out = dot(&[template]);
    // Attributes given again later override the template's: the marks go before the last
    // closing brace.
    let end = out.rfind('}').unwrap_or(out.len());
    let mut marked = String::new();
    for (step, mark) in marks {
        let (fill, pen) = match mark {
            StepMark::Scheduled => ("#e8e8e8", "1"),
            StepMark::Active => ("#ffd866", "3"),
            StepMark::Overdue => ("#ff8a80", "3"),
            StepMark::Done => ("#b9f6ca", "1"),
            StepMark::Passed => ("#cfd8dc", "1"),
        };
        let _ = writeln!(
            marked,
            "  t0s{step} [fillcolor=\"{fill}\", penwidth={pen}];"
        );
    }
    out.insert_str(end, &marked);
    out
}

/// The kind keyword of an action, as written in `.proc` files.
fn kind(action: &Action) -> &'static str {
    match action {
        Action::Task { .. } => "task",
        Action::Appointment { .. } => "appointment",
        Action::Letter { .. } => "letter",
        Action::Email { .. } => "email",
        Action::ForwardEmail { .. } => "forward_email",
        Action::Sms { .. } => "sms",
        Action::OwnerNotification { .. } => "owner_notification",
        Action::Resubmission { .. } => "resubmission",
        Action::WriteValues { .. } => "write_values",
        Action::CreateProject { .. } => "create_project",
        Action::AssignProject { .. } => "assign_project",
        Action::AssignAddress { .. } => "assign_address",
        Action::AssignProperty { .. } => "assign_property",
        Action::FollowUp { .. } => "follow_up",
        Action::Decision { .. } => "decision",
        Action::Merge => "merge",
        Action::ServiceWebhook { .. } | Action::FreeWebhook { .. } => "webhook",
        Action::SetStatus { .. } => "set_status",
        Action::ActivityLog { .. } => "activity_log",
        Action::PortalSync { .. } => "portal_sync",
        Action::LeadDistribution { .. } => "lead_distribution",
        Action::End => "end",
    }
}

fn record(r: Record) -> &'static str {
    match r {
        Record::Property => "property",
        Record::Address => "address",
    }
}

fn responsible(r: &Responsible) -> String {
    match r {
        Responsible::Owner => "owner".into(),
        Responsible::Supervisor(rec) => format!("supervisor of {}", record(*rec)),
        Responsible::User(u) => format!("user {u}"),
    }
}

fn delay(d: &Delay) -> String {
    let unit = match (d.unit, d.amount) {
        (TimeUnit::Days, 1) => "day",
        (TimeUnit::Days, _) => "days",
        (TimeUnit::Hours, 1) => "hour",
        (TimeUnit::Hours, _) => "hours",
        (TimeUnit::BusinessDays, 1) => "business day",
        (TimeUnit::BusinessDays, _) => "business days",
    };
    match &d.calendar {
        Some(c) => format!("{} {unit} ({c})", d.amount),
        None => format!("{} {unit}", d.amount),
    }
}

/// The lines of a step's label.
fn label_lines(step: &Step) -> Vec<String> {
    let mut lines = vec![step.name.clone()];
    let what = match &step.action {
        Action::Task { subject, .. } | Action::Appointment { subject, .. } => {
            format!("{}: {subject}", kind(&step.action))
        }
        Action::Decision {
            question: Some(q), ..
        } => format!("decision: {q}"),
        Action::ServiceWebhook { service, .. } => format!("webhook {service}"),
        Action::FreeWebhook { method, url, .. } => {
            format!("webhook {method:?} {url}").to_lowercase()
        }
        Action::Email { template, .. } | Action::Letter { template, .. } => {
            format!("{} {template}", kind(&step.action))
        }
        Action::FollowUp { template, .. } => format!("follow-up {template}"),
        Action::SetStatus { record: r, value } => format!("set {} status {value}", record(*r)),
        Action::WriteValues { module, field, .. } => {
            format!("write {}.{field}", format!("{module:?}").to_lowercase())
        }
        other => kind(other).to_string(),
    };
    lines.push(what);
    if !matches!(step.action, Action::Merge | Action::End) {
        let mode = if step.automatic {
            "automatic"
        } else {
            "manual"
        };
        lines.push(format!("{mode} · {}", responsible(&step.responsible)));
    }
    let mut timing = Vec::new();
    if let Some(d) = &step.start_after {
        timing.push(format!("{} after", delay(d)));
    }
    if let Some(first) = step.deadline.first() {
        timing.push(format!("deadline {}", delay(&first.after)));
    }
    if step.skippable {
        timing.push("skippable".into());
    }
    if !timing.is_empty() {
        lines.push(timing.join(" · "));
    }
    lines
}

fn trigger_label(event: &TriggerEvent) -> String {
    match event {
        TriggerEvent::Saved { record: r } => format!("{} saved", record(*r)),
        TriggerEvent::StatusSet { record: r, value } => format!("{} status {value}", record(*r)),
        TriggerEvent::Date {
            module,
            field,
            offset_days,
            ignore_year,
        } => {
            let when = match offset_days {
                0 => "on".to_string(),
                d if *d < 0 => format!("{} days before", -d),
                d => format!("{d} days after"),
            };
            let yearly = if *ignore_year { ", yearly" } else { "" };
            format!(
                "date: {when} {}.{field}{yearly}",
                format!("{module:?}").to_lowercase()
            )
        }
        TriggerEvent::EmailReceived { feature } => match feature {
            Some(f) => format!("e-mail received ({f})"),
            None => "e-mail received".into(),
        },
        TriggerEvent::ActivityReceived { activity_kind, .. } => match activity_kind {
            Some(k) => format!("activity received ({k})"),
            None => "activity received".into(),
        },
    }
}

/// Edges of a step: target index and label.
fn edges(step: &Step) -> Vec<(u32, Option<&'static str>)> {
    match step.next {
        Next::Step { step } => vec![(step, None)],
        Next::Branch { yes, no } => vec![(yes, Some("yes")), (no, Some("no"))],
        Next::End => Vec::new(),
    }
}

fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn dot(templates: &[&Template]) -> String {
    let mut out = String::from(
        "digraph procc {\n  rankdir=TB;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n",
    );
    for (t, template) in templates.iter().enumerate() {
        let title = template.title.as_deref().unwrap_or(&template.name);
        let _ = writeln!(
            out,
            "  subgraph cluster_{t} {{\n    label=\"{}\";\n    style=rounded;",
            dot_escape(&format!("{} ({})", title, template.name))
        );
        let id = |i: usize| format!("t{t}s{i}");
        for (i, step) in template.steps.iter().enumerate() {
            let (shape, label) = match step.action {
                Action::Decision { .. } => ("diamond", label_lines(step).join("\n")),
                Action::Merge => ("circle", step.name.clone()),
                Action::End => ("doublecircle", step.name.clone()),
                _ => ("box", label_lines(step).join("\n")),
            };
            let style = if step.automatic {
                "rounded,filled"
            } else {
                "rounded,filled,bold"
            };
            let fill = if step.automatic { "#eef3fb" } else { "#fdf6e3" };
            let _ = writeln!(
                out,
                "    {} [shape={shape}, style=\"{style}\", fillcolor=\"{fill}\", label=\"{}\"];",
                id(i),
                dot_escape(&label)
            );
        }
        for (n, trigger) in template.triggers.iter().enumerate() {
            let _ = writeln!(
                out,
                "    t{t}trigger{n} [shape=ellipse, style=dashed, label=\"{}\"];\n    t{t}trigger{n} -> {} [style=dashed];",
                dot_escape(&format!("trigger: {}", trigger_label(&trigger.event))),
                id(0)
            );
        }
        for (i, step) in template.steps.iter().enumerate() {
            for (target, label) in edges(step) {
                match label {
                    Some(l) => {
                        let _ = writeln!(
                            out,
                            "    {} -> {} [label=\"{l}\"];",
                            id(i),
                            id(target as usize)
                        );
                    }
                    None => {
                        let _ = writeln!(out, "    {} -> {};", id(i), id(target as usize));
                    }
                }
            }
            if let Action::FollowUp {
                template: other, ..
            } = &step.action
            {
                let _ = writeln!(
                    out,
                    "    {}_link [shape=box3d, label=\"{}\"];\n    {} -> {}_link [style=dashed, label=\"starts\"];",
                    id(i),
                    dot_escape(&format!("process {other}")),
                    id(i),
                    id(i)
                );
            }
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}

fn mermaid_escape(text: &str) -> String {
    text.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

fn mermaid(templates: &[&Template]) -> String {
    let mut out = String::from("flowchart TD\n");
    for (t, template) in templates.iter().enumerate() {
        let title = template.title.as_deref().unwrap_or(&template.name);
        let _ = writeln!(
            out,
            "  subgraph t{t}[\"{}\"]",
            mermaid_escape(&format!("{title} ({})", template.name))
        );
        let id = |i: usize| format!("t{t}s{i}");
        for (i, step) in template.steps.iter().enumerate() {
            let label = label_lines(step)
                .iter()
                .map(|l| mermaid_escape(l))
                .collect::<Vec<_>>()
                .join("<br/>");
            let node = match step.action {
                Action::Decision { .. } => format!("{}{{\"{label}\"}}", id(i)),
                Action::Merge => format!("{}((\"{}\"))", id(i), mermaid_escape(&step.name)),
                Action::End => format!("{}(((\"{}\")))", id(i), mermaid_escape(&step.name)),
                _ => format!("{}[\"{label}\"]", id(i)),
            };
            let _ = writeln!(out, "    {node}");
        }
        for (n, trigger) in template.triggers.iter().enumerate() {
            let _ = writeln!(
                out,
                "    t{t}trigger{n}([\"{}\"]) -.-> {}",
                mermaid_escape(&format!("trigger: {}", trigger_label(&trigger.event))),
                id(0)
            );
        }
        for (i, step) in template.steps.iter().enumerate() {
            for (target, label) in edges(step) {
                match label {
                    Some(l) => {
                        let _ = writeln!(out, "    {} -->|{l}| {}", id(i), id(target as usize));
                    }
                    None => {
                        let _ = writeln!(out, "    {} --> {}", id(i), id(target as usize));
                    }
                }
            }
            if let Action::FollowUp {
                template: other, ..
            } = &step.action
            {
                let _ = writeln!(
                    out,
                    "    {}_link[[\"{}\"]]\n    {} -.->|starts| {}_link",
                    id(i),
                    mermaid_escape(&format!("process {other}")),
                    id(i),
                    id(i)
                );
            }
        }
        out.push_str("  end\n");
    }
    out
}
