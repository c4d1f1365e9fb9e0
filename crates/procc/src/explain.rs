//! `procc explain`: the pages of `docs/codes/`, embedded at build time (see `build.rs`).

use procc_diagnostics::{ALL_CODES, Code, Severity, codes_by_id, did_you_mean};

use crate::project::UsageError;

include!(concat!(env!("OUT_DIR"), "/code_pages.rs"));

/// The embedded page of a code, if it has one.
pub(crate) fn page_of(id: &str) -> Option<&'static str> {
    PAGES
        .iter()
        .find(|(page, _)| *page == id)
        .map(|(_, text)| *text)
}

/// Finds a code by id (`P1001`, any case) or name (`unknown-step`).
fn lookup(query: &str) -> Option<Code> {
    codes_by_id(query).or_else(|| {
        ALL_CODES
            .iter()
            .copied()
            .find(|c| c.slug.eq_ignore_ascii_case(query))
    })
}

/// The code a mistyped query most likely means: one character off a code's id (reading `O` as
/// `0`), or a name close to a code's name.
fn near_code(query: &str) -> Option<Code> {
    let normalised: Vec<char> = query
        .to_ascii_uppercase()
        .chars()
        .map(|c| if c == 'O' { '0' } else { c })
        .collect();
    let one_off = ALL_CODES
        .iter()
        .copied()
        .filter(|code| code.id.chars().count() == normalised.len())
        .map(|code| {
            let differences = code
                .id
                .chars()
                .zip(&normalised)
                .filter(|(a, b)| a != *b)
                .count();
            (differences, code)
        })
        .filter(|(differences, _)| *differences <= 1)
        .min_by_key(|(differences, _)| *differences)
        .map(|(_, code)| code);
    one_off.or_else(|| {
        let candidates = ALL_CODES.iter().flat_map(|c| [c.id, c.slug]);
        did_you_mean(query, candidates).and_then(lookup)
    })
}

/// The text `procc explain CODE` prints.
pub(crate) fn page(query: &str) -> Result<String, UsageError> {
    let query = query.trim();
    let Some(code) = lookup(query) else {
        let help = match near_code(query) {
            Some(near) => format!(
                "did you mean `{}` ({})? `procc explain --list` lists every code",
                near.id, near.slug
            ),
            None => "`procc explain --list` lists every code".to_owned(),
        };
        return Err(UsageError::new(format!("unknown code `{query}`")).with_help(help));
    };
    let mut text = match page_of(code.id) {
        Some(page) => page.to_owned(),
        None => {
            let mut summary = code.summary.chars();
            let first = summary
                .next()
                .map(|c| c.to_uppercase().collect::<String>())
                .unwrap_or_default();
            format!(
                "# {}: {}\n\n{first}{}.\n\nThis code has no page yet.\n",
                code.id,
                code.slug,
                summary.as_str()
            )
        }
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// The text `procc explain --list` prints: one aligned line per code.
pub(crate) fn list() -> String {
    let width = ALL_CODES.iter().map(|c| c.slug.len()).max().unwrap_or(0);
    let mut out = String::new();
    for code in ALL_CODES {
        let severity = match code.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        out.push_str(&format!(
            "{}  {:width$}  {severity:7}  {}\n",
            code.id, code.slug, code.summary
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_found_by_id_or_name() {
        assert_eq!(lookup("p1001").map(|c| c.id), Some("P1001"));
        assert_eq!(lookup("unknown-step").map(|c| c.id), Some("P1001"));
        assert!(lookup("P9999").is_none());
    }

    #[test]
    fn unknown_codes_suggest_a_near_one() {
        let error = page("unknown-stpe").unwrap_err();
        assert_eq!(error.message, "unknown code `unknown-stpe`");
        assert!(error.help.unwrap().contains("`P1001`"));
    }

    #[test]
    fn near_codes() {
        assert_eq!(near_code("P1O01").map(|c| c.id), Some("P1001"));
        assert_eq!(near_code("p1000").map(|c| c.id), Some("P1001"));
        assert_eq!(near_code("unknwon-step").map(|c| c.id), Some("P1001"));
        assert_eq!(near_code("zzzzzzzz"), None);
    }

    #[test]
    fn embedded_pages_are_codes() {
        for (id, text) in PAGES {
            assert!(
                codes_by_id(id).is_some(),
                "docs/codes/{id}.md is not a code"
            );
            assert!(!text.trim().is_empty(), "docs/codes/{id}.md is empty");
        }
    }

    #[test]
    fn list_has_every_code() {
        let list = list();
        assert_eq!(list.lines().count(), ALL_CODES.len());
        assert!(list.contains("P1001  unknown-step"));
    }
}
