//! The engine: every operation is one store transaction that moves instances, writes their
//! audit rows and their effects (outbox rows) together.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use procc_plan::{
    Action, Channel, Controller, DecisionMode, FieldType, Module, Next, Plan, Pool, PortalAction,
    Record, Responsible, RungAction, SmsRecipient, SmsSender, SmsText, SmsWindow, StepIndex,
    Template, TriggerEvent,
};
use serde_json::json;
use tokio::sync::Notify;

use crate::clock::{Clock, VirtualClock};
use crate::details::{EmailOfStep, NoticeDetails, PlanStep, TaskOfStep};
use crate::effects::{AttemptReport, AttemptResult, Connector, endpoint_of};
use crate::eval::{Scope, Val, eval, module_name, typed};
use crate::keys::{check_endpoint, check_key, check_occurrence};
use crate::model::*;
use crate::store::{Delivery, Store, Tx, isolated};
use crate::time::{add_delay, local_date, next_local_time, parse_tz, resolve_local};

/// The key that remembers the last day the daily scan ran for.
const SCAN_KEY: &str = "daily_scan/last";
/// Joins texts and numbers into a string of exactly their length, without the formatting
/// machinery: the idempotency keys and audit details that every transition writes are plain
/// joins, `format!` spent several times the work of the join on them, and the store keeps
/// the details (room left over in them is memory held for every transition).
macro_rules! join {
    ($($piece:expr),+ $(,)?) => {{
        let pieces = [$(&$piece as &dyn Piece),+];
        let mut text = String::with_capacity(pieces.iter().map(|piece| piece.len()).sum());
        for piece in pieces {
            piece.push_to(&mut text);
        }
        text
    }};
}

/// A part of a [`join!`]ed text.
trait Piece {
    /// Its length in bytes.
    fn len(&self) -> usize;
    /// Appends itself.
    fn push_to(&self, text: &mut String);
}

impl Piece for &str {
    fn len(&self) -> usize {
        str::len(self)
    }
    fn push_to(&self, text: &mut String) {
        text.push_str(self);
    }
}

impl Piece for String {
    fn len(&self) -> usize {
        String::len(self)
    }
    fn push_to(&self, text: &mut String) {
        text.push_str(self);
    }
}

impl Piece for u64 {
    fn len(&self) -> usize {
        self.checked_ilog10()
            .map_or(1, |digits| digits as usize + 1)
    }
    fn push_to(&self, text: &mut String) {
        text.push_str(itoa::Buffer::new().format(*self));
    }
}

impl Piece for u32 {
    fn len(&self) -> usize {
        u64::from(*self).len()
    }
    fn push_to(&self, text: &mut String) {
        u64::from(*self).push_to(text);
    }
}

/// Who the audit names for what the engine does by itself.
const SYSTEM: &str = "system";
/// The prefix of the keys that map an API token's hash to its user (empty: revoked).
const API_TOKEN_PREFIX: &str = "api_token/";
use crate::token::DecisionToken;
use crate::{Error, Result};

/// How the engine is set up.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The secret that signs decision links (HMAC-SHA256).
    pub decision_secret: Vec<u8>,
    /// How long a decision link is valid.
    pub decision_link_ttl: Duration,
    /// The address decision links point to; the token is appended as `?token=...`.
    pub decision_base_url: String,
    /// The tenant's time zone for calendar days and the daily scan; `None`: the time zone of
    /// the plan's first calendar, else UTC.
    pub time_zone: Option<Tz>,
    /// Starts of one follow-up chain allowed per day before the chain is stopped.
    pub loop_limit: u64,
    /// The name of this worker in timer leases.
    pub worker: String,
    /// How long a claimed timer stays with this worker.
    pub lease: Duration,
    /// Automatic steps one operation may run in a row before the next one is made manual
    /// (a guard against loops of automatic steps without delays).
    pub max_automatic_steps: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            decision_secret: b"change-me".to_vec(),
            decision_link_ttl: Duration::days(14),
            decision_base_url: "https://procc.invalid/decide".to_string(),
            time_zone: None,
            loop_limit: 10,
            worker: "worker-1".to_string(),
            lease: Duration::minutes(5),
            max_automatic_steps: 500,
        }
    }
}

/// One engine operation, for [`Engine::batch`]; each variant does what the method of the
/// same name does.
#[derive(Debug, Clone)]
pub enum Operation {
    /// [`Engine::start`].
    Start(StartRequest),
    /// [`Engine::complete_step`].
    CompleteStep {
        /// The instance.
        instance: InstanceId,
        /// The step.
        step: StepIndex,
        /// Who completes it.
        by: String,
        /// What they entered.
        input: StepInput,
    },
    /// [`Engine::complete_task`].
    CompleteTask {
        /// The task.
        task: u64,
        /// Who completes it.
        by: String,
    },
    /// [`Engine::decide_by_token`].
    DecideByToken(String),
    /// [`Engine::skip`].
    Skip {
        /// The instance.
        instance: InstanceId,
        /// The step.
        step: StepIndex,
        /// Who skips it.
        by: String,
    },
    /// [`Engine::cancel`].
    Cancel {
        /// The instance.
        instance: InstanceId,
        /// Who cancels it.
        by: String,
    },
    /// [`Engine::put_record`].
    PutRecord(RecordRow),
    /// [`Engine::record_event`].
    RecordEvent {
        /// What happened.
        event: RecordEvent,
        /// The CRM's id of the event.
        occurrence: String,
    },
}

/// What an operation of a batch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// A started instance ([`Operation::Start`]).
    Started(InstanceId),
    /// The instances that triggers started ([`Operation::RecordEvent`]).
    Triggered(Vec<InstanceId>),
    /// The operation was applied and has nothing to return.
    Done,
}

/// How many due timers one transaction of [`Engine::fire_due`] claims and fires.
const FIRE_BATCH: usize = 256;
/// How many effects [`Engine::dispatch`] claims at once, and whose attempts it records in one
/// commit.
const DISPATCH_BATCH: usize = 64;

/// A manual start.
#[derive(Debug, Clone, Default)]
pub struct StartRequest {
    /// The template name.
    pub template: String,
    /// The process owner (a user id).
    pub owner: String,
    /// The linked records.
    pub links: Links,
    /// Who starts it (a user id; the controller when the template says `starter`).
    pub started_by: String,
    /// A start with a key already used returns the instance it started, starting nothing.
    pub idempotency_key: Option<String>,
    /// The e-mail it is started from.
    pub email: Option<TriggerEmail>,
}

impl StartRequest {
    /// Refuses the ids and keys of the request that [`check_key`] refuses (the idempotency
    /// key, the linked ids, the e-mail's id): what [`Engine::start`] checks first, for a
    /// caller that reads the linked records before starting.
    pub fn check_keys(&self) -> Result<()> {
        if let Some(key) = &self.idempotency_key {
            check_key("the idempotency key", key)?;
        }
        check_links(&self.links)?;
        if let Some(email) = &self.email {
            check_key("the event id", &email.id)?;
        }
        Ok(())
    }
}

/// [`check_key`] for each linked id.
fn check_links(links: &Links) -> Result<()> {
    for module in [Module::Address, Module::Property, Module::Project] {
        if let Some(id) = links.get(module) {
            check_key(id_name(module), id)?;
        }
    }
    Ok(())
}

/// [`check_key`] for the address and property an e-mail or activity names.
fn check_linked(address: &str, property: Option<&str>) -> Result<()> {
    check_key(id_name(Module::Address), address)?;
    property.map_or(Ok(()), |property| {
        check_key(id_name(Module::Property), property)
    })
}

/// How [`check_key`] names the id of a record of this module.
fn id_name(module: Module) -> &'static str {
    match module {
        Module::Address => "the address id",
        Module::Property => "the property id",
        Module::Project => "the project id",
    }
}

/// [`check_key`] for the ids an event names and for its occurrence.
fn check_event(event: &RecordEvent, occurrence: &str) -> Result<()> {
    match event {
        RecordEvent::Saved { record, .. } => check_key("the record id", &record.id)?,
        RecordEvent::StatusSet { id, .. } => check_key("the record id", id)?,
        RecordEvent::EmailReceived {
            address,
            property,
            email,
            ..
        } => {
            check_key("the event id", &email.id)?;
            check_linked(address, property.as_deref())?;
        }
        RecordEvent::ActivityReceived {
            address, property, ..
        } => check_linked(address, property.as_deref())?,
    }
    check_occurrence(occurrence)
}

/// What a person enters when completing a step.
#[derive(Debug, Clone, Default)]
pub struct StepInput {
    /// The answer of a decision.
    pub answer: Option<bool>,
    /// The value of a manual write-values step, or the record id of an assign step.
    pub value: Option<serde_json::Value>,
}

impl StepInput {
    /// An answer to a decision.
    pub fn answer(yes: bool) -> StepInput {
        StepInput {
            answer: Some(yes),
            value: None,
        }
    }
    /// A value.
    pub fn value(value: serde_json::Value) -> StepInput {
        StepInput {
            answer: None,
            value: Some(value),
        }
    }
}

/// Something that happened to a record in the CRM.
#[derive(Debug, Clone)]
pub enum RecordEvent {
    /// The record was saved (its new state) with these fields changed.
    Saved {
        /// The record as saved.
        record: RecordRow,
        /// The names of the changed fields.
        changed: Vec<String>,
    },
    /// The status of a record was set.
    StatusSet {
        /// The module.
        module: Module,
        /// The record id.
        id: String,
        /// The new status.
        value: String,
    },
    /// An e-mail was received for an address.
    EmailReceived {
        /// The address id.
        address: String,
        /// A property it is about.
        property: Option<String>,
        /// The e-mail.
        email: TriggerEmail,
        /// Its feature (Merkmal).
        feature: Option<String>,
    },
    /// An activity was logged on an address.
    ActivityReceived {
        /// The address id.
        address: String,
        /// A property it is about.
        property: Option<String>,
        /// Its kind.
        kind: String,
        /// Its type.
        activity_type: Option<String>,
        /// Its feature.
        feature: Option<String>,
    },
}

/// Whose due steps the controller looks at.
#[derive(Debug, Clone)]
pub enum ViewOf {
    /// One user.
    User(String),
    /// The members of a group.
    Group(String),
    /// Everybody.
    All,
}

/// An entry of an inbox or controller view.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxEntry {
    /// The work item.
    pub item: WorkItemRow,
    /// The template.
    pub template: String,
    /// The step's name.
    pub step_name: String,
    /// 1-based position of the step, and the number of steps.
    pub position: (u32, u32),
    /// The linked records.
    pub links: Links,
}

/// An instance with everything about it.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceView {
    /// The instance.
    pub instance: InstanceRow,
    /// Its steps (those the flow reached).
    pub steps: Vec<StepRow>,
    /// Its work items, open and done.
    pub work_items: Vec<WorkItemRow>,
    /// What its steps created.
    pub artefacts: Vec<ArtefactRow>,
    /// Its pending timers.
    pub timers: Vec<TimerRow>,
    /// Its audit history.
    pub history: Vec<AuditRow>,
}

impl InstanceView {
    /// The row of the step with this name.
    pub fn step(&self, name: &str) -> Option<&StepRow> {
        self.steps.iter().find(|s| s.name == name)
    }
}

/// How often an operation that lost to a concurrent one (another worker's transaction on a
/// shared database) is run again before the conflict is reported.
const CONFLICT_RETRIES: u32 = 16;

/// Waits a little before running an operation again after a conflict: a growing, jittered
/// pause, so that workers that collided do not collide again in lockstep.
fn pause_after_conflict(attempt: u32) {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()) % 1000);
    let base = 200u64 << attempt.min(6);
    std::thread::sleep(std::time::Duration::from_micros(
        base + jitter * base / 1000,
    ));
}

/// The plans an engine has parsed (each once).
#[derive(Default)]
struct PlanCache {
    /// By hash. (A tree: every operation looks its plan up, and comparing with the few
    /// deployed hashes costs less than SipHashing 64 characters.)
    by_hash: BTreeMap<String, Arc<Plan>>,
    /// The plan the store last named current, and its hash.
    current: Option<(Shared, Arc<Plan>)>,
    /// The time zones of the plans' calendars by name, parsed once (deadlines and delays in
    /// days are counted in them: a step of most processes asks).
    zones: Vec<(String, Tz)>,
}

/// A listener of an engine's writes ([`Engine::subscribe`]); dropping it stops the
/// notifications (a dispatcher that drains again and again must not leave a listener behind
/// each time).
pub struct Subscription<'e> {
    listeners: &'e Mutex<Vec<Arc<Notify>>>,
    notify: Arc<Notify>,
}

impl Subscription<'_> {
    /// The `Notify` that is told of each write.
    pub fn notify(&self) -> &Arc<Notify> {
        &self.notify
    }
}

impl Drop for Subscription<'_> {
    fn drop(&mut self) {
        if let Ok(mut listeners) = self.listeners.lock() {
            listeners.retain(|l| !Arc::ptr_eq(l, &self.notify));
        }
    }
}

/// The engine over a store.
pub struct Engine<S: Store> {
    store: S,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    /// Parsed plans.
    plans: Mutex<PlanCache>,
    notify: Arc<Notify>,
    /// Further listeners (a dispatcher next to the scheduler), each told of every write.
    listeners: Mutex<Vec<Arc<Notify>>>,
}

