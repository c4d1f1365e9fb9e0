//! Benchmarks of parse and check on generated projects of 100 to 100,000 steps.
//!
//! Run with `cargo run --release -p procc-bench`; `-- --sizes 100,1000` picks sizes and
//! `-- --runs 5` the number of runs (the best run is reported, as the least disturbed one).
//! The figures go into `docs/performance.md`.

mod generate;

use std::time::{Duration, Instant};

use procc_diagnostics::{FileId, Sources};

fn main() {
    let mut sizes = vec![100, 1_000, 10_000, 100_000];
    let mut runs = 5;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--sizes" => {
                sizes = args
                    .next()
                    .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
                    .unwrap_or_default();
            }
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(runs),
            other => {
                eprintln!("unknown argument `{other}`; use --sizes 100,1000 and --runs N");
                std::process::exit(2);
            }
        }
    }
    let catalog_text = generate::CATALOG;
    println!("parse + check, single thread, best of {runs} runs");
    println!(
        "{:>8} {:>6} {:>10} {:>10} {:>10} {:>10} {:>9}",
        "steps", "files", "bytes", "parse ms", "check ms", "total ms", "MB/s"
    );
    for steps in sizes {
        let files = generate::project(steps);
        let bytes: usize = files.iter().map(String::len).sum();
        let mut best: Option<(Duration, Duration)> = None;
        for _ in 0..runs {
            let (parse, check, problems) = run_once(catalog_text, &files);
            assert_eq!(problems, 0, "the generated project should check clean");
            if best.is_none_or(|(p, c)| parse + check < p + c) {
                best = Some((parse, check));
            }
        }
        let Some((parse, check)) = best else { continue };
        let total = parse + check;
        let mb_per_s = bytes as f64 / 1e6 / total.as_secs_f64();
        println!(
            "{steps:>8} {:>6} {bytes:>10} {:>10.2} {:>10.2} {:>10.2} {mb_per_s:>9.1}",
            files.len(),
            ms(parse),
            ms(check),
            ms(total)
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Parses and checks the project once; returns the two phases' times and the problem count.
fn run_once(catalog_text: &str, files: &[String]) -> (Duration, Duration, usize) {
    let mut sources = Sources::new();
    let catalog_id = sources.add("procc.toml", catalog_text);
    let (catalog, mut diagnostics) = procc_catalog::parse_catalog(catalog_id, catalog_text);
    let ids: Vec<FileId> = files
        .iter()
        .enumerate()
        .map(|(i, text)| sources.add(format!("gen{i}.proc"), text.as_str()))
        .collect();
    let start = Instant::now();
    let parsed: Vec<_> = ids
        .iter()
        .map(|&id| {
            let (file, problems) = procc_syntax::parse(id, sources.get(id).text());
            diagnostics.extend(problems);
            (id, file)
        })
        .collect();
    let parse = start.elapsed();
    let start = Instant::now();
    let refs: Vec<_> = parsed.iter().map(|(id, file)| (*id, file)).collect();
    diagnostics.extend(procc_check::check(&sources, &refs, &catalog));
    let check = start.elapsed();
    for d in diagnostics.iter().take(5) {
        eprintln!("{} {} at {:?}", d.code.id, d.message, d.primary_span());
    }
    (parse, check, diagnostics.len())
}
