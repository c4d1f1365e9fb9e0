//! The memory store's indexes: random operations (some rolled back, some under savepoints;
//! among them leases of effects, effects marked delivered, closed work items and tasks marked
//! done, which the memory store changes in place)
//! on the memory store and on SQLite side by side; every query answers alike and the memory
//! store's indexes agree with a full scan after each transaction.

use chrono::{DateTime, Duration, Utc};
use procc_runtime::*;
use serde_json::json;

use crate::common::t0;

/// xorshift64*: a reproducible sequence without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn minute(&mut self) -> DateTime<Utc> {
        t0() + Duration::minutes(self.below(60) as i64)
    }
    fn maybe_minute(&mut self, percent: u64) -> Option<DateTime<Utc>> {
        if self.chance(percent) {
            Some(self.minute())
        } else {
            None
        }
    }
}

const USERS: [&str; 3] = ["j.becker", "k.schmidt", "m.weber"];
const INSTANCES: u64 = 6;

/// One random write (or claim); what it returned, as text, for comparison.
fn random_write(tx: &mut dyn Tx, rng: &mut Rng, fresh: u64) -> Result<String> {
    let instance = 1 + rng.below(INSTANCES);
    Ok(match rng.below(15) {
        14 => {
            tx.put_step(StepRow {
                instance,
                index: rng.below(4) as u32,
                name: format!("step{}", rng.below(4)),
                visit: 1 + rng.below(2) as u32,
                state: if rng.chance(50) {
                    StepState::Active
                } else {
                    StepState::Done
                },
                degraded: None,
                responsible: rng.chance(50).then(|| "anna".to_string()),
                activated_at: rng.maybe_minute(50),
                completed_at: None,
                rungs_fired: Vec::new(),
                answer: None,
                task: None,
                awaits_delivery: rng.chance(20),
            })?;
            String::new()
        }
        0 | 1 => {
            let id = 1 + rng.below(40);
            let lease_until = rng.maybe_minute(20);
            tx.insert_timer(TimerRow {
                id,
                kind: TimerKind::ActivateStep,
                due_at: rng.minute(),
                instance,
                step: rng.below(3) as u32,
                visit: 1,
                lease_owner: lease_until.map(|_| "w0".to_string()),
                lease_until,
            })?;
            String::new()
        }
        2 => {
            tx.delete_timer(1 + rng.below(40))?;
            String::new()
        }
        3 => {
            let step = rng.chance(50).then(|| rng.below(3) as u32);
            tx.delete_timers_of(instance, step)?;
            String::new()
        }
        4 => {
            let now = rng.minute();
            let claimed = tx.claim_due(
                now,
                "w1",
                now + Duration::minutes(5),
                1 + rng.below(6) as usize,
            )?;
            format!("{claimed:?}")
        }
        5 => {
            tx.put_work_item(WorkItemRow {
                id: 1 + rng.below(30),
                user: USERS[rng.below(3) as usize].into(),
                instance,
                step: rng.below(2) as procc_plan::StepIndex,
                visit: 1,
                created_at: t0(),
                done_at: rng.maybe_minute(40),
                warning: None,
            })?;
            String::new()
        }
        6 => {
            tx.put_artefact(ArtefactRow {
                id: 1 + rng.below(20),
                kind: ArtefactKind::Task,
                instance,
                step: 0,
                user: None,
                links: Links::default(),
                data: json!({}).into(),
                created_at: t0(),
                done: rng.chance(50),
            })?;
            String::new()
        }
        7 => {
            let added = tx.insert_outbox(OutboxRow {
                id: fresh,
                kind: EffectKind::Email,
                to: "anna@example.org".into(),
                payload: Payload::from(json!({"subject": "Exposé \"P1\"", "lines": [1, 2]})),
                idempotency_key: format!("key{}", rng.below(60)),
                created_at: t0(),
                not_before: rng.maybe_minute(50),
                delivered_at: None,
                attempts: 0,
                last_error: None,
                instance: rng.chance(80).then_some(instance),
                origin: rng.chance(50).then_some(EffectOrigin {
                    instance,
                    step: 1,
                    visit: 2,
                }),
                failed_at: None,
            })?;
            format!("{added}")
        }
        8 => {
            let outbox = tx.outbox()?;
            if !outbox.is_empty() {
                let mut row = outbox[rng.below(outbox.len() as u64) as usize].clone();
                row.not_before = rng.maybe_minute(60);
                row.delivered_at = rng.maybe_minute(30);
                row.failed_at = rng.maybe_minute(10);
                tx.update_outbox(row.clone())?;
                if rng.chance(50) {
                    tx.insert_attempt(AttemptRow {
                        id: fresh,
                        effect: row.id,
                        number: 1,
                        at: t0(),
                        status: None,
                        latency_ms: 0,
                        outcome: AttemptOutcome::Delivered,
                        error: None,
                        excerpt: None,
                        next_at: None,
                    })?;
                }
            }
            String::new()
        }
        12 => {
            let outbox = tx.outbox()?;
            if outbox.is_empty() {
                String::new()
            } else {
                let id = outbox[rng.below(outbox.len() as u64) as usize].id;
                let delivery = tx.mark_outbox_delivered(id, rng.minute())?;
                format!("{delivery:?}")
            }
        }
        11 => {
            let id = 1 + rng.below(20);
            tx.mark_artefact_done(id)?;
            let mut done = None;
            tx.with_artefact(id, &mut |a| done = a.map(|a| a.done))?;
            format!("{done:?}")
        }
        10 => {
            tx.close_work_items(
                instance,
                rng.below(2) as procc_plan::StepIndex,
                rng.minute(),
            )?;
            String::new()
        }
        9 => {
            let now = rng.minute();
            let leased = tx.lease_outbox(now, 1 + rng.below(3) as usize, rng.minute())?;
            format!("{leased:?}")
        }
        _ => {
            // Users as the API names them (owned texts) and the engine's constants (borrowed):
            // the memory store numbers each name once.
            let who = match rng.below(1 + USERS.len() as u64) as usize {
                0 => "system".into(),
                n => USERS[n - 1].to_string().into(),
            };
            let event = ["random", "started", "step_done"][rng.below(3) as usize];
            tx.insert_audit(AuditRow {
                id: fresh,
                at: rng.minute(),
                instance: rng.chance(70).then_some(instance),
                step: rng.chance(50).then_some(1),
                who,
                event: event.into(),
                detail: if rng.chance(50) {
                    format!("detail {fresh}")
                } else {
                    String::new()
                },
            })?;
            String::new()
        }
    })
}

