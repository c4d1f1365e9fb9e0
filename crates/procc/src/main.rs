//! The `procc` command line.
//!
//! This file only parses arguments, installs the panic hook and maps outcomes to exit codes; the
//! work happens in the modules: [`project`] finds and loads the project, [`check`] runs the
//! parser and checker over it, [`render`] prints the result in the chosen format and
//! [`explain`] prints the page of a diagnostic code.
//!
//! Exit codes: 0 no problems (warnings allowed), 1 problems found (errors, or warnings with
//! `--deny-warnings`), 2 usage or IO error, 3 internal error (a bug in procc).

mod check;
mod compile;
mod explain;
mod format;
mod project;
mod render;
mod report;
mod run;
mod serve;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::project::UsageError;

/// Parsing and the runtime allocate many small names and texts; mimalloc (through `procc-alloc`)
/// makes that about 10% faster than the system allocator (measured with `procc-bench`).
#[global_allocator]
static ALLOCATOR: procc_alloc::Allocator = procc_alloc::Allocator;

/// Exit code: the command ran and found no problems (warnings are allowed).
pub(crate) const EXIT_CLEAN: u8 = 0;
/// Exit code: problems were found.
pub(crate) const EXIT_PROBLEMS: u8 = 1;
/// Exit code: bad arguments, a missing file, an unreadable folder.
const EXIT_USAGE: u8 = 2;
/// Exit code: procc itself failed (a panic); always a bug.
pub(crate) const EXIT_INTERNAL: i32 = 3;

/// Check, compile, draw and explain process templates (`.proc` files) for the real-estate CRM.
#[derive(Debug, Parser)]
#[command(name = "procc", version, about, propagate_version = true)]
#[command(after_help = "\
EXAMPLES:
  procc check                      Check the project around the current folder
  procc check processes/           Check every .proc file below a folder
  procc check --format github      Annotations for GitHub Actions
  procc fmt --check                Is every file formatted canonically?
  procc compile -o plan.json       Compile the project into a plan for the runtime
  procc graph --format mermaid     Draw the project's processes
  procc explain P1001              What a diagnostic code means and how to fix it

EXIT CODES:
  0  no problems (warnings allowed)    2  usage or IO error
  1  problems found                    3  internal error (please report)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check .proc files against the language and the project file procc.toml.
    #[command(after_help = "\
The project file procc.toml is looked up like Cargo.toml: in the folder of the first PATH (or the
current folder when no PATH is given) and then in each folder above it; --config names it
directly. Without a project file there is nothing to check names against, so that is a usage
error (exit 2). Without PATHS, the files checked are the project's `files` globs (default
\"**/*.proc\"), relative to the folder of procc.toml. A folder given as a PATH is searched for
*.proc files, skipping hidden folders and `target`.

Diagnostics and the summary are written to standard output, so they can be captured or piped;
usage errors go to standard error. Human output is coloured only when standard output is a
terminal and NO_COLOR is not set.

EXAMPLES:
  procc check                          Check the project's files
  procc check a.proc b.proc            Check two files (names resolve across both)
  procc check templates/ --deny-warnings
  procc check --config ../crm/procc.toml lettings/
  procc check --format json > report.json
  procc check --format sarif > procc.sarif

EXIT CODES:
  0  no problems (warnings allowed)
  1  problems found: errors, or warnings with --deny-warnings
  2  usage or IO error (missing file, folder without .proc files, no procc.toml)
  3  internal error (please report)")]
    Check(CheckArgs),
    /// Format .proc files canonically.
    #[command(after_help = "\
There is one layout and no options: two spaces of indentation, settings in a fixed order, one
blank line between steps where the author had any, comments kept where they were. Formatting
never changes what a file means: the result is parsed again and compared before it is written,
and a file with syntax errors is left alone (its errors are printed). Formatting twice changes
nothing.

EXAMPLES:
  procc fmt                          Format the project's files in place
  procc fmt examples/ --check        Print a diff for each file that is not formatted
  procc fmt - < draft.proc           Format standard input to standard output

