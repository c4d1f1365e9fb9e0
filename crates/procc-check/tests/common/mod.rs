//! Shared helpers: a small catalog, parsing and checking sources, and reading results.

#![allow(dead_code)]

use procc_diagnostics::{Diagnostic, Severity, Sources};

/// The catalog the rule tests check against.
pub const CATALOG: &str = r#"
project_templates = ["sale-project"]
activity_features = ["inquiry"]

[tenant]
id = "testimmo"
name = "Test Immobilien"

[[groups]]
id = "sales"
name = "Sales"

[[groups]]
id = "office"
name = "Office"
mobile = "+49 211 5550110"

[[groups]]
id = "empty"
name = "Nobody"

[[users]]
id = "k.schmidt"
name = "Katrin Schmidt"
email = "k.schmidt@example.de"
groups = ["sales"]

[[users]]
id = "l.fischer"
name = "Lena Fischer"
email = "l.fischer@example.de"
groups = ["office"]
address = "1002"

[modules.address]
statuses = ["new", "qualified"]

[modules.address.fields]
birthday = "date"
customer_type = { type = "enum", values = ["owner", "buyer", "tenant"] }
lead_capacity = "number"
nickname = "text"

[modules.property]
statuses = ["active", "sold", "let"]

[modules.property.fields]
purchase_price = "money"
living_area = "area"
rooms = "number"
balcony = "bool"
listed_since = { type = "date", read_only = true }
marketing_type = { type = "enum", values = ["buy", "rent"] }

[modules.project]
statuses = ["open", "done"]

[modules.project.fields]
budget = "money"

[[services]]
id = "sprengnetter"
name = "Sprengnetter"

[services.webhook]
url = "https://hooks.example.de/valuation"

[services.webhook.parameters]
mode = ["full", "quick"]
purpose = "any"

[[services]]
id = "floorplanner"
name = "Floorplanner"

[[services]]
id = "dormant"
name = "Dormant"
activated = false

[services.webhook]
url = "https://hooks.example.de/dormant"

[[templates.email]]
id = "welcome"
subject = "Welcome"

[[templates.letter]]
id = "contract"
kind = "pdf"

[[templates.sms]]
id = "reminder"
text = "Reminder: your viewing is tomorrow."

[[portals]]
id = "immoscout24"
name = "ImmoScout24"

[[activities]]
kind = "phone"
types = ["call", "callback"]

[[filters]]
id = "hot-leads"
module = "address"

[[filters]]
id = "premium"
module = "property"

[[calendars]]
id = "nrw"
time_zone = "Europe/Berlin"
"#;

/// The result of checking some files.
pub struct Checked {
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// `(code, primary span text)` of every diagnostic, in order.
    pub fn found(&self) -> Vec<(&'static str, String)> {
        self.diagnostics
            .iter()
            .map(|d| {
                (
                    d.code.id,
                    self.sources.get(d.file).slice(d.primary_span()).to_string(),
                )
            })
            .collect()
    }

    /// The diagnostics with this code.
    pub fn with_code(&self, code: &str) -> Vec<&Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.code.id == code)
            .collect()
    }

    /// The primary span texts of the diagnostics with this code.
    pub fn spans(&self, code: &str) -> Vec<String> {
        self.with_code(code)
            .iter()
            .map(|d| self.sources.get(d.file).slice(d.primary_span()).to_string())
            .collect()
    }

    /// The one diagnostic with this code.
    pub fn one(&self, code: &str) -> &Diagnostic {
        let all = self.with_code(code);
        assert_eq!(
            all.len(),
            1,
            "expected one {code}, found: {:#?}",
            self.found()
        );
        all[0]
    }

    /// The texts of a diagnostic's secondary labels.
    pub fn secondary(&self, d: &Diagnostic) -> Vec<String> {
        d.labels
            .iter()
            .filter(|l| !l.primary)
            .map(|l| self.sources.get(d.file).slice(l.span).to_string())
            .collect()
    }

    pub fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
}

/// Parses the catalog and the files (which must be free of syntax errors) and checks them.
pub fn check_files(files: &[(&str, &str)]) -> Checked {
    check_with(CATALOG, files)
}

/// As [`check_files`], with another catalog.
pub fn check_with(catalog_text: &str, files: &[(&str, &str)]) -> Checked {
    let mut sources = Sources::new();
    let cat_id = sources.add("procc.toml", catalog_text.to_string());
    let (catalog, cat_diags) = procc_catalog::parse_catalog(cat_id, catalog_text);
    assert!(cat_diags.is_empty(), "catalog problems: {cat_diags:#?}");
    let mut trees = Vec::new();
    for (name, text) in files {
        let id = sources.add(*name, text.to_string());
        let (tree, diags) = procc_syntax::parse(id, text);
        assert!(diags.is_empty(), "syntax problems in {name}: {diags:#?}");
        trees.push((id, tree));
    }
    let refs: Vec<_> = trees.iter().map(|(id, t)| (*id, t)).collect();
    let diagnostics = procc_check::check(&sources, &refs, &catalog);
    Checked {
        sources,
        diagnostics,
    }
}

/// Checks one file.
pub fn check(text: &str) -> Checked {
    check_files(&[("test.proc", text)])
}

/// Checks one file and expects no diagnostics at all.
pub fn clean(text: &str) {
    let c = check(text);
    assert!(
        c.diagnostics.is_empty(),
        "expected no diagnostics, found: {:#?}",
        c.diagnostics
    );
}
