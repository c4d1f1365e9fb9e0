//! Parsing `.scenario` text (grammar/scenario.pest) into the typed model.

use chrono::{NaiveDate, NaiveTime};
use pest::Parser;
use pest::iterators::Pair;
use procc_diagnostics::{Diagnostic, FileId, Span, code};
use procc_plan::Module;

use crate::model::*;

#[derive(pest_derive::Parser)]
#[grammar = "../../grammar/scenario.pest"]
struct ScenarioParser;

/// Parses a scenario file. On a syntax error the file has no scenarios and the diagnostic says
/// where the text stops making sense.
pub fn parse(file: FileId, text: &str) -> (ScenarioFile, Vec<Diagnostic>) {
    let pairs = match ScenarioParser::parse(Rule::file, text) {
        Ok(pairs) => pairs,
        Err(error) => {
            return (
                ScenarioFile::default(),
                vec![syntax_error(file, text, &error)],
            );
        }
    };
    let mut lower = Lower {
        file,
        diagnostics: Vec::new(),
    };
    let mut scenarios = Vec::new();
    for pair in pairs.flatten().filter(|p| p.as_rule() == Rule::scenario) {
        if let Some(s) = lower.scenario(pair) {
            scenarios.push(s);
        }
    }
    (ScenarioFile { scenarios }, lower.diagnostics)
}

fn syntax_error(file: FileId, text: &str, error: &pest::error::Error<Rule>) -> Diagnostic {
    let at = match error.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let expected = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<String> = positives.iter().filter_map(|r| describe(*r)).collect();
            names.sort();
            names.dedup();
            names
        }
        pest::error::ErrorVariant::CustomError { message } => vec![message.clone()],
    };
    let end = text[at..]
        .find(|c: char| c.is_whitespace())
        .map_or(text.len(), |n| at + n);
    let found = &text[at..end];
    let found = if found.is_empty() {
        if at >= text.len() {
            "the end of the file".to_string()
        } else {
            "the end of the line".to_string()
        }
    } else {
        format!("`{found}`")
    };
    let message = match expected.as_slice() {
        [] => format!("unexpected {found}"),
        [one] => format!("expected {one}, found {found}"),
        many => format!("expected one of {}, found {found}", many.join(", ")),
    };
    Diagnostic::new(
        code::SCENARIO_SYNTAX,
        file,
        Span::new(at, end.max(at)),
        message,
        "the scenario cannot be read from here",
    )
    .with_help("each statement stands on its own line; docs/testing.md lists them all")
}

/// The author's word for a rule, or `None` for rules that never appear alone.
fn describe(rule: Rule) -> Option<String> {
    let name = format!("{rule:?}");
    if let Some(word) = name.strip_prefix("kw_") {
        return Some(format!("`{word}`"));
    }
    Some(
        match rule {
            Rule::EOI => "the end of the file",
            Rule::statement => "a statement",
            Rule::string => "a text in quotes",
            Rule::name | Rule::target => "a name",
            Rule::record_id => "a record id",
            Rule::value | Rule::quantity => "a value",
            Rule::number | Rule::times => "a number",
            Rule::date => "a date (2026-12-01)",
            Rule::time => "a time (09:00)",
            Rule::duration => "a duration (3d, 4h, 30m, 2w)",
            Rule::module => "`address`, `property` or `project`",
            Rule::step_state => "a step state",
            Rule::instance_state => "a process state",
            Rule::effect_kind | Rule::effect_plural => "an effect",
            Rule::yes_no => "`yes` or `no`",
            Rule::fields => "`{`",
            Rule::field => "a field",
            _ => return None,
        }
        .to_string(),
    )
}

/// The span of a pair, without the blanks the grammar skipped at its end.
fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    let trimmed = pair.as_str().trim_end_matches([' ', '\t']).len();
    Span::new(s.start(), s.start() + trimmed)
}

