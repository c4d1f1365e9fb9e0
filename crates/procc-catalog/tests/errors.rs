//! Every problem is reported with its code, at the exact span of the key or value at fault.

use procc_catalog::{Catalog, Module, parse_catalog};
use procc_diagnostics::{Diagnostic, FileId, SourceFile};

const TENANT: &str = "[tenant]\nid = \"t1\"\nname = \"Tenant\"\n";

/// A reported problem, flattened for assertions.
#[derive(Debug)]
struct Seen {
    code: &'static str,
    /// The text under the primary label.
    at: String,
    message: String,
    help: Option<String>,
    /// The texts under the secondary labels.
    secondary: Vec<String>,
}

fn check(text: &str) -> (Catalog, Vec<Seen>) {
    let (catalog, diags) = parse_catalog(FileId(7), text);
    let file = SourceFile::new("procc.toml", text);
    assert_well_formed(&diags);
    let seen = diags
        .iter()
        .map(|d| Seen {
            code: d.code.id,
            at: file.slice(d.primary_span()).to_owned(),
            message: d.message.clone(),
            help: d.help.clone(),
            secondary: d
                .labels
                .iter()
                .filter(|l| !l.primary)
                .map(|l| file.slice(l.span).to_owned())
                .collect(),
        })
        .collect();
    (catalog, seen)
}

/// Messages start lowercase (or with a backticked name), have no trailing period, point into
/// the file, and come sorted by position.
fn assert_well_formed(diags: &[Diagnostic]) {
    for d in diags {
        assert_eq!(d.file, FileId(7));
        let first = d.message.chars().next().expect("a message");
        assert!(
            first.is_lowercase() || first == '`' || d.message.starts_with("SMS"),
            "message should start lowercase: {}",
            d.message
        );
        assert!(!d.message.ends_with('.'), "trailing period: {}", d.message);
        assert_eq!(d.labels.iter().filter(|l| l.primary).count(), 1);
        assert!(d.code.id.starts_with("P5"));
    }
    for pair in diags.windows(2) {
        assert!(pair[0].primary_span().start <= pair[1].primary_span().start);
    }
}

/// The single problem of `text`.
fn only(text: &str) -> Seen {
    let (_, mut seen) = check(text);
    assert_eq!(seen.len(), 1, "expected exactly one problem, got {seen:#?}");
    seen.remove(0)
}

fn with_tenant(rest: &str) -> String {
    format!("{TENANT}{rest}")
}

/// Top-level keys come before the first table.
fn top_level(keys: &str) -> String {
    format!("{keys}{TENANT}")
}

// ---- P5001 -----------------------------------------------------------------------------------

#[test]
fn p5001_syntax_error_at_the_toml_span() {
    let text = with_tenant("[[users]\nid = \"a\"\n");
    let (_, seen) = check(&text);
    assert!(!seen.is_empty());
    assert!(seen.iter().all(|s| s.code == "P5001"), "{seen:#?}");
    assert!(seen[0].message.starts_with("invalid TOML: "));

    let s = only(&with_tenant("x = \"unterminated\n"));
    assert_eq!(s.code, "P5001");
    let s = only(&with_tenant("a = 1\na = 2\n"));
    assert_eq!((s.code, s.at.as_str()), ("P5001", "a"));
    assert!(s.message.contains("duplicate key"));
    let s = only(&with_tenant(
        "[[calendars]]\nid = \"x\"\ntime_zone = \"UTC\"\nholidays = [2026-02-30]\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5001", "2026-02-30"));
}

#[test]
fn p5001_only_syntax_errors_but_a_best_effort_catalog() {
    // The broken line hides nothing else: the valid parts still make it into the catalog.
    let text = with_tenant(
        "[[groups]]\nid = \"sales\"\nname = \"Sales\"\n\n[[portals]]\nid = \"p\"\nname = = \"P\"\n",
    );
    let (catalog, seen) = check(&text);
    assert!(seen.iter().all(|s| s.code == "P5001"), "{seen:#?}");
    assert!(catalog.group("sales").is_some());
    assert_eq!(catalog.tenant().unwrap().id, "t1");
}

