//! Running one scenario: a fresh in-memory engine on a virtual clock, statement by statement.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use procc_diagnostics::{Code, Diagnostic, FileId, Span, code, did_you_mean};
use procc_plan::{Module, Plan, StepIndex};
use procc_runtime::{
    ArtefactKind, Clock, Engine, EngineConfig, InstanceId, InstanceStatus, Links, MemoryStore,
    OutboxRow, RecordEvent, RecordRow, RecordingConnector, StartRequest, StepInput, TriggerEmail,
    VirtualClock,
};

use crate::model::*;

/// Where the virtual clock stands before the first `at`: 1 January 2026, 09:00 local time.
pub(crate) fn default_start() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap_or_default()
        .and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default())
}

/// The time zone scenario times are written in: the first calendar's, else UTC.
pub(crate) fn time_zone(plan: &Plan) -> Tz {
    plan.catalog
        .calendars
        .first()
        .and_then(|c| c.time_zone.parse().ok())
        .unwrap_or(Tz::UTC)
}

/// Why a scenario stops: the statement cannot be carried out.
struct Stop(Box<Diagnostic>);

impl Stop {
    fn new(d: Diagnostic) -> Stop {
        Stop(Box::new(d))
    }
}

pub(crate) struct Run<'a> {
    plan: &'a Plan,
    file: FileId,
    tz: Tz,
    clock: VirtualClock,
    engine: Engine<MemoryStore>,
    connector: RecordingConnector,
    /// The instance actions and `expect instance` refer to.
    current: Option<InstanceId>,
    /// Failed expectations so far.
    pub(crate) failures: Vec<Diagnostic>,
}

impl<'a> Run<'a> {
    /// A fresh engine with the plan deployed, the clock at the default start.
    pub(crate) fn new(plan: &'a Plan, file: FileId, at: Span) -> Result<Run<'a>, Box<Diagnostic>> {
        let tz = time_zone(plan);
        let clock = VirtualClock::new(procc_runtime::resolve_local(tz, default_start()));
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let engine = Engine::new(MemoryStore::new(), shared, EngineConfig::default());
        engine.deploy(plan).map_err(|e| {
            Box::new(Diagnostic::new(
                code::SCENARIO_ACTION_REFUSED,
                file,
                at,
                format!("the runtime refused the plan: {e}"),
                "this scenario cannot run",
            ))
        })?;
        Ok(Run {
            plan,
            file,
            tz,
            clock,
            engine,
            connector: RecordingConnector::new(),
            current: None,
            failures: Vec::new(),
        })
    }

    /// Runs the statements in order; returns the diagnostic that stopped the run, if any.
    pub(crate) fn statements(&mut self, statements: &[Statement]) -> Option<Diagnostic> {
        for statement in statements {
            if let Err(Stop(d)) = self.statement(statement) {
                return Some(*d);
            }
        }
        None
    }

    fn diag(&self, code: Code, span: Span, message: String, label: &str) -> Diagnostic {
        Diagnostic::new(code, self.file, span, message, label)
    }

    fn refused(&self, span: Span, what: &str, error: impl std::fmt::Display) -> Stop {
        Stop::new(
            self.diag(
                code::SCENARIO_ACTION_REFUSED,
                span,
                format!("{what}: {error}"),
                "the runtime refused this",
            )
            .with_help("the scenario stops here; the statements after it did not run"),
        )
    }

    fn unknown<'c>(
        &self,
        span: Span,
        what: &str,
        name: &str,
        candidates: impl IntoIterator<Item = &'c str> + Clone,
    ) -> Stop {
        let d = self.diag(
            code::SCENARIO_UNKNOWN_NAME,
            span,
            format!("there is no {what} `{name}`"),
            &format!("unknown {what}"),
        );
        let help = did_you_mean(name, candidates.clone())
            .map(|s| format!("did you mean `{s}`?"))
            .or_else(|| {
                let all: Vec<&str> = candidates.into_iter().take(12).collect();
                (!all.is_empty()).then(|| format!("known: {}", quote_list(&all)))
            });
        Stop::new(d.with_help_opt(help))
    }

