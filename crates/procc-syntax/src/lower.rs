//! From generic items to the typed tree: each setting is checked against the process or the
//! step kind it belongs to. Unknown settings, missing ones, duplicates and arguments out of
//! place are reported here, with the setting's usage as help.

use procc_diagnostics::{Diagnostic, Span, code, did_you_mean};

use crate::ast::*;
use crate::expr::field_path;
use crate::settings::{Cursor, What};
use crate::tree::{Arg, Item, ItemKind, ProcessItem, Reader, RungItem, SettingItem, StepItem};

/// Settings a process takes, with their usage.
const PROCESS_SETTINGS: &[(&str, &str)] = &[
    ("description", "`description \"...\"`"),
    ("active", "`active` or `active no`"),
    (
        "needs",
        "`needs property, address` (any of `property`, `address`, `email`)",
    ),
    (
        "controller",
        "`controller starter`, `controller user \"id\"` or `controller email \"address\"`",
    ),
    ("notify", "`notify controller on cancel`"),
    (
        "trigger",
        "`trigger property saved`, `trigger property status \"sold\"`, `trigger date address.birthday 3 days before ignore year`, `trigger email received` or `trigger activity received`",
    ),
    ("step", "`step name: kind ...`"),
];

/// Settings every step kind but `merge` and `end` takes, with their usage.
const HEADER_SETTINGS: &[(&str, &str)] = &[
    (
        "start",
        "`start after previous`, `start 2 days after previous` or `start 3 business days after previous on \"nrw\"`",
    ),
    (
        "responsible",
        "`responsible owner`, `responsible supervisor of property` or `responsible user \"id\"`",
    ),
    (
        "deadline",
        "`deadline 3 days -> email controller, 5 days -> reassign to user \"id\"`",
    ),
    (
        "concerns",
        "`concerns property, address` or `concerns nothing`",
    ),
    ("next", "`next step_name`"),
    ("allow", "`allow skip`"),
];

/// "a `task` step", "an `email` step".
fn kind_phrase(kind: &str) -> String {
    What::Kind(kind).to_string()
}

fn usage_of(table: &[(&'static str, &'static str)], word: &str) -> &'static str {
    table
        .iter()
        .find(|(w, _)| *w == word)
        .map_or("", |(_, u)| u)
}

pub(crate) fn lower_file(reader: &mut Reader<'_>, items: Vec<ProcessItem>) -> Vec<Process> {
    items
        .into_iter()
        .map(|item| lower_process(reader, item))
        .collect()
}

/// Remembers where single-use settings were first written, to report repeats.
#[derive(Default)]
struct Seen {
    first: Vec<(String, Span)>,
}

impl Seen {
    /// Whether `word` is new here; reports a repeat otherwise.
    fn once(&mut self, reader: &mut Reader<'_>, word: &Ident) -> bool {
        if let Some((_, first)) = self.first.iter().find(|(w, _)| *w == word.name) {
            reader.diagnostics.push(
                Diagnostic::new(
                    code::DUPLICATE_SETTING,
                    reader.file,
                    word.span,
                    format!("`{}` is set twice", word.name),
                    "set again here",
                )
                .with_label(*first, "first set here")
                .with_help("keep one of them"),
            );
            return false;
        }
        self.first.push((word.name.clone(), word.span));
        true
    }
}