fn unquote(raw: &str) -> String {
    let inner = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn spanned_text(pair: &Pair<'_, Rule>) -> Spanned<String> {
    let value = match pair.as_rule() {
        Rule::string => unquote(pair.as_str()),
        Rule::record_id | Rule::target | Rule::by_clause | Rule::to_clause => {
            match pair
                .clone()
                .into_inner()
                .find(|p| matches!(p.as_rule(), Rule::string | Rule::name))
            {
                Some(inner) => return spanned_text(&inner),
                None => pair.as_str().to_string(),
            }
        }
        Rule::template_clause | Rule::subject_clause | Rule::owner_clause => {
            match pair
                .clone()
                .into_inner()
                .find(|p| p.as_rule() == Rule::string)
            {
                Some(inner) => return spanned_text(&inner),
                None => pair.as_str().to_string(),
            }
        }
        _ => pair.as_str().to_string(),
    };
    Spanned {
        value,
        span: span_of(pair),
    }
}

fn module_of(pair: &Pair<'_, Rule>) -> Module {
    match pair.as_str() {
        "address" => Module::Address,
        "project" => Module::Project,
        _ => Module::Property,
    }
}

struct Lower {
    file: FileId,
    diagnostics: Vec<Diagnostic>,
}

impl Lower {
    fn invalid(&mut self, span: Span, message: String, label: &str) {
        self.diagnostics.push(Diagnostic::new(
            code::SCENARIO_SYNTAX,
            self.file,
            span,
            message,
            label,
        ));
    }

    fn scenario(&mut self, pair: Pair<'_, Rule>) -> Option<Scenario> {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let _kw = inner.next()?;
        let name = spanned_text(&inner.next()?);
        let statements = inner
            .filter(|p| p.as_rule() == Rule::statement)
            .filter_map(|p| self.statement(p))
            .collect();
        Some(Scenario {
            name,
            span,
            statements,
        })
    }

    fn statement(&mut self, pair: Pair<'_, Rule>) -> Option<Statement> {
        let span = span_of(&pair);
        let stmt = pair.into_inner().next()?;
        let rule = stmt.as_rule();
        let parts: Vec<Pair<'_, Rule>> = stmt.into_inner().collect();
        let kind = match rule {
            Rule::at_stmt => {
                let date = self.date(parts.get(1)?)?;
                let time_pair = parts.get(2)?;
                let Ok(time) = NaiveTime::parse_from_str(time_pair.as_str(), "%H:%M") else {
                    self.invalid(
                        span_of(time_pair),
                        format!("`{}` is not a time of day", time_pair.as_str()),
                        "hours 00-23, minutes 00-59",
                    );
                    return None;
                };
                StatementKind::At { date, time }
            }
            Rule::advance_stmt => {
                let mut minutes: i64 = 0;
                for d in parts.iter().filter(|p| p.as_rule() == Rule::duration) {
                    minutes = minutes.saturating_add(duration_minutes(d.as_str()));
                }
                StatementKind::Advance { minutes }
            }
            Rule::record_stmt | Rule::save_stmt => {
                let module = module_of(parts.get(1)?);
                let id = spanned_text(parts.get(2)?);
                let fields = match parts.get(3) {
                    Some(f) => self.fields(f.clone()),
                    None => Vec::new(),
                };
                if rule == Rule::record_stmt {
                    StatementKind::Record { module, id, fields }
                } else {
                    StatementKind::Save { module, id, fields }
                }
            }
            Rule::set_stmt => {
                let module = module_of(parts.get(1)?);
                let id = spanned_text(parts.get(2)?);
                let name = spanned_text(parts.get(3)?);
                let value = self.value(parts.get(4)?)?;
                StatementKind::Set {
                    module,
                    id,
                    field: Field { name, value },
                }
            }
            Rule::event_stmt => {
                let module = module_of(parts.get(1)?);
                let id = spanned_text(parts.get(2)?);
                let event = self.event(parts.get(3)?.clone())?;
                StatementKind::Event { module, id, event }
            }
            Rule::scan_stmt => StatementKind::Scan,
            Rule::start_stmt => {
                let template = spanned_text(parts.get(1)?);
                let mut owner = None;
                let mut links = Vec::new();
                let mut by = None;
                for p in parts.iter().skip(2) {
                    match p.as_rule() {
                        Rule::owner_clause => owner = Some(spanned_text(p)),
                        Rule::by_clause => by = Some(spanned_text(p)),
                        Rule::link_clause => {
                            let mut i = p.clone().into_inner();
                            let module = module_of(&i.next()?);
                            links.push((module, spanned_text(&i.next()?)));
                        }
                        _ => {}
                    }
                }
                StatementKind::Start {
                    template,
                    owner,
                    links,
                    by,
                }
            }
            Rule::complete_stmt => {
                let step = spanned_text(parts.get(1)?);
                let mut by = None;
                let mut with = None;
                for p in parts.iter().skip(2) {
                    match p.as_rule() {
                        Rule::by_clause => by = Some(spanned_text(p)),
                        Rule::with_clause => {
                            with = self.value(&p.clone().into_inner().nth(1)?);
                        }
                        _ => {}
                    }
                }
                StatementKind::Complete { step, by, with }
            }
            Rule::answer_stmt => {
                let step = spanned_text(parts.get(1)?);
                let yes = parts.get(2)?.as_str() == "yes";
                let by = parts
                    .iter()
                    .find(|p| p.as_rule() == Rule::by_clause)
                    .map(spanned_text);
                let via_link = parts.iter().any(|p| p.as_rule() == Rule::link_flag);
                StatementKind::Answer {
                    step,
                    yes,
                    by,
                    via_link,
                }
            }
            Rule::skip_stmt => StatementKind::Skip {
                step: spanned_text(parts.get(1)?),
                by: parts.get(2).map(spanned_text),
            },
            Rule::cancel_stmt => StatementKind::Cancel {
                by: parts.get(1).map(spanned_text),
            },
            Rule::reassign_stmt => StatementKind::Reassign {
                step: spanned_text(parts.get(1)?),
                to: spanned_text(parts.get(3)?),
                following: parts.iter().any(|p| p.as_rule() == Rule::following),
                by: parts
                    .iter()
                    .find(|p| p.as_rule() == Rule::by_clause)
                    .map(spanned_text),
            },
            Rule::expect_stmt => StatementKind::Expect(self.expectation(parts.get(1)?.clone())?),
            _ => return None,
        };
        Some(Statement { kind, span })
    }

    fn date(&mut self, pair: &Pair<'_, Rule>) -> Option<NaiveDate> {
        match NaiveDate::parse_from_str(pair.as_str(), "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                self.invalid(
                    span_of(pair),
                    format!("`{}` is not a calendar date", pair.as_str()),
                    "no such day",
                );
                None
            }
        }
    }

    fn fields(&mut self, pair: Pair<'_, Rule>) -> Vec<Field> {
        pair.into_inner()
            .filter(|p| p.as_rule() == Rule::field)
            .filter_map(|f| {
                let mut i = f.into_inner();
                let name = spanned_text(&i.next()?);
                let value = self.value(&i.next()?)?;
                Some(Field { name, value })
            })
            .collect()
    }

    fn value(&mut self, pair: &Pair<'_, Rule>) -> Option<Spanned<Value>> {
        let span = span_of(pair);
        let inner = if pair.as_rule() == Rule::value {
            pair.clone().into_inner().next()?
        } else {
            pair.clone()
        };
        let value = match inner.as_rule() {
            Rule::date => Value::Date(self.date(&inner)?),
            Rule::string => Value::Text(unquote(inner.as_str())),
            Rule::boolean => Value::Bool(inner.as_str() == "true"),
            Rule::quantity => {
                let mut q = inner.into_inner();
                let number = q.next()?;
                let n: f64 = number.as_str().parse().ok()?;
                let percent = q.next().is_some_and(|u| u.as_str() == "%");
                Value::Number(if percent { n / 100.0 } else { n })
            }
            _ => return None,
        };
        Some(Spanned { value, span })
    }

    fn event(&mut self, pair: Pair<'_, Rule>) -> Option<EventKind> {
        let rule = pair.as_rule();
        let parts: Vec<Pair<'_, Rule>> = pair.into_inner().collect();
        let clause = |r: Rule| {
            parts
                .iter()
                .find(|p| p.as_rule() == r)
                .and_then(|p| p.clone().into_inner().nth(1))
                .map(|p| spanned_text(&p).value)
        };
        Some(match rule {
            Rule::saved_event => EventKind::Saved {
                changed: parts
                    .iter()
                    .filter(|p| p.as_rule() == Rule::name)
                    .map(spanned_text)
                    .collect(),
            },
            Rule::status_event => EventKind::Status(unquote(parts.get(1)?.as_str())),
            Rule::email_event => EventKind::Email {
                subject: unquote(parts.get(1)?.as_str()),
                from: clause(Rule::from_clause),
                feature: clause(Rule::feature_clause),
                property: clause(Rule::property_clause),
            },
            Rule::activity_event => EventKind::Activity {
                kind: unquote(parts.get(1)?.as_str()),
                activity_type: clause(Rule::type_clause),
                feature: clause(Rule::feature_clause),
                property: clause(Rule::property_clause),
            },
            _ => return None,
        })
    }

    fn expectation(&mut self, pair: Pair<'_, Rule>) -> Option<Expectation> {
        let rule = pair.as_rule();
        let parts: Vec<Pair<'_, Rule>> = pair.into_inner().collect();
        Some(match rule {
            Rule::expect_step => Expectation::Step {
                step: spanned_text(parts.get(1)?),
                state: step_state(parts.get(2)?.as_str()),
                user: parts
                    .iter()
                    .find(|p| p.as_rule() == Rule::string)
                    .map(spanned_text),
            },
            Rule::expect_instance => Expectation::Instance(instance_state(parts.get(1)?.as_str())),
            Rule::expect_process => Expectation::Process {
                template: spanned_text(parts.get(1)?),
                state: instance_state(parts.get(2)?.as_str()),
            },
            Rule::expect_inbox => Expectation::Inbox {
                user: spanned_text(parts.get(1)?),
                has: parts
                    .iter()
                    .find(|p| p.as_rule() == Rule::inbox_has)
                    .and_then(|p| p.clone().into_inner().nth(1))
                    .map(|p| spanned_text(&p)),
            },
            Rule::expect_count => {
                let what = match parts.first()?.as_str() {
                    "processes" => Counted::Processes,
                    "tasks" => Counted::Created(Created::Tasks),
                    "appointments" => Counted::Created(Created::Appointments),
                    "resubmissions" => Counted::Created(Created::Resubmissions),
                    "activities" => Counted::Created(Created::Activities),
                    other => Counted::Effects(effect_kind(other)),
                };
                let count = self.count(parts.get(1)?)?;
                Expectation::Count { what, count }
            }
            Rule::expect_effect => {
                let kind = effect_kind(parts.first()?.as_str());
                let find = |r: Rule| parts.iter().find(|p| p.as_rule() == r).map(spanned_text);
                let times = match parts.iter().find(|p| p.as_rule() == Rule::times) {
                    Some(t) => Some(self.count(&t.clone().into_inner().next()?)?),
                    None => None,
                };
                Expectation::Effect {
                    kind,
                    target: find(Rule::target),
                    to: find(Rule::to_clause),
                    template: find(Rule::template_clause),
                    subject: find(Rule::subject_clause),
                    times,
                }
            }
            Rule::expect_field => {
                let module = module_of(parts.first()?);
                let id = spanned_text(parts.get(1)?);
                let field = spanned_text(parts.get(2)?);
                let value = match parts.get(3) {
                    Some(v) if v.as_rule() == Rule::value => Some(self.value(v)?),
                    _ => None,
                };
                Expectation::Field {
                    module,
                    id,
                    field,
                    value,
                }
            }
            _ => return None,
        })
    }

    fn count(&mut self, pair: &Pair<'_, Rule>) -> Option<u32> {
        match pair.as_str().parse() {
            Ok(n) => Some(n),
            Err(_) => {
                self.invalid(
                    span_of(pair),
                    format!("`{}` is not a count", pair.as_str()),
                    "a whole number, 0 or more",
                );
                None
            }
        }
    }
}

