//! The rows the runtime stores. Every row is plain data (serde), so any store can keep it.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use procc_plan::{Module, StepIndex};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// Id of a process instance.
pub type InstanceId = u64;

/// A deployed plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRow {
    /// The plan's hash (its identity).
    pub hash: String,
    /// Its format version.
    pub format_version: u32,
    /// The canonical JSON text.
    pub json: String,
    /// When it was deployed.
    pub deployed_at: DateTime<Utc>,
    /// Deployment order: the highest is the current plan.
    pub seq: u64,
}

/// An id that rows share and never change: an instance's linked record ids are copied into
/// its steps' work items, tasks and effects, and out of the store on every read, and each
/// copy of a `String` was an allocation.
pub type Shared = Arc<str>;

/// The records a process is linked to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Links {
    /// The linked address id.
    pub address: Option<Shared>,
    /// The linked property id.
    pub property: Option<Shared>,
    /// The linked project id (set by create/assign project steps).
    pub project: Option<Shared>,
}

impl Links {
    /// The id linked for this module.
    pub fn get(&self, module: Module) -> Option<&str> {
        match module {
            Module::Address => self.address.as_deref(),
            Module::Property => self.property.as_deref(),
            Module::Project => self.project.as_deref(),
        }
    }
    /// Links a record of this module.
    pub fn set(&mut self, module: Module, id: Option<Shared>) {
        match module {
            Module::Address => self.address = id,
            Module::Property => self.property = id,
            Module::Project => self.project = id,
        }
    }
}

/// The status of a process instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceStatus {
    /// Running, and a step waits for a person now.
    RunningDue,
    /// Running, waiting for time (a scheduled step) only.
    RunningWaiting,
    /// Reached its end.
    Completed,
    /// Cancelled (see `cancelled_by`, `cancelled_at`).
    Cancelled,
}

impl InstanceStatus {
    /// Whether the instance still runs.
    pub fn is_running(self) -> bool {
        matches!(
            self,
            InstanceStatus::RunningDue | InstanceStatus::RunningWaiting
        )
    }
    /// The status in words.
    pub fn name(self) -> &'static str {
        match self {
            InstanceStatus::RunningDue => "running (due)",
            InstanceStatus::RunningWaiting => "running (waiting)",
            InstanceStatus::Completed => "completed",
            InstanceStatus::Cancelled => "cancelled",
        }
    }
}

/// Which instances a listing returns: all conditions given must hold; ordered by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceQuery {
    /// Only instances with this status.
    pub status: Option<InstanceStatus>,
    /// Only running ones (due or waiting).
    pub running: bool,
    /// Only instances of this template.
    pub template: Option<String>,
    /// Only instances of this owner.
    pub owner: Option<String>,
    /// Only instances linked to this record.
    pub record: Option<(Module, String)>,
    /// Only instances with an id greater than this (the next page).
    pub after: Option<InstanceId>,
    /// At most this many (0: no limit).
    pub limit: usize,
}

impl InstanceQuery {
    /// Whether an instance satisfies the conditions (`after` and `limit` aside).
    pub fn matches(&self, row: &InstanceRow) -> bool {
        self.status.is_none_or(|s| row.status == s)
            && (!self.running || row.status.is_running())
            && self.template.as_ref().is_none_or(|t| &row.template == t)
            && self.owner.as_ref().is_none_or(|o| &row.owner == o)
            && self
                .record
                .as_ref()
                .is_none_or(|(m, id)| row.links.get(*m) == Some(id.as_str()))
    }
}

/// Who or what started a process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StartedBy {
    /// A user, by hand.
    User {
        /// The user id.
        user: String,
    },
    /// A trigger of the template.
    Trigger {
        /// What happened, in words.
        event: String,
    },
    /// A follow-up step of another instance.
    FollowUp {
        /// The parent instance.
        parent: InstanceId,
        /// The parent's step.
        step: StepIndex,
    },
}

/// The e-mail that started a process (for forward-e-mail steps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerEmail {
    /// The CRM's id of the e-mail.
    pub id: String,
    /// The sender.
    pub from: String,
    /// The subject.
    pub subject: String,
}