EXIT CODES:
  0  formatted (with --check: nothing to change)
  1  --check found files to change, or a file has syntax errors
  2  usage or IO error")]
    Fmt(FmtArgs),
    /// Check the project and compile it into a plan that the runtime executes.
    #[command(after_help = "\
The plan is written only when the check finds no errors; warnings are printed and allowed
(unless --deny-warnings). It is written whole or not at all (into a temporary file that is then
renamed). File names in the plan's source map are relative to the folder of procc.toml, so the
same sources give the same bytes on every machine. Diagnostics go to standard error.

EXAMPLES:
  procc compile                         Compile the project's files into plan.json
  procc compile examples/ -o examples.plan.json
  procc compile -o - | jq .hash         Write the plan to standard output

EXIT CODES:
  0  plan written    1  problems found, no plan written    2  usage or IO error")]
    Compile(CompileArgs),
    /// Draw the project's processes as Graphviz DOT or Mermaid.
    #[command(after_help = "\
Steps are boxes with their kind, responsible person and timing, decisions are diamonds with
yes/no edges, merges are circles, triggers are entry points and follow-up processes are dashed
links. The project is checked first; nothing is drawn when it has errors.

EXAMPLES:
  procc graph examples/ --process revaluation | dot -Tsvg > revaluation.svg
  procc graph --format mermaid -o docs/processes.mmd
  procc graph --plan plan.json         Draw what a deployed plan runs

EXIT CODES:
  0  drawn    1  problems found    2  usage or IO error")]
    Graph(GraphArgs),
    /// Run the scenario files (`*.scenario`) of processes on a virtual clock.
    #[command(after_help = "\
Each scenario starts processes for given records, moves a virtual clock, completes, skips and
answers steps, and expects which steps are active for whom, which e-mails, SMS and webhooks went
out, and how the process ends (docs/testing.md). A scenario file runs against the templates of
its project (the nearest procc.toml above it), compiled once, on a fresh in-memory runtime:
no wall clock, no network, the same result every time. Failed expectations point at their line
with the expected and the actual value. The last line reads `N passed, M failed`.

EXAMPLES:
  procc test                  Run every scenario below the current folder
  procc test examples/        Run the examples' scenarios
  procc test tests/run/a.scenario

EXIT CODES:
  0  every scenario passed    1  a scenario failed    2  usage or IO error")]
    Test(TestArgs),
    /// Run the runtime on the real clock against a SQLite database (or as a PostgreSQL worker).
    #[command(after_help = "\
The plan (compiled from the sources, or given with --plan) is deployed into the database (a new
version; running processes stay on the version they started with), then the runtime fires timers
and deadlines when they are due, runs the daily date scan, and delivers effects for real:
webhooks over HTTP (marketplace services signed with their secret, free webhooks signed as
Standard Webhooks says), e-mail over the `[smtp]` server and SMS through the `[sms_gateway]` of
procc.toml, with retries, backoff and limits (`[delivery]`, docs/delivery.md). Letters and
portal syncs, which have no connector yet, are written as JSON lines to standard output (or
--effects FILE). State survives a restart: stop with Ctrl-C or SIGTERM and run again.
Decision links are signed with PROCC_DECISION_SECRET, or with a random secret kept in
<db>.secret.

With --postgres URL (or PROCC_POSTGRES) the state is in PostgreSQL instead, and any number of
`procc run` processes on any machines share the work: each timer and effect is handled by one
of them, and a commit of one wakes the others. They must share PROCC_DECISION_SECRET.

EXAMPLES:
  procc run examples/                       Compile the examples and run them in procc.db
  procc run --plan plan.json --db /var/lib/procc/procc.db --effects effects.jsonl
  PROCC_DECISION_SECRET=... procc run --plan plan.json --postgres postgres://procc@db/procc")]
    Run(RunArgs),
    /// Serve the HTTP API and the dashboard on the runtime (SQLite).
    #[command(after_help = "\