// ---- P5002 -----------------------------------------------------------------------------------

#[test]
fn p5002_unknown_keys_with_suggestions() {
    let s = only(&with_tenant("[[usres]]\nid = \"a\"\n"));
    assert_eq!((s.code, s.at.as_str()), ("P5002", "usres"));
    assert_eq!(s.message, "unknown key `usres` in `procc.toml`");
    assert_eq!(s.help.as_deref(), Some("did you mean `users`?"));

    let s = only(&with_tenant(
        "[[users]]\nid = \"a\"\nname = \"A\"\nemail = \"a@b.de\"\nmobil = \"+49 171 1234567\"\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5002", "mobil"));
    assert_eq!(s.help.as_deref(), Some("did you mean `mobile`?"));

    let s = only(&with_tenant(
        "[[services]]\nid = \"s\"\nname = \"S\"\n[services.webhook]\nurl = \"https://x.de\"\nzzz = 1\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5002", "zzz"));
    assert!(
        s.help
            .unwrap()
            .starts_with("the keys of `[services.webhook]` are `url`, `method`")
    );

    let s = only(&with_tenant("[modules.estate]\nstatuses = []\n"));
    assert_eq!((s.code, s.at.as_str()), ("P5002", "estate"));
    assert_eq!(
        s.help.as_deref(),
        Some("the keys of `[modules]` are `address`, `property` and `project`")
    );
}

#[test]
fn p5002_unknown_key_keeps_the_entry() {
    let (catalog, seen) = check(&with_tenant(
        "[[portals]]\nid = \"p\"\nname = \"P\"\nfull_sync = true\n",
    ));
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].code, seen[0].at.as_str()), ("P5002", "full_sync"));
    assert_eq!(
        seen[0].help.as_deref(),
        Some("did you mean `full_sync_only`?")
    );
    assert!(catalog.portal("p").is_some());
}

#[test]
fn p5002_top_level_key_below_a_table() {
    let s = only(&with_tenant("files = [\"*.proc\"]\n"));
    assert_eq!((s.code, s.at.as_str()), ("P5002", "files"));
    assert_eq!(s.message, "unknown key `files` in `[tenant]`");
    assert_eq!(
        s.help.as_deref(),
        Some("`files` belongs to the top level: move it above the first `[table]` header")
    );
}

#[test]
fn the_runtime_table_is_accepted_and_delivery_tables_are_checked() {
    let (_, seen) = check(&with_tenant("[runtime]\nx = 1\n"));
    assert!(seen.is_empty(), "{seen:#?}");
    let (_, seen) = check(&with_tenant(
        "[smtp]\nhots = \"h\"\nfrom = \"a@b.de\"\n[sms_gateway]\nurl = \"sms.example\"\n[delivery]\ny = [1]\n",
    ));
    let found: Vec<(&str, &str)> = seen.iter().map(|s| (s.code, s.at.as_str())).collect();
    assert_eq!(
        found,
        vec![
            ("P5003", "[smtp]"),
            ("P5002", "hots"),
            ("P5004", "\"sms.example\""),
            ("P5002", "y"),
        ]
    );
    assert_eq!(seen[1].help.as_deref(), Some("did you mean `host`?"));
}

// ---- P5007 -----------------------------------------------------------------------------------

