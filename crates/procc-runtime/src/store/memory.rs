//! The in-memory store: same semantics as SQLite, nothing on disk. Writes go straight into the
//! maps and leave an undo entry; a failed transaction (or savepoint) replays the undo log and
//! puts the sequences and the audit history back as they were when it began (a [`Mark`]).
//!
//! Every query an operation makes is answered from an index, never by scanning all rows: the
//! cost of an operation must not grow with the number of instances (timers by due time and by
//! lease end, rows by instance, open work items, pending and delayed effects). Each write of
//! a whole row goes through one `set_*` function that keeps the row's index entries in step
//! with the row, and undo goes through the same functions. The few changes made in place
//! (a lease, a delivery, a closed work item, a task done: the hot paths) and their undo go
//! through the same index code: `State::change_outbox` moves an effect's entries from before
//! the change to after it, and a work item enters and leaves the open-work indexes through
//! `Indexes::list_open_work` and `Indexes::unlist_open_work`.
//! [`MemoryStore::check_indexes`] rebuilds the indexes from a full scan and compares.

use std::borrow::Cow;
use std::collections::hash_map::Entry as HashEntry;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use procc_plan::{Module, StepIndex};
use rustc_hash::FxHashMap;
use smallvec::{SmallVec, smallvec};

use super::{Delivery, Store, Tx};
use crate::model::*;
use crate::{Error, Result};

/// Secondary indexes over the rows of [`State`].
#[derive(Default, Debug, PartialEq)]
struct Indexes {
    /// Deployed plans by deployment order.
    plans_by_seq: BTreeSet<(u64, String)>,
    /// Running instances.
    running: IdSet,
    /// Timers nobody holds, by (due time, id).
    timers_due: BTreeSet<(Moment, u64)>,
    /// Leased timers by (when they can be claimed again: the later of lease end and due time, id).
    timers_leased: BTreeSet<(Moment, u64)>,
    /// Timers by instance, then (step, id).
    timers_of: ListIndex<(StepIndex, u64)>,
    /// Open work items by (user, id).
    /// (A map of sets rather than a set of pairs: no user name is copied per work item.)
    open_work_by_user: BTreeMap<String, WordSet>,
    /// Open work items by id.
    open_work: IdSet,
    /// Work items by instance, then (step, id): a finished step finds its own by binary
    /// search, without walking the instance's other steps.
    work_of: ListIndex<(StepIndex, u64)>,
    /// Artefacts by instance, then id.
    artefacts_of: ListIndex<u64>,
    /// Pending effects without a `not_before`, by id.
    outbox_ready: IdSet,
    /// Pending effects with a `not_before`, by (not before, id).
    outbox_delayed: BTreeSet<(Moment, u64)>,
    /// Effects by instance, then id.
    outbox_of: ListIndex<u64>,
    /// Attempts by effect, then id.
    attempts_of: ListIndex<u64>,
    /// Audit rows by instance: their positions in the history, in the instance's slot.
    /// (Positions only grow, and a rollback removes the last ones: a list per instance is
    /// enough.)
    audit_of: IdMap<Vec<usize>>,
}

/// A time as one integer that sorts as the time does: seconds since 1970 in the high bits,
/// nanoseconds (up to two billion in a leap second) in the low 32. The time-ordered indexes
/// (timers by due time, effects by their earliest time) compare keys at every step of a
/// search, and new keys mostly go to the end, past every key of a node: one integer compares
/// faster than a `DateTime`'s date, seconds and nanoseconds.
type Moment = i128;

/// The [`Moment`] of `t`.
fn moment(t: DateTime<Utc>) -> Moment {
    (i128::from(t.timestamp()) << 32) | i128::from(t.timestamp_subsec_nanos())
}

/// Moves a row's entry in one index from `old` to `new` (`None`: no entry), leaving the index
/// alone when the entry stays the same: most updates (an instance saved, an effect leased)
/// change only some of a row's entries.
fn change<T: PartialEq>(set: &mut impl SetIndex<T>, old: Option<T>, new: Option<T>) {
    if old != new {
        if let Some(old) = old {
            set.take_out(&old);
        }
        if let Some(new) = new {
            set.put_in(new);
        }
    }
}

/// A set that [`change`] moves index entries in: a tree, an [`IdSet`] for plain ids, or a
/// [`ListIndex`] for entries by owner.
trait SetIndex<T> {
    fn put_in(&mut self, entry: T);
    fn take_out(&mut self, entry: &T);
}

impl<T: Ord> SetIndex<T> for BTreeSet<T> {
    fn put_in(&mut self, entry: T) {
        self.insert(entry);
    }
    fn take_out(&mut self, entry: &T) {
        self.remove(entry);
    }
}

/// A [`ListIndex`]'s entries are (owner, entry) pairs.
impl<T: Ord + Copy> SetIndex<(u64, T)> for ListIndex<T> {
    fn put_in(&mut self, (owner, entry): (u64, T)) {
        self.insert(owner, entry);
    }
    fn take_out(&mut self, (owner, entry): &(u64, T)) {
        self.remove(*owner, *entry);
    }
}

impl SetIndex<u64> for IdSet {
    fn put_in(&mut self, entry: u64) {
        self.insert(entry);
    }
    fn take_out(&mut self, entry: &u64) {
        self.remove(*entry);
    }
}

/// A set of ids that come from a sequence (running instances, open work items, effects ready
/// to go), as a bit per id instead of a tree: entering and leaving the set is setting and
/// clearing a bit, where a tree searches and moves keys. Walking the set in order skips empty
/// stretches through a second bitmap with a bit per word of the first, so a set whose members
/// are a few recent ids among millions of old ones is walked in a few steps. Ids far beyond
/// the bitmap go to a tree beside it, as in [`IdMap`]; every id in the tree is at least the
/// bitmap's length in bits.
#[derive(Default)]
struct IdSet {
    words: Vec<u64>,
    /// Bit `w` is set when `words[w]` is not zero.
    nonzero: Vec<u64>,
    far: BTreeSet<u64>,
}

/// Equal when they hold the same ids, whatever their room.
impl PartialEq for IdSet {
    fn eq(&self, other: &IdSet) -> bool {
        self.iter().eq(other.iter())
    }
}

impl std::fmt::Debug for IdSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// The word of a bitmap that holds bit `i`, and the bit's mask in it.
fn bit(i: u64) -> (usize, u64) {
    ((i / 64) as usize, 1 << (i % 64))
}

impl IdSet {
    /// The bitmap's length in bits: the ids below it have a bit.
    fn bits(&self) -> u64 {
        self.words.len() as u64 * 64
    }
    /// Adds `id`; false when it was there.
    fn insert(&mut self, id: u64) -> bool {
        if id >= self.bits() {
            if id >= self.bits().saturating_add(ID_SLACK) {
                return self.far.insert(id);
            }
            self.words.resize((id / 64 + 1) as usize, 0);
            self.nonzero.resize(self.words.len().div_ceil(64), 0);
            let bits = self.bits();
            while let Some(near) = self.far.first().copied().filter(|f| *f < bits) {
                self.far.remove(&near);
                self.insert(near);
            }
        }
        let (w, mask) = bit(id);
        let word = &mut self.words[w];
        let added = *word & mask == 0;
        *word |= mask;
        let (n, nmask) = bit(w as u64);
        self.nonzero[n] |= nmask;
        added
    }
    /// Takes `id` out; false when it was not there.
    fn remove(&mut self, id: u64) -> bool {
        if id >= self.bits() {
            return self.far.remove(&id);
        }
        let (w, mask) = bit(id);
        let word = &mut self.words[w];
        let removed = *word & mask != 0;
        *word &= !mask;
        if *word == 0 {
            let (n, nmask) = bit(w as u64);
            self.nonzero[n] &= !nmask;
        }
        removed
    }
    /// The ids in ascending order.
    fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        set_bits(&self.nonzero)
            .flat_map(|w| {
                let word = self.words.get(w as usize).copied().unwrap_or(0);
                BitsOf(word).map(move |b| w * 64 + b)
            })
            .chain(self.far.iter().copied())
    }
}

