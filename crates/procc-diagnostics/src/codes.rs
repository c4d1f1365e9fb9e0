//! The registry of diagnostic codes.
//!
//! Codes are `P` plus four digits, grouped by phase: `P0xxx` input and syntax, `P1xxx` names and
//! references, `P2xxx` values and types, `P3xxx` flow, `P4xxx` compiled plans, `P5xxx` the
//! project file `procc.toml`, `P6xxx` scenario files (`procc test`).
//! A code is never reused or renumbered. Every code has a page `docs/codes/<CODE>.md`; a test in
//! the `procc` crate fails when a code lacks a page or a page lacks a code.

use serde::Serialize;

use crate::Severity;

/// A stable diagnostic code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Code {
    /// `P` and four digits.
    pub id: &'static str,
    /// Kebab-case name of the pattern flagged.
    pub slug: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// One-line description, used where a rule list is shown (SARIF, `procc explain --list`).
    pub summary: &'static str,
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $name:ident = $id:literal, $slug:literal, $sev:ident, $summary:literal; )*) => {
        /// One constant per code.
        pub mod all {
            use super::Code;
            use crate::Severity;
            $(
                $(#[$doc])*
                pub const $name: Code = Code { id: $id, slug: $slug, severity: Severity::$sev, summary: $summary };
            )*
        }
        /// Every code, in ascending order.
        pub const ALL_CODES: &[Code] = &[$(all::$name),*];
    };
}

