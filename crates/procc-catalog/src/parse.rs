//! Reading `procc.toml`: TOML syntax via `toml`'s spanned document tree, then a walk over the
//! tree that checks every table and key and reports problems with exact spans.

use std::collections::HashMap;

use chrono::{NaiveDate, Weekday};
use chrono_tz::Tz;
use procc_diagnostics::{Code, Diagnostic, FileId, Span, code, did_you_mean};
use toml::Spanned;
use toml::de::{DeArray, DeString, DeTable, DeValue};

use crate::check;
use crate::model::{
    ActivityFeature, ActivityKind, Calendar, Catalog, DEFAULT_FILES, EmailTemplate, Entries, Field,
    FieldType, Filter, Group, HttpMethod, LetterKind, LetterTemplate, Mailbox, Module, ModuleDef,
    Parameter, ParameterValues, Portal, ProjectTemplate, Right, SecretSource, Service, SmsTemplate,
    Tenant, User, Webhook,
};

type Val<'i> = Spanned<DeValue<'i>>;
type Key<'i> = Spanned<DeString<'i>>;

/// A value with the span it was read from.
#[derive(Debug, Clone)]
struct S<T> {
    v: T,
    span: Span,
}

/// A value of the file as messages show it: control characters escaped, at most 60
/// characters.
fn shown(s: &str) -> String {
    const MAX: usize = 60;
    let mut out: String = s.chars().take(MAX).flat_map(char::escape_debug).collect();
    if s.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}

fn span_of<T>(s: &Spanned<T>) -> Span {
    let r = s.span();
    Span::new(r.start, r.end)
}

/// "a string", "an integer", ... for messages.
fn kind_of(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(dt) if dt.time.is_none() => "a date",
        DeValue::Datetime(dt) if dt.date.is_none() => "a time",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// `a`, `b` and `c`.
fn list_names<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<String> = names.into_iter().map(|n| format!("`{n}`")).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The diagnostics sink.
struct Cx {
    file: FileId,
    diags: Vec<Diagnostic>,
}

impl Cx {
    fn diag(
        &self,
        code: Code,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::new(code, self.file, span, message, label)
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// P5004 for a value of the wrong TOML type.
    fn wrong_type(&mut self, path: &str, val: &Val<'_>, expected: &str) {
        let found = kind_of(val.get_ref());
        let d = self.diag(
            code::PROJECT_FILE_INVALID_VALUE,
            span_of(val),
            format!("`{path}` must be {expected}, not {found}"),
            format!("expected {expected}"),
        );
        self.push(d);
    }

    /// P5004 for a value of the right type but the wrong form.
    fn invalid(
        &mut self,
        span: Span,
        message: String,
        label: impl Into<String>,
        help: Option<String>,
    ) {
        let d = self
            .diag(code::PROJECT_FILE_INVALID_VALUE, span, message, label)
            .with_help_opt(help);
        self.push(d);
    }
}

/// One TOML table being read: reports unknown keys when opened, and remembers whether any of
/// its values was missing or invalid (then the entry is left out of the catalog).
struct Tbl<'t, 'i> {
    table: &'t DeTable<'i>,
    span: Span,
    /// Dotted path for messages: `users`, `services.webhook`.
    path: String,
    /// How the table is written: `[[users]]`, `[tenant]`.
    title: String,
    ok: bool,
}

impl<'t, 'i> Tbl<'t, 'i> {
    fn open(
        cx: &mut Cx,
        table: &'t DeTable<'i>,
        span: Span,
        path: impl Into<String>,
        title: impl Into<String>,
        allowed: &[&str],
    ) -> Tbl<'t, 'i> {
        let t = Tbl {
            table,
            span,
            path: path.into(),
            title: title.into(),
            ok: true,
        };
        for (key, _) in table.iter() {
            let name: &str = key.get_ref();
            if !allowed.contains(&name) {
                unknown_key(cx, key, &t.title, allowed);
            }
        }
        t
    }

    fn get(&self, key: &str) -> Option<&'t Val<'i>> {
        self.table.get(key)
    }

    fn key_span(&self, key: &str) -> Option<Span> {
        self.table.get_key_value(key).map(|(k, _)| span_of(k))
    }

    fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// P5003 for a required key; `example` is a value to show in the help.
    fn missing(&mut self, cx: &mut Cx, key: &str, example: &str) {
        self.ok = false;
        let d = cx
            .diag(
                code::PROJECT_FILE_MISSING_KEY,
                self.span,
                format!("missing key `{key}` in `{}`", self.title),
                format!("this table has no `{key}`"),
            )
            .with_help(format!("add `{key} = {example}`"));
        cx.push(d);
    }

    fn wrong_type(&mut self, cx: &mut Cx, key: &str, val: &Val<'_>, expected: &str) {
        self.ok = false;
        cx.wrong_type(&self.path_of(key), val, expected);
    }

    fn invalid(
        &mut self,
        cx: &mut Cx,
        span: Span,
        message: String,
        label: impl Into<String>,
        help: Option<String>,
    ) {
        self.ok = false;
        cx.invalid(span, message, label, help);
    }

    fn string(&mut self, cx: &mut Cx, key: &str) -> Option<S<String>> {
        let val = self.get(key)?;
        match val.get_ref() {
            DeValue::String(s) => Some(S {
                v: s.to_string(),
                span: span_of(val),
            }),
            _ => {
                self.wrong_type(cx, key, val, "a string");
                None
            }
        }
    }

    fn req_string(&mut self, cx: &mut Cx, key: &str, example: &str) -> Option<S<String>> {
        if self.get(key).is_none() {
            self.missing(cx, key, example);
            return None;
        }
        self.string(cx, key)
    }

    /// A required display name: a non-empty string.
    fn req_text(&mut self, cx: &mut Cx, key: &str, example: &str) -> Option<String> {
        let s = self.req_string(cx, key, example)?;
        if s.v.trim().is_empty() {
            let path = self.path_of(key);
            self.invalid(cx, s.span, format!("`{path}` is empty"), "empty", None);
            return None;
        }
        Some(s.v)
    }

    fn opt_text(&mut self, cx: &mut Cx, key: &str) -> Option<String> {
        self.string(cx, key).map(|s| s.v)
    }

    fn bool(&mut self, cx: &mut Cx, key: &str) -> Option<bool> {
        let val = self.get(key)?;
        match val.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(cx, key, val, "a boolean (`true` or `false`)");
                None
            }
        }
    }

    /// An integer in `min..=max`.
    fn int(&mut self, cx: &mut Cx, key: &str, min: u32, max: u32) -> Option<u32> {
        let val = self.get(key)?;
        let DeValue::Integer(i) = val.get_ref() else {
            self.wrong_type(cx, key, val, "an integer");
            return None;
        };
        let n = i64::from_str_radix(i.as_str(), i.radix()).ok();
        match n.and_then(|n| u32::try_from(n).ok()) {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                let path = self.path_of(key);
                self.invalid(
                    cx,
                    span_of(val),
                    format!("`{path}` must be from {min} to {max}"),
                    format!("not from {min} to {max}"),
                    None,
                );
                None
            }
        }
    }

    fn array(&mut self, cx: &mut Cx, key: &str, expected: &str) -> Option<&'t DeArray<'i>> {
        let val = self.get(key)?;
        match val.get_ref() {
            DeValue::Array(a) => Some(a),
            _ => {
                self.wrong_type(cx, key, val, expected);
                None
            }
        }
    }

    /// A list of strings; elements of another type are reported and left out.
    fn strings(&mut self, cx: &mut Cx, key: &str) -> Option<Vec<S<String>>> {
        let array = self.array(cx, key, "a list of strings")?;
        let path = self.path_of(key);
        let mut out = Vec::with_capacity(array.len());
        for item in array.iter() {
            match item.get_ref() {
                DeValue::String(s) => out.push(S {
                    v: s.to_string(),
                    span: span_of(item),
                }),
                _ => {
                    self.ok = false;
                    let found = kind_of(item.get_ref());
                    let d = cx.diag(
                        code::PROJECT_FILE_INVALID_VALUE,
                        span_of(item),
                        format!("`{path}` must list strings, not {found}"),
                        "expected a string",
                    );
                    cx.push(d);
                }
            }
        }
        Some(out)
    }

    /// A list of names (`.proc` files quote them): each must pass [`check::check_name`]; repeats
    /// are reported as duplicates of `what`.
    fn names(&mut self, cx: &mut Cx, key: &str, what: &str) -> Vec<String> {
        let Some(items) = self.strings(cx, key) else {
            return Vec::new();
        };
        let path = self.path_of(key);
        let mut seen = Ids::new(what);
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Err(why) = check::check_name(&item.v) {
                self.invalid(
                    cx,
                    item.span,
                    format!("invalid {what} `{}` in `{path}`: {why}", shown(&item.v)),
                    why,
                    None,
                );
                continue;
            }
            if seen.claim(cx, &item) {
                out.push(item.v);
            }
        }
        out
    }

    /// A required id checked with `rule`, and claimed in `ids` (a repeat is a duplicate).
    fn id(
        &mut self,
        cx: &mut Cx,
        key: &str,
        example: &str,
        rule: IdRule,
        ids: &mut Ids,
    ) -> Option<S<String>> {
        let id = self.req_string(cx, key, example)?;
        if let Err(why) = rule.check(&id.v) {
            let path = self.path_of(key);
            self.invalid(
                cx,
                id.span,
                format!(
                    "invalid {} id `{}` in `{path}`: {why}",
                    ids.what,
                    shown(&id.v)
                ),
                why,
                rule.help(),
            );
            return None;
        }
        if !ids.claim(cx, &id) {
            // The first entry with this id stays; this one is left out.
            self.ok = false;
        }
        Some(id)
    }

    /// An optional sub-table.
    fn table(&mut self, cx: &mut Cx, key: &str) -> Option<(&'t DeTable<'i>, Span)> {
        let val = self.get(key)?;
        match val.get_ref() {
            DeValue::Table(t) => Some((t, span_of(val))),
            _ => {
                self.wrong_type(cx, key, val, "a table");
                None
            }
        }
    }

    /// An optional phone number.
    fn phone(&mut self, cx: &mut Cx, key: &str) -> Option<String> {
        let s = self.string(cx, key)?;
        if let Err(why) = check::check_phone(&s.v) {
            self.invalid(
                cx,
                s.span,
                format!("`{}` is not a valid mobile number: {why}", shown(&s.v)),
                "invalid mobile number",
                Some("write the number with the country code, like `+49 171 2345678`".to_owned()),
            );
            return None;
        }
        Some(s.v)
    }
}