/// A set of ids as the non-empty 64-bit words of a bitmap, in a tree by word. Ids that come
/// close together (the open work of one user, drawn from one sequence) share a word, so adding
/// the next id mostly sets a bit in a word the tree already has, where a tree of ids would be
/// descended and grown for each id; ids far apart cost a key and a word each.
#[derive(Default, Debug, PartialEq)]
struct WordSet {
    words: BTreeMap<u64, u64>,
}

impl WordSet {
    /// Adds `id`.
    fn insert(&mut self, id: u64) {
        *self.words.entry(id / 64).or_default() |= 1 << (id % 64);
    }
    /// Takes `id` out; a word left empty goes.
    fn remove(&mut self, id: u64) {
        if let Some(word) = self.words.get_mut(&(id / 64)) {
            *word &= !(1 << (id % 64));
            if *word == 0 {
                self.words.remove(&(id / 64));
            }
        }
    }
    /// Whether it holds no id.
    fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
    /// The ids in ascending order.
    fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.words
            .iter()
            .flat_map(|(w, word)| BitsOf(*word).map(move |b| w * 64 + b))
    }
}

/// The positions of the set bits of a bitmap, in order.
fn set_bits(words: &[u64]) -> impl Iterator<Item = u64> + '_ {
    words
        .iter()
        .enumerate()
        .flat_map(|(i, w)| BitsOf(*w).map(move |b| i as u64 * 64 + b))
}

/// The positions of the set bits of one word, lowest first.
struct BitsOf(u64);

impl Iterator for BitsOf {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        if self.0 == 0 {
            return None;
        }
        let lowest = self.0.trailing_zeros();
        self.0 &= self.0 - 1;
        Some(u64::from(lowest))
    }
}

/// Entries by their owner's id (an instance, an effect), each owner's in order: a short sorted
/// list in the owner's slot (see [`IdMap`]) instead of a tree of (owner, entry) pairs. An owner
/// has a handful of entries, so a list is searched faster than a tree is descended. The first
/// two entries live in the slot itself: most owners have one or two (a process's timers, work
/// items, artefacts and effects, an effect's attempts), and each would otherwise be an
/// allocation of its own.
#[derive(Default, Debug, PartialEq)]
struct ListIndex<T>(IdMap<SmallVec<[T; 2]>>);

impl<T: Ord + Copy> ListIndex<T> {
    fn insert(&mut self, owner: u64, entry: T) {
        match self.0.get_mut(&owner) {
            Some(list) => {
                if let Err(at) = list.binary_search(&entry) {
                    list.insert(at, entry);
                }
            }
            None => {
                self.0.insert(owner, smallvec![entry]);
            }
        }
    }
    fn remove(&mut self, owner: u64, entry: T) {
        if let Some(list) = self.0.get_mut(&owner) {
            if let Ok(at) = list.binary_search(&entry) {
                list.remove(at);
            }
            if list.is_empty() {
                self.0.remove(&owner);
            }
        }
    }
    /// The entries of `owner`, in order.
    fn of(&self, owner: u64) -> &[T] {
        self.0.get(&owner).map_or(&[], SmallVec::as_slice)
    }
}

/// An effect's entries in the outbox indexes (`None`: not in that index). A value of its own,
/// so that a row changed in place moves its entries with the same code as a row replaced.
#[derive(Default, Clone, Copy)]
struct OutboxEntries {
    ready: Option<u64>,
    delayed: Option<(Moment, u64)>,
    of: Option<(InstanceId, u64)>,
}

impl OutboxEntries {
    fn of(o: &OutboxRow) -> OutboxEntries {
        let pending = o.is_pending();
        OutboxEntries {
            ready: (pending && o.not_before.is_none()).then_some(o.id),
            delayed: o.not_before.filter(|_| pending).map(|t| (moment(t), o.id)),
            of: o.instance.map(|i| (i, o.id)),
        }
    }
}

/// The index entries of one table's rows, from the row a write replaces (`old`) to the one it
/// puts (`new`); `None` on either side for an insert or a delete.
impl Indexes {
    fn plan(&mut self, old: Option<&PlanRow>, new: Option<&PlanRow>) {
        let key = |p: &PlanRow| (p.seq, p.hash.clone());
        if old.map(|p| (p.seq, &p.hash)) != new.map(|p| (p.seq, &p.hash)) {
            change(&mut self.plans_by_seq, old.map(key), new.map(key));
        }
    }
    fn instance(&mut self, old: Option<&InstanceRow>, new: Option<&InstanceRow>) {
        let key = |i: &InstanceRow| i.status.is_running().then_some(i.id);
        change(&mut self.running, old.and_then(key), new.and_then(key));
    }
    fn timer(&mut self, old: Option<&TimerRow>, new: Option<&TimerRow>) {
        let due = |t: &TimerRow| t.lease_until.is_none().then(|| (moment(t.due_at), t.id));
        change(&mut self.timers_due, old.and_then(due), new.and_then(due));
        let leased = |t: &TimerRow| t.lease_until.map(|l| (moment(l.max(t.due_at)), t.id));
        change(
            &mut self.timers_leased,
            old.and_then(leased),
            new.and_then(leased),
        );
        let of = |t: &TimerRow| (t.instance, (t.step, t.id));
        change(&mut self.timers_of, old.map(of), new.map(of));
    }
    fn work_item(&mut self, old: Option<&WorkItemRow>, new: Option<&WorkItemRow>) {
        fn open(w: &WorkItemRow) -> Option<(&str, u64)> {
            w.done_at.is_none().then_some((w.user.as_str(), w.id))
        }
        let (old_open, new_open) = (old.and_then(open), new.and_then(open));
        if old_open != new_open {
            if let Some((user, id)) = old_open {
                self.unlist_open_work(user, id);
            }
            if let Some((user, id)) = new_open {
                self.list_open_work(user, id);
            }
        }
        let of = |w: &WorkItemRow| (w.instance, (w.step, w.id));
        change(&mut self.work_of, old.map(of), new.map(of));
    }
    /// Enters an open work item in the open-work indexes.
    fn list_open_work(&mut self, user: &str, id: u64) {
        match self.open_work_by_user.get_mut(user) {
            Some(ids) => ids.insert(id),
            None => {
                let mut ids = WordSet::default();
                ids.insert(id);
                self.open_work_by_user.insert(user.to_string(), ids);
            }
        }
        self.open_work.insert(id);
    }
    /// Takes a work item out of the open-work indexes (it is done, or gone).
    fn unlist_open_work(&mut self, user: &str, id: u64) {
        if let Some(ids) = self.open_work_by_user.get_mut(user) {
            ids.remove(id);
            if ids.is_empty() {
                self.open_work_by_user.remove(user);
            }
        }
        self.open_work.remove(id);
    }
    fn artefact(&mut self, old: Option<&ArtefactRow>, new: Option<&ArtefactRow>) {
        let of = |a: &ArtefactRow| (a.instance, a.id);
        change(&mut self.artefacts_of, old.map(of), new.map(of));
    }
    fn outbox(&mut self, old: Option<&OutboxRow>, new: Option<&OutboxRow>) {
        self.move_outbox(
            old.map(OutboxEntries::of).unwrap_or_default(),
            new.map(OutboxEntries::of).unwrap_or_default(),
        );
    }
    fn move_outbox(&mut self, old: OutboxEntries, new: OutboxEntries) {
        change(&mut self.outbox_ready, old.ready, new.ready);
        change(&mut self.outbox_delayed, old.delayed, new.delayed);
        change(&mut self.outbox_of, old.of, new.of);
    }
    fn attempt(&mut self, old: Option<&AttemptRow>, new: Option<&AttemptRow>) {
        let of = |a: &AttemptRow| (a.effect, a.id);
        change(&mut self.attempts_of, old.map(of), new.map(of));
    }
    fn audit(&mut self, instance: Option<InstanceId>, position: usize, add: bool) {
        if let Some(i) = instance {
            if add {
                // Room for a whole small process's history at once, instead of growing
                // the list row by row.
                match self.audit_of.get_mut(&i) {
                    Some(positions) => positions.push(position),
                    None => {
                        let mut positions = Vec::with_capacity(16);
                        positions.push(position);
                        self.audit_of.insert(i, positions);
                    }
                }
            } else if let Some(positions) = self.audit_of.get_mut(&i) {
                positions.retain(|p| *p != position);
                if positions.is_empty() {
                    self.audit_of.remove(&i);
                }
            }
        }
    }
}

