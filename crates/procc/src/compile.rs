//! `procc compile` and `procc graph`: check the project and build its plan.

use std::io::Write;
use std::path::{Path, PathBuf};

use procc_plan::Plan;

use crate::check::{self, Loaded, Names};
use crate::project::UsageError;
use crate::report::Report;

/// The checked project and, when it has no errors, its plan.
pub(crate) struct Built {
    /// What the checker found (file names relative to the project file's folder).
    pub(crate) report: Report,
    /// The plan, unless there were errors.
    pub(crate) plan: Option<Plan>,
}

/// Loads, checks and compiles the project for `paths`.
pub(crate) fn build(
    paths: &[PathBuf],
    config: Option<&Path>,
    cwd: &Path,
) -> Result<Built, UsageError> {
    let Loaded {
        sources,
        diagnostics,
        catalog,
        trees,
        files_checked,
    } = check::load(paths, config, cwd, Names::FromProject)?;
    let files: Vec<_> = trees.iter().map(|(id, tree)| (*id, tree)).collect();
    let compiled = procc_compile::compile(&sources, &files, &catalog, diagnostics);
    Ok(Built {
        report: Report::new(sources, compiled.diagnostics, files_checked),
        plan: compiled.plan,
    })
}

/// Reads and checks a compiled plan. An unreadable file is a usage error; a plan that is refused
/// (not JSON, another format version, changed after compiling, broken) is a report with its
/// diagnostic, pointing into the plan's text.
pub(crate) fn load_plan(path: &Path, cwd: &Path) -> Result<Result<Plan, Report>, UsageError> {
    let name = crate::project::display_name(&crate::project::absolute(path, cwd), cwd);
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError::new(format!("cannot read the plan `{name}`: {e}")))?;
    let mut sources = procc_diagnostics::Sources::new();
    let id = sources.add(name, text);
    match procc_plan::load(id, sources.get(id).text()) {
        Ok(plan) => Ok(Ok(plan)),
        Err(diagnostic) => Ok(Err(Report::new(sources, vec![*diagnostic], 0))),
    }
}

/// Writes `text` to `path` whole or not at all: into a temporary file beside it, then renamed,
/// so that a runtime never reads half a plan. `-` is standard output.
pub(crate) fn write_output(path: &Path, text: &str) -> Result<(), UsageError> {
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        return out
            .write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| UsageError::new(format!("cannot write to standard output: {e}")));
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = folder.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::write(&temporary, text).and_then(|()| std::fs::rename(&temporary, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        UsageError::new(format!("cannot write `{}`: {e}", path.display()))
    })
}
