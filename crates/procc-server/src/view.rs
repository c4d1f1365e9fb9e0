//! The API's response types, made from the runtime's rows. They are the public contract
//! (documented in the OpenAPI document), so they are separate from the store's rows.

use chrono::{DateTime, Utc};
use procc_plan::{Module, Plan, User};
use procc_runtime::{
    ArtefactRow, AttemptRow, AuditRow, Contact, InboxEntry, InstanceRow, InstanceView, Links,
    OutboxRow, PlanRow, RecordRow, StartedBy, StepRow, StepState, WorkItemRow,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::right_name;

/// A user of the catalog.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    /// The id.
    pub id: String,
    /// The name.
    pub name: String,
    /// The e-mail address.
    pub email: String,
    /// The groups.
    pub groups: Vec<String>,
    /// The rights (`start`, `cancel`, `skip`, `design`, `adjust-following`, `see-others`).
    pub rights: Vec<String>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> UserView {
        UserView {
            id: u.id.clone(),
            name: u.name.clone(),
            email: u.email.clone(),
            groups: u.groups.clone(),
            rights: u
                .rights
                .iter()
                .map(|r| right_name(*r).to_string())
                .collect(),
        }
    }
}

/// A deployed plan version.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlanVersion {
    /// The plan's hash (its identity).
    pub hash: String,
    /// Deployment order (1, 2, ...).
    pub seq: u64,
    /// When it was deployed.
    pub deployed_at: DateTime<Utc>,
    /// Whether new processes start on it.
    pub current: bool,
}

impl PlanVersion {
    pub(crate) fn new(row: &PlanRow, current: bool) -> PlanVersion {
        PlanVersion {
            hash: row.hash.clone(),
            seq: row.seq,
            deployed_at: row.deployed_at,
            current,
        }
    }
}

/// A process template of the current plan.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TemplateView {
    /// The name (what a start names).
    pub name: String,
    /// The title.
    pub title: Option<String>,
    /// Whether it can be started.
    pub active: bool,
    /// The records a start needs (`property`, `address`).
    pub needs: Vec<String>,
    /// The steps, in order.
    pub steps: Vec<String>,
}

impl TemplateView {
    pub(crate) fn all(plan: &Plan) -> Vec<TemplateView> {
        plan.templates
            .iter()
            .map(|t| TemplateView {
                name: t.name.clone(),
                title: t.title.clone(),
                active: t.active,
                needs: t.needs.iter().map(enum_text).collect(),
                steps: t.steps.iter().map(|s| s.name.clone()).collect(),
            })
            .collect()
    }
}

/// The records a process is linked to.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct LinksView {
    /// The address id.
    pub address: Option<String>,
    /// The property id.
    pub property: Option<String>,
    /// The project id.
    pub project: Option<String>,
}

impl From<&Links> for LinksView {
    fn from(l: &Links) -> LinksView {
        LinksView {
            address: l.address.as_deref().map(str::to_string),
            property: l.property.as_deref().map(str::to_string),
            project: l.project.as_deref().map(str::to_string),
        }
    }
}

/// A process instance.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InstanceSummary {
    /// The id.
    pub id: u64,
    /// The template.
    pub template: String,
    /// The plan version it runs on.
    pub plan: String,
    /// `running_due`, `running_waiting`, `completed` or `cancelled`.
    pub status: String,
    /// The process owner.
    pub owner: String,
    /// The controller: a user id or an e-mail address.
    pub controller: Option<String>,
    /// The linked records.
    pub links: LinksView,
    /// Who or what started it, in words.
    pub started_by: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// Who cancelled it.
    pub cancelled_by: Option<String>,
    /// When it was cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl From<&InstanceRow> for InstanceSummary {
    fn from(i: &InstanceRow) -> InstanceSummary {
        InstanceSummary {
            id: i.id,
            template: i.template.clone(),
            plan: i.plan_hash.clone(),
            status: enum_text(&i.status),
            owner: i.owner.clone(),
            controller: i.controller.as_ref().map(|c| match c {
                Contact::User(u) => u.clone(),
                Contact::Email(e) => e.clone(),
            }),
            links: (&i.links).into(),
            started_by: match &i.started_by {
                StartedBy::User { user } => format!("user {user}"),
                StartedBy::Trigger { event } => format!("trigger: {event}"),
                StartedBy::FollowUp { parent, step } => {
                    format!("follow-up of process {parent} (step {step})")
                }
            },
            started_at: i.started_at,
            completed_at: i.completed_at,
            cancelled_by: i.cancelled_by.clone(),
            cancelled_at: i.cancelled_at,
        }
    }
}

