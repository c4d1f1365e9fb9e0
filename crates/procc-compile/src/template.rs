//! One process template of the AST, as the plan carries it: defaults filled in, steps referred
//! to by index, the flow explicit.

use std::collections::HashMap;

use procc_diagnostics::{SourceFile, Span};
use procc_plan as plan;
use procc_syntax::ast;

fn location(file: &SourceFile, span: Span) -> plan::SourceLocation {
    let at = file.line_col(span.start());
    plan::SourceLocation {
        file: file.name().replace('\\', "/"),
        line: u32::try_from(at.line).unwrap_or(u32::MAX),
        column: u32::try_from(at.column).unwrap_or(u32::MAX),
    }
}

fn record(record: ast::Record) -> plan::Record {
    match record {
        ast::Record::Property => plan::Record::Property,
        ast::Record::Address => plan::Record::Address,
    }
}

fn module(module: ast::Module) -> plan::Module {
    match module {
        ast::Module::Address => plan::Module::Address,
        ast::Module::Property => plan::Module::Property,
        ast::Module::Project => plan::Module::Project,
    }
}

fn time_unit(unit: ast::TimeUnit) -> plan::TimeUnit {
    match unit {
        ast::TimeUnit::Days => plan::TimeUnit::Days,
        ast::TimeUnit::Hours => plan::TimeUnit::Hours,
        ast::TimeUnit::BusinessDays => plan::TimeUnit::BusinessDays,
    }
}

fn delay(delay: &ast::Delay) -> plan::Delay {
    plan::Delay {
        amount: u32::try_from(delay.amount).unwrap_or(u32::MAX),
        unit: time_unit(delay.unit),
        calendar: delay.calendar.as_ref().map(|c| c.value.clone()),
    }
}

fn responsible(responsible: &ast::Responsible) -> plan::Responsible {
    match &responsible.who {
        ast::ResponsibleKind::Owner => plan::Responsible::Owner,
        ast::ResponsibleKind::Supervisor(r) => plan::Responsible::Supervisor(record(*r)),
        ast::ResponsibleKind::User(u) => plan::Responsible::User(u.value.clone()),
    }
}

fn time(time: &ast::Spanned<ast::TimeOfDay>) -> String {
    format!("{:02}:{:02}", time.value.hour, time.value.minute)
}

fn send_at(mode: &ast::SendMode) -> Option<String> {
    match mode {
        ast::SendMode::Automatic { at } => at.as_ref().map(time),
        ast::SendMode::Manual => None,
    }
}

fn text(t: &Option<ast::Text>) -> Option<String> {
    t.as_ref().map(|t| t.value.clone())
}

fn records(concerns: &ast::Concerns) -> Vec<plan::Record> {
    let mut out: Vec<plan::Record> = concerns.records.iter().map(|r| record(r.value)).collect();
    out.sort();
    out.dedup();
    out
}

/// Lowers expressions; bare names are fields of `names_module` (the triggering record inside
/// `changed(...)`).
struct Exprs {
    names_module: plan::Module,
}

impl Exprs {
    fn lower(&self, expr: &ast::Expr) -> plan::Expr {
        match &expr.kind {
            ast::ExprKind::Literal(literal) => plan::Expr::Value {
                value: value(literal),
            },
            ast::ExprKind::Field(path) => plan::Expr::Field {
                module: module(path.module.value),
                field: path.field.name.clone(),
            },
            ast::ExprKind::Name(name) => plan::Expr::Field {
                module: self.names_module,
                field: name.name.clone(),
            },
            ast::ExprKind::Unary(op, operand) => {
                let operand = Box::new(self.lower(operand));
                match op {
                    ast::UnaryOp::Not => plan::Expr::Not { operand },
                    ast::UnaryOp::Neg => plan::Expr::Neg { operand },
                }
            }
            ast::ExprKind::Binary(op, left, right) => plan::Expr::Binary {
                op: binary(*op),
                left: Box::new(self.lower(left)),
                right: Box::new(self.lower(right)),
            },
            ast::ExprKind::Call(name, args) => plan::Expr::Call {
                function: match name.name.as_str() {
                    "changed" => plan::Function::Changed,
                    "in_filter" => plan::Function::InFilter,
                    "today" => plan::Function::Today,
                    "days_since" => plan::Function::DaysSince,
                    _ => plan::Function::IsSet,
                },
                args: args.iter().map(|a| self.lower(a)).collect(),
            },
            ast::ExprKind::List(items) => plan::Expr::List {
                items: items.iter().map(|i| self.lower(i)).collect(),
            },
        }
    }
}

