//! The checks of one process: step names and jumps, catalog references, records and projects,
//! values and types, and (through [`crate::flow`]) the flow graph.

use std::collections::{HashMap, HashSet};

use procc_catalog::{FieldType, ParameterValues};
use procc_diagnostics::{Code, Diagnostic, FileId, Span, code};
use procc_syntax::ast::{
    Channel, Controller, Deadline, DecisionMode, Delay, Expr, ExprKind, FieldPath, Ident, Literal,
    Module, Pool, Process, Recipient, Record, Responsible, ResponsibleKind, RungAction, SendMode,
    SmsRecipient, SmsSender, SmsText, Step, StepKind, Text, TimeUnit, Trigger, TriggerEvent,
    Webhook,
};

use crate::ctx::{
    Ctx, RECORDS, a_record, assign_kind, catalog_module, name_list, record_of_catalog_module,
    record_of_module, ri,
};
use crate::expr::{Scope, Ty, Typer, Use, a_ty, field_ty, fits, unknown_field, unknown_filter};
use crate::flow::{Facts, Target, Targets, build_graph, check_flow, facts};

/// The longest SMS text: two messages.
const SMS_MAX_CHARS: usize = 320;

/// The processes of the whole project, by name (first definitions only).
pub(crate) struct ProjectIndex<'a> {
    /// First definitions, in file order.
    pub(crate) procs: Vec<(FileId, &'a Process)>,
    /// Name to position in `procs`.
    pub(crate) by_name: HashMap<&'a str, usize>,
}

impl<'a> ProjectIndex<'a> {
    /// The process with this name.
    pub(crate) fn get(&self, name: &str) -> Option<(FileId, &'a Process)> {
        self.by_name
            .get(name)
            .and_then(|&i| self.procs.get(i))
            .copied()
    }
}

/// Whether a record is linked at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// On every path.
    Yes,
    /// On some paths only.
    SomePaths,
    /// On no path.
    No,
    /// Not known (the step is unreachable or the process has unreadable steps).
    Unknown,
}

/// Checks one process.
pub(crate) struct ProcChecker<'a, 'c> {
    ctx: &'c mut Ctx<'a>,
    file: FileId,
    p: &'a Process,
    index: &'c ProjectIndex<'a>,
    steps: HashMap<&'a str, usize>,
    needs: [Option<Span>; 2],
    first_assign: [Option<usize>; 2],
    facts: Option<Facts>,
    /// Per step or trigger: records already reported as not linked.
    reported: [bool; 2],
    /// Per step: the missing project already reported.
    reported_project: bool,
}

impl<'a, 'c> ProcChecker<'a, 'c> {
    pub(crate) fn new(
        ctx: &'c mut Ctx<'a>,
        file: FileId,
        p: &'a Process,
        index: &'c ProjectIndex<'a>,
    ) -> Self {
        ProcChecker {
            ctx,
            file,
            p,
            index,
            steps: HashMap::with_capacity(p.steps.len()),
            needs: [None; 2],
            first_assign: [None; 2],
            facts: None,
            reported: [false; 2],
            reported_project: false,
        }
    }

    fn emit(&mut self, d: Diagnostic) {
        self.ctx.emit(d);
    }

    fn diag(
        &self,
        code: Code,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::new(code, self.file, span, message, label)
    }

    pub(crate) fn run(mut self) {
        let p = self.p;
        let pname = p.name.name.as_str();
        if p.steps.is_empty() && p.unreadable_steps.is_empty() {
            let d = self
                .diag(
                    code::EMPTY_PROCESS,
                    p.name.span,
                    format!("process `{pname}` has no steps"),
                    "no steps",
                )
                .with_help(format!(
                    "add a step, like `step first: task \"...\"`, or remove process `{pname}`"
                ));
            self.emit(d);
        }
        self.index_steps();
        let unreadable: HashSet<&str> =
            p.unreadable_steps.iter().map(|s| s.name.as_str()).collect();
        let targets: Vec<Targets> = p
            .steps
            .iter()
            .map(|s| self.targets(s, &unreadable))
            .collect();
        if unreadable.is_empty() && !p.steps.is_empty() {
            let g = build_graph(p, &targets);
            let preds = g.preds();
            let facts = facts(p, &g, &preds);
            let unresolved = targets.iter().any(|t| {
                matches!(t.first, Some(Target::Unresolved))
                    || matches!(t.second, Some(Target::Unresolved))
            });
            check_flow(self.ctx, self.file, p, &g, &preds, &facts, unresolved);
            self.facts = Some(facts);
        }
        for n in &p.needs {
            let slot = &mut self.needs[ri(n.value)];
            if slot.is_none() {
                *slot = Some(n.span);
            }
        }
        for (i, s) in p.steps.iter().enumerate() {
            for r in 0..2 {
                if self.first_assign[r].is_none() && crate::flow::assigns(s, r) {
                    self.first_assign[r] = Some(i);
                }
            }
        }
        self.process_settings();
        for t in &p.triggers {
            self.trigger(t);
        }
        for (i, s) in p.steps.iter().enumerate() {
            self.step(i, s);
        }
    }

    // ----- names ----------------------------------------------------------------------------

    fn index_steps(&mut self) {
        let p = self.p;
        for (i, s) in p.steps.iter().enumerate() {
            match self.steps.get(s.name.name.as_str()) {
                Some(&first) => {
                    let first_span = p.steps.get(first).map_or(s.name.span, |f| f.name.span);
                    let d = self
                        .diag(
                            code::DUPLICATE_STEP,
                            s.name.span,
                            format!(
                                "process `{}` has two steps named `{}`",
                                p.name.name, s.name.name
                            ),
                            "second step with this name",
                        )
                        .with_label(first_span, "first step with this name")
                        .with_help("rename one of them; jumps go to the first");
                    self.emit(d);
                }
                None => {
                    self.steps.insert(s.name.name.as_str(), i);
                }
            }
        }
    }

    fn targets(&mut self, s: &'a Step, unreadable: &HashSet<&str>) -> Targets {
        match &s.kind {
            StepKind::Decision(d) => {
                if d.yes.is_none() || d.no.is_none() {
                    self.missing_branch(s, d.yes.is_none(), d.no.is_none());
                }
                let yes = d
                    .yes
                    .as_ref()
                    .map(|t| self.resolve(s, t, "yes", unreadable));
                let no = d.no.as_ref().map(|t| self.resolve(s, t, "no", unreadable));
                Targets {
                    first: yes,
                    second: no,
                }
            }
            _ => Targets {
                first: s
                    .header
                    .next
                    .as_ref()
                    .map(|t| self.resolve(s, t, "next", unreadable)),
                second: None,
            },
        }
    }

