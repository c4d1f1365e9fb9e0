//! The checker: everything about `.proc` templates that the grammar alone cannot see.
//!
//! [`check`] takes the syntax trees of all files of a project and the tenant catalog read from
//! `procc.toml`, and returns every problem it finds, in every file, in one run, sorted by file
//! and then by position. It resolves names (steps, processes, and every id the catalog
//! declares), follows records and projects along the flow, types expressions, and checks the
//! flow graph of each process.
//!
//! **Architecture invariant:** the checker is pure. It does no IO, reads no clock, and no input
//! makes it panic. It never stops at the first problem.
//!
//! **Performance:** every pass is linear, or near-linear, in the size of the project: steps and
//! processes are indexed by name in hash maps, catalog lookups are hashed, flow facts come from
//! one dominator tree per process (Lengauer-Tarjan), loops from Tarjan's algorithm, and
//! all graph walks are iterative. "Did you mean" suggestions share a bounded budget of name
//! comparisons per run.
//!
//! # Rules
//!
//! The syntax layer already reports malformed settings, durations of zero or less, unknown
//! units and invalid literals; the checker does not repeat them.
//!
//! ## Names (P1xxx)
//!
//! - **P1001** `unknown-step`: `next`, `yes ->` or `no ->` names a step the process does not
//!   have. Names of steps the syntax layer could not read are not reported again.
//! - **P1002** `duplicate-step`: two steps of one process share a name (secondary label on the
//!   first; jumps go to the first).
//! - **P1003** `duplicate-process`: two processes share a name, in one file or across files
//!   (secondary label on the first in the same file, its location in the help otherwise).
//! - **P1004** `unknown-process`: a `follow_up` names a process that no file defines.
//! - **P1005** `unknown-user`: a user id of a responsible, a controller, a task processor, a
//!   deadline reassignment, a forwarded e-mail's `to`/`cc`/`bcc`, a lead pool or a trigger
//!   owner.
//! - **P1006** `unknown-group`: a lead pool's group.
//! - **P1007** `unknown-service`: a webhook's marketplace service.
//! - **P1008** `service-without-webhook`: the service is not activated or has no webhook.
//! - **P1009** `unknown-parameter`: a webhook parameter the service does not define, or a
//!   literal value not among the parameter's allowed values.
//! - **P1010** `unknown-template`: e-mail, letter and SMS templates (an owner notification
//!   takes an e-mail or a letter template according to its channel).
//! - **P1011** `unknown-field`: a field in any field path (conditions, written values, webhook
//!   parameters, `{property.field}` macros of free webhooks, date triggers, lead capacity),
//!   and the bare field names of `changed(a, b)` in a `trigger <record> saved` condition; a
//!   bare name anywhere else is reported too, with the record it probably belongs to.
//! - **P1012** `unknown-status`: the status of `set_status`, of `trigger <record> status "x"`,
//!   and a text written into a record's `status` field.
//! - **P1013** `unknown-portal`, **P1014** `unknown-calendar` (business-day delays, deadline
//!   rungs and resubmission due dates), **P1015** `unknown-filter` (trigger `filter` and
//!   `in_filter("id")`), **P1016** `unknown-activity` (activity kinds, types of a kind, and
//!   features, in `activity_log`, `lead_distribution` and e-mail/activity triggers),
//!   **P1020** `unknown-project-template` (`create_project`).
//!
//! ## Records and projects
//!
//! A record (property or address) is *linked* at a step when the process `needs` it, or when an
//! `assign_property` / `assign_address` step comes before the step on every path (an
//! `assign_property ... address from "x"` links the address too). "On every path" means the
//! assign step dominates the step in the flow graph.
//!
//! - **P1017** `record-not-linked`: a step refers to a record that is not linked there: a
//!   `supervisor of <record>` responsible or reassignment, `concerns`, an expression reading
//!   `property.*` / `address.*` or using `in_filter` on a filter of that record, an e-mail or
//!   SMS (to the address or its supervisor), an owner notification (needs the property, unless
//!   `property none`), `set_status`, `write_values` on a record, `portal_sync` (property), a
//!   marketplace webhook (it is sent the property), `lead_distribution` (the lead is the
//!   address), `assign_address` without `without property` (it links the new address to the
//!   property), a `follow_up` that carries a record, or starts a process that `needs` a record
//!   the step does not carry. Triggers that start on a record, read its fields, or make its
//!   supervisor the owner need `needs <record>`. And (domain §18) a process with an
//!   `assign_address` step must not `needs address`, nor one with `assign_property` `needs
//!   property`: it is started without that record. One report per step and record.
//! - **P1018** `needs-email-start`: `forward_email` in a process without `needs email` and
//!   without a `trigger email received` line.
//! - **P1019** `project-not-created`: reading or writing `project.*` needs a `create_project`
//!   step before it on every path: the same step on all paths, so a project created only inside
//!   decision branches does not count after the merge. This is a forward must-analysis whose
//!   intersection at joins is exactly dominance: the checker asks whether a `create_project`
//!   step dominates the step. Triggers cannot read project fields at all.
//!
//! ## Values and types (P2xxx)
//!
//! - **P2001** `type-mismatch`: expressions are typed over the catalog's field types (text,
//!   number, money, area, date, bool, enum) and the literals (text, number, money, area,
//!   percent as a number, bool, date, duration). Conditions (automatic decisions, trigger
//!   `when`) must be bool. Comparisons need compatible types (a plain number compares with an
//!   amount or an area, in the field's unit; a text with an enum, where a text literal must be
//!   one of the enum's values, listed in the help); `<`, `<=`, `>`, `>=` need ordered values
//!   (numbers, amounts, areas, dates, durations). Arithmetic: numbers, amounts and areas with
//!   numbers; amounts with amounts and areas with areas for `+`/`-`; date plus or minus duration
//!   is a date; date minus date is a duration. `and`/`or`/`not` take bools; `in` takes a list
//!   of compatible values. `write_values` values must fit the field (a money field takes money
//!   or a number, an area field an area or a number, an enum field one of its values as text).
//!   A webhook parameter takes a literal or a field. Also: a date trigger on a field that is not
//!   a date, a trigger filter of the other record kind, a letter `format` that does not match
//!   the template's kind, a lead capacity that is not a number field of the address.
//! - **P2004** `sms-too-long`: an SMS text (inline, or the catalog template's) longer than 320
//!   characters.
//! - **P2005** `skip-not-allowed`: `allow skip` on a kind other than appointment, letter, e-mail
//!   and resubmission.
//! - **P2006** `deadline-order`: deadline rungs not strictly ascending (secondary label on the
//!   previous rung). Across units, a business day counts as at least a calendar day, and only
//!   rungs that certainly come no later than their predecessor are reported.
//! - **P2008** `unknown-function`: functions other than `changed(field, ...)` (bool, only in
//!   `trigger ... saved` conditions), `in_filter("id")` (bool), `today()` (date),
//!   `days_since(date)` (number) and `is_set(field)` (bool).
//! - **P2009** `wrong-argument-count`.
//! - **P2010** `read-only-field`: `write_values` into a field the catalog marks read-only.
//!
//! ## Flow (P3xxx)
//!
//! Each process is a graph of its steps. An `end` step has no successor; a decision goes to its
//! `yes` and `no` targets; any other step goes to its `next` target, or else to the next step
//! in file order; after the last step the process ends. A jump to an unknown step counts as an
//! end, so that one misspelt name does not cascade. When the syntax layer could not read some
//! step of a process, the flow checks of that process (and the record and project checks that
//! depend on the flow) are left out, since the graph would be wrong.
//!
//! - **P3001** `unreachable-step`: one report per step no path from the first step reaches.
//! - **P3002** `no-path-to-end`: a loop that no path leaves (one report per such loop, at its
//!   first step; steps that only lead into it are not reported again).
//! - **P3003** `decision-missing-branch`: a decision without `yes` or `no`; for the flow checks
//!   the missing branch falls through to the next step.
//! - **P3004** `merge-too-few-inputs`: a merge with fewer than two incoming edges.
//! - **P3005** `loop-without-wait`: a loop (a strongly connected component of the steps that
//!   neither wait nor need a person) in which no step waits and no person acts; one report per
//!   loop. A step waits when it has a start delay, or sends at a fixed time of day (`automatic
//!   at 09:00`, SMS `send at`). A person acts in tasks, appointments, letters, resubmissions,
//!   assign steps, manual e-mails, forwards, SMS, owner notifications (letters always) and
//!   portal syncs, manual and by-e-mail decisions, and `write_values ... manual`. So a loop
//!   through a manual "review again?" decision is fine.
//! - **P3006** `follow-up-cycle` (warning): processes whose follow-up steps start each other in
//!   a circle (a strongly connected component of the follow-up graph), one report per circle.
//! - **P3008** `empty-process`: a process without steps.
//!
//! ## Likely manual steps (P3007, warnings)
//!
//! Automatic steps turn into manual steps with a warning when they cannot run. The checker
//! flags only what it can know from the templates and the catalog:
//!
//! 1. **Records on some paths only.** An automatic e-mail, SMS or e-mail owner notification
//!    whose recipient record is linked by an assign step on some paths to it but not on all:
//!    on the other paths it has no recipient. (Linked on no path at all is P1017.)
//! 2. **No SMS sender number.** An automatic SMS sent from the property supervisor's number
//!    (the default) where no property is linked (or only on some paths); from the client's
//!    number when `[tenant]` has no `mobile`; from the group's number when no group has a
//!    `mobile`, or the step's responsible user belongs to no group that has one.
//! 3. **Nobody to distribute leads to.** A lead distribution whose pool has no members, or
//!    whose consultants all lack the address record the lead distributor needs (`address` in
//!    `[[users]]`, domain §24).

mod ctx;
mod expr;
mod flow;
mod graph;
mod names;
mod process;

use procc_catalog::Catalog;
use procc_diagnostics::{Diagnostic, FileId, Sources};
use procc_syntax::ast;

/// Checks the files of a project against the catalog.
///
/// `sources` holds the texts (for file names and locations in messages); `files` the syntax
/// trees with the ids of their sources. Returns every problem found, sorted by file id and then
/// by the start of the primary span (problems at one position keep the order they were found
/// in, so the output is deterministic).
pub fn check(
    sources: &Sources,
    files: &[(FileId, &ast::File)],
    catalog: &Catalog,
) -> Vec<Diagnostic> {
    let mut ctx = ctx::Ctx::new(sources, catalog);
    let index = names::index(&mut ctx, files);
    for &(file, tree) in files {
        for p in &tree.processes {
            process::ProcChecker::new(&mut ctx, file, p, &index).run();
        }
    }
    names::follow_up_cycles(&mut ctx, &index);
    let mut diagnostics = ctx.diagnostics;
    diagnostics.sort_by_key(|d| (d.file, d.primary_span().start));
    diagnostics
}