#[derive(Default)]
struct State {
    /// The last id of each sequence, by `Sequence as usize`.
    sequences: [u64; Sequence::COUNT],
    plans: BTreeMap<String, Box<PlanRow>>,
    // The rows of a process are boxed: a slot (or a tree node) of boxes wastes little room
    // where one of rows would waste their size, and moves only pointers when it grows.
    // Tables keyed by an id from a sequence are `IdMap`s: a slot per id, no search.
    instances: IdMap<Box<InstanceRow>>,
    steps: StepTable,
    timers: IdMap<Box<TimerRow>>,
    work_items: IdMap<Box<WorkItemRow>>,
    /// Records by module, then by id: found by `&str`, without building a key (expressions
    /// and e-mail steps read them on every run).
    records: BTreeMap<Module, BTreeMap<String, RecordRow>>,
    artefacts: IdMap<Box<ArtefactRow>>,
    outbox: IdMap<Box<OutboxRow>>,
    /// Effects by idempotency key. (Hashed: the keys are long and share their beginnings, so
    /// a tree compares many bytes for every effect written.)
    outbox_keys: FxHashMap<String, u64>,
    attempts: IdMap<Box<AttemptRow>>,
    audit: AuditLog,
    keys: BTreeMap<String, String>,
    counters: BTreeMap<String, u64>,
    ix: Indexes,
    /// The undo log's room, kept between transactions (every operation needs one).
    spare_undo: Vec<Undo>,
}

/// The audit history in order of writing, in chunks of a fixed size: it only grows, by a row
/// per transition, and growing one vector would copy all of it again and again (and leave up
/// to half of it unused). It is the store's largest table (a dozen rows for a small process),
/// so its rows are kept compact ([`StoredAudit`]).
#[derive(Default)]
struct AuditLog {
    chunks: Vec<Vec<StoredAudit>>,
    len: usize,
    /// Who did something and what happened, each name kept once.
    names: Names,
}

/// An audit row as the memory store keeps it: who and what as numbers in the log's
/// [`Names`] (a handful of names repeat in every row), the instance and the step with one
/// byte that says which of them are given (two `Option`s would take 16 bytes more), the
/// details without spare room. 64 bytes, against 120 for an [`AuditRow`].
struct StoredAudit {
    id: u64,
    at: DateTime<Utc>,
    instance: InstanceId,
    step: StepIndex,
    /// Which of the instance and the step are given ([`HAS_INSTANCE`], [`HAS_STEP`]).
    given: u8,
    who: u32,
    event: u32,
    detail: Box<str>,
}

// The room the history takes is the reason for the type: keep it at 64 bytes.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<StoredAudit>() == 64);

/// [`StoredAudit::given`]: the row names an instance.
const HAS_INSTANCE: u8 = 1;
/// [`StoredAudit::given`]: the row names a step.
const HAS_STEP: u8 = 2;

impl StoredAudit {
    fn instance(&self) -> Option<InstanceId> {
        (self.given & HAS_INSTANCE != 0).then_some(self.instance)
    }
    fn step(&self) -> Option<StepIndex> {
        (self.given & HAS_STEP != 0).then_some(self.step)
    }
}

/// Names, each kept once and numbered in the order they came.
#[derive(Default)]
struct Names {
    list: Vec<Cow<'static, str>>,
    /// Borrowed names (the engine's constants: `system`, the events) by where they are: found
    /// again by two words, without hashing or comparing their text, for every row.
    by_place: FxHashMap<(usize, usize), u32>,
    /// Owned names (users) by their text.
    by_text: FxHashMap<String, u32>,
}

impl Names {
    /// The name's number, the next one if it is new. (Four billion different users and
    /// events, the limit of a `u32`, would not fit in a memory store anyway.)
    fn number(&mut self, name: Cow<'static, str>) -> u32 {
        let next = self.list.len() as u32;
        let number = match &name {
            Cow::Borrowed(text) => *self
                .by_place
                .entry((text.as_ptr() as usize, text.len()))
                .or_insert(next),
            Cow::Owned(text) => match self.by_text.get(text.as_str()) {
                Some(number) => *number,
                None => *self.by_text.entry(text.clone()).or_insert(next),
            },
        };
        if number == next {
            self.list.push(name);
        }
        number
    }
    fn name(&self, number: u32) -> Cow<'static, str> {
        self.list
            .get(number as usize)
            .cloned()
            .unwrap_or(Cow::Borrowed(""))
    }
}

/// The room of the undo log kept between transactions, in entries: enough for a batch of
/// fired timers (the engine fires 256 per transaction, each a dozen entries or more), which
/// would otherwise grow the log again, copying it several times, in every batch. (About 1 MB.)
const SPARE_UNDO: usize = 16_384;

/// Rows per chunk of the [`AuditLog`].
const AUDIT_CHUNK: usize = 256;