The plan (compiled from the sources, or given with --plan) is deployed into the database, the
runtime fires timers, deadlines and daily scans as `procc run` does, and the HTTP server answers
the API under /api/v1 (OpenAPI document at /api/v1/openapi.json), the dashboard at /, /health
and /metrics. Requests need an API token (`procc token create USER`, or --token-for/--demo).
Ctrl-C or SIGTERM stops: requests in flight finish and nothing committed is lost.

--demo imports the records of demo-records.json beside the project file and prints a token for
the first user with the right see-others.

EXAMPLES:
  procc serve examples/ --demo                  The examples with demo records and a token
  procc serve --listen 0.0.0.0:8080 --db /var/lib/procc/procc.db --public-url https://procc.example")]
    Serve(ServeArgs),
    /// Make or revoke API tokens for `procc serve`.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Explain a diagnostic code: what it flags, an example and the fix.
    #[command(after_help = "\
EXAMPLES:
  procc explain P1001      Print the page of code P1001
  procc explain --list     List every code with its name and summary")]
    Explain(ExplainArgs),
    /// Tools for webhook receivers.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// List and enable delivery endpoints disabled after a 410 Gone.
    #[command(subcommand)]
    Endpoint(EndpointCommand),
}

/// `procc endpoint ...`.
#[derive(Debug, Subcommand)]
enum EndpointCommand {
    /// List the endpoints disabled after they answered 410 Gone, with the answer.
    #[command(after_help = "\
An endpoint is a webhook URL without its query (or `email`, `sms`, `letter`, `portal`). While it
is disabled, effects to it are given up at once and their steps become manual (docs/delivery.md).

EXAMPLES:
  procc endpoint list --db /var/lib/procc/procc.db")]
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Enable a disabled endpoint again (audited); new effects to it are delivered.
    #[command(after_help = "\
Effects given up while the endpoint was disabled stay given up: their steps were made manual.

EXAMPLES:
  procc endpoint enable https://hooks.example.de/valuation --db /var/lib/procc/procc.db

EXIT CODES:
  0  enabled    2  the endpoint is not disabled, or a usage error")]
    Enable {
        /// The endpoint, as `procc endpoint list` prints it.
        endpoint: String,
        #[command(flatten)]
        database: DatabaseArgs,
        /// Who enables it, for the audit history [default: $USER].
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
}

/// `procc webhook ...`.
#[derive(Debug, Subcommand)]
enum WebhookCommand {
    /// Check the signature of a marketplace call as a provider does.
    #[command(after_help = "\
The signature is the lowercase-hex HMAC-SHA256 with the provider's secret over the full URL with
every parameter but `signature`, sorted by name (docs/delivery.md). The secret is read from the
environment variable named with --secret-env, never from the command line.

EXAMPLES:
  procc webhook verify 'https://p.example/hook?...&signature=...' --secret-env PROVIDER_SECRET

EXIT CODES:
  0  the signature is valid    1  it is not (or the timestamp is too old)    2  usage error")]
    Verify(VerifyArgs),
}

/// Arguments of `procc webhook verify`.
#[derive(Debug, Args)]
struct VerifyArgs {
    /// The complete URL the provider was called with.
    #[arg(value_name = "URL")]
    url: String,
    /// The environment variable that holds the provider's secret.
    #[arg(long, value_name = "NAME")]
    secret_env: String,
    /// Refuse a timestamp more than this many seconds away from now (0: do not check).
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    max_age: i64,
}

/// Arguments of `procc check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Files or folders to check [default: the project's `files`].
    #[arg(value_name = "PATHS")]
    pub(crate) paths: Vec<PathBuf>,
    /// The project file to use instead of looking for procc.toml.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// How to print the diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub(crate) format: Format,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    pub(crate) deny_warnings: bool,
}

/// Arguments of `procc fmt`.
#[derive(Debug, Args)]
struct FmtArgs {
    /// Files or folders to format, or `-` for standard input [default: the project's `files`].
    #[arg(value_name = "PATHS")]
    paths: Vec<PathBuf>,
    /// The project file whose `files` are formatted when no PATHS are given.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Change nothing; print a diff for each file that would change and exit 1 if any would.
    #[arg(long)]
    check: bool,
}

