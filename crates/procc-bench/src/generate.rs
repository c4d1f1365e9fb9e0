//! Generates realistic projects: processes of 50 steps mixing every common kind, 1,000 steps to
//! a file, checked against the demo tenant's catalog.

/// The catalog the generated templates are checked against: the demo tenant of `examples/`.
pub(crate) const CATALOG: &str = include_str!("../../../examples/procc.toml");

const STEPS_PER_PROCESS: usize = 50;
const STEPS_PER_FILE: usize = 1_000;

/// `steps` steps spread over files of at most 1,000 steps.
pub(crate) fn project(steps: usize) -> Vec<String> {
    let mut files = Vec::new();
    let mut written = 0;
    let mut process = 0;
    while written < steps {
        let mut text = String::new();
        let in_file = STEPS_PER_FILE.min(steps - written);
        let mut file_written = 0;
        while file_written < in_file {
            let count = STEPS_PER_PROCESS.min(in_file - file_written);
            write_process(&mut text, process, count);
            process += 1;
            file_written += count;
        }
        written += file_written;
        files.push(text);
    }
    files
}

fn write_process(out: &mut String, n: usize, steps: usize) {
    use std::fmt::Write as _;
    let _ = writeln!(
        out,
        "// Generated process number {n}.\nprocess generated_{n} \"Generated process {n}\" {{"
    );
    out.push_str("  active\n  needs property, address\n  controller user \"k.schmidt\"\n");
    out.push_str("  trigger property saved filter \"active-sales\" when changed(purchase_price, living_area)\n\n");
    // The last step is the end; the others cycle through a pattern of kinds. A decision jumps
    // to the step after next on yes and to the next on no, so every step stays reachable.
    for i in 0..steps.saturating_sub(1) {
        let name = format!("s{i}");
        match i % 10 {
            0 => {
                let _ = writeln!(
                    out,
                    "  step {name}: task \"Check the documents of the property, round {i}\" {{\n    start 1 day after previous\n    responsible supervisor of property\n    deadline 3 days -> email controller, 5 days -> reassign to user \"k.schmidt\"\n    description \"Look at the energy certificate, the floor plan and the land register.\"\n  }}"
                );
            }
            1 => {
                let _ = writeln!(
                    out,
                    "  step {name}: email template \"acquisition-intro\" automatic at 09:00 {{\n    responsible supervisor of address\n    allow skip\n  }}"
                );
            }
            2 if i + 2 < steps - 1 => {
                let _ = writeln!(
                    out,
                    "  step {name}: decision automatic when property.purchase_price > 250000 EUR and property.living_area >= 80 m² {{\n    yes -> s{}\n    no -> s{}\n  }}",
                    i + 2,
                    i + 1
                );
            }
            3 => {
                let _ = writeln!(
                    out,
                    "  step {name}: webhook sprengnetter(mode: \"full\") {{\n    responsible supervisor of property\n    deadline 2 days\n  }}"
                );
            }
            4 => {
                let _ = writeln!(
                    out,
                    "  step {name}: appointment \"Viewing with the buyer\" {{\n    start 4 hours after previous\n    type \"Viewing\"\n    allow skip\n  }}"
                );
            }
            5 => {
                let _ = writeln!(
                    out,
                    "  step {name}: write_values property.owner_notes = \"Reviewed in round {i}\""
                );
            }
            6 => {
                let _ = writeln!(out, "  step {name}: set_status property \"active\"");
            }
            7 => {
                let _ = writeln!(
                    out,
                    "  step {name}: resubmission \"Call the owner back\" {{\n    start 2 business days after previous on \"nrw\"\n    due 3 days\n  }}"
                );
            }
            8 => {
                let _ = writeln!(
                    out,
                    "  step {name}: activity_log kind \"phone\" type \"call\" {{\n    note \"Owner informed\"\n    tracked\n  }}"
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "  step {name}: portal_sync publish automatic {{\n    portals \"immoscout24\", \"immowelt\"\n  }}"
                );
            }
        }
    }
    let _ = writeln!(out, "  step s{}: end\n}}\n", steps.saturating_sub(1));
}
