//! No input makes the parser panic, every span stays inside the text, and large files are fast.

use std::time::{Duration, Instant};

use procc_catalog::{Module, parse_catalog};
use procc_diagnostics::FileId;

const EXAMPLE: &str = include_str!("../../../examples/procc.toml");

/// Parses and checks that every label lies inside `text` on character boundaries.
fn parse_checked(text: &str) -> usize {
    let (_, diags) = parse_catalog(FileId(0), text);
    for d in &diags {
        for label in &d.labels {
            assert!(label.span.start <= label.span.end, "{d:?}");
            assert!(
                text.get(label.span.start()..label.span.end()).is_some(),
                "span out of text or inside a character: {d:?}"
            );
        }
        assert!(!d.message.is_empty());
    }
    diags.len()
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).expect("below n")
    }
}

#[test]
fn every_prefix_of_the_example_parses_without_panic() {
    let boundaries: Vec<usize> = (0..=EXAMPLE.len())
        .filter(|&i| EXAMPLE.is_char_boundary(i))
        .collect();
    for &end in &boundaries {
        parse_checked(&EXAMPLE[..end]);
    }
    // And every suffix starting at a line.
    for (start, _) in EXAMPLE.match_indices('\n') {
        parse_checked(&EXAMPLE[start..]);
    }
}

#[test]
fn random_garbage_never_panics() {
    const PIECES: &[&str] = &[
        "[",
        "]",
        "[[",
        "]]",
        "{",
        "}",
        "=",
        ",",
        ".",
        "\"",
        "'",
        "\"\"\"",
        "\n",
        " ",
        "#",
        "\\",
        "\\u",
        "0x",
        "1",
        "-",
        "+",
        "e",
        "2026-02-30",
        "2026-01-01T",
        "true",
        "nan",
        "inf",
        "users",
        "id",
        "tenant",
        "groups",
        "services",
        "webhook",
        "modules",
        "fields",
        "enum",
        "values",
        "ä",
        "€",
        "\u{0}",
        "\r",
        "\t",
        "\u{feff}",
        "calendars",
        "holidays",
        "secret",
        "files",
        "=[",
        "{a=",
        "x",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let n = rng.below(60);
        let text: String = (0..n).map(|_| PIECES[rng.below(PIECES.len())]).collect();
        parse_checked(&text);
    }
}

#[test]
fn mutations_of_the_example_never_panic() {
    const INSERTS: &[&str] = &[
        "[", "]", "\"", "=", "\n", "{", "}", ",", "[[x]]\n", "1", "'", "#", ".", "ä",
    ];
    let mut rng = Rng(42);
    let bytes = EXAMPLE.as_bytes();
    for _ in 0..400 {
        let mut text = String::from(EXAMPLE);
        for _ in 0..1 + rng.below(4) {
            let mut at = rng.below(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            match rng.below(3) {
                0 => text.insert_str(at, INSERTS[rng.below(INSERTS.len())]),
                1 => {
                    let mut end = (at + 1 + rng.below(8)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    text.replace_range(at..end, "");
                }
                _ => {
                    // Duplicate a line from elsewhere.
                    let from = rng.below(bytes.len());
                    let line = EXAMPLE[..]
                        .lines()
                        .nth(EXAMPLE[..from].matches('\n').count())
                        .unwrap_or("");
                    text.insert_str(at, &format!("\n{line}\n"));
                }
            }
        }
        parse_checked(&text);
    }
}

#[test]
fn deep_nesting_and_huge_values_do_not_overflow() {
    parse_checked(&format!("a = {}", "[".repeat(100_000)));
    parse_checked(&format!("a = {}", "{a=".repeat(50_000)));
    parse_checked(&"[a.".repeat(20_000));
    parse_checked(&format!(
        "[tenant]\nid = \"{}\"\nname = \"x\"\n",
        "a".repeat(1_000_000)
    ));
    parse_checked(&format!(
        "[tenant]\nid = {}\nname = \"x\"\n",
        "9".repeat(1000)
    ));
    parse_checked("[tenant]\nid = 0x7FFFFFFFFFFFFFFFFFFF\nname = 1e999\n");
}

/// About 1 MB: many users, fields and templates.
fn big_file() -> String {
    let mut text = String::from(
        "[tenant]\nid = \"big\"\nname = \"Big\"\n\n[[groups]]\nid = \"sales\"\nname = \"Sales\"\n\n",
    );
    let mut i = 0;
    while text.len() < 1_000_000 {
        text.push_str(&format!(
            "[[users]]\nid = \"user.{i}\"\nname = \"User {i}\"\nemail = \"user.{i}@example.com\"\nmobile = \"+49 171 {i:07}\"\ngroups = [\"sales\"]\nrights = [\"start\", \"skip\"]\n\n[[templates.email]]\nid = \"mail-{i}\"\nsubject = \"Subject {i}\"\n\n"
        ));
        i += 1;
    }
    text
}

#[test]
fn a_megabyte_parses_quickly() {
    let text = big_file();
    let started = Instant::now();
    let (catalog, diags) = parse_catalog(FileId(0), &text);
    let took = started.elapsed();
    assert!(diags.is_empty(), "{:?}", diags.first());
    let n = catalog.users().len();
    assert!(n > 4000);
    assert!(catalog.user(&format!("user.{}", n - 1)).is_some());
    assert!(catalog.email_template("mail-17").is_some());
    assert_eq!(catalog.group_members("sales").count(), n);
    assert!(catalog.field(Module::Address, "id").is_some());
    // Generous for unoptimized test builds; a release build takes a fraction of this.
    assert!(took < Duration::from_secs(5), "took {took:?}");
    eprintln!("parsed {} bytes in {took:?}", text.len());
}

#[test]
fn a_megabyte_of_syntax_errors_is_still_quick() {
    let text = "= = [\n{a=\n\"x\n".repeat(70_000);
    let started = Instant::now();
    let n = parse_checked(&text);
    let took = started.elapsed();
    assert!(n > 10_000);
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn a_megabyte_of_errors_is_still_quick() {
    let text = big_file()
        .replace("@example.com", "")
        .replace("\"sales\"]", "\"nope\"]");
    let started = Instant::now();
    let (_, diags) = parse_catalog(FileId(0), &text);
    let took = started.elapsed();
    assert!(diags.len() > 8000);
    assert!(took < Duration::from_secs(10), "took {took:?}");
}
