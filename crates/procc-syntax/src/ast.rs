//! The typed syntax tree of `.proc` files.
//!
//! Every node carries the byte [`Span`] it was read from. The tree says what the author wrote
//! and nothing more: names are not resolved (that is the checker's job) and defaults are not
//! filled in (an absent setting is `None`), so the formatter and the checker can tell written
//! from implied.

use procc_diagnostics::Span;

/// One `.proc` file.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    /// The process templates, in file order.
    pub processes: Vec<Process>,
    /// Every comment, in file order.
    pub comments: Vec<Comment>,
}

/// A `// comment`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// The text after `//`.
    pub text: String,
    /// Where, including the `//`.
    pub span: Span,
}

/// A name written by the author: a process, a step, a service, a parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where.
    pub span: Span,
}

/// A quoted text, with escapes resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Text {
    /// The text.
    pub value: String,
    /// Where, including the quotes.
    pub span: Span,
}

/// A value with the span it was written at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where.
    pub span: Span,
}

/// A record a process can be linked to when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Record {
    /// The property (Objekt).
    Property,
    /// The address, i.e. the contact (Adresse).
    Address,
}

/// A module whose fields expressions and write steps refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Module {
    /// Address records.
    Address,
    /// Property records.
    Property,
    /// Project records (created by a create-project step).
    Project,
}

impl Module {
    /// The module's name as written in `.proc` files.
    pub fn name(self) -> &'static str {
        match self {
            Module::Address => "address",
            Module::Property => "property",
            Module::Project => "project",
        }
    }

    /// The module of a record.
    pub fn of(record: Record) -> Module {
        match record {
            Record::Property => Module::Property,
            Record::Address => Module::Address,
        }
    }
}

impl Record {
    /// The record's name as written in `.proc` files.
    pub fn name(self) -> &'static str {
        Module::of(self).name()
    }
}

/// A process template.
#[derive(Debug, Clone, PartialEq)]
pub struct Process {
    /// The name other templates and the runtime use.
    pub name: Ident,
    /// The title people see.
    pub title: Option<Text>,
    /// `description "..."`.
    pub description: Option<Text>,
    /// `active`: processes may be started from this template (default: inactive).
    pub active: Option<Spanned<bool>>,
    /// `needs property, address`: records the process must be linked to at start.
    pub needs: Vec<Spanned<Record>>,
    /// `needs email`: the process is started from an e-mail (manually or by an e-mail trigger).
    pub needs_email: Option<Span>,
    /// `controller ...`: who is told about deadlines, skips and cancellations.
    pub controller: Option<Spanned<Controller>>,
    /// `notify controller on cancel`.
    pub notify_controller_on_cancel: Option<Span>,
    /// `trigger ...` lines.
    pub triggers: Vec<Trigger>,
    /// The steps, in file order; the first step runs first.
    pub steps: Vec<Step>,
    /// Steps whose kind or head could not be read (already reported). Their names are known so
    /// that jumps to them are not reported again; flow checks skip a process that has any.
    pub unreadable_steps: Vec<Ident>,
    /// The whole template.
    pub span: Span,
}

/// Who controls a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Controller {
    /// `controller starter`: whoever starts the process (the default).
    Starter,
    /// `controller user "id"`.
    User(Text),
    /// `controller email "address"`: an e-mail address outside the user list.
    Email(Text),
}

/// A `trigger` line: when the process starts by itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    /// What starts it.
    pub event: TriggerEvent,
    /// `filter "id"`: start only for records in this saved filter.
    pub filter: Option<Text>,
    /// `owner ...`: who owns the started process (default: the record's supervisor).
    pub owner: Option<Responsible>,
    /// `when <condition>`: start only when the condition holds.
    pub condition: Option<Expr>,
    /// The whole line.
    pub span: Span,
}

/// The event of a trigger.
#[derive(Debug, Clone, PartialEq)]
pub enum TriggerEvent {
    /// `trigger property saved`: a record was saved (use `when changed(a, b)` for fields).
    Saved(Spanned<Record>),
    /// `trigger property status "sold"`: a record's status was set to a value.
    StatusSet {
        /// The record.
        record: Spanned<Record>,
        /// The status value.
        value: Text,
    },
    /// `trigger date address.birthday 3 days before ignore year`.
    Date {
        /// The date field.
        field: FieldPath,
        /// Days before (negative) or after (positive) the date; `None` is on the day.
        offset_days: Option<Spanned<i64>>,
        /// Every year on the same day.
        ignore_year: Option<Span>,
    },
    /// `trigger email received` with an optional `feature "x"`.
    EmailReceived {
        /// The feature (Merkmal) the e-mail must carry.
        feature: Option<Text>,
    },
    /// `trigger activity received` with optional `kind`, `type` and `feature`.
    ActivityReceived {
        /// The activity kind.
        kind: Option<Text>,
        /// The activity type.
        activity_type: Option<Text>,
        /// The feature.
        feature: Option<Text>,
    },
}