/// A process instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceRow {
    /// The id.
    pub id: InstanceId,
    /// The template name.
    pub template: String,
    /// The plan it started with (it stays on it).
    pub plan_hash: String,
    /// The process owner (a user id).
    pub owner: String,
    /// The controller: a user id or an e-mail address (`None`: nobody to tell).
    pub controller: Option<Contact>,
    /// The linked records.
    pub links: Links,
    /// Status.
    pub status: InstanceStatus,
    /// Who cancelled it.
    pub cancelled_by: Option<String>,
    /// When it was cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Who or what started it.
    pub started_by: StartedBy,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// The follow-up chain it belongs to (the id of the chain's first instance).
    pub chain: InstanceId,
    /// How many follow-ups lie between the chain's first instance and this one.
    pub depth: u32,
    /// The e-mail that started it, if any. (Boxed: few processes start from an e-mail, and
    /// every instance row would carry the room of its three texts.)
    pub trigger_email: Option<Box<TriggerEmail>>,
    /// Responsibility changed for steps not yet reached ("this and following").
    pub responsible_overrides: BTreeMap<StepIndex, String>,
    /// Optimistic-concurrency version, raised by every update.
    pub version: u64,
}

/// A user or a bare e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Contact {
    /// A user of the catalog.
    User(String),
    /// An e-mail address.
    Email(String),
}

/// The state of a step instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepState {
    /// Waits for its start time.
    Scheduled {
        /// When it becomes active.
        at: DateTime<Utc>,
    },
    /// Waits for its person (or runs right now, when automatic).
    Active,
    /// Done.
    Done,
    /// Skipped.
    Skipped,
    /// Cancelled with its process.
    Cancelled,
}

impl StepRow {
    /// Whether the step waits for a person: active, and not an automatic step waiting for
    /// its delivery.
    pub fn waits_for_person(&self) -> bool {
        self.state == StepState::Active && !self.awaits_delivery
    }
}

impl StepState {
    /// The state in words.
    pub fn name(&self) -> &'static str {
        match self {
            StepState::Scheduled { .. } => "scheduled",
            StepState::Active => "active",
            StepState::Done => "done",
            StepState::Skipped => "skipped",
            StepState::Cancelled => "cancelled",
        }
    }
}

/// One step of one instance (the latest visit of that step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRow {
    /// The instance.
    pub instance: InstanceId,
    /// The step index in the template.
    pub index: StepIndex,
    /// The step's name.
    pub name: String,
    /// The visit: 1 the first time the flow reaches the step, raised on every return.
    pub visit: u32,
    /// State.
    pub state: StepState,
    /// Why an automatic step became manual.
    pub degraded: Option<String>,
    /// The responsible user.
    pub responsible: Option<String>,
    /// When it became active.
    pub activated_at: Option<DateTime<Utc>>,
    /// When it was done, skipped or cancelled.
    pub completed_at: Option<DateTime<Utc>>,
    /// Indexes of the deadline rungs that fired in this visit.
    pub rungs_fired: Vec<u32>,
    /// The answer of a decision.
    pub answer: Option<bool>,
    /// The task of a task step.
    pub task: Option<u64>,
    /// An automatic step that waits for its effect to be delivered (a webhook): active, but
    /// nobody has to act, so it does not make its instance due.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub awaits_delivery: bool,
}

/// What a timer does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimerKind {
    /// Activates a scheduled step.
    ActivateStep,
    /// Fires a deadline rung.
    DeadlineRung {
        /// The rung's index.
        rung: u32,
    },
}

/// A durable timer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimerRow {
    /// The id.
    pub id: u64,
    /// What it does.
    pub kind: TimerKind,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// The instance.
    pub instance: InstanceId,
    /// The step.
    pub step: StepIndex,
    /// The step's visit it belongs to (a timer of an older visit does nothing).
    pub visit: u32,
    /// The worker that claimed it.
    pub lease_owner: Option<String>,
    /// Until when the claim holds.
    pub lease_until: Option<DateTime<Utc>>,
}

/// An entry of a user's inbox: a step waiting for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkItemRow {
    /// The id.
    pub id: u64,
    /// Whose.
    pub user: String,
    /// The instance.
    pub instance: InstanceId,
    /// The step.
    pub step: StepIndex,
    /// The step's visit.
    pub visit: u32,
    /// When it appeared.
    pub created_at: DateTime<Utc>,
    /// When it was done (or withdrawn); `None` while open.
    pub done_at: Option<DateTime<Utc>>,
    /// The warning of a degraded automatic step.
    pub warning: Option<String>,
}

