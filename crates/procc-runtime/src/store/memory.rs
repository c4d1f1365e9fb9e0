//! The in-memory store: same semantics as SQLite, nothing on disk. Writes go straight into the
//! maps and leave an undo entry; a failed transaction replays the undo log.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use procc_plan::{Module, StepIndex};

use super::{Store, Tx};
use crate::model::*;
use crate::{Error, Result};

#[derive(Default)]
struct State {
    sequences: BTreeMap<String, u64>,
    plans: BTreeMap<String, PlanRow>,
    instances: BTreeMap<InstanceId, InstanceRow>,
    steps: BTreeMap<(InstanceId, StepIndex), StepRow>,
    timers: BTreeMap<u64, TimerRow>,
    work_items: BTreeMap<u64, WorkItemRow>,
    records: BTreeMap<(Module, String), RecordRow>,
    artefacts: BTreeMap<u64, ArtefactRow>,
    outbox: BTreeMap<u64, OutboxRow>,
    outbox_keys: BTreeMap<String, u64>,
    attempts: BTreeMap<u64, AttemptRow>,
    audit: Vec<AuditRow>,
    keys: BTreeMap<String, String>,
    counters: BTreeMap<String, u64>,
}

type Undo = Box<dyn FnOnce(&mut State) + Send>;

/// A store in memory, for fast simulation and tests.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl Store for MemoryStore {
    fn transaction<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| Error::Store("memory store poisoned".into()))?;
        let mut tx = MemTx {
            state: &mut state,
            undo: Vec::new(),
        };
        let result = f(&mut tx);
        if result.is_err() {
            let MemTx { state, undo } = tx;
            for step in undo.into_iter().rev() {
                step(state);
            }
        }
        result
    }
}

struct MemTx<'a> {
    state: &'a mut State,
    undo: Vec<Undo>,
}

/// Puts `value` at `key` in the map chosen by `pick`, remembering how to undo it.
macro_rules! put {
    ($tx:expr, $field:ident, $key:expr, $value:expr) => {{
        let key = $key;
        let old = $tx.state.$field.insert(key.clone(), $value);
        $tx.undo.push(Box::new(move |s: &mut State| match old {
            Some(v) => {
                s.$field.insert(key, v);
            }
            None => {
                s.$field.remove(&key);
            }
        }));
    }};
}

macro_rules! remove {
    ($tx:expr, $field:ident, $key:expr) => {{
        let key = $key;
        if let Some(old) = $tx.state.$field.remove(&key) {
            $tx.undo.push(Box::new(move |s: &mut State| {
                s.$field.insert(key, old);
            }));
        }
    }};
}

