//! The flow graph of one process and what follows from it: which steps are reached, which loop
//! forever or spin, which records and projects are linked at each step.
//!
//! Successors: an `end` step has none; a decision goes to its `yes` and `no` targets (a missing
//! branch falls through to the next step in file order, after P3003 is reported, so that one
//! missing branch does not also make steps unreachable); any other step goes to its `next`
//! target, or else to the next step in file order; after the last step the process ends. An
//! edge whose target is unknown counts as an end of the process.

use procc_diagnostics::{Diagnostic, FileId, code};
use procc_syntax::ast::{DecisionMode, Process, SendMode, SmsWindow, Step, StepKind};

use crate::ctx::{Ctx, name_list};
use crate::graph::{Graph, NONE};

/// Where a step's flow goes, as resolved names.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Targets {
    /// `next`, or the `yes` branch of a decision.
    pub(crate) first: Option<Target>,
    /// The `no` branch of a decision.
    pub(crate) second: Option<Target>,
}

/// A resolved jump.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    /// A step of the process.
    Step(usize),
    /// A name that could not be resolved (already reported, or an unreadable step).
    Unresolved,
}

/// What is known at each step, for steps reached from the first step.
pub(crate) struct Facts {
    /// Reached from the first step.
    pub(crate) reachable: Vec<bool>,
    /// Per record: an assign step comes before the step on every path.
    pub(crate) must: [Vec<bool>; 2],
    /// Per record: an assign step comes before the step on some path.
    pub(crate) may: [Vec<bool>; 2],
    /// A `create_project` step comes before the step on every path.
    pub(crate) project_must: Vec<bool>,
    /// A `create_project` step comes before the step on some path.
    pub(crate) project_may: Vec<bool>,
}

/// Whether a step links a record to the process when it runs.
pub(crate) fn assigns(step: &Step, record_index: usize) -> bool {
    match &step.kind {
        StepKind::AssignProperty(a) => {
            record_index == 0 || (record_index == 1 && a.address_from.is_some())
        }
        StepKind::AssignAddress(_) => record_index == 1,
        _ => false,
    }
}

/// Whether a step waits (a start delay or a fixed time of day) or needs a person to act, so a
/// loop through it cannot spin.
pub(crate) fn breaks_loop(step: &Step) -> bool {
    if step
        .header
        .start
        .as_ref()
        .is_some_and(|s| s.delay.as_ref().is_some_and(|d| d.amount > 0))
    {
        return true;
    }
    let manual = |mode: &SendMode| matches!(mode, SendMode::Manual);
    let timed = |mode: &SendMode| matches!(mode, SendMode::Automatic { at: Some(_) });
    match &step.kind {
        StepKind::Task(_)
        | StepKind::Appointment(_)
        | StepKind::Letter(_)
        | StepKind::Resubmission(_)
        | StepKind::AssignProject(_)
        | StepKind::AssignAddress(_)
        | StepKind::AssignProperty(_) => true,
        StepKind::Email(e) => manual(&e.mode) || timed(&e.mode),
        StepKind::ForwardEmail(f) => manual(&f.mode) || timed(&f.mode),
        StepKind::OwnerNotification(o) => {
            o.channel.value == procc_syntax::ast::Channel::Letter
                || manual(&o.mode)
                || timed(&o.mode)
        }
        StepKind::Sms(s) => {
            s.automatic.is_none()
                || matches!(s.window.as_ref().map(|w| &w.value), Some(SmsWindow::At(_)))
        }
        StepKind::PortalSync(p) => p.automatic.is_none(),
        StepKind::Decision(d) => d.mode.value != DecisionMode::Automatic,
        StepKind::WriteValues(w) => w.value.is_none(),
        StepKind::CreateProject(_)
        | StepKind::FollowUp(_)
        | StepKind::Merge
        | StepKind::Webhook(_)
        | StepKind::SetStatus(_)
        | StepKind::ActivityLog(_)
        | StepKind::LeadDistribution(_)
        | StepKind::End => false,
    }
}

