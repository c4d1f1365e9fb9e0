//! The catalog's data model: plain values read from `procc.toml`, with indexes for fast lookups.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate, Weekday};
use chrono_tz::Tz;
use procc_diagnostics::Span;
use serde::Serialize;

/// Something in the catalog that other parts of the project refer to by id.
pub trait CatalogEntry {
    /// The id `.proc` files use.
    fn id(&self) -> &str;
    /// Where the id is written in `procc.toml` (including the quotes).
    fn id_span(&self) -> Span;
}

/// Entries of one kind, in file order, indexed by id.
#[derive(Debug, Clone)]
pub(crate) struct Entries<T> {
    items: Vec<T>,
    index: HashMap<String, usize>,
}

impl<T> Default for Entries<T> {
    fn default() -> Self {
        Entries {
            items: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<T: CatalogEntry> Entries<T> {
    /// Indexes `items`; the first of several entries with one id wins (the parser never passes
    /// duplicates).
    pub(crate) fn new(items: Vec<T>) -> Self {
        let mut index = HashMap::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            index.entry(item.id().to_owned()).or_insert(i);
        }
        Entries { items, index }
    }

    pub(crate) fn get(&self, id: &str) -> Option<&T> {
        self.index.get(id).and_then(|&i| self.items.get(i))
    }

    pub(crate) fn position(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub(crate) fn as_slice(&self) -> &[T] {
        &self.items
    }

    pub(crate) fn ids(&self) -> impl Iterator<Item = &str> + '_ {
        self.items.iter().map(CatalogEntry::id)
    }
}

impl<T: PartialEq> PartialEq for Entries<T> {
    fn eq(&self, other: &Self) -> bool {
        self.items == other.items
    }
}

impl<T: Serialize> Serialize for Entries<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.items.serialize(serializer)
    }
}

macro_rules! entry_impl {
    ($($ty:ty),* $(,)?) => {
        $(
            impl CatalogEntry for $ty {
                fn id(&self) -> &str {
                    &self.id
                }
                fn id_span(&self) -> Span {
                    self.id_span
                }
            }
        )*
    };
}

entry_impl!(
    User,
    Group,
    Service,
    EmailTemplate,
    LetterTemplate,
    SmsTemplate,
    Portal,
    ActivityKind,
    ActivityFeature,
    Filter,
    Calendar,
    ProjectTemplate,
);

impl CatalogEntry for Mailbox {
    fn id(&self) -> &str {
        &self.address
    }
    fn id_span(&self) -> Span {
        self.span
    }
}

/// `[tenant]`: the CRM customer (Mandant) the project belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tenant {
    /// `id`: the customer web id (`customerWebId`).
    pub id: String,
    /// Where `id` is written.
    pub id_span: Span,
    /// `name`: the customer name (`customerName`).
    pub name: String,
    /// `mobile`: the client's SMS sender number, if any.
    pub mobile: Option<String>,
}

/// A user right of the process manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Right {
    /// `start`: start processes.
    Start,
    /// `cancel`: cancel processes.
    Cancel,
    /// `skip`: skip process steps.
    Skip,
    /// `design`: design process templates.
    Design,
    /// `adjust-following`: change the responsibility of the following steps too.
    AdjustFollowing,
    /// `see-others`: see the pending steps of other users and groups (process controller view).
    SeeOthers,
}

impl Right {
    /// Every right, in documentation order.
    pub const ALL: [Right; 6] = [
        Right::Start,
        Right::Cancel,
        Right::Skip,
        Right::Design,
        Right::AdjustFollowing,
        Right::SeeOthers,
    ];

    /// The name as written in `procc.toml`.
    pub fn name(self) -> &'static str {
        match self {
            Right::Start => "start",
            Right::Cancel => "cancel",
            Right::Skip => "skip",
            Right::Design => "design",
            Right::AdjustFollowing => "adjust-following",
            Right::SeeOthers => "see-others",
        }
    }

    /// The right with this name (exact, lowercase).
    pub fn parse(name: &str) -> Option<Right> {
        Right::ALL.into_iter().find(|r| r.name() == name)
    }
}