fn value(literal: &ast::Literal) -> plan::Value {
    match literal {
        ast::Literal::Text(t) => plan::Value::Text(t.clone()),
        ast::Literal::Number(n) => plan::Value::Number(*n),
        ast::Literal::Money(n) => plan::Value::Money(*n),
        ast::Literal::Area(n) => plan::Value::Area(*n),
        ast::Literal::Percent(n) => plan::Value::Percent(*n),
        ast::Literal::Bool(b) => plan::Value::Bool(*b),
        ast::Literal::Date { year, month, day } => plan::Value::Date(
            chrono::NaiveDate::from_ymd_opt(*year, *month, *day).unwrap_or_default(),
        ),
        ast::Literal::Duration { amount, unit } => plan::Value::Duration {
            amount: *amount,
            unit: time_unit(*unit),
        },
    }
}

fn binary(op: ast::BinaryOp) -> plan::BinaryOp {
    match op {
        ast::BinaryOp::Or => plan::BinaryOp::Or,
        ast::BinaryOp::And => plan::BinaryOp::And,
        ast::BinaryOp::Eq => plan::BinaryOp::Eq,
        ast::BinaryOp::Ne => plan::BinaryOp::Ne,
        ast::BinaryOp::Lt => plan::BinaryOp::Lt,
        ast::BinaryOp::Le => plan::BinaryOp::Le,
        ast::BinaryOp::Gt => plan::BinaryOp::Gt,
        ast::BinaryOp::Ge => plan::BinaryOp::Ge,
        ast::BinaryOp::Add => plan::BinaryOp::Add,
        ast::BinaryOp::Sub => plan::BinaryOp::Sub,
        ast::BinaryOp::Mul => plan::BinaryOp::Mul,
        ast::BinaryOp::Div => plan::BinaryOp::Div,
        ast::BinaryOp::In => plan::BinaryOp::In,
    }
}

fn recipient(r: &ast::Recipient) -> plan::Recipient {
    match r {
        ast::Recipient::User(u) => plan::Recipient::User(u.value.clone()),
        ast::Recipient::Address(a) => plan::Recipient::Address(a.value.clone()),
    }
}

fn trigger(t: &ast::Trigger) -> plan::Trigger {
    let (event, names_module) = match &t.event {
        ast::TriggerEvent::Saved(r) => (
            plan::TriggerEvent::Saved {
                record: record(r.value),
            },
            module(ast::Module::of(r.value)),
        ),
        ast::TriggerEvent::StatusSet { record: r, value } => (
            plan::TriggerEvent::StatusSet {
                record: record(r.value),
                value: value.value.clone(),
            },
            module(ast::Module::of(r.value)),
        ),
        ast::TriggerEvent::Date {
            field,
            offset_days,
            ignore_year,
        } => (
            plan::TriggerEvent::Date {
                module: module(field.module.value),
                field: field.field.name.clone(),
                offset_days: offset_days.map_or(0, |o| o.value),
                ignore_year: ignore_year.is_some(),
            },
            module(field.module.value),
        ),
        ast::TriggerEvent::EmailReceived { feature } => (
            plan::TriggerEvent::EmailReceived {
                feature: text(feature),
            },
            plan::Module::Address,
        ),
        ast::TriggerEvent::ActivityReceived {
            kind,
            activity_type,
            feature,
        } => (
            plan::TriggerEvent::ActivityReceived {
                activity_kind: text(kind),
                activity_type: text(activity_type),
                feature: text(feature),
            },
            plan::Module::Address,
        ),
    };
    let exprs = Exprs { names_module };
    plan::Trigger {
        event,
        filter: text(&t.filter),
        owner: t.owner.as_ref().map(responsible),
        condition: t.condition.as_ref().map(|c| exprs.lower(c)),
    }
}