/// Builds the graph of a process from resolved targets.
pub(crate) fn build_graph(process: &Process, targets: &[Targets]) -> Graph {
    let n = process.steps.len();
    let mut g = Graph::new(n);
    for (i, step) in process.steps.iter().enumerate() {
        let fallthrough = |g: &mut Graph| {
            if i + 1 < n {
                g.add_edge(i, i + 1);
            } else {
                g.exit[i] = true;
            }
        };
        let t = targets.get(i).copied().unwrap_or_default();
        let edge = |g: &mut Graph, target: Option<Target>| match target {
            Some(Target::Step(j)) => g.add_edge(i, j),
            Some(Target::Unresolved) => g.exit[i] = true,
            None => fallthrough(g),
        };
        match &step.kind {
            StepKind::End => g.exit[i] = true,
            StepKind::Decision(_) => {
                edge(&mut g, t.first);
                edge(&mut g, t.second);
            }
            _ => edge(&mut g, t.first),
        }
    }
    g
}

/// Computes the facts of a process whose every step was readable.
pub(crate) fn facts(process: &Process, g: &Graph, preds: &crate::graph::Preds) -> Facts {
    let n = g.len();
    let reachable = g.reachable_from([0].into_iter().filter(|_| n > 0));
    let dom = g.dominators(0, preds);
    let is_create = |v: usize| {
        matches!(
            process.steps.get(v).map(|s| &s.kind),
            Some(StepKind::CreateProject(_))
        )
    };
    let is_assign = |v: usize, r: usize| process.steps.get(v).is_some_and(|s| assigns(s, r));
    let mut must = [vec![false; n], vec![false; n]];
    let mut project_must = vec![false; n];
    for &v in &dom.preorder {
        let v = v as usize;
        let d = dom.idom.get(v).copied().unwrap_or(NONE);
        if d == NONE {
            continue;
        }
        let d = d as usize;
        for (r, linked) in must.iter_mut().enumerate() {
            linked[v] = linked[d] || is_assign(d, r);
        }
        project_must[v] = project_must[d] || is_create(d);
    }
    let after = |pred: &dyn Fn(usize) -> bool| -> Vec<bool> {
        let roots: Vec<usize> = (0..n)
            .filter(|&v| pred(v))
            .flat_map(|v| g.succ(v))
            .collect();
        g.reachable_from(roots)
    };
    let may = [after(&|v| is_assign(v, 0)), after(&|v| is_assign(v, 1))];
    let project_may = after(&is_create);
    Facts {
        reachable,
        must,
        may,
        project_must,
        project_may,
    }
}