/// P5002 with a suggestion or the list of allowed keys.
fn unknown_key(cx: &mut Cx, key: &Key<'_>, title: &str, allowed: &[&str]) {
    let name: &str = key.get_ref();
    let help = match did_you_mean(name, allowed.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None if title != ROOT_TITLE && TOP_KEYS.contains(&name) => {
            format!("`{name}` belongs to the top level: move it above the first `[table]` header")
        }
        None if allowed.is_empty() => format!("`{title}` has no keys"),
        None => format!(
            "the keys of `{title}` are {}",
            list_names(allowed.iter().copied())
        ),
    };
    let d = cx
        .diag(
            code::PROJECT_FILE_UNKNOWN_KEY,
            span_of(key),
            format!("unknown key `{}` in `{title}`", shown(name)),
            format!("not a key of `{title}`"),
        )
        .with_help(help);
    cx.push(d);
}

/// How an id must be written.
#[derive(Clone, Copy)]
enum IdRule {
    /// A quoted name: [`check::check_name`].
    Name,
    /// A user id: no whitespace.
    User,
    /// The customer web id: no whitespace.
    WebId,
    /// An identifier, as `.proc` files write service names.
    Ident,
}

impl IdRule {
    fn check(self, s: &str) -> Result<(), &'static str> {
        match self {
            IdRule::Name => check::check_name(s),
            IdRule::User | IdRule::WebId => check::check_user_id(s),
            IdRule::Ident if check::is_identifier(s) => Ok(()),
            IdRule::Ident => Err("it is not an identifier"),
        }
    }

    fn help(self) -> Option<String> {
        match self {
            IdRule::Ident => Some(
                "write letters, digits and `_`, starting with a letter or `_`, like `price_hubble`"
                    .to_owned(),
            ),
            IdRule::User => Some("user ids have no spaces, like `k.schmidt`".to_owned()),
            IdRule::WebId => {
                Some("write the customer web id as the CRM shows it, without spaces".to_owned())
            }
            IdRule::Name => None,
        }
    }
}

/// The ids of one kind seen so far, for duplicate checks.
struct Ids {
    what: String,
    seen: HashMap<String, Span>,
}

impl Ids {
    fn new(what: &str) -> Ids {
        Ids {
            what: what.to_owned(),
            seen: HashMap::new(),
        }
    }

    /// Whether `id` is new; reports P5005 when it is not.
    fn claim(&mut self, cx: &mut Cx, id: &S<String>) -> bool {
        if let Some(&first) = self.seen.get(&id.v) {
            let d = cx
                .diag(
                    code::PROJECT_FILE_DUPLICATE_ID,
                    id.span,
                    format!("duplicate {} `{}`", self.what, shown(&id.v)),
                    "defined again here",
                )
                .with_label(first, "first defined here");
            cx.push(d);
            false
        } else {
            self.seen.insert(id.v.clone(), id.span);
            true
        }
    }

    fn contains(&self, id: &str) -> bool {
        self.seen.contains_key(id)
    }

    fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.seen.keys().map(String::as_str)
    }
}

/// The entries of an array of tables (`[[users]]` or `users = [{ ... }]`).
fn entries<'t, 'i>(
    cx: &mut Cx,
    parent: &mut Tbl<'t, 'i>,
    key: &str,
) -> Vec<(&'t DeTable<'i>, Span)> {
    let Some(val) = parent.get(key) else {
        return Vec::new();
    };
    let path = parent.path_of(key);
    match val.get_ref() {
        DeValue::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items.iter() {
                match item.get_ref() {
                    DeValue::Table(t) => out.push((t, span_of(item))),
                    other => {
                        let found = kind_of(other);
                        cx.invalid(
                            span_of(item),
                            format!("each entry of `{path}` must be a table, not {found}"),
                            "expected a table",
                            Some(format!(
                                "write each entry as `[[{path}]]` with its keys below"
                            )),
                        );
                    }
                }
            }
            out
        }
        DeValue::Table(_) => {
            let span = parent.key_span(key).unwrap_or_else(|| span_of(val));
            cx.invalid(
                span,
                format!("`{path}` must be an array of tables, not a table"),
                "expected an array of tables",
                Some(format!(
                    "write `[[{path}]]` (double brackets) above each entry"
                )),
            );
            Vec::new()
        }
        _ => {
            cx.wrong_type(&path, val, "an array of tables");
            Vec::new()
        }
    }
}

/// How the root table is named in messages.
const ROOT_TITLE: &str = "procc.toml";

const TOP_KEYS: &[&str] = &[
    "tenant",
    "users",
    "groups",
    "modules",
    "services",
    "templates",
    "portals",
    "activities",
    "activity_features",
    "filters",
    "calendars",
    "project_templates",
    "mailboxes",
    "files",
    // For the runtime: checked here (`read_delivery` and the like), used by `procc run`.
    "runtime",
    "smtp",
    "sms_gateway",
    "delivery",
];

