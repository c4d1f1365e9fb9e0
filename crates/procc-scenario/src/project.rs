//! Finding scenario files and reading the project around them.

use std::path::{Path, PathBuf};

use procc_diagnostics::{Diagnostic, FileId, Sources};
use procc_plan::Plan;
use procc_syntax::ast;

/// A problem reading files (not a problem in their contents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectError(pub String);

impl std::fmt::Display for ProjectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProjectError {}

/// A project read and compiled.
#[derive(Debug)]
pub struct Project {
    /// The project file.
    pub project_file: PathBuf,
    /// The project file and the `.proc` files, named relative to the project's folder; scenario
    /// files are added by the caller.
    pub sources: Sources,
    /// The plan; `None` when the project has errors (see `diagnostics`).
    pub plan: Option<Plan>,
    /// What the project file, the parser and the checker reported.
    pub diagnostics: Vec<Diagnostic>,
}

impl Project {
    /// Reads a scenario file into the project's sources, named relative to the project folder.
    pub fn add_file(&mut self, path: &Path) -> Result<(FileId, String), ProjectError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ProjectError(format!("cannot read `{}`: {e}", path.display())))?;
        let base = self.project_file.parent().unwrap_or(Path::new(""));
        let name = display_name(path, base);
        let id = self.sources.add(name, text.clone());
        Ok((id, text))
    }
}

/// The `.scenario` files under `paths` (files as given, folders searched recursively, skipping
/// hidden folders and `target`), sorted.
pub fn find_scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ProjectError> {
    let mut found = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut |p| {
                if p.extension().is_some_and(|e| e == "scenario") {
                    found.push(p.to_path_buf());
                }
            })?;
        } else if path.is_file() {
            found.push(path.clone());
        } else {
            return Err(ProjectError(format!("`{}` does not exist", path.display())));
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) -> Result<(), ProjectError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| ProjectError(format!("cannot read `{}`: {e}", dir.display())))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" {
                walk(&path, f)?;
            }
        } else {
            f(&path);
        }
    }
    Ok(())
}

fn display_name(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// The nearest `procc.toml` in the folder of `start` (a file or folder) or above.
pub fn locate_project_file(start: &Path) -> Option<PathBuf> {
    let mut dir = if start.is_dir() {
        Some(start)
    } else {
        start.parent()
    };
    while let Some(d) = dir {
        let candidate = d.join("procc.toml");
        if candidate.is_file() {
            return Some(candidate);
        }
        dir = d.parent();
    }
    None
}

/// Reads the project around `start` (a scenario file or a folder): the nearest `procc.toml`
/// upward and the `.proc` files its `files` patterns match, and compiles them.
pub fn load_project(start: &Path) -> Result<Project, ProjectError> {
    let start = std::path::absolute(start).unwrap_or_else(|_| start.to_path_buf());
    let project_file = locate_project_file(&start).ok_or_else(|| {
        ProjectError(format!(
            "no `procc.toml` in the folder of `{}` or above",
            start.display()
        ))
    })?;
    let base = project_file.parent().unwrap_or(Path::new("")).to_path_buf();
    let mut sources = Sources::new();
    let text = std::fs::read_to_string(&project_file)
        .map_err(|e| ProjectError(format!("cannot read `{}`: {e}", project_file.display())))?;
    let catalog_id = sources.add(display_name(&project_file, &base), text);
    let (catalog, mut diagnostics) =
        procc_catalog::parse_catalog(catalog_id, sources.get(catalog_id).text());

    let mut builder = globset::GlobSetBuilder::new();
    for pattern in catalog.files() {
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| ProjectError(format!("bad `files` pattern `{pattern}`: {e}")))?;
        builder.add(glob);
    }
    let set = builder
        .build()
        .map_err(|e| ProjectError(format!("bad `files` patterns: {e}")))?;
    let mut files = Vec::new();
    walk(&base, &mut |p| {
        let rel = display_name(p, &base);
        if p.extension().is_some_and(|e| e == "proc") && set.is_match(&rel) {
            files.push(p.to_path_buf());
        }
    })?;

    let mut trees: Vec<(FileId, ast::File)> = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ProjectError(format!("cannot read `{}`: {e}", path.display())))?;
        let id = sources.add(display_name(path, &base), text);
        let (tree, found) = procc_syntax::parse(id, sources.get(id).text());
        diagnostics.extend(found);
        trees.push((id, tree));
    }
    let refs: Vec<(FileId, &ast::File)> = trees.iter().map(|(id, t)| (*id, t)).collect();
    let compiled = procc_compile::compile(&sources, &refs, &catalog, diagnostics);
    Ok(Project {
        project_file,
        sources,
        plan: compiled.plan,
        diagnostics: compiled.diagnostics,
    })
}