/// `[[users]]`: a CRM user who can own, carry out or decide process steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// `id`, like `k.schmidt`.
    pub id: String,
    /// Where `id` is written.
    pub id_span: Span,
    /// `name`: the display name.
    pub name: String,
    /// `email`: where notifications (deadline, skip, decision) go.
    pub email: String,
    /// `mobile`: for SMS to the supervisor.
    pub mobile: Option<String>,
    /// `groups`: ids of the groups the user belongs to (declared groups only).
    pub groups: Vec<String>,
    /// `rights`: the process-manager rights, sorted, without repeats.
    pub rights: Vec<Right>,
    /// `address`: id of the user's own address record (the lead distributor needs it).
    pub address: Option<String>,
}

impl User {
    /// Whether the user has a right.
    pub fn has_right(&self, right: Right) -> bool {
        self.rights.contains(&right)
    }

    /// Whether the user belongs to a group.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

/// `[[groups]]`: a group of users (a team, an office).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// `id`, like `sales`.
    pub id: String,
    /// Where `id` is written.
    pub id_span: Span,
    /// `name`: the display name.
    pub name: String,
    /// `mobile`: the group's SMS sender number.
    pub mobile: Option<String>,
}

/// A record module: the kind of record fields belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Module {
    /// Address records (contacts).
    Address,
    /// Property records (Objekte, `estate` in the API).
    Property,
    /// Project records (created by a create-project step).
    Project,
}

impl Module {
    /// Every module.
    pub const ALL: [Module; 3] = [Module::Address, Module::Property, Module::Project];

    /// The name as written in `procc.toml` and `.proc` files.
    pub fn name(self) -> &'static str {
        match self {
            Module::Address => "address",
            Module::Property => "property",
            Module::Project => "project",
        }
    }

    /// The module with this name (`address`, `property` or `project`).
    pub fn parse(name: &str) -> Option<Module> {
        Module::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// The type of a record field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// `text`.
    Text,
    /// `number`: an integer or decimal number (counts, percentages).
    Number,
    /// `money`: an amount in EUR.
    Money,
    /// `area`: square metres.
    Area,
    /// `date`: a calendar date.
    Date,
    /// `bool`: yes or no.
    Bool,
    /// `enum`: one of the field's listed values.
    Enum,
}

impl FieldType {
    /// Every type.
    pub const ALL: [FieldType; 7] = [
        FieldType::Text,
        FieldType::Number,
        FieldType::Money,
        FieldType::Area,
        FieldType::Date,
        FieldType::Bool,
        FieldType::Enum,
    ];

    /// The name as written in `procc.toml`.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Number => "number",
            FieldType::Money => "money",
            FieldType::Area => "area",
            FieldType::Date => "date",
            FieldType::Bool => "bool",
            FieldType::Enum => "enum",
        }
    }

    /// The type with this name.
    pub fn parse(name: &str) -> Option<FieldType> {
        FieldType::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// A field of a record module, declared or built in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    /// The field name, like `purchase_price`.
    pub name: String,
    /// Where the name is written; `None` for built-in fields.
    pub span: Option<Span>,
    /// The type.
    pub ty: FieldType,
    /// The allowed values of an `enum` field (for `status`: the module's statuses); empty for
    /// other types.
    pub values: Vec<String>,
    /// `label`: the name shown in the CRM.
    pub label: Option<String>,
    /// `read_only`: processes cannot write it.
    pub read_only: bool,
    /// Whether every module of this kind has the field without declaring it.
    pub builtin: bool,
}

impl Field {
    pub(crate) fn builtin(
        name: &str,
        ty: FieldType,
        values: Vec<String>,
        read_only: bool,
    ) -> Field {
        Field {
            name: name.to_owned(),
            span: None,
            ty,
            values,
            label: None,
            read_only,
            builtin: true,
        }
    }

    /// Whether an enum field allows this value.
    pub fn allows_value(&self, value: &str) -> bool {
        self.values.iter().any(|v| v == value)
    }
}

/// `[modules.<module>]`: the statuses and fields of one record module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleDef {
    /// Which module.
    pub module: Module,
    /// `statuses`: the status values, in file order.
    pub statuses: Vec<String>,
    /// Every field, built-in ones included, by name.
    pub fields: BTreeMap<String, Field>,
}

impl ModuleDef {
    /// The built-in fields only.
    pub(crate) fn new(module: Module, statuses: Vec<String>) -> ModuleDef {
        let mut fields = BTreeMap::new();
        let mut add = |f: Field| {
            fields.insert(f.name.clone(), f);
        };
        add(Field::builtin("id", FieldType::Text, Vec::new(), true));
        add(Field::builtin(
            "status",
            FieldType::Enum,
            statuses.clone(),
            false,
        ));
        if module != Module::Project {
            add(Field::builtin(
                "supervisor",
                FieldType::Text,
                Vec::new(),
                false,
            ));
        }
        if module == Module::Address {
            add(Field::builtin("email", FieldType::Text, Vec::new(), false));
            add(Field::builtin("mobile", FieldType::Text, Vec::new(), false));
        }
        ModuleDef {
            module,
            statuses,
            fields,
        }
    }