impl<S: Store> Engine<S> {
    /// An engine on this store and clock.
    pub fn new(store: S, clock: Arc<dyn Clock>, config: EngineConfig) -> Engine<S> {
        Engine {
            store,
            clock,
            config,
            plans: Mutex::new(PlanCache::default()),
            notify: Arc::new(Notify::new()),
            listeners: Mutex::new(Vec::new()),
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Notified after every write, so a scheduler can look at the next due time again.
    pub fn notifier(&self) -> Arc<Notify> {
        self.notify.clone()
    }

    /// A further listener, notified after every write that adds timers or effects, like
    /// [`Engine::notifier`] (which one task uses: a `Notify` wakes one waiter), until the
    /// subscription is dropped.
    pub fn subscribe(&self) -> Subscription<'_> {
        let notify = Arc::new(Notify::new());
        if let Ok(mut listeners) = self.listeners.lock() {
            listeners.push(notify.clone());
        }
        Subscription {
            listeners: &self.listeners,
            notify,
        }
    }

    /// Tells the scheduler and the listeners to look at the next due time again: after a
    /// write here that added timers or effects (only those can move it earlier), and for
    /// such changes made elsewhere (another worker's commit on a shared database).
    pub fn wake(&self) {
        self.notify.notify_one();
        if let Ok(listeners) = self.listeners.lock() {
            for l in listeners.iter() {
                l.notify_one();
            }
        }
    }

    fn write<T>(&self, mut f: impl FnMut(&mut Core<'_>) -> Result<T>) -> Result<T> {
        let mut attempts = 0;
        loop {
            let now = self.clock.now();
            let result = self.store.transaction(&mut |tx| {
                let mut core = Core::new(tx, &self.config, &self.plans, now, true);
                let value = f(&mut core)?;
                Ok((value, core.finish()))
            });
            match result {
                Err(Error::Conflict) if attempts < CONFLICT_RETRIES => {
                    attempts += 1;
                    pause_after_conflict(attempts);
                }
                Err(e) => return Err(e),
                Ok((value, wake)) => {
                    if wake {
                        self.wake();
                    }
                    return Ok(value);
                }
            }
        }
    }

    /// Runs `count` operations in one transaction (one commit), each under its own savepoint
    /// ([`Store::group`]): one that fails is undone alone. An operation that meets a
    /// concurrent writer ([`Error::Conflict`]) reports it instead of being retried.
    fn write_group<T>(
        &self,
        count: usize,
        mut f: impl FnMut(usize, &mut Core<'_>) -> Result<T>,
    ) -> Result<Vec<Result<T>>> {
        let now = self.clock.now();
        let mut wake = false;
        let results = self.store.group(count, &mut |i, tx| {
            let mut core = Core::new(tx, &self.config, &self.plans, now, true);
            let value = f(i, &mut core)?;
            wake |= core.finish();
            Ok(value)
        })?;
        if wake {
            self.wake();
        }
        Ok(results)
    }

    /// Applies many operations in one transaction, so that they cost one commit (one fsync on
    /// SQLite) instead of one each. Each operation is isolated by a savepoint: one that fails
    /// changes nothing and does not undo the others. Returns each operation's result, in
    /// order; the outer error means the transaction itself failed and nothing was applied.
    pub fn batch(&self, operations: &[Operation]) -> Result<Vec<Result<Applied>>> {
        if operations.is_empty() {
            return Ok(Vec::new());
        }
        self.write_group(operations.len(), |i, core| match operations.get(i) {
            Some(op) => core.apply(op),
            None => Err(Error::Store(format!("no operation {i} in the batch"))),
        })
    }

    fn read<T>(&self, mut f: impl FnMut(&mut Core<'_>) -> Result<T>) -> Result<T> {
        let now = self.clock.now();
        let mut attempts = 0;
        loop {
            let result = self.store.read_transaction(&mut |tx| {
                let mut core = Core::new(tx, &self.config, &self.plans, now, false);
                f(&mut core)
            });
            match result {
                // A shared database may abort a reading transaction that overlaps writers;
                // reading again sees a consistent state.
                Err(Error::Conflict) if attempts < CONFLICT_RETRIES => {
                    attempts += 1;
                    pause_after_conflict(attempts);
                }
                other => return other,
            }
        }
    }

    /// Deploys a plan and makes it the current one (new instances start on it; running
    /// instances stay on theirs). Returns its hash.
    pub fn deploy(&self, plan: &Plan) -> Result<String> {
        if plan.format_version != procc_plan::FORMAT_VERSION {
            return Err(Error::PlanFormat {
                found: plan.format_version,
                supported: procc_plan::FORMAT_VERSION,
            });
        }
        if plan.hash != plan.compute_hash() {
            return Err(Error::PlanTampered);
        }
        for calendar in &plan.catalog.calendars {
            parse_tz(&calendar.time_zone)?;
        }
        let json = plan.to_json();
        let hash = plan.hash.clone();
        self.write(|core| {
            let seq = core.tx.next_id(Sequence::PlanSeq)?;
            core.tx.put_plan(&PlanRow {
                hash: hash.clone(),
                format_version: plan.format_version,
                json: json.clone(),
                deployed_at: core.now,
                seq,
            })?;
            core.audit(None, None, SYSTEM, "plan_deployed", &hash)?;
            Ok(hash.clone())
        })
    }

    /// Starts a process by hand. Its ids and keys are checked first
    /// ([`StartRequest::check_keys`]).
    pub fn start(&self, request: &StartRequest) -> Result<InstanceId> {
        self.write(|core| core.op_start(request))
    }

    /// Completes an active manual step (a decision needs `input.answer`, a manual write
    /// needs `input.value`).
    pub fn complete_step(
        &self,
        instance: InstanceId,
        step: StepIndex,
        by: &str,
        input: &StepInput,
    ) -> Result<()> {
        self.write(|core| core.op_complete_step(instance, step, by, input))
    }

    /// Completes a task; the task step waiting for it completes with it.
    pub fn complete_task(&self, task: u64, by: &str) -> Result<()> {
        self.write(|core| core.op_complete_task(task, by))
    }

    /// Decides a decision from a signed e-mail link.
    pub fn decide_by_token(&self, token: &str) -> Result<()> {
        self.write(|core| core.op_decide(token))
    }

    /// Skips a step (only steps the template allows to skip); the controller is e-mailed.
    pub fn skip(&self, instance: InstanceId, step: StepIndex, by: &str) -> Result<()> {
        self.write(|core| core.op_skip(instance, step, by))
    }

    /// Cancels a running process; the controller is told when the template says so.
    pub fn cancel(&self, instance: InstanceId, by: &str) -> Result<()> {
        self.write(|core| core.op_cancel(instance, by))
    }

    /// Gives a step to another user, for this step only or for it and all following ones. A
    /// task step's task follows; a task step refuses "this and following".
    pub fn reassign(
        &self,
        instance: InstanceId,
        step: StepIndex,
        user: &str,
        this_and_following: bool,
        by: &str,
    ) -> Result<()> {
        self.write(|core| core.op_reassign(instance, step, user, this_and_following, by))
    }

    /// Gives a task to another user; its step follows.
    pub fn reassign_task(&self, task: u64, user: &str, by: &str) -> Result<()> {
        self.write(|core| {
            let artefact = core
                .tx
                .artefact(task)?
                .filter(|a| a.kind == ArtefactKind::Task)
                .ok_or(Error::UnknownTask(task))?;
            let (mut inst, plan) = core.running(artefact.instance)?;
            core.user(&plan, user)?;
            let mut row = core.active_row(inst.id, artefact.step)?;
            inst.responsible_overrides
                .insert(artefact.step, user.to_string());
            core.move_step(&mut row, user)?;
            core.audit(
                Some(inst.id),
                Some(artefact.step),
                by,
                "task_reassigned",
                format!("task {task} to {user}"),
            )?;
            core.save(inst)
        })
    }

    /// Inserts or replaces a record without firing triggers (imports, test data); its id
    /// must pass [`check_key`].
    pub fn put_record(&self, record: &RecordRow) -> Result<()> {
        self.write(|core| core.op_put_record(record))
    }

    /// A record; an id that [`check_key`] refuses is refused (no record can have it).
    pub fn record(&self, module: Module, id: &str) -> Result<Option<RecordRow>> {
        check_key("the record id", id)?;
        self.read(|core| core.tx.record(module, id))
    }

    /// Applies a record event and starts the templates whose triggers match, once per
    /// template, record and `occurrence` (the CRM's id of the event). Returns the started
    /// instances. The ids the event names must pass [`check_key`], the occurrence likewise
    /// but up to [`MAX_OCCURRENCE`](crate::MAX_OCCURRENCE) bytes.
    pub fn record_event(&self, event: &RecordEvent, occurrence: &str) -> Result<Vec<InstanceId>> {
        self.write(|core| core.op_record_event(event, occurrence))
    }

    /// The daily scan of date triggers for `date` (in the tenant's time zone); idempotent per
    /// template, record and date. Returns the started instances.
    pub fn daily_scan(&self, date: NaiveDate) -> Result<Vec<InstanceId>> {
        self.write(|core| {
            let plan = core.current_plan()?;
            core.daily_scan(&plan, date)
        })
    }

    /// Runs the daily date scan for every local day since the last scanned one up to today
    /// (today only on the first run; at most 366 days are caught up). Each day is one
    /// transaction that also records it as scanned. Returns the started instances.
    pub fn run_daily_scans(&self) -> Result<Vec<InstanceId>> {
        let found = self.read(|core| match core.current_plan() {
            Ok(plan) => Ok(Some((core.tz(&plan), core.tx.key(SCAN_KEY)?))),
            Err(Error::NoPlan) => Ok(None),
            Err(e) => Err(e),
        })?;
        let Some((tz, last)) = found else {
            return Ok(Vec::new());
        };
        let today = local_date(self.clock.now(), tz);
        let mut day = last
            .and_then(|d| d.parse::<NaiveDate>().ok())
            .and_then(|d| d.succ_opt())
            .unwrap_or(today)
            .max(today - Duration::days(365));
        let mut started = Vec::new();
        while day <= today {
            started.extend(self.write(|core| {
                let plan = core.current_plan()?;
                let ids = core.daily_scan(&plan, day)?;
                core.tx.put_key(SCAN_KEY, &day.to_string())?;
                Ok(ids)
            })?);
            day = match day.succ_opt() {
                Some(d) => d,
                None => break,
            };
        }
        Ok(started)
    }

    /// When the next daily scan is due: the next local midnight (`None` without a plan).
    pub fn next_daily_scan(&self) -> Result<Option<DateTime<Utc>>> {
        self.read(|core| match core.current_plan() {
            Ok(plan) => {
                let tz = core.tz(&plan);
                let tomorrow = local_date(core.now, tz) + Duration::days(1);
                Ok(Some(resolve_local(
                    tz,
                    tomorrow.and_time(chrono::NaiveTime::MIN),
                )))
            }
            Err(Error::NoPlan) => Ok(None),
            Err(e) => Err(e),
        })
    }

    /// Fires every timer due now, in order of due time; returns how many fired. Up to
    /// [`FIRE_BATCH`] timers are claimed and fired in one transaction, each under its own
    /// savepoint: a timer whose step fails is dropped with a `timer_failed` audit entry
    /// instead of blocking (or undoing) the others.
    pub fn fire_due(&self) -> Result<usize> {
        let mut fired = 0;
        loop {
            let now = self.clock.now();
            let lease_until = now + self.config.lease;
            let worker = self.config.worker.clone();
            let mut claimed = 0;
            self.write(|core| {
                let batch = core.tx.claim_due(now, &worker, lease_until, FIRE_BATCH)?;
                claimed = batch.len();
                for timer in &batch {
                    let fire = isolated(core.tx, &mut |tx| {
                        let mut step = Core::new(tx, core.config, core.plans, core.now, true);
                        step.fire_timer(timer)?;
                        Ok(step.wake)
                    })?;
                    match fire {
                        Ok(wake) => core.wake |= wake,
                        // Another worker changed the instance: the whole group runs again
                        // (a timer is dropped only for a failure of its own).
                        Err(Error::Conflict) => return Err(Error::Conflict),
                        Err(error) => {
                            core.tx.delete_timer(timer.id)?;
                            core.audit(
                                Some(timer.instance),
                                Some(timer.step),
                                SYSTEM,
                                "timer_failed",
                                error.to_string(),
                            )?;
                        }
                    }
                }
                Ok(())
            })?;
            if claimed == 0 {
                return Ok(fired);
            }
            fired += claimed;
        }
    }

    /// The earliest time something is due: a timer or a delayed effect.
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        self.read(|core| {
            let timer = core.tx.next_due()?;
            let effect = core.tx.next_outbox_due(core.now)?;
            Ok(match (timer, effect) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            })
        })
    }

    /// Hands pending effects to the connector; returns how many were delivered. A failed
    /// delivery is retried later with a growing pause (at least once, same idempotency key).
    /// Every attempt is logged ([`Engine::attempts`]).
    pub fn dispatch(&self, connector: &dyn Connector) -> Result<usize> {
        let mut delivered = 0;
        loop {
            let claimed = self.claim_effects(DISPATCH_BATCH, self.config.lease)?;
            if claimed.is_empty() {
                return Ok(delivered);
            }
            // The attempts of one claim are recorded in one commit; a crash before it hands
            // the effects out again with the same keys (at least once).
            let mut reports = Vec::with_capacity(claimed.len());
            for effect in claimed {
                let started = std::time::Instant::now();
                let started_at = self.clock.now();
                let result = match connector.deliver(&effect) {
                    Ok(()) => {
                        delivered += 1;
                        AttemptResult::Delivered
                    }
                    Err(error) => AttemptResult::Retry {
                        at: started_at + Duration::seconds(2i64.pow(effect.attempts.min(12))),
                        error,
                    },
                };
                reports.push((
                    effect.id,
                    AttemptReport {
                        attempt: effect.attempts,
                        started_at,
                        status: None,
                        latency: started.elapsed(),
                        excerpt: None,
                        result,
                    },
                ));
            }
            self.record_attempts(&reports)?;
        }
    }

    /// Claims up to `limit` pending effects whose time has come, for one delivery attempt
    /// each: the attempt is counted and the effect is held for `lease` (its `not_before`
    /// moves to the end of the lease) before it is handed out, so a worker that dies during
    /// the attempt leaves the effect to come back when the lease runs out, with the same
    /// idempotency key. The result of each attempt goes to [`Engine::record_attempt`].
    /// An effect whose endpoint is disabled ([`endpoint_of`]) is given up at once instead.
    pub fn claim_effects(&self, limit: usize, lease: Duration) -> Result<Vec<OutboxRow>> {
        self.write(|core| core.claim_effects(limit, lease))
    }

    /// [`Engine::record_attempts`], [`Engine::release_effects`] (`released`, due again `pause`
    /// after the transaction's time) and then [`Engine::claim_effects`] in one transaction: a
    /// dispatcher pays one commit per turn instead of three. The released effects are not
    /// claimed again in the same turn (unless `pause` is not positive).
    pub fn record_and_claim(
        &self,
        reports: &[(u64, AttemptReport)],
        released: &[(u64, u32)],
        pause: Duration,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<OutboxRow>> {
        self.write(|core| {
            for (effect, report) in reports {
                core.record_attempt(*effect, report)?;
            }
            let release_at = core.now + pause;
            for &(effect, attempt) in released {
                core.release_effect(effect, attempt, release_at)?;
            }
            if limit == 0 {
                return Ok(Vec::new());
            }
            core.claim_effects(limit, lease)
        })
    }

    /// Logs one delivery attempt of an effect and applies its result in one transaction:
    /// delivered (a webhook step waiting for it continues), tried again at a later time, or
    /// given up (the waiting step becomes manual with the reason and the controller is
    /// e-mailed; an endpoint that is gone is disabled until [`Engine::enable_endpoint`]).
    /// An attempt for an effect already delivered or given up is logged and changes nothing.
    pub fn record_attempt(&self, effect: u64, report: &AttemptReport) -> Result<()> {
        self.record_attempts(&[(effect, report.clone())])
    }

    /// [`Engine::record_attempt`] for many attempts in one transaction (one commit: a
    /// dispatcher groups the results that arrive together).
    pub fn record_attempts(&self, reports: &[(u64, AttemptReport)]) -> Result<()> {
        self.write(|core| {
            for (effect, report) in reports {
                core.record_attempt(*effect, report)?;
            }
            Ok(())
        })
    }

    /// Gives a claimed effect back without an attempt (its endpoint was busy): the attempt
    /// is not counted and the effect is due again at `at`. `attempt` is the claim's
    /// [`OutboxRow::attempts`]: an effect claimed again since is left alone.
    pub fn release_effect(&self, effect: u64, attempt: u32, at: DateTime<Utc>) -> Result<()> {
        self.release_effects(&[(effect, attempt)], at)
    }

    /// [`Engine::release_effect`] for many effects (id and claim's attempt) in one commit.
    pub fn release_effects(&self, effects: &[(u64, u32)], at: DateTime<Utc>) -> Result<()> {
        self.write(|core| {
            for &(effect, attempt) in effects {
                core.release_effect(effect, attempt, at)?;
            }
            Ok(())
        })
    }

    /// The effects of an instance with their delivery state, by id.
    pub fn deliveries(&self, instance: InstanceId) -> Result<Vec<OutboxRow>> {
        self.read(|core| core.tx.outbox_of(instance))
    }

    /// The logged delivery attempts of an effect, in order.
    pub fn attempts(&self, effect: u64) -> Result<Vec<AttemptRow>> {
        self.read(|core| core.tx.attempts(effect))
    }

    /// Why an endpoint (see [`OutboxRow::to`]) is disabled, or `None` while it is enabled.
    pub fn endpoint_disabled(&self, endpoint: &str) -> Result<Option<String>> {
        check_endpoint(endpoint)?;
        self.read(|core| {
            Ok(core
                .tx
                .key(&endpoint_key(endpoint))?
                .filter(|reason| !reason.is_empty()))
        })
    }

    /// The disabled endpoints with the reason each was disabled for, ordered by endpoint.
    pub fn disabled_endpoints(&self) -> Result<Vec<(String, String)>> {
        self.read(|core| {
            Ok(core
                .tx
                .keys_with_prefix(&endpoint_key(""))?
                .into_iter()
                .filter(|(_, reason)| !reason.is_empty())
                .filter_map(|(key, reason)| {
                    Some((key.strip_prefix(&endpoint_key(""))?.to_string(), reason))
                })
                .collect())
        })
    }

    /// Enables a disabled endpoint again (an operator's action, audited); `false` when it
    /// was not disabled (nothing changes then). The endpoint must pass [`check_endpoint`].
    pub fn enable_endpoint(&self, endpoint: &str, by: &str) -> Result<bool> {
        check_endpoint(endpoint)?;
        self.write(|core| {
            let key = endpoint_key(endpoint);
            if core.tx.key(&key)?.is_none_or(|reason| reason.is_empty()) {
                return Ok(false);
            }
            core.tx.put_key(&key, "")?;
            core.audit(None, None, by, "endpoint_enabled", endpoint)?;
            Ok(true)
        })
    }

    /// The earliest time a timer is due (without the outbox, for a runtime whose effects
    /// another dispatcher delivers).
    pub fn next_timer_due(&self) -> Result<Option<DateTime<Utc>>> {
        self.read(|core| core.tx.next_due())
    }

    /// The earliest future time a pending effect can be claimed (`None`: nothing waits).
    pub fn next_effect_due(&self) -> Result<Option<DateTime<Utc>>> {
        self.read(|core| core.tx.next_outbox_due(core.now))
    }

    /// On a virtual clock: fires everything due up to `until` in order, moving the clock to
    /// each due time, and delivers effects when a connector is given; the clock ends at `until`.
    pub fn advance_to(
        &self,
        clock: &VirtualClock,
        until: DateTime<Utc>,
        connector: Option<&dyn Connector>,
    ) -> Result<()> {
        loop {
            if let Some(c) = connector {
                self.dispatch(c)?;
            }
            match self.next_due()? {
                Some(due) if due <= until => {
                    clock.set(due);
                    if self.fire_due()? == 0 && connector.is_none() && self.next_due()? == Some(due)
                    {
                        // Only a delayed effect is due and nobody delivers it.
                        break;
                    }
                }
                _ => break,
            }
        }
        clock.set(until);
        self.fire_due()?;
        if let Some(c) = connector {
            self.dispatch(c)?;
        }
        Ok(())
    }

    /// The open work items of a user ("my due steps").
    pub fn inbox(&self, user: &str) -> Result<Vec<InboxEntry>> {
        self.read(|core| {
            let items = core.tx.open_work_items(Some(user))?;
            core.entries(items)
        })
    }

    /// The controller's view: open work items of a user, of a group's members, or of all.
    pub fn controller_view(&self, of: &ViewOf) -> Result<Vec<InboxEntry>> {
        self.read(|core| {
            let items = core.tx.open_work_items(None)?;
            let items = match of {
                ViewOf::All => items,
                ViewOf::User(u) => items.into_iter().filter(|i| &i.user == u).collect(),
                ViewOf::Group(g) => {
                    let plan = core.current_plan()?;
                    let members: Vec<&str> = plan
                        .catalog
                        .users
                        .iter()
                        .filter(|u| u.groups.iter().any(|x| x == g))
                        .map(|u| u.id.as_str())
                        .collect();
                    items
                        .into_iter()
                        .filter(|i| members.contains(&i.user.as_str()))
                        .collect()
                }
            };
            core.entries(items)
        })
    }

    /// An instance with its steps, work items, artefacts, timers and history.
    pub fn instance(&self, id: InstanceId) -> Result<InstanceView> {
        self.read(|core| {
            let instance = core.tx.instance(id)?.ok_or(Error::UnknownInstance(id))?;
            Ok(InstanceView {
                instance,
                steps: core.tx.steps(id)?,
                work_items: core.tx.work_items_of(id)?,
                artefacts: core.tx.artefacts_of(id)?,
                timers: core.tx.timers_of(id)?,
                history: core.tx.audit(Some(id))?,
            })
        })
    }

    /// The records an instance is linked to, without the rest of it (see
    /// [`Engine::instance`]).
    pub fn links_of(&self, id: InstanceId) -> Result<Links> {
        self.read(|core| {
            let instance = core.tx.instance(id)?.ok_or(Error::UnknownInstance(id))?;
            Ok(instance.links)
        })
    }

    /// The whole outbox.
    pub fn outbox(&self) -> Result<Vec<OutboxRow>> {
        self.read(|core| core.tx.outbox())
    }

    /// The whole audit history.
    pub fn audit(&self) -> Result<Vec<AuditRow>> {
        self.read(|core| core.tx.audit(None))
    }

    /// The running instances.
    pub fn running(&self) -> Result<Vec<InstanceRow>> {
        self.read(|core| core.tx.running_instances())
    }

    /// The instances a query asks for, by id.
    pub fn instances(&self, query: &InstanceQuery) -> Result<Vec<InstanceRow>> {
        self.read(|core| core.tx.instances(query))
    }

    /// Every deployed plan version, in order of deployment (the last is current).
    pub fn plans(&self) -> Result<Vec<PlanRow>> {
        self.read(|core| core.tx.plans())
    }

    /// The plan with this hash, loaded.
    pub fn plan(&self, hash: &str) -> Result<Arc<Plan>> {
        self.read(|core| core.plan(hash))
    }

    /// The current plan, loaded.
    pub fn current_plan(&self) -> Result<Arc<Plan>> {
        self.read(|core| core.current_plan())
    }

    /// The hash of the current plan (`None` before the first deployment).
    pub fn current_plan_hash(&self) -> Result<Option<String>> {
        self.read(|core| core.tx.current_plan_hash())
    }

    /// Stores an API token of a user by the token's hash (the token itself is never stored).
    pub fn put_api_token(&self, hash: &str, user: &str) -> Result<()> {
        self.write(|core| {
            let plan = core.current_plan()?;
            core.user(&plan, user)?;
            core.tx
                .put_key(&format!("{API_TOKEN_PREFIX}{hash}"), user)?;
            core.audit(
                None,
                None,
                user,
                "api_token_created",
                &hash[..hash.len().min(8)],
            )
        })
    }

    /// The user an API token (given by its hash) belongs to; `None` when unknown or revoked.
    pub fn api_token_user(&self, hash: &str) -> Result<Option<String>> {
        self.read(|core| {
            Ok(core
                .tx
                .key(&format!("{API_TOKEN_PREFIX}{hash}"))?
                .filter(|user| !user.is_empty()))
        })
    }

    /// Revokes an API token (given by its hash); whether it was valid.
    pub fn revoke_api_token(&self, hash: &str) -> Result<bool> {
        self.write(|core| {
            let key = format!("{API_TOKEN_PREFIX}{hash}");
            match core.tx.key(&key)?.filter(|user| !user.is_empty()) {
                Some(user) => {
                    core.tx.put_key(&key, "")?;
                    core.audit(
                        None,
                        None,
                        &user,
                        "api_token_revoked",
                        &hash[..hash.len().min(8)],
                    )?;
                    Ok(true)
                }
                None => Ok(false),
            }
        })
    }

    /// The signed yes/no link tokens for a decision step's current visit (what the decision
    /// e-mail carries).
    pub fn decision_tokens(
        &self,
        instance: InstanceId,
        step: StepIndex,
    ) -> Result<(String, String)> {
        self.read(|core| {
            let row = core.active_row(instance, step)?;
            core.tokens(instance, step, row.visit)
        })
    }
}

/// Steps reachable from `from` (itself included).
fn reachable(template: &Template, from: StepIndex) -> Vec<StepIndex> {
    let mut seen = vec![from];
    let mut stack = vec![from];
    while let Some(s) = stack.pop() {
        let next = match template.steps.get(s as usize).map(|st| &st.next) {
            Some(Next::Step { step }) => vec![*step],
            Some(Next::Branch { yes, no }) => vec![*yes, *no],
            _ => vec![],
        };
        for n in next {
            if !seen.contains(&n) {
                seen.push(n);
                stack.push(n);
            }
        }
    }
    seen
}

fn record_module(r: Record) -> Module {
    match r {
        Record::Address => Module::Address,
        Record::Property => Module::Property,
    }
}

enum Outcome {
    Continue(Option<bool>),
    Stopped,
    /// The step waits for the delivery of an effect it wrote (webhooks).
    Waiting,
}

/// The state of one transaction.
struct Core<'a> {
    tx: &'a mut dyn Tx,
    config: &'a EngineConfig,
    plans: &'a Mutex<PlanCache>,
    now: DateTime<Utc>,
    budget: u32,
    /// Whether this transaction wrote a timer or an effect (the scheduler must look again).
    wake: bool,
}

impl<'a> Core<'a> {
    /// The engine's view of one transaction at `now`; `writes` gives it the budget of
    /// automatic steps one operation may run (a reading one runs none).
    fn new(
        tx: &'a mut dyn Tx,
        config: &'a EngineConfig,
        plans: &'a Mutex<PlanCache>,
        now: DateTime<Utc>,
        writes: bool,
    ) -> Core<'a> {
        let budget = if writes {
            config.max_automatic_steps
        } else {
            0
        };
        Core {
            tx,
            config,
            plans,
            now,
            budget,
            wake: false,
        }
    }
}

impl Core<'_> {
    /// Ends a writing operation: when it wrote timers or effects, other workers are told at
    /// commit. Whether it did (this process's own listeners are told after the commit).
    fn finish(self) -> bool {
        if self.wake {
            self.tx.wake_other_workers();
        }
        self.wake
    }