fn unknown_setting(reader: &mut Reader<'_>, word: &Ident, owner: &str, allowed: &[&str]) {
    let suggestion = did_you_mean(&word.name, allowed.iter().copied());
    let help = match suggestion {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!(
            "{owner} takes: {}",
            allowed
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    reader.diagnostics.push(
        Diagnostic::new(
            code::UNKNOWN_SETTING,
            reader.file,
            word.span,
            format!("{owner} has no setting `{}`", word.name),
            "unknown setting",
        )
        .with_help(help),
    );
}

fn misplaced(reader: &mut Reader<'_>, span: Span, message: &str, help: &str) {
    reader.diagnostics.push(
        Diagnostic::new(
            code::UNKNOWN_SETTING,
            reader.file,
            span,
            message.to_string(),
            "not allowed here",
        )
        .with_help(help.to_string()),
    );
}

fn no_condition(reader: &mut Reader<'_>, span: Option<Span>, what: What<'_>) {
    if let Some(span) = span {
        misplaced(
            reader,
            span,
            &format!("{what} takes no `when` condition"),
            "conditions belong to `trigger` lines and `decision automatic` steps",
        );
    }
}

fn lower_process(reader: &mut Reader<'_>, item: ProcessItem) -> Process {
    let mut process = Process {
        name: item.name,
        title: item.title,
        description: None,
        active: None,
        needs: Vec::new(),
        needs_email: None,
        controller: None,
        notify_controller_on_cancel: None,
        triggers: Vec::new(),
        steps: Vec::new(),
        unreadable_steps: Vec::new(),
        span: item.span,
    };
    let mut seen = Seen::default();
    for Item { kind, span } in item.body {
        match kind {
            ItemKind::Step(step) => match lower_step(reader, step, span) {
                Ok(step) => process.steps.push(step),
                Err(name) => process.unreadable_steps.push(name),
            },
            ItemKind::Setting(setting) => {
                let word = setting.word.name.as_str();
                let single = !matches!(word, "trigger");
                if PROCESS_SETTINGS.iter().any(|(w, _)| *w == word)
                    && single
                    && !seen.once(reader, &setting.word)
                {
                    continue;
                }
                process_setting(reader, &mut process, &setting, span);
            }
            ItemKind::Deadline(_) => misplaced(
                reader,
                Span::new(span.start(), span.start() + "deadline".len()),
                "a deadline belongs to a step, not to the process",
                "move it into the step whose deadline it is",
            ),
            ItemKind::Branch { word, .. } => misplaced(
                reader,
                word,
                "a branch belongs to a decision step, not to the process",
                "move it into the `decision` step",
            ),
        }
    }
    process
}

fn process_setting(
    reader: &mut Reader<'_>,
    process: &mut Process,
    setting: &SettingItem,
    span: Span,
) {
    let word = setting.word.name.as_str();
    if word != "trigger" {
        no_condition(reader, setting.when_span, What::Word(word));
    }
    let usage = usage_of(PROCESS_SETTINGS, word);
    let mut c = Cursor::new(reader, &setting.args, What::Word(word), usage, span);
    match word {
        "description" => process.description = c.text("a text in double quotes"),
        "active" => process.active = c.flag(true, setting.word.span),
        "needs" => {
            if c.peek().is_none() {
                c.unexpected("`property`, `address` or `email`");
            }
            while c.peek().is_some() {
                let Some((what, span)) = c.one_of(&["property", "address", "email"]) else {
                    break;
                };
                match what {
                    "property" => process.needs.push(Spanned {
                        value: Record::Property,
                        span,
                    }),
                    "address" => process.needs.push(Spanned {
                        value: Record::Address,
                        span,
                    }),
                    _ => process.needs_email = Some(span),
                }
            }
        }
        "controller" => {
            let start = setting.word.span;
            process.controller = match c.one_of(&["starter", "user", "email"]) {
                Some(("starter", s)) => Some(Spanned {
                    value: Controller::Starter,
                    span: start.to(s),
                }),
                Some(("user", _)) => c.text("a user id in double quotes").map(|t| Spanned {
                    span: start.to(t.span),
                    value: Controller::User(t),
                }),
                Some(_) => c
                    .text("an e-mail address in double quotes")
                    .map(|t| Spanned {
                        span: start.to(t.span),
                        value: Controller::Email(t),
                    }),
                None => None,
            };
        }
        "notify" => {
            let ok = c.expect("controller").is_some()
                && c.expect("on").is_some()
                && c.expect("cancel").is_some();
            if ok {
                process.notify_controller_on_cancel = Some(span);
            }
        }
        "trigger" => {
            if let Some(trigger) = lower_trigger(&mut c, setting, span) {
                process.triggers.push(trigger);
            }
        }
        _ => {
            let allowed: Vec<&str> = PROCESS_SETTINGS.iter().map(|(w, _)| *w).collect();
            unknown_setting(c.reader, &setting.word, "a process", &allowed);
            return;
        }
    }
    c.finish();
}

fn lower_trigger(c: &mut Cursor<'_, '_, '_>, setting: &SettingItem, span: Span) -> Option<Trigger> {
    let (what, what_span) = c.one_of(&["property", "address", "date", "email", "activity"])?;
    let event = match what {
        "property" | "address" => {
            let record = Spanned {
                value: if what == "property" {
                    Record::Property
                } else {
                    Record::Address
                },
                span: what_span,
            };
            match c.one_of(&["saved", "status"])? {
                ("saved", _) => TriggerEvent::Saved(record),
                _ => TriggerEvent::StatusSet {
                    record,
                    value: c.text("the status value in double quotes")?,
                },
            }
        }
        "date" => {
            let field = match c.next() {
                Some(Arg::Path(segments, span)) => field_path(c.reader, segments, *span)?,
                _ => {
                    c.unexpected("a date field such as `address.birthday`");
                    return None;
                }
            };
            let offset_days = match c.peek() {
                Some(Arg::Quantity { .. }) => {
                    let delay = c.delay(false)?;
                    if delay.unit != TimeUnit::Days || delay.calendar.is_some() {
                        let message = "a date trigger counts calendar days".to_string();
                        c.report(
                            code::UNSUPPORTED_UNIT,
                            delay.span,
                            message,
                            "calendar days only",
                        );
                        return None;
                    }
                    let (direction, _) = c.one_of(&["before", "after"])?;
                    let sign = if direction == "before" { -1 } else { 1 };
                    Some(Spanned {
                        value: sign * delay.amount,
                        span: delay.span,
                    })
                }
                _ => None,
            };
            let ignore_year = match c.eat("ignore") {
                Some(s) => Some(s.to(c.expect("year")?)),
                None => None,
            };
            TriggerEvent::Date {
                field,
                offset_days,
                ignore_year,
            }
        }
        "email" => {
            c.expect("received")?;
            let feature = if c.eat("feature").is_some() {
                Some(c.text("the feature in double quotes")?)
            } else {
                None
            };
            TriggerEvent::EmailReceived { feature }
        }
        _ => {
            c.expect("received")?;
            let (mut kind, mut activity_type, mut feature) = (None, None, None);
            while let Some(word) = c
                .peek_word()
                .filter(|w| ["kind", "type", "feature"].contains(w))
            {
                let word_span = c.next().map(Arg::span).unwrap_or_default();
                let value = c.text("a value in double quotes")?;
                let slot = match word {
                    "kind" => &mut kind,
                    "type" => &mut activity_type,
                    _ => &mut feature,
                };
                if slot.is_some() {
                    let message = format!("`{word}` is given twice in one trigger");
                    c.report(code::DUPLICATE_SETTING, word_span, message, "given again");
                    return None;
                }
                *slot = Some(value);
            }
            TriggerEvent::ActivityReceived {
                kind,
                activity_type,
                feature,
            }
        }
    };
    let mut filter = None;
    let mut owner = None;
    loop {
        if let Some(word) = c.eat("filter") {
            let text = c.text("a filter id in double quotes")?;
            if filter.is_some() {
                let message = "`filter` is given twice in one trigger".to_string();
                c.report(code::DUPLICATE_SETTING, word, message, "second filter");
                return None;
            }
            filter = Some(text);
        } else if let Some(word) = c.eat("owner") {
            let who = c.responsible()?;
            if owner.is_some() {
                let message = "`owner` is given twice in one trigger".to_string();
                c.report(code::DUPLICATE_SETTING, word, message, "second owner");
                return None;
            }
            owner = Some(who);
        } else {
            break;
        }
    }
    if c.failed() {
        return None;
    }
    Some(Trigger {
        event,
        filter,
        owner,
        condition: setting.when.clone(),
        span,
    })
}

/// Lowers a step; on failure returns its name so that references to it are not reported.
fn lower_step(reader: &mut Reader<'_>, step: StepItem, span: Span) -> Result<Step, Ident> {
    let StepItem {
        name,
        kind,
        args,
        when,
        when_span,
        body,
    } = step;
    if !STEP_KINDS.contains(&kind.name.as_str()) {
        let suggestion = did_you_mean(&kind.name, STEP_KINDS.iter().copied());
        reader.diagnostics.push(
            Diagnostic::new(
                code::UNKNOWN_STEP_KIND,
                reader.file,
                kind.span,
                format!("step `{}` has the unknown kind `{}`", name.name, kind.name),
                "unknown step kind",
            )
            .with_help(match suggestion {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("the step kinds are: {}", STEP_KINDS.join(", ")),
            }),
        );
        return Err(name);
    }
    let mut header = StepHeader::default();
    let mut settings: Vec<(SettingItem, Span)> = Vec::new();
    let mut branches: Vec<(bool, Span, Ident)> = Vec::new();
    let mut seen = Seen::default();
    let bare = matches!(kind.name.as_str(), "merge" | "end");
    for Item {
        kind: item,
        span: item_span,
    } in body.unwrap_or_default()
    {
        match item {
            ItemKind::Setting(setting) => {
                let word = setting.word.name.as_str();
                if HEADER_SETTINGS.iter().any(|(w, _)| *w == word) {
                    if bare {
                        misplaced(
                            reader,
                            setting.word.span,
                            &format!("`{}` steps take no settings", kind.name),
                            &format!(
                                "a `{}` step is written on one line: `step {}: {}`",
                                kind.name, name.name, kind.name
                            ),
                        );
                    } else if seen.once(reader, &setting.word) {
                        header_setting(reader, &mut header, &setting, item_span);
                    }
                } else {
                    settings.push((setting, item_span));
                }
            }
            ItemKind::Deadline(rungs) => {
                let word = Ident {
                    name: "deadline".into(),
                    span: Span::new(item_span.start(), item_span.start() + "deadline".len()),
                };
                if bare {
                    misplaced(
                        reader,
                        word.span,
                        &format!("`{}` steps have no deadline", kind.name),
                        "remove the deadline",
                    );
                } else if seen.once(reader, &word) {
                    header.deadline = lower_deadline(reader, rungs, item_span);
                }
            }
            ItemKind::Branch { yes, word, target } => branches.push((yes, word, target)),
            ItemKind::Step(inner) => misplaced(
                reader,
                inner.name.span,
                "steps cannot be nested inside steps",
                "move the step out to the process, after this step",
            ),
        }
    }
    if kind.name != "decision" {
        for (_, word, _) in &branches {
            misplaced(
                reader,
                *word,
                &format!("{} has no yes/no branches", kind_phrase(&kind.name)),
                "branches belong to `decision` steps; use `next step` to jump",
            );
        }
        no_condition(reader, when_span, What::Kind(&kind.name));
    }
    let mut kind_reader = KindReader {
        reader,
        step: &name,
        kind: &kind,
        settings,
    };
    let lowered = kind_reader.lower(&args, when, when_span, branches);
    match lowered {
        Some(step_kind) => Ok(Step {
            name,
            kind_span: kind.span,
            kind: step_kind,
            header,
            span,
        }),
        None => Err(name),
    }
}

fn header_setting(
    reader: &mut Reader<'_>,
    header: &mut StepHeader,
    setting: &SettingItem,
    span: Span,
) {
    let word = setting.word.name.as_str();
    no_condition(reader, setting.when_span, What::Word(word));
    let mut c = Cursor::new(
        reader,
        &setting.args,
        What::Word(word),
        usage_of(HEADER_SETTINGS, word),
        span,
    );
    match word {
        "start" => {
            let delay = if c.peek_word() == Some("after") {
                None
            } else {
                c.delay(true)
            };
            if !c.failed() && c.expect("after").is_some() && c.expect("previous").is_some() {
                let delay = match (delay, c.calendar()) {
                    (Some(mut d), Some(cal)) => {
                        d.span = d.span.to(cal.span);
                        d.calendar = Some(cal);
                        Some(d)
                    }
                    (delay, _) => delay,
                };
                if let Some(d) = &delay
                    && d.unit == TimeUnit::BusinessDays
                    && d.calendar.is_none()
                {
                    let message = "business days need a calendar".to_string();
                    c.report(code::MISSING_SETTING, d.span, message, "which calendar?");
                } else if let Some(d) = &delay
                    && d.unit != TimeUnit::BusinessDays
                    && let Some(cal) = &d.calendar
                {
                    let message = "only business days are counted on a calendar".to_string();
                    c.report(code::MALFORMED_SETTING, cal.span, message, "not needed");
                } else {
                    header.start = Some(Start { delay, span });
                }
            }
        }
        "responsible" => header.responsible = c.responsible(),
        "concerns" => header.concerns = concerns(&mut c, span),
        "next" => match c.next() {
            Some(Arg::Word(target)) => header.next = Some(target.clone()),
            _ => c.unexpected("the name of a step"),
        },
        _ => {
            if c.expect("skip").is_some() {
                header.allow_skip = Some(span);
            }
        }
    }
    c.finish();
}

fn concerns(c: &mut Cursor<'_, '_, '_>, span: Span) -> Option<Concerns> {
    if c.eat("nothing").is_some() {
        return Some(Concerns {
            records: Vec::new(),
            span,
        });
    }
    let mut records = vec![c.record()?];
    while c.peek().is_some() {
        records.push(c.record()?);
    }
    Some(Concerns { records, span })
}

fn lower_deadline(reader: &mut Reader<'_>, rungs: Vec<RungItem>, span: Span) -> Option<Deadline> {
    const USAGE: &str = "`deadline 3 days`, or a ladder: `deadline 3 days -> email controller, 5 days -> remind responsible, 7 days -> reassign to user \"id\"`";
    let mut out = Vec::new();
    for rung in rungs {
        let mut c = Cursor::new(
            reader,
            &rung.args,
            What::Phrase("a deadline"),
            USAGE,
            rung.span,
        );
        let Some(after) = c.delay(false) else {
            continue;
        };
        if !c.finish() {
            continue;
        }
        let action = match &rung.action {
            None => RungAction::EmailController,
            Some(args) => {
                let mut c = Cursor::new(
                    reader,
                    args,
                    What::Phrase("a deadline action"),
                    USAGE,
                    rung.span,
                );
                let action = match c.one_of(&["email", "remind", "reassign"]) {
                    Some(("email", _)) => {
                        c.expect("controller").map(|_| RungAction::EmailController)
                    }
                    Some(("remind", _)) => c
                        .expect("responsible")
                        .map(|_| RungAction::RemindResponsible),
                    Some(_) => {
                        c.eat("to");
                        c.responsible().map(RungAction::Reassign)
                    }
                    None => None,
                };
                if !c.finish() {
                    continue;
                }
                let Some(action) = action else { continue };
                action
            }
        };
        out.push(Rung {
            after,
            action,
            span: rung.span,
        });
    }
    (!out.is_empty()).then_some(Deadline { rungs: out, span })
}

/// Lowers the kind-specific part of one step.
struct KindReader<'a, 'r, 't> {
    reader: &'r mut Reader<'t>,
    step: &'a Ident,
    kind: &'a Ident,
    settings: Vec<(SettingItem, Span)>,
}

/// The settings of each step kind beyond the common ones, with their usage.
fn kind_settings(kind: &str) -> &'static [(&'static str, &'static str)] {
    match kind {
        "task" => &[
            ("description", "`description \"...\"`"),
            ("attach", "`attach \"file name\"`"),
            ("processor", "`processor user \"id\"`"),
        ],
        "appointment" => &[
            ("type", "`type \"Viewing\"`"),
            ("all", "`all day`"),
            ("description", "`description \"...\"`"),
            ("attach", "`attach \"file name\"`"),
        ],
        "letter" => &[
            ("format", "`format word` or `format pdf`"),
            ("description", "`description \"...\"`"),
        ],
        "email" => &[
            ("signature", "`signature yes` or `signature no`"),
            ("mailbox", "`mailbox \"office@example.com\"`"),
            ("contact", "`contact \"tenant\"`"),
        ],
        "forward_email" => &[
            ("to", "`to user \"id\"` or `to \"name@example.com\"`"),
            ("cc", "`cc user \"id\"` or `cc \"name@example.com\"`"),
            ("bcc", "`bcc user \"id\"` or `bcc \"name@example.com\"`"),
            ("note", "`note \"...\"`"),
            ("signature", "`signature yes` or `signature no`"),
        ],
        "sms" => &[
            (
                "send",
                "`send anytime`, `send at 09:00` or `send between 09:00 and 18:00`",
            ),
            ("to", "`to address` or `to supervisor of address`"),
            (
                "sender",
                "`sender property supervisor`, `sender client` or `sender group`",
            ),
            ("contact", "`contact \"tenant\"`"),
        ],
        "owner_notification" => &[
            ("period", "`period all` or `period last 30 days`"),
            ("property", "`property none`"),
        ],
        "resubmission" => &[("due", "`due 7 days`")],
        "create_project" => &[
            ("title", "`title \"...\"`"),
            ("link", "`link following tasks`"),
        ],
        "follow_up" => &[("carry", "`carry property, address` or `carry nothing`")],
        "decision" => &[
            ("question", "`question \"...\"`"),
            ("notify", "`notify decider`"),
        ],
        "webhook" => &[
            ("header", "`header \"Name\" \"value\"`"),
            ("body", "`body \"\"\"...\"\"\"`"),
        ],
        "activity_log" => &[
            ("note", "`note \"...\"`"),
            ("feature", "`feature \"...\"`"),
            ("tracked", "`tracked`"),
        ],
        "portal_sync" => &[(
            "portals",
            "`portals all` or `portals \"immoscout24\", \"immowelt\"`",
        )],
        "lead_distribution" => &[
            ("capacity", "`capacity address.lead_capacity`"),
            ("respect", "`respect absence` or `respect absence no`"),
            ("activity", "`activity kind \"lead\" type \"assigned\"`"),
        ],
        _ => &[],
    }
}