/// A step of an instance (its latest visit).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StepView {
    /// The step's index in its template (what the step endpoints take).
    pub index: u32,
    /// The name.
    pub name: String,
    /// The step kind (`task`, `decision`, `webhook`, ...).
    pub kind: String,
    /// How often the flow reached it.
    pub visit: u32,
    /// `scheduled`, `active`, `done`, `skipped` or `cancelled`.
    pub state: String,
    /// When a scheduled step starts.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// Why an automatic step became manual.
    pub degraded: Option<String>,
    /// The responsible user.
    pub responsible: Option<String>,
    /// When it became active.
    pub activated_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub completed_at: Option<DateTime<Utc>>,
    /// Whether its deadline has passed (a deadline rung fired) while it is active.
    pub overdue: bool,
    /// Whether it may be skipped.
    pub skippable: bool,
    /// The answer of a decision.
    pub answer: Option<bool>,
    /// The task it waits for.
    pub task: Option<u64>,
}

impl StepView {
    pub(crate) fn new(row: &StepRow, plan: Option<&Plan>, template: &str) -> StepView {
        let spec = plan
            .and_then(|p| p.template(template))
            .and_then(|t| t.steps.get(row.index as usize));
        StepView {
            index: row.index,
            name: row.name.clone(),
            kind: spec.map_or_else(String::new, |s| action_kind(&s.action)),
            visit: row.visit,
            state: row.state.name().to_string(),
            scheduled_at: match row.state {
                StepState::Scheduled { at } => Some(at),
                _ => None,
            },
            degraded: row.degraded.clone(),
            responsible: row.responsible.clone(),
            activated_at: row.activated_at,
            completed_at: row.completed_at,
            overdue: is_overdue(row),
            skippable: spec.is_some_and(|s| {
                s.skippable && !matches!(s.action, procc_plan::Action::Task { .. })
            }),
            answer: row.answer,
            task: row.task,
        }
    }
}

/// Whether an active step's deadline has passed: its first rung fired in this visit.
pub(crate) fn is_overdue(row: &StepRow) -> bool {
    row.state == StepState::Active && !row.rungs_fired.is_empty()
}

/// The kind of a step action, as in the plan (`task`, `decision`, ...).
pub(crate) fn action_kind(action: &procc_plan::Action) -> String {
    serde_json::to_value(action)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string))
        .unwrap_or_default()
}

/// A work item: a step waiting for a person.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkItemView {
    /// The id.
    pub id: u64,
    /// The user it waits for.
    pub user: String,
    /// The instance.
    pub instance: u64,
    /// The step index.
    pub step: u32,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it was closed.
    pub done_at: Option<DateTime<Utc>>,
    /// A warning for the person (an automatic step that became manual).
    pub warning: Option<String>,
}

impl From<&WorkItemRow> for WorkItemView {
    fn from(w: &WorkItemRow) -> WorkItemView {
        WorkItemView {
            id: w.id,
            user: w.user.clone(),
            instance: w.instance,
            step: w.step,
            created_at: w.created_at,
            done_at: w.done_at,
            warning: w.warning.clone(),
        }
    }
}

/// A due step in an inbox or the controller's view.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InboxItem {
    /// The work item.
    pub work_item: WorkItemView,
    /// The template.
    pub template: String,
    /// The step's name.
    pub step_name: String,
    /// The step's 1-based position.
    pub position: u32,
    /// The number of steps of the template.
    pub of: u32,
    /// The linked records.
    pub links: LinksView,
}

impl From<&InboxEntry> for InboxItem {
    fn from(e: &InboxEntry) -> InboxItem {
        InboxItem {
            work_item: (&e.item).into(),
            template: e.template.clone(),
            step_name: e.step_name.clone(),
            position: e.position.0,
            of: e.position.1,
            links: (&e.links).into(),
        }
    }
}

/// Something a step created: a task, an appointment, a letter, a resubmission, an activity.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ArtefactView {
    /// The id.
    pub id: u64,
    /// The kind.
    pub kind: String,
    /// The step that created it.
    pub step: u32,
    /// The details.
    pub data: serde_json::Value,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Whether it is done (tasks).
    pub done: bool,
}

impl From<&ArtefactRow> for ArtefactView {
    fn from(a: &ArtefactRow) -> ArtefactView {
        ArtefactView {
            id: a.id,
            kind: enum_text(&a.kind),
            step: a.step,
            data: a.data.value().clone(),
            created_at: a.created_at,
            done: a.done,
        }
    }
}

/// An entry of the history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// The step.
    pub step: Option<u32>,
    /// Who: a user id, or `system`.
    pub who: String,
    /// What happened.
    pub event: String,
    /// Details.
    pub detail: String,
}

impl From<&AuditRow> for HistoryEntry {
    fn from(a: &AuditRow) -> HistoryEntry {
        HistoryEntry {
            at: a.at,
            step: a.step,
            who: a.who.to_string(),
            event: a.event.to_string(),
            detail: a.detail.clone(),
        }
    }
}

