//! The types of a plan. Everything is resolved: catalog entries are referred to by their ids
//! and are all contained in the plan's catalog; steps are referred to by index; defaults are
//! filled in; the step graph is explicit.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::expr::Expr;

/// Index of a step in its template's `steps`.
pub type StepIndex = u32;

/// The CRM customer the plan was compiled for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    /// The customer web id.
    pub id: String,
    /// The customer name.
    pub name: String,
    /// The client's SMS sender number.
    pub mobile: Option<String>,
}

/// The part of the project file the runtime needs.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Users, in project-file order.
    pub users: Vec<User>,
    /// Groups.
    pub groups: Vec<Group>,
    /// The record modules with their fields and statuses.
    pub modules: Vec<ModuleSchema>,
    /// Marketplace services.
    pub services: Vec<Service>,
    /// E-mail templates.
    pub email_templates: Vec<EmailTemplate>,
    /// Letter templates.
    pub letter_templates: Vec<LetterTemplate>,
    /// SMS templates.
    pub sms_templates: Vec<SmsTemplate>,
    /// Portals.
    pub portals: Vec<Portal>,
    /// Saved record filters.
    pub filters: Vec<Filter>,
    /// Business calendars.
    pub calendars: Vec<Calendar>,
    /// Project templates.
    pub project_templates: Vec<String>,
    /// Activity kinds with their types.
    pub activity_kinds: Vec<ActivityKind>,
    /// Features (Merkmale) of activities and e-mails.
    pub activity_features: Vec<String>,
    /// Sender mailboxes.
    pub mailboxes: Vec<String>,
}

/// A user right of the process manager.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Right {
    /// Start processes.
    Start,
    /// Cancel processes.
    Cancel,
    /// Skip steps.
    Skip,
    /// Design templates.
    Design,
    /// Change the responsibility of following steps too.
    AdjustFollowing,
    /// See other users' steps.
    SeeOthers,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// The id.
    pub id: String,
    /// The display name.
    pub name: String,
    /// Where notifications go.
    pub email: String,
    /// For SMS.
    pub mobile: Option<String>,
    /// Group ids.
    pub groups: Vec<String>,
    /// Rights.
    pub rights: Vec<Right>,
    /// The user's own address record, for lead distribution.
    pub address: Option<String>,
}

/// A group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// The id.
    pub id: String,
    /// The display name.
    pub name: String,
    /// The group's SMS sender number.
    pub mobile: Option<String>,
}

/// A record module.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Module {
    /// Addresses (contacts).
    Address,
    /// Properties.
    Property,
    /// Projects.
    Project,
}

/// A record a process is linked to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Record {
    /// The property.
    Property,
    /// The address.
    Address,
}

/// The fields and statuses of one module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModuleSchema {
    /// Which module.
    pub module: Module,
    /// Status values.
    pub statuses: Vec<String>,
    /// Fields, sorted by name, built-in ones included.
    pub fields: Vec<Field>,
}

/// The type of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Text.
    Text,
    /// A number.
    Number,
    /// An amount in EUR.
    Money,
    /// Square metres.
    Area,
    /// A date.
    Date,
    /// Yes or no.
    Bool,
    /// One of `values`.
    Enum,
}

/// A field of a module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// The name.
    pub name: String,
    /// The type.
    #[serde(rename = "type")]
    pub ty: FieldType,
    /// The values of an enum field.
    pub values: Vec<String>,
    /// Whether steps may write it.
    pub read_only: bool,
}

/// A marketplace service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// The id.
    pub id: String,
    /// The display name.
    pub name: String,
    /// Its webhook (only activated services with a webhook are called).
    pub webhook: Option<ServiceWebhook>,
}

/// How to call a service's webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceWebhook {
    /// The URL.
    pub url: String,
    /// `GET` or `POST`.
    pub method: HttpMethod,
    /// Allowed parameters.
    pub parameters: Vec<Parameter>,
    /// The name of the environment variable that holds the signing secret.
    pub secret_env: Option<String>,
    /// The path of the file that holds the signing secret.
    pub secret_file: Option<String>,
    /// Attempts before the step degrades to manual.
    pub max_attempts: u32,
    /// Total timeout of one attempt.
    pub timeout_seconds: u32,
}