/// How each kind's head is written, for help lines.
fn head_usage(kind: &str) -> &'static str {
    match kind {
        "task" => "`task \"Subject\"`",
        "appointment" => "`appointment \"Subject\"`",
        "letter" => "`letter template \"id\"`",
        "email" => {
            "`email template \"id\"`, optionally followed by `automatic` or `automatic at 09:00`"
        }
        "forward_email" => {
            "`forward_email`, optionally followed by `automatic` or `automatic at 09:00`"
        }
        "sms" => "`sms \"text\"` or `sms template \"id\"`, optionally followed by `automatic`",
        "owner_notification" => {
            "`owner_notification email template \"id\"` or `owner_notification letter template \"id\"`"
        }
        "resubmission" => "`resubmission \"reason\"`",
        "write_values" => {
            "`write_values property.field = value` or `write_values property.field manual`"
        }
        "create_project" => "`create_project template \"id\"`",
        "assign_project" => "`assign_project` or `assign_project \"comment\"`",
        "assign_address" => "`assign_address` or `assign_address without property`",
        "assign_property" => "`assign_property` or `assign_property address from \"tenant\"`",
        "follow_up" => "`follow_up other_process`",
        "decision" => {
            "`decision manual \"Question?\"`, `decision by email \"Question?\"` or `decision automatic when <condition>`"
        }
        "webhook" => {
            "`webhook service`, `webhook service(parameter: value)` or `webhook post \"https://...\"`"
        }
        "set_status" => "`set_status property \"sold\"`",
        "activity_log" => "`activity_log kind \"phone\" type \"call\"`",
        "portal_sync" => {
            "`portal_sync publish` or `portal_sync remove`, optionally followed by `automatic`"
        }
        "lead_distribution" => {
            "`lead_distribution among group \"sales\"` or `lead_distribution among users \"a\", \"b\"`"
        }
        "merge" => "`merge`",
        _ => "`end`",
    }
}

