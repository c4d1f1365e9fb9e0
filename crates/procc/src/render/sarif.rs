//! `--format sarif`: SARIF 2.1.0, the format code-scanning services read (GitHub's
//! `upload-sarif` action among them).
//!
//! One run; `tool.driver.rules` lists the codes that occur, each linking to its page under
//! `docs/codes/`; every diagnostic is a result whose location is the primary label and whose
//! related locations are the other labels. Columns count Unicode code points (declared with
//! `columnKind`), the end column is the one just past the last character, and file names are
//! relative URIs with forward slashes.

use std::collections::BTreeMap;

use procc_diagnostics::{Code, Diagnostic, Severity};
use serde_json::{Value, json};

use crate::render::{code_page_url, repository_url};
use crate::report::{Range, Report};

/// `$schema` of the output.
pub(crate) const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Percent-encodes a relative path as a URI reference: everything but unreserved characters
/// and `/`.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn region(range: Range) -> Value {
    json!({
        "startLine": range.start.line,
        "startColumn": range.start.column,
        "endLine": range.end.line,
        "endColumn": range.end.column,
    })
}

fn result(report: &Report, d: &Diagnostic, rule_index: usize) -> Value {
    let file = report.sources.get(d.file);
    let artifact = json!({ "uri": uri(file.name()) });
    let mut text = d.message.clone();
    if let Some(help) = &d.help {
        text.push_str("\nhelp: ");
        text.push_str(help);
    }
    let mut result = json!({
        "ruleId": d.code.id,
        "ruleIndex": rule_index,
        "level": level(d.severity),
        "message": { "text": text },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": artifact,
                "region": region(report.primary_range(d)),
            },
        }],
    });
    let related: Vec<Value> = d
        .labels
        .iter()
        .filter(|l| !l.primary)
        .enumerate()
        .map(|(i, l)| {
            json!({
                "id": i + 1,
                "message": { "text": l.message },
                "physicalLocation": {
                    "artifactLocation": artifact,
                    "region": region(Range::of(file, l.span)),
                },
            })
        })
        .collect();
    if !related.is_empty() {
        result["relatedLocations"] = Value::Array(related);
    }
    result
}

/// The whole report as one SARIF log, pretty-printed, with a final newline.
pub(crate) fn render(report: &Report) -> String {
    let used: BTreeMap<&str, Code> = report
        .diagnostics
        .iter()
        .map(|d| (d.code.id, d.code))
        .collect();
    let index: BTreeMap<&str, usize> = used.keys().enumerate().map(|(i, id)| (*id, i)).collect();
    let rules: Vec<Value> = used
        .values()
        .map(|code| {
            let mut rule = json!({
                "id": code.id,
                "name": code.slug,
                "shortDescription": { "text": code.summary },
                "help": { "text": format!("`procc explain {}` prints the page of this code", code.id) },
                "defaultConfiguration": { "level": level(code.severity) },
            });
            if let (Some(url), Some(fields)) = (code_page_url(code.id), rule.as_object_mut()) {
                fields.insert("helpUri".into(), Value::String(url));
            }
            rule
        })
        .collect();
    let results: Vec<Value> = report
        .diagnostics
        .iter()
        .map(|d| result(report, d, index.get(d.code.id).copied().unwrap_or_default()))
        .collect();
    let mut driver = json!({
        "name": "procc",
        "version": env!("CARGO_PKG_VERSION"),
        "rules": rules,
    });
    if let (Some(url), Some(fields)) = (repository_url(), driver.as_object_mut()) {
        fields.insert("informationUri".into(), Value::String(url.to_string()));
    }
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": driver,
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_else(|e| {
        // Serialising a `Value` cannot fail.
        unreachable!("SARIF output: {e}")
    });
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn sarif_output() {
        insta::assert_snapshot!(render(&fixture::report()));
    }

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(uri("processes/café 1.proc"), "processes/caf%C3%A9%201.proc");
        assert_eq!(uri("../a_b-c~.proc"), "../a_b-c~.proc");
    }

    #[test]
    fn structure() {
        let log: Value = serde_json::from_str(&render(&fixture::report())).unwrap();
        assert_eq!(log["version"], "2.1.0");
        let run = &log["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        let ids: Vec<_> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["P0011", "P1001", "P1003", "P5002"]);
        for result in run["results"].as_array().unwrap() {
            let index = result["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[index]["id"], result["ruleId"]);
            let region = &result["locations"][0]["physicalLocation"]["region"];
            assert!(region["startLine"].as_u64().unwrap() >= 1);
            assert!(region["startColumn"].as_u64().unwrap() >= 1);
        }
    }
}
