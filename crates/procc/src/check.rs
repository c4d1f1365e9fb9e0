//! `procc check`: read the project file and the `.proc` files, parse and check them.
//!
//! Everything runs in this one process: files are read once, decoded, parsed and then checked
//! together (names resolve across files). IO problems stop the run with a [`UsageError`];
//! problems in the files' contents are diagnostics.

use std::path::{Path, PathBuf};

use procc_catalog::Catalog;
use procc_diagnostics::{Diagnostic, FileId, Sources};
use procc_syntax::{Decoded, ast};

use crate::CheckArgs;
use crate::project::{self, UsageError};
use crate::report::Report;

/// How files are named in output and plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Names {
    /// Relative to the current folder, as people type them (diagnostics).
    FromCurrentFolder,
    /// Relative to the project file's folder, the same on every machine (plans).
    FromProject,
}

/// A project read and parsed, not yet checked.
pub(crate) struct Loaded {
    /// Every file read: the project file and the `.proc` files.
    pub(crate) sources: Sources,
    /// Problems found so far: unreadable files, the project file, syntax.
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// The catalog.
    pub(crate) catalog: Catalog,
    /// The parsed files.
    pub(crate) trees: Vec<(FileId, ast::File)>,
    /// How many `.proc` files were read.
    pub(crate) files_checked: usize,
}

/// Finds the project for `paths` (or the current folder) and reads and parses its files.
pub(crate) fn load(
    paths: &[PathBuf],
    config: Option<&Path>,
    cwd: &Path,
    names: Names,
) -> Result<Loaded, UsageError> {
    let cwd = project::absolute(cwd, cwd);
    // Files named on the command line must exist before anything else is looked at.
    let given = if paths.is_empty() {
        None
    } else {
        Some(project::files_from_paths(paths, &cwd)?)
    };
    let start = match paths.first() {
        Some(first) => {
            let first = project::absolute(first, &cwd);
            if first.is_dir() {
                first
            } else {
                first.parent().map_or(first.clone(), Path::to_path_buf)
            }
        }
        None => cwd.clone(),
    };
    let project_file = project::locate_project_file(config, &start, &cwd)?;
    let base = match names {
        Names::FromCurrentFolder => cwd.clone(),
        Names::FromProject => project_file.parent().map_or(cwd.clone(), Path::to_path_buf),
    };

    let mut sources = Sources::new();
    let mut diagnostics = Vec::new();
    let catalog = load_catalog(&project_file, &cwd, &base, &mut sources, &mut diagnostics)?;

    let files = match given {
        Some(files) => files,
        None => project::files_from_patterns(catalog.files(), &project_file, &cwd)?,
    };
    let files_checked = files.len();

    let mut texts: Vec<FileId> = Vec::with_capacity(files.len());
    for path in &files {
        if let Some(id) = read_source(path, &cwd, &base, &mut sources, &mut diagnostics)? {
            texts.push(id);
        }
    }
    let mut trees: Vec<(FileId, ast::File)> = Vec::with_capacity(texts.len());
    for id in texts {
        let (tree, found) = procc_syntax::parse(id, sources.get(id).text());
        diagnostics.extend(found);
        trees.push((id, tree));
    }
    Ok(Loaded {
        sources,
        diagnostics,
        catalog,
        trees,
        files_checked,
    })
}

/// Runs `procc check` with `cwd` as the current folder.
pub(crate) fn run(args: &CheckArgs, cwd: &Path) -> Result<Report, UsageError> {
    let Loaded {
        sources,
        mut diagnostics,
        catalog,
        trees,
        files_checked,
    } = load(
        &args.paths,
        args.config.as_deref(),
        cwd,
        Names::FromCurrentFolder,
    )?;
    let files: Vec<(FileId, &ast::File)> = trees.iter().map(|(id, tree)| (*id, tree)).collect();
    diagnostics.extend(procc_check::check(&sources, &files, &catalog));
    Ok(Report::new(sources, diagnostics, files_checked))
}

/// Reads a file's bytes; an unreadable file is a usage error.
fn read_bytes(path: &Path, cwd: &Path) -> Result<Vec<u8>, UsageError> {
    std::fs::read(path).map_err(|e| {
        UsageError::new(format!(
            "cannot read `{}`: {e}",
            project::display_name(path, cwd)
        ))
    })
}

/// Adds the file at `path` to `sources`, decoded. Returns its id when its text can be parsed;
/// a refused file (binary, too large, not UTF-8) is registered with its display text and its
/// diagnostic is added to `diagnostics`.
fn read_source(
    path: &Path,
    cwd: &Path,
    base: &Path,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Option<FileId>, UsageError> {
    let bytes = read_bytes(path, cwd)?;
    let name = project::display_name(path, base);
    // The id is only known once the text is added; decode with a placeholder and fix it up.
    let (text, refused) = match procc_syntax::decode(FileId(0), &bytes) {
        Decoded::Text(text) => {
            let skip = bytes.len() - text.len();
            (into_text(bytes, skip), None)
        }
        Decoded::Refused {
            display_text,
            diagnostic,
        } => (display_text, Some(diagnostic)),
    };
    let id = sources.add(name, text);
    match refused {
        None => Ok(Some(id)),
        Some(mut diagnostic) => {
            diagnostic.file = id;
            diagnostics.push(diagnostic);
            Ok(None)
        }
    }
}

/// The text of bytes that [`procc_syntax::decode`] accepted, without the first `skip` bytes (a
/// byte-order mark); reuses the buffer.
fn into_text(bytes: Vec<u8>, skip: usize) -> String {
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            text.drain(..skip);
            text
        }
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    }
}

/// Reads and parses the project file; its diagnostics go into `diagnostics`.
fn load_catalog(
    path: &Path,
    cwd: &Path,
    base: &Path,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Catalog, UsageError> {
    match read_source(path, cwd, base, sources, diagnostics)? {
        Some(id) => {
            let (catalog, found) = procc_catalog::parse_catalog(id, sources.get(id).text());
            diagnostics.extend(found);
            Ok(catalog)
        }
        None => Ok(Catalog::default()),
    }
}