/// A step of a process.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Its name, unique in the process.
    pub name: Ident,
    /// Where the kind word is.
    pub kind_span: Span,
    /// What it does.
    pub kind: StepKind,
    /// The settings every step kind shares.
    pub header: StepHeader,
    /// The whole step.
    pub span: Span,
}

/// The settings every step kind shares (merge and end have none).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepHeader {
    /// `start ...` (default: right after the previous step).
    pub start: Option<Start>,
    /// `responsible ...` (default: the process owner).
    pub responsible: Option<Responsible>,
    /// `deadline ...`.
    pub deadline: Option<Deadline>,
    /// `concerns property, address` (default: the records the process links).
    pub concerns: Option<Concerns>,
    /// `next step`: where the flow goes after this step (default: the next step in the file).
    pub next: Option<Ident>,
    /// `allow skip`.
    pub allow_skip: Option<Span>,
}

/// `start ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Start {
    /// `None` for `start after previous`.
    pub delay: Option<Delay>,
    /// The whole setting.
    pub span: Span,
}

/// A unit of time for delays and deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    /// Calendar days.
    Days,
    /// Hours.
    Hours,
    /// Working days on a business calendar.
    BusinessDays,
}

/// `3 days`, `4 hours` or `2 business days on "nrw"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Delay {
    /// How many; the lowering rejects zero or less where it makes no sense.
    pub amount: i64,
    /// Of what.
    pub unit: TimeUnit,
    /// `on "calendar"`, for business days.
    pub calendar: Option<Text>,
    /// Where.
    pub span: Span,
}

/// `responsible ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Responsible {
    /// Who.
    pub who: ResponsibleKind,
    /// Where.
    pub span: Span,
}

/// Who is responsible for a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponsibleKind {
    /// `owner`: the process owner.
    Owner,
    /// `supervisor of property` / `supervisor of address`.
    Supervisor(Record),
    /// `user "id"`.
    User(Text),
}

/// `deadline ...`: an escalation ladder.
#[derive(Debug, Clone, PartialEq)]
pub struct Deadline {
    /// The rungs, in the order written.
    pub rungs: Vec<Rung>,
    /// The whole setting.
    pub span: Span,
}

/// One rung: after a time, do something.
#[derive(Debug, Clone, PartialEq)]
pub struct Rung {
    /// Counted from the step's start.
    pub after: Delay,
    /// What happens.
    pub action: RungAction,
    /// Where.
    pub span: Span,
}

/// What a deadline rung does.
#[derive(Debug, Clone, PartialEq)]
pub enum RungAction {
    /// `email controller` (the default when a rung names no action).
    EmailController,
    /// `remind responsible`.
    RemindResponsible,
    /// `reassign to <responsible>`.
    Reassign(Responsible),
}

/// `concerns property, address` or `concerns nothing`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concerns {
    /// The records; empty for `concerns nothing`.
    pub records: Vec<Spanned<Record>>,
    /// Where.
    pub span: Span,
}

/// `manual` or `automatic [at 09:00]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendMode {
    /// A person carries the step out.
    Manual,
    /// The runtime carries it out, at a fixed time of day if given.
    Automatic {
        /// `at 09:00`.
        at: Option<Spanned<TimeOfDay>>,
    },
}

/// A time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeOfDay {
    /// 0 to 23.
    pub hour: u8,
    /// 0 to 59.
    pub minute: u8,
}

/// What a step does, with the settings of its kind.
#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// A task for the responsible person; the flow waits until it is done.
    Task(Task),
    /// An appointment the responsible person makes.
    Appointment(Appointment),
    /// A letter generated from a template.
    Letter(Letter),
    /// An e-mail from a template to the linked address.
    Email(Email),
    /// Forwarding the e-mail that started the process.
    ForwardEmail(ForwardEmail),
    /// An SMS.
    Sms(Sms),
    /// A report to the property owner.
    OwnerNotification(OwnerNotification),
    /// A resubmission (Wiedervorlage) for the responsible person.
    Resubmission(Resubmission),
    /// Writing a value into a record field.
    WriteValues(WriteValues),
    /// Creating a project.
    CreateProject(CreateProject),
    /// Assigning an existing project.
    AssignProject(AssignProject),
    /// Linking an address to the running process.
    AssignAddress(AssignAddress),
    /// Linking a property to the running process.
    AssignProperty(AssignProperty),
    /// Starting another process.
    FollowUp(FollowUp),
    /// A yes/no decision.
    Decision(Decision),
    /// Where branches meet again.
    Merge,
    /// A webhook call.
    Webhook(Webhook),
    /// Setting a record's status.
    SetStatus(SetStatus),
    /// An activity (agent's log) entry.
    ActivityLog(ActivityLog),
    /// Publishing to or removing from portals.
    PortalSync(PortalSync),
    /// Distributing a lead among consultants.
    LeadDistribution(LeadDistribution),
    /// The end of the process.
    End,
}