/// Arguments of `procc compile`.
#[derive(Debug, Args)]
struct CompileArgs {
    /// Files or folders to compile [default: the project's `files`].
    #[arg(value_name = "PATHS")]
    paths: Vec<PathBuf>,
    /// The project file to use instead of looking for procc.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where to write the plan; `-` is standard output.
    #[arg(short, long, value_name = "FILE", default_value = "plan.json")]
    output: PathBuf,
    /// Refuse to write a plan when there are warnings too.
    #[arg(long)]
    deny_warnings: bool,
}

/// Arguments of `procc test`.
#[derive(Debug, Args)]
struct TestArgs {
    /// Scenario files or folders to search for them [default: the current folder].
    #[arg(value_name = "PATHS")]
    paths: Vec<PathBuf>,
}

/// Arguments of `procc run`.
#[derive(Debug, Args)]
struct RunArgs {
    /// Files or folders to compile and run [default: the project's `files`].
    #[arg(value_name = "PATHS", conflicts_with = "plan")]
    paths: Vec<PathBuf>,
    /// Run a compiled plan instead of the sources (its format and hash are checked).
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// The project file to use instead of looking for procc.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    database: DatabaseArgs,
    /// Append effects as JSON lines to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    effects: Option<PathBuf>,
}

/// Where the runtime's state is: a SQLite file, or a PostgreSQL database shared by workers.
#[derive(Debug, Args)]
struct DatabaseArgs {
    /// The SQLite database (`procc run` and `procc serve` create it when missing).
    #[arg(long, value_name = "FILE", default_value = "procc.db")]
    db: PathBuf,
    /// Use this PostgreSQL database instead, shared by any number of `procc run` and
    /// `procc serve` workers (a connection string: `postgres://user@host/db` or
    /// `host=... dbname=...`).
    #[arg(
        long,
        value_name = "URL",
        env = "PROCC_POSTGRES",
        conflicts_with = "db"
    )]
    postgres: Option<String>,
}

impl DatabaseArgs {
    /// The PostgreSQL database when one is given, else the SQLite file.
    fn database(&self) -> run::Database<'_> {
        match &self.postgres {
            Some(url) => run::Database::Postgres(url),
            None => run::Database::Sqlite(&self.db),
        }
    }
}

/// Arguments of `procc serve`.
#[derive(Debug, Args)]
struct ServeArgs {
    /// Files or folders to compile and serve [default: the project's `files`].
    #[arg(value_name = "PATHS", conflicts_with = "plan")]
    paths: Vec<PathBuf>,
    /// Serve a compiled plan instead of the sources (its format and hash are checked).
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// The project file to use instead of looking for procc.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    database: DatabaseArgs,
    /// The address and port to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// The address users reach the server at, for decision links [default: http://ADDR].
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Append effects as JSON lines to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    effects: Option<PathBuf>,
    /// Import records from this JSON file at start (a list of {module, id, fields, filters}).
    #[arg(long, value_name = "FILE")]
    seed: Option<PathBuf>,
    /// Print a new API token for this user at start.
    #[arg(long, value_name = "USER")]
    token_for: Option<String>,
    /// Import the project's demo-records.json and print a token for a user who sees everything.
    #[arg(long)]
    demo: bool,
}

/// `procc token` subcommands.
#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Make a token for a user of the deployed plan and print it (only its hash is stored).
    Create {
        /// The user id.
        user: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Revoke a token.
    Revoke {
        /// The token.
        token: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// Arguments of `procc graph`.
#[derive(Debug, Args)]
struct GraphArgs {
    /// Files or folders to draw [default: the project's `files`].
    #[arg(value_name = "PATHS", conflicts_with = "plan")]
    paths: Vec<PathBuf>,
    /// Draw a compiled plan instead of the sources (its format and hash are checked).
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// The project file to use instead of looking for procc.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The picture's language.
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    format: GraphFormat,
    /// Draw only this process (repeatable) [default: all].
    #[arg(long, value_name = "NAME")]
    process: Vec<String>,
    /// Where to write the picture; `-` is standard output.
    #[arg(short, long, value_name = "FILE", default_value = "-")]
    output: PathBuf,
}

/// Output formats of `procc graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum GraphFormat {
    /// Graphviz DOT, for `dot -Tsvg`.
    Dot,
    /// A Mermaid flowchart, for Markdown viewers.
    Mermaid,
}

/// Output formats of `procc check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Code frames for people.
    Human,
    /// Versioned JSON (docs/check-json.md).
    Json,
    /// GitHub Actions workflow commands (annotations).
    Github,
    /// SARIF 2.1.0 for code-scanning tools.
    Sarif,
}