#[test]
fn p5007_delivery_settings_that_cannot_work() {
    let (_, seen) = check(&with_tenant(
        "[delivery]\nconcurrency = 4\nper_endpoint = 16\nthreads = 0\ntimeout_seconds = 0\nretry_schedule = []\n",
    ));
    let found: Vec<(&str, &str)> = seen.iter().map(|s| (s.code, s.at.as_str())).collect();
    assert_eq!(
        found,
        vec![
            ("P5007", "16"),
            ("P5007", "0"),
            ("P5007", "0"),
            ("P5007", "[]")
        ],
        "{seen:#?}"
    );
    assert!(
        seen[1].message.contains("`delivery.threads` is 0"),
        "{seen:#?}"
    );
    assert!(seen[0].message.contains("above `delivery.concurrency` (4)"));
    assert_eq!(
        seen[0].help.as_deref(),
        Some("lower it to at most 4, or raise `delivery.concurrency`")
    );
    assert!(
        seen[3]
            .message
            .contains("no effect would ever be attempted")
    );
    let (_, seen) = check(&with_tenant(
        "[smtp]\nhost = \"h\"\nfrom = \"a@b.de\"\nusername = \"procc\"\nport = 0\n",
    ));
    let found: Vec<(&str, &str)> = seen.iter().map(|s| (s.code, s.at.as_str())).collect();
    assert_eq!(found, vec![("P5007", "\"procc\""), ("P5007", "0")]);
    let (_, seen) = check(&with_tenant(
        "[sms_gateway]\nurl = \"https://sms.example\"\ntoken_env = \"T\"\ntoken_file = \"t\"\n",
    ));
    let found: Vec<(&str, &str)> = seen.iter().map(|s| (s.code, s.at.as_str())).collect();
    assert_eq!(found, vec![("P5007", "\"t\"")]);
    // Wrong types stay P5004.
    let (_, seen) = check(&with_tenant(
        "[delivery]\nconcurrency = \"many\"\nretry_schedule = [0, -5]\n",
    ));
    let found: Vec<(&str, &str)> = seen.iter().map(|s| (s.code, s.at.as_str())).collect();
    assert_eq!(found, vec![("P5004", "\"many\""), ("P5004", "-5")]);
}

// ---- P5008 -----------------------------------------------------------------------------------

#[test]
fn p5008_secrets_written_into_the_file() {
    let (_, seen) = check(&with_tenant(
        "[smtp]\nhost = \"h\"\nfrom = \"a@b.de\"\nusername = \"procc\"\npassword = \"hunter2\"\n\
         [sms_gateway]\nurl = \"https://sms.example\"\ntoken = \"abc\"\n\
         [delivery]\nwebhook_secret = \"whsec_abc\"\n",
    ));
    let found: Vec<(&str, &str)> = seen.iter().map(|s| (s.code, s.at.as_str())).collect();
    assert_eq!(
        found,
        vec![
            ("P5008", "password"),
            ("P5008", "token"),
            ("P5008", "webhook_secret")
        ]
    );
    assert_eq!(
        seen[0].help.as_deref(),
        Some(
            "name an environment variable with `password_env = \"SMTP_PASSWORD\"`, or a file with `password_file = \"secrets/smtp-password\"`"
        )
    );
    assert!(
        seen.iter()
            .all(|s| !s.message.contains("hunter2") && !s.message.contains("whsec_abc")),
        "a message never repeats the secret"
    );
}

// ---- P5003 -----------------------------------------------------------------------------------

#[test]
fn p5003_missing_keys_point_at_the_table_header() {
    let (catalog, seen) = check(&with_tenant("[[users]]\nid = \"a\"\nname = \"A\"\n"));
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!((seen[0].code, seen[0].at.as_str()), ("P5003", "[[users]]"));
    assert_eq!(seen[0].message, "missing key `email` in `[[users]]`");
    assert!(
        seen[0]
            .help
            .as_deref()
            .unwrap()
            .starts_with("add `email = ")
    );
    assert!(
        catalog.user("a").is_none(),
        "an entry with errors is left out"
    );

    let s = only(&with_tenant(
        "[[services]]\nid = \"s\"\nname = \"S\"\n[services.webhook]\nmethod = \"GET\"\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5003", "[services.webhook]"));
    assert_eq!(s.message, "missing key `url` in `[services.webhook]`");

    let s = only(&top_level("templates.sms = [{ id = \"x\" }]\n"));
    assert_eq!((s.code, s.at.as_str()), ("P5003", "{ id = \"x\" }"));
}