    /// Gives one claimed effect back (see [`Engine::release_effects`]).
    fn release_effect(&mut self, effect: u64, attempt: u32, at: DateTime<Utc>) -> Result<()> {
        if let Some(mut row) = self.tx.outbox_row(effect)?
            && row.is_pending()
            && row.attempts == attempt
        {
            row.attempts = row.attempts.saturating_sub(1);
            row.not_before = Some(at);
            self.wake = true;
            self.tx.update_outbox(row)?;
        }
        Ok(())
    }

    /// See [`Engine::claim_effects`].
    fn claim_effects(&mut self, limit: usize, lease: Duration) -> Result<Vec<OutboxRow>> {
        let leased = self.tx.lease_outbox(self.now, limit, self.now + lease)?;
        let mut claimed = Vec::with_capacity(leased.len());
        // A batch goes to a few endpoints: whether one is disabled is read once per batch.
        let mut disabled: BTreeMap<String, Option<String>> = BTreeMap::new();
        for effect in leased {
            let endpoint = endpoint_of(&effect);
            let reason = match disabled.get(endpoint) {
                Some(reason) => reason.clone(),
                None => {
                    let reason = self
                        .tx
                        .key(&endpoint_key(endpoint))?
                        .filter(|reason| !reason.is_empty());
                    disabled.insert(endpoint.to_string(), reason.clone());
                    reason
                }
            };
            match reason {
                Some(reason) => {
                    let error = format!(
                        "the endpoint `{endpoint}` is disabled ({reason}); an operator must enable it"
                    );
                    self.record_attempt(
                        effect.id,
                        &AttemptReport {
                            attempt: effect.attempts,
                            started_at: self.now,
                            status: None,
                            latency: std::time::Duration::ZERO,
                            excerpt: None,
                            result: AttemptResult::Failed { error },
                        },
                    )?;
                }
                _ => claimed.push(effect),
            }
        }
        Ok(claimed)
    }

    /// Applies one operation of a batch.
    fn apply(&mut self, op: &Operation) -> Result<Applied> {
        match op {
            Operation::Start(request) => return self.op_start(request).map(Applied::Started),
            Operation::CompleteStep {
                instance,
                step,
                by,
                input,
            } => self.op_complete_step(*instance, *step, by, input)?,
            Operation::CompleteTask { task, by } => self.op_complete_task(*task, by)?,
            Operation::DecideByToken(token) => self.op_decide(token)?,
            Operation::Skip { instance, step, by } => self.op_skip(*instance, *step, by)?,
            Operation::Cancel { instance, by } => self.op_cancel(*instance, by)?,
            Operation::PutRecord(record) => self.op_put_record(record)?,
            Operation::RecordEvent { event, occurrence } => {
                return self
                    .op_record_event(event, occurrence)
                    .map(Applied::Triggered);
            }
        }
        Ok(Applied::Done)
    }

    fn op_put_record(&mut self, record: &RecordRow) -> Result<()> {
        check_key("the record id", &record.id)?;
        self.tx.put_record(record)
    }

    fn op_record_event(
        &mut self,
        event: &RecordEvent,
        occurrence: &str,
    ) -> Result<Vec<InstanceId>> {
        check_event(event, occurrence)?;
        let plan = self.current_plan()?;
        self.record_event(&plan, event, occurrence, None)
    }

    fn op_start(&mut self, request: &StartRequest) -> Result<InstanceId> {
        request.check_keys()?;
        if let Some(key) = &request.idempotency_key
            && let Some(id) = self.tx.key(&format!("start/{key}"))?
        {
            return id
                .parse()
                .map_err(|_| Error::Store(format!("bad start key value `{id}`")));
        }
        let plan = self.current_plan()?;
        let template = plan
            .template(&request.template)
            .ok_or_else(|| Error::UnknownTemplate(request.template.clone()))?;
        self.user(&plan, &request.started_by)?;
        let controller = match &template.controller {
            Controller::Starter => Some(Contact::User(request.started_by.clone())),
            Controller::User(u) => Some(Contact::User(u.clone())),
            Controller::Email(e) => Some(Contact::Email(e.clone())),
        };
        let id = self.start_instance(
            &plan,
            template,
            &request.owner,
            request.links.clone(),
            StartedBy::User {
                user: request.started_by.clone(),
            },
            controller,
            None,
            request.email.clone(),
        )?;
        if let Some(key) = &request.idempotency_key {
            self.tx.put_key(&format!("start/{key}"), &id.to_string())?;
        }
        Ok(id)
    }