/// An allowed webhook parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// The name.
    pub name: String,
    /// The allowed values; empty means any.
    pub values: Vec<String>,
}

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
}

/// An e-mail template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailTemplate {
    /// The id.
    pub id: String,
    /// The subject, with macros.
    pub subject: String,
    /// The body, with macros.
    pub body: Option<String>,
}

/// A letter template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LetterTemplate {
    /// The id.
    pub id: String,
    /// Word or PDF.
    pub format: LetterFormat,
    /// What it is.
    pub description: Option<String>,
}

/// The kind of a letter template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LetterFormat {
    /// Word.
    Word,
    /// PDF.
    Pdf,
}

/// An SMS template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsTemplate {
    /// The id.
    pub id: String,
    /// The text, with macros.
    pub text: String,
}

/// A portal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Portal {
    /// The id.
    pub id: String,
    /// The display name.
    pub name: String,
    /// Whether it only takes full syncs (a property is marked for the next one).
    pub full_sync_only: bool,
}

/// A saved record filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// The id.
    pub id: String,
    /// Whose records it selects.
    pub module: Module,
}

/// A business calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    /// The id.
    pub id: String,
    /// An IANA time zone name.
    pub time_zone: String,
    /// Weekend days, lowercase English names.
    pub weekend: Vec<String>,
    /// Holidays, sorted.
    pub holidays: Vec<NaiveDate>,
}

/// An activity kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityKind {
    /// The id.
    pub id: String,
    /// Its types.
    pub types: Vec<String>,
}

/// A process template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// The name.
    pub name: String,
    /// The title.
    pub title: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// Whether processes may be started.
    pub active: bool,
    /// Records that must be linked at start.
    pub needs: Vec<Record>,
    /// Whether the process must be started from an e-mail.
    pub needs_email: bool,
    /// Who is told about deadlines, skips and cancellations.
    pub controller: Controller,
    /// Whether the controller is told when a process is cancelled.
    pub notify_controller_on_cancel: bool,
    /// Automatic starts.
    pub triggers: Vec<Trigger>,
    /// The steps; the first one runs first.
    pub steps: Vec<Step>,
    /// Where the template is written.
    pub source: SourceLocation,
}

/// A place in a source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceLocation {
    /// The file, relative to the project file's folder, with `/` separators.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

/// Who controls a process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Controller {
    /// Whoever starts it.
    Starter,
    /// A user.
    User(String),
    /// An e-mail address.
    Email(String),
}

/// An automatic start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// What starts it.
    pub event: TriggerEvent,
    /// Only records in this filter.
    pub filter: Option<String>,
    /// Who owns the started process; `None` is the record's supervisor.
    pub owner: Option<Responsible>,
    /// Only when this holds.
    pub condition: Option<Expr>,
}

/// The event of a trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TriggerEvent {
    /// A record was saved.
    Saved {
        /// Which record.
        record: Record,
    },
    /// A record's status was set to `value`.
    StatusSet {
        /// Which record.
        record: Record,
        /// The status.
        value: String,
    },
    /// The daily scan found a date field `offset_days` away.
    Date {
        /// The module of the field.
        module: Module,
        /// The date field.
        field: String,
        /// Days after (positive) or before (negative) the date.
        offset_days: i64,
        /// Every year.
        ignore_year: bool,
    },
    /// An e-mail was received.
    EmailReceived {
        /// With this feature.
        feature: Option<String>,
    },
    /// An activity was logged.
    ActivityReceived {
        /// Of this kind.
        activity_kind: Option<String>,
        /// Of this type.
        activity_type: Option<String>,
        /// With this feature.
        feature: Option<String>,
    },
}

/// Who is responsible for a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", content = "of", rename_all = "snake_case")]
pub enum Responsible {
    /// The process owner.
    Owner,
    /// The supervisor of a linked record.
    Supervisor(Record),
    /// A named user.
    User(String),
}

/// A unit of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    /// Calendar days in the tenant's time zone.
    Days,
    /// Hours.
    Hours,
    /// Business days on `calendar`.
    BusinessDays,
}