    /// The names of the fields every module of this kind has without declaring them.
    pub fn builtin_field_names(module: Module) -> &'static [&'static str] {
        match module {
            Module::Address => &["id", "status", "supervisor", "email", "mobile"],
            Module::Property => &["id", "status", "supervisor"],
            Module::Project => &["id", "status"],
        }
    }

    /// The field with this name, built-in ones included.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.get(name)
    }

    /// The field names, for "did you mean" suggestions.
    pub fn field_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.fields.keys().map(String::as_str)
    }

    /// Whether the module has this status value.
    pub fn has_status(&self, status: &str) -> bool {
        self.statuses.iter().any(|s| s == status)
    }
}

/// The HTTP method a marketplace webhook is called with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// `GET`.
    Get,
    /// `POST` (the default).
    Post,
}

/// Where the runtime finds a service's signing secret. The catalog only holds the name or the
/// path, never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretSource {
    /// `secret_env`: the name of an environment variable.
    Env(String),
    /// `secret_file`: the path of a file, relative to `procc.toml`.
    File(String),
}

/// The values a webhook parameter takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParameterValues {
    /// `"any"`: any text.
    Any,
    /// A list: one of these values.
    OneOf(Vec<String>),
}

/// A parameter a service's webhook accepts on its URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Parameter {
    /// The name, an identifier.
    pub name: String,
    /// Where the name is written.
    pub span: Span,
    /// The values it takes.
    pub values: ParameterValues,
}

impl Parameter {
    /// Whether the parameter takes this value.
    pub fn allows(&self, value: &str) -> bool {
        match &self.values {
            ParameterValues::Any => true,
            ParameterValues::OneOf(values) => values.iter().any(|v| v == value),
        }
    }
}

/// `[services.webhook]`: how the runtime calls a marketplace service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Webhook {
    /// `url`: an `http` or `https` URL.
    pub url: String,
    /// The HTTP method (default `POST`).
    pub method: HttpMethod,
    /// `[services.webhook.parameters]`: the parameters the provider defines, by name.
    pub parameters: Vec<Parameter>,
    /// `secret_env` or `secret_file`.
    pub secret: Option<SecretSource>,
    /// `max_attempts`: how often a failing call is tried (default 3).
    pub max_attempts: u32,
    /// `timeout_seconds`: how long one call may take (default 30).
    pub timeout_seconds: u32,
}

impl Webhook {
    /// The default of `max_attempts`.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
    /// The default of `timeout_seconds`.
    pub const DEFAULT_TIMEOUT_SECONDS: u32 = 30;

    /// The parameter with this name.
    pub fn parameter(&self, name: &str) -> Option<&Parameter> {
        self.parameters.iter().find(|p| p.name == name)
    }

    /// The parameter names, for "did you mean" suggestions.
    pub fn parameter_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.parameters.iter().map(|p| p.name.as_str())
    }
}

/// `[[services]]`: a marketplace service activated (or not) for the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    /// `id`, an identifier like `sprengnetter`.
    pub id: String,
    /// Where `id` is written.
    pub id_span: Span,
    /// `name`: the display name.
    pub name: String,
    /// `activated` (default true).
    pub activated: bool,
    /// `[services.webhook]`, if the service has one.
    pub webhook: Option<Webhook>,
}

impl Service {
    /// The webhook, if the service is activated and has one: only then can a step call it.
    pub fn callable_webhook(&self) -> Option<&Webhook> {
        self.webhook.as_ref().filter(|_| self.activated)
    }
}

/// `[[templates.email]]`: an e-mail template of the CRM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EmailTemplate {
    /// `id`.
    pub id: String,
    /// Where `id` is written.
    pub id_span: Span,
    /// `subject`.
    pub subject: String,
    /// `body`, if kept in the project file (the CRM holds the template otherwise).
    pub body: Option<String>,
}

/// The kind of a letter template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LetterKind {
    /// `word`: an uploaded Word template.
    Word,
    /// `pdf`: a PDF letter template made in the CRM.
    Pdf,
}