fn duration_minutes(text: &str) -> i64 {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    let n: i64 = digits.parse().unwrap_or(0);
    let unit = &text[digits.len()..];
    let per = match unit {
        "w" => 7 * 24 * 60,
        "d" => 24 * 60,
        "h" => 60,
        _ => 1,
    };
    n.saturating_mul(per)
}

fn step_state(word: &str) -> StepState {
    match word {
        "scheduled" => StepState::Scheduled,
        "active" => StepState::Active,
        "done" => StepState::Done,
        "skipped" => StepState::Skipped,
        "cancelled" => StepState::Cancelled,
        "degraded" => StepState::Degraded,
        _ => StepState::Unreached,
    }
}

fn instance_state(word: &str) -> InstanceState {
    match word {
        "completed" => InstanceState::Completed,
        "cancelled" => InstanceState::Cancelled,
        "waiting" => InstanceState::Waiting,
        "due" => InstanceState::Due,
        _ => InstanceState::Running,
    }
}

fn effect_kind(word: &str) -> EffectKind {
    match word {
        "sms" => EffectKind::Sms,
        "webhook" | "webhooks" => EffectKind::Webhook,
        "letter" | "letters" => EffectKind::Letter,
        "portal" | "portals" => EffectKind::Portal,
        _ => EffectKind::Email,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Vec<StatementKind> {
        let (file, diagnostics) = parse(FileId(0), text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        file.scenarios[0]
            .statements
            .iter()
            .map(|s| s.kind.clone())
            .collect()
    }

    #[test]
    fn statements_parse_into_the_model() {
        let kinds = one(
            "scenario \"s\" {\n  at 2026-12-01 09:00 // comment\n  advance 1d 4h 30m\n\n  \
             record property P1 {\n    purchase_price 450000 EUR, living_area 120 m²\n    \
             valuation_change 15%\n  }\n  answer big yes via link\n  \
             expect email to \"k.schmidt\" template \"t\" 2 times\n  expect sms 0\n  \
             expect step review active for \"m.weber\"\n  \
             reassign review to \"a.yilmaz\" and following by \"k.schmidt\"\n}\n",
        );
        assert_eq!(kinds.len(), 8);
        assert!(matches!(kinds[1], StatementKind::Advance { minutes: 1710 }));
        let StatementKind::Record { fields, .. } = &kinds[2] else {
            panic!("{:?}", kinds[2]);
        };
        assert_eq!(fields.len(), 3);
        assert_eq!(fields[2].value.value, Value::Number(0.15));
        assert!(matches!(
            kinds[3],
            StatementKind::Answer {
                yes: true,
                via_link: true,
                ..
            }
        ));
        let StatementKind::Expect(Expectation::Effect { to, times, .. }) = &kinds[4] else {
            panic!("{:?}", kinds[4]);
        };
        assert_eq!(to.as_ref().map(|t| t.value.as_str()), Some("k.schmidt"));
        assert_eq!(*times, Some(2));
        assert!(matches!(
            kinds[5],
            StatementKind::Expect(Expectation::Count {
                what: Counted::Effects(EffectKind::Sms),
                count: 0
            })
        ));
        assert!(matches!(
            kinds[7],
            StatementKind::Reassign {
                following: true,
                ..
            }
        ));
    }

    #[test]
    fn a_statement_per_line() {
        for text in [
            "scenario \"s\" {\n  advance 1d advance 2d\n}\n",
            "scenario \"s\" {\n  scan cancel\n}\n",
        ] {
            let (_, diagnostics) = parse(FileId(0), text);
            assert_eq!(diagnostics.len(), 1, "{text}");
            assert_eq!(diagnostics[0].code.id, "P6001");
        }
        let (file, diagnostics) = parse(FileId(0), "scenario \"s\" {\n  scan\n  cancel\n}\n");
        assert!(diagnostics.is_empty());
        assert_eq!(file.scenarios[0].statements.len(), 2);
    }

    #[test]
    fn garbage_never_panics() {
        let text = "scenario \"s\" {\n  at 2026-12-01 09:00\n  expect email to \"x\" 1 time\n}\n";
        for cut in 0..text.len() {
            if text.is_char_boundary(cut) {
                let _ = parse(FileId(0), &text[..cut]);
            }
        }
    }
}