impl AuditLog {
    fn len(&self) -> usize {
        self.len
    }
    fn push(&mut self, row: AuditRow) {
        let stored = StoredAudit {
            id: row.id,
            at: row.at,
            instance: row.instance.unwrap_or_default(),
            step: row.step.unwrap_or_default(),
            given: (u8::from(row.instance.is_some()) * HAS_INSTANCE)
                | (u8::from(row.step.is_some()) * HAS_STEP),
            who: self.names.number(row.who),
            event: self.names.number(row.event),
            detail: row.detail.into_boxed_str(),
        };
        match self.chunks.get_mut(self.len / AUDIT_CHUNK) {
            Some(chunk) => chunk.push(stored),
            None => {
                let mut chunk = Vec::with_capacity(AUDIT_CHUNK);
                chunk.push(stored);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }
    /// Removes the last row and gives its instance. (A chunk emptied by undo stays for the
    /// next rows: a rollback at a chunk's edge does not give its room back and take it again.)
    fn pop(&mut self) -> Option<Option<InstanceId>> {
        let last = self.len.checked_sub(1)?;
        let row = self.chunks.get_mut(last / AUDIT_CHUNK)?.pop()?;
        self.len = last;
        Some(row.instance())
    }
    fn get(&self, position: usize) -> Option<AuditRow> {
        self.chunks
            .get(position / AUDIT_CHUNK)?
            .get(position % AUDIT_CHUNK)
            .map(|stored| self.row(stored))
    }
    fn iter(&self) -> impl Iterator<Item = &StoredAudit> {
        self.chunks.iter().flatten()
    }
    /// A kept row as the engine wrote it.
    fn row(&self, stored: &StoredAudit) -> AuditRow {
        AuditRow {
            id: stored.id,
            at: stored.at,
            instance: stored.instance(),
            step: stored.step(),
            who: self.names.name(stored.who),
            event: self.names.name(stored.event),
            detail: stored.detail.to_string(),
        }
    }
}

/// Rows by id, where the ids come from a sequence (1, 2, 3, ...): a slot per id instead of a
/// search tree, so that finding a row is an index into a vector. The slots come in chunks of
/// [`ID_CHUNK`]: the map grows by a chunk, instead of copying all its slots into a vector
/// twice the size (a memory store of a million instances has index slots of tens of
/// megabytes). An id far beyond the slots (only tests choose their own ids) goes to a tree
/// beside them, so that no id makes the slots grow without bound; every id in the tree is at
/// least the number of slots, so the slots followed by the tree are in id order.
struct IdMap<V> {
    chunks: Vec<Box<[Option<V>]>>,
    far: BTreeMap<u64, V>,
}

/// Slots per chunk of an [`IdMap`].
const ID_CHUNK: usize = 1024;

/// How far beyond the last slot an id may be and still get a slot (the slots between stay
/// empty).
const ID_SLACK: u64 = 4096;

impl<V> Default for IdMap<V> {
    fn default() -> IdMap<V> {
        IdMap {
            chunks: Vec::new(),
            far: BTreeMap::new(),
        }
    }
}

/// Equal when they hold the same rows, whatever their room.
impl<V: PartialEq> PartialEq for IdMap<V> {
    fn eq(&self, other: &IdMap<V>) -> bool {
        self.iter().eq(other.iter())
    }
}

impl<V: std::fmt::Debug> std::fmt::Debug for IdMap<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V> IdMap<V> {
    /// How many ids have a slot: every id below this.
    fn capacity(&self) -> u64 {
        (self.chunks.len() * ID_CHUNK) as u64
    }
    /// The chunk of `id` and its place in it, when it has a slot.
    fn slot(&self, id: u64) -> Option<(usize, usize)> {
        let i = usize::try_from(id).ok().filter(|_| id < self.capacity())?;
        Some((i / ID_CHUNK, i % ID_CHUNK))
    }
    fn get(&self, id: &u64) -> Option<&V> {
        match self.slot(*id) {
            Some((c, i)) => self.chunks.get(c)?.get(i)?.as_ref(),
            None => self.far.get(id),
        }
    }
    fn get_mut(&mut self, id: &u64) -> Option<&mut V> {
        match self.slot(*id) {
            Some((c, i)) => self.chunks.get_mut(c)?.get_mut(i)?.as_mut(),
            None => self.far.get_mut(id),
        }
    }
    fn contains_key(&self, id: &u64) -> bool {
        self.get(id).is_some()
    }
    /// Puts `value` at `id`; the value it replaces.
    fn insert(&mut self, id: u64, value: V) -> Option<V> {
        if id >= self.capacity() {
            if id >= self.capacity().saturating_add(ID_SLACK) {
                return self.far.insert(id, value);
            }
            while id >= self.capacity() {
                self.chunks.push((0..ID_CHUNK).map(|_| None).collect());
            }
            // Ids of the tree that now have a slot move into it.
            let capacity = self.capacity();
            while let Some(entry) = self.far.first_entry() {
                if *entry.key() >= capacity {
                    break;
                }
                let (k, v) = entry.remove_entry();
                if let Some((c, i)) = self.slot(k) {
                    self.chunks[c][i] = Some(v);
                }
            }
        }
        let (c, i) = self.slot(id)?;
        self.chunks[c][i].replace(value)
    }
    fn remove(&mut self, id: &u64) -> Option<V> {
        match self.slot(*id) {
            Some((c, i)) => self.chunks.get_mut(c)?.get_mut(i)?.take(),
            None => self.far.remove(id),
        }
    }
    /// The slots in id order.
    fn slots(&self) -> impl Iterator<Item = &Option<V>> {
        self.chunks.iter().flat_map(|chunk| chunk.iter())
    }
    /// The ids and rows in id order.
    fn iter(&self) -> impl Iterator<Item = (u64, &V)> {
        self.slots()
            .enumerate()
            .filter_map(|(id, v)| Some((id as u64, v.as_ref()?)))
            .chain(self.far.iter().map(|(id, v)| (*id, v)))
    }
    /// The rows in id order.
    fn values(&self) -> impl Iterator<Item = &V> {
        self.slots().flatten().chain(self.far.values())
    }
    /// The rows from id `from` on, in id order.
    fn range_from(&self, from: u64) -> impl Iterator<Item = &V> {
        let start = usize::try_from(from.min(self.capacity())).unwrap_or(usize::MAX);
        let (first, skip) = (start / ID_CHUNK, start % ID_CHUNK);
        self.chunks
            .get(first..)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .flat_map(move |(n, chunk)| {
                let from = if n == 0 { skip } else { 0 };
                chunk.get(from..).unwrap_or_default().iter()
            })
            .flatten()
            .chain(self.far.range(from..).map(|(_, v)| v))
    }
}

/// The room for steps a new instance's list starts with.
const STEPS_AT_FIRST: usize = 8;

/// Step rows by instance, then by step index: a slot per instance (see [`IdMap`]) holding its
/// steps by index, so that neither a step nor an instance's steps are searched for.
#[derive(Default)]
struct StepTable(IdMap<Vec<Option<Box<StepRow>>>>);

impl StepTable {
    fn get(&self, (instance, index): &(InstanceId, StepIndex)) -> Option<&StepRow> {
        let steps = self.0.get(instance)?;
        steps.get(usize::try_from(*index).ok()?)?.as_deref()
    }
    /// Puts `row` at its key; the row it replaces.
    fn insert(
        &mut self,
        (instance, index): (InstanceId, StepIndex),
        row: Box<StepRow>,
    ) -> Option<Box<StepRow>> {
        let index = usize::try_from(index).ok()?;
        if !self.0.contains_key(&instance) {
            // Room for a small process's steps, instead of growing one step at a time.
            self.0.insert(instance, Vec::with_capacity(STEPS_AT_FIRST));
        }
        let steps = self.0.get_mut(&instance)?;
        if steps.len() <= index {
            steps.resize_with(index + 1, || None);
        }
        steps.get_mut(index)?.replace(row)
    }
    fn remove(&mut self, (instance, index): &(InstanceId, StepIndex)) -> Option<Box<StepRow>> {
        let steps = self.0.get_mut(instance)?;
        steps.get_mut(usize::try_from(*index).ok()?)?.take()
    }
    /// The step rows of an instance, by index.
    fn of(&self, instance: InstanceId) -> impl Iterator<Item = &StepRow> {
        self.0
            .get(&instance)
            .into_iter()
            .flatten()
            .flatten()
            .map(|row| &**row)
    }
}

/// A table of the store: the writes that [`set`] (and through it undo) needs, whatever
/// keeps the rows (a tree, a hash map, slots).
trait Table<K, V> {
    /// Puts `value` at `key`; the value it replaces.
    fn put(&mut self, key: K, value: V) -> Option<V>;
    /// Takes the value at `key` out.
    fn take(&mut self, key: &K) -> Option<V>;
}

impl<K: Ord, V> Table<K, V> for BTreeMap<K, V> {
    fn put(&mut self, key: K, value: V) -> Option<V> {
        self.insert(key, value)
    }
    fn take(&mut self, key: &K) -> Option<V> {
        self.remove(key)
    }
}

impl<V> Table<u64, V> for IdMap<V> {
    fn put(&mut self, key: u64, value: V) -> Option<V> {
        self.insert(key, value)
    }
    fn take(&mut self, key: &u64) -> Option<V> {
        self.remove(key)
    }
}

impl Table<(InstanceId, StepIndex), Box<StepRow>> for StepTable {
    fn put(&mut self, key: (InstanceId, StepIndex), value: Box<StepRow>) -> Option<Box<StepRow>> {
        self.insert(key, value)
    }
    fn take(&mut self, key: &(InstanceId, StepIndex)) -> Option<Box<StepRow>> {
        self.remove(key)
    }
}

/// Puts `value` at `key` (or removes the key for `None`); the value it replaces.
fn set<K, V>(table: &mut impl Table<K, V>, key: K, value: Option<V>) -> Option<V> {
    match value {
        Some(v) => table.put(key, v),
        None => table.take(&key),
    }
}

/// A `set_*` function for a table with indexes: the row's index entries move from the old
/// row's to the new row's.
macro_rules! indexed_set {
    ($name:ident, $table:ident, $key:ty, $row:ty, $index:ident) => {
        fn $name(&mut self, key: $key, row: Option<Box<$row>>) -> Option<Box<$row>> {
            self.ix
                .$index(self.$table.get(&key).map(|old| &**old), row.as_deref());
            set(&mut self.$table, key, row)
        }
    };
}

impl State {
    indexed_set!(set_plan, plans, String, PlanRow, plan);
    indexed_set!(set_instance, instances, InstanceId, InstanceRow, instance);
    indexed_set!(set_timer, timers, u64, TimerRow, timer);
    indexed_set!(set_work_item, work_items, u64, WorkItemRow, work_item);
    indexed_set!(set_artefact, artefacts, u64, ArtefactRow, artefact);
    indexed_set!(set_outbox, outbox, u64, OutboxRow, outbox);
    indexed_set!(set_attempt, attempts, u64, AttemptRow, attempt);

    /// The ids of up to `limit` undelivered effects whose time has come, in order.
    fn pending_outbox_ids(&self, now: DateTime<Utc>, limit: usize) -> Vec<u64> {
        let ix = &self.ix;
        let mut ids: Vec<u64> = ix.outbox_ready.iter().take(limit).collect();
        let ready = ids.len();
        ids.extend(
            ix.outbox_delayed
                .range(..=(moment(now), u64::MAX))
                .map(|(_, id)| *id),
        );
        if ids.len() > ready {
            ids.sort_unstable();
            ids.truncate(limit);
        }
        ids
    }

    /// Changes an effect in place (`None`: there is none); its index entries follow.
    fn change_outbox<T>(&mut self, id: u64, f: impl FnOnce(&mut OutboxRow) -> T) -> Option<T> {
        let row = self.outbox.get_mut(&id)?;
        let before = OutboxEntries::of(row);
        let result = f(row);
        self.ix.move_outbox(before, OutboxEntries::of(row));
        Some(result)
    }

    fn record(&self, module: Module, id: &str) -> Option<&RecordRow> {
        self.records.get(&module)?.get(id)
    }

    fn push_audit(&mut self, row: AuditRow) {
        self.ix.audit(row.instance, self.audit.len(), true);
        self.audit.push(row);
    }
    fn pop_audit(&mut self) {
        if let Some(instance) = self.audit.pop() {
            self.ix.audit(instance, self.audit.len(), false);
        }
    }

    /// The indexes built from a full scan of the rows.
    fn scan_indexes(&self) -> Indexes {
        let mut ix = Indexes::default();
        // Each table's rows enter its indexes as if inserted one by one.
        macro_rules! scan {
            ($($table:ident => $index:ident),*) => {$(
                for row in self.$table.values() {
                    ix.$index(None, Some(&**row));
                }
            )*};
        }
        scan!(
            plans => plan,
            instances => instance,
            timers => timer,
            work_items => work_item,
            artefacts => artefact,
            outbox => outbox,
            attempts => attempt
        );
        for (position, row) in self.audit.iter().enumerate() {
            ix.audit(row.instance(), position, true);
        }
        ix
    }

    fn undo(&mut self, entry: Undo) {
        match entry {
            Undo::Plan(k, v) => {
                self.set_plan(k, v);
            }
            Undo::Instance(k, v) => {
                self.set_instance(k, v);
            }
            Undo::Step(k, v) => {
                set(&mut self.steps, k, v);
            }
            Undo::Timer(k, v) => {
                self.set_timer(k, v);
            }
            Undo::WorkItem(k, v) => {
                self.set_work_item(k, v);
            }
            Undo::WorkItemClosed(id) => {
                if let Some(item) = self.work_items.get_mut(&id) {
                    item.done_at = None;
                    self.ix.list_open_work(&item.user, id);
                }
            }
            Undo::Record((module, id), v) => match v {
                Some(row) => {
                    self.records.entry(module).or_default().insert(id, *row);
                }
                None => {
                    if let Some(records) = self.records.get_mut(&module) {
                        records.remove(&id);
                    }
                }
            },
            Undo::Artefact(k, v) => {
                self.set_artefact(k, v);
            }
            Undo::ArtefactDone(id, done) => {
                if let Some(row) = self.artefacts.get_mut(&id) {
                    row.done = done;
                }
            }
            Undo::Outbox(k, v) => {
                self.set_outbox(k, v);
            }
            Undo::OutboxLease(id, attempts, not_before) => {
                self.change_outbox(id, |row| {
                    row.attempts = attempts;
                    row.not_before = not_before;
                });
            }
            Undo::OutboxDelivered {
                id,
                delivered_at,
                last_error,
            } => {
                self.change_outbox(id, |row| {
                    row.delivered_at = delivered_at;
                    row.last_error = last_error;
                });
            }
            Undo::OutboxKeyOf(id) => {
                if let Some(row) = self.outbox.get(&id) {
                    self.outbox_keys.remove(&row.idempotency_key);
                }
            }
            Undo::Attempt(k, v) => {
                self.set_attempt(k, v);
            }
            Undo::Key(k, v) => {
                set(&mut self.keys, k, v);
            }
            Undo::Counter(k, v) => {
                set(&mut self.counters, k, v);
            }
        }
    }
}

/// How to put back what one write replaced (`None`: the key did not exist). Rows are boxed
/// so that the log's entries stay small.
enum Undo {
    Plan(String, Option<Box<PlanRow>>),
    Instance(InstanceId, Option<Box<InstanceRow>>),
    Step((InstanceId, StepIndex), Option<Box<StepRow>>),
    Timer(u64, Option<Box<TimerRow>>),
    WorkItem(u64, Option<Box<WorkItemRow>>),
    /// This open work item was closed in place.
    WorkItemClosed(u64),
    Record((Module, String), Option<Box<RecordRow>>),
    Artefact(u64, Option<Box<ArtefactRow>>),
    /// The artefact was marked done in place; it had this `done`.
    ArtefactDone(u64, bool),
    Outbox(u64, Option<Box<OutboxRow>>),
    /// A lease changed only these fields of the effect: its attempts and `not_before`.
    OutboxLease(u64, u32, Option<DateTime<Utc>>),
    /// The effect was marked delivered in place; these were its fields before.
    OutboxDelivered {
        id: u64,
        delivered_at: Option<DateTime<Utc>>,
        last_error: Option<String>,
    },
    /// The idempotency key of the new effect with this id was entered (undone while the
    /// effect's row is still there to name it).
    OutboxKeyOf(u64),
    Attempt(u64, Option<Box<AttemptRow>>),
    Key(String, Option<String>),
    Counter(String, Option<u64>),
}

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

    /// Checks that every index agrees with a full scan of the rows; the error names the
    /// indexes that do not (for tests).
    pub fn check_indexes(&self) -> Result<()> {
        let state = self
            .state
            .lock()
            .map_err(|_| Error::Store("memory store poisoned".into()))?;
        let scanned = state.scan_indexes();
        let ix = &state.ix;
        let mut wrong = Vec::new();
        macro_rules! compare {
            ($($field:ident),*) => {$(
                if ix.$field != scanned.$field {
                    wrong.push(stringify!($field));
                }
            )*};
        }
        compare!(
            plans_by_seq,
            running,
            timers_due,
            timers_leased,
            timers_of,
            open_work_by_user,
            open_work,
            work_of,
            artefacts_of,
            outbox_ready,
            outbox_delayed,
            outbox_of,
            attempts_of,
            audit_of
        );
        // Every effect's idempotency key names it, and no other key is there.
        let keys_agree = state.outbox_keys.len() == state.outbox.values().count()
            && state
                .outbox
                .values()
                .all(|row| state.outbox_keys.get(&row.idempotency_key) == Some(&row.id));
        if !keys_agree {
            wrong.push("outbox_keys");
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(Error::Store(format!(
                "memory store indexes disagree with the rows: {}",
                wrong.join(", ")
            )))
        }
    }
}

impl Store for MemoryStore {
    fn in_process(&self) -> bool {
        true
    }

