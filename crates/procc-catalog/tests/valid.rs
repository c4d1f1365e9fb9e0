//! Valid project files parse into the expected catalog.

use chrono::{NaiveDate, Weekday};
use procc_catalog::{
    Catalog, CatalogEntry, FieldType, HttpMethod, LetterKind, Module, ParameterValues, Right,
    SecretSource, Webhook, parse_catalog,
};
use procc_diagnostics::{FileId, SourceFile};

const EXAMPLE: &str = include_str!("../../../examples/procc.toml");

fn parse_ok(text: &str) -> Catalog {
    let (catalog, diags) = parse_catalog(FileId(0), text);
    let file = SourceFile::new("procc.toml", text);
    let rendered: Vec<String> = diags
        .iter()
        .map(|d| {
            format!(
                "{} {} at {:?}",
                d.code.id,
                d.message,
                file.slice(d.primary_span())
            )
        })
        .collect();
    assert!(rendered.is_empty(), "unexpected diagnostics: {rendered:#?}");
    catalog
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
}

#[test]
fn example_tenant_users_and_groups() {
    let c = parse_ok(EXAMPLE);
    let tenant = c.tenant().unwrap();
    assert_eq!(tenant.id, "exampleimmo");
    assert_eq!(tenant.name, "Example Immobilien GmbH");
    assert_eq!(tenant.mobile.as_deref(), Some("+49 211 5550100"));

    assert_eq!(
        c.user_ids().collect::<Vec<_>>(),
        [
            "k.schmidt",
            "m.weber",
            "a.yilmaz",
            "j.becker",
            "t.wagner",
            "l.fischer"
        ]
    );
    let k = c.user("k.schmidt").unwrap();
    assert_eq!(k.name, "Katrin Schmidt");
    assert_eq!(k.email, "k.schmidt@example-immobilien.de");
    assert_eq!(k.rights, Right::ALL.to_vec());
    assert_eq!(k.groups, ["office", "sales", "lettings"]);
    assert_eq!(k.address.as_deref(), Some("1001"));
    assert!(k.has_right(Right::SeeOthers));
    assert_eq!(
        &EXAMPLE[k.id_span().start()..k.id_span().end()],
        "\"k.schmidt\""
    );

    let l = c.user("t.wagner").unwrap();
    assert_eq!(l.mobile, None);
    assert_eq!(l.address, None);
    assert!(!l.has_right(Right::Design));
    assert!(c.user("nobody").is_none());

    assert_eq!(
        c.group_ids().collect::<Vec<_>>(),
        ["office", "sales", "lettings"]
    );
    assert_eq!(
        c.group("sales").unwrap().mobile.as_deref(),
        Some("+49 211 5550110")
    );
    assert_eq!(c.group("office").unwrap().mobile, None);
    let sales: Vec<&str> = c.group_members("sales").map(|u| u.id.as_str()).collect();
    assert_eq!(sales, ["k.schmidt", "m.weber", "a.yilmaz", "j.becker"]);
    assert_eq!(c.group_members("nobody").count(), 0);
}