/// Arguments of `procc explain`.
#[derive(Debug, Args)]
struct ExplainArgs {
    /// A code such as P1001 (or its name, such as unknown-step).
    #[arg(required_unless_present = "list", conflicts_with = "list")]
    code: Option<String>,
    /// List every code with its name and summary.
    #[arg(long)]
    list: bool,
}

fn main() -> ExitCode {
    procc_alloc::without_huge_pages();
    install_panic_hook();
    // Lets the tests check the internal-error path; not a user-facing switch.
    if std::env::var_os("PROCC_TEST_PANIC").is_some() {
        panic!("PROCC_TEST_PANIC is set");
    }
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Check(args) => run_check(&args),
        Command::Fmt(args) => run_fmt(&args),
        Command::Compile(args) => run_compile(&args),
        Command::Graph(args) => run_graph(&args),
        Command::Run(args) => run_runtime(&args),
        Command::Serve(args) => run_serve(&args),
        Command::Token(TokenCommand::Create { user, database }) => {
            serve::create_token(database.database(), &user)
        }
        Command::Token(TokenCommand::Revoke { token, database }) => {
            serve::revoke_token(database.database(), &token)
        }
        Command::Webhook(WebhookCommand::Verify(args)) => verify_webhook(&args),
        Command::Endpoint(EndpointCommand::List { database }) => {
            serve::list_endpoints(database.database())
        }
        Command::Endpoint(EndpointCommand::Enable {
            endpoint,
            database,
            by,
        }) => serve::enable_endpoint(database.database(), &endpoint, by),
        Command::Test(args) => run_scenarios(&args),
        Command::Explain(args) => match (args.list, args.code) {
            (true, _) | (false, None) => {
                print_stdout(&explain::list());
                Ok(EXIT_CLEAN)
            }
            (false, Some(code)) => explain::page(&code).map(|page| {
                print_stdout(&page);
                EXIT_CLEAN
            }),
        },
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            print_usage_error(&error);
            ExitCode::from(EXIT_USAGE)
        }
    }
}

fn run_check(args: &CheckArgs) -> Result<u8, UsageError> {
    let cwd = std::env::current_dir()
        .map_err(|e| UsageError::new(format!("cannot read the current folder: {e}")))?;
    let report = check::run(args, &cwd)?;
    let output = match args.format {
        Format::Human => {
            render::human::render(&report, &human_style(std::io::stdout().is_terminal()))
        }
        Format::Json => render::json::render(&report),
        Format::Github => render::github::render(&report),
        Format::Sarif => render::sarif::render(&report),
    };
    print_stdout(&output);
    Ok(if report.fails(args.deny_warnings) {
        EXIT_PROBLEMS
    } else {
        EXIT_CLEAN
    })
}

fn current_folder() -> Result<PathBuf, UsageError> {
    std::env::current_dir()
        .map_err(|e| UsageError::new(format!("cannot read the current folder: {e}")))
}

/// Prints the diagnostics of a build to standard error, when there are any.
fn print_build_diagnostics(report: &report::Report) {
    if !report.diagnostics.is_empty() {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(
            render::human::render(report, &human_style(std::io::stderr().is_terminal())).as_bytes(),
        );
    }
}

fn run_fmt(args: &FmtArgs) -> Result<u8, UsageError> {
    if args.paths.iter().any(|p| p == std::path::Path::new("-")) {
        if args.paths.len() > 1 || args.check {
            return Err(UsageError::new(
                "`-` (standard input) is formatted on its own, without --check or other paths",
            ));
        }
        return format::stdin();
    }
    let mode = if args.check {
        format::Mode::Check
    } else {
        format::Mode::Write
    };
    format::files(
        &args.paths,
        args.config.as_deref(),
        &current_folder()?,
        mode,
    )
}