/// Whether the runtime carries the step out by itself.
fn automatic(kind: &ast::StepKind) -> bool {
    use ast::StepKind as K;
    match kind {
        K::Task(_)
        | K::Appointment(_)
        | K::Letter(_)
        | K::Resubmission(_)
        | K::AssignProject(_)
        | K::AssignAddress(_)
        | K::AssignProperty(_) => false,
        K::Email(e) => matches!(e.mode, ast::SendMode::Automatic { .. }),
        K::ForwardEmail(f) => matches!(f.mode, ast::SendMode::Automatic { .. }),
        K::Sms(s) => s.automatic.is_some(),
        K::OwnerNotification(n) => {
            n.channel.value == ast::Channel::Email
                && matches!(n.mode, ast::SendMode::Automatic { .. })
        }
        K::WriteValues(w) => w.value.is_some(),
        K::Decision(d) => d.mode.value == ast::DecisionMode::Automatic,
        K::PortalSync(p) => p.automatic.is_some(),
        K::CreateProject(_)
        | K::FollowUp(_)
        | K::Merge
        | K::Webhook(_)
        | K::SetStatus(_)
        | K::ActivityLog(_)
        | K::LeadDistribution(_)
        | K::End => true,
    }
}

fn action(kind: &ast::StepKind) -> plan::Action {
    use ast::StepKind as K;
    let exprs = Exprs {
        names_module: plan::Module::Property,
    };
    match kind {
        K::Task(t) => plan::Action::Task {
            subject: t.subject.value.clone(),
            description: text(&t.description),
            attachments: t.attachments.iter().map(|a| a.value.clone()).collect(),
            processor: text(&t.processor),
        },
        K::Appointment(a) => plan::Action::Appointment {
            subject: a.subject.value.clone(),
            appointment_type: text(&a.appointment_type),
            all_day: a.all_day.is_some(),
            description: text(&a.description),
            attachments: a.attachments.iter().map(|a| a.value.clone()).collect(),
        },
        K::Letter(l) => plan::Action::Letter {
            template: l.template.value.clone(),
            format: match l.format.map(|f| f.value) {
                Some(ast::LetterFormat::Word) => plan::LetterFormat::Word,
                _ => plan::LetterFormat::Pdf,
            },
            description: text(&l.description),
        },
        K::Email(e) => plan::Action::Email {
            template: e.template.value.clone(),
            send_at: send_at(&e.mode),
            signature: e.signature.is_none_or(|s| s.value),
            mailbox: text(&e.mailbox),
            contact: text(&e.contact),
        },
        K::ForwardEmail(f) => plan::Action::ForwardEmail {
            send_at: send_at(&f.mode),
            signature: f.signature.is_none_or(|s| s.value),
            to: f.to.as_ref().map(recipient),
            cc: f.cc.iter().map(recipient).collect(),
            bcc: f.bcc.iter().map(recipient).collect(),
            note: text(&f.note),
        },
        K::Sms(s) => plan::Action::Sms {
            text: match &s.text {
                ast::SmsText::Inline(t) => plan::SmsText::Inline(t.value.clone()),
                ast::SmsText::Template(t) => plan::SmsText::Template(t.value.clone()),
            },
            window: match s.window.as_ref().map(|w| &w.value) {
                None | Some(ast::SmsWindow::Anytime) => plan::SmsWindow::Anytime,
                Some(ast::SmsWindow::At(t)) => plan::SmsWindow::At { time: time(t) },
                Some(ast::SmsWindow::Between(a, b)) => plan::SmsWindow::Between {
                    from: time(a),
                    to: time(b),
                },
            },
            to: match s.to.map(|t| t.value) {
                Some(ast::SmsRecipient::AddressSupervisor) => plan::SmsRecipient::AddressSupervisor,
                _ => plan::SmsRecipient::Address,
            },
            sender: match s.sender.map(|t| t.value) {
                Some(ast::SmsSender::Client) => plan::SmsSender::Client,
                Some(ast::SmsSender::Group) => plan::SmsSender::Group,
                _ => plan::SmsSender::PropertySupervisor,
            },
            contact: text(&s.contact),
        },
        K::OwnerNotification(n) => plan::Action::OwnerNotification {
            channel: match n.channel.value {
                ast::Channel::Email => plan::Channel::Email,
                ast::Channel::Letter => plan::Channel::Letter,
            },
            template: n.template.value.clone(),
            send_at: send_at(&n.mode),
            period_days: match n.period.as_ref().map(|p| &p.value) {
                Some(ast::Period::LastDays(days)) => Some(u32::try_from(*days).unwrap_or(u32::MAX)),
                _ => None,
            },
            with_property: n.without_property.is_none(),
        },
        K::Resubmission(r) => plan::Action::Resubmission {
            reason: r.reason.value.clone(),
            due: r.due.as_ref().map(delay),
        },
        K::WriteValues(w) => plan::Action::WriteValues {
            module: module(w.target.module.value),
            field: w.target.field.name.clone(),
            value: w.value.as_ref().map(|v| exprs.lower(v)),
        },
        K::CreateProject(p) => plan::Action::CreateProject {
            template: p.template.value.clone(),
            title: text(&p.title),
            link_following_tasks: p.link_following_tasks.is_some(),
        },
        K::AssignProject(p) => plan::Action::AssignProject {
            comment: text(&p.comment),
        },
        K::AssignAddress(a) => plan::Action::AssignAddress {
            property_link: a.without_property.is_none(),
        },
        K::AssignProperty(a) => plan::Action::AssignProperty {
            address_from: text(&a.address_from),
        },
        K::FollowUp(f) => plan::Action::FollowUp {
            template: f.process.name.clone(),
            carry: f.carry.as_ref().map_or_else(
                || vec![plan::Record::Property, plan::Record::Address],
                records,
            ),
        },
        K::Decision(d) => plan::Action::Decision {
            mode: match d.mode.value {
                ast::DecisionMode::Manual => plan::DecisionMode::Manual,
                ast::DecisionMode::ByEmail => plan::DecisionMode::ByEmail,
                ast::DecisionMode::Automatic => plan::DecisionMode::Automatic,
            },
            question: text(&d.question),
            condition: d.condition.as_ref().map(|c| exprs.lower(c)),
            notify_decider: d.notify_decider.is_some(),
        },
        K::Merge => plan::Action::Merge,
        K::Webhook(ast::Webhook::Service { service, parameter }) => plan::Action::ServiceWebhook {
            service: service.name.clone(),
            parameter: parameter
                .as_ref()
                .map(|(name, value)| plan::WebhookParameter {
                    name: name.name.clone(),
                    value: exprs.lower(value),
                }),
        },
        K::Webhook(ast::Webhook::Free {
            method,
            url,
            headers,
            body,
        }) => plan::Action::FreeWebhook {
            method: match method.value {
                ast::HttpMethod::Get => plan::HttpMethod::Get,
                ast::HttpMethod::Post => plan::HttpMethod::Post,
                ast::HttpMethod::Put => plan::HttpMethod::Put,
                ast::HttpMethod::Patch => plan::HttpMethod::Patch,
                ast::HttpMethod::Delete => plan::HttpMethod::Delete,
            },
            url: url.value.clone(),
            headers: headers
                .iter()
                .map(|(name, value)| plan::Header {
                    name: name.value.clone(),
                    value: value.value.clone(),
                })
                .collect(),
            body: text(body),
        },
        K::SetStatus(s) => plan::Action::SetStatus {
            record: record(s.record.value),
            value: s.value.value.clone(),
        },
        K::ActivityLog(a) => plan::Action::ActivityLog {
            activity_kind: a.kind.value.clone(),
            activity_type: text(&a.activity_type),
            note: text(&a.note),
            features: a.features.iter().map(|f| f.value.clone()).collect(),
            tracked: a.tracked.is_some(),
        },
        K::PortalSync(p) => plan::Action::PortalSync {
            action: match p.action.value {
                ast::PortalAction::Publish => plan::PortalAction::Publish,
                ast::PortalAction::Remove => plan::PortalAction::Remove,
            },
            portals: p.portals.iter().map(|p| p.value.clone()).collect(),
        },
        K::LeadDistribution(l) => plan::Action::LeadDistribution {
            pool: match &l.pool {
                ast::Pool::Group(g) => plan::Pool::Group(g.value.clone()),
                ast::Pool::Users(users) => {
                    plan::Pool::Users(users.iter().map(|u| u.value.clone()).collect())
                }
            },
            capacity_field: l.capacity.as_ref().map(|c| c.field.name.clone()),
            respect_absence: l.respect_absence.is_none_or(|r| r.value),
            activity_kind: text(&l.activity_kind),
            activity_type: text(&l.activity_type),
        },
        K::End => plan::Action::End,
    }
}