/// The walk over the whole document.
pub(crate) fn read(file: FileId, text: &str) -> (Catalog, Vec<Diagnostic>) {
    let (root, errors) = DeTable::parse_recoverable(text);
    let mut cx = Cx {
        file,
        diags: Vec::new(),
    };
    let catalog = read_root(&mut cx, root.get_ref());
    let mut diags = if errors.is_empty() {
        cx.diags
    } else {
        // A broken document yields a partial tree; what the walk says about it would mostly
        // be echoes of the syntax errors, so only those are reported.
        let mut out: Vec<Diagnostic> = Vec::with_capacity(errors.len());
        let mut seen = std::collections::HashSet::new();
        for e in &errors {
            let span = e
                .span()
                .map_or(Span::at(0), |r| clamp(text, r.start, r.end));
            let message = e.message().trim_end_matches('.').to_owned();
            if !seen.insert((span, message.clone())) {
                continue;
            }
            out.push(Diagnostic::new(
                code::PROJECT_FILE_SYNTAX,
                file,
                span,
                format!("invalid TOML: {message}"),
                message,
            ));
        }
        out
    };
    diags.sort_by_key(|d| d.primary_span().start);
    (catalog, diags)
}

/// A span inside `text`, on character boundaries.
fn clamp(text: &str, start: usize, end: usize) -> Span {
    let fix = |mut i: usize| {
        i = i.min(text.len());
        while i > 0 && !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    Span::new(fix(start), fix(end))
}

fn read_root(cx: &mut Cx, root: &DeTable<'_>) -> Catalog {
    let mut top = Tbl::open(cx, root, Span::at(0), "", ROOT_TITLE, TOP_KEYS);
    let tenant = read_tenant(cx, &mut top);
    let mut group_ids = Ids::new("group");
    let groups = read_groups(cx, &mut top, &mut group_ids);
    let users = read_users(cx, &mut top, &group_ids);
    let modules = read_modules(cx, &mut top);
    let services = read_services(cx, &mut top);
    let (email_templates, letter_templates, sms_templates) = read_templates(cx, &mut top);
    let portals = read_portals(cx, &mut top);
    let activity_kinds = read_activities(cx, &mut top);
    let activity_features = read_name_list(cx, &mut top, "activity_features", "activity feature")
        .into_iter()
        .map(|s| ActivityFeature {
            id: s.v,
            id_span: s.span,
        })
        .collect();
    let filters = read_filters(cx, &mut top);
    let calendars = read_calendars(cx, &mut top);
    let project_templates = read_project_templates(cx, &mut top);
    let mailboxes = read_mailboxes(cx, &mut top);
    let files = read_files(cx, &mut top).unwrap_or_else(|| vec![DEFAULT_FILES.to_owned()]);
    read_delivery(cx, &mut top);
    read_smtp(cx, &mut top);
    read_sms_gateway(cx, &mut top);
    let mut catalog = Catalog {
        tenant,
        users: Entries::new(users),
        groups: Entries::new(groups),
        modules,
        services: Entries::new(services),
        email_templates: Entries::new(email_templates),
        letter_templates: Entries::new(letter_templates),
        sms_templates: Entries::new(sms_templates),
        portals: Entries::new(portals),
        activity_kinds: Entries::new(activity_kinds),
        activity_features: Entries::new(activity_features),
        filters: Entries::new(filters),
        calendars: Entries::new(calendars),
        project_templates: Entries::new(project_templates),
        mailboxes: Entries::new(mailboxes),
        files,
        members: HashMap::new(),
    };
    catalog.index_members();
    catalog
}

fn read_tenant(cx: &mut Cx, top: &mut Tbl<'_, '_>) -> Option<Tenant> {
    let Some((table, span)) = top.table(cx, "tenant") else {
        if top.get("tenant").is_none() {
            let d = cx
                .diag(
                    code::PROJECT_FILE_MISSING_KEY,
                    Span::at(0),
                    "missing table `[tenant]`",
                    "the project file has no `[tenant]` table",
                )
                .with_help("add `[tenant]` with `id` (the customer web id) and `name`");
            cx.push(d);
        }
        return None;
    };
    let mut t = Tbl::open(
        cx,
        table,
        span,
        "tenant",
        "[tenant]",
        &["id", "name", "mobile"],
    );
    let mut ids = Ids::new("tenant");
    let id = t.id(cx, "id", "\"exampleimmo\"", IdRule::WebId, &mut ids);
    let name = t.req_text(cx, "name", "\"Example Immobilien GmbH\"");
    let mobile = t.phone(cx, "mobile");
    match (id, name, t.ok) {
        (Some(id), Some(name), true) => Some(Tenant {
            id: id.v,
            id_span: id.span,
            name,
            mobile,
        }),
        _ => None,
    }
}

fn read_groups(cx: &mut Cx, top: &mut Tbl<'_, '_>, ids: &mut Ids) -> Vec<Group> {
    let mut out = Vec::new();
    for (table, span) in entries(cx, top, "groups") {
        let mut t = Tbl::open(
            cx,
            table,
            span,
            "groups",
            "[[groups]]",
            &["id", "name", "mobile"],
        );
        let id = t.id(cx, "id", "\"sales\"", IdRule::Name, ids);
        let name = t.req_text(cx, "name", "\"Sales\"");
        let mobile = t.phone(cx, "mobile");
        if let (Some(id), Some(name), true) = (id, name, t.ok) {
            out.push(Group {
                id: id.v,
                id_span: id.span,
                name,
                mobile,
            });
        }
    }
    out
}

const USER_KEYS: &[&str] = &[
    "id", "name", "email", "mobile", "groups", "rights", "address",
];

fn read_users(cx: &mut Cx, top: &mut Tbl<'_, '_>, group_ids: &Ids) -> Vec<User> {
    let mut ids = Ids::new("user");
    let mut out = Vec::new();
    for (table, span) in entries(cx, top, "users") {
        let mut t = Tbl::open(cx, table, span, "users", "[[users]]", USER_KEYS);
        let id = t.id(cx, "id", "\"k.schmidt\"", IdRule::User, &mut ids);
        let name = t.req_text(cx, "name", "\"Katrin Schmidt\"");
        let email = t.req_string(cx, "email", "\"k.schmidt@example.de\"");
        let email = email.and_then(|e| match check::check_email(&e.v) {
            Ok(()) => Some(e.v),
            Err(why) => {
                t.invalid(
                    cx,
                    e.span,
                    format!("`{}` is not a valid e-mail address: {why}", shown(&e.v)),
                    "invalid e-mail address",
                    None,
                );
                None
            }
        });
        let mobile = t.phone(cx, "mobile");
        let address = read_record_id(cx, &mut t, "address");

        let who = id.as_ref().map(|i| i.v.clone());
        let mut groups: Vec<String> = Vec::new();
        for g in t.strings(cx, "groups").unwrap_or_default() {
            if group_ids.contains(&g.v) {
                if !groups.contains(&g.v) {
                    groups.push(g.v);
                }
                continue;
            }
            // An unknown group is reported and dropped; the user stays.
            let subject = who
                .as_deref()
                .map_or_else(|| "a user".to_owned(), |w| format!("user `{w}`"));
            let help = match did_you_mean(&g.v, group_ids.names()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!(
                    "declare the group: `[[groups]]` with `id = \"{}\"`",
                    shown(&g.v)
                ),
            };
            let d = cx
                .diag(
                    code::PROJECT_FILE_UNKNOWN_REFERENCE,
                    g.span,
                    format!("{subject} is in an undeclared group `{}`", shown(&g.v)),
                    "not declared in `[[groups]]`",
                )
                .with_help(help);
            cx.push(d);
        }

        let mut rights: Vec<Right> = Vec::new();
        for r in t.strings(cx, "rights").unwrap_or_default() {
            match Right::parse(&r.v) {
                Some(right) => rights.push(right),
                None => {
                    let names = Right::ALL.map(Right::name);
                    let help = match did_you_mean(&r.v, names) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("the rights are {}", list_names(names)),
                    };
                    t.invalid(
                        cx,
                        r.span,
                        format!("unknown right `{}`", shown(&r.v)),
                        "not a right",
                        Some(help),
                    );
                }
            }
        }
        rights.sort();
        rights.dedup();

        if let (Some(id), Some(name), Some(email), true) = (id, name, email, t.ok) {
            out.push(User {
                id: id.v,
                id_span: id.span,
                name,
                email,
                mobile,
                groups,
                rights,
                address,
            });
        }
    }
    out
}