impl Tx for MemTx<'_> {
    fn next_id(&mut self, sequence: &str) -> Result<u64> {
        let n = self.state.sequences.get(sequence).copied().unwrap_or(0) + 1;
        put!(self, sequences, sequence.to_string(), n);
        Ok(n)
    }

    fn put_plan(&mut self, row: &PlanRow) -> Result<()> {
        put!(self, plans, row.hash.clone(), row.clone());
        Ok(())
    }
    fn plan(&mut self, hash: &str) -> Result<Option<PlanRow>> {
        Ok(self.state.plans.get(hash).cloned())
    }
    fn current_plan_hash(&mut self) -> Result<Option<String>> {
        Ok(self
            .state
            .plans
            .values()
            .max_by_key(|p| p.seq)
            .map(|p| p.hash.clone()))
    }
    fn plans(&mut self) -> Result<Vec<PlanRow>> {
        let mut plans: Vec<PlanRow> = self.state.plans.values().cloned().collect();
        plans.sort_by_key(|p| p.seq);
        Ok(plans)
    }

    fn insert_instance(&mut self, row: &InstanceRow) -> Result<()> {
        if self.state.instances.contains_key(&row.id) {
            return Err(Error::Store(format!("instance {} exists", row.id)));
        }
        put!(self, instances, row.id, row.clone());
        Ok(())
    }
    fn instance(&mut self, id: InstanceId) -> Result<Option<InstanceRow>> {
        Ok(self.state.instances.get(&id).cloned())
    }
    fn update_instance(&mut self, row: &mut InstanceRow) -> Result<()> {
        match self.state.instances.get(&row.id) {
            Some(stored) if stored.version == row.version => {}
            Some(_) => return Err(Error::Conflict),
            None => return Err(Error::UnknownInstance(row.id)),
        }
        row.version += 1;
        put!(self, instances, row.id, row.clone());
        Ok(())
    }
    fn running_instances(&mut self) -> Result<Vec<InstanceRow>> {
        Ok(self
            .state
            .instances
            .values()
            .filter(|i| i.status.is_running())
            .cloned()
            .collect())
    }

    fn instances(&mut self, query: &InstanceQuery) -> Result<Vec<InstanceRow>> {
        let from = query.after.map_or(0, |a| a.saturating_add(1));
        let limit = if query.limit == 0 {
            usize::MAX
        } else {
            query.limit
        };
        Ok(self
            .state
            .instances
            .range(from..)
            .map(|(_, row)| row)
            .filter(|row| query.matches(row))
            .take(limit)
            .cloned()
            .collect())
    }

    fn put_step(&mut self, row: &StepRow) -> Result<()> {
        put!(self, steps, (row.instance, row.index), row.clone());
        Ok(())
    }
    fn steps(&mut self, instance: InstanceId) -> Result<Vec<StepRow>> {
        Ok(self
            .state
            .steps
            .range((instance, 0)..=(instance, StepIndex::MAX))
            .map(|(_, s)| s.clone())
            .collect())
    }

    fn insert_timer(&mut self, row: &TimerRow) -> Result<()> {
        put!(self, timers, row.id, row.clone());
        Ok(())
    }
    fn delete_timer(&mut self, id: u64) -> Result<()> {
        remove!(self, timers, id);
        Ok(())
    }
    fn delete_timers_of(&mut self, instance: InstanceId, step: Option<StepIndex>) -> Result<()> {
        let ids: Vec<u64> = self
            .state
            .timers
            .values()
            .filter(|t| t.instance == instance && step.is_none_or(|s| t.step == s))
            .map(|t| t.id)
            .collect();
        for id in ids {
            remove!(self, timers, id);
        }
        Ok(())
    }
    fn claim_due(
        &mut self,
        now: DateTime<Utc>,
        worker: &str,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TimerRow>> {
        let mut due: Vec<TimerRow> = self
            .state
            .timers
            .values()
            .filter(|t| t.due_at <= now && t.lease_until.is_none_or(|l| l <= now))
            .cloned()
            .collect();
        due.sort_by_key(|t| (t.due_at, t.id));
        due.truncate(limit);
        for t in &mut due {
            t.lease_owner = Some(worker.to_string());
            t.lease_until = Some(lease_until);
            put!(self, timers, t.id, t.clone());
        }
        Ok(due)
    }
    fn next_due(&mut self) -> Result<Option<DateTime<Utc>>> {
        // A leased timer is due again when its lease runs out.
        Ok(self
            .state
            .timers
            .values()
            .map(|t| t.lease_until.map_or(t.due_at, |l| l.max(t.due_at)))
            .min())
    }
    fn timers_of(&mut self, instance: InstanceId) -> Result<Vec<TimerRow>> {
        Ok(self
            .state
            .timers
            .values()
            .filter(|t| t.instance == instance)
            .cloned()
            .collect())
    }

    fn put_work_item(&mut self, row: &WorkItemRow) -> Result<()> {
        put!(self, work_items, row.id, row.clone());
        Ok(())
    }
    fn open_work_items(&mut self, user: Option<&str>) -> Result<Vec<WorkItemRow>> {
        Ok(self
            .state
            .work_items
            .values()
            .filter(|w| w.done_at.is_none() && user.is_none_or(|u| w.user == u))
            .cloned()
            .collect())
    }
    fn work_items_of(&mut self, instance: InstanceId) -> Result<Vec<WorkItemRow>> {
        Ok(self
            .state
            .work_items
            .values()
            .filter(|w| w.instance == instance)
            .cloned()
            .collect())
    }

    fn put_record(&mut self, row: &RecordRow) -> Result<()> {
        put!(self, records, (row.module, row.id.clone()), row.clone());
        Ok(())
    }
    fn record(&mut self, module: Module, id: &str) -> Result<Option<RecordRow>> {
        Ok(self.state.records.get(&(module, id.to_string())).cloned())
    }
    fn records(&mut self, module: Module) -> Result<Vec<RecordRow>> {
        Ok(self
            .state
            .records
            .values()
            .filter(|r| r.module == module)
            .cloned()
            .collect())
    }

    fn put_artefact(&mut self, row: &ArtefactRow) -> Result<()> {
        put!(self, artefacts, row.id, row.clone());
        Ok(())
    }
    fn artefact(&mut self, id: u64) -> Result<Option<ArtefactRow>> {
        Ok(self.state.artefacts.get(&id).cloned())
    }
    fn artefacts_of(&mut self, instance: InstanceId) -> Result<Vec<ArtefactRow>> {
        Ok(self
            .state
            .artefacts
            .values()
            .filter(|a| a.instance == instance)
            .cloned()
            .collect())
    }

    fn insert_outbox(&mut self, row: &OutboxRow) -> Result<bool> {
        if self.state.outbox_keys.contains_key(&row.idempotency_key) {
            return Ok(false);
        }
        put!(self, outbox_keys, row.idempotency_key.clone(), row.id);
        put!(self, outbox, row.id, row.clone());
        Ok(true)
    }
    fn update_outbox(&mut self, row: &OutboxRow) -> Result<()> {
        put!(self, outbox, row.id, row.clone());
        Ok(())
    }
    fn pending_outbox(&mut self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxRow>> {
        Ok(self
            .state
            .outbox
            .values()
            .filter(|o| o.is_pending() && o.not_before.is_none_or(|t| t <= now))
            .take(limit)
            .cloned()
            .collect())
    }
    fn outbox(&mut self) -> Result<Vec<OutboxRow>> {
        Ok(self.state.outbox.values().cloned().collect())
    }
    fn outbox_row(&mut self, id: u64) -> Result<Option<OutboxRow>> {
        Ok(self.state.outbox.get(&id).cloned())
    }
    fn outbox_of(&mut self, instance: InstanceId) -> Result<Vec<OutboxRow>> {
        Ok(self
            .state
            .outbox
            .values()
            .filter(|o| o.instance == Some(instance))
            .cloned()
            .collect())
    }
    fn insert_attempt(&mut self, row: &AttemptRow) -> Result<()> {
        put!(self, attempts, row.id, row.clone());
        Ok(())
    }
    fn attempts(&mut self, effect: u64) -> Result<Vec<AttemptRow>> {
        Ok(self
            .state
            .attempts
            .values()
            .filter(|a| a.effect == effect)
            .cloned()
            .collect())
    }
    fn next_outbox_due(&mut self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        Ok(self
            .state
            .outbox
            .values()
            .filter(|o| o.is_pending())
            .filter_map(|o| o.not_before)
            .filter(|t| *t > now)
            .min())
    }

    fn insert_audit(&mut self, row: &AuditRow) -> Result<()> {
        self.state.audit.push(row.clone());
        self.undo.push(Box::new(|s: &mut State| {
            s.audit.pop();
        }));
        Ok(())
    }
    fn audit(&mut self, instance: Option<InstanceId>) -> Result<Vec<AuditRow>> {
        Ok(self
            .state
            .audit
            .iter()
            .filter(|a| instance.is_none() || a.instance == instance)
            .cloned()
            .collect())
    }

    fn key(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self.state.keys.get(key).cloned())
    }
    fn put_key(&mut self, key: &str, value: &str) -> Result<()> {
        put!(self, keys, key.to_string(), value.to_string());
        Ok(())
    }
    fn keys_with_prefix(&mut self, prefix: &str) -> Result<Vec<(String, String)>> {
        Ok(self
            .state
            .keys
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
    fn bump_counter(&mut self, key: &str) -> Result<u64> {
        let n = self.state.counters.get(key).copied().unwrap_or(0) + 1;
        put!(self, counters, key.to_string(), n);
        Ok(n)
    }
}