impl<'a, 'r, 't> KindReader<'a, 'r, 't> {
    fn head<'c>(&'c mut self, args: &'c [Arg]) -> Cursor<'c, 'c, 't> {
        Cursor::new(
            self.reader,
            args,
            What::Kind(&self.kind.name),
            head_usage(&self.kind.name),
            self.kind
                .span
                .to(args.last().map_or(self.kind.span, Arg::span)),
        )
    }

    /// Takes the kind's settings out, reporting unknown ones and repeats of single ones.
    fn settings(&mut self, repeatable: &[&str]) -> Vec<(SettingItem, Span)> {
        let known = kind_settings(&self.kind.name);
        let mut seen = Seen::default();
        let mut out = Vec::new();
        for (setting, span) in std::mem::take(&mut self.settings) {
            let word = setting.word.name.as_str();
            if !known.iter().any(|(w, _)| *w == word) {
                let allowed: Vec<&str> = known
                    .iter()
                    .map(|(w, _)| *w)
                    .chain(HEADER_SETTINGS.iter().map(|(w, _)| *w))
                    .collect();
                let owner = kind_phrase(&self.kind.name);
                unknown_setting(self.reader, &setting.word, &owner, &allowed);
                continue;
            }
            if !repeatable.contains(&word) && !seen.once(self.reader, &setting.word) {
                continue;
            }
            no_condition(self.reader, setting.when_span, What::Word(word));
            out.push((setting, span));
        }
        out
    }