impl LetterKind {
    /// The name as written in `procc.toml`.
    pub fn name(self) -> &'static str {
        match self {
            LetterKind::Word => "word",
            LetterKind::Pdf => "pdf",
        }
    }
}

/// `[[templates.letter]]`: a letter template of the CRM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LetterTemplate {
    /// `id`.
    pub id: String,
    /// Where `id` is written.
    pub id_span: Span,
    /// `kind`: `word` or `pdf`.
    pub kind: LetterKind,
    /// `description`.
    pub description: Option<String>,
}

/// `[[templates.sms]]`: an SMS text template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmsTemplate {
    /// `id`.
    pub id: String,
    /// Where `id` is written.
    pub id_span: Span,
    /// `text`, at most [`SmsTemplate::MAX_CHARS`] characters.
    pub text: String,
}

impl SmsTemplate {
    /// The longest SMS text: two messages.
    pub const MAX_CHARS: usize = 320;
}

/// `[[portals]]`: a real-estate portal properties are published to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Portal {
    /// `id`, like `immoscout24`.
    pub id: String,
    /// Where `id` is written.
    pub id_span: Span,
    /// `name`.
    pub name: String,
    /// `full_sync_only` (default false): the portal only takes full syncs, so a portal-sync
    /// step marks the property for the next full sync.
    pub full_sync_only: bool,
}

/// `[[activities]]`: an activity kind (Aktionsart) and its types (Aktionstypen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActivityKind {
    /// `kind`, like `email`.
    pub id: String,
    /// Where `kind` is written.
    pub id_span: Span,
    /// `types`, like `incoming`, `outgoing`.
    pub types: Vec<String>,
}

impl ActivityKind {
    /// Whether the kind has this type.
    pub fn has_type(&self, ty: &str) -> bool {
        self.types.iter().any(|t| t == ty)
    }
}

/// One of `activity_features`: a feature (Merkmal) of e-mails and activities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActivityFeature {
    /// The feature.
    pub id: String,
    /// Where it is written.
    pub id_span: Span,
}

/// `[[filters]]`: a saved record filter of the CRM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Filter {
    /// `id`.
    pub id: String,
    /// Where `id` is written.
    pub id_span: Span,
    /// `module`: `address` or `property`.
    pub module: Module,
    /// `description`.
    pub description: Option<String>,
}

/// `[[calendars]]`: a business calendar for "business days" durations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Calendar {
    /// `id`, like `nrw`.
    pub id: String,
    /// Where `id` is written.
    pub id_span: Span,
    /// `time_zone`: an IANA time zone.
    pub time_zone: Tz,
    /// `weekend`: the days that are never business days, Monday first, without repeats.
    pub weekend: Vec<Weekday>,
    /// `holidays`: sorted, without repeats.
    pub holidays: Vec<NaiveDate>,
}

impl Calendar {
    /// Whether `date` is a weekend day.
    pub fn is_weekend(&self, date: NaiveDate) -> bool {
        self.weekend.contains(&date.weekday())
    }

    /// Whether `date` is a listed holiday.
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holidays.binary_search(&date).is_ok()
    }

    /// Whether `date` is neither a weekend day nor a holiday.
    pub fn is_business_day(&self, date: NaiveDate) -> bool {
        !self.is_weekend(date) && !self.is_holiday(date)
    }
}

/// A project template of the CRM, for create-project steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectTemplate {
    /// The id.
    pub id: String,
    /// Where the id is written.
    pub id_span: Span,
    /// `name`, when written in the table form.
    pub name: Option<String>,
}

/// One of `mailboxes`: a sender mailbox e-mail steps may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mailbox {
    /// The e-mail address.
    pub address: String,
    /// Where it is written.
    pub span: Span,
}

/// The default of `files`.
pub const DEFAULT_FILES: &str = "**/*.proc";

/// The project file: the tenant's users, groups, record fields, services, templates and the
/// other names `.proc` templates are checked against.
///
/// Made by [`parse_catalog`](crate::parse_catalog). Lookups by id use hash indexes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalog {
    pub(crate) tenant: Option<Tenant>,
    pub(crate) users: Entries<User>,
    pub(crate) groups: Entries<Group>,
    pub(crate) modules: [ModuleDef; 3],
    pub(crate) services: Entries<Service>,
    pub(crate) email_templates: Entries<EmailTemplate>,
    pub(crate) letter_templates: Entries<LetterTemplate>,
    pub(crate) sms_templates: Entries<SmsTemplate>,
    pub(crate) portals: Entries<Portal>,
    pub(crate) activity_kinds: Entries<ActivityKind>,
    pub(crate) activity_features: Entries<ActivityFeature>,
    pub(crate) filters: Entries<Filter>,
    pub(crate) calendars: Entries<Calendar>,
    pub(crate) project_templates: Entries<ProjectTemplate>,
    pub(crate) mailboxes: Entries<Mailbox>,
    pub(crate) files: Vec<String>,
    /// Group id -> positions of its members in `users`.
    #[serde(skip)]
    pub(crate) members: HashMap<String, Vec<usize>>,
}