    fn settle(&self, span: Span) -> Result<(), Stop> {
        self.engine
            .fire_due()
            .map_err(|e| self.refused(span, "firing due timers failed", e))?;
        self.engine
            .dispatch(&self.connector)
            .map_err(|e| self.refused(span, "delivering effects failed", e))?;
        Ok(())
    }

    fn local(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.tz)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    fn user(&self, who: &Spanned<String>) -> Result<String, Stop> {
        if self.plan.catalog.users.iter().any(|u| u.id == who.value) {
            Ok(who.value.clone())
        } else {
            Err(self.unknown(
                who.span,
                "user",
                &who.value,
                self.plan.catalog.users.iter().map(|u| u.id.as_str()),
            ))
        }
    }

    fn check_fields(&self, module: Module, fields: &[Field]) -> Result<(), Stop> {
        let Some(schema) = self
            .plan
            .catalog
            .modules
            .iter()
            .find(|m| m.module == module)
        else {
            return Ok(());
        };
        for f in fields {
            let name = f.name.value.as_str();
            if name == "filter" || schema.fields.iter().any(|x| x.name == name) {
                continue;
            }
            if ["id", "status", "supervisor", "email", "mobile"].contains(&name) {
                continue;
            }
            return Err(self.unknown(
                f.name.span,
                &format!("{} field", module_word(module)),
                name,
                schema.fields.iter().map(|x| x.name.as_str()),
            ));
        }
        Ok(())
    }

    fn apply_fields(record: &mut RecordRow, fields: &[Field]) {
        for f in fields {
            if f.name.value == "filter" {
                if let Value::Text(filter) = &f.value.value
                    && !record.filters.contains(filter)
                {
                    record.filters.push(filter.clone());
                }
                continue;
            }
            record
                .fields
                .insert(f.name.value.clone(), f.value.value.to_json());
        }
    }

    fn existing_record(&self, module: Module, id: &Spanned<String>) -> Result<RecordRow, Stop> {
        match self.engine.record(module, &id.value) {
            Ok(Some(r)) => Ok(r),
            Ok(None) => Err(Stop::new(
                self.diag(
                    code::SCENARIO_UNKNOWN_NAME,
                    id.span,
                    format!("there is no {} `{}`", module_word(module), id.value),
                    "unknown record",
                )
                .with_help(format!(
                    "create it first: `record {} {} {{ ... }}`",
                    module_word(module),
                    id.value
                )),
            )),
            Err(e) => Err(self.refused(id.span, "reading the record failed", e)),
        }
    }

    /// Every instance started so far, by id.
    fn instances(&self) -> Vec<procc_runtime::InstanceView> {
        let mut all = Vec::new();
        for id in 1.. {
            match self.engine.instance(id) {
                Ok(view) => all.push(view),
                Err(_) => break,
            }
        }
        all
    }

    /// The instance and index of a named step: the current instance's template first, then the
    /// newest other instance whose template has the step.
    fn step(&self, name: &Spanned<String>) -> Result<(InstanceId, StepIndex), Stop> {
        let Some(current) = self.current else {
            return Err(Stop::new(
                self.diag(
                    code::SCENARIO_ACTION_REFUSED,
                    name.span,
                    "no process is running yet".to_string(),
                    "which process is this step of?",
                )
                .with_help("start one first: `start TEMPLATE owner \"user\" property P1`"),
            ));
        };
        let mut order: Vec<procc_runtime::InstanceView> = self.instances();
        order.sort_by_key(|v| (v.instance.id != current, std::cmp::Reverse(v.instance.id)));
        let mut names: Vec<&str> = Vec::new();
        for view in &order {
            if let Some(t) = self.plan.template(&view.instance.template)
                && let Some(i) = t.steps.iter().position(|s| s.name == name.value)
            {
                return Ok((view.instance.id, i as StepIndex));
            }
        }
        if let Some(t) = order
            .first()
            .and_then(|v| self.plan.template(&v.instance.template))
        {
            names = t.steps.iter().map(|s| s.name.as_str()).collect();
        }
        Err(self.unknown(name.span, "step", &name.value, names))
    }

