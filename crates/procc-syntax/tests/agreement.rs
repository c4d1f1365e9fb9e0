//! The two sets of grammar rules (see `grammar/proc.pest`) read the same language: every file
//! parsed with the reading rules gives the same tree and the same diagnostics as with the
//! explaining rules. A change to the language made in one set only fails here.

use procc_diagnostics::FileId;
use procc_syntax::{MAX_NESTING, Rules, parse_with};

mod common;
use common::repo_files;

/// Asserts that both rule sets agree on `text`; `what` names the input in a failure.
fn assert_agree(text: &str, what: &str) {
    let reading = parse_with(FileId(0), text, Rules::Reading);
    let explaining = parse_with(FileId(0), text, Rules::Explaining);
    assert!(
        reading.0 == explaining.0,
        "the rule sets read different trees from {what}:\n{text}"
    );
    assert!(
        reading.1 == explaining.1,
        "the rule sets report different problems on {what}:\n{text}\nreading: {:#?}\nexplaining: {:#?}",
        reading.1,
        explaining.1
    );
}

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn both_rule_sets_agree_on_every_example_and_corpus_case() {
    let files: Vec<_> = repo_files("examples")
        .into_iter()
        .chain(repo_files("tests"))
        .collect();
    assert!(files.len() >= 60, "the corpus should be found");
    for path in files {
        // Some corpus cases are not UTF-8 on purpose; those never reach the grammar.
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        assert_agree(&text, &path.display().to_string());
    }
}

#[test]
fn both_rule_sets_agree_on_cut_and_damaged_files() {
    let mut rng = Lcg(7);
    for path in repo_files("examples")
        .into_iter()
        .chain(repo_files("tests"))
    {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let name = path.display().to_string();
        // Prefixes end in the middle of every kind of line.
        for cut in (0..text.len()).step_by(11) {
            if text.is_char_boundary(cut) {
                assert_agree(&text[..cut], &format!("a prefix of {name}"));
            }
        }
        for _ in 0..20 {
            let mut bytes = text.clone().into_bytes();
            if bytes.is_empty() {
                break;
            }
            let at = (rng.next() as usize) % bytes.len();
            const DAMAGE: &[u8] = b"{}()[]\"\n;:->=.,a1 /\tnw";
            bytes[at] = DAMAGE[(rng.next() as usize) % DAMAGE.len()];
            if let Ok(damaged) = String::from_utf8(bytes) {
                assert_agree(&damaged, &format!("a damaged copy of {name}"));
            }
        }
    }
}