#[test]
fn example_modules_and_fields() {
    let c = parse_ok(EXAMPLE);
    assert_eq!(
        c.statuses(Module::Property),
        [
            "acquisition",
            "active",
            "reserved",
            "sold",
            "let",
            "withdrawn"
        ]
    );
    assert!(c.module(Module::Address).has_status("qualified"));
    assert_eq!(c.statuses(Module::Project), ["open", "done"]);

    let price = c.field(Module::Property, "purchase_price").unwrap();
    assert_eq!(price.ty, FieldType::Money);
    assert_eq!(price.label.as_deref(), Some("Purchase price"));
    assert!(!price.builtin && !price.read_only);
    assert_eq!(
        c.field(Module::Property, "living_area").unwrap().ty,
        FieldType::Area
    );
    assert_eq!(
        c.field(Module::Property, "rooms").unwrap().ty,
        FieldType::Number
    );
    assert_eq!(
        c.field(Module::Property, "exclusive").unwrap().ty,
        FieldType::Bool
    );
    assert!(c.field(Module::Property, "listed_since").unwrap().read_only);
    let marketing = c.field(Module::Property, "marketing_type").unwrap();
    assert_eq!(marketing.ty, FieldType::Enum);
    assert_eq!(marketing.values, ["buy", "rent"]);
    assert!(marketing.allows_value("rent") && !marketing.allows_value("lease"));
    let span = marketing.span.unwrap();
    assert_eq!(&EXAMPLE[span.start()..span.end()], "marketing_type");

    let customer_type = c.field(Module::Address, "customer_type").unwrap();
    assert_eq!(
        customer_type.values,
        ["owner", "buyer", "tenant", "landlord"]
    );
    assert_eq!(
        c.field(Module::Address, "birthday").unwrap().ty,
        FieldType::Date
    );
    assert_eq!(
        c.field(Module::Project, "budget").unwrap().ty,
        FieldType::Money
    );
    // Fields belong to their module only.
    assert!(c.field(Module::Address, "purchase_price").is_none());
}

#[test]
fn builtin_fields() {
    let c = parse_ok(EXAMPLE);
    for module in Module::ALL {
        let id = c.field(module, "id").unwrap();
        assert!(id.builtin && id.read_only && id.span.is_none());
        assert_eq!(id.ty, FieldType::Text);
        let status = c.field(module, "status").unwrap();
        assert_eq!(status.ty, FieldType::Enum);
        assert_eq!(status.values, c.statuses(module));
        assert!(!status.read_only);
    }
    assert!(c.field(Module::Address, "supervisor").unwrap().builtin);
    assert!(c.field(Module::Property, "supervisor").unwrap().builtin);
    assert!(c.field(Module::Project, "supervisor").is_none());
    assert!(c.field(Module::Address, "email").unwrap().builtin);
    assert!(c.field(Module::Address, "mobile").unwrap().builtin);
    assert!(c.field(Module::Property, "email").is_none());
    assert!(
        c.module(Module::Property)
            .field_names()
            .any(|f| f == "supervisor")
    );

    // An empty catalog still has them.
    let empty = Catalog::default();
    assert!(
        empty
            .field(Module::Project, "status")
            .unwrap()
            .values
            .is_empty()
    );
    assert_eq!(empty.files(), ["**/*.proc"]);
}

#[test]
fn example_services() {
    let c = parse_ok(EXAMPLE);
    assert_eq!(
        c.service_ids().collect::<Vec<_>>(),
        [
            "sprengnetter",
            "pricehubble",
            "newsletter_connector",
            "old_portal_tool",
            "floorplanner"
        ]
    );
    let s = c.service("sprengnetter").unwrap();
    assert!(s.activated);
    let w = s.callable_webhook().unwrap();
    assert_eq!(
        w.url,
        "https://webhooks.sprengnetter.example/onoffice/valuation"
    );
    assert_eq!(w.method, HttpMethod::Post);
    assert_eq!(
        w.secret,
        Some(SecretSource::Env("SPRENGNETTER_SECRET".into()))
    );
    assert_eq!((w.max_attempts, w.timeout_seconds), (5, 20));
    let mode = w.parameter("mode").unwrap();
    assert_eq!(
        mode.values,
        ParameterValues::OneOf(vec!["full".into(), "quick".into()])
    );
    assert!(mode.allows("quick") && !mode.allows("slow"));
    assert_eq!(w.parameter("purpose").unwrap().values, ParameterValues::Any);
    assert!(w.parameter("purpose").unwrap().allows("anything at all"));
    assert!(w.parameter("nope").is_none());

    let p = c
        .service("pricehubble")
        .unwrap()
        .callable_webhook()
        .unwrap();
    assert_eq!(
        p.secret,
        Some(SecretSource::File("secrets/pricehubble.key".into()))
    );
    assert!(p.parameters.is_empty());
    assert_eq!(p.max_attempts, Webhook::DEFAULT_MAX_ATTEMPTS);
    assert_eq!(p.timeout_seconds, Webhook::DEFAULT_TIMEOUT_SECONDS);

    let n = c
        .service("newsletter_connector")
        .unwrap()
        .callable_webhook()
        .unwrap();
    assert_eq!(n.method, HttpMethod::Get);
    assert_eq!(n.parameter_names().collect::<Vec<_>>().len(), 2);

    let old = c.service("old_portal_tool").unwrap();
    assert!(!old.activated && old.webhook.is_some() && old.callable_webhook().is_none());
    let floor = c.service("floorplanner").unwrap();
    assert!(floor.activated && floor.webhook.is_none());
}