/// `task "Subject"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// The task's subject.
    pub subject: Text,
    /// `description "..."`.
    pub description: Option<Text>,
    /// `attach "file"`, repeatable.
    pub attachments: Vec<Text>,
    /// `processor user "id"`: who edits the task when it is created.
    pub processor: Option<Text>,
}

/// `appointment "Subject"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Appointment {
    /// The subject.
    pub subject: Text,
    /// `type "Viewing"`.
    pub appointment_type: Option<Text>,
    /// `all day`.
    pub all_day: Option<Span>,
    /// `description "..."`.
    pub description: Option<Text>,
    /// `attach "file"`, repeatable.
    pub attachments: Vec<Text>,
}

/// The kind of a letter template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LetterFormat {
    /// A Word template.
    Word,
    /// A PDF letter template.
    Pdf,
}

/// `letter template "id"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Letter {
    /// The letter template.
    pub template: Text,
    /// `format word|pdf`.
    pub format: Option<Spanned<LetterFormat>>,
    /// `description "..."`.
    pub description: Option<Text>,
}

/// `email template "id" [automatic [at 09:00]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    /// The e-mail template.
    pub template: Text,
    /// Manual (default) or automatic.
    pub mode: SendMode,
    /// `signature yes|no` (default yes).
    pub signature: Option<Spanned<bool>>,
    /// `mailbox "address"`: the sender mailbox.
    pub mailbox: Option<Text>,
    /// `contact "tenant"`: a contact added to the mail.
    pub contact: Option<Text>,
}

/// A recipient of a forwarded e-mail copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// `user "id"`.
    User(Text),
    /// An e-mail address.
    Address(Text),
}

/// `forward_email [automatic]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ForwardEmail {
    /// Manual (default) or automatic.
    pub mode: SendMode,
    /// `signature yes|no`: the address supervisor's signature.
    pub signature: Option<Spanned<bool>>,
    /// `to user "id"` or `to "address"`: who receives the forwarded e-mail.
    pub to: Option<Recipient>,
    /// `cc ...`, repeatable.
    pub cc: Vec<Recipient>,
    /// `bcc ...`, repeatable.
    pub bcc: Vec<Recipient>,
    /// `note "..."`.
    pub note: Option<Text>,
}

/// When an automatic SMS may be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsWindow {
    /// Any time.
    Anytime,
    /// `send at 09:00`.
    At(Spanned<TimeOfDay>),
    /// `send between 09:00 and 18:00`.
    Between(Spanned<TimeOfDay>, Spanned<TimeOfDay>),
}

/// Who receives an SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsRecipient {
    /// The linked address (default).
    Address,
    /// The supervisor of the linked address.
    AddressSupervisor,
}

/// Whose number an SMS is sent from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsSender {
    /// The supervisor of the linked property (default).
    PropertySupervisor,
    /// The client's (Mandant) mobile number.
    Client,
    /// The group's mobile number.
    Group,
}

/// `sms "text" [automatic]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sms {
    /// The text, or `template "id"`.
    pub text: SmsText,
    /// Manual (default) or automatic.
    pub automatic: Option<Span>,
    /// `send anytime|at|between` (automatic only).
    pub window: Option<Spanned<SmsWindow>>,
    /// `to address|supervisor of address`.
    pub to: Option<Spanned<SmsRecipient>>,
    /// `sender property supervisor|client|group`.
    pub sender: Option<Spanned<SmsSender>>,
    /// `contact "..."`.
    pub contact: Option<Text>,
}

/// The text of an SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsText {
    /// Written in the step.
    Inline(Text),
    /// `template "id"` from the catalog.
    Template(Text),
}

/// The channel of an owner notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// An e-mail.
    Email,
    /// A letter (always manual).
    Letter,
}

/// The period an owner notification reports on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Period {
    /// `period all`.
    All,
    /// `period last 30 days`.
    LastDays(i64),
}

