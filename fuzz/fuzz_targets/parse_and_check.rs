//! Feeds arbitrary bytes through decode, parse, check against the demo catalog, and format:
//! none of it may panic, hang or overflow the stack, and formatting must keep the meaning.
#![no_main]

use libfuzzer_sys::fuzz_target;
use procc_diagnostics::Sources;
use procc_syntax::Decoded;

const CATALOG: &str = include_str!("../../examples/procc.toml");

fuzz_target!(|bytes: &[u8]| {
    let mut sources = Sources::new();
    let catalog_id = sources.add("procc.toml", CATALOG);
    let (catalog, _) = procc_catalog::parse_catalog(catalog_id, CATALOG);
    let file_id = sources.add("fuzz.proc", "");
    if let Decoded::Text(text) = procc_syntax::decode(file_id, bytes) {
        let (file, _) = procc_syntax::parse(file_id, text);
        let _ = procc_check::check(&sources, &[(file_id, &file)], &catalog);
        if let Ok(formatted) = procc_fmt::format(file_id, text) {
            let (again, _) = procc_syntax::parse(file_id, &formatted);
            assert!(procc_fmt::equivalent(&file, &again), "formatting changed the meaning");
        }
    }
});