fn run_compile(args: &CompileArgs) -> Result<u8, UsageError> {
    let built = compile::build(&args.paths, args.config.as_deref(), &current_folder()?)?;
    print_build_diagnostics(&built.report);
    let plan = match built.plan {
        Some(plan) if !built.report.fails(args.deny_warnings) => plan,
        _ => {
            eprintln!("error: no plan written: fix the problems above first");
            return Ok(EXIT_PROBLEMS);
        }
    };
    compile::write_output(&args.output, &plan.to_json())?;
    if args.output != std::path::Path::new("-") {
        let steps: usize = plan.templates.iter().map(|t| t.steps.len()).sum();
        eprintln!(
            "wrote {} ({} templates, {steps} steps, {})",
            args.output.display(),
            plan.templates.len(),
            plan.hash
        );
    }
    Ok(EXIT_CLEAN)
}

fn run_scenarios(args: &TestArgs) -> Result<u8, UsageError> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let (runs, summary) =
        procc_scenario::run_paths(&paths).map_err(|e| UsageError::new(e.to_string()))?;
    let style = human_style(std::io::stdout().is_terminal());
    for run in runs {
        let diagnostics: Vec<procc_diagnostics::Diagnostic> =
            run.diagnostics().into_iter().cloned().collect();
        if diagnostics.is_empty() {
            continue;
        }
        let report = report::Report::new(run.project.sources, diagnostics, run.reports.len());
        print_stdout(&render::human::render_diagnostics(&report, &style));
    }
    print_stdout(&format!("{summary}\n"));
    Ok(if summary.ok() {
        EXIT_CLEAN
    } else {
        EXIT_PROBLEMS
    })
}

fn run_runtime(args: &RunArgs) -> Result<u8, UsageError> {
    let plan = match plan_for(args.plan.as_deref(), &args.paths, args.config.as_deref())? {
        Ok(plan) => plan,
        Err(code) => return Ok(code),
    };
    let (_, delivery) = delivery_for(&args.paths, args.config.as_deref())?;
    let db = args.database.database();
    run::run(&plan, db, args.effects.as_deref(), delivery)
}

/// The project file of the sources (if any) and its delivery settings.
fn delivery_for(
    paths: &[PathBuf],
    config: Option<&std::path::Path>,
) -> Result<(Option<PathBuf>, procc_delivery::DeliveryConfig), UsageError> {
    let cwd = current_folder()?;
    let start = paths
        .first()
        .map_or_else(|| cwd.clone(), |p| project::absolute(p, &cwd));
    let project_file = match config {
        Some(c) => Some(project::locate_project_file(Some(c), &start, &cwd)?),
        None => project::find_project_file(&start),
    };
    let delivery = run::delivery_config(project_file.as_deref(), &cwd)?;
    Ok((project_file, delivery))
}

fn verify_webhook(args: &VerifyArgs) -> Result<u8, UsageError> {
    let secret = std::env::var(&args.secret_env)
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            UsageError::new(format!(
                "the environment variable `{}` is not set",
                args.secret_env
            ))
        })?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let max_age = (args.max_age > 0).then_some(args.max_age);
    match procc_delivery::marketplace::verify_url(&args.url, secret.trim().as_bytes(), now, max_age)
    {
        Ok(verified) => {
            let mut out = format!("valid: signed at {}\n", verified.timestamp);
            for (name, value) in &verified.params {
                out.push_str(&format!("  {name} = {value}\n"));
            }
            print_stdout(&out);
            Ok(EXIT_CLEAN)
        }
        Err(e) => {
            print_stdout(&format!("invalid: {e}\n"));
            Ok(EXIT_PROBLEMS)
        }
    }
}