/// `owner_notification email|letter template "id"`.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnerNotification {
    /// E-mail or letter.
    pub channel: Spanned<Channel>,
    /// The template.
    pub template: Text,
    /// Manual (default) or automatic (e-mail only).
    pub mode: SendMode,
    /// Where `automatic` was written.
    pub mode_span: Option<Span>,
    /// `period ...` (default all).
    pub period: Option<Spanned<Period>>,
    /// `property none`: report without the process's property.
    pub without_property: Option<Span>,
}

/// `resubmission "reason"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Resubmission {
    /// The reason or note.
    pub reason: Text,
    /// `due 7 days`: when the resubmission is due, counted from the step's start.
    pub due: Option<Delay>,
}

/// A field of a record: `property.purchase_price`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldPath {
    /// The module.
    pub module: Spanned<Module>,
    /// The field.
    pub field: Ident,
    /// The whole path.
    pub span: Span,
}

/// `write_values property.field = value` or `write_values property.field manual`.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteValues {
    /// The field written.
    pub target: FieldPath,
    /// The value; `None` when the responsible person enters it (manual).
    pub value: Option<Expr>,
}

/// `create_project template "id" ["title"]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateProject {
    /// The project template.
    pub template: Text,
    /// `title "..."`.
    pub title: Option<Text>,
    /// `link following tasks`.
    pub link_following_tasks: Option<Span>,
}

/// `assign_project ["comment"]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignProject {
    /// Shown when the step is carried out.
    pub comment: Option<Text>,
}

/// `assign_address [without property]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignAddress {
    /// `without property`: the address needs no property link.
    pub without_property: Option<Span>,
}

/// `assign_property [address from "tenant"]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignProperty {
    /// Take the process's address from this link stored in the property.
    pub address_from: Option<Text>,
}

/// `follow_up other_process`.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowUp {
    /// The template started.
    pub process: Ident,
    /// `carry property, address`: links handed to the new process (default: all).
    pub carry: Option<Concerns>,
}

/// How a decision is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionMode {
    /// The decider answers in the running-process list.
    Manual,
    /// The decider gets an e-mail with signed yes/no links.
    ByEmail,
    /// The runtime evaluates the condition.
    Automatic,
}

/// `decision manual "Question?"`, `decision by email "Question?"`, `decision automatic when ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// How.
    pub mode: Spanned<DecisionMode>,
    /// The question.
    pub question: Option<Text>,
    /// The condition of an automatic decision.
    pub condition: Option<Expr>,
    /// `yes -> step`.
    pub yes: Option<Ident>,
    /// `no -> step`.
    pub no: Option<Ident>,
    /// `notify decider`: e-mail the decider even when they did the previous step.
    pub notify_decider: Option<Span>,
}

/// The HTTP method of a free webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// `webhook service(param: value)` or `webhook post "https://..."`.
#[derive(Debug, Clone, PartialEq)]
pub enum Webhook {
    /// A marketplace service from the catalog.
    Service {
        /// The service.
        service: Ident,
        /// The one parameter passed on the URL, if any.
        parameter: Option<(Ident, Expr)>,
    },
    /// A freely configured webhook.
    Free {
        /// The method.
        method: Spanned<HttpMethod>,
        /// The URL; `{property.field}` macros are filled in.
        url: Text,
        /// `header "Name" "value"`, repeatable.
        headers: Vec<(Text, Text)>,
        /// `body """..."""` with macros.
        body: Option<Text>,
    },
}

/// `set_status property "sold"`.
#[derive(Debug, Clone, PartialEq)]
pub struct SetStatus {
    /// Whose status.
    pub record: Spanned<Record>,
    /// The value.
    pub value: Text,
}

/// `activity_log kind "phone" type "call"`.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityLog {
    /// The activity kind (Aktionsart).
    pub kind: Text,
    /// The activity type (Aktionstyp).
    pub activity_type: Option<Text>,
    /// `note "..."`.
    pub note: Option<Text>,
    /// `feature "..."`, repeatable.
    pub features: Vec<Text>,
    /// `tracked`: marked for owner reports.
    pub tracked: Option<Span>,
}

/// Publish or remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortalAction {
    /// Publish the property.
    Publish,
    /// Remove it.
    Remove,
}

/// `portal_sync publish|remove [automatic]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PortalSync {
    /// What.
    pub action: Spanned<PortalAction>,
    /// `automatic`.
    pub automatic: Option<Span>,
    /// `portals "a", "b"`; empty for all portals (default).
    pub portals: Vec<Text>,
}

/// Among whom a lead is distributed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pool {
    /// `among group "sales"`.
    Group(Text),
    /// `among users "a", "b"`.
    Users(Vec<Text>),
}