/// An outbound effect (e-mail, SMS, webhook, letter, portal sync) and its delivery.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    /// The id.
    pub id: u64,
    /// `email`, `sms`, `webhook`, `letter` or `portal`.
    pub kind: String,
    /// The recipient or target.
    pub to: String,
    /// The idempotency key (the same on every attempt).
    pub idempotency_key: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Attempts so far.
    pub attempts: u32,
    /// The last error.
    pub last_error: Option<String>,
    /// The next attempt is not before this time.
    pub not_before: Option<DateTime<Utc>>,
    /// When delivery was given up (retries exhausted, refused, endpoint gone).
    pub failed_at: Option<DateTime<Utc>>,
    /// The instance it belongs to.
    pub instance: Option<u64>,
    /// The attempts, oldest first (in an instance's detail).
    pub attempt_log: Vec<AttemptView>,
}

impl DeliveryView {
    pub(crate) fn new(o: &OutboxRow, attempt_log: &[AttemptRow]) -> DeliveryView {
        DeliveryView {
            id: o.id,
            kind: enum_text(&o.kind),
            to: o.to.clone(),
            idempotency_key: o.idempotency_key.clone(),
            created_at: o.created_at,
            delivered_at: o.delivered_at,
            attempts: o.attempts,
            last_error: o.last_error.clone(),
            not_before: o.not_before,
            failed_at: o.failed_at,
            instance: o.instance,
            attempt_log: attempt_log.iter().map(Into::into).collect(),
        }
    }
}

impl From<&OutboxRow> for DeliveryView {
    fn from(o: &OutboxRow) -> DeliveryView {
        DeliveryView::new(o, &[])
    }
}

/// One delivery attempt.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AttemptView {
    /// 1, 2, ...
    pub number: u32,
    /// When.
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// How long it took.
    pub latency_ms: u64,
    /// `delivered`, `retry`, `failed` or `gone`.
    pub outcome: String,
    /// What went wrong.
    pub error: Option<String>,
    /// The start of the receiver's answer.
    pub excerpt: Option<String>,
    /// When the next attempt is due.
    pub next_at: Option<DateTime<Utc>>,
}

impl From<&AttemptRow> for AttemptView {
    fn from(a: &AttemptRow) -> AttemptView {
        AttemptView {
            number: a.number,
            at: a.at,
            status: a.status,
            latency_ms: a.latency_ms,
            outcome: enum_text(&a.outcome),
            error: a.error.clone(),
            excerpt: a.excerpt.clone(),
            next_at: a.next_at,
        }
    }
}

/// Whether an effect failed: given up, or its last attempt failed.
pub(crate) fn is_failed(o: &OutboxRow) -> bool {
    o.failed_at.is_some() || (o.delivered_at.is_none() && o.last_error.is_some())
}

/// An instance with its steps, work items, artefacts, history and deliveries.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InstanceDetail {
    /// The instance.
    pub instance: InstanceSummary,
    /// The steps the flow reached.
    pub steps: Vec<StepView>,
    /// Its work items, open and done.
    pub work_items: Vec<WorkItemView>,
    /// What its steps created.
    pub artefacts: Vec<ArtefactView>,
    /// Its history, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Its effects and their delivery.
    pub deliveries: Vec<DeliveryView>,
}

impl InstanceDetail {
    pub(crate) fn new(
        view: &InstanceView,
        plan: Option<&Plan>,
        deliveries: &[(OutboxRow, Vec<AttemptRow>)],
    ) -> Self {
        InstanceDetail {
            instance: (&view.instance).into(),
            steps: view
                .steps
                .iter()
                .map(|s| StepView::new(s, plan, &view.instance.template))
                .collect(),
            work_items: view.work_items.iter().map(Into::into).collect(),
            artefacts: view.artefacts.iter().map(Into::into).collect(),
            history: view.history.iter().map(Into::into).collect(),
            deliveries: deliveries
                .iter()
                .map(|(o, attempts)| DeliveryView::new(o, attempts))
                .collect(),
        }
    }
}

/// A record (address, property or project).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RecordView {
    /// `address`, `property` or `project`.
    pub module: String,
    /// The id.
    pub id: String,
    /// The field values (`status`, `supervisor`, `email`, `mobile` among them).
    #[schema(value_type = Object)]
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// The saved filters the record is in.
    pub filters: Vec<String>,
}

impl From<&RecordRow> for RecordView {
    fn from(r: &RecordRow) -> RecordView {
        RecordView {
            module: enum_text(&r.module),
            id: r.id.clone(),
            fields: r.fields.clone(),
            filters: r.filters.clone(),
        }
    }
}

/// Parses a module name.
pub(crate) fn module(name: &str) -> Option<Module> {
    match name {
        "address" => Some(Module::Address),
        "property" => Some(Module::Property),
        "project" => Some(Module::Project),
        _ => None,
    }
}

/// A unit-like enum's serde name (`running_due`, `property`, ...).
pub(crate) fn enum_text<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
