//! End-to-end tests of `procc fmt`, `procc compile` and `procc graph` on small projects in
//! temporary folders.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use procc_diagnostics::FileId;
use tempfile::TempDir;

const PROJECT: &str = "[tenant]\nid = \"musterimmo\"\nname = \"Muster Immobilien GmbH\"\n";

const CLEAN: &str = "process hello \"Hello\" {\n  step call: task \"Call the customer\" {\n    start 1 day after previous\n    deadline 3 days\n  }\n  step done: end\n}\n";

/// Valid but not in canonical form: odd indentation, a semicolon, explicit `manual`.
const MESSY: &str = "process   hello \"Hello\" {\n      step call: task \"Call the customer\" { deadline 3 days; start 1 day after previous }\n\n\n  step done: end   // finished\n}\n";

const BROKEN: &str =
    "process broken \"Broken\" {\n  step call task \"Call\"\n  step done: end\n}\n";

fn project(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    std::fs::write(dir.path().join("procc.toml"), PROJECT).expect("writable");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("writable");
    }
    dir
}

fn procc(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_procc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("procc runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn fmt_check_prints_a_diff_and_changes_nothing() {
    let dir = project(&[("a.proc", MESSY)]);
    let out = procc(dir.path(), &["fmt", "--check", "a.proc"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let diff = text(&out.stdout);
    assert!(
        diff.contains("--- a.proc") && diff.contains("+++ a.proc (formatted)"),
        "{diff}"
    );
    assert!(
        diff.contains("+  step call: task \"Call the customer\" {"),
        "{diff}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.proc")).expect("readable"),
        MESSY
    );
}

#[test]
fn fmt_writes_the_canonical_form_once_and_keeps_comments() {
    let dir = project(&[("a.proc", MESSY)]);
    let out = procc(dir.path(), &["fmt"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let formatted = std::fs::read_to_string(dir.path().join("a.proc")).expect("readable");
    assert_eq!(
        formatted,
        "process hello \"Hello\" {\n  step call: task \"Call the customer\" {\n    start 1 day after previous\n    deadline 3 days\n  }\n\n  step done: end // finished\n}\n"
    );
    let again = procc(dir.path(), &["fmt", "--check"]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "formatting is idempotent: {}",
        text(&again.stdout)
    );
}

#[test]
fn fmt_leaves_a_file_with_syntax_errors_alone() {
    let dir = project(&[("b.proc", BROKEN)]);
    let out = procc(dir.path(), &["fmt", "b.proc"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("[P0001]"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("b.proc")).expect("readable"),
        BROKEN
    );
}

#[test]
fn fmt_formats_standard_input_to_standard_output() {
    let dir = project(&[]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_procc"))
        .args(["fmt", "-"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("procc runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(MESSY.as_bytes())
        .expect("writable stdin");
    let out = child.wait_with_output().expect("procc ends");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("process hello \"Hello\" {\n  step call:"));
}

#[test]
fn compile_writes_a_plan_that_loads_and_is_the_same_every_time() {
    let dir = project(&[("hello.proc", CLEAN)]);
    let out = procc(dir.path(), &["compile", "-o", "plan.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("wrote plan.json (1 templates, 2 steps, sha256:"));
    let first = std::fs::read_to_string(dir.path().join("plan.json")).expect("the plan is written");
    let plan = procc_plan::load(FileId(0), &first).expect("the plan loads");
    assert_eq!(plan.templates[0].name, "hello");
    assert_eq!(plan.templates[0].steps[0].source.file, "hello.proc");
    let again = procc(dir.path(), &["compile", "-o", "-"]);
    assert_eq!(
        text(&again.stdout),
        first,
        "the same sources give the same bytes"
    );
}

#[test]
fn compile_refuses_to_write_a_plan_when_check_finds_errors() {
    let dir = project(&[("b.proc", BROKEN)]);
    let out = procc(dir.path(), &["compile", "-o", "plan.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no plan written"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("plan.json").exists());
}

#[test]
fn graph_draws_dot_and_mermaid_and_names_unknown_processes() {
    let dir = project(&[("hello.proc", CLEAN)]);
    let dot = procc(dir.path(), &["graph"]);
    assert_eq!(dot.status.code(), Some(0), "{}", text(&dot.stderr));
    assert!(text(&dot.stdout).starts_with("digraph procc {"));
    assert!(text(&dot.stdout).contains("1 day after · deadline 3 days"));
    let mermaid = procc(
        dir.path(),
        &["graph", "--format", "mermaid", "--process", "hello"],
    );
    assert!(text(&mermaid.stdout).starts_with("flowchart TD\n"));
    let unknown = procc(dir.path(), &["graph", "--process", "helo"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown.stderr).contains("did you mean `hello`?"),
        "{}",
        text(&unknown.stderr)
    );
}

#[test]
fn graph_draws_a_compiled_plan_and_refuses_a_tampered_one() {
    let dir = project(&[("hello.proc", CLEAN)]);
    assert_eq!(
        procc(dir.path(), &["compile", "-o", "plan.json"])
            .status
            .code(),
        Some(0)
    );
    let drawn = procc(dir.path(), &["graph", "--plan", "plan.json"]);
    assert_eq!(drawn.status.code(), Some(0), "{}", text(&drawn.stderr));
    assert!(text(&drawn.stdout).starts_with("digraph procc {"));

    let plan = std::fs::read_to_string(dir.path().join("plan.json")).expect("readable");
    let tampered = plan.replacen("\"amount\": 3", "\"amount\": 30", 1);
    assert_ne!(tampered, plan);
    std::fs::write(dir.path().join("tampered.json"), tampered).expect("writable");
    let refused = procc(dir.path(), &["graph", "--plan", "tampered.json"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("[P4003]"),
        "{}",
        text(&refused.stderr)
    );

    let cut = &plan[..plan.len() / 2];
    std::fs::write(dir.path().join("cut.json"), cut).expect("writable");
    let refused = procc(dir.path(), &["graph", "--plan", "cut.json"]);
    assert!(
        text(&refused.stderr).contains("[P4001]") && text(&refused.stderr).contains("cut short"),
        "{}",
        text(&refused.stderr)
    );
}

#[cfg(unix)]
#[test]
fn run_deploys_the_plan_stops_on_sigterm_and_starts_again_on_the_same_database() {
    use std::io::{BufRead, BufReader};

    let dir = project(&[("hello.proc", CLEAN)]);
    for round in 0..2 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_procc"))
            .args(["run", "--db", "state.db"])
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("procc runs");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        stderr.read_line(&mut line).expect("a first line");
        assert!(
            line.starts_with("procc run: deployed sha256:"),
            "round {round}: {line}"
        );
        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        let status = child.wait().expect("procc ends");
        assert_eq!(status.code(), Some(0), "round {round}: a graceful stop");
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut rest).expect("the rest of stderr");
        assert!(rest.contains("stopped"), "round {round}: {rest}");
    }
    assert!(dir.path().join("state.db").exists());
    assert!(
        dir.path().join("state.db.secret").exists(),
        "the decision secret is kept for the next run"
    );
}

#[test]
fn run_refuses_a_project_with_errors() {
    let dir = project(&[("b.proc", BROKEN)]);
    let out = procc(dir.path(), &["run", "--db", "state.db"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !dir.path().join("state.db").exists(),
        "nothing is created for a broken project"
    );
}

#[test]
fn test_runs_the_examples_scenarios_and_reports_failures_with_exit_1() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let examples = procc(&repo, &["test", "examples"]);
    assert_eq!(
        examples.status.code(),
        Some(0),
        "{}",
        text(&examples.stdout)
    );
    let last = text(&examples.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    assert!(
        last.ends_with(" passed, 0 failed") && !last.starts_with("0 "),
        "{last}"
    );

    let corpus = procc(&repo, &["test", "tests/run"]);
    assert_eq!(
        corpus.status.code(),
        Some(1),
        "tests/run holds failing scenarios on purpose"
    );
    assert!(text(&corpus.stdout).contains("[P6003]"));

    let missing = procc(&repo, &["test", "no/such/folder"]);
    assert_eq!(missing.status.code(), Some(2));
}

/// A plain HTTP/1.0 request on loopback: status line and body.
fn http(address: &str, request: &str) -> (String, String) {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(address).expect("the server accepts");
    stream.write_all(request.as_bytes()).expect("sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("an answer");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (
        head.lines().next().unwrap_or_default().to_string(),
        body.to_string(),
    )
}

#[cfg(unix)]
#[test]
fn serve_brings_up_the_examples_with_a_demo_token_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};

    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut child = Command::new(env!("CARGO_BIN_EXE_procc"))
        .arg("serve")
        .arg(repo.join("examples"))
        .args(["--demo", "--listen", "127.0.0.1:0", "--db", "state.db"])
        .args(["--effects", "effects.jsonl"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("procc serves");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut head = String::new();
    while !head.contains("Ctrl-C stops") {
        let mut line = String::new();
        if stderr.read_line(&mut line).expect("a line") == 0 {
            break;
        }
        head.push_str(&line);
    }
    assert!(head.contains("imported 6 records"), "{head}");
    let address = head
        .split("dashboard at http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("the dashboard's address")
        .to_string();
    let token = head
        .split("API token of k.schmidt: ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .expect("a demo token")
        .to_string();

    let (status, body) = http(&address, "GET /health HTTP/1.0\r\n\r\n");
    assert!(status.contains("200"), "{status}");
    assert!(body.contains("\"status\":\"ok\""));
    let (status, body) = http(
        &address,
        &format!(
            "GET /api/v1/records/property/P1 HTTP/1.0\r\nAuthorization: Bearer {token}\r\n\r\n"
        ),
    );
    assert!(status.contains("200"), "{status} {body}");
    assert!(body.contains("\"purchase_price\":485000"), "{body}");
    let (status, _) = http(&address, "GET /api/v1/me HTTP/1.0\r\n\r\n");
    assert!(status.contains("401"), "{status}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = child.wait().expect("procc ends");
    assert_eq!(status.code(), Some(0), "a graceful stop");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("the rest of stderr");
    assert!(rest.contains("stopped"), "{rest}");

    // Tokens for the deployed catalog's users, made and revoked from the command line.
    let made = procc(
        dir.path(),
        &["token", "create", "m.weber", "--db", "state.db"],
    );
    assert_eq!(made.status.code(), Some(0), "{}", text(&made.stderr));
    let token = text(&made.stdout).trim().to_string();
    assert!(token.starts_with("procc_"), "{token}");
    let revoked = procc(dir.path(), &["token", "revoke", &token, "--db", "state.db"]);
    assert_eq!(revoked.status.code(), Some(0));
    let again = procc(dir.path(), &["token", "revoke", &token, "--db", "state.db"]);
    assert_eq!(again.status.code(), Some(2));
    let nobody = procc(
        dir.path(),
        &["token", "create", "nobody", "--db", "state.db"],
    );
    assert_eq!(nobody.status.code(), Some(2));
    assert!(
        text(&nobody.stderr).contains("no user `nobody`"),
        "{}",
        text(&nobody.stderr)
    );
}

#[test]
fn webhook_verify_accepts_a_signed_call_and_refuses_a_changed_one() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let url = procc_delivery::marketplace::sign_url(
        "https://provider.example/hook",
        &[("userId".to_string(), "k.schmidt".to_string())],
        now,
        b"provider-secret",
    )
    .expect("signed");
    let verify = |url: &str, secret: &str| {
        Command::new(env!("CARGO_BIN_EXE_procc"))
            .args(["webhook", "verify", url, "--secret-env", "PROVIDER_SECRET"])
            .current_dir(dir.path())
            .env("PROVIDER_SECRET", secret)
            .output()
            .expect("procc runs")
    };
    let ok = verify(&url, "provider-secret");
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stdout));
    assert!(text(&ok.stdout).contains("userId = k.schmidt"));
    let changed = verify(&url.replace("k.schmidt", "j.becker"), "provider-secret");
    assert_eq!(changed.status.code(), Some(1));
    assert!(text(&changed.stdout).starts_with("invalid: the signature does not match"));
    let wrong = verify(&url, "another-secret");
    assert_eq!(wrong.status.code(), Some(1));
    assert!(!text(&wrong.stdout).contains("another-secret"));
    let missing = procc(
        dir.path(),
        &[
            "webhook",
            "verify",
            &url,
            "--secret-env",
            "NOT_SET_ANYWHERE",
        ],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("`NOT_SET_ANYWHERE` is not set"));
}

#[test]
fn run_refuses_delivery_settings_it_does_not_know() {
    let dir = project(&[("hello.proc", CLEAN)]);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("procc.toml"))
        .expect("writable");
    writeln!(
        file,
        "[smtp]\nhots = \"mail.example\"\nfrom = \"a@example.de\""
    )
    .expect("writable");
    // The check of the project reports it (P5002) before anything runs.
    let out = procc(dir.path(), &["run", "--db", "state.db"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("[P5002] unknown key `hots` in `[smtp]`"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("state.db").exists());
    // A compiled plan skips the check: the delivery settings are refused when read.
    let plan = project(&[("hello.proc", CLEAN)]);
    assert_eq!(
        procc(plan.path(), &["compile", "-o", "plan.json"])
            .status
            .code(),
        Some(0)
    );
    std::fs::copy(plan.path().join("plan.json"), dir.path().join("plan.json")).expect("copied");
    let out = procc(
        dir.path(),
        &["run", "--plan", "plan.json", "--db", "state.db"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown field `hots`"),
        "{}",
        text(&out.stderr)
    );
}

/// The engine refuses a bad endpoint, so the command line gets the API's refusal: a clear
/// message and exit code 2, with nothing written.
#[test]
fn endpoint_enable_refuses_an_endpoint_with_a_control_character_not_a_long_one() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let db = dir.path().join("state.db");
    drop(procc_runtime::SqliteStore::open(&db).expect("an empty database"));
    let long = format!("https://hooks.example.org/{}", "h".repeat(200));
    for (endpoint, message) in [
        // A URL may be long: a long endpoint passes the check and is answered as not disabled.
        (long.as_str(), "is not disabled"),
        (
            "https://hooks.example.org/\nvaluation",
            "the endpoint holds a control character",
        ),
    ] {
        let out = procc(
            dir.path(),
            &[
                "endpoint", "enable", endpoint, "--db", "state.db", "--by", "ops",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains(message), "{}", text(&out.stderr));
    }
    let engine = procc_runtime::Engine::new(
        procc_runtime::SqliteStore::open(&db).expect("the database opens"),
        std::sync::Arc::new(procc_runtime::SystemClock),
        procc_runtime::EngineConfig::default(),
    );
    assert_eq!(engine.audit().expect("the audit reads"), vec![]);
}