/// A CRM record: an address, a property or a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordRow {
    /// Its module.
    pub module: Module,
    /// Its id.
    pub id: String,
    /// Field values by name (typed by the plan's module schema); `status`, `supervisor`,
    /// `email` and `mobile` are fields too.
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// The saved filters the record is in.
    pub filters: Vec<String>,
}

impl RecordRow {
    /// A record without fields.
    pub fn new(module: Module, id: &str) -> RecordRow {
        RecordRow {
            module,
            id: id.to_string(),
            fields: serde_json::Map::new(),
            filters: Vec::new(),
        }
    }
    /// With this field set.
    pub fn with(mut self, field: &str, value: serde_json::Value) -> RecordRow {
        self.fields.insert(field.to_string(), value);
        self
    }
    /// A text field, when set and text.
    pub fn text(&self, field: &str) -> Option<&str> {
        self.fields
            .get(field)
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
    }
}

/// The kind of something a step created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtefactKind {
    /// A task.
    Task,
    /// An appointment.
    Appointment,
    /// A letter.
    Letter,
    /// A resubmission.
    Resubmission,
    /// An activity (agent's log) entry.
    Activity,
}

/// Something a step created in the CRM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtefactRow {
    /// The id.
    pub id: u64,
    /// What.
    pub kind: ArtefactKind,
    /// The instance.
    pub instance: InstanceId,
    /// The step.
    pub step: StepIndex,
    /// Whose (the task's processor, the resubmission's user, ...).
    pub user: Option<String>,
    /// The records it is on.
    pub links: Links,
    /// The details (subject, template, note, due date, ...).
    pub data: Payload,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Whether it is done (tasks).
    pub done: bool,
}

/// The kind of an effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EffectKind {
    /// An e-mail.
    Email,
    /// An SMS.
    Sms,
    /// A webhook call.
    Webhook,
    /// A letter to print or send.
    Letter,
    /// A portal publication or removal.
    Portal,
}

/// A named sequence of ids in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sequence {
    /// Process instances.
    Instance,
    /// Timers.
    Timer,
    /// Work items.
    WorkItem,
    /// Artefacts (tasks, appointments, letters, ...).
    Artefact,
    /// Projects created by steps.
    Project,
    /// Outbox effects.
    Outbox,
    /// Delivery attempts.
    Attempt,
    /// Audit history entries.
    Audit,
    /// The deployment order of plans.
    PlanSeq,
}

// The last variant's number is `COUNT - 1`, so that every sequence has its counter.
const _: () = assert!(Sequence::PlanSeq as usize + 1 == Sequence::COUNT);

impl Sequence {
    /// How many there are (the memory store keeps one counter each).
    pub const COUNT: usize = 9;

    /// The name SQL stores keep it under.
    pub fn name(self) -> &'static str {
        match self {
            Sequence::Instance => "instance",
            Sequence::Timer => "timer",
            Sequence::WorkItem => "work_item",
            Sequence::Artefact => "artefact",
            Sequence::Project => "project",
            Sequence::Outbox => "outbox",
            Sequence::Attempt => "attempt",
            Sequence::Audit => "audit",
            Sequence::PlanSeq => "plan_seq",
        }
    }
}

/// An effect waiting in (or delivered from) the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxRow {
    /// The id.
    pub id: u64,
    /// What.
    pub kind: EffectKind,
    /// To whom or where (an e-mail address, a phone number, a URL, a portal).
    pub to: String,
    /// The details.
    pub payload: Payload,
    /// Stable across redeliveries; connectors deduplicate on it.
    pub idempotency_key: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// Not to be delivered before this time (fixed send times, SMS windows).
    pub not_before: Option<DateTime<Utc>>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// The last delivery error.
    pub last_error: Option<String>,
    /// The instance the effect belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<InstanceId>,
    /// The step that waits for this effect to be delivered (webhook steps): it continues when
    /// the effect is delivered and becomes manual when delivery is given up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<EffectOrigin>,
    /// When delivery was given up (retries exhausted, refused, endpoint gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<DateTime<Utc>>,
}