    fn cursor<'c>(&'c mut self, setting: &'c SettingItem, span: Span) -> Cursor<'c, 'c, 't> {
        let word = setting.word.name.as_str();
        let usage = kind_settings(&self.kind.name)
            .iter()
            .find(|(w, _)| *w == word)
            .map_or("", |(_, u)| *u);
        Cursor::new(self.reader, &setting.args, What::Word(word), usage, span)
    }

    fn text_setting(&mut self, setting: &SettingItem, span: Span) -> Option<Text> {
        let mut c = self.cursor(setting, span);
        let text = c.text("a text in double quotes");
        c.finish().then_some(text).flatten()
    }

    fn recipient(c: &mut Cursor<'_, '_, '_>) -> Option<Recipient> {
        if c.eat("user").is_some() {
            return c.text("a user id in double quotes").map(Recipient::User);
        }
        c.text("`user \"id\"` or an e-mail address in double quotes")
            .map(Recipient::Address)
    }

    fn lower(
        &mut self,
        args: &[Arg],
        when: Option<Expr>,
        when_span: Option<Span>,
        branches: Vec<(bool, Span, Ident)>,
    ) -> Option<StepKind> {
        let kind = self.kind.name.clone();
        match kind.as_str() {
            "task" => {
                let mut c = self.head(args);
                let subject = c.text("the task's subject in double quotes");
                let ok = c.finish();
                let mut task = Task {
                    subject: subject?,
                    description: None,
                    attachments: Vec::new(),
                    processor: None,
                };
                for (s, span) in self.settings(&["attach"]) {
                    match s.word.name.as_str() {
                        "description" => task.description = self.text_setting(&s, span),
                        "attach" => task.attachments.extend(self.text_setting(&s, span)),
                        _ => {
                            let mut c = self.cursor(&s, span);
                            if c.expect("user").is_some() {
                                task.processor = c.text("a user id in double quotes");
                            }
                            c.finish();
                        }
                    }
                }
                ok.then_some(StepKind::Task(task))
            }
            "appointment" => {
                let mut c = self.head(args);
                let subject = c.text("the appointment's subject in double quotes");
                let ok = c.finish();
                let mut appointment = Appointment {
                    subject: subject?,
                    appointment_type: None,
                    all_day: None,
                    description: None,
                    attachments: Vec::new(),
                };
                for (s, span) in self.settings(&["attach"]) {
                    match s.word.name.as_str() {
                        "type" => appointment.appointment_type = self.text_setting(&s, span),
                        "description" => appointment.description = self.text_setting(&s, span),
                        "attach" => appointment.attachments.extend(self.text_setting(&s, span)),
                        _ => {
                            let mut c = self.cursor(&s, span);
                            if c.expect("day").is_some() && c.finish() {
                                appointment.all_day = Some(span);
                            }
                        }
                    }
                }
                ok.then_some(StepKind::Appointment(appointment))
            }
            "letter" => {
                let mut c = self.head(args);
                let template = c.template("the letter template's id in double quotes");
                let ok = c.finish();
                let mut letter = Letter {
                    template: template?,
                    format: None,
                    description: None,
                };
                for (s, span) in self.settings(&[]) {
                    if s.word.name == "description" {
                        letter.description = self.text_setting(&s, span);
                    } else {
                        let mut c = self.cursor(&s, span);
                        letter.format = c.one_of(&["word", "pdf"]).map(|(w, span)| Spanned {
                            value: if w == "word" {
                                LetterFormat::Word
                            } else {
                                LetterFormat::Pdf
                            },
                            span,
                        });
                        c.finish();
                    }
                }
                ok.then_some(StepKind::Letter(letter))
            }
            "email" => {
                let mut c = self.head(args);
                let template = c.template("the e-mail template's id in double quotes");
                let (mode, _) = c.send_mode(true);
                let ok = c.finish();
                let mut email = Email {
                    template: template?,
                    mode,
                    signature: None,
                    mailbox: None,
                    contact: None,
                };
                for (s, span) in self.settings(&[]) {
                    match s.word.name.as_str() {
                        "signature" => {
                            let mut c = self.cursor(&s, span);
                            email.signature = c.flag(true, s.word.span);
                            c.finish();
                        }
                        "mailbox" => email.mailbox = self.text_setting(&s, span),
                        _ => email.contact = self.text_setting(&s, span),
                    }
                }
                ok.then_some(StepKind::Email(email))
            }
            "forward_email" => {
                let mut c = self.head(args);
                let (mode, _) = c.send_mode(true);
                let ok = c.finish();
                let mut forward = ForwardEmail {
                    mode,
                    signature: None,
                    to: None,
                    cc: Vec::new(),
                    bcc: Vec::new(),
                    note: None,
                };
                for (s, span) in self.settings(&["cc", "bcc"]) {
                    let word = s.word.name.clone();
                    if word == "note" {
                        forward.note = self.text_setting(&s, span);
                        continue;
                    }
                    let mut c = self.cursor(&s, span);
                    match word.as_str() {
                        "signature" => forward.signature = c.flag(true, s.word.span),
                        "to" => forward.to = Self::recipient(&mut c),
                        "cc" => forward.cc.extend(Self::recipient(&mut c)),
                        _ => forward.bcc.extend(Self::recipient(&mut c)),
                    }
                    c.finish();
                }
                ok.then_some(StepKind::ForwardEmail(forward))
            }
            "sms" => {
                let mut c = self.head(args);
                let text = if c.eat("template").is_some() {
                    c.text("the SMS template's id in double quotes")
                        .map(SmsText::Template)
                } else {
                    c.text("the SMS text in double quotes").map(SmsText::Inline)
                };
                let automatic = c.eat("automatic");
                if automatic.is_none() {
                    c.eat("manual");
                }
                let ok = c.finish();
                let mut sms = Sms {
                    text: text?,
                    automatic,
                    window: None,
                    to: None,
                    sender: None,
                    contact: None,
                };
                for (s, span) in self.settings(&[]) {
                    let word = s.word.name.clone();
                    if word == "contact" {
                        sms.contact = self.text_setting(&s, span);
                        continue;
                    }
                    let mut c = self.cursor(&s, span);
                    match word.as_str() {
                        "send" => {
                            sms.window = match c.one_of(&["anytime", "at", "between"]) {
                                Some(("anytime", w)) => Some(Spanned {
                                    value: SmsWindow::Anytime,
                                    span: w,
                                }),
                                Some(("at", _)) => c.time().map(|t| Spanned {
                                    value: SmsWindow::At(t),
                                    span,
                                }),
                                Some(_) => {
                                    let from = c.time();
                                    let to = c.expect("and").and_then(|_| c.time());
                                    from.zip(to).map(|(a, b)| Spanned {
                                        value: SmsWindow::Between(a, b),
                                        span,
                                    })
                                }
                                None => None,
                            };
                        }
                        "to" => {
                            sms.to = match c.one_of(&["address", "supervisor"]) {
                                Some(("address", w)) => Some(Spanned {
                                    value: SmsRecipient::Address,
                                    span: w,
                                }),
                                Some(_) => {
                                    let ok =
                                        c.expect("of").is_some() && c.expect("address").is_some();
                                    ok.then_some(Spanned {
                                        value: SmsRecipient::AddressSupervisor,
                                        span,
                                    })
                                }
                                None => None,
                            };
                        }
                        _ => {
                            sms.sender = match c.one_of(&["property", "client", "group"]) {
                                Some(("property", _)) => c.expect("supervisor").map(|_| Spanned {
                                    value: SmsSender::PropertySupervisor,
                                    span,
                                }),
                                Some(("client", w)) => Some(Spanned {
                                    value: SmsSender::Client,
                                    span: w,
                                }),
                                Some((_, w)) => Some(Spanned {
                                    value: SmsSender::Group,
                                    span: w,
                                }),
                                None => None,
                            };
                        }
                    }
                    c.finish();
                }
                ok.then_some(StepKind::Sms(sms))
            }
            "owner_notification" => {
                let mut c = self.head(args);
                let channel = c.one_of(&["email", "letter"]).map(|(w, span)| Spanned {
                    value: if w == "email" {
                        Channel::Email
                    } else {
                        Channel::Letter
                    },
                    span,
                });
                let template =
                    channel.and_then(|_| c.template("the template's id in double quotes"));
                let (mode, mode_span) = c.send_mode(true);
                let ok = c.finish();
                let mut notification = OwnerNotification {
                    channel: channel?,
                    template: template?,
                    mode,
                    mode_span,
                    period: None,
                    without_property: None,
                };
                for (s, span) in self.settings(&[]) {
                    let mut c = self.cursor(&s, span);
                    if s.word.name == "period" {
                        notification.period = match c.one_of(&["all", "last"]) {
                            Some(("all", w)) => Some(Spanned {
                                value: Period::All,
                                span: w,
                            }),
                            Some(_) => c.delay(false).and_then(|d| {
                                if d.unit == TimeUnit::Days {
                                    Some(Spanned {
                                        value: Period::LastDays(d.amount),
                                        span: d.span,
                                    })
                                } else {
                                    let message = "a reporting period is counted in calendar days"
                                        .to_string();
                                    c.report(
                                        code::UNSUPPORTED_UNIT,
                                        d.span,
                                        message,
                                        "calendar days only",
                                    );
                                    None
                                }
                            }),
                            None => None,
                        };
                    } else if c.expect("none").is_some() {
                        notification.without_property = Some(span);
                    }
                    c.finish();
                }
                ok.then_some(StepKind::OwnerNotification(notification))
            }
            "resubmission" => {
                let mut c = self.head(args);
                let reason = c.text("the reason in double quotes");
                let ok = c.finish();
                let mut resubmission = Resubmission {
                    reason: reason?,
                    due: None,
                };
                for (s, span) in self.settings(&[]) {
                    let mut c = self.cursor(&s, span);
                    resubmission.due = c.delay(false);
                    c.finish();
                }
                ok.then_some(StepKind::Resubmission(resubmission))
            }
            "write_values" => {
                self.settings(&[]);
                let mut c = self.head(args);
                let write = match c.next() {
                    Some(Arg::Assign {
                        path,
                        path_span,
                        value,
                        ..
                    }) => field_path(c.reader, path, *path_span).map(|target| WriteValues {
                        target,
                        value: Some(value.clone()),
                    }),
                    Some(Arg::Path(segments, span)) => {
                        let target = field_path(c.reader, segments, *span);
                        match c.eat("manual") {
                            Some(_) => target.map(|target| WriteValues {
                                target,
                                value: None,
                            }),
                            None => {
                                c.unexpected("`= value` or `manual`");
                                None
                            }
                        }
                    }
                    _ => {
                        c.unexpected("a field such as `property.purchase_price`");
                        None
                    }
                };
                let ok = c.finish();
                ok.then_some(StepKind::WriteValues(write?))
            }
            "create_project" => {
                let mut c = self.head(args);
                let template = c.template("the project template's id in double quotes");
                let ok = c.finish();
                let mut project = CreateProject {
                    template: template?,
                    title: None,
                    link_following_tasks: None,
                };
                for (s, span) in self.settings(&[]) {
                    if s.word.name == "title" {
                        project.title = self.text_setting(&s, span);
                    } else {
                        let mut c = self.cursor(&s, span);
                        if c.expect("following").is_some()
                            && c.expect("tasks").is_some()
                            && c.finish()
                        {
                            project.link_following_tasks = Some(span);
                        }
                    }
                }
                ok.then_some(StepKind::CreateProject(project))
            }
            "assign_project" => {
                self.settings(&[]);
                let mut c = self.head(args);
                let comment = c.opt_text();
                c.finish()
                    .then_some(StepKind::AssignProject(AssignProject { comment }))
            }
            "assign_address" => {
                self.settings(&[]);
                let mut c = self.head(args);
                let without_property = match c.eat("without") {
                    Some(s) => c.expect("property").map(|e| s.to(e)),
                    None => None,
                };
                c.finish()
                    .then_some(StepKind::AssignAddress(AssignAddress { without_property }))
            }
            "assign_property" => {
                self.settings(&[]);
                let mut c = self.head(args);
                let address_from = match c.eat("address") {
                    Some(_) => c.expect("from").and_then(|_| {
                        c.text("the link's name in double quotes, such as \"tenant\"")
                    }),
                    None => None,
                };
                c.finish()
                    .then_some(StepKind::AssignProperty(AssignProperty { address_from }))
            }
            "follow_up" => {
                let mut c = self.head(args);
                let process = match c.next() {
                    Some(Arg::Word(w)) => Some(w.clone()),
                    _ => {
                        c.unexpected("the name of a process");
                        None
                    }
                };
                let ok = c.finish();
                let mut follow_up = FollowUp {
                    process: process?,
                    carry: None,
                };
                for (s, span) in self.settings(&[]) {
                    let mut c = self.cursor(&s, span);
                    follow_up.carry = concerns(&mut c, span);
                    c.finish();
                }
                ok.then_some(StepKind::FollowUp(follow_up))
            }
            "decision" => self.decision(args, when, when_span, branches),
            "merge" | "end" => {
                self.settings(&[]);
                let c = self.head(args);
                let ok = c.finish();
                ok.then_some(if kind == "merge" {
                    StepKind::Merge
                } else {
                    StepKind::End
                })
            }
            "webhook" => self.webhook(args),
            "set_status" => {
                self.settings(&[]);
                let mut c = self.head(args);
                let record = c.record();
                let value = record.and_then(|_| c.text("the status value in double quotes"));
                let ok = c.finish();
                ok.then_some(StepKind::SetStatus(SetStatus {
                    record: record?,
                    value: value?,
                }))
            }
            "activity_log" => {
                let mut c = self.head(args);
                let kind = c
                    .expect("kind")
                    .and_then(|_| c.text("the activity kind in double quotes"));
                let activity_type = match c.eat("type") {
                    Some(_) => c.text("the activity type in double quotes"),
                    None => None,
                };
                let ok = c.finish();
                let mut log = ActivityLog {
                    kind: kind?,
                    activity_type,
                    note: None,
                    features: Vec::new(),
                    tracked: None,
                };
                for (s, span) in self.settings(&["feature"]) {
                    match s.word.name.as_str() {
                        "note" => log.note = self.text_setting(&s, span),
                        "feature" => log.features.extend(self.text_setting(&s, span)),
                        _ => {
                            if self.cursor(&s, span).finish() {
                                log.tracked = Some(span);
                            }
                        }
                    }
                }
                ok.then_some(StepKind::ActivityLog(log))
            }
            "portal_sync" => {
                let mut c = self.head(args);
                let action = c.one_of(&["publish", "remove"]).map(|(w, span)| Spanned {
                    value: if w == "publish" {
                        PortalAction::Publish
                    } else {
                        PortalAction::Remove
                    },
                    span,
                });
                let automatic = c.eat("automatic");
                if automatic.is_none() {
                    c.eat("manual");
                }
                let ok = c.finish();
                let mut sync = PortalSync {
                    action: action?,
                    automatic,
                    portals: Vec::new(),
                };
                for (s, span) in self.settings(&[]) {
                    let mut c = self.cursor(&s, span);
                    if c.eat("all").is_none() {
                        sync.portals
                            .extend(c.text("a portal id in double quotes or `all`"));
                        while c.peek().is_some() && !c.failed() {
                            sync.portals.extend(c.text("a portal id in double quotes"));
                        }
                    }
                    c.finish();
                }
                ok.then_some(StepKind::PortalSync(sync))
            }
            "lead_distribution" => self.lead_distribution(args),
            _ => None,
        }
    }