fn run_serve(args: &ServeArgs) -> Result<u8, UsageError> {
    let plan = match plan_for(args.plan.as_deref(), &args.paths, args.config.as_deref())? {
        Ok(plan) => plan,
        Err(code) => return Ok(code),
    };
    let (project_file, delivery) = delivery_for(&args.paths, args.config.as_deref())?;
    let mut seed = args.seed.clone();
    let mut token_for = args.token_for.clone();
    if args.demo {
        let demo = project_file.map(|p| p.with_file_name("demo-records.json"));
        if seed.is_none() && demo.as_ref().is_some_and(|d| d.is_file()) {
            seed = demo;
        }
        if token_for.is_none() {
            let users = &plan.catalog.users;
            token_for = users
                .iter()
                .find(|u| u.rights.contains(&procc_plan::Right::SeeOthers))
                .or(users.first())
                .map(|u| u.id.clone());
        }
    }
    serve::serve(
        &plan,
        serve::ServeOptions {
            listen: args.listen,
            public_url: args.public_url.clone(),
            db: args.database.database(),
            effects: args.effects.as_deref(),
            seed,
            token_for,
            delivery,
        },
    )
}

/// The plan from `--plan`, or compiled from the sources; `Err` with the exit code when it has
/// problems (already printed).
fn plan_for(
    plan: Option<&std::path::Path>,
    paths: &[PathBuf],
    config: Option<&std::path::Path>,
) -> Result<Result<procc_plan::Plan, u8>, UsageError> {
    let cwd = current_folder()?;
    Ok(match plan {
        Some(path) => match compile::load_plan(path, &cwd)? {
            Ok(plan) => Ok(plan),
            Err(report) => {
                print_build_diagnostics(&report);
                Err(EXIT_PROBLEMS)
            }
        },
        None => {
            let built = compile::build(paths, config, &cwd)?;
            print_build_diagnostics(&built.report);
            match built.plan {
                Some(plan) => Ok(plan),
                None => {
                    eprintln!("error: fix the problems above first");
                    Err(EXIT_PROBLEMS)
                }
            }
        }
    })
}

fn run_graph(args: &GraphArgs) -> Result<u8, UsageError> {
    let plan = match plan_for(args.plan.as_deref(), &args.paths, args.config.as_deref())? {
        Ok(plan) => plan,
        Err(code) => return Ok(code),
    };
    if let Some(missing) = args
        .process
        .iter()
        .find(|name| plan.template(name).is_none())
    {
        let names: Vec<&str> = plan.templates.iter().map(|t| t.name.as_str()).collect();
        let mut error = UsageError::new(format!("the project has no process `{missing}`"));
        if let Some(suggestion) = procc_diagnostics::did_you_mean(missing, names.iter().copied()) {
            error = error.with_help(format!("did you mean `{suggestion}`?"));
        }
        return Err(error);
    }
    let format = match args.format {
        GraphFormat::Dot => procc_graph::Format::Dot,
        GraphFormat::Mermaid => procc_graph::Format::Mermaid,
    };
    compile::write_output(
        &args.output,
        &procc_graph::draw(&plan, &args.process, format),
    )?;
    Ok(EXIT_CLEAN)
}

/// Colour and width of human output, decided from the terminal and `NO_COLOR`.
pub(crate) fn human_style(tty: bool) -> render::human::Style {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let width = if tty {
        // A pseudo-terminal may report zero columns.
        terminal_size::terminal_size()
            .map(|(w, _)| usize::from(w.0))
            .filter(|&w| w >= 40)
            .unwrap_or(100)
    } else {
        100
    };
    render::human::Style {
        color: tty && !no_color,
        width,
    }
}

/// Writes to standard output; a closed pipe (`procc check | head`) is not an error.
pub(crate) fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

fn print_usage_error(error: &UsageError) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "error: {}", error.message);
    if let Some(help) = &error.help {
        let _ = writeln!(err, "help: {help}");
    }
}

/// Panics are bugs: say so, show the message and exit with code 3.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "error: internal error, please report: {message}{location}\n\
             note: procc {} hit a bug; the input was not necessarily wrong",
            env!("CARGO_PKG_VERSION")
        );
        std::process::exit(EXIT_INTERNAL);
    }));
}