impl OutboxRow {
    /// Whether the effect still waits for delivery (neither delivered nor given up).
    pub fn is_pending(&self) -> bool {
        self.delivered_at.is_none() && self.failed_at.is_none()
    }
}

/// The step visit an effect belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectOrigin {
    /// The instance.
    pub instance: InstanceId,
    /// The step.
    pub step: StepIndex,
    /// The step's visit.
    pub visit: u32,
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// The receiver took the effect.
    Delivered,
    /// It failed and will be tried again.
    Retry,
    /// It failed for good (refused, or retries exhausted).
    Failed,
    /// The endpoint is gone (HTTP 410): it is disabled until an operator enables it.
    Gone,
}

/// One delivery attempt of an effect, as logged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptRow {
    /// The id.
    pub id: u64,
    /// The effect (outbox row).
    pub effect: u64,
    /// 1 for the first attempt of the effect, 2 for the second, ...
    pub number: u32,
    /// When the attempt started.
    pub at: DateTime<Utc>,
    /// The HTTP status (or SMTP reply code), when the receiver answered.
    pub status: Option<u16>,
    /// How long it took, in milliseconds.
    pub latency_ms: u64,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// What went wrong (never holds a secret).
    pub error: Option<String>,
    /// The start of the receiver's answer, bounded.
    pub excerpt: Option<String>,
    /// When the next attempt is due (after a `Retry`).
    pub next_at: Option<DateTime<Utc>>,
}

/// An entry of the audit history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    /// The id (ascending in order of writing).
    pub id: u64,
    /// When.
    pub at: DateTime<Utc>,
    /// The instance.
    pub instance: Option<InstanceId>,
    /// The step.
    pub step: Option<StepIndex>,
    /// Who: a user id, or `system`. (Borrowed where the engine names it: most rows are the
    /// system's, and an audit row is written for every transition.)
    pub who: Cow<'static, str>,
    /// What happened (`started`, `step_activated`, `step_done`, `skipped`, ...).
    pub event: Cow<'static, str>,
    /// Details.
    pub detail: String,
}

/// The details of an effect or an artefact (a JSON object), shared and never changed once
/// written: an effect's row is copied out of the store each time it is claimed and recorded.
///
/// They are kept in the form they came in: a JSON value; JSON text, as a store that keeps
/// JSON brings them (written back verbatim when the row is, parsed once only if someone reads
/// a field); or the engine's own description of them ([`Payload::of`]), which becomes text
/// when a store writes the row and a value when someone reads a field. (The memory store
/// hands out its own rows' details, so there a value made from them stays with the row once
/// a field was read.)
#[derive(Clone)]
pub struct Payload(Arc<PayloadForms<dyn Written>>);

/// A [`Payload`]'s value (given, or made from what was written when first asked for) and
/// what was written.
struct PayloadForms<W: ?Sized> {
    value: OnceLock<Value>,
    written: W,
}

/// What a [`Payload`] was written as.
trait Written: Send + Sync {
    /// As a JSON value (asked once, the first time a field is read).
    fn value(&self) -> serde_json::Result<Value>;
    /// As JSON text; `None` when only the value was given.
    fn text(&self) -> Option<serde_json::Result<Cow<'_, RawValue>>>;
}

/// Nothing but the value, which is there from the start, so `value` is never asked.
struct GivenValue;

impl Written for GivenValue {
    fn value(&self) -> serde_json::Result<Value> {
        Ok(Value::Null)
    }
    fn text(&self) -> Option<serde_json::Result<Cow<'_, RawValue>>> {
        None
    }
}

/// JSON text, as read from a store.
impl Written for Box<RawValue> {
    fn value(&self) -> serde_json::Result<Value> {
        serde_json::from_str(self.get())
    }
    fn text(&self) -> Option<serde_json::Result<Cow<'_, RawValue>>> {
        Some(Ok(Cow::Borrowed(self)))
    }
}

/// The engine's description of the details, serialised when asked.
struct Described<T>(T);

impl<T: Serialize + Send + Sync> Written for Described<T> {
    fn value(&self) -> serde_json::Result<Value> {
        serde_json::to_value(&self.0)
    }
    fn text(&self) -> Option<serde_json::Result<Cow<'_, RawValue>>> {
        Some(serde_json::value::to_raw_value(&self.0).map(Cow::Owned))
    }
}