#[test]
fn p5003_missing_tenant() {
    let s = only("[[groups]]\nid = \"g\"\nname = \"G\"\n");
    assert_eq!(s.code, "P5003");
    assert_eq!(s.message, "missing table `[tenant]`");
    assert_eq!(s.at, "");
    let s = only("[tenant]\nname = \"x\"\n");
    assert_eq!((s.code, s.at.as_str()), ("P5003", "[tenant]"));
    assert_eq!(s.message, "missing key `id` in `[tenant]`");
}

#[test]
fn p5003_enum_without_values() {
    let s = only(&with_tenant(
        "[modules.address.fields]\nlead_source = \"enum\"\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5003", "\"enum\""));
    assert_eq!(s.message, "enum field `lead_source` has no `values`");
    let s = only(&with_tenant(
        "[modules.address.fields]\nlead_source = { type = \"enum\" }\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5003", "{ type = \"enum\" }"));
    assert_eq!(
        s.message,
        "missing key `values` in `[modules.address.fields.lead_source]`"
    );
}

// ---- P5004 -----------------------------------------------------------------------------------

#[test]
fn p5004_wrong_types() {
    let s = only("[tenant]\nid = 42\nname = \"T\"\n");
    assert_eq!((s.code, s.at.as_str()), ("P5004", "42"));
    assert_eq!(s.message, "`tenant.id` must be a string, not an integer");

    let s = only(&with_tenant(
        "[[portals]]\nid = \"p\"\nname = \"P\"\nfull_sync_only = \"yes\"\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "\"yes\""));
    assert_eq!(
        s.message,
        "`portals.full_sync_only` must be a boolean (`true` or `false`), not a string"
    );

    let s = only(&with_tenant("[users]\nid = \"a\"\n"));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "users"));
    assert_eq!(
        s.help.as_deref(),
        Some("write `[[users]]` (double brackets) above each entry")
    );

    let s = only(&top_level("files = \"*.proc\"\n"));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "\"*.proc\""));

    let s = only(&top_level("mailboxes = [\"a@b.de\", 3]\n"));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "3"));
    assert_eq!(s.message, "`mailboxes` must list strings, not an integer");
}

#[test]
fn p5004_bad_time_zone_date_and_weekday() {
    let cal = |body: &str| with_tenant(&format!("[[calendars]]\nid = \"c\"\n{body}"));
    let s = only(&cal("time_zone = \"Europe/Berlim\"\n"));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "\"Europe/Berlim\""));
    assert_eq!(s.message, "unknown time zone `Europe/Berlim`");
    assert_eq!(s.help.as_deref(), Some("did you mean `Europe/Berlin`?"));

    let s = only(&cal("time_zone = \"UTC\"\nholidays = [\"2026-02-30\"]\n"));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "\"2026-02-30\""));
    assert!(s.message.ends_with("no such date"), "{}", s.message);

    let s = only(&cal("time_zone = \"UTC\"\nholidays = [\"24.12.2026\"]\n"));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "\"24.12.2026\""));

    let s = only(&cal(
        "time_zone = \"UTC\"\nholidays = [2026-12-24T10:00:00]\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "2026-12-24T10:00:00"));

    let s = only(&cal(
        "time_zone = \"UTC\"\nweekend = [\"saturday\", \"sundy\"]\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "\"sundy\""));
    assert_eq!(s.help.as_deref(), Some("did you mean `sunday`?"));
}

#[test]
fn p5004_bad_email_url_phone() {
    let user = |email: &str, mobile: &str| {
        with_tenant(&format!(
            "[[users]]\nid = \"a\"\nname = \"A\"\nemail = \"{email}\"\nmobile = \"{mobile}\"\n"
        ))
    };
    let s = only(&user("a.example.com", "+49 171 1234567"));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "\"a.example.com\""));
    assert_eq!(
        s.message,
        "`a.example.com` is not a valid e-mail address: it has no `@`"
    );
    let s = only(&user("a@example.com", "call me"));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "\"call me\""));

    let hook = |url: &str| {
        with_tenant(&format!(
            "[[services]]\nid = \"s\"\nname = \"S\"\nwebhook.url = \"{url}\"\n"
        ))
    };
    let s = only(&hook("ftp://files.example.com"));
    assert_eq!(
        (s.code, s.at.as_str()),
        ("P5004", "\"ftp://files.example.com\"")
    );
    let s = only(&hook("https://"));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "\"https://\""));
    assert!(s.message.ends_with("it has no host"));
}

