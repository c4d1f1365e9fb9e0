//! Compiling: checked `.proc` sources and the catalog become a [`procc_plan::Plan`].
//!
//! [`compile`] runs the checker first and refuses to build a plan when it reports an error, so
//! everything below may rely on a valid input: names resolve, types fit, decisions have both
//! branches. Defaults the author did not write are filled in here, in one place.

mod catalog;
mod template;

use procc_catalog::Catalog;
use procc_diagnostics::{Diagnostic, FileId, Sources};
use procc_plan::Plan;
use procc_syntax::ast;

/// The outcome of [`compile`]: the plan when there were no errors, and every diagnostic
/// (warnings included) either way.
#[derive(Debug)]
pub struct Compiled {
    /// The plan; `None` when the sources or the catalog have errors.
    pub plan: Option<Plan>,
    /// What the checker reported.
    pub diagnostics: Vec<Diagnostic>,
}

/// Checks and compiles `files` against `catalog`. `catalog_diagnostics` are the project file's
/// own problems: with an error among them no plan is built either.
pub fn compile(
    sources: &Sources,
    files: &[(FileId, &ast::File)],
    catalog: &Catalog,
    catalog_diagnostics: Vec<Diagnostic>,
) -> Compiled {
    let mut diagnostics = catalog_diagnostics;
    diagnostics.extend(procc_check::check(sources, files, catalog));
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Compiled {
            plan: None,
            diagnostics,
        };
    }
    let templates = files
        .iter()
        .flat_map(|(file, ast)| {
            ast.processes
                .iter()
                .map(move |p| template::lower(sources.get(*file), p))
        })
        .collect();
    let plan = Plan::new(catalog::tenant(catalog), catalog::lower(catalog), templates);
    Compiled {
        plan: Some(plan),
        diagnostics,
    }
}
