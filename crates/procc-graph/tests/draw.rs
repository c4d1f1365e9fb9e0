//! Drawing the example project: Graphviz accepts every DOT picture, and the Mermaid and DOT
//! texts say what the plan says.

use std::io::Write;
use std::process::{Command, Stdio};

use procc_diagnostics::FileId;
use procc_graph::{Format, draw};
use procc_plan::Plan;

fn example_plan() -> Plan {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/plans/examples.plan.json");
    let text = std::fs::read_to_string(path).expect("the golden plan of the examples exists");
    procc_plan::load(FileId(0), &text).expect("the golden plan loads")
}

/// Runs `dot -Tsvg` on `input`; `None` with the error text when Graphviz refuses it.
fn graphviz(input: &str) -> Result<String, String> {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run Graphviz's `dot` (install the graphviz package): {e}"))?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input.as_bytes())
        .map_err(|e| e.to_string())?;
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    if output.status.success() && output.stderr.is_empty() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn graphviz_accepts_the_picture_of_every_example() {
    let plan = example_plan();
    assert!(plan.templates.len() >= 6);
    for template in &plan.templates {
        let dot = draw(&plan, std::slice::from_ref(&template.name), Format::Dot);
        let svg = graphviz(&dot)
            .unwrap_or_else(|e| panic!("dot refused the graph of {}: {e}\n{dot}", template.name));
        assert!(svg.contains("<svg"), "no SVG for {}", template.name);
        for step in &template.steps {
            assert!(
                svg.contains(&step.name),
                "step {} of {} is not drawn",
                step.name,
                template.name
            );
        }
    }
    graphviz(&draw(&plan, &[], Format::Dot)).expect("dot accepts the whole project in one picture");
}

#[test]
fn decisions_have_labelled_yes_and_no_edges() {
    let plan = example_plan();
    let names = ["revaluation".to_string()];
    let dot = draw(&plan, &names, Format::Dot);
    assert!(dot.contains("shape=diamond"));
    assert!(dot.contains("[label=\"yes\"]") && dot.contains("[label=\"no\"]"));
    assert!(dot.contains("trigger: property saved"));
    assert!(dot.contains("deadline 3 days"), "timing is shown");
    let mermaid = draw(&plan, &names, Format::Mermaid);
    assert!(mermaid.starts_with("flowchart TD\n"));
    assert!(mermaid.contains("-->|yes|") && mermaid.contains("-->|no|"));
    assert!(
        mermaid.contains("(((\"done\")))"),
        "the end is a double circle"
    );
}

#[test]
fn follow_ups_link_to_the_process_they_start() {
    let plan = example_plan();
    let names = ["seller_acquisition".to_string()];
    let dot = draw(&plan, &names, Format::Dot);
    assert!(dot.contains("process revaluation"));
    assert!(dot.contains("[style=dashed, label=\"starts\"]"));
    let mermaid = draw(&plan, &names, Format::Mermaid);
    assert!(mermaid.contains("-.->|starts|"));
}

#[test]
fn quotes_in_labels_are_escaped() {
    let mut plan = example_plan();
    plan.templates[0].title = Some("A \"quoted\" <title>".into());
    let name = plan.templates[0].name.clone();
    let dot = draw(&plan, std::slice::from_ref(&name), Format::Dot);
    graphviz(&dot).expect("dot accepts escaped quotes");
    let mermaid = draw(&plan, std::slice::from_ref(&name), Format::Mermaid);
    assert!(mermaid.contains("#quot;quoted#quot; #lt;title#gt;"));
}