    fn responsible_or_owner(&self, instance: InstanceId, step: StepIndex) -> String {
        match self.engine.instance(instance) {
            Ok(view) => view
                .steps
                .iter()
                .find(|s| s.index == step)
                .and_then(|s| s.responsible.clone())
                .unwrap_or(view.instance.owner),
            Err(_) => String::new(),
        }
    }

    fn owner_of(&self, instance: InstanceId) -> String {
        self.engine
            .instance(instance)
            .map(|v| v.instance.owner)
            .unwrap_or_default()
    }

    fn started(&mut self, ids: Vec<InstanceId>) {
        if let Some(first) = ids.first() {
            self.current = Some(*first);
        }
    }

    fn statement(&mut self, statement: &Statement) -> Result<(), Stop> {
        let span = statement.span;
        match &statement.kind {
            StatementKind::At { date, time } => {
                let until = procc_runtime::resolve_local(self.tz, date.and_time(*time));
                let now = self.clock.now();
                if until < now {
                    return Err(Stop::new(
                        self.diag(
                            code::SCENARIO_ACTION_REFUSED,
                            span,
                            "time cannot go backwards".to_string(),
                            "earlier than the clock",
                        )
                        .with_help(format!("the clock stands at {}", self.local(now))),
                    ));
                }
                self.engine
                    .advance_to(&self.clock, until, Some(&self.connector))
                    .map_err(|e| self.refused(span, "advancing the clock failed", e))?;
            }
            StatementKind::Advance { minutes } => {
                let until = self.clock.now() + Duration::minutes(*minutes);
                self.engine
                    .advance_to(&self.clock, until, Some(&self.connector))
                    .map_err(|e| self.refused(span, "advancing the clock failed", e))?;
            }
            StatementKind::Record { module, id, fields } => {
                self.check_fields(*module, fields)?;
                let mut record = RecordRow::new(*module, &id.value);
                Self::apply_fields(&mut record, fields);
                self.engine
                    .put_record(&record)
                    .map_err(|e| self.refused(span, "storing the record failed", e))?;
            }
            StatementKind::Set { module, id, field } => {
                let fields = std::slice::from_ref(field);
                self.check_fields(*module, fields)?;
                let mut record = self.existing_record(*module, id)?;
                Self::apply_fields(&mut record, fields);
                self.engine
                    .put_record(&record)
                    .map_err(|e| self.refused(span, "storing the record failed", e))?;
            }
            StatementKind::Save { module, id, fields } => {
                self.check_fields(*module, fields)?;
                let mut record = self.existing_record(*module, id)?;
                Self::apply_fields(&mut record, fields);
                let changed = fields
                    .iter()
                    .filter(|f| f.name.value != "filter")
                    .map(|f| f.name.value.clone())
                    .collect();
                let ids = self
                    .engine
                    .record_event(&RecordEvent::Saved { record, changed }, &occurrence(span))
                    .map_err(|e| self.refused(span, "saving the record failed", e))?;
                self.started(ids);
                self.settle(span)?;
            }
            StatementKind::Event { module, id, event } => {
                let record = self.existing_record(*module, id)?;
                let event = match event {
                    EventKind::Saved { changed } => RecordEvent::Saved {
                        record,
                        changed: changed.iter().map(|c| c.value.clone()).collect(),
                    },
                    EventKind::Status(value) => RecordEvent::StatusSet {
                        module: *module,
                        id: id.value.clone(),
                        value: value.clone(),
                    },
                    EventKind::Email { .. } | EventKind::Activity { .. }
                        if *module != Module::Address =>
                    {
                        return Err(self.refused(
                            id.span,
                            "this event cannot happen",
                            "e-mails and activities are received on addresses",
                        ));
                    }
                    EventKind::Email {
                        subject,
                        from,
                        feature,
                        property,
                    } => RecordEvent::EmailReceived {
                        address: id.value.clone(),
                        property: property.clone(),
                        email: TriggerEmail {
                            id: occurrence(span),
                            from: from.clone().unwrap_or_default(),
                            subject: subject.clone(),
                        },
                        feature: feature.clone(),
                    },
                    EventKind::Activity {
                        kind,
                        activity_type,
                        feature,
                        property,
                    } => RecordEvent::ActivityReceived {
                        address: id.value.clone(),
                        property: property.clone(),
                        kind: kind.clone(),
                        activity_type: activity_type.clone(),
                        feature: feature.clone(),
                    },
                };
                let ids = self
                    .engine
                    .record_event(&event, &occurrence(span))
                    .map_err(|e| self.refused(span, "the event failed", e))?;
                self.started(ids);
                self.settle(span)?;
            }
            StatementKind::Scan => {
                let today = self.clock.now().with_timezone(&self.tz).date_naive();
                let ids = self
                    .engine
                    .daily_scan(today)
                    .map_err(|e| self.refused(span, "the daily scan failed", e))?;
                self.started(ids);
                self.settle(span)?;
            }
            StatementKind::Start {
                template,
                owner,
                links,
                by,
            } => {
                if self.plan.template(&template.value).is_none() {
                    return Err(self.unknown(
                        template.span,
                        "template",
                        &template.value,
                        self.plan.templates.iter().map(|t| t.name.as_str()),
                    ));
                }
                let owner = match owner {
                    Some(o) => Some(self.user(o)?),
                    None => None,
                };
                let by = match by {
                    Some(b) => Some(self.user(b)?),
                    None => None,
                };
                let first = self
                    .plan
                    .catalog
                    .users
                    .first()
                    .map(|u| u.id.clone())
                    .unwrap_or_default();
                let owner = owner.or_else(|| by.clone()).unwrap_or(first);
                let mut l = Links::default();
                for (module, id) in links {
                    self.existing_record(*module, id)?;
                    l.set(*module, Some(id.value.as_str().into()));
                }
                let request = StartRequest {
                    template: template.value.clone(),
                    owner: owner.clone(),
                    links: l,
                    started_by: by.unwrap_or(owner),
                    idempotency_key: None,
                    email: None,
                };
                let id = self
                    .engine
                    .start(&request)
                    .map_err(|e| self.refused(span, "the process did not start", e))?;
                self.current = Some(id);
                self.settle(span)?;
            }
            StatementKind::Complete { step, by, with } => {
                let (instance, index) = self.step(step)?;
                let by = match by {
                    Some(b) => self.user(b)?,
                    None => self.responsible_or_owner(instance, index),
                };
                let task = self
                    .engine
                    .instance(instance)
                    .ok()
                    .and_then(|v| v.steps.into_iter().find(|s| s.index == index))
                    .and_then(|s| s.task);
                let result = match (task, with) {
                    (Some(task), None) => self.engine.complete_task(task, &by),
                    _ => {
                        let input = match with {
                            Some(v) => StepInput::value(v.value.to_json()),
                            None => StepInput::default(),
                        };
                        self.engine.complete_step(instance, index, &by, &input)
                    }
                };
                result.map_err(|e| {
                    self.refused(span, &format!("step `{}` was not completed", step.value), e)
                })?;
                self.settle(span)?;
            }
            StatementKind::Answer {
                step,
                yes,
                by,
                via_link,
            } => {
                let (instance, index) = self.step(step)?;
                let by = match by {
                    Some(b) => self.user(b)?,
                    None => self.responsible_or_owner(instance, index),
                };
                let what = format!("decision `{}` was not answered", step.value);
                if *via_link {
                    let (yes_token, no_token) = self
                        .engine
                        .decision_tokens(instance, index)
                        .map_err(|e| self.refused(span, &what, e))?;
                    let token = if *yes { yes_token } else { no_token };
                    self.engine
                        .decide_by_token(&token)
                        .map_err(|e| self.refused(span, &what, e))?;
                } else {
                    self.engine
                        .complete_step(instance, index, &by, &StepInput::answer(*yes))
                        .map_err(|e| self.refused(span, &what, e))?;
                }
                self.settle(span)?;
            }
            StatementKind::Skip { step, by } => {
                let (instance, index) = self.step(step)?;
                let by = match by {
                    Some(b) => self.user(b)?,
                    None => self.owner_of(instance),
                };
                self.engine.skip(instance, index, &by).map_err(|e| {
                    self.refused(span, &format!("step `{}` was not skipped", step.value), e)
                })?;
                self.settle(span)?;
            }
            StatementKind::Cancel { by } => {
                let Some(instance) = self.current else {
                    return Err(self.refused(span, "nothing to cancel", "no process was started"));
                };
                let by = match by {
                    Some(b) => self.user(b)?,
                    None => self.owner_of(instance),
                };
                self.engine
                    .cancel(instance, &by)
                    .map_err(|e| self.refused(span, "the process was not cancelled", e))?;
                self.settle(span)?;
            }
            StatementKind::Reassign {
                step,
                to,
                following,
                by,
            } => {
                let (instance, index) = self.step(step)?;
                let to = self.user(to)?;
                let by = match by {
                    Some(b) => self.user(b)?,
                    None => self.owner_of(instance),
                };
                self.engine
                    .reassign(instance, index, &to, *following, &by)
                    .map_err(|e| {
                        self.refused(
                            span,
                            &format!("step `{}` was not reassigned", step.value),
                            e,
                        )
                    })?;
                self.settle(span)?;
            }
            StatementKind::Expect(expectation) => {
                // An expectation changes nothing: after a failed one, or one with an unknown
                // name, the scenario goes on.
                match self.expect(span, expectation) {
                    Ok(None) => {}
                    Ok(Some(failure)) => self.failures.push(failure),
                    Err(Stop(failure)) => self.failures.push(*failure),
                }
            }
        }
        Ok(())
    }