#[test]
fn p5008_literal_service_secret_is_rejected() {
    let text = with_tenant(
        "[[services]]\nid = \"s\"\nname = \"S\"\n[services.webhook]\nurl = \"https://x.de/h\"\nsecret = \"hunter2\"\n",
    );
    let (catalog, seen) = check(&text);
    assert_eq!(seen.len(), 1, "{seen:#?}");
    let s = &seen[0];
    assert_eq!((s.code, s.at.as_str()), ("P5008", "secret"));
    let help = s.help.as_deref().unwrap();
    assert!(
        help.contains("secret_env") && help.contains("secret_file"),
        "{help}"
    );
    assert!(!s.message.contains("hunter2") && !help.contains("hunter2"));
    assert!(catalog.service("s").is_none());

    let s = only(&with_tenant(
        "[[services]]\nid = \"s\"\nname = \"S\"\n[services.webhook]\nurl = \"https://x.de/h\"\nsecret_env = \"A\"\nsecret_file = \"f\"\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "secret_file"));
    let s = only(&with_tenant(
        "[[services]]\nid = \"s\"\nname = \"S\"\n[services.webhook]\nurl = \"https://x.de/h\"\nsecret_env = \"sk-live 123\"\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "\"sk-live 123\""));
}

#[test]
fn p5004_other_invalid_values() {
    let s = only(&with_tenant(
        "[[users]]\nid = \"a\"\nname = \"A\"\nemail = \"a@b.de\"\nrights = [\"start\", \"desing\"]\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "\"desing\""));
    assert_eq!(s.help.as_deref(), Some("did you mean `design`?"));

    let s = only(&with_tenant(
        "[modules.property.fields]\nprice = \"monee\"\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "\"monee\""));
    assert_eq!(s.help.as_deref(), Some("did you mean `money`?"));

    let s = only(&with_tenant(
        "[modules.property.fields]\n\"Purchase Price\" = \"money\"\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "\"Purchase Price\""));

    let s = only(&with_tenant(
        "[modules.property.fields]\nrooms = { type = \"number\", values = [\"1\"] }\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "values"));

    let long = "x".repeat(321);
    let s = only(&with_tenant(&format!(
        "[[templates.sms]]\nid = \"s\"\ntext = \"{long}\"\n"
    )));
    assert_eq!((s.code, s.at), ("P5004", format!("\"{long}\"")));
    let ok = "ä".repeat(320);
    assert!(
        check(&with_tenant(&format!(
            "[[templates.sms]]\nid = \"s\"\ntext = \"{ok}\"\n"
        )))
        .1
        .is_empty()
    );

    let s = only(&with_tenant(
        "[[templates.letter]]\nid = \"l\"\nkind = \"docx\"\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "\"docx\""));

    let s = only(&with_tenant(
        "[[services]]\nid = \"price-hubble\"\nname = \"P\"\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "\"price-hubble\""));

    let hook = |body: &str| {
        with_tenant(&format!(
            "[[services]]\nid = \"s\"\nname = \"S\"\n[services.webhook]\nurl = \"https://x.de\"\n{body}"
        ))
    };
    let s = only(&hook("method = \"PUT\"\n"));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "\"PUT\""));
    let s = only(&hook("max_attempts = 0\n"));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "0"));
    let s = only(&hook("timeout_seconds = 1e3\n"));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "1e3"));
    let s = only(&hook("parameters = { mode = [] }\n"));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "[]"));
    let s = only(&hook("parameters = { mode = \"full\" }\n"));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "\"full\""));
    let s = only(&hook("parameters = { \"the-mode\" = \"any\" }\n"));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "\"the-mode\""));

    let s = only(&with_tenant(
        "[[filters]]\nid = \"f\"\nmodule = \"project\"\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "\"project\""));

    let s = only(&top_level("files = []\n"));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "[]"));

    let s = only(&with_tenant("[[groups]]\nid = \" sales\"\nname = \"S\"\n"));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "\" sales\""));

    let s = only(&with_tenant(
        "[[users]]\nid = \"k schmidt\"\nname = \"K\"\nemail = \"k@b.de\"\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5004", "\"k schmidt\""));
}