/// Reports P3001, P3002, P3004 and P3005 for a process whose every step was readable.
///
/// When a jump names an unknown step (`unresolved`), where it was meant to go is not known, so
/// unreachable steps and merges with too few inputs are not reported for the process.
pub(crate) fn check_flow(
    ctx: &mut Ctx<'_>,
    file: FileId,
    process: &Process,
    g: &Graph,
    preds: &crate::graph::Preds,
    facts: &Facts,
    unresolved: bool,
) {
    let steps = &process.steps;
    let pname = &process.name.name;
    let first = steps.first().map_or("", |s| s.name.name.as_str());
    // P3001: unreachable steps.
    for (v, step) in steps.iter().enumerate() {
        if !facts.reachable[v] && !unresolved {
            ctx.emit(
                Diagnostic::new(
                    code::UNREACHABLE_STEP,
                    file,
                    step.name.span,
                    format!("step `{}` of process `{pname}` is never reached: no path from the first step `{first}` leads to it", step.name.name),
                    "unreachable",
                )
                .with_help("point a `next` or a decision branch at it, or remove it"),
            );
        }
    }
    // P3004: merges with fewer than two incoming branches.
    for (v, step) in steps.iter().enumerate() {
        if matches!(step.kind, StepKind::Merge) && !unresolved {
            let incoming = preds.of(v).len();
            if incoming < 2 {
                let what = if incoming == 0 {
                    "no incoming branch"
                } else {
                    "only one incoming branch"
                };
                ctx.emit(
                    Diagnostic::new(
                        code::MERGE_TOO_FEW_INPUTS,
                        file,
                        step.name.span,
                        format!("merge `{}` has {what}", step.name.name),
                        format!("{incoming} incoming"),
                    )
                    .with_help("a merge joins the branches of a decision: route both branches to it, or remove it"),
                );
            }
        }
    }
    let breakers: Vec<bool> = steps.iter().map(breaks_loop).collect();
    // P3005: loops in which no step waits and no person acts.
    let spin_include: Vec<bool> = (0..g.len())
        .map(|v| facts.reachable[v] && !breakers[v])
        .collect();
    let spin = g.sccs(&spin_include);
    for members in &spin.members {
        if !g.is_cycle(members) {
            continue;
        }
        let Some((head, step, names)) = loop_head(steps, members) else {
            continue;
        };
        let message = if members.len() == 1 {
            format!(
                "step `{}` jumps back to itself without waiting and without a person acting",
                step.name.name
            )
        } else {
            format!("steps {names} form a loop in which no step waits and no person acts")
        };
        let mut d = Diagnostic::new(code::LOOP_WITHOUT_WAIT, file, step.name.span, message, "the loop starts here")
            .with_help("the loop would run without pause: add `start 1 day after previous` to a step in it, or make a decision in it manual");
        if let Some(back) = back_edge_source(g, members)
            && back != head as usize
            && let Some(s) = steps.get(back)
        {
            d = d.with_label(s.name.span, "and jumps back from here");
        }
        ctx.emit(d);
    }
    // P3002: loops no path leaves.
    let reach_end = g.reaches_exit(preds);
    let trapped: Vec<bool> = (0..g.len())
        .map(|v| facts.reachable[v] && !reach_end[v])
        .collect();
    if trapped.iter().any(|&t| t) {
        let sccs = g.sccs(&trapped);
        for (id, members) in sccs.members.iter().enumerate() {
            if !g.is_cycle(members) {
                continue;
            }
            let sink = members.iter().all(|&m| {
                g.succ(m as usize)
                    .all(|w| sccs.comp.get(w).copied() == Some(id as u32))
            });
            if !sink || members.iter().all(|&m| !breakers[m as usize]) {
                // Not a sink (the sink it leads to is reported), or a spinning loop (P3005).
                continue;
            }
            let Some((_, step, names)) = loop_head(steps, members) else {
                continue;
            };
            let message = if members.len() == 1 {
                format!(
                    "step `{}` repeats forever: no path from it reaches the end of process `{pname}`",
                    step.name.name
                )
            } else {
                format!(
                    "steps {names} repeat forever: no path from them reaches the end of process `{pname}`"
                )
            };
            ctx.emit(
                Diagnostic::new(
                    code::NO_PATH_TO_END,
                    file,
                    step.name.span,
                    message,
                    "no way out of this loop",
                )
                .with_help(
                    "give a decision in the loop a branch that leaves it, or add an `end` step",
                ),
            );
        }
    }
}

/// A member of a cycle that jumps back to an earlier member (for a secondary label).
fn back_edge_source(g: &Graph, members: &[u32]) -> Option<usize> {
    members.iter().map(|&m| m as usize).find(|&m| {
        g.succ(m)
            .any(|w| w <= m && members.binary_search(&(w as u32)).is_ok())
    })
}

/// The first step of a loop and the loop's step names, for messages about it.
fn loop_head<'a>(steps: &'a [Step], members: &[u32]) -> Option<(u32, &'a Step, String)> {
    let &head = members.first()?;
    let step = steps.get(head as usize)?;
    let names = name_list(
        members
            .iter()
            .filter_map(|&m| steps.get(m as usize))
            .map(|s| s.name.name.as_str()),
        8,
    );
    Some((head, step, names))
}