    fn failed(&self, span: Span, expected: String, actual: String) -> Diagnostic {
        self.diag(
            code::EXPECTATION_FAILED,
            span,
            format!("expected {expected}"),
            "this expectation does not hold",
        )
        .with_help(format!("actual: {actual}"))
    }

    /// Checks an expectation: `Ok(Some(_))` when it does not hold.
    fn expect(&self, span: Span, expectation: &Expectation) -> Result<Option<Diagnostic>, Stop> {
        match expectation {
            Expectation::Step { step, state, user } => {
                let (instance, index) = self.step(step)?;
                if let Some(u) = user {
                    self.user(u)?;
                }
                let view = self
                    .engine
                    .instance(instance)
                    .map_err(|e| self.refused(span, "reading the process failed", e))?;
                let row = view.steps.iter().find(|s| s.index == index);
                let actual_state = match row {
                    None => StepState::Unreached,
                    Some(r) => match r.state {
                        procc_runtime::StepState::Scheduled { .. } => StepState::Scheduled,
                        procc_runtime::StepState::Active => StepState::Active,
                        procc_runtime::StepState::Done => StepState::Done,
                        procc_runtime::StepState::Skipped => StepState::Skipped,
                        procc_runtime::StepState::Cancelled => StepState::Cancelled,
                    },
                };
                let degraded = row.and_then(|r| r.degraded.clone());
                let state_ok = match state {
                    StepState::Degraded => degraded.is_some(),
                    s => *s == actual_state,
                };
                let responsible = row.and_then(|r| r.responsible.clone());
                let user_ok = user
                    .as_ref()
                    .is_none_or(|u| responsible.as_deref() == Some(u.value.as_str()));
                if state_ok && user_ok {
                    return Ok(None);
                }
                let expected = format!(
                    "step `{}` {}{}",
                    step.value,
                    state.word(),
                    user.as_ref()
                        .map(|u| format!(" for `{}`", u.value))
                        .unwrap_or_default()
                );
                let mut actual = format!("step `{}` is {}", step.value, actual_state.word());
                if let Some(procc_runtime::StepState::Scheduled { at }) = row.map(|r| &r.state) {
                    actual.push_str(&format!(" until {}", self.local(*at)));
                }
                if let Some(r) = &responsible {
                    actual.push_str(&format!(" for `{r}`"));
                }
                if let Some(reason) = degraded {
                    actual.push_str(&format!(" (degraded to manual: {reason})"));
                }
                Ok(Some(self.failed(span, expected, actual)))
            }
            Expectation::Instance(state) => {
                let Some(id) = self.current else {
                    return Ok(Some(self.failed(
                        span,
                        format!("a process {}", state.word()),
                        "no process was started".to_string(),
                    )));
                };
                let view = self
                    .engine
                    .instance(id)
                    .map_err(|e| self.refused(span, "reading the process failed", e))?;
                Ok(self.instance_state(span, &view.instance, *state, "the process"))
            }
            Expectation::Process { template, state } => {
                if self.plan.template(&template.value).is_none() {
                    return Err(self.unknown(
                        template.span,
                        "template",
                        &template.value,
                        self.plan.templates.iter().map(|t| t.name.as_str()),
                    ));
                }
                let latest = self
                    .instances()
                    .into_iter()
                    .rev()
                    .find(|v| v.instance.template == template.value);
                match latest {
                    Some(view) => Ok(self.instance_state(
                        span,
                        &view.instance,
                        *state,
                        &format!("process `{}`", template.value),
                    )),
                    None => Ok(Some(self.failed(
                        span,
                        format!("process `{}` {}", template.value, state.word()),
                        format!("no `{}` process was started", template.value),
                    ))),
                }
            }
            Expectation::Inbox { user, has } => {
                let who = self.user(user)?;
                let entries = self
                    .engine
                    .inbox(&who)
                    .map_err(|e| self.refused(span, "reading the inbox failed", e))?;
                let names: Vec<&str> = entries.iter().map(|e| e.step_name.as_str()).collect();
                let holds = match has {
                    Some(step) => names.contains(&step.value.as_str()),
                    None => names.is_empty(),
                };
                if holds {
                    return Ok(None);
                }
                let expected = match has {
                    Some(step) => format!("the inbox of `{who}` to have `{}`", step.value),
                    None => format!("the inbox of `{who}` to be empty"),
                };
                let actual = if names.is_empty() {
                    "the inbox is empty".to_string()
                } else {
                    format!("the inbox has {}", quote_list(&names))
                };
                Ok(Some(self.failed(span, expected, actual)))
            }
            Expectation::Count { what, count } => {
                let actual = match what {
                    Counted::Processes => self.instances().len(),
                    Counted::Effects(kind) => self.effects(*kind).len(),
                    Counted::Created(kind) => {
                        let want = match kind {
                            Created::Tasks => ArtefactKind::Task,
                            Created::Appointments => ArtefactKind::Appointment,
                            Created::Resubmissions => ArtefactKind::Resubmission,
                            Created::Activities => ArtefactKind::Activity,
                        };
                        self.instances()
                            .iter()
                            .flat_map(|v| v.artefacts.iter())
                            .filter(|a| a.kind == want)
                            .count()
                    }
                };
                if actual == *count as usize {
                    return Ok(None);
                }
                let mut detail = counted(actual, *what);
                if *what == Counted::Processes {
                    let skipped: Vec<String> = self
                        .engine
                        .audit()
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|a| a.event == "trigger_skipped")
                        .map(|a| a.detail)
                        .collect();
                    if !skipped.is_empty() {
                        detail.push_str("; triggers that matched but started nothing: ");
                        detail.push_str(&skipped.join("; "));
                    }
                }
                if let Counted::Effects(kind) = what {
                    let sent = self.effects(*kind);
                    if !sent.is_empty() {
                        detail.push_str(": ");
                        detail.push_str(&describe_effects(&sent));
                    }
                }
                Ok(Some(self.failed(
                    span,
                    counted(*count as usize, *what),
                    detail,
                )))
            }
            Expectation::Effect {
                kind,
                target,
                to,
                template,
                subject,
                times,
            } => {
                if let Some(t) = to
                    && matches!(kind, EffectKind::Email | EffectKind::Sms)
                    && !t.value.contains('@')
                    && !t.value.starts_with('+')
                {
                    // Neither an address nor a number: a user id, which must exist.
                    self.user(t)?;
                }
                let sent = self.effects(*kind);
                let to_address = to.as_ref().map(|t| self.address_of(*kind, &t.value));
                let matching: Vec<&OutboxRow> = sent
                    .iter()
                    .filter(|e| {
                        target.as_ref().is_none_or(|t| {
                            e.to == t.value
                                || e.payload.get("service").and_then(|s| s.as_str())
                                    == Some(t.value.as_str())
                                || e.payload.get("template").and_then(|s| s.as_str())
                                    == Some(t.value.as_str())
                        })
                    })
                    .filter(|e| to_address.as_ref().is_none_or(|t| &e.to == t))
                    .filter(|e| {
                        template.as_ref().is_none_or(|t| {
                            e.payload.get("template").and_then(|s| s.as_str())
                                == Some(t.value.as_str())
                        })
                    })
                    .filter(|e| {
                        subject.as_ref().is_none_or(|s| {
                            e.payload
                                .get("subject")
                                .and_then(|x| x.as_str())
                                .is_some_and(|x| x.contains(&s.value))
                        })
                    })
                    .collect();
                let holds = match times {
                    Some(n) => matching.len() == *n as usize,
                    None => !matching.is_empty(),
                };
                if holds {
                    return Ok(None);
                }
                let mut expected = kind.word().to_string();
                if let Some(t) = target {
                    expected.push_str(&format!(" `{}`", t.value));
                }
                if let Some(t) = &to_address {
                    expected.push_str(&format!(" to `{t}`"));
                }
                if let Some(t) = template {
                    expected.push_str(&format!(" with template `{}`", t.value));
                }
                if let Some(s) = subject {
                    expected.push_str(&format!(" with subject containing `{}`", s.value));
                }
                match times {
                    Some(1) => expected.push_str(" exactly once"),
                    Some(n) => expected.push_str(&format!(" exactly {n} times")),
                    None => expected.push_str(" at least once"),
                }
                let actual = match (matching.len(), sent.len()) {
                    (_, 0) => format!("no {} was sent", kind.word()),
                    (0, _) => format!("none matched; sent: {}", describe_effects(&sent)),
                    (n, _) => format!(
                        "{n} matched: {}",
                        describe_effects(&matching.into_iter().cloned().collect::<Vec<_>>())
                    ),
                };
                Ok(Some(self.failed(span, expected, actual)))
            }
            Expectation::Field {
                module,
                id,
                field,
                value,
            } => {
                let record = self.existing_record(*module, id)?;
                let actual = record.fields.get(&field.value).filter(|v| !v.is_null());
                let expected_json = value.as_ref().map(|v| v.value.to_json());
                let holds = match (&expected_json, actual) {
                    (None, None) => true,
                    (Some(e), Some(a)) => same_value(e, a),
                    _ => false,
                };
                if holds {
                    return Ok(None);
                }
                let expected = format!(
                    "{} `{}` field `{}` {}",
                    module_word(*module),
                    id.value,
                    field.value,
                    expected_json.map_or("unset".to_string(), |v| format!("= {v}"))
                );
                let actual = actual.map_or("the field is unset".to_string(), |v| format!("{v}"));
                Ok(Some(self.failed(span, expected, actual)))
            }
        }
    }

    fn instance_state(
        &self,
        span: Span,
        row: &procc_runtime::InstanceRow,
        state: InstanceState,
        what: &str,
    ) -> Option<Diagnostic> {
        let holds = match state {
            InstanceState::Completed => row.status == InstanceStatus::Completed,
            InstanceState::Cancelled => row.status == InstanceStatus::Cancelled,
            InstanceState::Running => row.status.is_running(),
            InstanceState::Waiting => row.status == InstanceStatus::RunningWaiting,
            InstanceState::Due => row.status == InstanceStatus::RunningDue,
        };
        if holds {
            return None;
        }
        let mut actual = format!("{what} is {}", row.status.name());
        if let (Some(by), Some(at)) = (&row.cancelled_by, row.cancelled_at) {
            actual.push_str(&format!(" by `{by}` at {}", self.local(at)));
        }
        Some(self.failed(span, format!("{what} {}", state.word()), actual))
    }

    /// The effects of a kind delivered so far, in order.
    fn effects(&self, kind: EffectKind) -> Vec<OutboxRow> {
        let want = match kind {
            EffectKind::Email => procc_runtime::EffectKind::Email,
            EffectKind::Sms => procc_runtime::EffectKind::Sms,
            EffectKind::Webhook => procc_runtime::EffectKind::Webhook,
            EffectKind::Letter => procc_runtime::EffectKind::Letter,
            EffectKind::Portal => procc_runtime::EffectKind::Portal,
        };
        self.connector
            .delivered()
            .into_iter()
            .filter(|e| e.kind == want)
            .collect()
    }

    /// A user id stands for the user's e-mail address (e-mails) or mobile number (SMS).
    fn address_of(&self, kind: EffectKind, to: &str) -> String {
        let user = self.plan.catalog.users.iter().find(|u| u.id == to);
        match (user, kind) {
            (Some(u), EffectKind::Sms) => u.mobile.clone().unwrap_or_else(|| to.to_string()),
            (Some(u), _) => u.email.clone(),
            (None, _) => to.to_string(),
        }
    }
}