    fn resolve(
        &mut self,
        s: &'a Step,
        target: &'a Ident,
        how: &str,
        unreadable: &HashSet<&str>,
    ) -> Target {
        if let Some(&j) = self.steps.get(target.name.as_str()) {
            return Target::Step(j);
        }
        if !unreadable.contains(target.name.as_str()) {
            let p = self.p;
            let suggestion = self
                .ctx
                .suggest(&target.name, p.steps.iter().map(|s| s.name.name.as_str()));
            let help = match suggestion {
                Some(x) => format!("did you mean `{x}`?"),
                None if p.steps.len() <= 12 => {
                    format!(
                        "the steps of process `{}` are: {}",
                        p.name.name,
                        name_list(p.steps.iter().map(|s| s.name.name.as_str()), 12)
                    )
                }
                None => format!(
                    "add a step named `{}` to process `{}`",
                    target.name, p.name.name
                ),
            };
            let message = match how {
                "next" => format!(
                    "step `{}` goes next to `{}`, but process `{}` has no such step",
                    s.name.name, target.name, p.name.name
                ),
                _ => format!(
                    "the `{how}` branch of decision `{}` goes to `{}`, but process `{}` has no such step",
                    s.name.name, target.name, p.name.name
                ),
            };
            let d = self
                .diag(code::UNKNOWN_STEP, target.span, message, "unknown step")
                .with_help(help);
            self.emit(d);
        }
        Target::Unresolved
    }

    fn missing_branch(&mut self, s: &'a Step, yes: bool, no: bool) {
        let p = self.p;
        let pos = self.steps.get(s.name.name.as_str()).copied().unwrap_or(0);
        let next = p
            .steps
            .get(pos + 1)
            .map_or("end_step", |n| n.name.name.as_str());
        let (message, help) = match (yes, no) {
            (true, true) => (
                format!(
                    "decision `{}` has neither a `yes` nor a `no` branch",
                    s.name.name
                ),
                format!("add `yes -> <step>` and `no -> {next}`"),
            ),
            (true, false) => (
                format!("decision `{}` has no `yes` branch", s.name.name),
                format!("add `yes -> {next}`"),
            ),
            _ => (
                format!("decision `{}` has no `no` branch", s.name.name),
                format!("add `no -> {next}`"),
            ),
        };
        let d = self
            .diag(
                code::DECISION_MISSING_BRANCH,
                s.name.span,
                message,
                "decision",
            )
            .with_help(help);
        self.emit(d);
    }

    // ----- catalog lookups -------------------------------------------------------------------

