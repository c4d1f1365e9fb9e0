//! From the syntax tree to the layout tree: the canonical text of every setting and step head,
//! in the canonical order, with the source positions that comments are attached by.

use procc_diagnostics::Span;
use procc_syntax::ast::*;

use crate::expr::expr;
use crate::layout::{Kind, Node, Tree};
use crate::text::{amount, block, delay, quoted, time};

/// Indentation of one level.
pub(crate) const INDENT: usize = 2;

/// Builds the layout tree of a file.
pub(crate) fn build(source: &str, file: &File) -> Tree {
    let mut builder = Builder {
        source,
        comment_starts: file
            .comments
            .iter()
            .map(|c| (c.span.end(), c.span.start()))
            .collect(),
        tree: Tree::default(),
    };
    for process in &file.processes {
        let id = builder.process(process);
        builder.tree.top.push(id);
    }
    builder.tree
}

struct Builder<'s> {
    source: &'s str,
    /// Where each comment starts, by where it ends.
    comment_starts: std::collections::HashMap<usize, usize>,
    tree: Tree,
}

/// The first `{` in `source[from..to]` outside texts and comments.
fn open_brace(source: &str, from: usize, to: usize) -> Option<usize> {
    let bytes = source.as_bytes();
    let to = to.min(bytes.len());
    let mut i = from;
    while i < to {
        match bytes[i] {
            b'{' => return Some(i),
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < to && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i = source
                    .get(i + 3..)
                    .and_then(|rest| rest.find("\"\"\""))
                    .map_or(to, |end| i + 3 + end + 3);
            }
            b'"' => {
                i += 1;
                while i < to && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

fn record(record: Record) -> &'static str {
    record.name()
}

fn records(records: &[Spanned<Record>]) -> String {
    records
        .iter()
        .map(|r| record(r.value))
        .collect::<Vec<_>>()
        .join(", ")
}

fn responsible(r: &Responsible, indent: usize) -> String {
    match &r.who {
        ResponsibleKind::Owner => "owner".into(),
        ResponsibleKind::Supervisor(rec) => format!("supervisor of {}", record(*rec)),
        ResponsibleKind::User(user) => format!("user {}", quoted(&user.value, indent)),
    }
}

fn field(path: &FieldPath) -> String {
    format!("{}.{}", path.module.value.name(), path.field.name)
}

fn send_mode(mode: &SendMode) -> String {
    match mode {
        SendMode::Manual => String::new(),
        SendMode::Automatic { at: None } => " automatic".into(),
        SendMode::Automatic { at: Some(at) } => format!(" automatic at {}", time(at.value)),
    }
}

fn flag(word: &str, value: bool) -> String {
    if value {
        word.to_string()
    } else {
        format!("{word} no")
    }
}

fn yes_no(word: &str, value: bool) -> String {
    format!("{word} {}", if value { "yes" } else { "no" })
}

fn recipient(r: &Recipient, indent: usize) -> (String, Span) {
    match r {
        Recipient::User(t) => (format!("user {}", quoted(&t.value, indent)), t.span),
        Recipient::Address(t) => (quoted(&t.value, indent), t.span),
    }
}

/// HTTP method words: a marketplace service with one of these names needs `()` after it.
const METHOD_WORDS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "GET", "POST", "PUT", "PATCH", "DELETE",
];

impl Builder<'_> {
    /// The smallest range covering `spans`, or an empty range past the end when there are none
    /// (such a node attracts no comments).
    fn range(&self, spans: &[Span]) -> (usize, usize) {
        let start = spans.iter().map(|s| s.start()).min();
        let end = spans.iter().map(|s| self.end_of(*s)).max();
        match (start, end) {
            (Some(start), Some(end)) => (start, end),
            _ => (usize::MAX, usize::MAX),
        }
    }

    /// Where a span really ends: the span of an item whose last part is optional reaches over
    /// the comment at the end of its line (pest skips it while looking for more), so that
    /// comment and the blanks before it are cut off.
    fn end_of(&self, span: Span) -> usize {
        let (start, mut end) = (span.start(), span.end());
        let bytes = self.source.as_bytes();
        loop {
            if let Some(&comment) = self.comment_starts.get(&end)
                && comment >= start
                && comment < end
            {
                end = comment;
                continue;
            }
            // `\r` counts as a blank to the grammar (a comment may end with blanks too).
            if end > start && matches!(bytes.get(end - 1), Some(b' ' | b'\t' | b'\r')) {
                end -= 1;
                continue;
            }
            return end;
        }
    }

    fn line(&mut self, text: String, spans: &[Span]) -> usize {
        let range = self.range(spans);
        self.tree.push(Node::line(Kind::Line, text, range))
    }

    fn text_line(&mut self, word: &str, t: &Text, indent: usize) -> usize {
        self.line(format!("{word} {}", quoted(&t.value, indent)), &[t.span])
    }

    fn process(&mut self, p: &Process) -> usize {
        const IN: usize = INDENT;
        let mut children = Vec::new();
        if let Some(d) = &p.description {
            children.push(self.text_line("description", d, IN));
        }
        if let Some(active) = &p.active {
            children.push(self.line(flag("active", active.value), &[active.span]));
        }
        if !p.needs.is_empty() || p.needs_email.is_some() {
            let mut words: Vec<&str> = p.needs.iter().map(|r| record(r.value)).collect();
            let mut spans: Vec<Span> = p.needs.iter().map(|r| r.span).collect();
            if let Some(email) = p.needs_email {
                words.push("email");
                spans.push(email);
            }
            children.push(self.line(format!("needs {}", words.join(", ")), &spans));
        }
        if let Some(controller) = &p.controller {
            let text = match &controller.value {
                Controller::Starter => "controller starter".to_string(),
                Controller::User(u) => format!("controller user {}", quoted(&u.value, IN)),
                Controller::Email(e) => format!("controller email {}", quoted(&e.value, IN)),
            };
            children.push(self.line(text, &[controller.span]));
        }
        if let Some(span) = p.notify_controller_on_cancel {
            children.push(self.line("notify controller on cancel".into(), &[span]));
        }
        for trigger in &p.triggers {
            let text = self.trigger(trigger);
            children.push(self.line(text, &[trigger.span]));
        }
        let settings = children.len();
        for step in &p.steps {
            children.push(self.step(step));
        }

        let mut head = format!("process {}", p.name.name);
        if let Some(title) = &p.title {
            head.push(' ');
            head.push_str(&quoted(&title.value, 0));
        }
        let (start, end) = self.range(&[p.span]);
        let open = open_brace(self.source, start, end);
        let block = open.map(|open| (open, end.saturating_sub(1)));
        self.tree.push(Node {
            kind: Kind::Process,
            text: head,
            start,
            end,
            head_anchor: open.unwrap_or(end.saturating_sub(1)),
            block,
            children,
            settings,
        })
    }

    fn trigger(&self, t: &Trigger) -> String {
        const IN: usize = INDENT;
        let mut out = String::from("trigger ");
        match &t.event {
            TriggerEvent::Saved(rec) => {
                out.push_str(record(rec.value));
                out.push_str(" saved");
            }
            TriggerEvent::StatusSet { record: rec, value } => {
                out.push_str(&format!(
                    "{} status {}",
                    record(rec.value),
                    quoted(&value.value, IN)
                ));
            }
            TriggerEvent::Date {
                field: path,
                offset_days,
                ignore_year,
            } => {
                out.push_str("date ");
                out.push_str(&field(path));
                if let Some(offset) = offset_days {
                    let days = amount(
                        i64::try_from(offset.value.unsigned_abs()).unwrap_or(i64::MAX),
                        TimeUnit::Days,
                    );
                    let direction = if offset.value < 0 { "before" } else { "after" };
                    out.push_str(&format!(" {days} {direction}"));
                }
                if ignore_year.is_some() {
                    out.push_str(" ignore year");
                }
            }
            TriggerEvent::EmailReceived { feature } => {
                out.push_str("email received");
                if let Some(f) = feature {
                    out.push_str(&format!(" feature {}", quoted(&f.value, IN)));
                }
            }
            TriggerEvent::ActivityReceived {
                kind,
                activity_type,
                feature,
            } => {
                out.push_str("activity received");
                for (word, value) in [
                    ("kind", kind),
                    ("type", activity_type),
                    ("feature", feature),
                ] {
                    if let Some(v) = value {
                        out.push_str(&format!(" {word} {}", quoted(&v.value, IN)));
                    }
                }
            }
        }
        if let Some(filter) = &t.filter {
            out.push_str(&format!(" filter {}", quoted(&filter.value, IN)));
        }
        if let Some(owner) = &t.owner {
            out.push_str(&format!(" owner {}", responsible(owner, IN)));
        }
        if let Some(condition) = &t.condition {
            out.push_str(" when ");
            out.push_str(&expr(condition, IN));
        }
        out
    }

    fn step(&mut self, step: &Step) -> usize {
        let mut children = self.header(&step.header);
        let head_args = self.kind(step, &mut children);
        let mut head = format!("step {}: {}", step.name.name, step.kind.keyword());
        if !head_args.is_empty() {
            head.push(' ');
            head.push_str(&head_args);
        }
        // The decision's branches come last.
        if let StepKind::Decision(d) = &step.kind {
            for (word, target) in [("yes", &d.yes), ("no", &d.no)] {
                if let Some(target) = target {
                    children.push(self.line(format!("{word} -> {}", target.name), &[target.span]));
                }
            }
        }
        let (start, end) = self.range(&[step.span]);
        let open = open_brace(self.source, start, end);
        self.tree.push(Node {
            kind: Kind::Step,
            text: head,
            start,
            end,
            head_anchor: open.unwrap_or(end.saturating_sub(1)),
            block: open.map(|open| (open, end.saturating_sub(1))),
            children,
            settings: 0,
        })
    }

    /// The settings every step kind shares, in canonical order.
    fn header(&mut self, h: &StepHeader) -> Vec<usize> {
        const IN: usize = 2 * INDENT;
        let mut out = Vec::new();
        if let Some(start) = &h.start {
            let text = match &start.delay {
                None => "start after previous".to_string(),
                Some(d) => {
                    let mut text = format!("start {} after previous", amount(d.amount, d.unit));
                    if let Some(calendar) = &d.calendar {
                        text.push_str(&format!(" on {}", quoted(&calendar.value, IN)));
                    }
                    text
                }
            };
            out.push(self.line(text, &[start.span]));
        }
        if let Some(r) = &h.responsible {
            out.push(self.line(format!("responsible {}", responsible(r, IN)), &[r.span]));
        }
        if let Some(c) = &h.concerns {
            let text = if c.records.is_empty() {
                "concerns nothing".to_string()
            } else {
                format!("concerns {}", records(&c.records))
            };
            out.push(self.line(text, &[c.span]));
        }
        if let Some(d) = &h.deadline {
            // A single rung that e-mails the controller reads best as `deadline 3 days`; in a
            // ladder every rung names its action.
            let ladder = d.rungs.len() > 1;
            let rungs: Vec<String> = d
                .rungs
                .iter()
                .map(|rung| {
                    let after = delay(&rung.after, IN);
                    match &rung.action {
                        RungAction::EmailController if !ladder => after,
                        RungAction::EmailController => format!("{after} -> email controller"),
                        RungAction::RemindResponsible => {
                            format!("{after} -> remind responsible")
                        }
                        RungAction::Reassign(r) => {
                            format!("{after} -> reassign to {}", responsible(r, IN))
                        }
                    }
                })
                .collect();
            let mut spans = vec![d.span];
            spans.extend(d.rungs.iter().map(|r| r.span));
            out.push(self.line(format!("deadline {}", rungs.join(", ")), &spans));
        }
        if let Some(next) = &h.next {
            out.push(self.line(format!("next {}", next.name), &[next.span]));
        }
        if let Some(span) = h.allow_skip {
            out.push(self.line("allow skip".into(), &[span]));
        }
        out
    }

    /// The head arguments of a step kind; pushes its settings onto `children`.
    fn kind(&mut self, step: &Step, children: &mut Vec<usize>) -> String {
        const HEAD: usize = INDENT;
        const IN: usize = 2 * INDENT;
        match &step.kind {
            StepKind::Task(t) => {
                if let Some(d) = &t.description {
                    children.push(self.text_line("description", d, IN));
                }
                for a in &t.attachments {
                    children.push(self.text_line("attach", a, IN));
                }
                if let Some(p) = &t.processor {
                    children.push(self.text_line("processor user", p, IN));
                }
                quoted(&t.subject.value, HEAD)
            }
            StepKind::Appointment(a) => {
                if let Some(t) = &a.appointment_type {
                    children.push(self.text_line("type", t, IN));
                }
                if let Some(span) = a.all_day {
                    children.push(self.line("all day".into(), &[span]));
                }
                if let Some(d) = &a.description {
                    children.push(self.text_line("description", d, IN));
                }
                for t in &a.attachments {
                    children.push(self.text_line("attach", t, IN));
                }
                quoted(&a.subject.value, HEAD)
            }
            StepKind::Letter(l) => {
                if let Some(f) = &l.format {
                    let word = match f.value {
                        LetterFormat::Word => "word",
                        LetterFormat::Pdf => "pdf",
                    };
                    children.push(self.line(format!("format {word}"), &[f.span]));
                }
                if let Some(d) = &l.description {
                    children.push(self.text_line("description", d, IN));
                }
                format!("template {}", quoted(&l.template.value, HEAD))
            }
            StepKind::Email(e) => {
                if let Some(s) = &e.signature {
                    children.push(self.line(yes_no("signature", s.value), &[s.span]));
                }
                if let Some(m) = &e.mailbox {
                    children.push(self.text_line("mailbox", m, IN));
                }
                if let Some(c) = &e.contact {
                    children.push(self.text_line("contact", c, IN));
                }
                format!(
                    "template {}{}",
                    quoted(&e.template.value, HEAD),
                    send_mode(&e.mode)
                )
            }
            StepKind::ForwardEmail(f) => {
                let lists = [
                    ("to", f.to.iter().collect::<Vec<_>>()),
                    ("cc", f.cc.iter().collect()),
                    ("bcc", f.bcc.iter().collect()),
                ];
                for (word, recipients) in lists {
                    for r in recipients {
                        let (text, span) = recipient(r, IN);
                        children.push(self.line(format!("{word} {text}"), &[span]));
                    }
                }
                if let Some(n) = &f.note {
                    children.push(self.text_line("note", n, IN));
                }
                if let Some(s) = &f.signature {
                    children.push(self.line(yes_no("signature", s.value), &[s.span]));
                }
                send_mode(&f.mode).trim_start().to_string()
            }
            StepKind::Sms(s) => {
                if let Some(w) = &s.window {
                    let text = match &w.value {
                        SmsWindow::Anytime => "send anytime".to_string(),
                        SmsWindow::At(t) => format!("send at {}", time(t.value)),
                        SmsWindow::Between(a, b) => {
                            format!("send between {} and {}", time(a.value), time(b.value))
                        }
                    };
                    children.push(self.line(text, &[w.span]));
                }
                if let Some(to) = &s.to {
                    let text = match to.value {
                        SmsRecipient::Address => "to address",
                        SmsRecipient::AddressSupervisor => "to supervisor of address",
                    };
                    children.push(self.line(text.into(), &[to.span]));
                }
                if let Some(sender) = &s.sender {
                    let text = match sender.value {
                        SmsSender::PropertySupervisor => "sender property supervisor",
                        SmsSender::Client => "sender client",
                        SmsSender::Group => "sender group",
                    };
                    children.push(self.line(text.into(), &[sender.span]));
                }
                if let Some(c) = &s.contact {
                    children.push(self.text_line("contact", c, IN));
                }
                let mut head = match &s.text {
                    SmsText::Inline(t) => quoted(&t.value, HEAD),
                    SmsText::Template(t) => format!("template {}", quoted(&t.value, HEAD)),
                };
                if s.automatic.is_some() {
                    head.push_str(" automatic");
                }
                head
            }
            StepKind::OwnerNotification(o) => {
                if let Some(p) = &o.period {
                    let text = match p.value {
                        Period::All => "period all".to_string(),
                        Period::LastDays(n) => format!("period last {}", amount(n, TimeUnit::Days)),
                    };
                    children.push(self.line(text, &[p.span]));
                }
                if let Some(span) = o.without_property {
                    children.push(self.line("property none".into(), &[span]));
                }
                let channel = match o.channel.value {
                    Channel::Email => "email",
                    Channel::Letter => "letter",
                };
                format!(
                    "{channel} template {}{}",
                    quoted(&o.template.value, HEAD),
                    send_mode(&o.mode)
                )
            }
            StepKind::Resubmission(r) => {
                if let Some(d) = &r.due {
                    children.push(self.line(format!("due {}", delay(d, IN)), &[d.span]));
                }
                quoted(&r.reason.value, HEAD)
            }
            StepKind::WriteValues(w) => match &w.value {
                Some(value) => format!("{} = {}", field(&w.target), expr(value, HEAD)),
                None => format!("{} manual", field(&w.target)),
            },
            StepKind::CreateProject(c) => {
                if let Some(t) = &c.title {
                    children.push(self.text_line("title", t, IN));
                }
                if let Some(span) = c.link_following_tasks {
                    children.push(self.line("link following tasks".into(), &[span]));
                }
                format!("template {}", quoted(&c.template.value, HEAD))
            }
            StepKind::AssignProject(a) => a
                .comment
                .as_ref()
                .map_or_else(String::new, |c| quoted(&c.value, HEAD)),
            StepKind::AssignAddress(a) => {
                if a.without_property.is_some() {
                    "without property".into()
                } else {
                    String::new()
                }
            }
            StepKind::AssignProperty(a) => a.address_from.as_ref().map_or_else(String::new, |t| {
                format!("address from {}", quoted(&t.value, HEAD))
            }),
            StepKind::FollowUp(f) => {
                if let Some(c) = &f.carry {
                    let text = if c.records.is_empty() {
                        "carry nothing".to_string()
                    } else {
                        format!("carry {}", records(&c.records))
                    };
                    children.push(self.line(text, &[c.span]));
                }
                f.process.name.clone()
            }
            StepKind::Decision(d) => {
                // The question is printed in the head; when it was written as a setting inside
                // the block, its comments stay at the top of the block.
                if let Some(q) = &d.question
                    && open_brace(self.source, step.span.start(), q.span.start()).is_some()
                {
                    let ghost = Node::line(Kind::Ghost, String::new(), self.range(&[q.span]));
                    let id = self.tree.push(ghost);
                    children.insert(0, id);
                }
                if let Some(span) = d.notify_decider {
                    children.push(self.line("notify decider".into(), &[span]));
                }
                let mut head = match d.mode.value {
                    DecisionMode::Manual => "manual".to_string(),
                    DecisionMode::ByEmail => "by email".to_string(),
                    DecisionMode::Automatic => "automatic".to_string(),
                };
                if let Some(q) = &d.question {
                    head.push(' ');
                    head.push_str(&quoted(&q.value, HEAD));
                }
                if let Some(c) = &d.condition {
                    head.push_str(" when ");
                    head.push_str(&expr(c, HEAD));
                }
                head
            }
            StepKind::Merge | StepKind::End => String::new(),
            StepKind::Webhook(Webhook::Service { service, parameter }) => match parameter {
                Some((name, value)) => {
                    format!("{}({}: {})", service.name, name.name, expr(value, HEAD))
                }
                None if METHOD_WORDS.contains(&service.name.as_str()) => {
                    format!("{}()", service.name)
                }
                None => service.name.clone(),
            },
            StepKind::Webhook(Webhook::Free {
                method,
                url,
                headers,
                body,
            }) => {
                for (name, value) in headers {
                    children.push(self.line(
                        format!(
                            "header {} {}",
                            quoted(&name.value, IN),
                            quoted(&value.value, IN)
                        ),
                        &[name.span, value.span],
                    ));
                }
                if let Some(b) = body {
                    children.push(self.line(format!("body {}", block(&b.value, IN)), &[b.span]));
                }
                let method = match method.value {
                    HttpMethod::Get => "get",
                    HttpMethod::Post => "post",
                    HttpMethod::Put => "put",
                    HttpMethod::Patch => "patch",
                    HttpMethod::Delete => "delete",
                };
                format!("{method} {}", quoted(&url.value, HEAD))
            }
            StepKind::SetStatus(s) => {
                format!(
                    "{} {}",
                    record(s.record.value),
                    quoted(&s.value.value, HEAD)
                )
            }
            StepKind::ActivityLog(a) => {
                if let Some(n) = &a.note {
                    children.push(self.text_line("note", n, IN));
                }
                for f in &a.features {
                    children.push(self.text_line("feature", f, IN));
                }
                if let Some(span) = a.tracked {
                    children.push(self.line("tracked".into(), &[span]));
                }
                let mut head = format!("kind {}", quoted(&a.kind.value, HEAD));
                if let Some(t) = &a.activity_type {
                    head.push_str(&format!(" type {}", quoted(&t.value, HEAD)));
                }
                head
            }
            StepKind::PortalSync(p) => {
                if !p.portals.is_empty() {
                    let names: Vec<String> =
                        p.portals.iter().map(|t| quoted(&t.value, IN)).collect();
                    let spans: Vec<Span> = p.portals.iter().map(|t| t.span).collect();
                    children.push(self.line(format!("portals {}", names.join(", ")), &spans));
                }
                let action = match p.action.value {
                    PortalAction::Publish => "publish",
                    PortalAction::Remove => "remove",
                };
                if p.automatic.is_some() {
                    format!("{action} automatic")
                } else {
                    action.to_string()
                }
            }
            StepKind::LeadDistribution(l) => {
                if let Some(c) = &l.capacity {
                    children.push(self.line(format!("capacity {}", field(c)), &[c.span]));
                }
                if let Some(r) = &l.respect_absence {
                    children.push(self.line(flag("respect absence", r.value), &[r.span]));
                }
                if let Some(k) = &l.activity_kind {
                    let mut text = format!("activity kind {}", quoted(&k.value, IN));
                    let mut spans = vec![k.span];
                    if let Some(t) = &l.activity_type {
                        text.push_str(&format!(" type {}", quoted(&t.value, IN)));
                        spans.push(t.span);
                    }
                    children.push(self.line(text, &spans));
                }
                match &l.pool {
                    Pool::Group(g) => format!("among group {}", quoted(&g.value, HEAD)),
                    Pool::Users(users) => {
                        let names: Vec<String> =
                            users.iter().map(|u| quoted(&u.value, HEAD)).collect();
                        format!("among users {}", names.join(", "))
                    }
                }
            }
        }
    }
}