    fn transaction<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| Error::Store("memory store poisoned".into()))?;
        // The undo log of the last transaction, emptied: its room is reused.
        let undo = std::mem::take(&mut state.spare_undo);
        let mut tx = MemTx {
            state: &mut state,
            undo,
            savepoints: Vec::new(),
        };
        let began = tx.mark();
        let result = f(&mut tx);
        if result.is_err() {
            tx.roll_back_to(began);
        }
        let MemTx { mut undo, .. } = tx;
        undo.clear();
        // A rare bigger transaction (a large group, a daily scan) does not keep its room.
        undo.shrink_to(SPARE_UNDO);
        state.spare_undo = undo;
        result
    }
}

struct MemTx<'a> {
    state: &'a mut State,
    undo: Vec<Undo>,
    /// Where each open savepoint began.
    savepoints: Vec<Mark>,
}

/// Where a transaction or a savepoint began: what a rollback goes back to. The sequences and
/// the audit history are put back as a whole (a copy of the counters, the history's length)
/// instead of an undo entry per id drawn and per history row: a transition writes several.
#[derive(Clone, Copy)]
struct Mark {
    undo: usize,
    sequences: [u64; Sequence::COUNT],
    audit: usize,
}

impl MemTx<'_> {
    fn mark(&self) -> Mark {
        Mark {
            undo: self.undo.len(),
            sequences: self.state.sequences,
            audit: self.state.audit.len(),
        }
    }
    /// Undoes everything written since `mark`: the undo log replayed back to it, newest
    /// first, then the sequences and the history put back as they were.
    fn roll_back_to(&mut self, mark: Mark) {
        let from = mark.undo.min(self.undo.len());
        for entry in self.undo.drain(from..).rev() {
            self.state.undo(entry);
        }
        self.state.sequences = mark.sequences;
        while self.state.audit.len() > mark.audit {
            self.state.pop_audit();
        }
    }
}