    fn decision(
        &mut self,
        args: &[Arg],
        when: Option<Expr>,
        when_span: Option<Span>,
        branches: Vec<(bool, Span, Ident)>,
    ) -> Option<StepKind> {
        let mut c = self.head(args);
        let mode = match c.one_of(&["manual", "by", "automatic"]) {
            Some(("manual", span)) => Some(Spanned {
                value: DecisionMode::Manual,
                span,
            }),
            Some(("by", span)) => c.expect("email").map(|e| Spanned {
                value: DecisionMode::ByEmail,
                span: span.to(e),
            }),
            Some((_, span)) => Some(Spanned {
                value: DecisionMode::Automatic,
                span,
            }),
            None => None,
        };
        let question = c.opt_text();
        let ok = c.finish();
        let mode = mode?;
        match (mode.value, &when) {
            (DecisionMode::Automatic, None) => {
                self.reader.diagnostics.push(
                    Diagnostic::new(
                        code::MISSING_SETTING,
                        self.reader.file,
                        mode.span,
                        format!("the automatic decision `{}` has no condition", self.step.name),
                        "decides on what?",
                    )
                    .with_help("write `decision automatic when <condition>`, for example `when property.purchase_price > 500000 EUR`"),
                );
                return None;
            }
            (DecisionMode::Manual | DecisionMode::ByEmail, Some(_)) => {
                no_condition(self.reader, when_span, What::Phrase("a manual decision"));
            }
            _ => {}
        }
        let mut decision = Decision {
            mode,
            question,
            condition: when,
            yes: None,
            no: None,
            notify_decider: None,
        };
        for (s, span) in self.settings(&[]) {
            if s.word.name == "question" {
                let text = self.text_setting(&s, span);
                if decision.question.is_some() {
                    misplaced(
                        self.reader,
                        s.word.span,
                        "the question is already written in the step's head",
                        "keep one of them",
                    );
                } else {
                    decision.question = text;
                }
            } else {
                let mut c = self.cursor(&s, span);
                if c.expect("decider").is_some() && c.finish() {
                    decision.notify_decider = Some(span);
                }
            }
        }
        for (yes, word, target) in branches {
            let slot = if yes {
                &mut decision.yes
            } else {
                &mut decision.no
            };
            if let Some(first) = slot {
                let first_span = first.span;
                self.reader.diagnostics.push(
                    Diagnostic::new(
                        code::DUPLICATE_SETTING,
                        self.reader.file,
                        word.to(target.span),
                        format!(
                            "decision `{}` has two `{}` branches",
                            self.step.name,
                            if yes { "yes" } else { "no" }
                        ),
                        "second branch",
                    )
                    .with_label(first_span, "first branch goes here")
                    .with_help(
                        "a decision has one `yes` and one `no` branch; add a decision for more",
                    ),
                );
            } else {
                *slot = Some(target);
            }
        }
        if matches!(
            decision.mode.value,
            DecisionMode::Manual | DecisionMode::ByEmail
        ) && decision.question.is_none()
        {
            self.reader.diagnostics.push(
                Diagnostic::new(
                    code::MISSING_SETTING,
                    self.reader.file,
                    decision.mode.span,
                    format!("decision `{}` asks no question", self.step.name),
                    "which question?",
                )
                .with_help(format!(
                    "write the question after the mode: `decision {} \"Is the owner ready?\"`",
                    if decision.mode.value == DecisionMode::Manual {
                        "manual"
                    } else {
                        "by email"
                    }
                )),
            );
            return None;
        }
        ok.then_some(StepKind::Decision(decision))
    }