/// A record id: a string or an integer (record ids are numbers in the CRM).
fn read_record_id(cx: &mut Cx, t: &mut Tbl<'_, '_>, key: &str) -> Option<String> {
    let val = t.get(key)?;
    let text = match val.get_ref() {
        DeValue::String(s) => s.to_string(),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => n.to_string(),
            Err(_) => i.as_str().to_owned(),
        },
        _ => {
            t.wrong_type(cx, key, val, "a string or an integer");
            return None;
        }
    };
    if let Err(why) = check::check_name(&text) {
        let path = t.path_of(key);
        t.invalid(
            cx,
            span_of(val),
            format!("invalid record id in `{path}`: {why}"),
            why,
            None,
        );
        return None;
    }
    Some(text)
}

const MODULE_NAMES: &[&str] = &["address", "property", "project"];

fn read_modules(cx: &mut Cx, top: &mut Tbl<'_, '_>) -> [ModuleDef; 3] {
    let mut defs = Module::ALL.map(|m| ModuleDef::new(m, Vec::new()));
    let Some((table, span)) = top.table(cx, "modules") else {
        return defs;
    };
    let mut modules = Tbl::open(cx, table, span, "modules", "[modules]", MODULE_NAMES);
    for (def, module) in defs.iter_mut().zip(Module::ALL) {
        let name = module.name();
        if let Some((table, span)) = modules.table(cx, name) {
            *def = read_module(cx, module, table, span);
        }
    }
    defs
}

fn read_module(cx: &mut Cx, module: Module, table: &DeTable<'_>, span: Span) -> ModuleDef {
    let m = module.name();
    let path = format!("modules.{m}");
    let mut t = Tbl::open(
        cx,
        table,
        span,
        path.clone(),
        format!("[modules.{m}]"),
        &["statuses", "fields"],
    );
    let statuses = t.names(cx, "statuses", "status");
    let mut def = ModuleDef::new(module, statuses);
    let Some((fields, _)) = t.table(cx, "fields") else {
        return def;
    };
    let fields_path = format!("{path}.fields");
    let builtins = ModuleDef::builtin_field_names(module);
    for (key, val) in fields.iter() {
        let name: &str = key.get_ref();
        let key_span = span_of(key);
        if !check::is_field_name(name) {
            cx.invalid(
                key_span,
                format!("invalid field name `{}` in `[{fields_path}]`", shown(name)),
                "not a field name",
                Some("field names are lowercase letters, digits and `_`, starting with a letter or `_`, like `purchase_price`".to_owned()),
            );
            continue;
        }
        if builtins.contains(&name) {
            let d = cx
                .diag(
                    code::PROJECT_FILE_DUPLICATE_ID,
                    key_span,
                    format!("field `{name}` is built into `{m}` records"),
                    "already a built-in field",
                )
                .with_help(format!(
                    "remove it: every `{m}` record has {} without declaring them",
                    list_names(builtins.iter().copied())
                ));
            cx.push(d);
            continue;
        }
        if let Some(field) = read_field(cx, &fields_path, name, key_span, val) {
            def.fields.insert(name.to_owned(), field);
        }
    }
    def
}

/// `name = "type"` or `name = { type = "...", values = [...], label = "...", read_only = true }`.
fn read_field(
    cx: &mut Cx,
    fields_path: &str,
    name: &str,
    key_span: Span,
    val: &Val<'_>,
) -> Option<Field> {
    let path = format!("{fields_path}.{name}");
    let type_names = FieldType::ALL.map(FieldType::name);
    let parse_type = |cx: &mut Cx, s: &S<String>| -> Option<FieldType> {
        let ty = FieldType::parse(&s.v);
        if ty.is_none() {
            let help = match did_you_mean(&s.v, type_names) {
                Some(t) => format!("did you mean `{t}`?"),
                None => format!("the field types are {}", list_names(type_names)),
            };
            cx.invalid(
                s.span,
                format!("unknown field type `{}` for `{path}`", shown(&s.v)),
                "not a field type",
                Some(help),
            );
        }
        ty
    };
    match val.get_ref() {
        DeValue::String(s) => {
            let s = S {
                v: s.to_string(),
                span: span_of(val),
            };
            let ty = parse_type(cx, &s)?;
            if ty == FieldType::Enum {
                let d = cx
                    .diag(
                        code::PROJECT_FILE_MISSING_KEY,
                        s.span,
                        format!("enum field `{name}` has no `values`"),
                        "an enum needs its values",
                    )
                    .with_help(format!(
                        "write `{name} = {{ type = \"enum\", values = [\"a\", \"b\"] }}`"
                    ));
                cx.push(d);
                return None;
            }
            Some(Field {
                name: name.to_owned(),
                span: Some(key_span),
                ty,
                values: Vec::new(),
                label: None,
                read_only: false,
                builtin: false,
            })
        }
        DeValue::Table(table) => {
            let mut t = Tbl::open(
                cx,
                table,
                span_of(val),
                path.clone(),
                format!("[{path}]"),
                &["type", "values", "label", "read_only"],
            );
            let ty = t
                .req_string(cx, "type", "\"text\"")
                .and_then(|s| parse_type(cx, &s));
            if ty.is_none() {
                t.ok = false;
            }
            let label = t.opt_text(cx, "label");
            let read_only = t.bool(cx, "read_only").unwrap_or(false);
            let mut values = Vec::new();
            match ty {
                Some(FieldType::Enum) => {
                    if t.get("values").is_none() {
                        t.missing(cx, "values", "[\"a\", \"b\"]");
                    } else {
                        values = t.names(cx, "values", "enum value");
                        if values.is_empty() && t.ok {
                            let span = t.get("values").map_or(t.span, span_of);
                            t.invalid(
                                cx,
                                span,
                                format!("enum field `{name}` has no values"),
                                "empty list",
                                Some("list the values the field can take".to_owned()),
                            );
                        }
                    }
                }
                Some(other) => {
                    if let Some(span) = t.key_span("values") {
                        t.invalid(
                            cx,
                            span,
                            format!(
                                "`values` is only for enum fields, and `{name}` is {}",
                                other.name()
                            ),
                            "only for `type = \"enum\"`",
                            Some("remove `values`, or set `type = \"enum\"`".to_owned()),
                        );
                    }
                }
                None => {}
            }
            match (ty, t.ok) {
                (Some(ty), true) => Some(Field {
                    name: name.to_owned(),
                    span: Some(key_span),
                    ty,
                    values,
                    label,
                    read_only,
                    builtin: false,
                }),
                _ => None,
            }
        }
        _ => {
            cx.wrong_type(
                &path,
                val,
                "a type name like `\"text\"` or a table like `{ type = \"enum\", values = [...] }`",
            );
            None
        }
    }
}

const SERVICE_KEYS: &[&str] = &["id", "name", "activated", "webhook"];
const WEBHOOK_KEYS: &[&str] = &[
    "url",
    "method",
    "parameters",
    "secret_env",
    "secret_file",
    "secret",
    "max_attempts",
    "timeout_seconds",
];

