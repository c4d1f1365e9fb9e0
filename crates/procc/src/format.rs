//! `procc fmt`: formats `.proc` files canonically, in place, to standard output, or as a check.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use procc_diagnostics::{FileId, Sources};

use crate::compile::write_output;
use crate::project::{self, UsageError};
use crate::report::Report;
use crate::{EXIT_CLEAN, EXIT_INTERNAL, EXIT_PROBLEMS, human_style, render};

/// What `procc fmt` does with the formatted text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Rewrite each file that changes.
    Write,
    /// Change nothing; print a diff of each file that would change and fail if any would.
    Check,
}

/// Formats standard input to standard output.
pub(crate) fn stdin() -> Result<u8, UsageError> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| UsageError::new(format!("cannot read standard input as UTF-8 text: {e}")))?;
    match format_one("<stdin>", &text)? {
        Formatted::Text(formatted) => {
            write_output(Path::new("-"), &formatted)?;
            Ok(EXIT_CLEAN)
        }
        Formatted::Refused(code) => Ok(code),
    }
}

/// Formats the files of `paths` (or of the project around `cwd`).
pub(crate) fn files(
    paths: &[PathBuf],
    config: Option<&Path>,
    cwd: &Path,
    mode: Mode,
) -> Result<u8, UsageError> {
    let files = if paths.is_empty() {
        let project_file = project::locate_project_file(config, cwd, cwd)?;
        let text = std::fs::read_to_string(&project_file).map_err(|e| {
            UsageError::new(format!(
                "cannot read `{}`: {e}",
                project::display_name(&project_file, cwd)
            ))
        })?;
        let (catalog, _) = procc_catalog::parse_catalog(FileId(0), &text);
        project::files_from_patterns(catalog.files(), &project_file, cwd)?
    } else {
        project::files_from_paths(paths, cwd)?
    };
    let mut exit = EXIT_CLEAN;
    let mut changed = 0;
    for path in &files {
        let name = project::display_name(path, cwd);
        let text = std::fs::read_to_string(path)
            .map_err(|e| UsageError::new(format!("cannot read `{name}` as UTF-8 text: {e}")))?;
        let formatted = match format_one(&name, &text)? {
            Formatted::Text(formatted) => formatted,
            Formatted::Refused(code) => {
                exit = exit.max(code);
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        changed += 1;
        match mode {
            Mode::Check => {
                crate::print_stdout(&procc_fmt::diff(&name, &text, &formatted));
                exit = exit.max(EXIT_PROBLEMS);
            }
            Mode::Write => write_output(path, &formatted)?,
        }
    }
    match mode {
        Mode::Check if changed > 0 => eprintln!(
            "{changed} of {} files are not formatted; run `procc fmt` to format them",
            files.len()
        ),
        Mode::Check => eprintln!("{} files are formatted", files.len()),
        Mode::Write => eprintln!("formatted {} files, {changed} changed", files.len()),
    }
    Ok(exit)
}

enum Formatted {
    /// The canonical text.
    Text(String),
    /// Not formatted; the exit code to report.
    Refused(u8),
}

/// Formats one text, printing its syntax errors, and checks that the result means the same.
fn format_one(name: &str, text: &str) -> Result<Formatted, UsageError> {
    let mut sources = Sources::new();
    let id = sources.add(name, text);
    let formatted = match procc_fmt::format(id, text) {
        Ok(formatted) => formatted,
        Err(diagnostics) => {
            let report = Report::new(sources, diagnostics, 1);
            eprint!(
                "{}",
                render::human::render(&report, &human_style(std::io::stderr().is_terminal()))
            );
            return Ok(Formatted::Refused(EXIT_PROBLEMS));
        }
    };
    // A safety net: a formatter bug must never change what a template means.
    let (before, _) = procc_syntax::parse(id, text);
    let (after, problems) = procc_syntax::parse(id, &formatted);
    if problems.iter().any(procc_diagnostics::Diagnostic::is_error)
        || !procc_fmt::equivalent(&before, &after)
    {
        eprintln!(
            "internal error, please report: formatting `{name}` would change its meaning; the file is left as it is"
        );
        return Ok(Formatted::Refused(
            u8::try_from(EXIT_INTERNAL).unwrap_or(u8::MAX),
        ));
    }
    Ok(Formatted::Text(formatted))
}