/// Lowers a checked process.
pub(crate) fn lower(file: &SourceFile, process: &ast::Process) -> plan::Template {
    let index: HashMap<&str, u32> = process
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.name.as_str(), u32::try_from(i).unwrap_or(u32::MAX)))
        .collect();
    let target = |name: &Option<ast::Ident>| {
        name.as_ref()
            .and_then(|n| index.get(n.name.as_str()).copied())
    };
    let count = process.steps.len();
    let mut steps: Vec<plan::Step> = process
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let fall_through = || {
                if i + 1 < count {
                    plan::Next::Step {
                        step: u32::try_from(i + 1).unwrap_or(u32::MAX),
                    }
                } else {
                    plan::Next::End
                }
            };
            let next = match &step.kind {
                ast::StepKind::End => plan::Next::End,
                ast::StepKind::Decision(d) => match (target(&d.yes), target(&d.no)) {
                    (Some(yes), Some(no)) => plan::Next::Branch { yes, no },
                    _ => fall_through(),
                },
                _ => match target(&step.header.next) {
                    Some(step) => plan::Next::Step { step },
                    None => fall_through(),
                },
            };
            plan::Step {
                name: step.name.name.clone(),
                action: action(&step.kind),
                start_after: step
                    .header
                    .start
                    .as_ref()
                    .and_then(|s| s.delay.as_ref())
                    .map(delay),
                responsible: step
                    .header
                    .responsible
                    .as_ref()
                    .map_or(plan::Responsible::Owner, responsible),
                deadline: step
                    .header
                    .deadline
                    .as_ref()
                    .map(|d| {
                        d.rungs
                            .iter()
                            .map(|r| plan::Rung {
                                after: delay(&r.after),
                                action: match &r.action {
                                    ast::RungAction::EmailController => {
                                        plan::RungAction::EmailController
                                    }
                                    ast::RungAction::RemindResponsible => {
                                        plan::RungAction::RemindResponsible
                                    }
                                    ast::RungAction::Reassign(who) => {
                                        plan::RungAction::Reassign(responsible(who))
                                    }
                                },
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                concerns: step.header.concerns.as_ref().map_or_else(
                    || vec![plan::Record::Property, plan::Record::Address],
                    records,
                ),
                skippable: step.header.allow_skip.is_some(),
                automatic: automatic(&step.kind),
                next,
                incoming: Vec::new(),
                source: location(file, step.span),
            }
        })
        .collect();
    let edges: Vec<(u32, u32)> = steps
        .iter()
        .enumerate()
        .flat_map(|(from, step)| {
            let from = u32::try_from(from).unwrap_or(u32::MAX);
            match step.next {
                plan::Next::Step { step } => vec![(from, step)],
                plan::Next::Branch { yes, no } if yes == no => vec![(from, yes)],
                plan::Next::Branch { yes, no } => vec![(from, yes), (from, no)],
                plan::Next::End => Vec::new(),
            }
        })
        .collect();
    for (from, to) in edges {
        if let Some(step) = steps.get_mut(to as usize) {
            step.incoming.push(from);
        }
    }
    let mut needs: Vec<plan::Record> = process.needs.iter().map(|n| record(n.value)).collect();
    needs.sort();
    needs.dedup();
    plan::Template {
        name: process.name.name.clone(),
        title: text(&process.title),
        description: text(&process.description),
        active: process.active.is_some_and(|a| a.value),
        needs,
        needs_email: process.needs_email.is_some(),
        controller: match process.controller.as_ref().map(|c| &c.value) {
            None | Some(ast::Controller::Starter) => plan::Controller::Starter,
            Some(ast::Controller::User(u)) => plan::Controller::User(u.value.clone()),
            Some(ast::Controller::Email(e)) => plan::Controller::Email(e.value.clone()),
        },
        notify_controller_on_cancel: process.notify_controller_on_cancel.is_some(),
        triggers: process.triggers.iter().map(trigger).collect(),
        steps,
        source: location(file, process.name.span),
    }
}