fn read_services(cx: &mut Cx, top: &mut Tbl<'_, '_>) -> Vec<Service> {
    let mut ids = Ids::new("service");
    let mut out = Vec::new();
    for (table, span) in entries(cx, top, "services") {
        let mut t = Tbl::open(cx, table, span, "services", "[[services]]", SERVICE_KEYS);
        let id = t.id(cx, "id", "\"sprengnetter\"", IdRule::Ident, &mut ids);
        let name = t.req_text(cx, "name", "\"Sprengnetter\"");
        let activated = t.bool(cx, "activated").unwrap_or(true);
        let webhook = match t.table(cx, "webhook") {
            Some((table, span)) => {
                let w = read_webhook(cx, table, span);
                if w.is_none() {
                    t.ok = false;
                }
                w
            }
            None => None,
        };
        if let (Some(id), Some(name), true) = (id, name, t.ok) {
            out.push(Service {
                id: id.v,
                id_span: id.span,
                name,
                activated,
                webhook,
            });
        }
    }
    out
}

fn read_webhook(cx: &mut Cx, table: &DeTable<'_>, span: Span) -> Option<Webhook> {
    let mut t = Tbl::open(
        cx,
        table,
        span,
        "services.webhook",
        "[services.webhook]",
        WEBHOOK_KEYS,
    );
    let url = t.req_string(cx, "url", "\"https://example.com/hook\"");
    let url = url.and_then(|u| match check::check_url(&u.v) {
        Ok(()) => Some(u.v),
        Err(why) => {
            t.invalid(
                cx,
                u.span,
                format!("`{}` is not a valid webhook URL: {why}", shown(&u.v)),
                "invalid URL",
                None,
            );
            None
        }
    });
    let method = match t.string(cx, "method") {
        None => HttpMethod::Post,
        Some(m) if m.v.eq_ignore_ascii_case("post") => HttpMethod::Post,
        Some(m) if m.v.eq_ignore_ascii_case("get") => HttpMethod::Get,
        Some(m) => {
            t.invalid(
                cx,
                m.span,
                format!("unsupported webhook method `{}`", shown(&m.v)),
                "not `GET` or `POST`",
                Some("marketplace webhooks are called with `GET` or `POST`".to_owned()),
            );
            HttpMethod::Post
        }
    };
    if let Some(key_span) = t.key_span("secret") {
        // The service is left out, as for any value it cannot be called with.
        t.ok = false;
        let d = cx
            .diag(
                code::PROJECT_FILE_INLINE_SECRET,
                key_span,
                "a secret must not be written into the project file",
                "secret value in the project file",
            )
            .with_help("name an environment variable with `secret_env = \"SERVICE_SECRET\"`, or a file with `secret_file = \"secrets/service.key\"`");
        cx.push(d);
    }
    let secret_env = t.string(cx, "secret_env");
    let secret_file = t.string(cx, "secret_file");
    let secret = match (secret_env, secret_file) {
        (Some(_), Some(file)) => {
            t.invalid(
                cx,
                t.key_span("secret_file").unwrap_or(file.span),
                "a webhook has either `secret_env` or `secret_file`, not both".to_owned(),
                "second secret source",
                Some("keep one of them".to_owned()),
            );
            None
        }
        (Some(env), None) => {
            if check::is_env_name(&env.v) {
                Some(SecretSource::Env(env.v))
            } else {
                t.invalid(
                    cx,
                    env.span,
                    format!("`{}` is not an environment variable name", shown(&env.v)),
                    "not a variable name",
                    Some("write the variable's name (letters, digits and `_`), like `SPRENGNETTER_SECRET`, not its value".to_owned()),
                );
                None
            }
        }
        (None, Some(file)) => {
            if file.v.trim().is_empty() || file.v.chars().any(char::is_control) {
                t.invalid(
                    cx,
                    file.span,
                    "`secret_file` is not a file path".to_owned(),
                    "not a path",
                    None,
                );
                None
            } else {
                Some(SecretSource::File(file.v))
            }
        }
        (None, None) => None,
    };
    let max_attempts = t
        .int(cx, "max_attempts", 1, 10)
        .unwrap_or(Webhook::DEFAULT_MAX_ATTEMPTS);
    let timeout_seconds = t
        .int(cx, "timeout_seconds", 1, 300)
        .unwrap_or(Webhook::DEFAULT_TIMEOUT_SECONDS);
    let parameters = match t.table(cx, "parameters") {
        Some((table, _)) => read_parameters(cx, &mut t, table),
        None => Vec::new(),
    };
    match (url, t.ok) {
        (Some(url), true) => Some(Webhook {
            url,
            method,
            parameters,
            secret,
            max_attempts,
            timeout_seconds,
        }),
        _ => None,
    }
}

/// `[services.webhook.parameters]`: `name = ["a", "b"]` (one of these values) or
/// `name = "any"` (any value).
fn read_parameters(cx: &mut Cx, t: &mut Tbl<'_, '_>, table: &DeTable<'_>) -> Vec<Parameter> {
    let mut out = Vec::new();
    for (key, val) in table.iter() {
        let name: &str = key.get_ref();
        let path = format!("services.webhook.parameters.{name}");
        if !check::is_identifier(name) {
            t.invalid(
                cx,
                span_of(key),
                format!("invalid parameter name `{}`", shown(name)),
                "not an identifier",
                Some("parameter names are written as identifiers in `.proc` files: letters, digits and `_`".to_owned()),
            );
            continue;
        }
        let values = match val.get_ref() {
            DeValue::String(s) if s.as_ref() == "any" => ParameterValues::Any,
            DeValue::String(s) => {
                let s = shown(s);
                t.invalid(
                    cx,
                    span_of(val),
                    format!("parameter `{name}` must list its values or be `\"any\"`, not `\"{s}\"`"),
                    "expected a list of values or `\"any\"`",
                    Some(format!("write `{name} = [\"{s}\"]` for one allowed value, or `{name} = \"any\"` for any value")),
                );
                continue;
            }
            DeValue::Array(items) => {
                let mut seen = Ids::new(&format!("value of parameter `{name}`"));
                let mut values = Vec::new();
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::String(s) => {
                            let s = S {
                                v: s.to_string(),
                                span: span_of(item),
                            };
                            if let Err(why) = check::check_name(&s.v) {
                                t.invalid(
                                    cx,
                                    s.span,
                                    format!("invalid value in `{path}`: {why}"),
                                    why,
                                    None,
                                );
                            } else if seen.claim(cx, &s) {
                                values.push(s.v);
                            }
                        }
                        other => {
                            let found = kind_of(other);
                            t.invalid(
                                cx,
                                span_of(item),
                                format!("`{path}` must list strings, not {found}"),
                                "expected a string",
                                None,
                            );
                        }
                    }
                }
                if values.is_empty() {
                    if items.is_empty() {
                        t.invalid(
                            cx,
                            span_of(val),
                            format!("parameter `{name}` allows no value"),
                            "empty list",
                            Some(format!(
                                "list the allowed values, or write `{name} = \"any\"`"
                            )),
                        );
                    }
                    continue;
                }
                ParameterValues::OneOf(values)
            }
            _ => {
                t.ok = false;
                cx.wrong_type(&path, val, "a list of values or `\"any\"`");
                continue;
            }
        };
        out.push(Parameter {
            name: name.to_owned(),
            span: span_of(key),
            values,
        });
    }
    out
}

type Templates = (Vec<EmailTemplate>, Vec<LetterTemplate>, Vec<SmsTemplate>);