    fn op_complete_step(
        &mut self,
        instance: InstanceId,
        step: StepIndex,
        by: &str,
        input: &StepInput,
    ) -> Result<()> {
        let (mut inst, plan) = self.running(instance)?;
        let template = self.template(&plan, &inst)?;
        let spec = template
            .steps
            .get(step as usize)
            .ok_or(Error::UnknownStep { instance, step })?;
        let mut row = self.active_row(instance, step)?;
        if let (Action::Task { .. }, Some(task)) = (&spec.action, row.task) {
            return Err(Error::WaitsForTask {
                name: spec.name.clone(),
                task,
            });
        }
        let answer = match self.perform(&plan, template, &mut inst, &mut row, Some(input))? {
            Outcome::Continue(answer) => answer,
            // Done by hand, a step sends nothing and waits for nothing.
            Outcome::Waiting => None,
            Outcome::Stopped => {
                self.put_done(row, StepState::Cancelled, None, true)?;
                return self.save(inst);
            }
        };
        self.audit(Some(instance), Some(step), by, "step_completed", &spec.name)?;
        self.finish_step(&plan, template, &mut inst, row, StepState::Done, answer)?;
        self.save(inst)
    }

    fn op_complete_task(&mut self, task: u64, by: &str) -> Result<()> {
        // The task's instance, step and state, read in place (its data is not needed).
        let mut found = None;
        self.tx.with_artefact(task, &mut |artefact| {
            found = artefact
                .filter(|a| a.kind == ArtefactKind::Task)
                .map(|a| (a.instance, a.step, a.done));
        })?;
        let (instance, step, done) = found.ok_or(Error::UnknownTask(task))?;
        if done {
            return Err(Error::InvalidInput(format!("task {task} is already done")));
        }
        let (mut inst, plan) = self.running(instance)?;
        let template = self.template(&plan, &inst)?;
        let row = self.active_row(inst.id, step)?;
        if row.task != Some(task) {
            return Err(Error::StepNotActive {
                instance: inst.id,
                step,
                state: "waiting for another task".into(),
            });
        }
        self.tx.mark_artefact_done(task)?;
        self.audit(
            Some(inst.id),
            Some(row.index),
            by,
            "task_done",
            task.to_string(),
        )?;
        self.finish_step(&plan, template, &mut inst, row, StepState::Done, None)?;
        self.save(inst)
    }

    fn op_skip(&mut self, instance: InstanceId, step: StepIndex, by: &str) -> Result<()> {
        let (mut inst, plan) = self.running(instance)?;
        let template = self.template(&plan, &inst)?;
        let spec = template
            .steps
            .get(step as usize)
            .ok_or(Error::UnknownStep { instance, step })?;
        let row = self
            .tx
            .steps(instance)?
            .into_iter()
            .find(|r| r.index == step)
            .filter(|r| matches!(r.state, StepState::Active | StepState::Scheduled { .. }))
            .ok_or_else(|| Error::StepNotActive {
                instance,
                step,
                state: "not reached or finished".into(),
            })?;
        if !spec.skippable || matches!(spec.action, Action::Task { .. }) {
            return Err(Error::NotSkippable {
                name: spec.name.clone(),
            });
        }
        self.audit(Some(instance), Some(step), by, "step_skipped", &spec.name)?;
        let subject = format!(
            "Step `{}` of process {} ({}) was skipped by {by}",
            spec.name, inst.id, inst.template
        );
        let key = format!("{}/{}/{}/skipped", inst.id, step, row.visit);
        self.email_controller(&plan, &inst, subject, &key)?;
        self.finish_step(&plan, template, &mut inst, row, StepState::Skipped, None)?;
        self.save(inst)
    }

    fn op_cancel(&mut self, instance: InstanceId, by: &str) -> Result<()> {
        let (mut inst, plan) = self.running(instance)?;
        let template = self.template(&plan, &inst)?;
        self.cancel_instance(&plan, template, &mut inst, by, "cancelled")?;
        self.save(inst)
    }

    fn op_reassign(
        &mut self,
        instance: InstanceId,
        step: StepIndex,
        user: &str,
        this_and_following: bool,
        by: &str,
    ) -> Result<()> {
        let (mut inst, plan) = self.running(instance)?;
        let template = self.template(&plan, &inst)?;
        self.user(&plan, user)?;
        let spec = template
            .steps
            .get(step as usize)
            .ok_or(Error::UnknownStep { instance, step })?;
        if this_and_following && matches!(spec.action, Action::Task { .. }) {
            return Err(Error::TaskStepFollowing {
                name: spec.name.clone(),
            });
        }
        let targets = if this_and_following {
            reachable(template, step)
        } else {
            vec![step]
        };
        for s in &targets {
            inst.responsible_overrides.insert(*s, user.to_string());
        }
        let current = self.tx.steps(instance)?.into_iter().find(|r| {
            r.index == step && matches!(r.state, StepState::Active | StepState::Scheduled { .. })
        });
        if let Some(mut row) = current {
            self.move_step(&mut row, user)?;
        }
        self.audit(
            Some(instance),
            Some(step),
            by,
            "reassigned",
            format!(
                "to {user}{}",
                if this_and_following {
                    " (this and following steps)"
                } else {
                    ""
                }
            ),
        )?;
        self.save(inst)
    }

    fn op_decide(&mut self, token: &str) -> Result<()> {
        let decided = DecisionToken::verify(token, &self.config.decision_secret, self.now)?;
        let (mut inst, plan) = self.running(decided.instance)?;
        let template = self.template(&plan, &inst)?;
        let row = self.active_row(inst.id, decided.step)?;
        if row.visit != decided.visit {
            return Err(Error::StepNotActive {
                instance: inst.id,
                step: decided.step,
                state: "decided already (the link is for an earlier visit)".into(),
            });
        }
        let who = row.responsible.clone().unwrap_or_else(|| SYSTEM.into());
        self.audit(
            Some(inst.id),
            Some(row.index),
            &who,
            "decided_by_link",
            if decided.answer { "yes" } else { "no" },
        )?;
        self.finish_step(
            &plan,
            template,
            &mut inst,
            row,
            StepState::Done,
            Some(decided.answer),
        )?;
        self.save(inst)
    }

    fn plan(&mut self, hash: &str) -> Result<Arc<Plan>> {
        if let Some(p) = self
            .plans
            .lock()
            .ok()
            .and_then(|m| m.by_hash.get(hash).cloned())
        {
            return Ok(p);
        }
        let row = self
            .tx
            .plan(hash)?
            .ok_or_else(|| Error::Store(format!("plan {hash} is not stored")))?;
        let plan: Plan = serde_json::from_str(&row.json)?;
        let plan = Arc::new(plan);
        if let Ok(mut m) = self.plans.lock() {
            m.by_hash.insert(hash.to_string(), plan.clone());
        }
        Ok(plan)
    }

    fn current_plan(&mut self) -> Result<Arc<Plan>> {
        // The plan found current last time, if the store still says so (every start asks);
        // else the plan of the hash the store names, from the cache after its first use.
        let last = self.plans.lock().ok().and_then(|m| m.current.clone());
        if let Some((hash, plan)) = last
            && self.tx.is_current_plan(&hash)?
        {
            return Ok(plan);
        }
        let hash = self.tx.current_plan_hash()?.ok_or(Error::NoPlan)?;
        let plan = self.plan(&hash)?;
        if let Ok(mut m) = self.plans.lock() {
            m.current = Some((hash.into(), plan.clone()));
        }
        Ok(plan)
    }