/// An amount of time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Delay {
    /// How many (at least one).
    pub amount: u32,
    /// Of what.
    pub unit: TimeUnit,
    /// The calendar business days are counted on.
    pub calendar: Option<String>,
}

/// What a deadline rung does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", content = "to", rename_all = "snake_case")]
pub enum RungAction {
    /// E-mail the process controller.
    EmailController,
    /// Remind the responsible person.
    RemindResponsible,
    /// Give the step to someone else.
    Reassign(Responsible),
}

/// A rung of a deadline ladder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rung {
    /// Counted from the step's activation.
    pub after: Delay,
    /// What happens.
    pub action: RungAction,
}

/// Where the flow goes after a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Next {
    /// To this step.
    Step {
        /// The step.
        step: StepIndex,
    },
    /// Yes or no.
    Branch {
        /// On yes.
        yes: StepIndex,
        /// On no.
        no: StepIndex,
    },
    /// The process completes.
    End,
}

/// A step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Its name.
    pub name: String,
    /// What it does.
    pub action: Action,
    /// `None`: right after the previous step.
    pub start_after: Option<Delay>,
    /// Who.
    pub responsible: Responsible,
    /// The escalation ladder, ascending.
    pub deadline: Vec<Rung>,
    /// The records its activity entries land on.
    pub concerns: Vec<Record>,
    /// Whether it may be skipped.
    pub skippable: bool,
    /// Whether the runtime carries it out by itself (else a person does).
    pub automatic: bool,
    /// Where the flow goes next.
    pub next: Next,
    /// Steps whose `next` leads here (more than one at merges and joins).
    pub incoming: Vec<StepIndex>,
    /// Where the step is written.
    pub source: SourceLocation,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// A task; the flow waits until it is done.
    Task {
        /// Subject.
        subject: String,
        /// Description.
        description: Option<String>,
        /// Attached files.
        attachments: Vec<String>,
        /// Who edits it when it is created.
        processor: Option<String>,
    },
    /// An appointment.
    Appointment {
        /// Subject.
        subject: String,
        /// Type.
        appointment_type: Option<String>,
        /// All day.
        all_day: bool,
        /// Description.
        description: Option<String>,
        /// Attached files.
        attachments: Vec<String>,
    },
    /// A letter.
    Letter {
        /// Template id.
        template: String,
        /// Word or PDF.
        format: LetterFormat,
        /// Description.
        description: Option<String>,
    },
    /// An e-mail to the linked address.
    Email {
        /// Template id.
        template: String,
        /// A fixed time of day for automatic sending, `HH:MM`.
        send_at: Option<String>,
        /// With the signature.
        signature: bool,
        /// Sender mailbox.
        mailbox: Option<String>,
        /// An extra contact.
        contact: Option<String>,
    },
    /// Forwarding the e-mail that started the process.
    ForwardEmail {
        /// A fixed time of day, `HH:MM`.
        send_at: Option<String>,
        /// With the supervisor's signature.
        signature: bool,
        /// Recipient.
        to: Option<Recipient>,
        /// Copies.
        cc: Vec<Recipient>,
        /// Blind copies.
        bcc: Vec<Recipient>,
        /// Note.
        note: Option<String>,
    },
    /// An SMS.
    Sms {
        /// The text, or a template.
        text: SmsText,
        /// When an automatic SMS may go out.
        window: SmsWindow,
        /// To whom.
        to: SmsRecipient,
        /// From whose number.
        sender: SmsSender,
        /// An extra contact.
        contact: Option<String>,
    },
    /// A report to the owner.
    OwnerNotification {
        /// E-mail or letter.
        channel: Channel,
        /// Template id.
        template: String,
        /// A fixed time of day, `HH:MM`.
        send_at: Option<String>,
        /// Days reported on; `None` is all.
        period_days: Option<u32>,
        /// Whether the process's property is included.
        with_property: bool,
    },
    /// A resubmission.
    Resubmission {
        /// Reason.
        reason: String,
        /// When it is due, from the step's activation.
        due: Option<Delay>,
    },
    /// Writing a field.
    WriteValues {
        /// The module.
        module: Module,
        /// The field.
        field: String,
        /// The value; `None` when a person enters it.
        value: Option<Expr>,
    },
    /// Creating a project.
    CreateProject {
        /// Project template.
        template: String,
        /// Title.
        title: Option<String>,
        /// Link the following tasks.
        link_following_tasks: bool,
    },
    /// Assigning a project.
    AssignProject {
        /// Comment.
        comment: Option<String>,
    },
    /// Linking an address.
    AssignAddress {
        /// Whether the address comes with a property link.
        property_link: bool,
    },
    /// Linking a property.
    AssignProperty {
        /// Take the address from this link in the property.
        address_from: Option<String>,
    },
    /// Starting another process.
    FollowUp {
        /// Template name, contained in the plan.
        template: String,
        /// Links handed over.
        carry: Vec<Record>,
    },
    /// A yes/no decision.
    Decision {
        /// How.
        mode: DecisionMode,
        /// The question.
        question: Option<String>,
        /// The condition of an automatic decision.
        condition: Option<Expr>,
        /// E-mail the decider even when they did the previous step.
        notify_decider: bool,
    },
    /// Where branches meet.
    Merge,
    /// A marketplace service's webhook.
    ServiceWebhook {
        /// Service id.
        service: String,
        /// The parameter passed on the URL.
        parameter: Option<WebhookParameter>,
    },
    /// A freely configured webhook.
    FreeWebhook {
        /// Method.
        method: HttpMethod,
        /// URL with `{module.field}` macros.
        url: String,
        /// Headers.
        headers: Vec<Header>,
        /// Body with macros.
        body: Option<String>,
    },
    /// Setting a status.
    SetStatus {
        /// Whose.
        record: Record,
        /// The value.
        value: String,
    },
    /// An activity entry.
    ActivityLog {
        /// Kind.
        activity_kind: String,
        /// Type.
        activity_type: Option<String>,
        /// Note.
        note: Option<String>,
        /// Features.
        features: Vec<String>,
        /// Marked for owner reports.
        tracked: bool,
    },
    /// Publishing or removing.
    PortalSync {
        /// What.
        action: PortalAction,
        /// Which portals; empty is all.
        portals: Vec<String>,
    },
    /// Distributing a lead.
    LeadDistribution {
        /// Among whom.
        pool: Pool,
        /// Capacity field of the consultants' address records.
        capacity_field: Option<String>,
        /// Skip absent consultants.
        respect_absence: bool,
        /// Activity kind written.
        activity_kind: Option<String>,
        /// Activity type written.
        activity_type: Option<String>,
    },
    /// The end.
    End,
}