fn read_templates(cx: &mut Cx, top: &mut Tbl<'_, '_>) -> Templates {
    let Some((table, span)) = top.table(cx, "templates") else {
        return (Vec::new(), Vec::new(), Vec::new());
    };
    let mut templates = Tbl::open(
        cx,
        table,
        span,
        "templates",
        "[templates]",
        &["email", "letter", "sms"],
    );

    let mut ids = Ids::new("e-mail template");
    let mut emails = Vec::new();
    for (table, span) in entries(cx, &mut templates, "email") {
        let mut t = Tbl::open(
            cx,
            table,
            span,
            "templates.email",
            "[[templates.email]]",
            &["id", "subject", "body"],
        );
        let id = t.id(cx, "id", "\"valuation-update\"", IdRule::Name, &mut ids);
        let subject = t.req_text(cx, "subject", "\"Your valuation\"");
        let body = t.opt_text(cx, "body");
        if let (Some(id), Some(subject), true) = (id, subject, t.ok) {
            emails.push(EmailTemplate {
                id: id.v,
                id_span: id.span,
                subject,
                body,
            });
        }
    }

    let mut ids = Ids::new("letter template");
    let mut letters = Vec::new();
    for (table, span) in entries(cx, &mut templates, "letter") {
        let mut t = Tbl::open(
            cx,
            table,
            span,
            "templates.letter",
            "[[templates.letter]]",
            &["id", "kind", "description"],
        );
        let id = t.id(cx, "id", "\"mandate-contract\"", IdRule::Name, &mut ids);
        let kind = t
            .req_string(cx, "kind", "\"pdf\"")
            .and_then(|k| match k.v.as_str() {
                "word" => Some(LetterKind::Word),
                "pdf" => Some(LetterKind::Pdf),
                _ => {
                    let help = match did_you_mean(&k.v, ["word", "pdf"]) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "a letter template is `word` (uploaded) or `pdf` (made in the CRM)"
                            .to_owned(),
                    };
                    t.invalid(
                        cx,
                        k.span,
                        format!("unknown letter kind `{}`", shown(&k.v)),
                        "not `word` or `pdf`",
                        Some(help),
                    );
                    None
                }
            });
        let description = t.opt_text(cx, "description");
        if let (Some(id), Some(kind), true) = (id, kind, t.ok) {
            letters.push(LetterTemplate {
                id: id.v,
                id_span: id.span,
                kind,
                description,
            });
        }
    }

    let mut ids = Ids::new("SMS template");
    let mut sms = Vec::new();
    for (table, span) in entries(cx, &mut templates, "sms") {
        let mut t = Tbl::open(
            cx,
            table,
            span,
            "templates.sms",
            "[[templates.sms]]",
            &["id", "text"],
        );
        let id = t.id(cx, "id", "\"viewing-reminder\"", IdRule::Name, &mut ids);
        let text = t
            .req_text(cx, "text", "\"See you tomorrow\"")
            .and_then(|text| {
                let n = text.chars().count();
                if n > SmsTemplate::MAX_CHARS {
                    let span = t.get("text").map_or(t.span, span_of);
                    t.invalid(
                        cx,
                        span,
                        format!(
                            "SMS text is {n} characters long, more than {}",
                            SmsTemplate::MAX_CHARS
                        ),
                        format!("{n} characters"),
                        Some(format!(
                            "an SMS step sends at most {} characters (two messages)",
                            SmsTemplate::MAX_CHARS
                        )),
                    );
                    None
                } else {
                    Some(text)
                }
            });
        if let (Some(id), Some(text), true) = (id, text, t.ok) {
            sms.push(SmsTemplate {
                id: id.v,
                id_span: id.span,
                text,
            });
        }
    }
    (emails, letters, sms)
}

fn read_portals(cx: &mut Cx, top: &mut Tbl<'_, '_>) -> Vec<Portal> {
    let mut ids = Ids::new("portal");
    let mut out = Vec::new();
    for (table, span) in entries(cx, top, "portals") {
        let mut t = Tbl::open(
            cx,
            table,
            span,
            "portals",
            "[[portals]]",
            &["id", "name", "full_sync_only"],
        );
        let id = t.id(cx, "id", "\"immoscout24\"", IdRule::Name, &mut ids);
        let name = t.req_text(cx, "name", "\"ImmoScout24\"");
        let full_sync_only = t.bool(cx, "full_sync_only").unwrap_or(false);
        if let (Some(id), Some(name), true) = (id, name, t.ok) {
            out.push(Portal {
                id: id.v,
                id_span: id.span,
                name,
                full_sync_only,
            });
        }
    }
    out
}

fn read_activities(cx: &mut Cx, top: &mut Tbl<'_, '_>) -> Vec<ActivityKind> {
    let mut ids = Ids::new("activity kind");
    let mut out = Vec::new();
    for (table, span) in entries(cx, top, "activities") {
        let mut t = Tbl::open(
            cx,
            table,
            span,
            "activities",
            "[[activities]]",
            &["kind", "types"],
        );
        let id = t.id(cx, "kind", "\"phone\"", IdRule::Name, &mut ids);
        let types = t.names(cx, "types", "activity type");
        if let (Some(id), true) = (id, t.ok) {
            out.push(ActivityKind {
                id: id.v,
                id_span: id.span,
                types,
            });
        }
    }
    out
}

/// A top-level list of names, like `activity_features`.
fn read_name_list(cx: &mut Cx, top: &mut Tbl<'_, '_>, key: &str, what: &str) -> Vec<S<String>> {
    let mut ids = Ids::new(what);
    let mut out = Vec::new();
    for item in top.strings(cx, key).unwrap_or_default() {
        if let Err(why) = check::check_name(&item.v) {
            cx.invalid(
                item.span,
                format!("invalid {what} `{}` in `{key}`: {why}", shown(&item.v)),
                why,
                None,
            );
        } else if ids.claim(cx, &item) {
            out.push(item);
        }
    }
    out
}

fn read_filters(cx: &mut Cx, top: &mut Tbl<'_, '_>) -> Vec<Filter> {
    let mut ids = Ids::new("filter");
    let mut out = Vec::new();
    for (table, span) in entries(cx, top, "filters") {
        let mut t = Tbl::open(
            cx,
            table,
            span,
            "filters",
            "[[filters]]",
            &["id", "module", "description"],
        );
        let id = t.id(cx, "id", "\"hot-leads\"", IdRule::Name, &mut ids);
        let module =
            t.req_string(cx, "module", "\"address\"")
                .and_then(|m| match Module::parse(&m.v) {
                    Some(Module::Project) => {
                        t.invalid(
                            cx,
                            m.span,
                            "a record filter cannot select `project` records".to_owned(),
                            "not `address` or `property`",
                            Some("saved filters select `address` or `property` records".to_owned()),
                        );
                        None
                    }
                    Some(module) => Some(module),
                    None => {
                        t.ok = false;
                        let help = match did_you_mean(&m.v, ["address", "property"]) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => {
                                "saved filters select `address` or `property` records".to_owned()
                            }
                        };
                        let d = cx
                            .diag(
                                code::PROJECT_FILE_UNKNOWN_REFERENCE,
                                m.span,
                                format!("filter on an unknown module `{}`", shown(&m.v)),
                                "not a module",
                            )
                            .with_help(help);
                        cx.push(d);
                        None
                    }
                });
        let description = t.opt_text(cx, "description");
        if let (Some(id), Some(module), true) = (id, module, t.ok) {
            out.push(Filter {
                id: id.v,
                id_span: id.span,
                module,
                description,
            });
        }
    }
    out
}