    fn template<'p>(&self, plan: &'p Plan, inst: &InstanceRow) -> Result<&'p Template> {
        plan.template(&inst.template)
            .ok_or_else(|| Error::UnknownTemplate(inst.template.clone()))
    }

    fn tz(&self, plan: &Plan) -> Tz {
        time_zone(self.plans, self.config.time_zone, plan)
    }

    fn user<'p>(&self, plan: &'p Plan, id: &str) -> Result<&'p procc_plan::User> {
        plan.catalog
            .users
            .iter()
            .find(|u| u.id == id)
            .ok_or_else(|| Error::UnknownUser(id.to_string()))
    }

    fn audit(
        &mut self,
        instance: Option<InstanceId>,
        step: Option<StepIndex>,
        who: &str,
        event: &'static str,
        detail: impl Into<String>,
    ) -> Result<()> {
        let id = self.tx.next_id(Sequence::Audit)?;
        self.tx.insert_audit(AuditRow {
            id,
            at: self.now,
            instance,
            step,
            who: if who == SYSTEM {
                Cow::Borrowed(SYSTEM)
            } else {
                Cow::Owned(who.to_string())
            },
            event: Cow::Borrowed(event),
            detail: detail.into(),
        })
    }

    fn emit(
        &mut self,
        kind: EffectKind,
        to: &str,
        payload: serde_json::Value,
        key: &str,
        not_before: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let instance = instance_named(&payload);
        self.put_effect(kind, to, payload.into(), instance, key, not_before, None)
    }

    /// Writes an effect that the step `origin` waits for.
    fn emit_awaited(
        &mut self,
        origin: EffectOrigin,
        kind: EffectKind,
        to: &str,
        payload: serde_json::Value,
        key: &str,
    ) -> Result<()> {
        let instance = instance_named(&payload);
        self.put_effect(kind, to, payload.into(), instance, key, None, Some(origin))
    }

    /// Writes an effect to the outbox; `instance` is the process it belongs to (the origin's,
    /// when not given).
    #[allow(clippy::too_many_arguments)]
    fn put_effect(
        &mut self,
        kind: EffectKind,
        to: &str,
        payload: Payload,
        instance: Option<InstanceId>,
        key: &str,
        not_before: Option<DateTime<Utc>>,
        origin: Option<EffectOrigin>,
    ) -> Result<()> {
        self.wake = true;
        let instance = instance.or(origin.map(|o| o.instance));
        let id = self.tx.next_id(Sequence::Outbox)?;
        self.tx.insert_outbox(OutboxRow {
            id,
            kind,
            to: to.to_string(),
            payload,
            idempotency_key: key.to_string(),
            created_at: self.now,
            not_before,
            delivered_at: None,
            attempts: 0,
            last_error: None,
            instance,
            origin,
            failed_at: None,
        })?;
        Ok(())
    }

    /// Logs one attempt and applies its result (see [`Engine::record_attempt`]).
    fn record_attempt(&mut self, effect: u64, report: &AttemptReport) -> Result<()> {
        let unknown = || Error::InvalidInput(format!("unknown effect {effect}"));
        // A delivery, the common case, is marked in one store call (in place in memory); a
        // late one still counts, since the receiver has the effect.
        if report.result == AttemptResult::Delivered {
            let delivery = self.tx.mark_outbox_delivered(effect, self.now)?;
            if delivery == Delivery::Unknown {
                return Err(unknown());
            }
            self.log_attempt(effect, report)?;
            return match delivery {
                Delivery::Marked(Some(origin)) => self.effect_delivered(origin),
                _ => Ok(()),
            };
        }
        let mut row = self.tx.outbox_row(effect)?.ok_or_else(unknown)?;
        self.log_attempt(effect, report)?;
        if !row.is_pending() || report.attempt != row.attempts {
            return Ok(());
        }
        if let AttemptResult::Retry { at, error } = &report.result {
            row.not_before = Some(*at);
            row.last_error = Some(error.clone());
            self.wake = true;
            return self.tx.update_outbox(row);
        }
        if let AttemptResult::Failed { error } | AttemptResult::Gone { error, .. } = &report.result
        {
            if let AttemptResult::Gone { .. } = &report.result {
                let endpoint = endpoint_of(&row);
                self.tx.put_key(&endpoint_key(endpoint), error)?;
                self.audit(row.instance, None, SYSTEM, "endpoint_disabled", endpoint)?;
            }
            row.failed_at = Some(self.now);
            row.last_error = Some(error.clone());
            self.tx.update_outbox(row.clone())?;
            self.effect_failed(&row, error)?;
        }
        Ok(())
    }

    /// Logs one delivery attempt of `effect`.
    fn log_attempt(&mut self, effect: u64, report: &AttemptReport) -> Result<()> {
        let (outcome, error, next_at) = match &report.result {
            AttemptResult::Delivered => (AttemptOutcome::Delivered, None, None),
            AttemptResult::Retry { at, error } => {
                (AttemptOutcome::Retry, Some(error.clone()), Some(*at))
            }
            AttemptResult::Failed { error } => (AttemptOutcome::Failed, Some(error.clone()), None),
            AttemptResult::Gone { error, .. } => (AttemptOutcome::Gone, Some(error.clone()), None),
        };
        let id = self.tx.next_id(Sequence::Attempt)?;
        self.tx.insert_attempt(AttemptRow {
            id,
            effect,
            number: report.attempt,
            at: report.started_at,
            status: report.status,
            latency_ms: u64::try_from(report.latency.as_millis()).unwrap_or(u64::MAX),
            outcome,
            error,
            excerpt: report.excerpt.clone(),
            next_at,
        })
    }

    /// The step visit `origin` waits for this effect's delivery: it continues.
    fn effect_delivered(&mut self, origin: EffectOrigin) -> Result<()> {
        let Some((mut inst, plan, row)) = self.waiting_step(origin)? else {
            return Ok(());
        };
        let template = self.template(&plan, &inst)?;
        self.finish_step(&plan, template, &mut inst, row, StepState::Done, None)?;
        self.save(inst)
    }

    /// Delivery of `effect` was given up: the audit says so, a step waiting for it becomes
    /// manual with the reason, and the controller is e-mailed (unless the effect was itself an
    /// e-mail, which would only fail again).
    fn effect_failed(&mut self, effect: &OutboxRow, error: &str) -> Result<()> {
        let reason = format!("delivery failed: {error}");
        self.audit(
            effect.instance,
            effect.origin.map(|o| o.step),
            SYSTEM,
            "delivery_failed",
            format!("effect {} to {}: {error}", effect.id, effect.to),
        )?;
        let mut told = false;
        if let Some(origin) = effect.origin
            && let Some((inst, plan, mut row)) = self.waiting_step(origin)?
        {
            let template = self.template(&plan, &inst)?;
            let spec = &template.steps[row.index as usize];
            row.degraded = Some(reason.clone());
            self.audit(
                Some(inst.id),
                Some(row.index),
                SYSTEM,
                "step_degraded",
                &reason,
            )?;
            self.await_person(&plan, spec, &inst, row, Some(reason.clone()))?;
            let subject = format!("{}: {reason}", spec.name);
            self.email_controller(
                &plan,
                &inst,
                subject,
                &format!("{}/failed", effect.idempotency_key),
            )?;
            self.save(inst)?;
            told = true;
        }
        if !told
            && effect.kind != EffectKind::Email
            && let Some(id) = effect.instance
            && let Some(inst) = self.tx.instance(id)?
        {
            let plan = self.plan(&inst.plan_hash)?;
            let subject = format!("{} {reason}", effect_name(effect.kind));
            self.email_controller(
                &plan,
                &inst,
                subject,
                &format!("{}/failed", effect.idempotency_key),
            )?;
        }
        Ok(())
    }

    /// The running instance and the step row that waits for an effect of `origin`, if it
    /// still waits (active, same visit, not made manual).
    fn waiting_step(
        &mut self,
        origin: EffectOrigin,
    ) -> Result<Option<(InstanceRow, Arc<Plan>, StepRow)>> {
        let Some(inst) = self.tx.instance(origin.instance)? else {
            return Ok(None);
        };
        if !inst.status.is_running() {
            return Ok(None);
        }
        let row = self.tx.step(inst.id, origin.step)?.filter(|r| {
            r.visit == origin.visit && r.state == StepState::Active && r.degraded.is_none()
        });
        let Some(mut row) = row else {
            return Ok(None);
        };
        // Delivered or given up: it waits for nothing any more.
        row.awaits_delivery = false;
        let plan = self.plan(&inst.plan_hash)?;
        Ok(Some((inst, plan, row)))
    }

    fn contact_email(&self, plan: &Plan, contact: &Contact) -> Option<String> {
        match contact {
            Contact::Email(e) => Some(e.clone()),
            Contact::User(u) => self.user(plan, u).ok().map(|u| u.email.clone()),
        }
    }

    fn email_controller(
        &mut self,
        plan: &Plan,
        inst: &InstanceRow,
        subject: String,
        key: &str,
    ) -> Result<()> {
        let to = inst
            .controller
            .as_ref()
            .and_then(|c| self.contact_email(plan, c))
            .or_else(|| self.user(plan, &inst.owner).ok().map(|u| u.email.clone()));
        match to {
            Some(to) => {
                let details = Payload::of(NoticeDetails {
                    instance: inst.id,
                    notice: "controller",
                    subject,
                    template: inst.template.clone(),
                });
                let instance = Some(inst.id);
                self.put_effect(EffectKind::Email, &to, details, instance, key, None, None)
            }
            None => self.audit(
                Some(inst.id),
                None,
                SYSTEM,
                "warning",
                format!("nobody to e-mail: {subject}"),
            ),
        }
    }

    fn running(&mut self, id: InstanceId) -> Result<(InstanceRow, Arc<Plan>)> {
        let inst = self.tx.instance(id)?.ok_or(Error::UnknownInstance(id))?;
        if !inst.status.is_running() {
            return Err(Error::NotRunning {
                instance: id,
                status: inst.status.name().to_string(),
            });
        }
        let plan = self.plan(&inst.plan_hash)?;
        Ok((inst, plan))
    }

    fn active_row(&mut self, instance: InstanceId, step: StepIndex) -> Result<StepRow> {
        let row = self.tx.step(instance, step)?;
        match row {
            Some(r) if r.state == StepState::Active => Ok(r),
            Some(r) => Err(Error::StepNotActive {
                instance,
                step,
                state: r.state.name().to_string(),
            }),
            None => Err(Error::StepNotActive {
                instance,
                step,
                state: "not reached".to_string(),
            }),
        }
    }

    /// Writes the instance with its status recomputed.
    fn save(&mut self, mut inst: InstanceRow) -> Result<()> {
        self.set_status(&mut inst)?;
        self.tx.update_instance(inst)
    }

    /// A running instance is due when one of its steps waits for a person.
    fn set_status(&mut self, inst: &mut InstanceRow) -> Result<()> {
        if inst.status.is_running() {
            let due = self.tx.has_active_step(inst.id)?;
            inst.status = if due {
                InstanceStatus::RunningDue
            } else {
                InstanceStatus::RunningWaiting
            };
        }
        Ok(())
    }

    fn linked_record(&mut self, inst: &InstanceRow, module: Module) -> Result<Option<RecordRow>> {
        match inst.links.get(module) {
            Some(id) => self.tx.record(module, id),
            None => Ok(None),
        }
    }

    /// One text field of the linked record of `module` (`None` when it is empty), read in
    /// place: an e-mail step needs only the address's e-mail, not a copy of the record. The
    /// record's absence is the reason an automatic step cannot run, as for `required_record`.
    fn required_text(
        &mut self,
        inst: &InstanceRow,
        module: Module,
        field: &str,
    ) -> Result<Option<String>> {
        let mut text = None;
        self.tx.with_records(
            [
                (module, inst.links.get(module)),
                (module, None),
                (module, None),
            ],
            &mut |[record, _, _]| text = record.map(|r| r.text(field).map(str::to_string)),
        )?;
        text.ok_or_else(|| not_linked(module))
    }

    /// The linked record of `module`; its absence is the reason an automatic step cannot run.
    fn required_record(&mut self, inst: &InstanceRow, module: Module) -> Result<RecordRow> {
        self.linked_record(inst, module)?
            .ok_or_else(|| not_linked(module))
    }

    fn evaluate(
        &mut self,
        plan: &Plan,
        links: &Links,
        changed: &[String],
        expr: &procc_plan::Expr,
    ) -> Result<std::result::Result<Val, String>> {
        let (now, plans, configured) = (self.now, self.plans, self.config.time_zone);
        let today = || local_date(now, time_zone(plans, configured, plan));
        let keys = [Module::Address, Module::Property, Module::Project].map(|m| (m, links.get(m)));
        let mut value = None;
        self.tx
            .with_records(keys, &mut |[address, property, project]| {
                let scope = Scope {
                    schemas: &plan.catalog.modules,
                    address,
                    property,
                    project,
                    changed,
                    today: &today,
                };
                value = Some(eval(expr, &scope));
            })?;
        Ok(value.expect("with_records calls f once"))
    }

    #[allow(clippy::too_many_arguments)]
    fn start_instance(
        &mut self,
        plan: &Arc<Plan>,
        template: &Template,
        owner: &str,
        links: Links,
        started_by: StartedBy,
        controller: Option<Contact>,
        chain: Option<(InstanceId, u32)>,
        email: Option<TriggerEmail>,
    ) -> Result<InstanceId> {
        if !template.active {
            return Err(Error::TemplateInactive(template.name.clone()));
        }
        self.user(plan, owner)?;
        for need in &template.needs {
            let module = record_module(*need);
            let id = links.get(module).ok_or_else(|| Error::MissingLink {
                template: template.name.clone(),
                record: module_name(module).to_string(),
            })?;
            if !self.tx.has_record(module, id)? {
                return Err(Error::InvalidInput(format!(
                    "there is no {} `{id}`",
                    module_name(module)
                )));
            }
        }
        let id = self.tx.next_id(Sequence::Instance)?;
        let (chain, depth) = chain.unwrap_or((id, 0));
        let mut inst = InstanceRow {
            id,
            template: template.name.clone(),
            plan_hash: plan.hash.clone(),
            owner: owner.to_string(),
            controller,
            links,
            status: InstanceStatus::RunningWaiting,
            cancelled_by: None,
            cancelled_at: None,
            started_by: started_by.clone(),
            started_at: self.now,
            completed_at: None,
            chain,
            depth,
            trigger_email: email.map(Box::new),
            responsible_overrides: Default::default(),
            version: 0,
        };
        let who = match &started_by {
            StartedBy::User { user } => user.as_str(),
            _ => SYSTEM,
        };
        self.audit(
            Some(id),
            None,
            who,
            "started",
            match &started_by {
                StartedBy::User { user } => join!(template.name, " (by ", *user, ")"),
                StartedBy::Trigger { event } => join!(template.name, " (trigger: ", *event, ")"),
                StartedBy::FollowUp { parent, step } => join!(
                    template.name,
                    " (follow-up of process ",
                    *parent,
                    " step ",
                    *step,
                    ")"
                ),
            },
        )?;
        self.enter_step(plan, template, &mut inst, 0, None)?;
        // Written once, when its first steps have run: nothing on the way reads it back. It
        // is stored at version 1, as when it was inserted and then saved.
        self.set_status(&mut inst)?;
        inst.version = 1;
        self.tx.insert_instance(inst)?;
        Ok(id)
    }

    fn enter_step(
        &mut self,
        plan: &Arc<Plan>,
        template: &Template,
        inst: &mut InstanceRow,
        index: StepIndex,
        previous_responsible: Option<String>,
    ) -> Result<()> {
        let spec = template
            .steps
            .get(index as usize)
            .ok_or(Error::UnknownStep {
                instance: inst.id,
                step: index,
            })?;
        let visit = self.tx.step(inst.id, index)?.map_or(1, |r| r.visit + 1);
        let mut row = StepRow {
            instance: inst.id,
            index,
            name: spec.name.clone(),
            visit,
            state: StepState::Active,
            degraded: None,
            responsible: None,
            activated_at: None,
            completed_at: None,
            rungs_fired: Vec::new(),
            answer: None,
            task: None,
            awaits_delivery: false,
        };
        if let Some(delay) = &spec.start_after {
            let at = add_delay(self.now, delay, self.tz(plan), &plan.catalog.calendars)?;
            row.state = StepState::Scheduled { at };
            let (responsible, _) = self.resolve_responsible(plan, template, inst, index)?;
            row.responsible = Some(responsible);
            self.tx.put_step(row)?;
            let timer = self.tx.next_id(Sequence::Timer)?;
            self.wake = true;
            self.tx.insert_timer(TimerRow {
                id: timer,
                kind: TimerKind::ActivateStep,
                due_at: at,
                instance: inst.id,
                step: index,
                visit,
                lease_owner: None,
                lease_until: None,
            })?;
            return self.audit(
                Some(inst.id),
                Some(index),
                SYSTEM,
                "step_scheduled",
                join!(spec.name, " at ", at.to_rfc3339()),
            );
        }
        self.activate(plan, template, inst, row, previous_responsible)
    }

    fn resolve_responsible(
        &mut self,
        plan: &Plan,
        template: &Template,
        inst: &InstanceRow,
        index: StepIndex,
    ) -> Result<(String, Option<String>)> {
        if let Some(user) = inst.responsible_overrides.get(&index) {
            return Ok((user.clone(), None));
        }
        let Some(spec) = template.steps.get(index as usize) else {
            return Ok((inst.owner.clone(), None));
        };
        let processor = match &spec.action {
            Action::Task {
                processor: Some(p), ..
            } => Some(p.clone()),
            _ => None,
        };
        if let Some(p) = processor {
            return Ok((p, None));
        }
        Ok(match &spec.responsible {
            Responsible::Owner => (inst.owner.clone(), None),
            Responsible::User(u) => (u.clone(), None),
            Responsible::Supervisor(record) => {
                let module = record_module(*record);
                let supervisor = self
                    .linked_record(inst, module)?
                    .and_then(|r| r.text("supervisor").map(str::to_string))
                    .filter(|s| self.user(plan, s).is_ok());
                match supervisor {
                    Some(s) => (s, None),
                    None => (
                        inst.owner.clone(),
                        Some(format!(
                            "the linked {} has no supervisor who is a user; the step went to the process owner",
                            module_name(module)
                        )),
                    ),
                }
            }
        })
    }

    fn activate(
        &mut self,
        plan: &Arc<Plan>,
        template: &Template,
        inst: &mut InstanceRow,
        mut row: StepRow,
        previous_responsible: Option<String>,
    ) -> Result<()> {
        let index = row.index;
        let spec = &template.steps[index as usize];
        let (responsible, warning) = self.resolve_responsible(plan, template, inst, index)?;
        row.state = StepState::Active;
        row.activated_at = Some(self.now);
        row.responsible = Some(responsible.clone());
        self.audit(
            Some(inst.id),
            Some(index),
            SYSTEM,
            "step_activated",
            join!(spec.name, " for ", responsible),
        )?;
        if let Some(w) = &warning {
            self.audit(Some(inst.id), Some(index), SYSTEM, "warning", w)?;
        }
        if spec.automatic {
            let outcome = if self.budget == 0 {
                Err(Error::InvalidInput(format!(
                    "more than {} automatic steps ran in a row (a loop?)",
                    self.config.max_automatic_steps
                )))
            } else {
                self.budget -= 1;
                self.perform(plan, template, inst, &mut row, None)
            };
            match outcome {
                Ok(Outcome::Continue(answer)) => {
                    return self.finish_step(plan, template, inst, row, StepState::Done, answer);
                }
                Ok(Outcome::Stopped) => {
                    return self.put_done(row, StepState::Cancelled, None, true);
                }
                Ok(Outcome::Waiting) => {
                    self.audit(
                        Some(inst.id),
                        Some(index),
                        SYSTEM,
                        "step_waits_for_delivery",
                        &spec.name,
                    )?;
                    row.awaits_delivery = true;
                    return self.tx.put_step(row);
                }
                Err(Error::InvalidInput(reason)) => {
                    row.degraded = Some(reason.clone());
                    self.audit(Some(inst.id), Some(index), SYSTEM, "step_degraded", &reason)?;
                }
                Err(other) => return Err(other),
            }
        } else {
            self.prepare_manual(plan, template, inst, &mut row, previous_responsible)?;
        }
        let warning = row.degraded.clone().or(warning);
        self.await_person(plan, spec, inst, row, warning)
    }

    /// The step waits for a person: inbox entry, deadline ladder, the step row written.
    fn await_person(
        &mut self,
        plan: &Arc<Plan>,
        spec: &procc_plan::Step,
        inst: &InstanceRow,
        row: StepRow,
        warning: Option<String>,
    ) -> Result<()> {
        let index = row.index;
        let item = self.tx.next_id(Sequence::WorkItem)?;
        self.tx.put_work_item(WorkItemRow {
            id: item,
            user: row.responsible.clone().unwrap_or_default(),
            instance: inst.id,
            step: index,
            visit: row.visit,
            created_at: self.now,
            done_at: None,
            warning,
        })?;
        for (i, rung) in spec.deadline.iter().enumerate() {
            let due = add_delay(
                self.now,
                &rung.after,
                self.tz(plan),
                &plan.catalog.calendars,
            )?;
            let timer = self.tx.next_id(Sequence::Timer)?;
            self.wake = true;
            self.tx.insert_timer(TimerRow {
                id: timer,
                kind: TimerKind::DeadlineRung { rung: i as u32 },
                due_at: due,
                instance: inst.id,
                step: index,
                visit: row.visit,
                lease_owner: None,
                lease_until: None,
            })?;
        }
        self.tx.put_step(row)
    }

    fn tokens(
        &self,
        instance: InstanceId,
        step: StepIndex,
        visit: u32,
    ) -> Result<(String, String)> {
        let make = |answer| {
            DecisionToken {
                instance,
                step,
                visit,
                answer,
                expires: self.now + self.config.decision_link_ttl,
            }
            .sign(&self.config.decision_secret)
        };
        Ok((make(true)?, make(false)?))
    }

    fn prepare_manual(
        &mut self,
        plan: &Arc<Plan>,
        template: &Template,
        inst: &mut InstanceRow,
        row: &mut StepRow,
        previous_responsible: Option<String>,
    ) -> Result<()> {
        let spec = &template.steps[row.index as usize];
        let responsible = row.responsible.clone().unwrap_or_default();
        match &spec.action {
            Action::Task { .. } => {
                let id = self.tx.next_id(Sequence::Artefact)?;
                self.tx.put_artefact(ArtefactRow {
                    id,
                    kind: ArtefactKind::Task,
                    instance: inst.id,
                    step: row.index,
                    user: Some(responsible.clone()),
                    links: inst.links.clone(),
                    data: Payload::of(TaskOfStep(PlanStep::new(plan, template, row.index)?)),
                    created_at: self.now,
                    done: false,
                })?;
                row.task = Some(id);
            }
            Action::Decision {
                mode,
                question,
                notify_decider,
                ..
            } => {
                let tell = *mode == DecisionMode::ByEmail
                    || *notify_decider
                    || previous_responsible.as_deref() != Some(responsible.as_str());
                if tell {
                    let (yes, no) = self.tokens(inst.id, row.index, row.visit)?;
                    match self.user(plan, &responsible).ok().map(|u| u.email.clone()) {
                        Some(to) => {
                            let base = &self.config.decision_base_url;
                            self.emit(
                                EffectKind::Email,
                                &to,
                                json!({"subject": question.clone().unwrap_or_else(|| spec.name.clone()),
                                       "decision": {"yes": format!("{base}?token={yes}"),
                                                    "no": format!("{base}?token={no}")},
                                       "instance": inst.id, "step": spec.name}),
                                &format!("{}/{}/{}/decision", inst.id, row.index, row.visit),
                                None,
                            )?;
                        }
                        None => self.audit(
                            Some(inst.id),
                            Some(row.index),
                            SYSTEM,
                            "warning",
                            "the decider has no e-mail address",
                        )?,
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Writes the end of a step. `waited` says whether it may have an open inbox entry or
    /// deadline timers: only a step that waited for a person has them (`await_person`), and
    /// most steps are automatic ones that ran straight through.
    fn put_done(
        &mut self,
        mut row: StepRow,
        state: StepState,
        answer: Option<bool>,
        waited: bool,
    ) -> Result<()> {
        let (instance, index) = (row.instance, row.index);
        row.state = state;
        row.completed_at = Some(self.now);
        row.answer = answer;
        self.tx.put_step(row)?;
        if waited {
            self.tx.close_work_items(instance, index, self.now)?;
            self.tx.delete_timers_of(instance, Some(index))?;
        }
        Ok(())
    }

    fn finish_step(
        &mut self,
        plan: &Arc<Plan>,
        template: &Template,
        inst: &mut InstanceRow,
        row: StepRow,
        state: StepState,
        answer: Option<bool>,
    ) -> Result<()> {
        let (index, responsible) = (row.index, row.responsible.clone());
        let spec = &template.steps[index as usize];
        // An automatic step waits for a person only when it could not run (degraded).
        let waited = !spec.automatic || row.degraded.is_some();
        let event = if state == StepState::Skipped {
            "step_left_skipped"
        } else {
            "step_done"
        };
        self.put_done(row, state, answer, waited)?;
        self.audit(
            Some(inst.id),
            Some(index),
            SYSTEM,
            event,
            match answer {
                Some(a) => join!(spec.name, if a { " (yes)" } else { " (no)" }),
                None => spec.name.clone(),
            },
        )?;
        if !inst.status.is_running() {
            return Ok(());
        }
        match &spec.next {
            Next::Step { step } => self.enter_step(plan, template, inst, *step, responsible),
            Next::Branch { yes, no } => {
                let answer = answer.ok_or_else(|| {
                    Error::InvalidInput(format!("decision `{}` needs an answer", spec.name))
                })?;
                let target = if answer { *yes } else { *no };
                self.enter_step(plan, template, inst, target, responsible)
            }
            Next::End => {
                inst.status = InstanceStatus::Completed;
                inst.completed_at = Some(self.now);
                self.tx.delete_timers_of(inst.id, None)?;
                self.audit(Some(inst.id), None, SYSTEM, "completed", &inst.template)
            }
        }
    }

    fn cancel_instance(
        &mut self,
        plan: &Plan,
        template: &Template,
        inst: &mut InstanceRow,
        by: &str,
        event: &'static str,
    ) -> Result<()> {
        for row in self.tx.steps(inst.id)? {
            if matches!(row.state, StepState::Active | StepState::Scheduled { .. }) {
                self.put_done(row, StepState::Cancelled, None, true)?;
            }
        }
        for mut artefact in self.tx.artefacts_of(inst.id)? {
            if artefact.kind == ArtefactKind::Task && !artefact.done {
                artefact.done = true;
                let mut data = artefact.data.value().clone();
                if let Some(fields) = data.as_object_mut() {
                    fields.insert("cancelled".into(), json!(true));
                }
                artefact.data = Payload::from(data);
                self.tx.put_artefact(artefact)?;
            }
        }
        self.tx.delete_timers_of(inst.id, None)?;
        inst.status = InstanceStatus::Cancelled;
        inst.cancelled_by = Some(by.to_string());
        inst.cancelled_at = Some(self.now);
        self.audit(Some(inst.id), None, by, event, &inst.template)?;
        if template.notify_controller_on_cancel || event == "loop_stopped" {
            let subject = if event == "loop_stopped" {
                format!(
                    "Process {} ({}) was stopped: its follow-up chain started more than {} times today",
                    inst.id, inst.template, self.config.loop_limit
                )
            } else {
                format!(
                    "Process {} ({}) was cancelled by {by}",
                    inst.id, inst.template
                )
            };
            let key = format!("{}/{event}", inst.id);
            self.email_controller(plan, inst, subject, &key)?;
        }
        Ok(())
    }

    /// Gives an active or scheduled step to `user`: the row, its open work item and its task.
    fn move_step(&mut self, row: &mut StepRow, user: &str) -> Result<()> {
        row.responsible = Some(user.to_string());
        self.tx.put_step(row.clone())?;
        for mut item in self.tx.work_items_of(row.instance)? {
            if item.step == row.index && item.done_at.is_none() {
                item.user = user.to_string();
                self.tx.put_work_item(item)?;
            }
        }
        if let Some(task) = row.task
            && let Some(mut artefact) = self.tx.artefact(task)?
        {
            artefact.user = Some(user.to_string());
            self.tx.put_artefact(artefact)?;
        }
        Ok(())
    }

    fn fire_timer(&mut self, timer: &TimerRow) -> Result<()> {
        self.tx.delete_timer(timer.id)?;
        let Some(mut inst) = self.tx.instance(timer.instance)? else {
            return Ok(());
        };
        if !inst.status.is_running() {
            return Ok(());
        }
        let plan = self.plan(&inst.plan_hash)?;
        let template = self.template(&plan, &inst)?;
        let Some(mut row) = self
            .tx
            .step(inst.id, timer.step)?
            .filter(|r| r.visit == timer.visit)
        else {
            return Ok(());
        };
        match &timer.kind {
            TimerKind::ActivateStep => {
                if !matches!(row.state, StepState::Scheduled { .. }) {
                    return Ok(());
                }
                // The person of the step finished last (for "the decider differs").
                let previous = self
                    .tx
                    .steps(inst.id)?
                    .into_iter()
                    .filter(|r| r.index != row.index && r.completed_at.is_some())
                    .max_by_key(|r| r.completed_at)
                    .and_then(|r| r.responsible);
                self.activate(&plan, template, &mut inst, row, previous)?;
            }
            TimerKind::DeadlineRung { rung } => {
                if row.state != StepState::Active || row.rungs_fired.contains(rung) {
                    return Ok(());
                }
                let spec = &template.steps[row.index as usize];
                let Some(r) = spec.deadline.get(*rung as usize) else {
                    return Ok(());
                };
                row.rungs_fired.push(*rung);
                self.tx.put_step(row.clone())?;
                let key = join!(inst.id, "/", row.index, "/", row.visit, "/rung", *rung);
                let subject = join!(
                    "Deadline of step `",
                    spec.name,
                    "` in process ",
                    inst.id,
                    " (",
                    inst.template,
                    ") passed"
                );
                // The rung's action as `{:?}` prints it; the common two joined without the
                // formatting machinery.
                let detail = match &r.action {
                    RungAction::EmailController => join!("rung ", *rung, ": EmailController"),
                    RungAction::RemindResponsible => join!("rung ", *rung, ": RemindResponsible"),
                    RungAction::Reassign(_) => format!("rung {rung}: {:?}", r.action),
                };
                self.audit(
                    Some(inst.id),
                    Some(row.index),
                    SYSTEM,
                    "deadline_rung",
                    detail,
                )?;
                match &r.action {
                    RungAction::EmailController => {
                        self.email_controller(&plan, &inst, subject, &key)?;
                    }
                    RungAction::RemindResponsible => {
                        let user = row.responsible.clone().unwrap_or_default();
                        match self.user(&plan, &user).ok().map(|u| u.email.clone()) {
                            Some(to) => self.emit(
                                EffectKind::Email,
                                &to,
                                json!({"subject": format!("Reminder: {subject}"),
                                       "instance": inst.id, "step": spec.name,
                                       "notice": "reminder"}),
                                &key,
                                None,
                            )?,
                            None => self.audit(
                                Some(inst.id),
                                Some(row.index),
                                SYSTEM,
                                "warning",
                                "the responsible user has no e-mail address",
                            )?,
                        }
                    }
                    RungAction::Reassign(to) => {
                        let user = match to {
                            Responsible::User(u) => u.clone(),
                            Responsible::Owner => inst.owner.clone(),
                            Responsible::Supervisor(rec) => self
                                .linked_record(&inst, record_module(*rec))?
                                .and_then(|r| r.text("supervisor").map(str::to_string))
                                .unwrap_or_else(|| inst.owner.clone()),
                        };
                        self.move_step(&mut row, &user)?;
                        self.audit(
                            Some(inst.id),
                            Some(row.index),
                            SYSTEM,
                            "reassigned",
                            format!("to {user} (deadline)"),
                        )?;
                    }
                }
            }
        }
        self.save(inst)
    }

    /// Carries out what a step does. `input` is `None` for an automatic run and the person's
    /// input for a manual completion. An `InvalidInput` error means "cannot run": an
    /// automatic step then becomes manual, a manual completion is refused.
    fn perform(
        &mut self,
        plan: &Arc<Plan>,
        template: &Template,
        inst: &mut InstanceRow,
        row: &mut StepRow,
        input: Option<&StepInput>,
    ) -> Result<Outcome> {
        let spec = &template.steps[row.index as usize];
        let auto = input.is_none();
        let cannot = |reason: String| Err(Error::InvalidInput(reason));
        let key = |what: &str| join!(inst.id, "/", row.index, "/", row.visit, "/", what);
        let origin = EffectOrigin {
            instance: inst.id,
            step: row.index,
            visit: row.visit,
        };
        let responsible = row.responsible.clone().unwrap_or_default();
        match &spec.action {
            Action::Task { .. }
            | Action::Appointment { .. }
            | Action::Resubmission { .. }
            | Action::AssignProject { .. }
            | Action::AssignAddress { .. }
            | Action::AssignProperty { .. }
                if auto =>
            {
                cannot(format!(
                    "a {} step needs a person",
                    action_name(&spec.action)
                ))
            }
            Action::Task { .. } | Action::Merge | Action::End => Ok(Outcome::Continue(None)),
            Action::Appointment {
                subject,
                appointment_type,
                ..
            } => {
                self.artefact(
                    inst,
                    row,
                    ArtefactKind::Appointment,
                    json!({"subject": subject, "type": appointment_type}),
                )?;
                Ok(Outcome::Continue(None))
            }
            Action::Resubmission { reason, due } => {
                let at = match due {
                    Some(d) => Some(add_delay(
                        row.activated_at.unwrap_or(self.now),
                        d,
                        self.tz(plan),
                        &plan.catalog.calendars,
                    )?),
                    None => None,
                };
                self.artefact(
                    inst,
                    row,
                    ArtefactKind::Resubmission,
                    json!({"reason": reason, "due": at}),
                )?;
                Ok(Outcome::Continue(None))
            }
            Action::Letter {
                template: letter,
                format,
                description,
            } => {
                if auto {
                    let Some(address) = inst.links.address.clone() else {
                        return cannot("no address is linked to send the letter to".into());
                    };
                    self.emit(
                        EffectKind::Letter,
                        &address,
                        json!({"template": letter, "format": format, "instance": inst.id}),
                        &key("letter"),
                        None,
                    )?;
                }
                self.artefact(
                    inst,
                    row,
                    ArtefactKind::Letter,
                    json!({"template": letter, "format": format, "description": description}),
                )?;
                Ok(Outcome::Continue(None))
            }
            Action::AssignProject { .. } => self.assign(inst, Module::Project, input),
            Action::AssignAddress { .. } => self.assign(inst, Module::Address, input),
            Action::AssignProperty { .. } => self.assign(inst, Module::Property, input),
            // Communication done by a person in the CRM: nothing for the engine to send.
            Action::Email { .. }
            | Action::ForwardEmail { .. }
            | Action::Sms { .. }
            | Action::OwnerNotification { .. }
            | Action::ServiceWebhook { .. }
            | Action::FreeWebhook { .. }
            | Action::PortalSync { .. }
                if !auto =>
            {
                Ok(Outcome::Continue(None))
            }
            Action::Email { send_at, .. } => {
                let email = self.required_text(inst, Module::Address, "email")?;
                let address = inst.links.get(Module::Address).unwrap_or_default();
                let Some(to) = email else {
                    return cannot(format!("address `{address}` has no e-mail address"));
                };
                let not_before = match send_at {
                    Some(t) => Some(next_local_time(self.now, t, self.tz(plan))?),
                    None => None,
                };
                let details = Payload::of(EmailOfStep {
                    step: PlanStep::new(plan, template, row.index)?,
                    from_user: responsible,
                    address: inst.links.address.clone().unwrap_or_default(),
                    instance: inst.id,
                });
                let (instance, key) = (Some(inst.id), key("email"));
                self.put_effect(
                    EffectKind::Email,
                    &to,
                    details,
                    instance,
                    &key,
                    not_before,
                    None,
                )?;
                Ok(Outcome::Continue(None))
            }
            Action::ForwardEmail {
                send_at,
                to,
                cc,
                bcc,
                note,
                ..
            } => {
                let Some(email) = inst.trigger_email.clone() else {
                    return cannot("the process was not started from an e-mail".into());
                };
                let resolve = |r: &procc_plan::Recipient| match r {
                    procc_plan::Recipient::Address(a) => Some(a.clone()),
                    procc_plan::Recipient::User(u) => plan
                        .catalog
                        .users
                        .iter()
                        .find(|x| &x.id == u)
                        .map(|x| x.email.clone()),
                };
                let recipient = match to {
                    Some(r) => resolve(r),
                    None => self.user(plan, &responsible).ok().map(|u| u.email.clone()),
                };
                let Some(recipient) = recipient else {
                    return cannot("the forward has no recipient with an e-mail address".into());
                };
                let not_before = match send_at {
                    Some(t) => Some(next_local_time(self.now, t, self.tz(plan))?),
                    None => None,
                };
                let cc: Vec<_> = cc.iter().filter_map(resolve).collect();
                let bcc: Vec<_> = bcc.iter().filter_map(resolve).collect();
                self.emit(
                    EffectKind::Email,
                    &recipient,
                    json!({"forward": email.id, "subject": email.subject, "cc": cc, "bcc": bcc,
                           "note": note, "instance": inst.id}),
                    &key("forward"),
                    not_before,
                )?;
                Ok(Outcome::Continue(None))
            }
            Action::Sms {
                text,
                window,
                to,
                sender,
                ..
            } => {
                let address = self.required_record(inst, Module::Address)?;
                let number = match to {
                    SmsRecipient::Address => address.text("mobile").map(str::to_string),
                    SmsRecipient::AddressSupervisor => address
                        .text("supervisor")
                        .and_then(|s| self.user(plan, s).ok())
                        .and_then(|u| u.mobile.clone()),
                };
                let Some(number) = number else {
                    return cannot(format!("no mobile number to send the SMS to ({to:?})"));
                };
                let from = match sender {
                    SmsSender::Client => plan.tenant.as_ref().and_then(|t| t.mobile.clone()),
                    SmsSender::PropertySupervisor => self
                        .linked_record(inst, Module::Property)?
                        .and_then(|p| p.text("supervisor").map(str::to_string))
                        .and_then(|s| self.user(plan, &s).ok().and_then(|u| u.mobile.clone())),
                    SmsSender::Group => self.user(plan, &responsible).ok().and_then(|u| {
                        u.groups.iter().find_map(|g| {
                            plan.catalog
                                .groups
                                .iter()
                                .find(|x| &x.id == g)
                                .and_then(|x| x.mobile.clone())
                        })
                    }),
                };
                let Some(from) = from else {
                    return cannot(format!("no sender number for the SMS ({sender:?})"));
                };
                let body = match text {
                    SmsText::Inline(t) => t.clone(),
                    SmsText::Template(id) => plan
                        .catalog
                        .sms_templates
                        .iter()
                        .find(|t| &t.id == id)
                        .map(|t| t.text.clone())
                        .unwrap_or_default(),
                };
                let not_before = match window {
                    SmsWindow::Anytime => None,
                    SmsWindow::At { time } => Some(next_local_time(self.now, time, self.tz(plan))?),
                    SmsWindow::Between { from, to } => {
                        let tz = self.tz(plan);
                        let start = next_local_time(self.now, from, tz)?;
                        let end = next_local_time(self.now, to, tz)?;
                        // Inside the window when its end comes before its next start.
                        if end < start { None } else { Some(start) }
                    }
                };
                self.emit(
                    EffectKind::Sms,
                    &number,
                    json!({"from": from, "text": body, "instance": inst.id}),
                    &key("sms"),
                    not_before,
                )?;
                Ok(Outcome::Continue(None))
            }
            Action::OwnerNotification {
                channel,
                template: mail,
                send_at,
                period_days,
                with_property,
            } => {
                if *channel == Channel::Letter {
                    return cannot("owner letters are always sent by hand".into());
                }
                let address = self.linked_record(inst, Module::Address)?;
                let to = address
                    .as_ref()
                    .and_then(|a| a.text("email").map(str::to_string));
                let Some(to) = to else {
                    return cannot("no owner address with an e-mail address is linked".into());
                };
                let not_before = match send_at {
                    Some(t) => Some(next_local_time(self.now, t, self.tz(plan))?),
                    None => None,
                };
                self.emit(
                    EffectKind::Email,
                    &to,
                    json!({"template": mail, "owner_report": true, "period_days": period_days,
                           "property": if *with_property { inst.links.property.clone() } else { None },
                           "instance": inst.id}),
                    &key("owner"),
                    not_before,
                )?;
                Ok(Outcome::Continue(None))
            }
            Action::ServiceWebhook { .. } | Action::FreeWebhook { .. } if !auto => {
                Ok(Outcome::Continue(None))
            }
            Action::ServiceWebhook { service, parameter } => {
                let Some(svc) = plan.catalog.services.iter().find(|s| &s.id == service) else {
                    return cannot(format!("service `{service}` is not in the plan"));
                };
                let Some(hook) = &svc.webhook else {
                    return cannot(format!("service `{service}` has no webhook"));
                };
                let mut params = serde_json::Map::new();
                if let Some(p) = parameter {
                    match self.evaluate(plan, &inst.links, &[], &p.value)? {
                        Ok(v) => {
                            params.insert(p.name.clone(), v.to_json());
                        }
                        Err(reason) => return cannot(reason),
                    }
                }
                self.emit_awaited(
                    origin,
                    EffectKind::Webhook,
                    &hook.url,
                    json!({"service": service, "method": hook.method, "parameters": params,
                           "links": inst.links, "instance": inst.id, "template": inst.template,
                           "step": spec.name, "user": responsible}),
                    &key("webhook"),
                )?;
                Ok(Outcome::Waiting)
            }
            Action::FreeWebhook {
                method,
                url,
                headers,
                body,
            } => {
                let url = match self.expand(plan, inst, url)? {
                    Ok(u) => u,
                    Err(reason) => return cannot(reason),
                };
                let body = match body {
                    Some(b) => match self.expand(plan, inst, b)? {
                        Ok(b) => Some(b),
                        Err(reason) => return cannot(reason),
                    },
                    None => None,
                };
                let mut hs = Vec::new();
                for h in headers {
                    match self.expand(plan, inst, &h.value)? {
                        Ok(v) => hs.push(json!([h.name, v])),
                        Err(reason) => return cannot(reason),
                    }
                }
                self.emit_awaited(
                    origin,
                    EffectKind::Webhook,
                    &url,
                    json!({"method": method, "headers": hs, "body": body, "instance": inst.id,
                           "template": inst.template, "step": spec.name}),
                    &key("webhook"),
                )?;
                Ok(Outcome::Waiting)
            }
            Action::PortalSync { action, portals } => {
                let Some(property) = inst.links.property.clone() else {
                    return cannot("no property is linked to the process".into());
                };
                let targets: Vec<&procc_plan::Portal> = plan
                    .catalog
                    .portals
                    .iter()
                    .filter(|p| portals.is_empty() || portals.contains(&p.id))
                    .collect();
                for portal in targets {
                    self.emit(
                        EffectKind::Portal,
                        &portal.id,
                        json!({"property": property,
                               "action": if *action == PortalAction::Publish { "publish" } else { "remove" },
                               "mark_for_full_sync": portal.full_sync_only, "instance": inst.id}),
                        &key(&format!("portal/{}", portal.id)),
                        None,
                    )?;
                }
                Ok(Outcome::Continue(None))
            }
            Action::WriteValues {
                module,
                field,
                value,
            } => {
                let val = match (input.and_then(|i| i.value.clone()), value) {
                    (Some(v), _) => {
                        let ty = field_type(plan, *module, field)?;
                        match typed(ty, &v) {
                            Some(v) => v,
                            None => return cannot(format!("`{v}` is not a {ty:?} value")),
                        }
                    }
                    (None, Some(expr)) => match self.evaluate(plan, &inst.links, &[], expr)? {
                        Ok(v) => v,
                        Err(reason) => return cannot(reason),
                    },
                    (None, None) => return cannot(format!("enter the value of `{field}`")),
                };
                self.write_field(plan, inst, row, *module, field, val)?;
                Ok(Outcome::Continue(None))
            }
            Action::SetStatus { record, value } => {
                let module = record_module(*record);
                let mut rec = self.required_record(inst, module)?;
                let known = plan
                    .catalog
                    .modules
                    .iter()
                    .find(|m| m.module == module)
                    .is_none_or(|m| m.statuses.contains(value));
                if !known {
                    return cannot(format!(
                        "`{value}` is not a status of {}",
                        module_name(module)
                    ));
                }
                let changed = rec.text("status") != Some(value.as_str());
                rec.fields.insert("status".into(), json!(value));
                self.tx.put_record(&rec)?;
                self.audit(
                    Some(inst.id),
                    Some(row.index),
                    SYSTEM,
                    "status_set",
                    format!("{} {} -> {value}", module_name(module), rec.id),
                )?;
                if changed {
                    let event = RecordEvent::StatusSet {
                        module,
                        id: rec.id.clone(),
                        value: value.clone(),
                    };
                    let occurrence = format!("instance{}/step{}/{}", inst.id, row.index, row.visit);
                    self.fire_triggers(
                        plan,
                        &event,
                        &rec,
                        &occurrence,
                        Some((inst.chain, inst.depth)),
                    )?;
                }
                Ok(Outcome::Continue(None))
            }
            Action::CreateProject {
                template: project_template,
                title,
                ..
            } => {
                let n = self.tx.next_id(Sequence::Project)?;
                let id = format!("P{n}");
                let status = plan
                    .catalog
                    .modules
                    .iter()
                    .find(|m| m.module == Module::Project)
                    .and_then(|m| m.statuses.first().cloned());
                let mut rec = RecordRow::new(Module::Project, &id)
                    .with("template", json!(project_template))
                    .with("title", json!(title));
                if let Some(s) = status {
                    rec.fields.insert("status".into(), json!(s));
                }
                self.tx.put_record(&rec)?;
                inst.links.project = Some(id.as_str().into());
                self.audit(
                    Some(inst.id),
                    Some(row.index),
                    SYSTEM,
                    "project_created",
                    &id,
                )?;
                Ok(Outcome::Continue(None))
            }
            Action::FollowUp {
                template: target,
                carry,
            } => self.follow_up(plan, template, inst, row, target, carry),
            Action::Decision {
                mode, condition, ..
            } => {
                if let Some(answer) = input.and_then(|i| i.answer) {
                    return Ok(Outcome::Continue(Some(answer)));
                }
                if !auto || *mode != DecisionMode::Automatic {
                    return cannot(format!(
                        "decision `{}` needs an answer (yes or no)",
                        spec.name
                    ));
                }
                let Some(condition) = condition else {
                    return cannot("the automatic decision has no condition".into());
                };
                match self.evaluate(plan, &inst.links, &[], condition)? {
                    Ok(Val::Bool(b)) => Ok(Outcome::Continue(Some(b))),
                    Ok(other) => cannot(format!("the condition gave {other:?}, not yes or no")),
                    Err(reason) => cannot(reason),
                }
            }
            Action::ActivityLog {
                activity_kind,
                activity_type,
                note,
                features,
                tracked,
            } => {
                self.artefact(
                    inst,
                    row,
                    ArtefactKind::Activity,
                    json!({"kind": activity_kind, "type": activity_type, "note": note,
                           "features": features, "tracked": tracked}),
                )?;
                Ok(Outcome::Continue(None))
            }
            Action::LeadDistribution {
                pool,
                capacity_field,
                activity_kind,
                activity_type,
                ..
            } => {
                let mut address = self.required_record(inst, Module::Address)?;
                let members: Vec<&procc_plan::User> = match pool {
                    Pool::Group(g) => plan
                        .catalog
                        .users
                        .iter()
                        .filter(|u| u.groups.contains(g))
                        .collect(),
                    Pool::Users(ids) => plan
                        .catalog
                        .users
                        .iter()
                        .filter(|u| ids.contains(&u.id))
                        .collect(),
                };
                if members.is_empty() {
                    return cannot("the lead pool has no users".into());
                }
                let known = address
                    .text("supervisor")
                    .filter(|s| members.iter().any(|m| m.id == *s))
                    .map(str::to_string);
                let chosen = match known {
                    Some(s) => s,
                    None => {
                        let mut best: Option<(f64, String)> = None;
                        for m in &members {
                            let leads = self
                                .tx
                                .key(&format!("leads/{}", m.id))?
                                .and_then(|v| v.parse::<f64>().ok())
                                .unwrap_or(0.0);
                            let capacity = match (capacity_field, &m.address) {
                                (Some(f), Some(a)) => self
                                    .tx
                                    .record(Module::Address, a)?
                                    .and_then(|r| r.fields.get(f).and_then(|v| v.as_f64()))
                                    .filter(|c| *c > 0.0)
                                    .unwrap_or(1.0),
                                _ => 1.0,
                            };
                            let load = leads / capacity;
                            if best.as_ref().is_none_or(|(b, _)| load < *b) {
                                best = Some((load, m.id.clone()));
                            }
                        }
                        best.map(|(_, id)| id).unwrap_or_default()
                    }
                };
                let counter = format!("leads/{chosen}");
                let leads = self
                    .tx
                    .key(&counter)?
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
                self.tx.put_key(&counter, &(leads + 1).to_string())?;
                address.fields.insert("supervisor".into(), json!(chosen));
                self.tx.put_record(&address)?;
                self.artefact(
                    inst,
                    row,
                    ArtefactKind::Activity,
                    json!({"kind": activity_kind, "type": activity_type,
                           "note": format!("lead assigned to {chosen}")}),
                )?;
                Ok(Outcome::Continue(None))
            }
        }
    }

    fn assign(
        &mut self,
        inst: &mut InstanceRow,
        module: Module,
        input: Option<&StepInput>,
    ) -> Result<Outcome> {
        let id = input
            .and_then(|i| i.value.as_ref())
            .and_then(|v| v.as_str().map(str::to_string))
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "enter the id of the {} to link",
                    module_name(module)
                ))
            })?;
        check_key(id_name(module), &id)?;
        if !self.tx.has_record(module, &id)? {
            return Err(Error::InvalidInput(format!(
                "there is no {} `{id}`",
                module_name(module)
            )));
        }
        inst.links.set(module, Some(id.into()));
        Ok(Outcome::Continue(None))
    }

    fn artefact(
        &mut self,
        inst: &InstanceRow,
        row: &StepRow,
        kind: ArtefactKind,
        data: serde_json::Value,
    ) -> Result<u64> {
        let id = self.tx.next_id(Sequence::Artefact)?;
        self.tx.put_artefact(ArtefactRow {
            id,
            kind,
            instance: inst.id,
            step: row.index,
            user: row.responsible.clone(),
            links: inst.links.clone(),
            data: Payload::from(data),
            created_at: self.now,
            done: kind != ArtefactKind::Task,
        })?;
        Ok(id)
    }

    /// Replaces `{module.field}` macros with the linked records' values.
    fn expand(
        &mut self,
        plan: &Plan,
        inst: &InstanceRow,
        text: &str,
    ) -> Result<std::result::Result<String, String>> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                out.push_str(&rest[open..]);
                rest = "";
                break;
            };
            let name = &after[..close];
            if name.contains('{') {
                // A brace of the text itself (JSON): the macro, if any, starts later.
                out.push('{');
                rest = after;
                continue;
            }
            let module = match name.split_once('.') {
                Some(("address", _)) => Some(Module::Address),
                Some(("property", _)) => Some(Module::Property),
                Some(("project", _)) => Some(Module::Project),
                _ => None,
            };
            match (module, name.split_once('.')) {
                (Some(m), Some((_, field))) => {
                    let expr = procc_plan::Expr::Field {
                        module: m,
                        field: field.to_string(),
                    };
                    match self.evaluate(plan, &inst.links, &[], &expr)? {
                        Ok(Val::Text(s)) => out.push_str(&s),
                        Ok(v) => out.push_str(&v.to_json().to_string()),
                        Err(reason) => return Ok(Err(reason)),
                    }
                }
                _ => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        Ok(Ok(out))
    }

    fn write_field(
        &mut self,
        plan: &Plan,
        inst: &InstanceRow,
        row: &StepRow,
        module: Module,
        field: &str,
        value: Val,
    ) -> Result<()> {
        let schema = plan
            .catalog
            .modules
            .iter()
            .find(|m| m.module == module)
            .and_then(|m| m.fields.iter().find(|f| f.name == field))
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "the plan has no field `{}.{field}`",
                    module_name(module)
                ))
            })?;
        if schema.read_only {
            return Err(Error::InvalidInput(format!(
                "`{}.{field}` is read-only",
                module_name(module)
            )));
        }
        let fits = match (schema.ty, &value) {
            (FieldType::Number | FieldType::Money | FieldType::Area, Val::Num(_)) => true,
            (FieldType::Bool, Val::Bool(_)) => true,
            (FieldType::Date, Val::Date(_)) => true,
            (FieldType::Text, Val::Text(_)) => true,
            (FieldType::Enum, Val::Text(t)) => {
                schema.values.is_empty() || schema.values.contains(t)
            }
            _ => false,
        };
        if !fits {
            return Err(Error::InvalidInput(format!(
                "{value:?} does not fit `{}.{field}` ({:?})",
                module_name(module),
                schema.ty
            )));
        }
        let mut rec = self.required_record(inst, module)?;
        let json_value = value.to_json();
        rec.fields.insert(field.to_string(), json_value.clone());
        self.tx.put_record(&rec)?;
        self.audit(
            Some(inst.id),
            Some(row.index),
            SYSTEM,
            "value_written",
            format!(
                "{}.{field} of {} = {json_value}",
                module_name(module),
                rec.id
            ),
        )
    }

    fn follow_up(
        &mut self,
        plan: &Arc<Plan>,
        template: &Template,
        inst: &mut InstanceRow,
        row: &StepRow,
        target: &str,
        carry: &[Record],
    ) -> Result<Outcome> {
        let today = local_date(self.now, self.tz(plan));
        let starts = self
            .tx
            .bump_counter(&format!("chain/{}/{today}", inst.chain))?;
        if starts > self.config.loop_limit {
            self.cancel_instance(plan, template, inst, SYSTEM, "loop_stopped")?;
            return Ok(Outcome::Stopped);
        }
        // A follow-up starts on the current plan when it has the template, else on the
        // parent's plan.
        let current = self.current_plan()?;
        let target_plan = if current.template(target).is_some() {
            current
        } else {
            self.plan(&inst.plan_hash)?
        };
        let Some(child_template) = target_plan.template(target) else {
            return Err(Error::InvalidInput(format!(
                "there is no template `{target}`"
            )));
        };
        let mut links = Links::default();
        for r in carry {
            let m = record_module(*r);
            links.set(m, inst.links.get(m).map(Shared::from));
        }
        let controller = match &child_template.controller {
            Controller::Starter => inst.controller.clone(),
            Controller::User(u) => Some(Contact::User(u.clone())),
            Controller::Email(e) => Some(Contact::Email(e.clone())),
        };
        let child = self.start_instance(
            &target_plan,
            child_template,
            &inst.owner.clone(),
            links,
            StartedBy::FollowUp {
                parent: inst.id,
                step: row.index,
            },
            controller,
            Some((inst.chain, inst.depth + 1)),
            None,
        );
        match child {
            Ok(id) => {
                self.audit(
                    Some(inst.id),
                    Some(row.index),
                    SYSTEM,
                    "follow_up_started",
                    format!("{target} as instance {id}"),
                )?;
                Ok(Outcome::Continue(None))
            }
            Err(
                e
                @ (Error::MissingLink { .. } | Error::TemplateInactive(_) | Error::UnknownUser(_)),
            ) => Err(Error::InvalidInput(format!(
                "the follow-up could not start: {e}"
            ))),
            Err(e) => Err(e),
        }
    }

    fn entries(&mut self, items: Vec<WorkItemRow>) -> Result<Vec<InboxEntry>> {
        let mut out = Vec::new();
        for item in items {
            let Some(inst) = self.tx.instance(item.instance)? else {
                continue;
            };
            let plan = self.plan(&inst.plan_hash)?;
            let template = self.template(&plan, &inst)?;
            let name = template
                .steps
                .get(item.step as usize)
                .map(|s| s.name.clone())
                .unwrap_or_default();
            out.push(InboxEntry {
                template: inst.template.clone(),
                step_name: name,
                position: (item.step + 1, template.steps.len() as u32),
                links: inst.links.clone(),
                item,
            });
        }
        Ok(out)
    }

    fn record_event(
        &mut self,
        plan: &Arc<Plan>,
        event: &RecordEvent,
        occurrence: &str,
        chain: Option<(InstanceId, u32)>,
    ) -> Result<Vec<InstanceId>> {
        let record = match event {
            RecordEvent::Saved { record, .. } => {
                self.tx.put_record(record)?;
                record.clone()
            }
            RecordEvent::StatusSet { module, id, value } => {
                let mut rec = self.tx.record(*module, id)?.ok_or_else(|| {
                    Error::InvalidInput(format!("there is no {} `{id}`", module_name(*module)))
                })?;
                rec.fields.insert("status".into(), json!(value));
                self.tx.put_record(&rec)?;
                rec
            }
            RecordEvent::EmailReceived { address, .. }
            | RecordEvent::ActivityReceived { address, .. } => self
                .tx
                .record(Module::Address, address)?
                .ok_or_else(|| Error::InvalidInput(format!("there is no address `{address}`")))?,
        };
        self.fire_triggers(plan, event, &record, occurrence, chain)
    }

    fn fire_triggers(
        &mut self,
        plan: &Arc<Plan>,
        event: &RecordEvent,
        record: &RecordRow,
        occurrence: &str,
        chain: Option<(InstanceId, u32)>,
    ) -> Result<Vec<InstanceId>> {
        let mut links = Links::default();
        links.set(record.module, Some(record.id.as_str().into()));
        let (changed, email): (&[String], Option<TriggerEmail>) = match event {
            RecordEvent::Saved { changed, .. } => (changed, None),
            RecordEvent::EmailReceived {
                property, email, ..
            } => {
                links.property = property.as_deref().map(Shared::from);
                (&[], Some(email.clone()))
            }
            RecordEvent::ActivityReceived { property, .. } => {
                links.property = property.as_deref().map(Shared::from);
                (&[], None)
            }
            RecordEvent::StatusSet { .. } => (&[], None),
        };
        let mut started = Vec::new();
        for template in &plan.templates {
            if !template.active {
                continue;
            }
            for trigger in &template.triggers {
                let matches = match (&trigger.event, event) {
                    (TriggerEvent::Saved { record: r }, RecordEvent::Saved { .. }) => {
                        record_module(*r) == record.module
                    }
                    (
                        TriggerEvent::StatusSet { record: r, value },
                        RecordEvent::StatusSet { value: v, .. },
                    ) => record_module(*r) == record.module && value == v,
                    (
                        TriggerEvent::EmailReceived { feature },
                        RecordEvent::EmailReceived { feature: f, .. },
                    ) => feature.is_none() || feature == f,
                    (
                        TriggerEvent::ActivityReceived {
                            activity_kind,
                            activity_type,
                            feature,
                        },
                        RecordEvent::ActivityReceived {
                            kind,
                            activity_type: t,
                            feature: f,
                            ..
                        },
                    ) => {
                        activity_kind.as_ref().is_none_or(|k| k == kind)
                            && (activity_type.is_none() || activity_type == t)
                            && (feature.is_none() || feature == f)
                    }
                    _ => false,
                };
                if !matches {
                    continue;
                }
                if let Some(id) = self.try_trigger(
                    plan,
                    template,
                    trigger,
                    record,
                    links.clone(),
                    changed,
                    occurrence,
                    chain,
                    email.clone(),
                )? {
                    started.push(id);
                }
                break;
            }
        }
        Ok(started)
    }

    #[allow(clippy::too_many_arguments)]
    fn try_trigger(
        &mut self,
        plan: &Arc<Plan>,
        template: &Template,
        trigger: &procc_plan::Trigger,
        record: &RecordRow,
        links: Links,
        changed: &[String],
        occurrence: &str,
        chain: Option<(InstanceId, u32)>,
        email: Option<TriggerEmail>,
    ) -> Result<Option<InstanceId>> {
        let key = format!(
            "trigger/{}/{}:{}/{occurrence}",
            template.name,
            module_name(record.module),
            record.id
        );
        if self.tx.key(&key)?.is_some() {
            return Ok(None);
        }
        let skip = |core: &mut Self, why: String| -> Result<Option<InstanceId>> {
            core.audit(
                None,
                None,
                SYSTEM,
                "trigger_skipped",
                format!(
                    "{} for {} {}: {why}",
                    template.name,
                    module_name(record.module),
                    record.id
                ),
            )?;
            Ok(None)
        };
        if let Some(filter) = &trigger.filter
            && !record.filters.contains(filter)
        {
            return Ok(None);
        }
        if let Some(condition) = &trigger.condition {
            match self.evaluate(plan, &links, changed, condition)? {
                Ok(Val::Bool(true)) => {}
                Ok(_) => return Ok(None),
                Err(reason) => return skip(self, format!("condition: {reason}")),
            }
        }
        let owner = match &trigger.owner {
            None | Some(Responsible::Owner) => record.text("supervisor").map(str::to_string),
            Some(Responsible::User(u)) => Some(u.clone()),
            Some(Responsible::Supervisor(r)) => {
                let m = record_module(*r);
                match links.get(m) {
                    Some(id) => self
                        .tx
                        .record(m, id)?
                        .and_then(|r| r.text("supervisor").map(str::to_string)),
                    None => None,
                }
            }
        };
        let Some(owner) = owner.filter(|o| self.user(plan, o).is_ok()) else {
            return skip(
                self,
                "no owner (the record has no supervisor who is a user)".into(),
            );
        };
        for need in &template.needs {
            if links.get(record_module(*need)).is_none() {
                return skip(
                    self,
                    format!("needs a linked {}", module_name(record_module(*need))),
                );
            }
        }
        if let Some((chain_id, _)) = chain {
            let today = local_date(self.now, self.tz(plan));
            let starts = self.tx.bump_counter(&format!("chain/{chain_id}/{today}"))?;
            if starts > self.config.loop_limit {
                return skip(self, "the chain started too often today".into());
            }
        }
        let controller = match &template.controller {
            Controller::Starter => Some(Contact::User(owner.clone())),
            Controller::User(u) => Some(Contact::User(u.clone())),
            Controller::Email(e) => Some(Contact::Email(e.clone())),
        };
        let id = self.start_instance(
            plan,
            template,
            &owner,
            links,
            StartedBy::Trigger {
                event: format!("{:?}", trigger.event),
            },
            controller,
            chain.map(|(c, d)| (c, d + 1)),
            email,
        )?;
        self.tx.put_key(&key, &id.to_string())?;
        Ok(Some(id))
    }

    fn daily_scan(&mut self, plan: &Arc<Plan>, date: NaiveDate) -> Result<Vec<InstanceId>> {
        let mut started = Vec::new();
        for template in &plan.templates {
            if !template.active {
                continue;
            }
            for trigger in &template.triggers {
                let TriggerEvent::Date {
                    module,
                    field,
                    offset_days,
                    ignore_year,
                } = &trigger.event
                else {
                    continue;
                };
                for record in self.tx.records(*module)? {
                    let Some(Val::Date(d)) = record
                        .fields
                        .get(field)
                        .and_then(|v| typed(FieldType::Date, v))
                    else {
                        continue;
                    };
                    let hit = if *ignore_year {
                        (date.year() - 1..=date.year() + 1).any(|y| {
                            in_year(d, y).is_some_and(|x| x + Duration::days(*offset_days) == date)
                        })
                    } else {
                        d + Duration::days(*offset_days) == date
                    };
                    if !hit {
                        continue;
                    }
                    let mut links = Links::default();
                    links.set(*module, Some(record.id.as_str().into()));
                    if let Some(id) = self.try_trigger(
                        plan,
                        template,
                        trigger,
                        &record,
                        links,
                        &[],
                        &format!("date/{date}"),
                        None,
                        None,
                    )? {
                        started.push(id);
                    }
                }
            }
        }
        Ok(started)
    }
}