/// A webhook parameter and its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookParameter {
    /// The name.
    pub name: String,
    /// The value.
    pub value: Expr,
}

/// An HTTP header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Name.
    pub name: String,
    /// Value, with macros.
    pub value: String,
}

/// A recipient of a forwarded e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Recipient {
    /// A user.
    User(String),
    /// An e-mail address.
    Address(String),
}

/// The text of an SMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum SmsText {
    /// Written in the step.
    Inline(String),
    /// A catalog template.
    Template(String),
}

/// When an automatic SMS may go out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SmsWindow {
    /// Any time.
    Anytime,
    /// At a time, `HH:MM`.
    At {
        /// The time.
        time: String,
    },
    /// Between two times, `HH:MM`.
    Between {
        /// From.
        from: String,
        /// To.
        to: String,
    },
}

/// Who receives an SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmsRecipient {
    /// The linked address.
    Address,
    /// Its supervisor.
    AddressSupervisor,
}

/// Whose number an SMS comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmsSender {
    /// The property's supervisor.
    PropertySupervisor,
    /// The client.
    Client,
    /// The responsible user's group.
    Group,
}

/// E-mail or letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// E-mail.
    Email,
    /// Letter.
    Letter,
}

/// How a decision is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionMode {
    /// In the list.
    Manual,
    /// By e-mail with signed links.
    ByEmail,
    /// By the condition.
    Automatic,
}

/// Publish or remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PortalAction {
    /// Publish.
    Publish,
    /// Remove.
    Remove,
}

/// Among whom a lead is distributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", content = "ids", rename_all = "snake_case")]
pub enum Pool {
    /// The members of a group.
    Group(String),
    /// These users.
    Users(Vec<String>),
}