fn read_calendars(cx: &mut Cx, top: &mut Tbl<'_, '_>) -> Vec<Calendar> {
    let mut ids = Ids::new("calendar");
    let mut out = Vec::new();
    for (table, span) in entries(cx, top, "calendars") {
        let mut t = Tbl::open(
            cx,
            table,
            span,
            "calendars",
            "[[calendars]]",
            &["id", "time_zone", "weekend", "holidays"],
        );
        let id = t.id(cx, "id", "\"nrw\"", IdRule::Name, &mut ids);
        let time_zone = t
            .req_string(cx, "time_zone", "\"Europe/Berlin\"")
            .and_then(|tz| match tz.v.parse::<Tz>() {
                Ok(zone) => Some(zone),
                Err(_) => {
                    let names = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name());
                    let help = match did_you_mean(&tz.v, names) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "write an IANA time zone name, like `Europe/Berlin`".to_owned(),
                    };
                    t.invalid(
                        cx,
                        tz.span,
                        format!("unknown time zone `{}`", shown(&tz.v)),
                        "not an IANA time zone",
                        Some(help),
                    );
                    None
                }
            });
        let weekend = match t.strings(cx, "weekend") {
            None => vec![Weekday::Sat, Weekday::Sun],
            Some(days) => {
                let mut out: Vec<Weekday> = Vec::new();
                for d in days {
                    match check::parse_weekday(&d.v) {
                        Some(day) if !out.contains(&day) => out.push(day),
                        Some(_) => {}
                        None => {
                            let names = check::WEEKDAYS.map(|(n, _)| n);
                            let help = match did_you_mean(&d.v, names) {
                                Some(s) => format!("did you mean `{s}`?"),
                                None => "write English weekday names, like `saturday`".to_owned(),
                            };
                            t.invalid(
                                cx,
                                d.span,
                                format!("unknown weekday `{}`", shown(&d.v)),
                                "not a weekday",
                                Some(help),
                            );
                        }
                    }
                }
                out.sort_by_key(Weekday::num_days_from_monday);
                out
            }
        };
        let holidays = read_holidays(cx, &mut t);
        if let (Some(id), Some(time_zone), true) = (id, time_zone, t.ok) {
            out.push(Calendar {
                id: id.v,
                id_span: id.span,
                time_zone,
                weekend,
                holidays,
            });
        }
    }
    out
}