#[test]
fn example_templates_portals_activities_filters() {
    let c = parse_ok(EXAMPLE);
    assert_eq!(c.email_templates().len(), 7);
    for id in [
        "valuation-update",
        "acquisition-intro",
        "viewing-confirmation",
        "birthday-greeting",
        "tenant-welcome",
        "owner-report",
        "lead-ack",
    ] {
        assert!(c.email_template(id).is_some(), "{id}");
    }
    assert!(
        c.email_template("birthday-greeting")
            .unwrap()
            .body
            .as_deref()
            .unwrap()
            .contains("happy birthday")
    );
    assert_eq!(
        c.letter_template("mandate-contract").unwrap().kind,
        LetterKind::Pdf
    );
    assert_eq!(
        c.letter_template("owner-report-letter").unwrap().kind,
        LetterKind::Word
    );
    assert!(c.letter_template("handover-protocol").is_some());
    assert!(
        c.sms_template("viewing-reminder")
            .unwrap()
            .text
            .starts_with("Reminder")
    );
    // Separate namespaces.
    assert!(c.letter_template("valuation-update").is_none());

    assert_eq!(
        c.portal_ids().collect::<Vec<_>>(),
        ["immoscout24", "immowelt", "kleinanzeigen"]
    );
    assert!(c.portal("kleinanzeigen").unwrap().full_sync_only);
    assert!(!c.portal("immowelt").unwrap().full_sync_only);

    assert_eq!(
        c.activity_kind("email").unwrap().types,
        ["incoming", "outgoing"]
    );
    assert!(c.activity_kind("phone").unwrap().has_type("callback"));
    assert!(c.activity_kind("lead").unwrap().has_type("assigned"));
    assert_eq!(
        c.activity_feature_ids().collect::<Vec<_>>(),
        ["inquiry", "valuation-request", "complaint"]
    );

    assert_eq!(c.filter("hot-leads").unwrap().module, Module::Address);
    assert_eq!(c.filter("active-sales").unwrap().module, Module::Property);
    assert_eq!(
        c.filter("lettings-portfolio").unwrap().module,
        Module::Property
    );

    assert_eq!(
        c.project_template_ids().collect::<Vec<_>>(),
        ["sale-project", "letting-project"]
    );
    assert!(c.mailbox("office@example-immobilien.de").is_some());
    assert_eq!(c.files(), ["*.proc"]);
}

#[test]
fn example_calendars() {
    let c = parse_ok(EXAMPLE);
    let nrw = c.calendar("nrw").unwrap();
    assert_eq!(nrw.time_zone, chrono_tz::Europe::Berlin);
    assert_eq!(nrw.weekend, [Weekday::Sat, Weekday::Sun]);
    assert_eq!(nrw.holidays.len(), 22);
    assert!(nrw.is_holiday(date(2026, 6, 4))); // Corpus Christi
    assert!(!nrw.is_business_day(date(2026, 12, 26)));
    assert!(!nrw.is_business_day(date(2026, 3, 7))); // a Saturday
    assert!(nrw.is_business_day(date(2026, 3, 9)));
    let berlin = c.calendar("berlin").unwrap();
    assert!(berlin.is_holiday(date(2027, 3, 8)));
    assert!(!berlin.is_holiday(date(2027, 5, 27)));
    assert_eq!(berlin.weekend, [Weekday::Sat, Weekday::Sun]); // the default
}