/// `lead_distribution among group "sales"`.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadDistribution {
    /// Among whom.
    pub pool: Pool,
    /// `capacity address.lead_capacity`: each consultant's capacity.
    pub capacity: Option<FieldPath>,
    /// `respect absence` (default yes).
    pub respect_absence: Option<Spanned<bool>>,
    /// `activity kind "lead" type "assigned"`.
    pub activity_kind: Option<Text>,
    /// See `activity_kind`.
    pub activity_type: Option<Text>,
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What.
    pub kind: ExprKind,
    /// Where.
    pub span: Span,
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A literal.
    Literal(Literal),
    /// A record field.
    Field(FieldPath),
    /// A bare name: a field of the triggering record inside `changed(...)`, or an error.
    Name(Ident),
    /// `not x`, `-x`.
    Unary(UnaryOp, Box<Expr>),
    /// `a op b`.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `f(a, b)`.
    Call(Ident, Vec<Expr>),
    /// `[a, b]`.
    List(Vec<Expr>),
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `"text"`.
    Text(String),
    /// `42`, `3.5`.
    Number(f64),
    /// `250000 EUR`.
    Money(f64),
    /// `120 m²`.
    Area(f64),
    /// `10%`.
    Percent(f64),
    /// `true`, `false`.
    Bool(bool),
    /// `2026-12-24`.
    Date {
        /// Year.
        year: i32,
        /// Month 1-12.
        month: u32,
        /// Day 1-31.
        day: u32,
    },
    /// `3 days`.
    Duration {
        /// How many.
        amount: i64,
        /// Of what.
        unit: TimeUnit,
    },
}

/// A prefix operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `not`.
    Not,
    /// `-`.
    Neg,
}

/// An infix operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `or`.
    Or,
    /// `and`.
    And,
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `in`.
    In,
}

impl BinaryOp {
    /// The precedence of comparisons; `not` takes a whole comparison as its operand.
    pub const COMPARISON_PRECEDENCE: u8 = 4;

    /// How tightly the operator binds, loosest first: `or` 1, `and` 2, comparisons and `in` 4,
    /// `+` and `-` 5, `*` and `/` 6 (prefix `not` sits at 3, prefix `-` above them all).
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::In => BinaryOp::COMPARISON_PRECEDENCE,
            BinaryOp::Add | BinaryOp::Sub => 5,
            BinaryOp::Mul | BinaryOp::Div => 6,
        }
    }

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::In => "in",
        }
    }
}

impl StepKind {
    /// The kind's keyword.
    pub fn keyword(&self) -> &'static str {
        match self {
            StepKind::Task(_) => "task",
            StepKind::Appointment(_) => "appointment",
            StepKind::Letter(_) => "letter",
            StepKind::Email(_) => "email",
            StepKind::ForwardEmail(_) => "forward_email",
            StepKind::Sms(_) => "sms",
            StepKind::OwnerNotification(_) => "owner_notification",
            StepKind::Resubmission(_) => "resubmission",
            StepKind::WriteValues(_) => "write_values",
            StepKind::CreateProject(_) => "create_project",
            StepKind::AssignProject(_) => "assign_project",
            StepKind::AssignAddress(_) => "assign_address",
            StepKind::AssignProperty(_) => "assign_property",
            StepKind::FollowUp(_) => "follow_up",
            StepKind::Decision(_) => "decision",
            StepKind::Merge => "merge",
            StepKind::Webhook(_) => "webhook",
            StepKind::SetStatus(_) => "set_status",
            StepKind::ActivityLog(_) => "activity_log",
            StepKind::PortalSync(_) => "portal_sync",
            StepKind::LeadDistribution(_) => "lead_distribution",
            StepKind::End => "end",
        }
    }

    /// Whether `allow skip` is permitted: appointments, letters, e-mails and resubmissions.
    pub fn can_be_skipped(&self) -> bool {
        matches!(
            self,
            StepKind::Appointment(_)
                | StepKind::Letter(_)
                | StepKind::Email(_)
                | StepKind::Resubmission(_)
        )
    }
}

/// Every step kind keyword, for suggestions and documentation.
pub const STEP_KINDS: &[&str] = &[
    "task",
    "appointment",
    "letter",
    "email",
    "forward_email",
    "sms",
    "owner_notification",
    "resubmission",
    "write_values",
    "create_project",
    "assign_project",
    "assign_address",
    "assign_property",
    "follow_up",
    "decision",
    "merge",
    "webhook",
    "set_status",
    "activity_log",
    "portal_sync",
    "lead_distribution",
    "end",
];