/// The time zone the engine works in: the configured one, else the plan's first calendar's
/// (parsed once per engine: `plans` keeps it), else UTC.
fn time_zone(plans: &Mutex<PlanCache>, configured: Option<Tz>, plan: &Plan) -> Tz {
    if let Some(configured) = configured {
        return configured;
    }
    let Some(name) = plan.catalog.calendars.first().map(|c| c.time_zone.as_str()) else {
        return Tz::UTC;
    };
    let known = plans.lock().ok().and_then(|cache| {
        let zone = cache.zones.iter().find(|(known, _)| known == name);
        zone.map(|(_, tz)| *tz)
    });
    if let Some(tz) = known {
        return tz;
    }
    let tz = parse_tz(name).unwrap_or(Tz::UTC);
    if let Ok(mut cache) = plans.lock() {
        cache.zones.push((name.to_string(), tz));
    }
    tz
}

/// The date's month and day in year `y`; 29 February is 28 February in other years.
fn in_year(d: NaiveDate, y: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, d.month(), d.day())
        .or_else(|| NaiveDate::from_ymd_opt(y, d.month(), d.day() - 1))
}

fn field_type(plan: &Plan, module: Module, field: &str) -> Result<FieldType> {
    plan.catalog
        .modules
        .iter()
        .find(|m| m.module == module)
        .and_then(|m| m.fields.iter().find(|f| f.name == field))
        .map(|f| f.ty)
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "the plan has no field `{}.{field}`",
                module_name(module)
            ))
        })
}