codes! {
    // P0xxx: input and syntax.
    /// The text does not follow the grammar.
    SYNTAX_ERROR = "P0001", "syntax-error", Error, "the text does not follow the grammar of .proc files";
    /// The file is not valid UTF-8.
    INVALID_UTF8 = "P0002", "invalid-utf8", Error, "the file is not valid UTF-8";
    /// The file holds NUL bytes: it is binary, not a template.
    BINARY_FILE = "P0003", "binary-file", Error, "the file is binary, not a .proc template";
    /// The file is larger than procc reads.
    FILE_TOO_LARGE = "P0004", "file-too-large", Error, "the file is larger than procc reads";
    /// Brackets or braces are nested deeper than procc allows.
    NESTING_TOO_DEEP = "P0005", "nesting-too-deep", Error, "brackets or braces nest too deeply";
    /// A step names a kind that does not exist.
    UNKNOWN_STEP_KIND = "P0006", "unknown-step-kind", Error, "a step names a kind that does not exist";
    /// A setting that this process or step kind does not have.
    UNKNOWN_SETTING = "P0007", "unknown-setting", Error, "a setting that this process or step kind does not have";
    /// A required setting is missing.
    MISSING_SETTING = "P0008", "missing-setting", Error, "a required setting is missing";
    /// A setting's words or values are not in the form it takes.
    MALFORMED_SETTING = "P0009", "malformed-setting", Error, "a setting is not written in the form it takes";
    /// A setting that may appear once appears again.
    DUPLICATE_SETTING = "P0010", "duplicate-setting", Error, "a setting that may appear once appears again";
    /// A file holds no process template.
    EMPTY_FILE = "P0011", "empty-file", Warning, "a file holds no process template";

    // P1xxx: names and references.
    /// A jump or branch names a step that does not exist.
    UNKNOWN_STEP = "P1001", "unknown-step", Error, "a jump or branch names a step that does not exist";
    /// Two steps of one process share a name.
    DUPLICATE_STEP = "P1002", "duplicate-step", Error, "two steps of one process share a name";
    /// Two processes share a name.
    DUPLICATE_PROCESS = "P1003", "duplicate-process", Error, "two process templates share a name";
    /// A follow-up names a process that does not exist.
    UNKNOWN_PROCESS = "P1004", "unknown-process", Error, "a follow-up names a process template that does not exist";
    /// A user id that the project file does not declare.
    UNKNOWN_USER = "P1005", "unknown-user", Error, "a user that the project file does not declare";
    /// A group that the project file does not declare.
    UNKNOWN_GROUP = "P1006", "unknown-group", Error, "a group that the project file does not declare";
    /// A marketplace service that the project file does not declare.
    UNKNOWN_SERVICE = "P1007", "unknown-service", Error, "a marketplace service that the project file does not declare";
    /// A webhook step calls a service that is not activated or has no webhook.
    SERVICE_WITHOUT_WEBHOOK = "P1008", "service-without-webhook", Error, "a webhook step calls a service that is not activated or has no webhook";
    /// A webhook parameter that the service does not allow.
    UNKNOWN_PARAMETER = "P1009", "unknown-parameter", Error, "a webhook parameter that the service does not allow";
    /// An e-mail, letter or SMS template that the project file does not declare.
    UNKNOWN_TEMPLATE = "P1010", "unknown-template", Error, "a template that the project file does not declare";
    /// A record field that the project file does not declare.
    UNKNOWN_FIELD = "P1011", "unknown-field", Error, "a record field that the project file does not declare";
    /// A status value that the module does not have.
    UNKNOWN_STATUS = "P1012", "unknown-status", Error, "a status value that the module does not have";
    /// A portal that the project file does not declare.
    UNKNOWN_PORTAL = "P1013", "unknown-portal", Error, "a portal that the project file does not declare";
    /// A business calendar that the project file does not declare.
    UNKNOWN_CALENDAR = "P1014", "unknown-calendar", Error, "a business calendar that the project file does not declare";
    /// A record filter that the project file does not declare.
    UNKNOWN_FILTER = "P1015", "unknown-filter", Error, "a record filter that the project file does not declare";
    /// An activity kind or type that the project file does not declare.
    UNKNOWN_ACTIVITY = "P1016", "unknown-activity", Error, "an activity kind or type that the project file does not declare";
    /// A step refers to a record (property or address) that the process does not link.
    RECORD_NOT_LINKED = "P1017", "record-not-linked", Error, "a step refers to a record that the process does not link";
    /// A forward-e-mail step in a process that cannot have been started by an e-mail.
    NEEDS_EMAIL_START = "P1018", "needs-email-start", Error, "a step needs a process started by an e-mail";
    /// Project values are written where no project has been created on every path.
    PROJECT_NOT_CREATED = "P1019", "project-not-created", Error, "project values are written before a project is created on every path";
    /// A project template that the project file does not declare.
    UNKNOWN_PROJECT_TEMPLATE = "P1020", "unknown-project-template", Error, "a project template that the project file does not declare";

    // P2xxx: values and types.
    /// An expression or value has the wrong type.
    TYPE_MISMATCH = "P2001", "type-mismatch", Error, "an expression or value has the wrong type";
    /// A duration of zero or less.
    INVALID_DURATION = "P2002", "invalid-duration", Error, "a duration is zero or negative";
    /// A unit the setting does not take.
    UNSUPPORTED_UNIT = "P2003", "unsupported-unit", Error, "a unit that the setting does not take";
    /// An SMS text longer than 320 characters.
    SMS_TOO_LONG = "P2004", "sms-too-long", Error, "an SMS text is longer than 320 characters";
    /// Skipping is allowed on a step kind that cannot be skipped.
    SKIP_NOT_ALLOWED = "P2005", "skip-not-allowed", Error, "skipping is allowed on a step kind that cannot be skipped";
    /// The rungs of a deadline ladder are not in ascending order.
    DEADLINE_ORDER = "P2006", "deadline-order", Error, "the rungs of a deadline ladder are not in ascending order";
    /// A literal that is not a valid value (a date like 2026-02-30, a time like 25:00).
    INVALID_LITERAL = "P2007", "invalid-literal", Error, "a literal is not a valid value";
    /// A function that the expression language does not have.
    UNKNOWN_FUNCTION = "P2008", "unknown-function", Error, "a function that the expression language does not have";
    /// A function called with the wrong number of arguments.
    WRONG_ARGUMENT_COUNT = "P2009", "wrong-argument-count", Error, "a function is called with the wrong number of arguments";
    /// A value is written to a field that cannot be written.
    READ_ONLY_FIELD = "P2010", "read-only-field", Error, "a value is written to a field that cannot be written";

    // P3xxx: flow.
    /// No path from the first step reaches this step.
    UNREACHABLE_STEP = "P3001", "unreachable-step", Error, "no path from the first step reaches this step";
    /// A path that never reaches an end.
    NO_PATH_TO_END = "P3002", "no-path-to-end", Error, "a step from which no path reaches the end of the process";
    /// A decision without both a yes and a no branch.
    DECISION_MISSING_BRANCH = "P3003", "decision-missing-branch", Error, "a decision lacks a yes or a no branch";
    /// A merge with fewer than two incoming branches.
    MERGE_TOO_FEW_INPUTS = "P3004", "merge-too-few-inputs", Error, "a merge has fewer than two incoming branches";
    /// A loop in which no step waits and no person acts: it would spin.
    LOOP_WITHOUT_WAIT = "P3005", "loop-without-wait", Error, "a loop in which no step waits and no person acts";
    /// Follow-up processes that start each other in a circle.
    FOLLOW_UP_CYCLE = "P3006", "follow-up-cycle", Warning, "follow-up processes start each other in a circle";
    /// An automatic step that will likely degrade to a manual one.
    LIKELY_MANUAL = "P3007", "likely-manual", Warning, "an automatic step will likely degrade to a manual step";
    /// A process without steps.
    EMPTY_PROCESS = "P3008", "empty-process", Error, "a process has no steps";

    // P4xxx: compiled plans.
    /// A plan file that is not JSON, or is cut short.
    PLAN_UNREADABLE = "P4001", "plan-unreadable", Error, "a plan file is not JSON or is cut short";
    /// A plan in a format this procc does not read.
    PLAN_FORMAT_UNSUPPORTED = "P4002", "plan-format-unsupported", Error, "a plan is in a format version this procc does not read";
    /// A plan changed after it was compiled.
    PLAN_TAMPERED = "P4003", "plan-tampered", Error, "a plan's content does not match its hash";
    /// A plan whose structure does not match its format.
    PLAN_INVALID = "P4004", "plan-invalid", Error, "a plan's structure does not match its format";
    /// A plan that refers to a step, template or catalog entry it does not contain.
    PLAN_BROKEN_REFERENCE = "P4005", "plan-broken-reference", Error, "a plan refers to something it does not contain";

    // P5xxx: the project file.
    /// The project file is not valid TOML.
    PROJECT_FILE_SYNTAX = "P5001", "project-file-syntax", Error, "the project file is not valid TOML";
    /// A key that the project file format does not have.
    PROJECT_FILE_UNKNOWN_KEY = "P5002", "project-file-unknown-key", Error, "a key that the project file format does not have";
    /// A key that the project file format requires is missing.
    PROJECT_FILE_MISSING_KEY = "P5003", "project-file-missing-key", Error, "a required key of the project file is missing";
    /// A value of the wrong type or form in the project file.
    PROJECT_FILE_INVALID_VALUE = "P5004", "project-file-invalid-value", Error, "a value in the project file has the wrong type or form";
    /// Two entries of the project file share an id.
    PROJECT_FILE_DUPLICATE_ID = "P5005", "project-file-duplicate-id", Error, "two entries of the project file share an id";
    /// An entry of the project file refers to an id that is not declared.
    PROJECT_FILE_UNKNOWN_REFERENCE = "P5006", "project-file-unknown-reference", Error, "an entry of the project file refers to an id that is not declared";
    /// A delivery setting of the project file that cannot work.
    PROJECT_FILE_UNWORKABLE_DELIVERY = "P5007", "project-file-unworkable-delivery", Error, "a delivery setting of the project file cannot work";
    /// A password, token or signing secret written into the project file.
    PROJECT_FILE_INLINE_SECRET = "P5008", "project-file-inline-secret", Error, "a secret is written into the project file instead of named";

    // P6xxx: scenario files (`procc test`).
    /// A scenario file that does not follow the scenario grammar.
    SCENARIO_SYNTAX = "P6001", "scenario-syntax", Error, "a scenario file does not follow the scenario format";
    /// A scenario names a template, step, user or record that does not exist.
    SCENARIO_UNKNOWN_NAME = "P6002", "scenario-unknown-name", Error, "a scenario names a template, step, user or record that does not exist";
    /// An expectation of a scenario does not hold.
    EXPECTATION_FAILED = "P6003", "expectation-failed", Error, "an expectation of a scenario does not hold";
    /// The runtime refused an action of a scenario.
    SCENARIO_ACTION_REFUSED = "P6004", "scenario-action-refused", Error, "the runtime refused an action of a scenario";
}

/// Looks a code up by its id (`P1001`), case-insensitively.
pub fn codes_by_id(id: &str) -> Option<Code> {
    ALL_CODES
        .iter()
        .copied()
        .find(|c| c.id.eq_ignore_ascii_case(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_sorted_and_well_formed() {
        for pair in ALL_CODES.windows(2) {
            assert!(
                pair[0].id < pair[1].id,
                "{} before {}",
                pair[0].id,
                pair[1].id
            );
        }
        for code in ALL_CODES {
            assert_eq!(code.id.len(), 5);
            assert!(code.id.starts_with('P'));
            assert!(code.id[1..].chars().all(|c| c.is_ascii_digit()));
            assert!(
                code.slug
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit())
            );
        }
        let slugs: std::collections::BTreeSet<_> = ALL_CODES.iter().map(|c| c.slug).collect();
        assert_eq!(slugs.len(), ALL_CODES.len());
    }

    #[test]
    fn lookup_is_case_insensitive() {
        assert_eq!(codes_by_id("p1001").map(|c| c.slug), Some("unknown-step"));
        assert_eq!(codes_by_id("P9999"), None);
    }
}