    /// Reports an id the catalog does not declare.
    fn unknown<'n>(
        &mut self,
        code: Code,
        what: &str,
        id: &str,
        span: Span,
        candidates: impl IntoIterator<Item = &'n str>,
        table: &str,
    ) {
        let suggestion = self.ctx.suggest(id, candidates);
        let help = match suggestion {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("declare it under `{table}` in procc.toml"),
        };
        let d = self
            .diag(
                code,
                span,
                format!("unknown {what} `{id}`"),
                "not declared in the project file",
            )
            .with_help(help);
        self.emit(d);
    }

    fn user(&mut self, t: &Text) {
        let catalog = self.ctx.catalog;
        if catalog.user(&t.value).is_none() {
            self.unknown(
                code::UNKNOWN_USER,
                "user",
                &t.value,
                t.span,
                catalog.user_ids(),
                "[[users]]",
            );
        }
    }

    fn group(&mut self, t: &Text) -> bool {
        let catalog = self.ctx.catalog;
        if catalog.group(&t.value).is_none() {
            self.unknown(
                code::UNKNOWN_GROUP,
                "group",
                &t.value,
                t.span,
                catalog.group_ids(),
                "[[groups]]",
            );
            return false;
        }
        true
    }

    fn calendar(&mut self, delay: &Delay) {
        let Some(cal) = &delay.calendar else { return };
        let catalog = self.ctx.catalog;
        if catalog.calendar(&cal.value).is_none() {
            self.unknown(
                code::UNKNOWN_CALENDAR,
                "business calendar",
                &cal.value,
                cal.span,
                catalog.calendar_ids(),
                "[[calendars]]",
            );
        }
    }

    fn feature(&mut self, t: &Text) {
        let catalog = self.ctx.catalog;
        if catalog.activity_feature(&t.value).is_none() {
            self.unknown(
                code::UNKNOWN_ACTIVITY,
                "activity feature",
                &t.value,
                t.span,
                catalog.activity_feature_ids(),
                "activity_features",
            );
        }
    }

    fn activity(&mut self, kind: Option<&Text>, ty: Option<&Text>) {
        let catalog = self.ctx.catalog;
        let Some(kind) = kind else { return };
        let Some(k) = catalog.activity_kind(&kind.value) else {
            self.unknown(
                code::UNKNOWN_ACTIVITY,
                "activity kind",
                &kind.value,
                kind.span,
                catalog.activity_kind_ids(),
                "[[activities]]",
            );
            return;
        };
        let Some(ty) = ty else { return };
        if !k.has_type(&ty.value) {
            let suggestion = self
                .ctx
                .suggest(&ty.value, k.types.iter().map(String::as_str));
            let help = match suggestion {
                Some(s) => format!("did you mean `{s}`?"),
                None if k.types.is_empty() => {
                    format!("the activity kind `{}` declares no types", k.id)
                }
                None => format!(
                    "the types of `{}` are: {}",
                    k.id,
                    name_list(k.types.iter().map(String::as_str), 20)
                ),
            };
            let d = self
                .diag(
                    code::UNKNOWN_ACTIVITY,
                    ty.span,
                    format!("the activity kind `{}` has no type `{}`", k.id, ty.value),
                    "unknown activity type",
                )
                .with_help(help);
            self.emit(d);
        }
    }

    fn status(&mut self, record: Record, value: &Text) {
        let catalog = self.ctx.catalog;
        let module = catalog_module(Module::of(record));
        let statuses = catalog.statuses(module);
        if statuses.contains(&value.value) {
            return;
        }
        let suggestion = self
            .ctx
            .suggest(&value.value, statuses.iter().map(String::as_str));
        let help = match suggestion {
            Some(s) => format!("did you mean `{s}`?"),
            None if statuses.is_empty() => format!(
                "declare the statuses under `[modules.{}]` in procc.toml",
                record.name()
            ),
            None => format!(
                "the statuses of {} records are: {}",
                record.name(),
                name_list(statuses.iter().map(String::as_str), 20)
            ),
        };
        let d = self
            .diag(
                code::UNKNOWN_STATUS,
                value.span,
                format!("{} records have no status `{}`", record.name(), value.value),
                "unknown status",
            )
            .with_help(help);
        self.emit(d);
    }

    // ----- records and projects --------------------------------------------------------------

    fn link(&self, i: usize, record: Record) -> Link {
        let r = ri(record);
        if self.needs[r].is_some() {
            return Link::Yes;
        }
        let Some(f) = &self.facts else {
            return Link::Unknown;
        };
        if !f.reachable.get(i).copied().unwrap_or(false) {
            return Link::Unknown;
        }
        if f.must[r].get(i).copied().unwrap_or(false) {
            Link::Yes
        } else if f.may[r].get(i).copied().unwrap_or(false) {
            Link::SomePaths
        } else {
            Link::No
        }
    }

    /// Reports when `record` is not linked at step `i`. `what` completes "step `x` ...";
    /// `automatic` marks an automatic step that only degrades to manual when the record is
    /// missing on some paths (P3007 instead of P1017 there).
    fn require(
        &mut self,
        i: usize,
        record: Record,
        what: std::fmt::Arguments<'_>,
        span: Span,
        automatic: bool,
        help: Option<String>,
    ) {
        let r = ri(record);
        if self.reported[r] {
            return;
        }
        let p = self.p;
        let Some(s) = p.steps.get(i) else { return };
        let link = self.link(i, record);
        if matches!(link, Link::Yes | Link::Unknown) {
            return;
        }
        self.reported[r] = true;
        let pname = &self.p.name.name;
        let rname = record.name();
        let assign_help = self.first_assign[r].and_then(|a| self.p.steps.get(a)).map(|a| {
            format!("link the {rname} before step `{}` on every path: move the `{}` step `{}` before it", s.name.name, assign_kind(record), a.name.name)
        });
        let default_help = || {
            format!(
                "add `needs {rname}` to process `{pname}`, or an `{}` step before step `{}`",
                assign_kind(record),
                s.name.name
            )
        };
        let d = match link {
            Link::SomePaths if automatic => self
                .diag(
                    code::LIKELY_MANUAL,
                    span,
                    format!("automatic step `{}` {what}, but process `{pname}` links {} only on some paths to it", s.name.name, a_record(record)),
                    format!("no {rname} on some paths"),
                )
                .with_help(format!(
                    "where no {rname} is linked the step becomes a manual step with a warning; {}",
                    assign_help.unwrap_or_else(default_help)
                )),
            Link::SomePaths => self
                .diag(
                    code::RECORD_NOT_LINKED,
                    span,
                    format!("step `{}` {what}, but process `{pname}` links {} only on some paths to it", s.name.name, a_record(record)),
                    format!("no {rname} on some paths"),
                )
                .with_help(help.or(assign_help).unwrap_or_else(default_help)),
            _ => self
                .diag(
                    code::RECORD_NOT_LINKED,
                    span,
                    format!("step `{}` {what}, but process `{pname}` links no {rname}", s.name.name),
                    format!("no {rname} linked here"),
                )
                .with_help(help.or(assign_help).unwrap_or_else(default_help)),
        };
        self.emit(d);
    }

    /// Reports when no project is created before step `i` on every path.
    fn require_project(&mut self, i: usize, s: &Step, what: std::fmt::Arguments<'_>, span: Span) {
        if self.reported_project {
            return;
        }
        let Some(f) = &self.facts else { return };
        if !f.reachable.get(i).copied().unwrap_or(false)
            || f.project_must.get(i).copied().unwrap_or(false)
        {
            return;
        }
        self.reported_project = true;
        let some = f.project_may.get(i).copied().unwrap_or(false);
        let (message, help) = if some {
            (
                format!(
                    "step `{}` {what}, but a project is created before it only on some paths",
                    s.name.name
                ),
                format!(
                    "create the project before the branches split, so one `create_project` step comes before step `{}` on every path",
                    s.name.name
                ),
            )
        } else {
            (
                format!(
                    "step `{}` {what}, but no project is created before it",
                    s.name.name
                ),
                format!("add a `create_project` step before step `{}`", s.name.name),
            )
        };
        let d = self
            .diag(code::PROJECT_NOT_CREATED, span, message, "no project here")
            .with_help(help);
        self.emit(d);
    }

    fn require_use(&mut self, i: usize, s: &Step, u: Use<'a>) {
        match record_of_module(u.module) {
            Some(r) => self.require(i, r, format_args!("{}", u.what), u.span, false, None),
            None => self.require_project(i, s, format_args!("{}", u.what), u.span),
        }
    }

    /// Reports when a trigger refers to a record the process is not given at start.
    fn require_start(&mut self, record: Record, what: &str, span: Span) {
        let r = ri(record);
        if self.reported[r] || self.needs[r].is_some() {
            return;
        }
        self.reported[r] = true;
        let pname = &self.p.name.name;
        let rname = record.name();
        let help = match self.first_assign[r].and_then(|a| self.p.steps.get(a)) {
            Some(a) => format!(
                "process `{pname}` links its {rname} later with the `{}` step `{}`, so it starts without one; remove the trigger or that step",
                assign_kind(record),
                a.name.name
            ),
            None => format!("add `needs {rname}` to process `{pname}`"),
        };
        let d = self
            .diag(
                code::RECORD_NOT_LINKED,
                span,
                format!("{what}, but process `{pname}` does not declare `needs {rname}`"),
                format!("needs {}", a_record(record)),
            )
            .with_help(help);
        self.emit(d);
    }

    // ----- the process ----------------------------------------------------------------------

    fn process_settings(&mut self) {
        let p = self.p;
        // Domain §18: a record that an assign step links cannot be chosen at start.
        for record in RECORDS {
            let r = ri(record);
            let assign = p.steps.iter().find(|s| match record {
                Record::Property => matches!(s.kind, StepKind::AssignProperty(_)),
                Record::Address => matches!(s.kind, StepKind::AssignAddress(_)),
            });
            let (Some(needs), Some(a)) = (self.needs[r], assign) else {
                continue;
            };
            let d = self
                .diag(
                    code::RECORD_NOT_LINKED,
                    needs,
                    format!(
                        "process `{}` needs {} at start, but its `{}` step `{}` links one later",
                        p.name.name,
                        a_record(record),
                        assign_kind(record),
                        a.name.name
                    ),
                    "needed at start",
                )
                .with_label(a.name.span, format!("links the {} here", record.name()))
                .with_help(format!(
                    "a process with an `{}` step is started without {}: remove `{}` from `needs`",
                    assign_kind(record),
                    a_record(record),
                    record.name()
                ));
            self.emit(d);
        }
        if let Some(c) = &p.controller
            && let Controller::User(u) = &c.value
        {
            self.user(u);
        }
    }

    fn trigger(&mut self, t: &'a Trigger) {
        self.reported = [false; 2];
        let pname = self.p.name.name.clone();
        let catalog = self.ctx.catalog;
        let mut trigger_record = None;
        let scope = match &t.event {
            TriggerEvent::Saved(r) => {
                trigger_record = Some(r.value);
                self.require_start(
                    r.value,
                    &format!("the trigger starts on the save of {}", a_record(r.value)),
                    r.span,
                );
                Scope::SavedTrigger(r.value)
            }
            TriggerEvent::StatusSet { record, value } => {
                trigger_record = Some(record.value);
                self.require_start(
                    record.value,
                    &format!(
                        "the trigger starts when the status of {} is set",
                        a_record(record.value)
                    ),
                    record.span,
                );
                self.status(record.value, value);
                Scope::Trigger
            }
            TriggerEvent::Date { field, .. } => {
                match record_of_module(field.module.value) {
                    Some(r) => {
                        trigger_record = Some(r);
                        if catalog
                            .field(catalog_module(field.module.value), &field.field.name)
                            .is_some()
                        {
                            self.require_start(
                                r,
                                &format!("the trigger reads `{}.{}`", r.name(), field.field.name),
                                field.span,
                            );
                        }
                    }
                    None => {
                        let d = self
                            .diag(
                                code::PROJECT_NOT_CREATED,
                                field.module.span,
                                format!("the trigger of process `{pname}` reads a project field, but a process has no project when it starts"),
                                "no project at start",
                            )
                            .with_help("start on a date field of the property or the address");
                        self.emit(d);
                    }
                }
                match catalog.field(catalog_module(field.module.value), &field.field.name) {
                    Some(f) if f.ty != FieldType::Date => {
                        let d = self
                            .diag(
                                code::TYPE_MISMATCH,
                                field.span,
                                format!(
                                    "a date trigger needs a date field, but `{}.{}` is {}",
                                    field.module.value.name(),
                                    field.field.name,
                                    a_ty(field_ty(f))
                                ),
                                format!("{} field", f.ty.name()),
                            )
                            .with_help("pick a field of type `date`");
                        self.emit(d);
                    }
                    Some(_) => {}
                    None => unknown_field(
                        self.ctx,
                        self.file,
                        field.module.value,
                        &field.field.name,
                        field.field.span,
                    ),
                }
                Scope::Trigger
            }
            TriggerEvent::EmailReceived { feature } => {
                if let Some(f) = feature {
                    self.feature(f);
                }
                Scope::Trigger
            }
            TriggerEvent::ActivityReceived {
                kind,
                activity_type,
                feature,
            } => {
                self.activity(kind.as_ref(), activity_type.as_ref());
                if let Some(f) = feature {
                    self.feature(f);
                }
                Scope::Trigger
            }
        };
        if let Some(filter) = &t.filter {
            match catalog.filter(&filter.value) {
                None => unknown_filter(self.ctx, self.file, &filter.value, filter.span),
                Some(f) => {
                    if let (Some(tr), Some(fr)) =
                        (trigger_record, record_of_catalog_module(f.module))
                        && tr != fr
                    {
                        let d = self
                            .diag(
                                code::TYPE_MISMATCH,
                                filter.span,
                                format!("the filter `{}` selects {} records, but the trigger starts on {}", f.id, fr.name(), a_record(tr)),
                                format!("{} filter", fr.name()),
                            )
                            .with_help(format!("use a filter of {} records", tr.name()));
                        self.emit(d);
                    }
                }
            }
        }
        if let Some(owner) = &t.owner {
            match &owner.who {
                ResponsibleKind::User(u) => self.user(u),
                ResponsibleKind::Supervisor(r) => {
                    self.require_start(
                        *r,
                        &format!("the trigger makes the supervisor of the {} owner", r.name()),
                        owner.span,
                    );
                }
                ResponsibleKind::Owner => {}
            }
        }
        if let Some(cond) = &t.condition {
            let mut uses = Vec::new();
            Typer {
                ctx: self.ctx,
                file: self.file,
                scope,
                uses: &mut uses,
            }
            .condition(cond, "the trigger condition");
            for u in uses {
                match record_of_module(u.module) {
                    Some(r) => {
                        self.require_start(r, &format!("the trigger condition {}", u.what), u.span)
                    }
                    None => {
                        let d = self
                            .diag(
                                code::PROJECT_NOT_CREATED,
                                u.span,
                                format!("the trigger condition {}, but a process has no project when it starts", u.what),
                                "no project at start",
                            )
                            .with_help("read fields of the property or the address");
                        self.emit(d);
                    }
                }
            }
        }
    }

    // ----- steps ----------------------------------------------------------------------------

    fn responsible(&mut self, i: usize, resp: &'a Responsible, what: &str) {
        match &resp.who {
            ResponsibleKind::User(u) => self.user(u),
            ResponsibleKind::Supervisor(r) => {
                self.require(
                    i,
                    *r,
                    format_args!("{what} `supervisor of {}`", r.name()),
                    resp.span,
                    false,
                    None,
                );
            }
            ResponsibleKind::Owner => {}
        }
    }

    fn deadline(&mut self, i: usize, s: &'a Step, deadline: &'a Deadline) {
        let mut prev: Option<&Delay> = None;
        for rung in &deadline.rungs {
            self.calendar(&rung.after);
            if let Some(p) = prev
                && !ascending(p, &rung.after)
            {
                let d = self
                    .diag(
                        code::DEADLINE_ORDER,
                        rung.after.span,
                        format!("the deadline ladder of step `{}` does not go up: this rung comes no later than the one before", s.name.name),
                        "not later than the previous rung",
                    )
                    .with_label(p.span, "previous rung")
                    .with_help("order the rungs from the earliest to the latest, each later than the one before");
                self.emit(d);
            }
            prev = Some(&rung.after);
            if let RungAction::Reassign(resp) = &rung.action {
                self.responsible(i, resp, "reassigns on its deadline to");
            }
        }
    }

    fn step(&mut self, i: usize, s: &'a Step) {
        self.reported = [false; 2];
        self.reported_project = false;
        let h = &s.header;
        if let Some(r) = &h.responsible {
            self.responsible(i, r, "is responsible to");
        }
        if let Some(d) = h.start.as_ref().and_then(|st| st.delay.as_ref()) {
            self.calendar(d);
        }
        if let Some(d) = &h.deadline {
            self.deadline(i, s, d);
        }
        if let Some(c) = &h.concerns {
            for r in &c.records {
                self.require(
                    i,
                    r.value,
                    format_args!("concerns the {}", r.value.name()),
                    r.span,
                    false,
                    None,
                );
            }
        }
        if let Some(span) = h.allow_skip
            && !s.kind.can_be_skipped()
        {
            let d = self
                .diag(
                    code::SKIP_NOT_ALLOWED,
                    span,
                    format!("step `{}` allows skipping, but `{}` steps cannot be skipped", s.name.name, s.kind.keyword()),
                    "cannot be skipped",
                )
                .with_help("only `appointment`, `letter`, `email` and `resubmission` steps can be skipped: remove `allow skip`");
            self.emit(d);
        }
        let catalog = self.ctx.catalog;
        match &s.kind {
            StepKind::Task(t) => {
                if let Some(u) = &t.processor {
                    self.user(u);
                }
            }
            StepKind::Appointment(_)
            | StepKind::AssignProject(_)
            | StepKind::Merge
            | StepKind::End => {}
            StepKind::Letter(l) => match catalog.letter_template(&l.template.value) {
                None => self.unknown(
                    code::UNKNOWN_TEMPLATE,
                    "letter template",
                    &l.template.value,
                    l.template.span,
                    catalog.letter_template_ids(),
                    "[[templates.letter]]",
                ),
                Some(t) => {
                    let wanted = l.format.map(|f| match f.value {
                        procc_syntax::ast::LetterFormat::Word => {
                            (procc_catalog::LetterKind::Word, f.span)
                        }
                        procc_syntax::ast::LetterFormat::Pdf => {
                            (procc_catalog::LetterKind::Pdf, f.span)
                        }
                    });
                    if let Some((kind, span)) = wanted
                        && kind != t.kind
                    {
                        let d = self
                            .diag(
                                code::TYPE_MISMATCH,
                                span,
                                format!(
                                    "step `{}` asks for a {} letter, but the template `{}` is a {} template",
                                    s.name.name,
                                    kind.name(),
                                    t.id,
                                    t.kind.name()
                                ),
                                "format of another kind",
                            )
                            .with_help(format!("write `format {}`, or pick a {} template", t.kind.name(), kind.name()));
                        self.emit(d);
                    }
                }
            },
            StepKind::Email(e) => {
                if catalog.email_template(&e.template.value).is_none() {
                    self.unknown(
                        code::UNKNOWN_TEMPLATE,
                        "e-mail template",
                        &e.template.value,
                        e.template.span,
                        catalog.email_template_ids(),
                        "[[templates.email]]",
                    );
                }
                let automatic = matches!(e.mode, SendMode::Automatic { .. });
                self.require(
                    i,
                    Record::Address,
                    format_args!("e-mails the address"),
                    s.kind_span,
                    automatic,
                    None,
                );
            }
            StepKind::ForwardEmail(f) => {
                for r in f.to.iter().chain(&f.cc).chain(&f.bcc) {
                    if let Recipient::User(u) = r {
                        self.user(u);
                    }
                }
                let by_email = self
                    .p
                    .triggers
                    .iter()
                    .any(|t| matches!(t.event, TriggerEvent::EmailReceived { .. }));
                if self.p.needs_email.is_none() && !by_email {
                    let pname = &self.p.name.name;
                    let d = self
                        .diag(
                            code::NEEDS_EMAIL_START,
                            s.kind_span,
                            format!("step `{}` forwards the e-mail that started process `{pname}`, but the process is not started by an e-mail", s.name.name),
                            "needs a starting e-mail",
                        )
                        .with_help(format!("add `needs email` to process `{pname}`, or a `trigger email received` line"));
                    self.emit(d);
                }
            }
            StepKind::Sms(sms) => self.sms(i, s, sms),
            StepKind::OwnerNotification(o) => {
                match o.channel.value {
                    Channel::Email => {
                        if catalog.email_template(&o.template.value).is_none() {
                            self.unknown(
                                code::UNKNOWN_TEMPLATE,
                                "e-mail template",
                                &o.template.value,
                                o.template.span,
                                catalog.email_template_ids(),
                                "[[templates.email]]",
                            );
                        }
                    }
                    Channel::Letter => {
                        if catalog.letter_template(&o.template.value).is_none() {
                            self.unknown(
                                code::UNKNOWN_TEMPLATE,
                                "letter template",
                                &o.template.value,
                                o.template.span,
                                catalog.letter_template_ids(),
                                "[[templates.letter]]",
                            );
                        }
                    }
                }
                if o.without_property.is_none() {
                    let automatic = o.channel.value == Channel::Email
                        && matches!(o.mode, SendMode::Automatic { .. });
                    let help = Some(format!(
                        "add `needs property` to process `{}`, or write `property none` to report without the property",
                        self.p.name.name
                    ));
                    let help = if self.first_assign[0].is_some() {
                        None
                    } else {
                        help
                    };
                    self.require(
                        i,
                        Record::Property,
                        format_args!("reports to the owner of the property"),
                        s.kind_span,
                        automatic,
                        help,
                    );
                }
            }
            StepKind::Resubmission(r) => {
                if let Some(d) = &r.due {
                    self.calendar(d);
                }
            }
            StepKind::WriteValues(w) => self.write_values(i, s, &w.target, w.value.as_ref()),
            StepKind::CreateProject(c) => {
                if catalog.project_template(&c.template.value).is_none() {
                    self.unknown(
                        code::UNKNOWN_PROJECT_TEMPLATE,
                        "project template",
                        &c.template.value,
                        c.template.span,
                        catalog.project_template_ids(),
                        "project_templates",
                    );
                }
            }
            StepKind::AssignAddress(a) => {
                if a.without_property.is_none() {
                    let help = Some(format!(
                        "write `assign_address without property`, or add `needs property` to process `{}`",
                        self.p.name.name
                    ));
                    self.require(
                        i,
                        Record::Property,
                        format_args!("links the new address to the property"),
                        s.kind_span,
                        false,
                        help,
                    );
                }
            }
            StepKind::AssignProperty(_) => {}
            StepKind::FollowUp(f) => self.follow_up(i, s, f),
            StepKind::Decision(d) => {
                if d.mode.value == DecisionMode::Automatic
                    && let Some(cond) = &d.condition
                {
                    let mut uses = Vec::new();
                    Typer {
                        ctx: self.ctx,
                        file: self.file,
                        scope: Scope::Step,
                        uses: &mut uses,
                    }
                    .condition(
                        cond,
                        &format!("the condition of decision `{}`", s.name.name),
                    );
                    for u in uses {
                        self.require_use(i, s, u);
                    }
                }
            }
            StepKind::Webhook(w) => self.webhook(i, s, w),
            StepKind::SetStatus(st) => {
                self.require(
                    i,
                    st.record.value,
                    format_args!("sets the status of the {}", st.record.value.name()),
                    st.record.span,
                    false,
                    None,
                );
                self.status(st.record.value, &st.value);
            }
            StepKind::ActivityLog(a) => {
                self.activity(Some(&a.kind), a.activity_type.as_ref());
                for f in &a.features {
                    self.feature(f);
                }
            }
            StepKind::PortalSync(ps) => {
                for portal in &ps.portals {
                    if catalog.portal(&portal.value).is_none() {
                        self.unknown(
                            code::UNKNOWN_PORTAL,
                            "portal",
                            &portal.value,
                            portal.span,
                            catalog.portal_ids(),
                            "[[portals]]",
                        );
                    }
                }
                let what = match ps.action.value {
                    procc_syntax::ast::PortalAction::Publish => "publishes the property on portals",
                    procc_syntax::ast::PortalAction::Remove => "removes the property from portals",
                };
                self.require(
                    i,
                    Record::Property,
                    format_args!("{what}"),
                    ps.action.span,
                    false,
                    None,
                );
            }
            StepKind::LeadDistribution(l) => self.lead_distribution(i, s, l),
        }
    }

    fn sms(&mut self, i: usize, s: &'a Step, sms: &'a procc_syntax::ast::Sms) {
        let catalog = self.ctx.catalog;
        match &sms.text {
            SmsText::Inline(t) => {
                let n = t.value.chars().count();
                if n > SMS_MAX_CHARS {
                    let d = self
                        .diag(
                            code::SMS_TOO_LONG,
                            t.span,
                            format!("the text of SMS step `{}` has {n} characters, {} more than the {SMS_MAX_CHARS} an SMS can carry", s.name.name, n - SMS_MAX_CHARS),
                            format!("{n} characters"),
                        )
                        .with_help("shorten the text to at most 320 characters (two messages)");
                    self.emit(d);
                }
            }
            SmsText::Template(t) => match catalog.sms_template(&t.value) {
                None => self.unknown(
                    code::UNKNOWN_TEMPLATE,
                    "SMS template",
                    &t.value,
                    t.span,
                    catalog.sms_template_ids(),
                    "[[templates.sms]]",
                ),
                Some(tpl) => {
                    let n = tpl.text.chars().count();
                    if n > SMS_MAX_CHARS {
                        let d = self
                            .diag(
                                code::SMS_TOO_LONG,
                                t.span,
                                format!("the SMS template `{}` has {n} characters, {} more than the {SMS_MAX_CHARS} an SMS can carry", tpl.id, n - SMS_MAX_CHARS),
                                format!("{n} characters"),
                            )
                            .with_help("shorten the template's text in procc.toml to at most 320 characters");
                        self.emit(d);
                    }
                }
            },
        }
        let automatic = sms.automatic.is_some();
        let to_span = sms.to.map_or(s.kind_span, |t| t.span);
        let what = match sms.to.map(|t| t.value) {
            Some(SmsRecipient::AddressSupervisor) => {
                "sends an SMS to the supervisor of the address"
            }
            _ => "sends an SMS to the address",
        };
        self.require(
            i,
            Record::Address,
            format_args!("{what}"),
            to_span,
            automatic,
            None,
        );
        if !automatic {
            return;
        }
        // P3007: an automatic SMS whose sender number cannot be found.
        let sender = sms
            .sender
            .map_or(SmsSender::PropertySupervisor, |x| x.value);
        let sender_span = sms.sender.map_or(s.kind_span, |x| x.span);
        let problem = match sender {
            SmsSender::PropertySupervisor => match self.link(i, Record::Property) {
                Link::No => Some((
                    format!(
                        "process `{}` links no property whose supervisor could send it",
                        self.p.name.name
                    ),
                    format!(
                        "add `needs property` to process `{}`, or send as `sender client` or `sender group`",
                        self.p.name.name
                    ),
                )),
                Link::SomePaths => Some((
                    format!(
                        "process `{}` links a property whose supervisor could send it only on some paths",
                        self.p.name.name
                    ),
                    "link the property before the branches split, or send as `sender client`"
                        .to_string(),
                )),
                _ => None,
            },
            SmsSender::Client => match catalog.tenant() {
                Some(t) if t.mobile.is_some() => None,
                _ => Some((
                    "the project file gives the client (tenant) no mobile number".to_string(),
                    "add `mobile` to `[tenant]` in procc.toml".to_string(),
                )),
            },
            SmsSender::Group => {
                let with_mobile = |g: &str| catalog.group(g).is_some_and(|g| g.mobile.is_some());
                if !catalog.groups().iter().any(|g| g.mobile.is_some()) {
                    Some((
                        "no group in the project file has a mobile number".to_string(),
                        "add `mobile` to the responsible user's group in procc.toml".to_string(),
                    ))
                } else if let Some(Responsible {
                    who: ResponsibleKind::User(u),
                    ..
                }) = &s.header.responsible
                    && let Some(user) = catalog.user(&u.value)
                    && !user.groups.iter().any(|g| with_mobile(g))
                {
                    Some((
                        format!(
                            "the responsible user `{}` belongs to no group with a mobile number",
                            user.id
                        ),
                        format!(
                            "add `mobile` to a group of `{}`, or send as `sender client`",
                            user.id
                        ),
                    ))
                } else {
                    None
                }
            }
        };
        if let Some((why, help)) = problem {
            let d = self
                .diag(
                    code::LIKELY_MANUAL,
                    sender_span,
                    format!(
                        "automatic SMS step `{}` will likely become manual: {why}",
                        s.name.name
                    ),
                    "no sender number",
                )
                .with_help(help);
            self.emit(d);
        }
    }

    fn write_values(
        &mut self,
        i: usize,
        s: &'a Step,
        target: &'a FieldPath,
        value: Option<&'a Expr>,
    ) {
        let catalog = self.ctx.catalog;
        let module = target.module.value;
        let tname = format!("{}.{}", module.name(), target.field.name);
        match record_of_module(module) {
            Some(r) => self.require(
                i,
                r,
                format_args!("writes `{tname}`"),
                target.span,
                false,
                None,
            ),
            None => self.require_project(i, s, format_args!("writes `{tname}`"), target.span),
        }
        let Some(field) = catalog.field(catalog_module(module), &target.field.name) else {
            unknown_field(
                self.ctx,
                self.file,
                module,
                &target.field.name,
                target.field.span,
            );
            if let Some(v) = value {
                self.typed(i, s, v);
            }
            return;
        };
        if field.read_only {
            let d = self
                .diag(
                    code::READ_ONLY_FIELD,
                    target.span,
                    format!(
                        "step `{}` writes `{tname}`, which is read-only",
                        s.name.name
                    ),
                    "read-only field",
                )
                .with_help("processes cannot change this field; write another field");
            self.emit(d);
        }
        let Some(v) = value else { return };
        let vt = self.typed(i, s, v);
        let ft = field_ty(field);
        if let (Ty::Enum(f), ExprKind::Literal(Literal::Text(text))) = (ft, &v.kind) {
            if !f.allows_value(text) {
                let is_status = f.name == "status" && f.builtin;
                let suggestion = self.ctx.suggest(text, f.values.iter().map(String::as_str));
                let help = match suggestion {
                    Some(x) => format!("did you mean `{x}`?"),
                    None if f.values.is_empty() => {
                        format!("`{tname}` has no values declared in the project file")
                    }
                    None => format!(
                        "the values are: {}",
                        name_list(f.values.iter().map(String::as_str), 20)
                    ),
                };
                let (code, message) = if is_status {
                    (
                        code::UNKNOWN_STATUS,
                        format!("{} records have no status `{text}`", module.name()),
                    )
                } else {
                    (
                        code::TYPE_MISMATCH,
                        format!(
                            "step `{}` writes `\"{text}\"` into `{tname}`, which is not one of its values",
                            s.name.name
                        ),
                    )
                };
                let d = self
                    .diag(code, v.span, message, "not a value of the field")
                    .with_help(help);
                self.emit(d);
            }
            return;
        }
        if !fits(ft, vt) {
            let snippet = self.ctx.snippet(self.file, v.span);
            let d = self
                .diag(
                    code::TYPE_MISMATCH,
                    v.span,
                    format!(
                        "step `{}` writes `{snippet}`, {}, into `{tname}`, which holds {}",
                        s.name.name,
                        a_ty(vt),
                        a_ty(ft)
                    ),
                    format!("{} value", vt.name()),
                )
                .with_help(format!("write {} into `{tname}`", a_ty(ft)));
            self.emit(d);
        }
    }

    /// Types an expression evaluated at step `i` and checks the records it reads.
    fn typed(&mut self, i: usize, s: &'a Step, e: &'a Expr) -> Ty<'a> {
        let mut uses = Vec::new();
        let ty = Typer {
            ctx: self.ctx,
            file: self.file,
            scope: Scope::Step,
            uses: &mut uses,
        }
        .ty(e, 0);
        for u in uses {
            self.require_use(i, s, u);
        }
        ty
    }

    fn webhook(&mut self, i: usize, s: &'a Step, w: &'a Webhook) {
        let catalog = self.ctx.catalog;
        match w {
            Webhook::Service { service, parameter } => {
                let Some(svc) = catalog.service(&service.name) else {
                    self.unknown(
                        code::UNKNOWN_SERVICE,
                        "marketplace service",
                        &service.name,
                        service.span,
                        catalog.service_ids(),
                        "[[services]]",
                    );
                    if let Some((_, v)) = parameter {
                        self.typed(i, s, v);
                    }
                    return;
                };
                self.require(
                    i,
                    Record::Property,
                    format_args!("calls the service `{}`, which is sent the property", svc.id),
                    service.span,
                    false,
                    None,
                );
                let Some(hook) = svc.callable_webhook() else {
                    let (message, help) = if svc.webhook.is_none() {
                        (
                            format!("the service `{}` has no webhook", svc.id),
                            format!(
                                "add `[services.webhook]` to the service `{}` in procc.toml",
                                svc.id
                            ),
                        )
                    } else {
                        (
                            format!("the service `{}` is not activated", svc.id),
                            format!("activate the service `{}` (`activated = true`)", svc.id),
                        )
                    };
                    let d = self
                        .diag(
                            code::SERVICE_WITHOUT_WEBHOOK,
                            service.span,
                            format!("step `{}` calls a webhook, but {message}", s.name.name),
                            "no callable webhook",
                        )
                        .with_help(help);
                    self.emit(d);
                    if let Some((_, v)) = parameter {
                        self.typed(i, s, v);
                    }
                    return;
                };
                let Some((pname, value)) = parameter else {
                    return;
                };
                let Some(param) = hook.parameter(&pname.name) else {
                    let suggestion = self.ctx.suggest(&pname.name, hook.parameter_names());
                    let help = match suggestion {
                        Some(x) => format!("did you mean `{x}`?"),
                        None if hook.parameters.is_empty() => {
                            format!("the service `{}` takes no parameters", svc.id)
                        }
                        None => format!(
                            "the parameters of `{}` are: {}",
                            svc.id,
                            name_list(hook.parameter_names(), 20)
                        ),
                    };
                    let d = self
                        .diag(
                            code::UNKNOWN_PARAMETER,
                            pname.span,
                            format!("the service `{}` has no parameter `{}`", svc.id, pname.name),
                            "unknown parameter",
                        )
                        .with_help(help);
                    self.emit(d);
                    self.typed(i, s, value);
                    return;
                };
                match &value.kind {
                    ExprKind::Field(_) => {
                        self.typed(i, s, value);
                    }
                    ExprKind::Literal(lit) => {
                        let text = match lit {
                            Literal::Text(t) => t.clone(),
                            _ => self.ctx.slice(self.file, value.span).to_string(),
                        };
                        if let ParameterValues::OneOf(values) = &param.values
                            && !param.allows(&text)
                        {
                            let suggestion =
                                self.ctx.suggest(&text, values.iter().map(String::as_str));
                            let help = match suggestion {
                                Some(x) => format!("did you mean `{x}`?"),
                                None => format!(
                                    "the values are: {}",
                                    name_list(values.iter().map(String::as_str), 20)
                                ),
                            };
                            let d = self
                                .diag(
                                    code::UNKNOWN_PARAMETER,
                                    value.span,
                                    format!(
                                        "the parameter `{}` of service `{}` does not take `{text}`",
                                        param.name, svc.id
                                    ),
                                    "value not allowed",
                                )
                                .with_help(help);
                            self.emit(d);
                        }
                    }
                    _ => {
                        self.typed(i, s, value);
                        let d = self
                            .diag(
                                code::TYPE_MISMATCH,
                                value.span,
                                format!("the parameter `{}` of step `{}` takes a literal or a field, not a computed value", param.name, s.name.name),
                                "computed value",
                            )
                            .with_help("pass a value like `\"full\"` or a field like `property.id`");
                        self.emit(d);
                    }
                }
            }
            Webhook::Free { url, body, .. } => {
                self.macros(i, s, url);
                if let Some(b) = body {
                    self.macros(i, s, b);
                }
            }
        }
    }

    /// Checks the `{property.field}` macros of a free webhook's URL or body.
    fn macros(&mut self, i: usize, s: &'a Step, text: &'a Text) {
        let raw = self.ctx.slice(self.file, text.span);
        let catalog = self.ctx.catalog;
        let mut rest = raw;
        let mut offset = 0usize;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else { break };
            let inner = &after[..close];
            let start = text.span.start() + offset + open;
            let span = Span::new(start, start + close + 2);
            if let Some((m, f)) = inner.split_once('.') {
                let module = match m.trim() {
                    "property" => Some(Module::Property),
                    "address" => Some(Module::Address),
                    "project" => Some(Module::Project),
                    _ => None,
                };
                let f = f.trim();
                if let Some(module) = module
                    && !f.is_empty()
                    && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    if catalog.field(catalog_module(module), f).is_none() {
                        let field_start = start + 1 + inner.find(f).unwrap_or(0);
                        unknown_field(
                            self.ctx,
                            self.file,
                            module,
                            f,
                            Span::new(field_start, field_start + f.len()),
                        );
                    }
                    let what = format!("fills in `{}.{f}`", module.name());
                    match record_of_module(module) {
                        Some(r) => self.require(i, r, format_args!("{what}"), span, false, None),
                        None => self.require_project(i, s, format_args!("{what}"), span),
                    }
                }
            }
            offset += open + 1 + close + 1;
            rest = &after[close + 1..];
        }
    }

    fn follow_up(&mut self, i: usize, s: &'a Step, f: &'a procc_syntax::ast::FollowUp) {
        let target = self.index.get(&f.process.name);
        if let Some(carry) = &f.carry {
            for r in &carry.records {
                self.require(
                    i,
                    r.value,
                    format_args!(
                        "carries the {} to process `{}`",
                        r.value.name(),
                        f.process.name
                    ),
                    r.span,
                    false,
                    None,
                );
            }
        }
        let Some((_, tp)) = target else {
            let index = self.index;
            let suggestion = self.ctx.suggest(
                &f.process.name,
                index.procs.iter().map(|(_, p)| p.name.name.as_str()),
            );
            let d = self
                .diag(
                    code::UNKNOWN_PROCESS,
                    f.process.span,
                    format!(
                        "step `{}` starts the process `{}`, which does not exist",
                        s.name.name, f.process.name
                    ),
                    "unknown process",
                )
                .with_help(match suggestion {
                    Some(x) => format!("did you mean `{x}`?"),
                    None => format!(
                        "add a `process {}` to the project, or fix the name",
                        f.process.name
                    ),
                });
            self.emit(d);
            return;
        };
        let mut seen = [false; 2];
        for need in &tp.needs {
            let record = need.value;
            let r = ri(record);
            if std::mem::replace(&mut seen[r], true) {
                continue;
            }
            match &f.carry {
                Some(carry) if !carry.records.iter().any(|c| c.value == record) => {
                    let d = self
                        .diag(
                            code::RECORD_NOT_LINKED,
                            carry.span,
                            format!("step `{}` starts process `{}`, which needs {}, but does not carry one", s.name.name, tp.name.name, a_record(record)),
                            format!("no {}", record.name()),
                        )
                        .with_help(format!("add `{}` to `carry`", record.name()));
                    self.emit(d);
                }
                Some(_) => {}
                None => self.require(
                    i,
                    record,
                    format_args!(
                        "starts process `{}`, which needs {}",
                        tp.name.name,
                        a_record(record)
                    ),
                    f.process.span,
                    false,
                    None,
                ),
            }
        }
    }

    fn lead_distribution(
        &mut self,
        i: usize,
        s: &'a Step,
        l: &'a procc_syntax::ast::LeadDistribution,
    ) {
        let catalog = self.ctx.catalog;
        self.require(
            i,
            Record::Address,
            format_args!("distributes the address as a lead"),
            s.kind_span,
            false,
            None,
        );
        let (pool_span, any_member, any_with_address) = match &l.pool {
            Pool::Group(g) => {
                if !self.group(g) {
                    return self.lead_settings(i, s, l);
                }
                let mut members = catalog.group_members(&g.value).peekable();
                let any = members.peek().is_some();
                let with_address = catalog.group_members(&g.value).any(|u| u.address.is_some());
                (g.span, any, with_address)
            }
            Pool::Users(users) => {
                let mut known = 0usize;
                let mut with_address = false;
                for u in users {
                    match catalog.user(&u.value) {
                        Some(user) => {
                            known += 1;
                            with_address |= user.address.is_some();
                        }
                        None => self.user(u),
                    }
                }
                if known < users.len() {
                    return self.lead_settings(i, s, l);
                }
                let span = match (users.first(), users.last()) {
                    (Some(a), Some(b)) => a.span.to(b.span),
                    _ => s.kind_span,
                };
                (span, known > 0, with_address)
            }
        };
        let problem = if !any_member {
            Some((
                "the group has no members in the project file",
                "add the consultants' `groups` in procc.toml",
            ))
        } else if !any_with_address {
            Some((
                "no consultant in the pool has an address record linked to their user",
                "give each consultant an `address` in `[[users]]`: the lead distributor needs it",
            ))
        } else {
            None
        };
        if let Some((why, help)) = problem {
            let d = self
                .diag(
                    code::LIKELY_MANUAL,
                    pool_span,
                    format!(
                        "lead distribution `{}` will likely become manual: {why}",
                        s.name.name
                    ),
                    "no consultant to pick",
                )
                .with_help(help);
            self.emit(d);
        }
        self.lead_settings(i, s, l);
    }

    fn lead_settings(
        &mut self,
        _i: usize,
        s: &'a Step,
        l: &'a procc_syntax::ast::LeadDistribution,
    ) {
        let catalog = self.ctx.catalog;
        if let Some(cap) = &l.capacity {
            if cap.module.value != Module::Address {
                let d = self
                    .diag(
                        code::TYPE_MISMATCH,
                        cap.module.span,
                        format!("the capacity of lead distribution `{}` is read from the consultants' address records, not from `{}`", s.name.name, cap.module.value.name()),
                        "not an address field",
                    )
                    .with_help(format!("write `capacity address.{}`", cap.field.name));
                self.emit(d);
            } else {
                match catalog.field(procc_catalog::Module::Address, &cap.field.name) {
                    None => unknown_field(
                        self.ctx,
                        self.file,
                        Module::Address,
                        &cap.field.name,
                        cap.field.span,
                    ),
                    Some(f) if f.ty != FieldType::Number => {
                        let d = self
                            .diag(
                                code::TYPE_MISMATCH,
                                cap.span,
                                format!("the capacity of lead distribution `{}` must be a number, but `address.{}` is {}", s.name.name, cap.field.name, a_ty(field_ty(f))),
                                format!("{} field", f.ty.name()),
                            )
                            .with_help("pick a field of type `number`");
                        self.emit(d);
                    }
                    Some(_) => {}
                }
            }
        }
        self.activity(l.activity_kind.as_ref(), l.activity_type.as_ref());
    }
}

/// Whether `next` certainly comes later than `prev` (business days on one calendar compare by
/// count; across units, a business day counts as at least a calendar day).
fn ascending(prev: &Delay, next: &Delay) -> bool {
    let same_calendar =
        prev.calendar.as_ref().map(|c| &c.value) == next.calendar.as_ref().map(|c| &c.value);
    if prev.unit == next.unit && (prev.unit != TimeUnit::BusinessDays || same_calendar) {
        return next.amount > prev.amount;
    }
    // Hours: lower and upper bounds (a business day lasts at least a day, with no upper bound).
    let bounds = |d: &Delay| -> (i128, i128) {
        let a = i128::from(d.amount);
        match d.unit {
            TimeUnit::Hours => (a, a),
            TimeUnit::Days => (a * 24, a * 24),
            TimeUnit::BusinessDays => (a * 24, i128::MAX),
        }
    };
    let (prev_low, _) = bounds(prev);
    let (_, next_high) = bounds(next);
    // Report only when `next` cannot be later.
    next_high > prev_low
}
