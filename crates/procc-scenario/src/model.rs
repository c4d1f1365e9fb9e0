//! The typed model of a scenario file: every statement with its span.

use chrono::{NaiveDate, NaiveTime};
use procc_diagnostics::Span;
use procc_plan::Module;

/// A text or a name with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where.
    pub span: Span,
}

/// A parsed `.scenario` file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScenarioFile {
    /// Its scenarios, in order.
    pub scenarios: Vec<Scenario>,
}

/// One `scenario "name" { ... }` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The name.
    pub name: Spanned<String>,
    /// The whole block.
    pub span: Span,
    /// Its statements, in order.
    pub statements: Vec<Statement>,
}

/// One statement (one line).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// What it does.
    pub kind: StatementKind,
    /// The whole statement.
    pub span: Span,
}

/// A value written in a scenario: a field value or a step input.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A text.
    Text(String),
    /// A number (money and areas are numbers; `%` divides by 100).
    Number(f64),
    /// A truth value.
    Bool(bool),
    /// A calendar date.
    Date(NaiveDate),
}

impl Value {
    /// The value as the runtime stores it in a record field.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Text(s) => serde_json::Value::String(s.clone()),
            Value::Number(n) => {
                if n.fract() == 0.0 && n.abs() < 9.0e15 {
                    serde_json::Value::from(*n as i64)
                } else {
                    serde_json::Number::from_f64(*n)
                        .map(serde_json::Value::Number)
                        .unwrap_or(serde_json::Value::Null)
                }
            }
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Date(d) => serde_json::Value::String(d.format("%Y-%m-%d").to_string()),
        }
    }
}

/// A record field written as `name value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The field name.
    pub name: Spanned<String>,
    /// The value.
    pub value: Spanned<Value>,
}

/// What happened to a record (`event ...`).
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// `saved [changed a, b]`.
    Saved {
        /// The changed fields.
        changed: Vec<Spanned<String>>,
    },
    /// `status "let"`.
    Status(String),
    /// `email "subject" [from "x"] [feature "f"] [property P1]` (addresses only).
    Email {
        /// The subject.
        subject: String,
        /// The sender.
        from: Option<String>,
        /// The feature.
        feature: Option<String>,
        /// A property it is about.
        property: Option<String>,
    },
    /// `activity "kind" [type "t"] [feature "f"] [property P1]` (addresses only).
    Activity {
        /// The activity kind.
        kind: String,
        /// Its type.
        activity_type: Option<String>,
        /// The feature.
        feature: Option<String>,
        /// A property it is about.
        property: Option<String>,
    },
}

/// The state a step is expected in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    /// Waiting for its start time.
    Scheduled,
    /// Waiting for its person.
    Active,
    /// Done.
    Done,
    /// Skipped.
    Skipped,
    /// Cancelled with its process.
    Cancelled,
    /// An automatic step that became manual (its reason is shown).
    Degraded,
    /// Not reached by the flow (yet).
    Unreached,
}

impl StepState {
    /// The word used in scenarios.
    pub fn word(self) -> &'static str {
        match self {
            StepState::Scheduled => "scheduled",
            StepState::Active => "active",
            StepState::Done => "done",
            StepState::Skipped => "skipped",
            StepState::Cancelled => "cancelled",
            StepState::Degraded => "degraded",
            StepState::Unreached => "unreached",
        }
    }
}

/// The state a process instance is expected in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceState {
    /// Reached its end.
    Completed,
    /// Cancelled.
    Cancelled,
    /// Running (due or waiting).
    Running,
    /// Running, waiting for time only.
    Waiting,
    /// Running, a step waits for a person.
    Due,
}

impl InstanceState {
    /// The word used in scenarios.
    pub fn word(self) -> &'static str {
        match self {
            InstanceState::Completed => "completed",
            InstanceState::Cancelled => "cancelled",
            InstanceState::Running => "running",
            InstanceState::Waiting => "waiting",
            InstanceState::Due => "due",
        }
    }
}

/// A kind of effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EffectKind {
    /// E-mails.
    Email,
    /// Text messages.
    Sms,
    /// Webhook calls.
    Webhook,
    /// Letters.
    Letter,
    /// Portal publications and removals.
    Portal,
}

impl EffectKind {
    /// The word used in scenarios (singular).
    pub fn word(self) -> &'static str {
        match self {
            EffectKind::Email => "email",
            EffectKind::Sms => "sms",
            EffectKind::Webhook => "webhook",
            EffectKind::Letter => "letter",
            EffectKind::Portal => "portal",
        }
    }
}

/// What is counted by `expect <plural> N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Effects of one kind.
    Effects(EffectKind),
    /// Process instances started in the scenario (follow-ups and triggered ones included).
    Processes,
    /// Things steps created in the CRM.
    Created(Created),
}

