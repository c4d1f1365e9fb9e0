//! Loading a plan: every way a plan file can be wrong gets a diagnostic in the author's terms.

use procc_diagnostics::{Code, Diagnostic, FileId, Span, code};

use crate::{FORMAT_VERSION, Next, Plan};

/// Reads a plan from its JSON text, checking the format version, the structure, the hash and
/// the references inside it.
pub fn load(file: FileId, text: &str) -> Result<Plan, Box<Diagnostic>> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        let at = offset_of(text, e.line(), e.column());
        let (message, label) = if e.is_eof() {
            (
                "the plan is cut short: the file ends in the middle".to_string(),
                "the file ends here",
            )
        } else {
            (
                format!("the plan is not valid JSON: {}", describe_json_error(&e)),
                "here",
            )
        };
        Box::new(
            Diagnostic::new(code::PLAN_UNREADABLE, file, Span::at(at), message, label)
                .with_help("compile the plan again with `procc compile`"),
        )
    })?;
    let whole = Span::new(0, text.len().min(1));
    let version = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64);
    match version {
        None => {
            return Err(problem(
                code::PLAN_INVALID,
                file,
                whole,
                "this is not a procc plan: it has no `format_version`",
                "write plans with `procc compile`",
            ));
        }
        Some(v) if v > u64::from(FORMAT_VERSION) => {
            return Err(problem(
                code::PLAN_FORMAT_UNSUPPORTED,
                file,
                whole,
                &format!(
                    "the plan has format version {v}, newer than the version {FORMAT_VERSION} this procc reads"
                ),
                "upgrade procc, or compile the plan with this procc",
            ));
        }
        Some(v) if v < u64::from(FORMAT_VERSION) => {
            return Err(problem(
                code::PLAN_FORMAT_UNSUPPORTED,
                file,
                whole,
                &format!(
                    "the plan has format version {v}, older than the version {FORMAT_VERSION} this procc reads"
                ),
                "compile the plan again from its sources with this procc",
            ));
        }
        Some(_) => {}
    }
    let plan: Plan = serde_path_to_error(value).map_err(|(path, detail)| {
        problem(
            code::PLAN_INVALID,
            file,
            whole,
            &format!("the plan does not match format {FORMAT_VERSION} at `{path}`: {detail}"),
            "compile the plan again with `procc compile`; plans are not edited by hand",
        )
    })?;
    let expected = plan.compute_hash();
    if plan.hash != expected {
        return Err(problem(
            code::PLAN_TAMPERED,
            file,
            whole,
            &format!(
                "the plan was changed after it was compiled: its hash is `{}`, its content hashes to `{expected}`",
                plan.hash
            ),
            "compile the plan again from its sources; do not edit plans by hand",
        ));
    }
    check_references(file, &plan)?;
    Ok(plan)
}

fn problem(code: Code, file: FileId, span: Span, message: &str, help: &str) -> Box<Diagnostic> {
    Box::new(
        Diagnostic::new(code, file, span, message.to_string(), "in this plan")
            .with_help(help.to_string()),
    )
}

/// Deserializes, naming the JSON path of the first mismatch.
fn serde_path_to_error(value: serde_json::Value) -> Result<Plan, (String, String)> {
    serde_path_to_error::deserialize(value)
        .map_err(|error| (error.path().to_string(), describe_serde(error.inner())))
}

/// A serde error in words, without serde's position suffix.
fn describe_serde(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.find(" at line ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

fn describe_json_error(error: &serde_json::Error) -> String {
    let text = describe_serde(error);
    text.replace("key must be a string", "a key is not in double quotes")
}

fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (line_start + column.saturating_sub(1)).min(text.len())
}

fn check_references(file: FileId, plan: &Plan) -> Result<(), Box<Diagnostic>> {
    let broken = |message: String| {
        problem(
            code::PLAN_BROKEN_REFERENCE,
            file,
            Span::new(0, 1),
            &message,
            "compile the plan again with `procc compile`",
        )
    };
    // Templates are found by name with a binary search.
    if let Some(pair) = plan.templates.windows(2).find(|w| w[0].name >= w[1].name) {
        return Err(broken(format!(
            "template `{}` comes after `{}`, but templates are sorted by name, each once",
            pair[1].name, pair[0].name
        )));
    }
    for template in &plan.templates {
        let count = template.steps.len();
        if count == 0 {
            return Err(broken(format!("template `{}` has no steps", template.name)));
        }
        for step in &template.steps {
            let targets: Vec<u32> = match &step.next {
                Next::Step { step } => vec![*step],
                Next::Branch { yes, no } => vec![*yes, *no],
                Next::End => Vec::new(),
            };
            for target in targets.into_iter().chain(step.incoming.iter().copied()) {
                if target as usize >= count {
                    return Err(broken(format!(
                        "step `{}` of template `{}` refers to step {target}, but the template has {count} steps",
                        step.name, template.name
                    )));
                }
            }
            if let crate::Action::FollowUp {
                template: target, ..
            } = &step.action
                && plan.template(target).is_none()
            {
                return Err(broken(format!(
                    "step `{}` starts template `{target}`, which the plan does not contain",
                    step.name
                )));
            }
        }
    }
    Ok(())
}