impl Default for Catalog {
    /// An empty catalog: no tenant, no entries, built-in fields only, `files = ["**/*.proc"]`.
    fn default() -> Self {
        Catalog {
            tenant: None,
            users: Entries::default(),
            groups: Entries::default(),
            modules: Module::ALL.map(|m| ModuleDef::new(m, Vec::new())),
            services: Entries::default(),
            email_templates: Entries::default(),
            letter_templates: Entries::default(),
            sms_templates: Entries::default(),
            portals: Entries::default(),
            activity_kinds: Entries::default(),
            activity_features: Entries::default(),
            filters: Entries::default(),
            calendars: Entries::default(),
            project_templates: Entries::default(),
            mailboxes: Entries::default(),
            files: vec![DEFAULT_FILES.to_owned()],
            members: HashMap::new(),
        }
    }
}

macro_rules! lookups {
    ($( $field:ident: $ty:ty, $one:ident, $ids:ident, $what:literal; )*) => {
        impl Catalog {
            $(
                #[doc = concat!("Every ", $what, ", in file order.")]
                pub fn $field(&self) -> &[$ty] {
                    self.$field.as_slice()
                }

                #[doc = concat!("The ", $what, " with this id.")]
                pub fn $one(&self, id: &str) -> Option<&$ty> {
                    self.$field.get(id)
                }

                #[doc = concat!("The ids of every ", $what, ", in file order (for \"did you mean\" suggestions).")]
                pub fn $ids(&self) -> impl Iterator<Item = &str> + '_ {
                    self.$field.ids()
                }
            )*
        }
    };
}

lookups! {
    users: User, user, user_ids, "user";
    groups: Group, group, group_ids, "group";
    services: Service, service, service_ids, "marketplace service";
    email_templates: EmailTemplate, email_template, email_template_ids, "e-mail template";
    letter_templates: LetterTemplate, letter_template, letter_template_ids, "letter template";
    sms_templates: SmsTemplate, sms_template, sms_template_ids, "SMS template";
    portals: Portal, portal, portal_ids, "portal";
    activity_kinds: ActivityKind, activity_kind, activity_kind_ids, "activity kind";
    activity_features: ActivityFeature, activity_feature, activity_feature_ids, "activity feature";
    filters: Filter, filter, filter_ids, "record filter";
    calendars: Calendar, calendar, calendar_ids, "business calendar";
    project_templates: ProjectTemplate, project_template, project_template_ids, "project template";
    mailboxes: Mailbox, mailbox, mailbox_ids, "sender mailbox";
}

impl Catalog {
    /// `[tenant]`, when the file has a valid one.
    pub fn tenant(&self) -> Option<&Tenant> {
        self.tenant.as_ref()
    }

    /// The statuses and fields of a module.
    pub fn module(&self, module: Module) -> &ModuleDef {
        match module {
            Module::Address => &self.modules[0],
            Module::Property => &self.modules[1],
            Module::Project => &self.modules[2],
        }
    }

    /// A field of a module, built-in fields included.
    pub fn field(&self, module: Module, name: &str) -> Option<&Field> {
        self.module(module).field(name)
    }

    /// The status values of a module.
    pub fn statuses(&self, module: Module) -> &[String] {
        &self.module(module).statuses
    }

    /// The users that belong to a group, in file order.
    pub fn group_members(&self, group: &str) -> impl Iterator<Item = &User> + '_ {
        self.members
            .get(group)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.users.as_slice().get(i))
    }

    /// `files`: the paths or globs of the project's `.proc` files, relative to `procc.toml`.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// Builds the group membership index; called once the users are final.
    pub(crate) fn index_members(&mut self) {
        let mut members: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, user) in self.users.as_slice().iter().enumerate() {
            for g in &user.groups {
                if self.groups.position(g).is_some() {
                    members.entry(g.clone()).or_default().push(i);
                }
            }
        }
        self.members = members;
    }
}