/// A kind of thing a step creates in the CRM (not an effect sent out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// Tasks.
    Tasks,
    /// Appointments.
    Appointments,
    /// Resubmissions.
    Resubmissions,
    /// Activity (agent's log) entries.
    Activities,
}

/// An expectation.
#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    /// `expect step NAME STATE [for "user"]`.
    Step {
        /// The step.
        step: Spanned<String>,
        /// The expected state.
        state: StepState,
        /// The expected responsible person.
        user: Option<Spanned<String>>,
    },
    /// `expect instance STATE`: the current instance.
    Instance(InstanceState),
    /// `expect process TEMPLATE STATE`: the latest instance of a template.
    Process {
        /// The template.
        template: Spanned<String>,
        /// The expected state.
        state: InstanceState,
    },
    /// `expect inbox "user" has STEP` / `expect inbox "user" empty`.
    Inbox {
        /// Whose inbox.
        user: Spanned<String>,
        /// The step expected in it; `None`: the inbox is expected empty.
        has: Option<Spanned<String>>,
    },
    /// `expect emails 2`.
    Count {
        /// What.
        what: Counted,
        /// How many.
        count: u32,
    },
    /// `expect email [NAME] [to "x"] [template "t"] [subject "s"] [N times]`.
    Effect {
        /// The kind.
        kind: EffectKind,
        /// A service (webhooks) or portal name.
        target: Option<Spanned<String>>,
        /// The recipient: an address, a number, a URL, or a user id (their e-mail or mobile).
        to: Option<Spanned<String>>,
        /// The template.
        template: Option<Spanned<String>>,
        /// A text the subject contains.
        subject: Option<Spanned<String>>,
        /// Exactly this many; `None`: at least one.
        times: Option<u32>,
    },
    /// `expect property P1 status "active"` / `... unset`.
    Field {
        /// The module.
        module: Module,
        /// The record id.
        id: Spanned<String>,
        /// The field.
        field: Spanned<String>,
        /// The expected value; `None`: unset.
        value: Option<Spanned<Value>>,
    },
}

/// What a statement does.
#[derive(Debug, Clone, PartialEq)]
pub enum StatementKind {
    /// `at 2026-12-01 09:00`.
    At {
        /// The date.
        date: NaiveDate,
        /// The local time.
        time: NaiveTime,
    },
    /// `advance 3d 4h`.
    Advance {
        /// The total, in minutes.
        minutes: i64,
    },
    /// `record property P1 { ... }`.
    Record {
        /// The module.
        module: Module,
        /// The id.
        id: Spanned<String>,
        /// The fields.
        fields: Vec<Field>,
    },
    /// `save property P1 { ... }`: change fields and raise `saved changed ...`.
    Save {
        /// The module.
        module: Module,
        /// The id.
        id: Spanned<String>,
        /// The changed fields.
        fields: Vec<Field>,
    },
    /// `set property P1 field value`: change a field without raising an event.
    Set {
        /// The module.
        module: Module,
        /// The id.
        id: Spanned<String>,
        /// The field.
        field: Field,
    },
    /// `event property P1 ...`.
    Event {
        /// The module.
        module: Module,
        /// The id.
        id: Spanned<String>,
        /// What happened.
        event: EventKind,
    },
    /// `scan`: the daily scan of date triggers for the current day.
    Scan,
    /// `start TEMPLATE owner "u" property P1 address A1 by "u"`.
    Start {
        /// The template.
        template: Spanned<String>,
        /// The owner.
        owner: Option<Spanned<String>>,
        /// Linked records.
        links: Vec<(Module, Spanned<String>)>,
        /// Who starts it.
        by: Option<Spanned<String>>,
    },
    /// `complete STEP [by "u"] [with VALUE]`.
    Complete {
        /// The step.
        step: Spanned<String>,
        /// Who.
        by: Option<Spanned<String>>,
        /// The value entered.
        with: Option<Spanned<Value>>,
    },
    /// `answer STEP yes|no [by "u"] [via link]`.
    Answer {
        /// The step.
        step: Spanned<String>,
        /// The answer.
        yes: bool,
        /// Who.
        by: Option<Spanned<String>>,
        /// Answered through the signed link of the decision e-mail.
        via_link: bool,
    },
    /// `skip STEP [by "u"]`.
    Skip {
        /// The step.
        step: Spanned<String>,
        /// Who.
        by: Option<Spanned<String>>,
    },
    /// `cancel [by "u"]`.
    Cancel {
        /// Who.
        by: Option<Spanned<String>>,
    },
    /// `reassign STEP to "u" [and following] [by "u"]`.
    Reassign {
        /// The step.
        step: Spanned<String>,
        /// The new responsible person.
        to: Spanned<String>,
        /// This and all following steps.
        following: bool,
        /// Who.
        by: Option<Spanned<String>>,
    },
    /// `expect ...`.
    Expect(Expectation),
}
