//! Finding the project file `procc.toml` and the `.proc` files to check.
//!
//! The project file is looked up the way Cargo looks up `Cargo.toml`: in a start folder and then
//! in each folder above it. Paths are made absolute and normalised lexically (without resolving
//! symbolic links) so that the names shown in diagnostics are stable: relative to the current
//! folder, with forward slashes.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path, PathBuf};

use globset::{Glob, GlobBuilder};

/// The name of the project file.
pub(crate) const PROJECT_FILE: &str = "procc.toml";

/// A problem with the command line or the file system: exit code 2, printed to standard error.
#[derive(Debug)]
pub(crate) struct UsageError {
    /// What went wrong, one line.
    pub(crate) message: String,
    /// What to do about it.
    pub(crate) help: Option<String>,
}

impl UsageError {
    /// An error without help.
    pub(crate) fn new(message: impl Into<String>) -> UsageError {
        UsageError {
            message: message.into(),
            help: None,
        }
    }

    /// Adds a help line.
    pub(crate) fn with_help(mut self, help: impl Into<String>) -> UsageError {
        self.help = Some(help.into());
        self
    }
}

/// `path` made absolute against `cwd`, with `.` and `..` removed lexically.
pub(crate) fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                // `pop` keeps the root: `/..` is `/`.
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// How a file is named in output: relative to `cwd` (with `..` where needed), forward slashes.
pub(crate) fn display_name(path: &Path, cwd: &Path) -> String {
    let path_parts: Vec<Component<'_>> = path.components().collect();
    let cwd_parts: Vec<Component<'_>> = cwd.components().collect();
    let common = path_parts
        .iter()
        .zip(&cwd_parts)
        .take_while(|(a, b)| a == b)
        .count();
    // Nothing in common (another drive on Windows): the absolute path is the only name.
    if common == 0 {
        return slashes(path);
    }
    let mut rel = PathBuf::new();
    for _ in common..cwd_parts.len() {
        rel.push("..");
    }
    for part in &path_parts[common..] {
        rel.push(part);
    }
    if rel.as_os_str().is_empty() {
        return ".".to_owned();
    }
    slashes(&rel)
}

fn slashes(path: &Path) -> String {
    let text = path.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        text.into_owned()
    } else {
        text.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

/// The nearest `procc.toml` in `start` or a folder above it.
pub(crate) fn find_project_file(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(PROJECT_FILE))
        .find(|candidate| candidate.is_file())
}

/// The project file to use: `--config` when given, otherwise the nearest one above `start`.
pub(crate) fn locate_project_file(
    config: Option<&Path>,
    start: &Path,
    cwd: &Path,
) -> Result<PathBuf, UsageError> {
    if let Some(config) = config {
        let path = absolute(config, cwd);
        if path.is_file() {
            return Ok(path);
        }
        let what = if path.exists() {
            "is not a file"
        } else {
            "does not exist"
        };
        return Err(UsageError::new(format!(
            "the project file `{}` given with --config {what}",
            config.display()
        )));
    }
    find_project_file(start).ok_or_else(|| {
        UsageError::new(format!(
            "no project file `{PROJECT_FILE}` in `{}` or any folder above it",
            start.display()
        ))
        .with_help(format!(
            "procc checks templates against the project file, which declares the users, groups, \
             fields and services they may name.\n\
             Create `{PROJECT_FILE}` in the project's root folder; the smallest one is\n\n    \
             [tenant]\n    \
             id = \"your-web-id\"\n    \
             name = \"Your Company\"\n\n\
             (see docs/project-file.md), or name one with `--config <FILE>`"
        ))
    })
}

/// Whether a folder is searched: hidden folders and build output (`target`) are not.
fn is_searched_dir(name: &str) -> bool {
    !name.starts_with('.') && name != "target"
}

/// Every file below `dir` (recursively, sorted) for which `keep` says yes.
fn walk(
    dir: &Path,
    keep: &mut dyn FnMut(&Path) -> bool,
    out: &mut Vec<PathBuf>,
) -> Result<(), UsageError> {
    let entries = fs::read_dir(dir)
        .map_err(|e| UsageError::new(format!("cannot read the folder `{}`: {e}", dir.display())))?;
    let mut children: Vec<(PathBuf, bool)> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| {
            UsageError::new(format!("cannot read the folder `{}`: {e}", dir.display()))
        })?;
        let path = entry.path();
        // Symbolic links to files are followed; links to folders are not (no cycles).
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        children.push((path, is_dir));
    }
    children.sort();
    for (path, is_dir) in children {
        if is_dir {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if is_searched_dir(&name) {
                walk(&path, keep, out)?;
            }
        } else if path.is_file() && keep(&path) {
            out.push(path);
        }
    }
    Ok(())
}

fn is_proc_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "proc")
}

