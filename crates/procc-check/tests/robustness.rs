//! Damaged input never makes the checker panic: every prefix of the examples, and lines cut,
//! doubled and swapped at random, go through parse and check.

mod common;

use procc_diagnostics::Sources;

fn examples() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("the examples directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "proc"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("an example"))
        .collect()
}

fn check_all(texts: &[String]) -> usize {
    let mut sources = Sources::new();
    let cat_id = sources.add("procc.toml", common::CATALOG.to_string());
    let (catalog, _) = procc_catalog::parse_catalog(cat_id, common::CATALOG);
    let trees: Vec<_> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let id = sources.add(format!("f{i}.proc"), t.clone());
            (id, procc_syntax::parse(id, t).0)
        })
        .collect();
    let refs: Vec<_> = trees.iter().map(|(id, t)| (*id, t)).collect();
    let first = procc_check::check(&sources, &refs, &catalog);
    let again = procc_check::check(&sources, &refs, &catalog);
    assert_eq!(first, again, "the output is deterministic");
    first.len()
}

#[test]
fn every_line_prefix_of_the_examples() {
    for text in examples() {
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        for n in 0..=lines.len() {
            check_all(&[lines[..n].concat()]);
        }
    }
}

#[test]
fn randomly_damaged_examples() {
    let texts = examples();
    let mut seed: u64 = 0x5eed;
    let mut next = move |m: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % m.max(1)
    };
    let mut total = 0;
    for _ in 0..400 {
        let mut lines: Vec<String> = texts
            .iter()
            .flat_map(|t| {
                t.split_inclusive('\n')
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        for _ in 0..1 + next(6) {
            let n = lines.len();
            match next(4) {
                0 => {
                    lines.remove(next(n));
                }
                1 => {
                    let l = lines[next(n)].clone();
                    lines.insert(next(n), l);
                }
                2 => lines.swap(next(n), next(n)),
                _ => {
                    let i = next(n);
                    let cut = next(lines[i].len() + 1);
                    let mut l = lines[i].clone();
                    while !l.is_char_boundary(cut.min(l.len())) {
                        l.pop();
                    }
                    l.truncate(cut.min(l.len()));
                    l.push('\n');
                    lines[i] = l;
                }
            }
        }
        total += check_all(&[lines.concat()]);
    }
    assert!(total > 0, "damage should produce diagnostics");
}