/// Everything the indexed queries answer, as text.
fn queries(tx: &mut dyn Tx, now: DateTime<Utc>) -> Result<String> {
    let mut out = format!(
        "next_due {:?}\nnext_outbox_due {:?}\npending {:?}\nopen {:?}\n",
        tx.next_due()?,
        tx.next_outbox_due(now)?,
        tx.pending_outbox(now, 4)?,
        tx.open_work_items(None)?,
    );
    for user in USERS {
        out += &format!("open of {user} {:?}\n", tx.open_work_items(Some(user))?);
    }
    for i in 1..=INSTANCES {
        out += &format!(
            "instance {i}: steps {:?} {:?} {:?}\ntimers {:?}\nwork {:?}\nartefacts {:?}\noutbox {:?}\naudit {:?}\n",
            tx.steps(i)?,
            tx.step(i, 1)?,
            tx.has_active_step(i)?,
            tx.timers_of(i)?,
            tx.work_items_of(i)?,
            tx.artefacts_of(i)?,
            tx.outbox_of(i)?,
            tx.audit(Some(i))?,
        );
    }
    for effect in tx.outbox()? {
        out += &format!("attempts {} {:?}\n", effect.id, tx.attempts(effect.id)?);
    }
    out += &format!("audit {:?}\n", tx.audit(None)?);
    Ok(out)
}

/// Runs one random transaction on a store: the writes' results, or the error it ended with.
fn random_transaction<S: Store>(store: &S, seed: u64, fresh: &mut u64) -> String {
    let start = *fresh;
    // At most 6 writes take a fresh id each; the next transaction starts after them.
    *fresh += 10;
    store
        .transaction(&mut |tx| {
            let mut rng = Rng(seed);
            let mut fresh = start;
            let mut log = String::new();
            for _ in 0..1 + rng.below(6) {
                fresh += 1;
                if rng.chance(20) {
                    // A write under a savepoint, kept or undone.
                    tx.savepoint()?;
                    log += &random_write(tx, &mut rng, fresh)?;
                    if rng.chance(50) {
                        tx.rollback_to_savepoint()?;
                    } else {
                        tx.release_savepoint()?;
                    }
                } else {
                    log += &random_write(tx, &mut rng, fresh)?;
                }
                log.push('\n');
            }
            if rng.chance(15) {
                return Err(Error::InvalidInput("rolled back".into()));
            }
            Ok(log)
        })
        .unwrap_or_else(|e| format!("failed: {e}"))
}

#[test]
fn memory_indexes_agree_with_a_full_scan_and_with_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("indexes.db")).unwrap();
    let memory = MemoryStore::new();
    let mut seeds = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut fresh_m, mut fresh_s) = (0, 0);
    for round in 0..600 {
        let seed = seeds.next();
        let m = random_transaction(&memory, seed, &mut fresh_m);
        let s = random_transaction(&sqlite, seed, &mut fresh_s);
        assert_eq!(m, s, "round {round}: the writes answer alike");
        memory
            .check_indexes()
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let now = t0() + Duration::minutes(seeds.below(60) as i64);
        let qm = memory.transaction(&mut |tx| queries(tx, now)).unwrap();
        let qs = sqlite.transaction(&mut |tx| queries(tx, now)).unwrap();
        assert_eq!(qm, qs, "round {round}: the queries answer alike");
    }
}
