//! Checks across files: duplicate process names (P1003) and follow-up processes that start each
//! other in a circle (P3006).

use std::collections::HashMap;

use procc_diagnostics::{Diagnostic, FileId, code};
use procc_syntax::ast::{self, Step, StepKind};

use crate::ctx::{Ctx, name_list};
use crate::graph::tarjan;
use crate::process::ProjectIndex;

/// Indexes the processes of all files by name and reports duplicates.
pub(crate) fn index<'a>(ctx: &mut Ctx<'a>, files: &[(FileId, &'a ast::File)]) -> ProjectIndex<'a> {
    let mut index = ProjectIndex {
        procs: Vec::new(),
        by_name: HashMap::new(),
    };
    for &(file, tree) in files {
        for p in &tree.processes {
            match index.get(&p.name.name) {
                Some((first_file, first)) => {
                    let mut d = Diagnostic::new(
                        code::DUPLICATE_PROCESS,
                        file,
                        p.name.span,
                        format!("there are two processes named `{}`", p.name.name),
                        "second process with this name",
                    );
                    if first_file == file {
                        d = d
                            .with_label(first.name.span, "first process with this name")
                            .with_help("rename one of them; follow-ups start the first");
                    } else {
                        let at = ctx.location(first_file, first.name.span);
                        d = d.with_help(format!("first defined in {at}; rename one of them"));
                    }
                    ctx.emit(d);
                }
                None => {
                    index
                        .by_name
                        .insert(p.name.name.as_str(), index.procs.len());
                    index.procs.push((file, p));
                }
            }
        }
    }
    index
}

/// Reports circles of follow-up processes, one warning per circle.
pub(crate) fn follow_up_cycles(ctx: &mut Ctx<'_>, index: &ProjectIndex<'_>) {
    let n = index.procs.len();
    let adj: Vec<Vec<(usize, &Step, &ast::Ident)>> = index
        .procs
        .iter()
        .map(|(_, p)| {
            p.steps
                .iter()
                .filter_map(|s| match &s.kind {
                    StepKind::FollowUp(f) => index
                        .by_name
                        .get(f.process.name.as_str())
                        .map(|&t| (t, s, &f.process)),
                    _ => None,
                })
                .collect()
        })
        .collect();
    let include = vec![true; n];
    let sccs = tarjan(
        n,
        &include,
        |v| adj.get(v).map_or(0, Vec::len),
        |v, k| adj.get(v).and_then(|a| a.get(k)).map(|e| e.0),
    );
    let mut cycles: Vec<&Vec<u32>> = sccs
        .members
        .iter()
        .filter(|m| match m.as_slice() {
            [] => false,
            [one] => adj
                .get(*one as usize)
                .is_some_and(|a| a.iter().any(|e| e.0 == *one as usize)),
            _ => true,
        })
        .collect();
    cycles.sort_by_key(|m| m.first().copied());
    for members in cycles {
        let in_cycle = |t: usize| members.binary_search(&(t as u32)).is_ok();
        let first_edge = |v: usize| adj.get(v).and_then(|a| a.iter().find(|e| in_cycle(e.0)));
        let Some(&head) = members.first() else {
            continue;
        };
        let head = head as usize;
        let (Some(&(file, p)), Some(&(_, step, ident))) = (index.procs.get(head), first_edge(head))
        else {
            continue;
        };
        let names = name_list(
            members
                .iter()
                .filter_map(|&m| index.procs.get(m as usize))
                .map(|(_, p)| p.name.name.as_str()),
            8,
        );
        let message = if members.len() == 1 {
            format!(
                "process `{}` starts itself again through its follow-up step `{}`",
                p.name.name, step.name.name
            )
        } else {
            format!("processes {names} start each other in a circle of follow-ups")
        };
        let mut d = Diagnostic::new(
            code::FOLLOW_UP_CYCLE,
            file,
            ident.span,
            message,
            "starts the next process of the circle",
        );
        let mut elsewhere = Vec::new();
        for &m in members.iter().skip(1) {
            let m = m as usize;
            let (Some(&(mfile, mp)), Some(&(_, mstep, mident))) =
                (index.procs.get(m), first_edge(m))
            else {
                continue;
            };
            if mfile == file {
                d = d.with_label(
                    mident.span,
                    format!("process `{}` continues the circle", mp.name.name),
                );
            } else if elsewhere.len() < 5 {
                elsewhere.push(format!(
                    "`{}` at {}",
                    mstep.name.name,
                    ctx.location(mfile, mident.span)
                ));
            }
        }
        let mut help = "the runtime's loop guard stops such a chain after 10 starts a day; make sure the circle ends, for example behind a decision".to_string();
        if !elsewhere.is_empty() {
            help.push_str(&format!(
                " (the circle continues at {})",
                elsewhere.join(", ")
            ));
        }
        ctx.emit(d.with_help(help));
    }
}
