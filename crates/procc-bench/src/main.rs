//! Benchmarks of procc on generated projects of 100 to 100,000 steps: parse, check, compile
//! (check plus building and hashing the plan) and format.
//!
//! Run with `cargo run --release -p procc-bench`; `-- --sizes 100,1000` picks sizes and
//! `-- --runs 5` the number of runs (the best run is reported, as the least disturbed one).
//! Everything runs on one thread. The figures go into `docs/performance.md`.

mod generate;

/// The same allocator as the `procc` binary, so that the figures are the binary's.
#[global_allocator]
static ALLOCATOR: procc_alloc::Allocator = procc_alloc::Allocator;

use std::time::{Duration, Instant};

use procc_diagnostics::{FileId, Sources};

fn main() {
    procc_alloc::without_huge_pages();
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
    println!("single thread, best of {runs} runs; MB/s = input bytes / time");
    println!(
        "{:>8} {:>6} {:>10} | {:>9} {:>9} {:>11} | {:>11} {:>9} | {:>9} {:>9}",
        "steps",
        "files",
        "bytes",
        "parse ms",
        "check ms",
        "p+c MB/s",
        "compile ms",
        "MB/s",
        "fmt ms",
        "MB/s"
    );
    for steps in sizes {
        let files = generate::project(steps);
        let bytes: usize = files.iter().map(String::len).sum();
        let mut best = Timings::worst();
        for _ in 0..runs {
            best = best.min(&run_once(generate::CATALOG, &files));
        }
        let rate = |d: Duration| bytes as f64 / 1e6 / d.as_secs_f64();
        println!(
            "{steps:>8} {:>6} {bytes:>10} | {:>9.1} {:>9.1} {:>11.1} | {:>11.1} {:>9.1} | {:>9.1} {:>9.1}",
            files.len(),
            ms(best.parse),
            ms(best.check),
            rate(best.parse + best.check),
            ms(best.compile),
            rate(best.parse + best.compile),
            ms(best.format),
            rate(best.format),
        );
    }
}

/// The time of each phase in one run.
#[derive(Clone, Copy)]
struct Timings {
    parse: Duration,
    check: Duration,
    compile: Duration,
    format: Duration,
}

impl Timings {
    fn worst() -> Timings {
        Timings {
            parse: Duration::MAX,
            check: Duration::MAX,
            compile: Duration::MAX,
            format: Duration::MAX,
        }
    }

    /// The best time of each phase.
    fn min(&self, other: &Timings) -> Timings {
        Timings {
            parse: self.parse.min(other.parse),
            check: self.check.min(other.check),
            compile: self.compile.min(other.compile),
            format: self.format.min(other.format),
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs every phase once over the project; panics if the generated project is not clean.
fn run_once(catalog_text: &str, files: &[String]) -> Timings {
    let mut sources = Sources::new();
    let catalog_id = sources.add("procc.toml", catalog_text);
    let (catalog, catalog_diagnostics) = procc_catalog::parse_catalog(catalog_id, catalog_text);
    assert!(catalog_diagnostics.is_empty(), "{catalog_diagnostics:#?}");
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
            assert!(problems.is_empty(), "{problems:#?}");
            (id, file)
        })
        .collect();
    let parse = start.elapsed();
    let refs: Vec<_> = parsed.iter().map(|(id, file)| (*id, file)).collect();

    let start = Instant::now();
    let problems = procc_check::check(&sources, &refs, &catalog);
    let check = start.elapsed();
    assert!(problems.is_empty(), "{problems:#?}");

    let start = Instant::now();
    let compiled = procc_compile::compile(&sources, &refs, &catalog, Vec::new());
    let compile = start.elapsed();
    assert!(compiled.plan.is_some(), "{:#?}", compiled.diagnostics);

    let start = Instant::now();
    for (id, text) in ids.iter().zip(files) {
        let formatted = procc_fmt::format(*id, text);
        assert!(formatted.is_ok(), "the generated project formats");
    }
    let format = start.elapsed();

    Timings {
        parse,
        check,
        compile,
        format,
    }
}