/// Puts `value` at `key` of a table without indexes, remembering how to undo it.
macro_rules! put {
    ($tx:expr, $table:ident, $variant:ident, $key:expr, $value:expr) => {{
        let key = $key;
        let old = $tx.state.$table.insert(key.clone(), $value);
        $tx.undo.push(Undo::$variant(key, old.map(Into::into)));
    }};
}

/// Sets a row of a table with indexes through its `set_*` function, remembering how to undo it.
macro_rules! put_indexed {
    ($tx:expr, $set:ident, $variant:ident, $key:expr, $value:expr) => {{
        let key = $key;
        let old = $tx.state.$set(key, $value.map(Box::new));
        $tx.undo.push(Undo::$variant(key, old));
    }};
}

/// The ids of an owner's entries in a [`ListIndex`] of ids.
fn ids_of(index: &ListIndex<u64>, owner: u64) -> impl Iterator<Item = u64> + '_ {
    index.of(owner).iter().copied()
}

/// The ids of a `(step, id)` index (timers, work items) of an instance, or of one of its
/// steps, in (step, id) order.
fn ids_by_step(
    index: &ListIndex<(StepIndex, u64)>,
    instance: InstanceId,
    step: Option<StepIndex>,
) -> impl Iterator<Item = u64> + '_ {
    let entries = index.of(instance);
    // The entries are in (step, id) order: one step's are a run found by binary search, so
    // a step's close does not walk the instance's other steps.
    let run = match step {
        Some(step) => {
            let start = entries.partition_point(|(s, _)| *s < step);
            let end = entries.partition_point(|(s, _)| *s <= step);
            entries.get(start..end).unwrap_or_default()
        }
        None => entries,
    };
    run.iter().map(|(_, id)| *id)
}

