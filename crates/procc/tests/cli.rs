//! End-to-end tests of the `procc` binary: exit codes, formats, project discovery, `explain`.
//!
//! Each test builds a small project in a temporary folder and runs the built binary there, with
//! standard output not a terminal (so human output has no colour and a width of 100).

use std::path::Path;
use std::process::{Command, Output};

use tempfile::TempDir;

const PROJECT: &str = "\
[tenant]
id = \"musterimmo\"
name = \"Muster Immobilien GmbH\"

[[templates.email]]
id = \"tenant-welcome\"
subject = \"Welcome\"
";

const CLEAN: &str =
    "process hello \"Hello\" {\n  step call: task \"Call the customer\"\n  step done: end\n}\n";

/// A syntax error: the colon after the step name is missing.
const BROKEN: &str =
    "process broken \"Broken\" {\n  step call task \"Call\"\n  step done: end\n}\n";

/// A warning (P3007 likely-manual), not an error: the address is linked on one path only.
const WARNING: &str = "\
process intake \"Intake\" {
  needs property
  step tenant: decision manual \"Is there a tenant?\" {
    yes -> link_tenant
    no -> join
  }
  step link_tenant: assign_address
  step join: merge
  step welcome: email template \"tenant-welcome\" automatic
  step done: end
}
";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_procc"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("PROCC_TEST_PANIC");
    cmd
}

fn procc(dir: &Path, args: &[&str]) -> Run {
    Run::from(command(dir, args).output().expect("run procc"))
}

/// A temporary project: `procc.toml` plus the given files.
fn project(files: &[(&str, &[u8])]) -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "procc.toml", PROJECT.as_bytes());
    for (name, contents) in files {
        write(dir.path(), name, contents);
    }
    dir
}

fn write(dir: &Path, name: &str, contents: &[u8]) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create folder");
    }
    std::fs::write(path, contents).expect("write file");
}

// Exit codes.