#[test]
fn both_rule_sets_agree_where_the_reading_rules_look_ahead() {
    // Each line sits where a reading rule guards an alternative with its first character or
    // reads keywords at once: comments and odd spacing around them, words that start like
    // keywords or operators, operators at a line's end.
    let lines = [
        "yes -> a",
        "yes->a",
        "yes\t  -> a // why",
        "yes // -> a",
        "yes",
        "yes a",
        "no -> ",
        "nope -> a",
        "yesterday x",
        "steps 3",
        "step",
        "step a",
        "step a: task",
        "step a: task \"t\" when x > 1",
        "step a: end // the end",
        "step a: decision automatic when not property.rooms > -1 and - 2 < 3 or x in [1, 2] {",
        "deadline",
        "deadline 3 days",
        "deadline 3 days -> email controller, 5 days -> reassign to user \"k\" // later",
        "deadline 3 days ->",
        "deadline 3 days - > x",
        "deadlines 3 days",
        "process p",
        "processes x",
        "when x",
        "whenever x when y",
        "trigger date x when",
        "trigger x when a == b != c <= d >= e < f > g + h - i * j / k",
        "trigger x when a or",
        "trigger x when (a",
        "trigger x when a not b",
        "trigger x when a in",
        "trigger x when a.b(c: 1, d, \"e\",) == [1, 2,]",
        "note x(",
        "note x = ",
        "note x = 1 = 2",
        "note x == 1",
        "note x.y = \"z\", w",
        "note , x",
        "note x,",
        "note -",
        "note -3 days 2026-12-24 09:00 10% 120 m² 5 business days",
        "note [",
        "note [1,",
        "note \"\"\"\n  a\n  \"\"\" b",
        "note \"a\\n\" \"b",
        "note _x _",
        "note a (b)",
        "note a\t(b) c",
        "note a\r(b)",
        "note a =1",
        "note a= 1",
        "note a== 1",
        "note a .b",
        "note a.b c.d.e",
        "note a. b",
        "note when",
        "note whenx when",
        "note a, b(c), d = 1",
        "note a(b) = 1",
        "note \"\" \"\"\"\" \"\"\"x\"\"\" \"\"\"",
        "note \"a\" \"",
        "note \"a\\\"b\" c",
        "note \"a\\\\\" b",
        "note \"a\\nb\" \"c\\u{41}\"",
        "note \"a\\",
        "note \"a\\\nb\"",
        "note \"a\nb\"",
        "note \"a // b\" // c \"d\"",
        "note übergabe",
        "note 'x'",
        "note x => y",
        "  \t note x \r",
        "note x // c",
        "note x; note y",
        "{ x }",
        "}",
    ];
    for line in lines {
        for text in [
            format!("process p {{\n  {line}\n}}\n"),
            format!("process p {{\n  step s: task {{\n    {line}\n  }}\n}}\n"),
            format!("{line}\n"),
            format!("process p \"t\" {{ {line} }}"),
        ] {
            assert_agree(&text, &format!("the line `{line}`"));
        }
    }
}

#[test]
fn the_deepest_nesting_allowed_is_read_without_overflowing_the_stack() {
    // The scan refuses anything deeper than MAX_NESTING before pest sees it, so this is the
    // deepest input the recursive rules of either set ever get: the process's brace plus
    // MAX_NESTING - 1 levels inside it. It runs on a thread with a small stack (debug builds
    // use far more stack per rule than release builds) so that a deeper recursion than expected
    // fails here rather than in production.
    let depth = MAX_NESTING - 1;
    let parens = format!("{}1{}", "(".repeat(depth), ")".repeat(depth));
    let brackets = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    let calls = format!("{}1{}", "f(".repeat(depth), ")".repeat(depth));
    let blocks = format!(
        "{}step e: end{}",
        "step s: task {\n".repeat(depth),
        "\n}".repeat(depth)
    );
    let texts = [
        format!("process p {{\n  step d: decision automatic when {parens} {{\n  }}\n}}\n"),
        format!("process p {{\n  note {brackets}\n}}\n"),
        format!("process p {{\n  trigger x when {calls}\n}}\n"),
        format!("process p {{\n{blocks}\n}}\n"),
    ];
    let handle = std::thread::Builder::new()
        .stack_size(4 * 1024 * 1024)
        .spawn(move || {
            for text in &texts {
                for rules in [Rules::Reading, Rules::Explaining] {
                    let (_, diagnostics) = parse_with(FileId(0), text, rules);
                    assert!(
                        diagnostics.iter().all(|d| d.code.id != "P0005"),
                        "{MAX_NESTING} levels are allowed: {diagnostics:#?}"
                    );
                }
                assert_agree(text, "deeply nested input");
            }
            let too_deep = format!(
                "{}1{}",
                "(".repeat(MAX_NESTING + 1),
                ")".repeat(MAX_NESTING + 1)
            );
            let text = format!("process p {{\n  trigger x when {too_deep}\n}}\n");
            let (_, diagnostics) = parse_with(FileId(0), &text, Rules::Reading);
            assert_eq!(
                diagnostics.first().map(|d| d.code.id),
                Some("P0005"),
                "one level more is refused"
            );
        })
        .expect("a thread");
    handle
        .join()
        .expect("no stack overflow and no failed assertion");
}
