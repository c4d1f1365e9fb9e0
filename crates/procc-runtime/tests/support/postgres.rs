//! The PostgreSQL test database and a schema per test, for the test crates of procc-runtime,
//! procc-delivery and procc. They include this file with `#[path]`: a crate of its own for
//! these lines would be more than they are worth, and procc-runtime's own tests could not
//! depend on a crate that depends on procc-runtime.

/// The test database: the machine's PostgreSQL unless `PROCC_TEST_POSTGRES` names another.
pub fn postgres_url() -> String {
    std::env::var("PROCC_TEST_POSTGRES")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
}

/// A schema of its own for one test, dropped with everything in it when the test ends. (The
/// name is unique per process and per call; the schema itself is created by whoever uses it.)
pub struct Schema {
    pub name: String,
}

impl Schema {
    pub fn new() -> Schema {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("the clock is after 1970")
            .subsec_nanos();
        Schema {
            name: format!(
                "procc_test_{}_{}_{nanos}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::SeqCst)
            ),
        }
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&postgres_url(), postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}