/// `holidays = [2026-12-25, "2026-12-26"]`: TOML dates or `YYYY-MM-DD` strings.
fn read_holidays(cx: &mut Cx, t: &mut Tbl<'_, '_>) -> Vec<NaiveDate> {
    let Some(items) = t.array(cx, "holidays", "a list of dates") else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items.iter() {
        let span = span_of(item);
        let date = match item.get_ref() {
            DeValue::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
                (Some(d), None, None) => {
                    check::ymd(i64::from(d.year), i64::from(d.month), i64::from(d.day))
                        .map_err(|why| (why, None))
                }
                _ => Err((
                    "a holiday is a date without a time",
                    Some("write the date alone, like `2026-12-25`".to_owned()),
                )),
            },
            DeValue::String(s) => check::parse_date(s)
                .map_err(|why| (why, Some("write dates like `2026-12-25`".to_owned()))),
            other => Err((
                kind_of(other),
                Some("write dates like `2026-12-25`".to_owned()),
            )),
        };
        match date {
            Ok(d) => out.push(d),
            Err((why, help)) => {
                t.invalid(
                    cx,
                    span,
                    format!("invalid holiday in `{}`: {why}", t.path_of("holidays")),
                    "not a date",
                    help,
                );
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// `project_templates = ["a", { id = "b", name = "B" }]` or `[[project_templates]]`.
fn read_project_templates(cx: &mut Cx, top: &mut Tbl<'_, '_>) -> Vec<ProjectTemplate> {
    let Some(items) = top.array(cx, "project_templates", "a list of project template ids") else {
        return Vec::new();
    };
    let mut ids = Ids::new("project template");
    let mut out = Vec::new();
    for item in items.iter() {
        match item.get_ref() {
            DeValue::String(s) => {
                let id = S {
                    v: s.to_string(),
                    span: span_of(item),
                };
                if let Err(why) = check::check_name(&id.v) {
                    cx.invalid(
                        id.span,
                        format!("invalid project template id `{}`: {why}", shown(&id.v)),
                        why,
                        None,
                    );
                } else if ids.claim(cx, &id) {
                    out.push(ProjectTemplate {
                        id: id.v,
                        id_span: id.span,
                        name: None,
                    });
                }
            }
            DeValue::Table(table) => {
                let mut t = Tbl::open(
                    cx,
                    table,
                    span_of(item),
                    "project_templates",
                    "[[project_templates]]",
                    &["id", "name"],
                );
                let id = t.id(cx, "id", "\"sale-project\"", IdRule::Name, &mut ids);
                let name = t.opt_text(cx, "name");
                if let (Some(id), true) = (id, t.ok) {
                    out.push(ProjectTemplate {
                        id: id.v,
                        id_span: id.span,
                        name,
                    });
                }
            }
            other => {
                let found = kind_of(other);
                cx.invalid(
                    span_of(item),
                    format!("`project_templates` must list ids or tables, not {found}"),
                    "expected a string",
                    None,
                );
            }
        }
    }
    out
}

fn read_mailboxes(cx: &mut Cx, top: &mut Tbl<'_, '_>) -> Vec<Mailbox> {
    let mut ids = Ids::new("mailbox");
    let mut out = Vec::new();
    for item in top.strings(cx, "mailboxes").unwrap_or_default() {
        if let Err(why) = check::check_email(&item.v) {
            cx.invalid(
                item.span,
                format!("`{}` is not a valid e-mail address: {why}", shown(&item.v)),
                "invalid e-mail address",
                None,
            );
        } else if ids.claim(cx, &item) {
            out.push(Mailbox {
                address: item.v,
                span: item.span,
            });
        }
    }
    out
}

fn read_files(cx: &mut Cx, top: &mut Tbl<'_, '_>) -> Option<Vec<String>> {
    let items = top.strings(cx, "files")?;
    if items.is_empty() {
        let span = top.get("files").map_or(Span::at(0), span_of);
        cx.invalid(
            span,
            "`files` lists no file".to_owned(),
            "empty list",
            Some(format!("list paths or globs of `.proc` files, or remove `files` for the default `[\"{DEFAULT_FILES}\"]`")),
        );
        return None;
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if item.v.trim().is_empty() || item.v.chars().any(char::is_control) {
            cx.invalid(
                item.span,
                "empty path in `files`".to_owned(),
                "not a path or glob",
                None,
            );
        } else if !out.contains(&item.v) {
            out.push(item.v);
        }
    }
    if out.is_empty() { None } else { Some(out) }
}

// ---- Delivery settings (used by `procc run` and `procc serve`, checked here) -------------------

/// The keys of `[delivery]`; `webhook_secret` and `webhook_secrets` are known so that they are
/// reported as secrets written into the file (P5008), not as unknown keys.
const DELIVERY_KEYS: &[&str] = &[
    "concurrency",
    "per_endpoint",
    "threads",
    "connect_timeout_seconds",
    "timeout_seconds",
    "retry_schedule",
    "allowed_hosts",
    "webhook_secret_env",
    "webhook_secret_file",
    "webhook_secret",
    "webhook_secrets",
];

const SMTP_KEYS: &[&str] = &[
    "host",
    "port",
    "security",
    "username",
    "password_env",
    "password_file",
    "password",
    "from",
    "timeout_seconds",
];

const SMS_GATEWAY_KEYS: &[&str] = &["url", "token_env", "token_file", "token"];

/// P5007 at `span`.
fn unworkable(cx: &mut Cx, span: Span, message: String, label: &str, help: String) {
    let d = cx
        .diag(code::PROJECT_FILE_UNWORKABLE_DELIVERY, span, message, label)
        .with_help(help);
    cx.push(d);
}

/// P5008 for an inline secret under `key`, which should be `key_env` or `key_file`.
fn inline_secret(cx: &mut Cx, t: &Tbl<'_, '_>, key: &str, named: &str, example: &str) {
    if let Some(span) = t.key_span(key) {
        let d = cx
            .diag(
                code::PROJECT_FILE_INLINE_SECRET,
                span,
                format!(
                    "`{}` is a secret written into the project file",
                    t.path_of(key)
                ),
                "secret in the project file",
            )
            .with_help(format!(
                "name an environment variable with `{named}_env = \"{example}\"`, or a file with `{named}_file = \"secrets/{}\"`",
                example.to_ascii_lowercase().replace('_', "-")
            ));
        cx.push(d);
    }
}

/// P5007 when both `<name>_env` and `<name>_file` are given.
fn one_source(cx: &mut Cx, t: &mut Tbl<'_, '_>, name: &str) {
    let env = t.string(cx, &format!("{name}_env"));
    let file = t.string(cx, &format!("{name}_file"));
    if let (Some(_), Some(file)) = (env, file) {
        unworkable(
            cx,
            file.span,
            format!("`{}` has both `{name}_env` and `{name}_file`", t.title),
            "second source of the secret",
            format!("keep one of them: the secret is read from `{name}_env` or `{name}_file`"),
        );
    }
}

/// An integer setting that must be at least 1 (P5004 for the wrong type or a negative
/// number, P5007 for zero); `None` when absent or reported.
fn positive(cx: &mut Cx, t: &mut Tbl<'_, '_>, key: &str, help: &str) -> Option<u32> {
    let n = t.int(cx, key, 0, u32::MAX)?;
    if n == 0 {
        let span = t.get(key).map_or(t.span, span_of);
        unworkable(
            cx,
            span,
            format!("`{}` is 0: nothing could be delivered", t.path_of(key)),
            "must be at least 1",
            help.to_owned(),
        );
        return None;
    }
    Some(n)
}

fn read_delivery(cx: &mut Cx, top: &mut Tbl<'_, '_>) {
    let Some((table, span)) = top.table(cx, "delivery") else {
        return;
    };
    let mut t = Tbl::open(cx, table, span, "delivery", "[delivery]", DELIVERY_KEYS);
    let concurrency = positive(
        cx,
        &mut t,
        "concurrency",
        "leave it out for the default of 64 attempts in flight at once",
    );
    let per_endpoint = positive(
        cx,
        &mut t,
        "per_endpoint",
        "leave it out for the default of 8 attempts in flight per endpoint",
    );
    if let (Some(all), Some(each)) = (concurrency, per_endpoint)
        && each > all
    {
        let span = t.get("per_endpoint").map_or(t.span, span_of);
        unworkable(
            cx,
            span,
            format!(
                "`delivery.per_endpoint` ({each}) is above `delivery.concurrency` ({all}): no endpoint can have that many attempts in flight"
            ),
            "above the overall limit",
            format!("lower it to at most {all}, or raise `delivery.concurrency`"),
        );
    }
    positive(
        cx,
        &mut t,
        "threads",
        "leave it out for one delivery thread per core",
    );
    positive(
        cx,
        &mut t,
        "timeout_seconds",
        "give every attempt at least a second, e.g. `timeout_seconds = 30`",
    );
    positive(
        cx,
        &mut t,
        "connect_timeout_seconds",
        "give every connection at least a second, e.g. `connect_timeout_seconds = 10`",
    );
    if let Some(schedule) = t.array(cx, "retry_schedule", "a list of seconds") {
        let span = t.get("retry_schedule").map_or(t.span, span_of);
        if schedule.is_empty() {
            unworkable(
                cx,
                span,
                "`delivery.retry_schedule` is empty: no effect would ever be attempted".to_owned(),
                "no attempts",
                "the first entry is the first attempt: write at least `[0]`, or leave it out for the default schedule".to_owned(),
            );
        }
        for item in schedule.iter() {
            let seconds = match item.get_ref() {
                DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
                _ => None,
            };
            if seconds.is_none_or(|s| s < 0) {
                let d = cx
                    .diag(
                        code::PROJECT_FILE_INVALID_VALUE,
                        span_of(item),
                        "`delivery.retry_schedule` must be a list of seconds (integers from 0)"
                            .to_owned(),
                        "not a number of seconds",
                    )
                    .with_help("write pauses in seconds, like `[0, 5, 300, 1800]`");
                cx.push(d);
            }
        }
    }
    t.strings(cx, "allowed_hosts");
    inline_secret(
        cx,
        &t,
        "webhook_secret",
        "webhook_secret",
        "WEBHOOK_SECRETS",
    );
    inline_secret(
        cx,
        &t,
        "webhook_secrets",
        "webhook_secret",
        "WEBHOOK_SECRETS",
    );
    one_source(cx, &mut t, "webhook_secret");
}

fn read_smtp(cx: &mut Cx, top: &mut Tbl<'_, '_>) {
    let Some((table, span)) = top.table(cx, "smtp") else {
        return;
    };
    let mut t = Tbl::open(cx, table, span, "smtp", "[smtp]", SMTP_KEYS);
    t.req_text(cx, "host", "\"mail.example.com\"");
    t.req_text(cx, "from", "\"Processes <processes@example.com>\"");
    if let Some(port) = positive(
        cx,
        &mut t,
        "port",
        "leave it out for the port of the security mode (587, 465 or 25)",
    ) && port > u32::from(u16::MAX)
    {
        let span = t.get("port").map_or(t.span, span_of);
        t.invalid(
            cx,
            span,
            format!("`smtp.port` must be from 1 to 65535, not {port}"),
            "not a port",
            None,
        );
    }
    if let Some(security) = t.string(cx, "security")
        && !["plain", "starttls", "tls"].contains(&security.v.as_str())
    {
        let help = match did_you_mean(&security.v, ["plain", "starttls", "tls"]) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "write `starttls` (the default), `tls` or `plain`".to_owned(),
        };
        t.invalid(
            cx,
            security.span,
            format!("unknown SMTP security `{}`", shown(&security.v)),
            "not `plain`, `starttls` or `tls`",
            Some(help),
        );
    }
    positive(
        cx,
        &mut t,
        "timeout_seconds",
        "give an SMTP conversation at least a second, e.g. `timeout_seconds = 30`",
    );
    inline_secret(cx, &t, "password", "password", "SMTP_PASSWORD");
    one_source(cx, &mut t, "password");
    let username = t.string(cx, "username");
    let has_password = t.get("password_env").is_some() || t.get("password_file").is_some();
    match (username, has_password) {
        (Some(user), false) if t.get("password").is_none() => unworkable(
            cx,
            user.span,
            "`smtp.username` is given without a password: the server would refuse the login"
                .to_owned(),
            "no password for this user",
            "add `password_env = \"SMTP_PASSWORD\"` or `password_file = \"secrets/smtp-password\"`"
                .to_owned(),
        ),
        (None, true) => {
            let key = if t.get("password_env").is_some() {
                "password_env"
            } else {
                "password_file"
            };
            let span = t.key_span(key).unwrap_or(t.span);
            unworkable(
                cx,
                span,
                "`[smtp]` has a password but no `username` to log in with".to_owned(),
                "password without a user",
                "add `username = \"...\"`, or remove the password for a server without login"
                    .to_owned(),
            );
        }
        _ => {}
    }
}

fn read_sms_gateway(cx: &mut Cx, top: &mut Tbl<'_, '_>) {
    let Some((table, span)) = top.table(cx, "sms_gateway") else {
        return;
    };
    let mut t = Tbl::open(
        cx,
        table,
        span,
        "sms_gateway",
        "[sms_gateway]",
        SMS_GATEWAY_KEYS,
    );
    if let Some(url) = t.req_string(cx, "url", "\"https://sms.example.com/send\"")
        && let Err(why) = check::check_url(&url.v)
    {
        t.invalid(
            cx,
            url.span,
            format!("`{}` is not a valid SMS gateway URL: {why}", shown(&url.v)),
            "invalid URL",
            None,
        );
    }
    inline_secret(cx, &t, "token", "token", "SMS_TOKEN");
    one_source(cx, &mut t, "token");
}