// ---- P5005 -----------------------------------------------------------------------------------

#[test]
fn p5005_duplicate_ids_label_the_first_definition() {
    let text = with_tenant(
        "[[users]]\nid = \"k.schmidt\"\nname = \"K1\"\nemail = \"a@b.de\"\n\n[[users]]\nid = 'k.schmidt'\nname = \"K2\"\nemail = \"c@d.de\"\n",
    );
    let (catalog, seen) = check(&text);
    assert_eq!(seen.len(), 1, "{seen:#?}");
    let s = &seen[0];
    assert_eq!((s.code, s.at.as_str()), ("P5005", "'k.schmidt'"));
    assert_eq!(s.message, "duplicate user `k.schmidt`");
    assert_eq!(s.secondary, ["\"k.schmidt\""]);
    assert_eq!(
        catalog.user("k.schmidt").unwrap().name,
        "K1",
        "the first definition stays"
    );
    assert_eq!(catalog.users().len(), 1);
}

#[test]
fn p5005_duplicates_in_lists_and_builtins() {
    let s = only(&with_tenant(
        "[modules.property]\nstatuses = [\"sold\", \"let\", \"sold\"]\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5005", "\"sold\""));
    assert_eq!(s.message, "duplicate status `sold`");
    assert_eq!(s.secondary, ["\"sold\""]);

    let s = only(&with_tenant(
        "[[activities]]\nkind = \"phone\"\ntypes = [\"call\", \"call\"]\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5005", "\"call\""));

    let s = only(&with_tenant(
        "[[activities]]\nkind = \"phone\"\n[[activities]]\nkind = \"phone\"\n",
    ));
    assert_eq!(s.code, "P5005");
    assert_eq!(s.message, "duplicate activity kind `phone`");

    let s = only(&with_tenant("[modules.address.fields]\nemail = \"text\"\n"));
    assert_eq!((s.code, s.at.as_str()), ("P5005", "email"));
    assert_eq!(s.message, "field `email` is built into `address` records");

    let s = only(&top_level("mailboxes = [\"a@b.de\", \"a@b.de\"]\n"));
    assert_eq!(s.code, "P5005");
}

// ---- P5006 -----------------------------------------------------------------------------------

#[test]
fn p5006_user_in_an_undeclared_group() {
    let text = with_tenant(
        "[[groups]]\nid = \"sales\"\nname = \"Sales\"\n[[users]]\nid = \"a\"\nname = \"A\"\nemail = \"a@b.de\"\ngroups = [\"sales\", \"salse\"]\n",
    );
    let (catalog, seen) = check(&text);
    assert_eq!(seen.len(), 1, "{seen:#?}");
    let s = &seen[0];
    assert_eq!((s.code, s.at.as_str()), ("P5006", "\"salse\""));
    assert_eq!(s.message, "user `a` is in an undeclared group `salse`");
    assert_eq!(s.help.as_deref(), Some("did you mean `sales`?"));
    // The user stays, without the unknown group.
    assert_eq!(catalog.user("a").unwrap().groups, ["sales"]);
    assert_eq!(catalog.group_members("sales").count(), 1);
}