/// Every optional form: inline arrays of tables, the table form of project templates, integer
/// record ids, weekday abbreviations, lower-case methods, reserved tables, defaults.
#[test]
fn alternative_forms_and_defaults() {
    let text = r#"
project_templates = ["plain", { id = "with-name", name = "With name" }]
activity_features = []

[tenant]
id = "t1"
name = "Tenant"

[[users]]
id = "u1"
name = "User"
email = "u1@example.com"
address = 4711

[[services]]
id = "svc"
name = "Service"
activated = false
webhook = { url = "http://localhost:8080/hook", method = "get", parameters = { p = ["x"] } }

[templates]
email = [{ id = "e1", subject = "S" }]
letter = [{ id = "l1", kind = "word" }]
sms = [{ id = "s1", text = "Hi" }]

[[calendars]]
id = "short-week"
time_zone = "America/New_York"
weekend = ["Fri", "sat", "SUNDAY", "sat"]
holidays = ["2026-07-04", 2026-07-04, 2026-01-01]

[[calendars]]
id = "seven-days"
time_zone = "UTC"
weekend = []

[runtime]
anything = { goes = [1, 2, 3] }

[smtp]
host = "mail.example.com"
from = "Processes <processes@example.com>"
username = "procc"
password_file = "secrets/smtp"

[sms_gateway]
url = "https://sms.example.com/send"
token_env = "SMS_TOKEN"

[delivery]
concurrency = 4
per_endpoint = 4
retry_schedule = [0, 5, 300]
allowed_hosts = ["hooks.example.com"]
webhook_secret_env = "WEBHOOK_SECRETS"
"#;
    let c = parse_ok(text);
    let u = c.user("u1").unwrap();
    assert_eq!(u.address.as_deref(), Some("4711"));
    assert!(u.groups.is_empty() && u.rights.is_empty() && u.mobile.is_none());
    let s = c.service("svc").unwrap();
    assert!(!s.activated);
    let w = s.webhook.as_ref().unwrap();
    assert_eq!(w.method, HttpMethod::Get);
    assert_eq!(w.secret, None);
    assert!(w.parameter("p").unwrap().allows("x"));
    assert_eq!(c.email_template("e1").unwrap().body, None);
    assert_eq!(c.letter_template("l1").unwrap().description, None);
    assert_eq!(c.sms_template("s1").unwrap().text, "Hi");
    assert_eq!(c.project_template("plain").unwrap().name, None);
    assert_eq!(
        c.project_template("with-name").unwrap().name.as_deref(),
        Some("With name")
    );
    assert_eq!(c.activity_features().len(), 0);
    let cal = c.calendar("short-week").unwrap();
    assert_eq!(cal.weekend, [Weekday::Fri, Weekday::Sat, Weekday::Sun]);
    assert_eq!(cal.holidays, [date(2026, 1, 1), date(2026, 7, 4)]);
    assert!(
        c.calendar("seven-days")
            .unwrap()
            .is_business_day(date(2026, 3, 7))
    );
    // Defaults.
    assert_eq!(c.files(), ["**/*.proc"]);
    assert!(c.portals().is_empty() && c.filters().is_empty() && c.mailboxes().is_empty());
    assert_eq!(c.statuses(Module::Property), Vec::<String>::new());
    assert!(c.field(Module::Property, "status").is_some());
}

#[test]
fn catalog_serializes_to_json() {
    let c = parse_ok(EXAMPLE);
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["users"][0]["id"], "k.schmidt");
    assert_eq!(json["users"][0]["rights"][4], "adjust-following");
    assert_eq!(json["calendars"][0]["time_zone"], "Europe/Berlin");
    assert_eq!(json["calendars"][0]["holidays"][0], "2026-01-01");
    assert_eq!(json["services"][0]["webhook"]["method"], "POST");
}

#[test]
fn the_same_text_parses_to_the_same_catalog() {
    let a = parse_ok(EXAMPLE);
    let b = parse_ok(EXAMPLE);
    assert_eq!(a, b);
    assert_ne!(a, Catalog::default());
}