#[test]
fn clean_project_exits_0() {
    let dir = project(&[
        ("a.proc", CLEAN.as_bytes()),
        ("sub/b.proc", CLEAN.replace("hello", "other").as_bytes()),
    ]);
    let run = procc(dir.path(), &["check"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "checked 2 files: no problems\n", "{run:?}");
    assert_eq!(run.stderr, "");
}

#[test]
fn errors_exit_1_with_the_code_file_and_summary_on_stdout() {
    let dir = project(&[("a.proc", BROKEN.as_bytes())]);
    let run = procc(dir.path(), &["check"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("[P0001]"), "{run:?}");
    assert!(run.stdout.contains("a.proc:2:13"), "{run:?}");
    assert!(
        run.stdout
            .ends_with("error: 1 problem (1 error, 0 warnings) in 1 file\n"),
        "{run:?}"
    );
    assert!(
        !run.stdout.contains('\x1b'),
        "no colour when not a terminal: {run:?}"
    );
    assert_eq!(run.stderr, "");
}

#[test]
fn missing_file_exits_2() {
    let dir = project(&[("a.proc", CLEAN.as_bytes())]);
    let run = procc(dir.path(), &["check", "nope.proc"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("no such file or folder: `nope.proc`"),
        "{run:?}"
    );
    assert_eq!(run.stdout, "");
}

#[test]
fn folder_without_proc_files_exits_2() {
    let dir = project(&[("a.proc", CLEAN.as_bytes()), ("empty/readme.txt", b"hi")]);
    let run = procc(dir.path(), &["check", "empty"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("the folder `empty` holds no .proc files"),
        "{run:?}"
    );
}

#[test]
fn bad_flag_exits_2() {
    let dir = project(&[("a.proc", CLEAN.as_bytes())]);
    let run = procc(dir.path(), &["check", "--frmat", "json"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--frmat"), "{run:?}");
    let run = procc(dir.path(), &["check", "--format", "xml"]);
    assert_eq!(run.code, 2, "{run:?}");
}

#[test]
fn no_project_file_exits_2_and_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.proc", CLEAN.as_bytes());
    let run = procc(dir.path(), &["check", "a.proc"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("no project file `procc.toml`"),
        "{run:?}"
    );
    assert!(run.stderr.contains("[tenant]"), "{run:?}");
    assert!(run.stderr.contains("--config"), "{run:?}");
}

#[test]
fn project_without_matching_files_exits_2() {
    let dir = project(&[("notes.txt", b"x")]);
    let run = procc(dir.path(), &["check"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("no .proc files found"), "{run:?}");
}

#[test]
fn panics_exit_3_with_a_report_request() {
    let dir = project(&[("a.proc", CLEAN.as_bytes())]);
    let run = Run::from(
        command(dir.path(), &["check"])
            .env("PROCC_TEST_PANIC", "1")
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("internal error, please report"),
        "{run:?}"
    );
    assert!(run.stderr.contains("PROCC_TEST_PANIC is set"), "{run:?}");
}

// Warnings.

#[test]
fn warnings_pass_unless_denied() {
    let dir = project(&[("a.proc", CLEAN.as_bytes()), ("b.proc", WARNING.as_bytes())]);
    let run = procc(dir.path(), &["check"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("[P3007]"), "{run:?}");
    assert!(
        run.stdout
            .ends_with("warning: 1 problem (0 errors, 1 warning) in 1 file\n"),
        "{run:?}"
    );
    let run = procc(dir.path(), &["check", "--deny-warnings"]);
    assert_eq!(run.code, 1, "{run:?}");
}

#[test]
fn an_empty_file_is_a_warning() {
    let dir = project(&[("a.proc", b"")]);
    let run = procc(dir.path(), &["check", "--format", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["warning_count"], 1, "{run:?}");
    assert_eq!(json["diagnostics"][0]["code"], "P0011", "{run:?}");
}

// Refused files.

#[test]
fn non_utf8_file_is_reported_at_the_byte() {
    let dir = project(&[(
        "latin1.proc",
        b"process p \"Gr\xf6\xdfe\" {\n  step done: end\n}\n",
    )]);
    let run = procc(dir.path(), &["check", "--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let d = &json["diagnostics"][0];
    assert_eq!(d["code"], "P0002", "{run:?}");
    assert_eq!(d["file"], "latin1.proc");
    assert_eq!(d["range"]["start"]["line"], 1);
    assert_eq!(d["range"]["start"]["column"], 14);
    assert_eq!(json["diagnostics"].as_array().unwrap().len(), 1, "{run:?}");
}

#[test]
fn binary_file_is_refused() {
    let dir = project(&[
        ("a.proc", CLEAN.as_bytes()),
        ("b.proc", b"\x7fELF\x02\x01\x01\x00\x00\x00"),
    ]);
    let run = procc(dir.path(), &["check"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("[P0003]"), "{run:?}");
    assert!(run.stdout.contains("b.proc"), "{run:?}");
    assert!(run.stdout.contains("in 1 file"), "{run:?}");
}

#[test]
fn file_too_large_is_refused() {
    let size = procc_syntax::MAX_FILE_BYTES + 1;
    let dir = project(&[]);
    let mut big = b"// ".to_vec();
    big.resize(size, b'x');
    write(dir.path(), "big.proc", &big);
    let run = procc(dir.path(), &["check", "big.proc", "--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["diagnostics"][0]["code"], "P0004", "{run:?}");
}

// Formats.

#[test]
fn json_format() {
    let dir = project(&[("a.proc", BROKEN.as_bytes()), ("b.proc", CLEAN.as_bytes())]);
    let run = procc(dir.path(), &["check", "--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("valid JSON");
    assert_eq!(json["format_version"], "1.0");
    assert_eq!(json["valid"], false);
    assert_eq!(json["files_checked"], 2);
    assert_eq!(json["error_count"], 1);
    let d = &json["diagnostics"][0];
    assert_eq!(d["code"], "P0001");
    assert_eq!(d["slug"], "syntax-error");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["file"], "a.proc");
    assert_eq!(d["range"]["start"]["line"], 2);
    assert_eq!(d["range"]["start"]["column"], 13);
    assert_eq!(d["labels"][0]["primary"], true);
}

#[test]
fn github_format() {
    let dir = project(&[
        ("a.proc", BROKEN.as_bytes()),
        ("b.proc", WARNING.as_bytes()),
    ]);
    let run = procc(dir.path(), &["check", "--format", "github"]);
    assert_eq!(run.code, 1, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("::error file=a.proc,line=2,col=13,"),
        "{run:?}"
    );
    assert!(lines[0].contains(",title=P0001 syntax-error::"), "{run:?}");
    assert!(
        lines[1].starts_with("::warning file=b.proc,line=9,col=17,"),
        "{run:?}"
    );
    assert_eq!(
        lines[2], "error: 2 problems (1 error, 1 warning) in 2 files",
        "{run:?}"
    );
}

#[test]
fn sarif_format_is_valid_sarif() {
    let dir = project(&[
        ("a.proc", BROKEN.as_bytes()),
        ("b.proc", WARNING.as_bytes()),
    ]);
    let run = procc(dir.path(), &["check", "--format", "sarif"]);
    assert_eq!(run.code, 1, "{run:?}");
    let log: serde_json::Value = serde_json::from_str(&run.stdout).expect("valid JSON");
    validate_sarif(&log);
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "P0001");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "a.proc"
    );
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );
}

#[test]
fn sarif_of_a_clean_run_is_valid_sarif() {
    let dir = project(&[("a.proc", CLEAN.as_bytes())]);
    let run = procc(dir.path(), &["check", "--format", "sarif"]);
    assert_eq!(run.code, 0, "{run:?}");
    validate_sarif(&serde_json::from_str(&run.stdout).unwrap());
}

/// Validates against the official SARIF 2.1.0 schema, vendored under `tests/data/`.
fn validate_sarif(log: &serde_json::Value) {
    if let Err(error) = sarif_errors(log) {
        panic!("SARIF output does not follow the schema:\n{error}\n{log:#}");
    }
}

fn sarif_errors(log: &serde_json::Value) -> Result<(), String> {
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&schema_path).expect("schema file"))
            .expect("schema is JSON");
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    let url = "https://json.schemastore.org/sarif-2.1.0.json";
    compiler.add_resource(url, schema).expect("schema added");
    let index = compiler
        .compile(url, &mut schemas)
        .expect("schema compiles");
    schemas.validate(log, index).map_err(|e| format!("{e:#}"))
}

#[test]
fn the_sarif_schema_check_rejects_invalid_logs() {
    let dir = project(&[("a.proc", BROKEN.as_bytes())]);
    let run = procc(dir.path(), &["check", "--format", "sarif"]);
    let mut log: serde_json::Value = serde_json::from_str(&run.stdout).expect("valid JSON");
    log["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(sarif_errors(&log).is_err());
}

#[test]
fn no_color_and_terminal_detection() {
    // Standard output is a pipe here, so there is never colour; NO_COLOR must not change that
    // or anything else.
    let dir = project(&[("a.proc", BROKEN.as_bytes())]);
    let plain = procc(dir.path(), &["check"]);
    let no_color = Run::from(
        command(dir.path(), &["check"])
            .env("NO_COLOR", "1")
            .output()
            .unwrap(),
    );
    assert_eq!(plain.stdout, no_color.stdout);
    assert!(!no_color.stdout.contains('\x1b'));
    assert!(
        no_color.stdout.contains('╭'),
        "unicode frames: {no_color:?}"
    );
}

/// On a terminal (a pseudo-terminal made by util-linux `script`), human output is coloured
/// unless `NO_COLOR` is set. Skipped where `script` is not available.
#[cfg(target_os = "linux")]
#[test]
fn colour_on_a_terminal_unless_no_color() {
    let dir = project(&[("a.proc", BROKEN.as_bytes())]);
    let on_tty = |no_color: bool| {
        let line = format!("{} check a.proc", env!("CARGO_BIN_EXE_procc"));
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &line, "/dev/null"])
            .current_dir(dir.path())
            .env_remove("NO_COLOR");
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        cmd.output().ok().map(Run::from)
    };
    let Some(coloured) = on_tty(false) else {
        eprintln!("skipped: util-linux `script` is not available");
        return;
    };
    if coloured.code == 127 || !coloured.stdout.contains("P0001") {
        eprintln!("skipped: `script` did not run procc: {coloured:?}");
        return;
    }
    assert_eq!(coloured.code, 1, "{coloured:?}");
    assert!(coloured.stdout.contains('\x1b'), "{coloured:?}");
    let plain = on_tty(true).expect("script ran before");
    assert!(!plain.stdout.contains('\x1b'), "{plain:?}");
    assert!(plain.stdout.contains('╭'), "{plain:?}");
}

// Project discovery.

#[test]
fn project_file_is_found_upward_from_the_first_path() {
    let dir = project(&[("processes/deep/a.proc", BROKEN.as_bytes())]);
    // Run from a folder without procc.toml above it: only the path leads to the project.
    let elsewhere = tempfile::tempdir().unwrap();
    let path = dir.path().join("processes/deep/a.proc");
    let run = procc(elsewhere.path(), &["check", path.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("[P0001]"), "{run:?}");
}

#[test]
fn project_file_is_found_upward_from_the_current_folder() {
    let dir = project(&[
        ("processes/a.proc", CLEAN.as_bytes()),
        ("processes/sub/b.proc", BROKEN.as_bytes()),
    ]);
    let run = procc(&dir.path().join("processes/sub"), &["check"]);
    // The project's files are all checked, named relative to the current folder.
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("╭─[b.proc:2:13]"), "{run:?}");
}

#[test]
fn project_file_problems_are_reported() {
    let dir = project(&[("a.proc", CLEAN.as_bytes())]);
    write(
        dir.path(),
        "procc.toml",
        format!("{PROJECT}colour = \"blue\"\n").as_bytes(),
    );
    let run = procc(dir.path(), &["check", "--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["diagnostics"][0]["code"], "P5002", "{run:?}");
    assert_eq!(json["diagnostics"][0]["file"], "procc.toml", "{run:?}");
    assert_eq!(json["files_checked"], 1);
}

#[test]
fn config_flag_names_the_project_file() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "conf/crm.toml",
        format!("files = [\"../src/*.proc\"]\n{PROJECT}").as_bytes(),
    );
    write(dir.path(), "src/a.proc", BROKEN.as_bytes());
    write(dir.path(), "src/other/b.proc", BROKEN.as_bytes());
    let run = procc(dir.path(), &["check", "--config", "conf/crm.toml"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("src/a.proc"), "{run:?}");
    // `*` does not cross folders.
    assert!(!run.stdout.contains("b.proc"), "{run:?}");
    let run = procc(dir.path(), &["check", "--config", "conf/missing.toml"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("does not exist"), "{run:?}");
}

#[test]
fn folders_skip_hidden_folders_and_target() {
    let dir = project(&[
        ("a.proc", CLEAN.as_bytes()),
        (".git/x.proc", BROKEN.as_bytes()),
        ("target/y.proc", BROKEN.as_bytes()),
    ]);
    let run = procc(dir.path(), &["check", "."]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "checked 1 file: no problems\n");
    let run = procc(dir.path(), &["check"]);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn output_is_sorted_by_file_name() {
    let dir = project(&[
        ("z.proc", BROKEN.as_bytes()),
        ("a.proc", BROKEN.replace("broken", "other").as_bytes()),
    ]);
    let run = procc(
        dir.path(),
        &["check", "z.proc", "a.proc", "--format", "json"],
    );
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let files: Vec<_> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["file"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(files, ["a.proc", "z.proc"]);
}

// Explain.

#[test]
fn explain_prints_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let run = procc(dir.path(), &["explain", "P1001"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("P1001"), "{run:?}");
    let lower = procc(dir.path(), &["explain", "p1001"]);
    assert_eq!(lower.stdout, run.stdout);
    let by_name = procc(dir.path(), &["explain", "unknown-step"]);
    assert_eq!(by_name.stdout, run.stdout);
}

#[test]
fn explain_unknown_code_exits_2_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let run = procc(dir.path(), &["explain", "P1O01"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("unknown code `P1O01`"), "{run:?}");
    assert!(run.stderr.contains("did you mean"), "{run:?}");
    let run = procc(dir.path(), &["explain"]);
    assert_eq!(run.code, 2, "{run:?}");
}

#[test]
fn explain_list_shows_every_code() {
    let dir = tempfile::tempdir().unwrap();
    let run = procc(dir.path(), &["explain", "--list"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout.lines().count(),
        procc_diagnostics::ALL_CODES.len()
    );
    for code in procc_diagnostics::ALL_CODES {
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with(code.id))
            .expect("listed");
        assert!(
            line.contains(code.slug) && line.contains(code.summary),
            "{line}"
        );
    }
}

#[test]
fn help_has_examples() {
    let dir = tempfile::tempdir().unwrap();
    let run = procc(dir.path(), &["check", "--help"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("EXAMPLES:"), "{run:?}");
    assert!(run.stdout.contains("standard output"), "{run:?}");
    let run = procc(dir.path(), &["--help"]);
    assert!(run.stdout.contains("EXAMPLES:"), "{run:?}");
}