fn action_name(action: &Action) -> &'static str {
    match action {
        Action::Task { .. } => "task",
        Action::Appointment { .. } => "appointment",
        Action::Resubmission { .. } => "resubmission",
        Action::AssignProject { .. } => "assign-project",
        Action::AssignAddress { .. } => "assign-address",
        Action::AssignProperty { .. } => "assign-property",
        _ => "step",
    }
}

/// The key that holds why an endpoint is disabled (empty: enabled again).
/// Why an automatic step that needs a linked record of `module` cannot run.
fn not_linked(module: Module) -> Error {
    Error::InvalidInput(format!(
        "no {} is linked to the process",
        module_name(module)
    ))
}

fn endpoint_key(endpoint: &str) -> String {
    format!("endpoint/{endpoint}")
}

/// The instance that details made as a JSON value name (`"instance"`), if any.
fn instance_named(details: &serde_json::Value) -> Option<InstanceId> {
    details.get("instance").and_then(serde_json::Value::as_u64)
}

/// An effect kind in words, for notices.
fn effect_name(kind: EffectKind) -> &'static str {
    match kind {
        EffectKind::Email => "e-mail",
        EffectKind::Sms => "SMS",
        EffectKind::Webhook => "webhook",
        EffectKind::Letter => "letter",
        EffectKind::Portal => "portal sync",
    }
}

#[cfg(test)]
mod tests {
    use super::Piece;

    #[test]
    fn joined_texts_take_exactly_their_length() {
        for n in [
            0u64,
            7,
            9,
            10,
            99,
            100,
            4_294_967_295,
            4_294_967_296,
            u64::MAX,
        ] {
            let small = n as u32;
            let text = join!("step ", n, "/", small, " of ", String::from("käse"));
            assert_eq!(text, format!("step {n}/{small} of käse"));
            assert_eq!(text.len(), text.capacity(), "{text}");
        }
    }
}