    fn webhook(&mut self, args: &[Arg]) -> Option<StepKind> {
        let settings = self.settings(&["header"]);
        let mut c = self.head(args);
        let webhook = match c.next() {
            Some(Arg::Word(w))
                if [
                    "get", "post", "put", "patch", "delete", "GET", "POST", "PUT", "PATCH",
                    "DELETE",
                ]
                .contains(&w.name.as_str()) =>
            {
                let method = match w.name.to_ascii_lowercase().as_str() {
                    "get" => HttpMethod::Get,
                    "post" => HttpMethod::Post,
                    "put" => HttpMethod::Put,
                    "patch" => HttpMethod::Patch,
                    _ => HttpMethod::Delete,
                };
                let url = c.text("the URL in double quotes");
                url.map(|url| Webhook::Free {
                    method: Spanned {
                        value: method,
                        span: w.span,
                    },
                    url,
                    headers: Vec::new(),
                    body: None,
                })
            }
            Some(Arg::Word(service)) => Some(Webhook::Service {
                service: service.clone(),
                parameter: None,
            }),
            Some(Arg::Call { name, args, span }) => match args.as_slice() {
                [] => Some(Webhook::Service {
                    service: name.clone(),
                    parameter: None,
                }),
                [(Some(param), value)] => Some(Webhook::Service {
                    service: name.clone(),
                    parameter: Some((param.clone(), value.clone())),
                }),
                [(None, value)] => {
                    let message = "the webhook parameter needs a name".to_string();
                    c.report(
                        code::MALFORMED_SETTING,
                        value.span,
                        message,
                        "which parameter?",
                    );
                    None
                }
                _ => {
                    let message = "a marketplace webhook passes at most one parameter".to_string();
                    c.report(
                        code::MALFORMED_SETTING,
                        *span,
                        message,
                        "more than one parameter",
                    );
                    None
                }
            },
            _ => {
                c.unexpected("a service name or an HTTP method and URL");
                None
            }
        };
        let ok = c.finish();
        let mut webhook = webhook?;
        for (s, span) in settings {
            match &mut webhook {
                Webhook::Free { headers, body, .. } => {
                    let word = s.word.name.clone();
                    let mut c = self.cursor(&s, span);
                    if word == "header" {
                        let name = c.text("the header name in double quotes");
                        let value = name
                            .as_ref()
                            .and_then(|_| c.text("the header value in double quotes"));
                        headers.extend(name.zip(value));
                    } else {
                        *body =
                            c.text("the body in double quotes (use `\"\"\"` for several lines)");
                    }
                    c.finish();
                }
                Webhook::Service { service, .. } => {
                    let message = format!(
                        "`{}` belongs to freely configured webhooks; the service `{}` defines its own request",
                        s.word.name, service.name
                    );
                    misplaced(
                        self.reader,
                        s.word.span,
                        &message,
                        "remove it, or call a URL: `webhook post \"https://...\"`",
                    );
                }
            }
        }
        ok.then_some(StepKind::Webhook(webhook))
    }