impl Tx for MemTx<'_> {
    fn savepoint(&mut self) -> Result<()> {
        let mark = self.mark();
        self.savepoints.push(mark);
        Ok(())
    }
    fn release_savepoint(&mut self) -> Result<()> {
        self.savepoints
            .pop()
            .map(|_| ())
            .ok_or_else(|| Error::Store("no savepoint to release".into()))
    }
    fn rollback_to_savepoint(&mut self) -> Result<()> {
        let mark = self
            .savepoints
            .pop()
            .ok_or_else(|| Error::Store("no savepoint to roll back to".into()))?;
        self.roll_back_to(mark);
        Ok(())
    }

    fn next_id(&mut self, sequence: Sequence) -> Result<u64> {
        let last = &mut self.state.sequences[sequence as usize];
        *last += 1;
        Ok(*last)
    }

    fn put_plan(&mut self, row: &PlanRow) -> Result<()> {
        let key = row.hash.clone();
        let old = self
            .state
            .set_plan(key.clone(), Some(Box::new(row.clone())));
        self.undo.push(Undo::Plan(key, old));
        Ok(())
    }
    fn plan(&mut self, hash: &str) -> Result<Option<PlanRow>> {
        Ok(self.state.plans.get(hash).map(|r| (**r).clone()))
    }
    fn current_plan_hash(&mut self) -> Result<Option<String>> {
        Ok(self
            .state
            .ix
            .plans_by_seq
            .last()
            .map(|(_, hash)| hash.clone()))
    }
    fn is_current_plan(&mut self, hash: &str) -> Result<bool> {
        let last = self.state.ix.plans_by_seq.last();
        Ok(last.is_some_and(|(_, current)| current == hash))
    }
    fn plans(&mut self) -> Result<Vec<PlanRow>> {
        Ok(self
            .state
            .ix
            .plans_by_seq
            .iter()
            .filter_map(|(_, hash)| self.state.plans.get(hash).map(|r| (**r).clone()))
            .collect())
    }

    fn insert_instance(&mut self, row: InstanceRow) -> Result<()> {
        if self.state.instances.contains_key(&row.id) {
            return Err(Error::Store(format!("instance {} exists", row.id)));
        }
        put_indexed!(self, set_instance, Instance, row.id, Some(row));
        Ok(())
    }
    fn instance(&mut self, id: InstanceId) -> Result<Option<InstanceRow>> {
        Ok(self.state.instances.get(&id).map(|r| (**r).clone()))
    }
    fn update_instance(&mut self, mut row: InstanceRow) -> Result<()> {
        match self.state.instances.get(&row.id) {
            Some(stored) if stored.version == row.version => {}
            Some(_) => return Err(Error::Conflict),
            None => return Err(Error::UnknownInstance(row.id)),
        }
        row.version += 1;
        put_indexed!(self, set_instance, Instance, row.id, Some(row));
        Ok(())
    }
    fn running_instances(&mut self) -> Result<Vec<InstanceRow>> {
        Ok(self
            .state
            .ix
            .running
            .iter()
            .filter_map(|id| self.state.instances.get(&id).map(|r| (**r).clone()))
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
            .range_from(from)
            .map(|row| &**row)
            .filter(|row| query.matches(row))
            .take(limit)
            .cloned()
            .collect())
    }

    fn put_step(&mut self, row: StepRow) -> Result<()> {
        put!(self, steps, Step, (row.instance, row.index), Box::new(row));
        Ok(())
    }
    fn steps(&mut self, instance: InstanceId) -> Result<Vec<StepRow>> {
        Ok(self.state.steps.of(instance).cloned().collect())
    }

    fn has_active_step(&mut self, instance: InstanceId) -> Result<bool> {
        Ok(self.state.steps.of(instance).any(StepRow::waits_for_person))
    }
    fn step(&mut self, instance: InstanceId, index: StepIndex) -> Result<Option<StepRow>> {
        Ok(self.state.steps.get(&(instance, index)).cloned())
    }

    fn insert_timer(&mut self, row: TimerRow) -> Result<()> {
        put_indexed!(self, set_timer, Timer, row.id, Some(row));
        Ok(())
    }
    fn delete_timer(&mut self, id: u64) -> Result<()> {
        if self.state.timers.contains_key(&id) {
            put_indexed!(self, set_timer, Timer, id, None);
        }
        Ok(())
    }
    fn delete_timers_of(&mut self, instance: InstanceId, step: Option<StepIndex>) -> Result<()> {
        let ids: Vec<u64> = ids_by_step(&self.state.ix.timers_of, instance, step).collect();
        for id in ids {
            put_indexed!(self, set_timer, Timer, id, None);
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
        let ix = &self.state.ix;
        let upto = (moment(now), u64::MAX);
        // Free timers come in (due, id) order already; timers whose lease ran out are few
        // (a crashed worker's) and are merged in by due time.
        let mut due: Vec<(Moment, u64)> =
            ix.timers_due.range(..=upto).take(limit).copied().collect();
        let before = due.len();
        for (_, id) in ix.timers_leased.range(..=upto) {
            if let Some(t) = self.state.timers.get(id) {
                due.push((moment(t.due_at), t.id));
            }
        }
        if due.len() > before {
            due.sort_unstable();
            due.truncate(limit);
        }
        let mut claimed = Vec::with_capacity(due.len());
        for (_, id) in due {
            if let Some(t) = self.state.timers.get(&id) {
                let mut t = (**t).clone();
                t.lease_owner = Some(worker.to_string());
                t.lease_until = Some(lease_until);
                put_indexed!(self, set_timer, Timer, id, Some(t.clone()));
                claimed.push(t);
            }
        }
        Ok(claimed)
    }
    fn next_due(&mut self) -> Result<Option<DateTime<Utc>>> {
        // A leased timer is due again when its lease runs out (its index key). The times
        // come from the rows: a key is only for sorting.
        let (ix, timers) = (&self.state.ix, &self.state.timers);
        let free = ix
            .timers_due
            .first()
            .and_then(|(_, id)| timers.get(id))
            .map(|t| t.due_at);
        let leased = ix
            .timers_leased
            .first()
            .and_then(|(_, id)| timers.get(id))
            .and_then(|t| t.lease_until.map(|l| l.max(t.due_at)));
        Ok(match (free, leased) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }
    fn timers_of(&mut self, instance: InstanceId) -> Result<Vec<TimerRow>> {
        let mut timers: Vec<TimerRow> = ids_by_step(&self.state.ix.timers_of, instance, None)
            .filter_map(|id| self.state.timers.get(&id).map(|r| (**r).clone()))
            .collect();
        timers.sort_by_key(|t| (t.due_at, t.id));
        Ok(timers)
    }

    fn put_work_item(&mut self, row: WorkItemRow) -> Result<()> {
        put_indexed!(self, set_work_item, WorkItem, row.id, Some(row));
        Ok(())
    }
    fn open_work_items(&mut self, user: Option<&str>) -> Result<Vec<WorkItemRow>> {
        let ix = &self.state.ix;
        let items = &self.state.work_items;
        Ok(match user {
            Some(u) => ix
                .open_work_by_user
                .get(u)
                .into_iter()
                .flat_map(WordSet::iter)
                .filter_map(|id| items.get(&id).map(|r| (**r).clone()))
                .collect(),
            None => ix
                .open_work
                .iter()
                .filter_map(|id| items.get(&id).map(|r| (**r).clone()))
                .collect(),
        })
    }
    fn work_items_of(&mut self, instance: InstanceId) -> Result<Vec<WorkItemRow>> {
        let mut ids: Vec<u64> = ids_by_step(&self.state.ix.work_of, instance, None).collect();
        ids.sort_unstable();
        Ok(ids
            .into_iter()
            .filter_map(|id| self.state.work_items.get(&id).map(|r| (**r).clone()))
            .collect())
    }
    fn close_work_items(
        &mut self,
        instance: InstanceId,
        step: StepIndex,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let items = &self.state.work_items;
        let open: Vec<u64> = ids_by_step(&self.state.ix.work_of, instance, Some(step))
            .filter(|id| items.get(id).is_some_and(|w| w.done_at.is_none()))
            .collect();
        for id in open {
            if let Some(item) = self.state.work_items.get_mut(&id) {
                self.undo.push(Undo::WorkItemClosed(id));
                item.done_at = Some(at);
                // Only the open-work indexes change: the item keeps its instance and step.
                self.state.ix.unlist_open_work(&item.user, id);
            }
        }
        Ok(())
    }

    fn put_record(&mut self, row: &RecordRow) -> Result<()> {
        let old = self
            .state
            .records
            .entry(row.module)
            .or_default()
            .insert(row.id.clone(), row.clone());
        self.undo.push(Undo::Record(
            (row.module, row.id.clone()),
            old.map(Box::new),
        ));
        Ok(())
    }
    fn record(&mut self, module: Module, id: &str) -> Result<Option<RecordRow>> {
        Ok(self.state.record(module, id).cloned())
    }
    fn has_record(&mut self, module: Module, id: &str) -> Result<bool> {
        Ok(self.state.record(module, id).is_some())
    }
    fn with_records(
        &mut self,
        keys: [(Module, Option<&str>); 3],
        f: &mut dyn FnMut([Option<&RecordRow>; 3]),
    ) -> Result<()> {
        let state = &*self.state;
        f(keys.map(|(module, id)| id.and_then(|id| state.record(module, id))));
        Ok(())
    }
    fn records(&mut self, module: Module) -> Result<Vec<RecordRow>> {
        Ok(self
            .state
            .records
            .get(&module)
            .map(|records| records.values().cloned().collect())
            .unwrap_or_default())
    }

    fn put_artefact(&mut self, row: ArtefactRow) -> Result<()> {
        put_indexed!(self, set_artefact, Artefact, row.id, Some(row));
        Ok(())
    }
    fn artefact(&mut self, id: u64) -> Result<Option<ArtefactRow>> {
        Ok(self.state.artefacts.get(&id).map(|r| (**r).clone()))
    }
    fn with_artefact(&mut self, id: u64, f: &mut dyn FnMut(Option<&ArtefactRow>)) -> Result<()> {
        f(self.state.artefacts.get(&id).map(|row| &**row));
        Ok(())
    }
    fn mark_artefact_done(&mut self, id: u64) -> Result<()> {
        if let Some(row) = self.state.artefacts.get_mut(&id) {
            // No index holds `done`: the row changes alone.
            self.undo.push(Undo::ArtefactDone(id, row.done));
            row.done = true;
        }
        Ok(())
    }
    fn artefacts_of(&mut self, instance: InstanceId) -> Result<Vec<ArtefactRow>> {
        Ok(ids_of(&self.state.ix.artefacts_of, instance)
            .filter_map(|id| self.state.artefacts.get(&id).map(|r| (**r).clone()))
            .collect())
    }

    fn insert_outbox(&mut self, row: OutboxRow) -> Result<bool> {
        // One search of the keys (they are long) both checks and inserts.
        match self.state.outbox_keys.entry(row.idempotency_key.clone()) {
            HashEntry::Occupied(_) => return Ok(false),
            HashEntry::Vacant(free) => {
                free.insert(row.id);
            }
        }
        let id = row.id;
        put_indexed!(self, set_outbox, Outbox, id, Some(row));
        // After the row: undone before it, while the row still names the key.
        self.undo.push(Undo::OutboxKeyOf(id));
        Ok(true)
    }
    fn update_outbox(&mut self, row: OutboxRow) -> Result<()> {
        put_indexed!(self, set_outbox, Outbox, row.id, Some(row));
        Ok(())
    }
    fn pending_outbox(&mut self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxRow>> {
        Ok(self
            .state
            .pending_outbox_ids(now, limit)
            .iter()
            .filter_map(|id| self.state.outbox.get(id).map(|r| (**r).clone()))
            .collect())
    }
    fn lease_outbox(
        &mut self,
        now: DateTime<Utc>,
        limit: usize,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<OutboxRow>> {
        let ids = self.state.pending_outbox_ids(now, limit);
        let mut leased = Vec::with_capacity(ids.len());
        for id in ids {
            let lease = self.state.change_outbox(id, |row| {
                let undo = Undo::OutboxLease(id, row.attempts, row.not_before);
                row.attempts += 1;
                row.not_before = Some(lease_until);
                (undo, row.clone())
            });
            if let Some((undo, row)) = lease {
                self.undo.push(undo);
                leased.push(row);
            }
        }
        Ok(leased)
    }
    fn outbox(&mut self) -> Result<Vec<OutboxRow>> {
        Ok(self.state.outbox.values().map(|r| (**r).clone()).collect())
    }
    fn outbox_row(&mut self, id: u64) -> Result<Option<OutboxRow>> {
        Ok(self.state.outbox.get(&id).map(|r| (**r).clone()))
    }
    fn mark_outbox_delivered(&mut self, id: u64, at: DateTime<Utc>) -> Result<Delivery> {
        let marked = self.state.change_outbox(id, |row| {
            if !row.is_pending() {
                return (Delivery::NotPending, None);
            }
            let undo = Undo::OutboxDelivered {
                id,
                delivered_at: row.delivered_at,
                last_error: row.last_error.take(),
            };
            row.delivered_at = Some(at);
            (Delivery::Marked(row.origin), Some(undo))
        });
        let Some((delivery, undo)) = marked else {
            return Ok(Delivery::Unknown);
        };
        self.undo.extend(undo);
        Ok(delivery)
    }
    fn outbox_of(&mut self, instance: InstanceId) -> Result<Vec<OutboxRow>> {
        Ok(ids_of(&self.state.ix.outbox_of, instance)
            .filter_map(|id| self.state.outbox.get(&id).map(|r| (**r).clone()))
            .collect())
    }
    fn insert_attempt(&mut self, row: AttemptRow) -> Result<()> {
        put_indexed!(self, set_attempt, Attempt, row.id, Some(row));
        Ok(())
    }
    fn attempts(&mut self, effect: u64) -> Result<Vec<AttemptRow>> {
        Ok(ids_of(&self.state.ix.attempts_of, effect)
            .filter_map(|id| self.state.attempts.get(&id).map(|r| (**r).clone()))
            .collect())
    }
    fn next_outbox_due(&mut self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        Ok(self
            .state
            .ix
            .outbox_delayed
            .range((Bound::Excluded((moment(now), u64::MAX)), Bound::Unbounded))
            .next()
            .and_then(|(_, id)| self.state.outbox.get(id))
            .and_then(|o| o.not_before))
    }

    fn insert_audit(&mut self, row: AuditRow) -> Result<()> {
        self.state.push_audit(row);
        Ok(())
    }
    fn audit(&mut self, instance: Option<InstanceId>) -> Result<Vec<AuditRow>> {
        let audit = &self.state.audit;
        Ok(match instance {
            Some(i) => self
                .state
                .ix
                .audit_of
                .get(&i)
                .into_iter()
                .flatten()
                .filter_map(|position| audit.get(*position))
                .collect(),
            None => audit.iter().map(|stored| audit.row(stored)).collect(),
        })
    }

    fn key(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self.state.keys.get(key).cloned())
    }
    fn put_key(&mut self, key: &str, value: &str) -> Result<()> {
        put!(self, keys, Key, key.to_string(), value.to_string());
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
        put!(self, counters, Counter, key.to_string(), n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The next number of a xorshift sequence.
    fn xorshift(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    /// An id for the random tests: a low one, one just past `edge` (the end of the slots or
    /// bits), one anywhere below `wide`, or one of the last three.
    fn some_id(seed: u64, low: u64, edge: u64, wide: u64) -> u64 {
        match seed % 4 {
            0 => seed % low,
            1 => edge + seed % (2 * ID_SLACK),
            2 => seed % wide,
            _ => u64::MAX - seed % 3,
        }
    }

    /// Ids drawn in a failed transaction or under a savepoint rolled back are drawn again.
    #[test]
    fn rolled_back_ids_are_drawn_again() -> Result<()> {
        let store = MemoryStore::new();
        let first = store.transaction(&mut |tx| tx.next_id(Sequence::Timer))?;
        let failed = store.transaction(&mut |tx| {
            tx.next_id(Sequence::Timer)?;
            tx.next_id(Sequence::Audit)?;
            Err::<(), _>(Error::Conflict)
        });
        assert!(failed.is_err());
        let (timer, audit) = store.transaction(&mut |tx| {
            Ok((tx.next_id(Sequence::Timer)?, tx.next_id(Sequence::Audit)?))
        })?;
        assert_eq!((timer, audit), (first + 1, 1));
        let (inner, kept, again) = store.transaction(&mut |tx| {
            tx.savepoint()?;
            let kept = tx.next_id(Sequence::Audit)?;
            tx.savepoint()?;
            let inner = tx.next_id(Sequence::Timer)?;
            tx.rollback_to_savepoint()?;
            tx.release_savepoint()?;
            Ok((inner, kept, tx.next_id(Sequence::Timer)?))
        })?;
        assert_eq!((inner, kept, again), (first + 2, 2, first + 2));
        Ok(())
    }

    /// Moments sort as the times do: before 1970, in a leap second, at chrono's ends.
    #[test]
    fn moments_sort_as_times_do() {
        use chrono::{NaiveDate, TimeZone};
        let at = |y, mo, d, h, mi, s, nanos| {
            let naive = NaiveDate::from_ymd_opt(y, mo, d)
                .and_then(|d| d.and_hms_nano_opt(h, mi, s, nanos))
                .expect("a valid time");
            Utc.from_utc_datetime(&naive)
        };
        let mut times = vec![
            DateTime::<Utc>::MIN_UTC,
            at(1600, 1, 1, 0, 0, 0, 0),
            at(1969, 12, 31, 23, 59, 59, 999_999_999),
            at(1970, 1, 1, 0, 0, 0, 0),
            at(1970, 1, 1, 0, 0, 0, 1),
            at(2016, 12, 31, 23, 59, 59, 0),
            at(2016, 12, 31, 23, 59, 59, 1_500_000_000),
            at(2017, 1, 1, 0, 0, 0, 0),
            at(2026, 11, 29, 9, 0, 0, 0),
            at(2300, 1, 1, 0, 0, 0, 0),
            DateTime::<Utc>::MAX_UTC,
        ];
        let sorted = times.clone();
        times.reverse();
        times.sort_by_key(|t| moment(*t));
        assert_eq!(times, sorted);
        for pair in sorted.windows(2) {
            assert!(moment(pair[0]) < moment(pair[1]), "{pair:?}");
        }
    }

    /// An `IdSet` answers as a `BTreeSet` does, for ids near the bitmap, far beyond it, and
    /// ids of the tree that later get a bit; it walks its ids in order.
    #[test]
    fn id_set_agrees_with_a_tree() {
        let mut set = IdSet::default();
        let mut tree: BTreeSet<u64> = BTreeSet::new();
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for step in 0..20_000u64 {
            let seed = xorshift(&mut seed);
            let id = some_id(seed, 130, set.bits(), 300_000);
            if (seed >> 40).is_multiple_of(3) {
                assert_eq!(set.remove(id), tree.remove(&id), "step {step}: remove {id}");
            } else {
                assert_eq!(set.insert(id), tree.insert(id), "step {step}: insert {id}");
            }
            if step.is_multiple_of(1_000) {
                assert!(set.iter().eq(tree.iter().copied()), "step {step}");
            }
        }
        assert!(set.far.iter().all(|id| *id >= set.bits()));
        assert!(!set.far.is_empty(), "the far ids are in the tree");
        assert!(set.iter().eq(tree.iter().copied()));
        for id in tree.clone() {
            assert!(set.remove(id));
        }
        assert_eq!(set.iter().next(), None);
        assert!(
            set.nonzero.iter().all(|w| *w == 0),
            "no word is marked as holding ids"
        );
    }

    /// A `WordSet` holds what a `BTreeSet` holds, in the same order, and keeps no empty word.
    #[test]
    fn word_set_agrees_with_a_tree() {
        let mut set = WordSet::default();
        let mut tree: BTreeSet<u64> = BTreeSet::new();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for step in 0..20_000u64 {
            let seed = xorshift(&mut seed);
            let id = some_id(seed, 130, 5_000, 300_000);
            if (seed >> 40).is_multiple_of(3) {
                set.remove(id);
                tree.remove(&id);
            } else {
                set.insert(id);
                tree.insert(id);
            }
            if step.is_multiple_of(500) {
                assert!(set.iter().eq(tree.iter().copied()), "step {step}");
            }
        }
        assert!(set.iter().eq(tree.iter().copied()));
        assert!(set.words.values().all(|word| *word != 0), "no empty word");
        for id in tree {
            set.remove(id);
        }
        assert!(set.is_empty());
    }

    /// An `IdMap` answers as a `BTreeMap` does, for ids near the slots, far beyond them, and
    /// ids of the tree that later get a slot.
    #[test]
    fn id_map_agrees_with_a_tree() {
        let mut map: IdMap<u64> = IdMap::default();
        let mut tree: BTreeMap<u64, u64> = BTreeMap::new();
        let mut seed: u64 = 0x853c_49e6_748f_ea9b;
        let mut highest_near = 0;
        for step in 0..20_000u64 {
            let seed = xorshift(&mut seed);
            let id = some_id(seed, 64, map.capacity(), 200_000);
            if (seed >> 40).is_multiple_of(3) {
                assert_eq!(
                    map.remove(&id),
                    tree.remove(&id),
                    "step {step}: remove {id}"
                );
            } else {
                assert_eq!(
                    map.insert(id, step),
                    tree.insert(id, step),
                    "step {step}: insert {id}"
                );
                if id < u64::MAX / 2 {
                    highest_near = highest_near.max(id);
                }
            }
            assert_eq!(map.get(&id), tree.get(&id));
        }
        assert!(map.far.keys().all(|k| *k >= map.capacity()));
        assert!(
            map.capacity() <= (highest_near / ID_CHUNK as u64 + 1) * ID_CHUNK as u64,
            "only ids near the slots made them grow"
        );
        assert!(!map.far.is_empty(), "the far ids are in the tree");
        assert!(map.values().copied().eq(tree.values().copied()));
        for from in [0, 63, 5_000, 150_000, u64::MAX - 1] {
            assert!(
                map.range_from(from)
                    .copied()
                    .eq(tree.range(from..).map(|(_, v)| *v)),
                "from {from}"
            );
        }
        if let Some(v) = map.get_mut(&(u64::MAX - 1)) {
            *v = 7;
        }
        assert!(map.contains_key(&(u64::MAX - 1)) == tree.contains_key(&(u64::MAX - 1)));
    }
}