/// The files named on the command line: files as they are, folders searched for `*.proc`.
/// Returns absolute paths, sorted and without repeats.
pub(crate) fn files_from_paths(paths: &[PathBuf], cwd: &Path) -> Result<Vec<PathBuf>, UsageError> {
    let mut files = BTreeSet::new();
    for given in paths {
        let path = absolute(given, cwd);
        if path.is_dir() {
            let mut found = Vec::new();
            walk(&path, &mut |p| is_proc_file(p), &mut found)?;
            if found.is_empty() {
                return Err(UsageError::new(format!(
                    "the folder `{}` holds no .proc files",
                    given.display()
                ))
                .with_help("procc searches folders for files ending in `.proc`, skipping hidden folders and `target`"));
            }
            files.extend(found);
        } else if path.is_file() {
            files.insert(path);
        } else {
            return Err(UsageError::new(format!(
                "no such file or folder: `{}`",
                given.display()
            )));
        }
    }
    Ok(files.into_iter().collect())
}

fn has_glob_meta(part: &str) -> bool {
    part.contains(['*', '?', '[', '{'])
}

/// The files that the `files` patterns of `project_file` name, relative to its folder. Returns
/// absolute paths, sorted and without repeats.
pub(crate) fn files_from_patterns(
    patterns: &[String],
    project_file: &Path,
    cwd: &Path,
) -> Result<Vec<PathBuf>, UsageError> {
    let root = project_file.parent().unwrap_or(cwd);
    let project_name = display_name(project_file, cwd);
    let mut files = BTreeSet::new();
    for pattern in patterns {
        let pattern = pattern.replace('\\', "/");
        if !has_glob_meta(&pattern) {
            let path = absolute(Path::new(&pattern), root);
            if path.is_dir() {
                let mut found = Vec::new();
                walk(&path, &mut |p| is_proc_file(p), &mut found)?;
                files.extend(found);
            } else if path.is_file() {
                files.insert(path);
            } else {
                return Err(UsageError::new(format!(
                    "`files` in `{}` names `{pattern}`, which does not exist",
                    project_name
                )));
            }
            continue;
        }
        // Walk only below the literal folders the pattern starts with.
        let parts: Vec<&str> = pattern.split('/').collect();
        let literal = parts.iter().take_while(|p| !has_glob_meta(p)).count();
        let base = parts[..literal].join("/");
        let matcher = GlobBuilder::new(&pattern)
            .literal_separator(true)
            .build()
            .map(|g: Glob| g.compile_matcher())
            .map_err(|e| {
                UsageError::new(format!(
                    "`files` in `{}` has an invalid pattern `{pattern}`: {e}",
                    project_name
                ))
            })?;
        let base_dir = absolute(Path::new(&base), root);
        if !base_dir.is_dir() {
            continue;
        }
        let mut found = Vec::new();
        walk(
            &base_dir,
            &mut |p| {
                let Ok(rest) = p.strip_prefix(&base_dir) else {
                    return false;
                };
                let rest = slashes(rest);
                let candidate = if base.is_empty() {
                    rest
                } else {
                    format!("{base}/{rest}")
                };
                matcher.is_match(candidate.as_str())
            },
            &mut found,
        )?;
        files.extend(found);
    }
    if files.is_empty() {
        let list = patterns
            .iter()
            .map(|p| format!("\"{p}\""))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(UsageError::new(format!(
            "no .proc files found: `files = [{list}]` in `{}` matches no file",
            project_name
        ))
        .with_help("add .proc files below the project file's folder, change `files`, or name files to check"));
    }
    Ok(files.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_normalises_lexically() {
        let cwd = Path::new("/work/proj");
        assert_eq!(
            absolute(Path::new("a/./b/../c.proc"), cwd),
            PathBuf::from("/work/proj/a/c.proc")
        );
        assert_eq!(absolute(Path::new("/x/../y"), cwd), PathBuf::from("/y"));
        assert_eq!(absolute(Path::new("../../../.."), cwd), PathBuf::from("/"));
    }

    #[test]
    fn display_names_are_relative_to_the_current_folder() {
        let cwd = Path::new("/work/proj");
        assert_eq!(
            display_name(Path::new("/work/proj/a/b.proc"), cwd),
            "a/b.proc"
        );
        assert_eq!(
            display_name(Path::new("/work/procc.toml"), cwd),
            "../procc.toml"
        );
        assert_eq!(display_name(Path::new("/work/proj"), cwd), ".");
        assert_eq!(display_name(Path::new("/etc/x"), cwd), "../../etc/x");
    }

    #[test]
    fn searched_dirs() {
        assert!(is_searched_dir("processes"));
        assert!(!is_searched_dir(".git"));
        assert!(!is_searched_dir("target"));
    }
}