/// `1 e-mail`, `2 e-mails`, `0 processes`.
fn counted(n: usize, what: Counted) -> String {
    let (one, many) = match what {
        Counted::Processes => ("process", "processes"),
        Counted::Effects(EffectKind::Email) => ("e-mail", "e-mails"),
        Counted::Effects(EffectKind::Sms) => ("text message", "text messages"),
        Counted::Effects(EffectKind::Webhook) => ("webhook call", "webhook calls"),
        Counted::Effects(EffectKind::Letter) => ("letter", "letters"),
        Counted::Effects(EffectKind::Portal) => ("portal update", "portal updates"),
        Counted::Created(Created::Tasks) => ("task", "tasks"),
        Counted::Created(Created::Appointments) => ("appointment", "appointments"),
        Counted::Created(Created::Resubmissions) => ("resubmission", "resubmissions"),
        Counted::Created(Created::Activities) => ("activity entry", "activity entries"),
    };
    format!("{n} {}", if n == 1 { one } else { many })
}

fn same_value(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() < 1e-9,
        _ => a == b,
    }
}

fn describe_effects(effects: &[OutboxRow]) -> String {
    let mut parts: Vec<String> = effects
        .iter()
        .take(6)
        .map(|e| {
            let mut s = format!("to `{}`", e.to);
            for key in ["service", "template", "action", "subject"] {
                if let Some(v) = e.payload.get(key).and_then(|v| v.as_str()) {
                    s.push_str(&format!(" {key} {v:?}"));
                }
            }
            s
        })
        .collect();
    if effects.len() > 6 {
        parts.push(format!("and {} more", effects.len() - 6));
    }
    parts.join("; ")
}

fn quote_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn module_word(m: Module) -> &'static str {
    match m {
        Module::Address => "address",
        Module::Property => "property",
        Module::Project => "project",
    }
}

/// The CRM's id of an event raised by a statement: stable across runs.
fn occurrence(span: Span) -> String {
    format!("scenario@{}", span.start())
}