#[test]
fn p5006_groups_may_be_declared_after_users() {
    let text = with_tenant(
        "[[users]]\nid = \"a\"\nname = \"A\"\nemail = \"a@b.de\"\ngroups = [\"sales\"]\n[[groups]]\nid = \"sales\"\nname = \"Sales\"\n",
    );
    assert!(check(&text).1.is_empty());
}

#[test]
fn p5006_filter_on_an_unknown_module() {
    let s = only(&with_tenant(
        "[[filters]]\nid = \"f\"\nmodule = \"adress\"\n",
    ));
    assert_eq!((s.code, s.at.as_str()), ("P5006", "\"adress\""));
    assert_eq!(s.message, "filter on an unknown module `adress`");
    assert_eq!(s.help.as_deref(), Some("did you mean `address`?"));
    let s = only(&with_tenant(
        "[[filters]]\nid = \"f\"\nmodule = \"estate\"\n",
    ));
    assert_eq!(s.code, "P5006");
}

// ---- Many at once ----------------------------------------------------------------------------

#[test]
fn every_problem_of_a_file_is_reported_at_once() {
    let text = r#"
fiels = ["*.proc"]

[tenant]
id = "t1"

[[groups]]
id = "sales"
name = "Sales"

[[users]]
id = "a"
name = "A"
email = "not-an-email"
groups = ["slaes"]

[[users]]
id = "a"
name = "A again"
email = "a@b.de"

[modules.property.fields]
price = "monee"

[[calendars]]
id = "nrw"
time_zone = "Mars/Olympus"

[[filters]]
id = "f"
module = "estate"

[[portals]]
id = "p"
"#;
    let (catalog, seen) = check(text);
    let got: Vec<(&str, &str)> = seen.iter().map(|s| (s.code, s.at.as_str())).collect();
    assert_eq!(
        got,
        [
            ("P5002", "fiels"),
            ("P5003", "[tenant]"),
            ("P5004", "\"not-an-email\""),
            ("P5006", "\"slaes\""),
            ("P5005", "\"a\""),
            ("P5004", "\"monee\""),
            ("P5004", "\"Mars/Olympus\""),
            ("P5006", "\"estate\""),
            ("P5003", "[[portals]]"),
        ]
    );
    // Best effort: entries with errors are left out, the rest stays.
    assert!(catalog.tenant().is_none());
    assert!(
        catalog.user("a").is_none(),
        "the first `a` is invalid, the second a duplicate"
    );
    assert!(catalog.group("sales").is_some());
    assert!(catalog.field(Module::Property, "price").is_none());
    assert!(
        catalog.calendar("nrw").is_none()
            && catalog.filter("f").is_none()
            && catalog.portal("p").is_none()
    );
}

#[test]
fn messages_escape_and_shorten_what_the_file_says() {
    let s = only(&with_tenant(
        "[[groups]]\nid = \"a\\u0001b\"\nname = \"G\"\n",
    ));
    assert_eq!(s.code, "P5004");
    assert!(s.message.contains("`a\\u{1}b`"), "{}", s.message);

    let long = "k".repeat(500);
    let s = only(&with_tenant(&format!(
        "[[portals]]\nid = \"p\"\nname = \"P\"\n{long} = 1\n"
    )));
    assert_eq!((s.code, s.at.as_str()), ("P5002", long.as_str()));
    assert!(s.message.chars().count() < 120, "{}", s.message);
    assert!(s.message.contains('…'));
}