    fn lead_distribution(&mut self, args: &[Arg]) -> Option<StepKind> {
        let mut c = self.head(args);
        let pool = match c
            .expect("among")
            .and_then(|_| c.one_of(&["group", "users"]))
        {
            Some(("group", _)) => c.text("a group id in double quotes").map(Pool::Group),
            Some(_) => {
                let mut users = Vec::new();
                users.extend(c.text("a user id in double quotes"));
                while c.peek().is_some() && !c.failed() {
                    users.extend(c.text("a user id in double quotes"));
                }
                Some(Pool::Users(users))
            }
            None => None,
        };
        let ok = c.finish();
        let mut lead = LeadDistribution {
            pool: pool?,
            capacity: None,
            respect_absence: None,
            activity_kind: None,
            activity_type: None,
        };
        for (s, span) in self.settings(&[]) {
            let word = s.word.name.clone();
            let mut c = self.cursor(&s, span);
            match word.as_str() {
                "capacity" => match c.next() {
                    Some(Arg::Path(segments, span)) => {
                        lead.capacity = field_path(c.reader, segments, *span)
                    }
                    _ => c.unexpected("a field such as `address.lead_capacity`"),
                },
                "respect" => {
                    if c.expect("absence").is_some() {
                        lead.respect_absence = c.flag(true, span);
                    }
                }
                _ => {
                    if c.expect("kind").is_some() {
                        lead.activity_kind = c.text("the activity kind in double quotes");
                        if c.eat("type").is_some() {
                            lead.activity_type = c.text("the activity type in double quotes");
                        }
                    }
                }
            }
            c.finish();
        }
        ok.then_some(StepKind::LeadDistribution(lead))
    }
}
