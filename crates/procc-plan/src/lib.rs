//! The compiled plan: what `procc compile` writes and the runtime executes.
//!
//! A plan is self-contained: the templates with every reference resolved and every default
//! filled in, the part of the project file they need (users, services, templates, calendars,
//! ...), and a source map back to the `.proc` files. It is versioned by [`FORMAT_VERSION`] and
//! identified by a SHA-256 [`Plan::hash`] over its canonical JSON, so the same sources always
//! give the same bytes and any change after compiling is detected when the plan is loaded.
//!
//! Architecture invariant: this crate knows nothing of the `.proc` syntax or of pest. The
//! runtime depends on it alone.

mod expr;
mod load;
mod model;

pub use expr::{BinaryOp, Expr, Function, Value};
pub use load::load;
pub use model::*;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The plan format this procc writes and reads. Raised when a change would make an older
/// runtime misread a plan.
pub const FORMAT_VERSION: u32 = 1;

/// A compiled plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// The format version, [`FORMAT_VERSION`] when written by this procc.
    pub format_version: u32,
    /// `sha256:` and the lowercase hex SHA-256 of the canonical JSON of the plan with this
    /// field empty.
    pub hash: String,
    /// The customer.
    pub tenant: Option<Tenant>,
    /// The catalog entries the runtime needs.
    pub catalog: Catalog,
    /// The templates, sorted by name.
    pub templates: Vec<Template>,
}

impl Plan {
    /// A plan of these parts, with its hash computed.
    pub fn new(tenant: Option<Tenant>, catalog: Catalog, mut templates: Vec<Template>) -> Plan {
        templates.sort_by(|a, b| a.name.cmp(&b.name));
        let mut plan = Plan {
            format_version: FORMAT_VERSION,
            hash: String::new(),
            tenant,
            catalog,
            templates,
        };
        plan.hash = plan.compute_hash();
        plan
    }

    /// The hash the plan's content should have.
    pub fn compute_hash(&self) -> String {
        let mut unhashed = self.clone();
        unhashed.hash = String::new();
        let bytes = serde_json::to_vec(&unhashed).unwrap_or_default();
        let digest = Sha256::digest(&bytes);
        let mut hex = String::with_capacity(7 + 64);
        hex.push_str("sha256:");
        for byte in digest {
            hex.push_str(&format!("{byte:02x}"));
        }
        hex
    }

    /// The canonical JSON text, pretty-printed with a final line break.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The template with this name.
    pub fn template(&self, name: &str) -> Option<&Template> {
        self.template_index(name)
            .and_then(|i| self.templates.get(i))
    }

    /// Where the template with this name is in `templates` (sorted by name, as [`Plan::new`]
    /// sorts them and loading checks).
    pub fn template_index(&self, name: &str) -> Option<usize> {
        self.templates
            .binary_search_by(|t| t.name.as_str().cmp(name))
            .ok()
    }
}

/// The JSON Schema of the plan format, as published in `docs/plan.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Plan);
    let value = sorted_keys(serde_json::to_value(&schema).unwrap_or_default());
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// `value` with the keys of every object in sorted order, so that the text is the same whether
/// or not another crate of the build turns on serde_json's `preserve_order`.
fn sorted_keys(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(String, serde_json::Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted_keys(v)))
                    .collect(),
            )
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(sorted_keys).collect())
        }
        other => other,
    }
}