impl Payload {
    /// The details as `details` describes them: kept as they are, and serialised only when a
    /// store writes them (as text) or someone reads a field (as a value). The engine describes
    /// the details every process has (e-mails, notices, tasks) this way, by what they quote
    /// (its plan, shared) instead of a copy of the texts: a `serde_json::Map` of five entries
    /// alone takes several hundred bytes, and serialising them as text was the largest single
    /// cost of a small process.
    pub fn of(details: impl Serialize + Send + Sync + 'static) -> Payload {
        Payload(Arc::new(PayloadForms {
            value: OnceLock::new(),
            written: Described(details),
        }))
    }

    /// The details as a JSON value (made on first use; `null` if what was written is not
    /// JSON, which text read back from a store always is, or the description fails to
    /// serialise, which the engine's never do).
    pub fn value(&self) -> &Value {
        self.0
            .value
            .get_or_init(|| self.0.written.value().unwrap_or_default())
    }

    /// One field of the details.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.value().get(field)
    }
}

impl From<Value> for Payload {
    fn from(value: Value) -> Payload {
        Payload(Arc::new(PayloadForms {
            value: OnceLock::from(value),
            written: GivenValue,
        }))
    }
}

/// A field of the details, `null` when absent (as indexing a `serde_json::Value`).
impl std::ops::Index<&str> for Payload {
    type Output = Value;
    fn index(&self, field: &str) -> &Value {
        &self.value()[field]
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.value() == other.value()
    }
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.value().fmt(f)
    }
}

/// The text as it was read or as the description serialises (the stores keep rows as
/// serde_json text, which takes it verbatim; a description that fails is an error here even
/// after a read of a field made it `null`), else the given value.
impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.written.text() {
            Some(text) => text
                .map_err(serde::ser::Error::custom)?
                .serialize(serializer),
            None => self.value().serialize(serializer),
        }
    }
}

/// As text: the stores keep rows as serde_json text, the one format a `RawValue` can be read
/// from.
impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Payload, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(|text| {
            Payload(Arc::new(PayloadForms {
                value: OnceLock::new(),
                written: text,
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Details in the order a description gives them.
    #[derive(Serialize)]
    struct Ordered {
        zebra: u8,
        apple: &'static str,
    }

    /// A description that cannot be written.
    struct Unwritable;

    impl Serialize for Unwritable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("no"))
        }
    }

    #[test]
    fn described_details_are_written_as_described_and_read_as_a_value() {
        let details = Payload::of(Ordered {
            zebra: 1,
            apple: "a \"b\"",
        });
        assert_eq!(
            serde_json::to_string(&details).unwrap(),
            r#"{"zebra":1,"apple":"a \"b\""}"#,
            "text in the description's order, before any field was read"
        );
        assert_eq!(details["apple"], "a \"b\"");
        assert_eq!(details.get("zebra"), Some(&json!(1)));
        assert_eq!(
            details,
            Payload::from(json!({"apple": "a \"b\"", "zebra": 1}))
        );
        let copy = details.clone();
        assert_eq!(
            serde_json::from_str::<Value>(&serde_json::to_string(&copy).unwrap()).unwrap(),
            json!({"apple": "a \"b\"", "zebra": 1}),
            "the same object once the value is made"
        );
    }

    #[test]
    fn text_read_back_is_written_verbatim_and_parsed_when_read() {
        let text = r#"{"b":2, "a":[1,2]}"#;
        let details: Payload = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&details).unwrap(), text);
        assert_eq!(details["a"], json!([1, 2]));
    }

    #[test]
    fn a_description_that_fails_is_an_error_when_written_and_null_when_read() {
        let details = Payload::of(Unwritable);
        assert!(serde_json::to_string(&details).is_err());
        assert_eq!(details.value(), &Value::Null);
        assert_eq!(details["anything"], Value::Null);
        assert!(
            serde_json::to_string(&details).is_err(),
            "still an error once a read made it null: nothing is written as null"
        );
    }

    #[test]
    fn a_given_value_is_written_as_it_is() {
        let details = Payload::from(json!({"a": [1, "x"]}));
        assert_eq!(serde_json::to_string(&details).unwrap(), r#"{"a":[1,"x"]}"#);
    }
}
