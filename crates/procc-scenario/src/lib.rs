//! Scenario files: tests of process templates that run in milliseconds on a virtual clock.
//!
//! A `.scenario` file holds `scenario "name" { ... }` blocks of line statements (the grammar is
//! `grammar/scenario.pest`, the format is documented in `docs/testing.md`). Each scenario runs
//! against a fresh in-memory [`procc_runtime::Engine`] with the project's plan deployed, on a
//! [`procc_runtime::VirtualClock`], with a [`procc_runtime::RecordingConnector`] that keeps every
//! effect delivered. Runs are deterministic: no wall clock, no randomness.
//!
//! The `procc test` command uses three functions:
//! - [`find_scenario_files`] lists the `.scenario` files under the given paths;
//! - [`load_project`] reads and compiles the project around a scenario file (the nearest
//!   `procc.toml` upward and all its `.proc` files);
//! - [`run_file`] runs one file's scenarios against the compiled plan and returns a
//!   [`FileReport`]; [`Summary`] adds the reports up into `N passed, M failed`.
//!
//! Problems are [`Diagnostic`]s with `P6xxx` codes: `P6001` syntax, `P6002` an unknown name,
//! `P6003` a failed expectation (expected and actual), `P6004` an action the runtime refused.

mod model;
mod project;
mod render;
mod run;
mod syntax;

pub use model::*;
pub use project::{Project, ProjectError, find_scenario_files, load_project, locate_project_file};
pub use render::render_plain;
pub use syntax::parse;

use procc_diagnostics::{Diagnostic, FileId, Span};
use procc_plan::Plan;

/// The outcome of one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioResult {
    /// The scenario's name.
    pub name: String,
    /// Where the scenario's name is written.
    pub span: Span,
    /// Failed expectations, then the diagnostic that stopped the scenario (if any).
    pub diagnostics: Vec<Diagnostic>,
}

impl ScenarioResult {
    /// Whether every statement ran and every expectation held.
    pub fn passed(&self) -> bool {
        !self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The outcome of one scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileReport {
    /// The file.
    pub file: FileId,
    /// Problems of the file as a whole (syntax); with one of them no scenario ran.
    pub diagnostics: Vec<Diagnostic>,
    /// One result per scenario, in file order.
    pub scenarios: Vec<ScenarioResult>,
}

impl FileReport {
    /// Scenarios that passed.
    pub fn passed(&self) -> usize {
        self.scenarios.iter().filter(|s| s.passed()).count()
    }
    /// Scenarios that failed; a file that could not be read counts as one failure.
    pub fn failed(&self) -> usize {
        let file_errors = usize::from(self.diagnostics.iter().any(Diagnostic::is_error));
        self.scenarios.iter().filter(|s| !s.passed()).count() + file_errors
    }
    /// Every diagnostic of the file, file-level ones first, then by scenario.
    pub fn all_diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .chain(self.scenarios.iter().flat_map(|s| s.diagnostics.iter()))
    }
}

/// Passed and failed scenarios over any number of files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Scenarios that passed.
    pub passed: usize,
    /// Scenarios that failed (and files that could not be read or run).
    pub failed: usize,
}

impl Summary {
    /// Adds a file's outcome.
    pub fn add(&mut self, report: &FileReport) {
        self.passed += report.passed();
        self.failed += report.failed();
    }
    /// Whether nothing failed (`procc test` exits 1 otherwise).
    pub fn ok(&self) -> bool {
        self.failed == 0
    }
}

impl std::fmt::Display for Summary {
    /// `N passed, M failed`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} passed, {} failed", self.passed, self.failed)
    }
}

/// Parses `text` (the contents of `file`) and runs each of its scenarios against `plan`, each on
/// a fresh engine. The scenario's statements run in order; a failed expectation is recorded and
/// the scenario goes on, an action the runtime refuses stops it.
pub fn run_file(plan: &Plan, file: FileId, text: &str) -> FileReport {
    let (parsed, diagnostics) = parse(file, text);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return FileReport {
            file,
            diagnostics,
            scenarios: Vec::new(),
        };
    }
    let scenarios = parsed
        .scenarios
        .iter()
        .map(|s| run_scenario(plan, file, s))
        .collect();
    FileReport {
        file,
        diagnostics,
        scenarios,
    }
}

/// Runs one parsed scenario on a fresh engine.
pub fn run_scenario(plan: &Plan, file: FileId, scenario: &Scenario) -> ScenarioResult {
    let mut diagnostics = Vec::new();
    match run::Run::new(plan, file, scenario.name.span) {
        Ok(mut runner) => {
            let stopped = runner.statements(&scenario.statements);
            diagnostics.append(&mut runner.failures);
            diagnostics.extend(stopped);
        }
        Err(d) => diagnostics.push(*d),
    }
    ScenarioResult {
        name: scenario.name.value.clone(),
        span: scenario.name.span,
        diagnostics,
    }
}

/// The scenario files of one project and how they ran.
#[derive(Debug)]
pub struct ProjectRun {
    /// The project: its sources hold the project file, the `.proc` files and the scenario
    /// files (every diagnostic's `file` is one of them).
    pub project: Project,
    /// One report per scenario file, in path order. Empty when the project has errors.
    pub reports: Vec<FileReport>,
    /// The scenario files that did not run because the project has errors.
    pub not_run: Vec<std::path::PathBuf>,
}

impl ProjectRun {
    /// Every diagnostic to print: the project's errors (when it did not compile, with its
    /// warnings), then the scenario files' diagnostics.
    pub fn diagnostics(&self) -> Vec<&Diagnostic> {
        let mut out: Vec<&Diagnostic> = Vec::new();
        if self.project.plan.is_none() {
            out.extend(self.project.diagnostics.iter());
        }
        for report in &self.reports {
            out.extend(report.all_diagnostics());
        }
        out
    }
}

/// What `procc test PATHS` does: finds the scenario files under `paths`, groups them by their
/// project (the nearest `procc.toml` upward), compiles each project once and runs its files.
/// A file whose project has errors counts as one failed scenario.
pub fn run_paths(paths: &[std::path::PathBuf]) -> Result<(Vec<ProjectRun>, Summary), ProjectError> {
    let files = find_scenario_files(paths)?;
    let mut groups: Vec<(std::path::PathBuf, Vec<std::path::PathBuf>)> = Vec::new();
    for file in files {
        let absolute = std::path::absolute(&file).unwrap_or_else(|_| file.clone());
        let project_file = locate_project_file(&absolute).ok_or_else(|| {
            ProjectError(format!(
                "no `procc.toml` in the folder of `{}` or above",
                file.display()
            ))
        })?;
        match groups.iter_mut().find(|(p, _)| *p == project_file) {
            Some((_, list)) => list.push(absolute),
            None => groups.push((project_file, vec![absolute])),
        }
    }
    let mut summary = Summary::default();
    let mut runs = Vec::new();
    for (project_file, files) in groups {
        let mut project = load_project(&project_file)?;
        let mut reports = Vec::new();
        let mut not_run = Vec::new();
        match project.plan.clone() {
            Some(plan) => {
                for path in &files {
                    let (id, text) = project.add_file(path)?;
                    let report = run_file(&plan, id, &text);
                    summary.add(&report);
                    reports.push(report);
                }
            }
            None => {
                summary.failed += files.len();
                not_run = files;
            }
        }
        runs.push(ProjectRun {
            project,
            reports,
            not_run,
        });
    }
    Ok((runs, summary))
}
