//! The pending batch: what the next request will carry. Packing by count and bytes, dedup,
//! merge slots and the one-entry-per-ordering-key rule. Plain data: no runtime, no lock.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use crate::backend::{Backend, BatchEntry, Grouping, Prepared};
use crate::spec::{DedupPolicy, Limits, MergeLimit};

mod dedup;

use dedup::{ByHash, Duplicates};

/// The most entries a new pending batch reserves room for at once (as many as the last).
const MAX_RESERVED_ENTRIES: usize = 1_000;

/// One accepted payload with everything the engine needs to know about it.
pub(crate) struct Item<B: Backend> {
    pub(crate) payload: B::Payload,
    pub(crate) tag: Option<u64>,
    /// The [`Scope`](crate::Scope) it was submitted through.
    pub(crate) scope: Option<u64>,
    pub(crate) entry: B::Entry,
    pub(crate) size: usize,
    pub(crate) ordering_key: Option<String>,
    /// Dedup keys or a merge key, as the backend said: never both.
    pub(crate) grouping: Grouping,
    /// The request entry it counts as, once in a batch (see [`BatchEntry`](crate::BatchEntry)).
    pub(crate) slot: usize,
    /// Attempts that failed for a reason other than throttling.
    pub(crate) failures: u32,
}

impl<B: Backend> Item<B> {
    /// The item as the backend sees it in a request.
    pub(crate) fn batch_entry(&self) -> BatchEntry<'_, B> {
        BatchEntry {
            entry: &self.entry,
            payload: &self.payload,
            slot: self.slot,
        }
    }

    pub(crate) fn new(
        payload: B::Payload,
        tag: Option<u64>,
        scope: Option<u64>,
        prepared: Prepared<B::Entry>,
    ) -> Self {
        Self {
            payload,
            tag,
            scope,
            entry: prepared.entry,
            size: prepared.size,
            ordering_key: prepared.ordering_key,
            grouping: prepared.grouping,
            slot: 0,
            failures: 0,
        }
    }

    /// The keys two pending items are duplicates by.
    pub(crate) fn dedup_keys(&self) -> &[String] {
        match (&self.grouping, &self.ordering_key) {
            (Grouping::Dedup(keys), _) => keys,
            (Grouping::DedupByOrderingKey, Some(key)) => std::slice::from_ref(key),
            _ => &[],
        }
    }

    /// The key of the request entry it merges into, if it merges.
    pub(crate) fn merge_key(&self) -> Option<&str> {
        match &self.grouping {
            Grouping::Merge { key, .. } => Some(key),
            _ => None,
        }
    }

    /// Bytes it adds to a merged request entry (its size, when it does not merge).
    pub(crate) fn merged_size(&self) -> usize {
        match &self.grouping {
            Grouping::Merge { merged_size, .. } => *merged_size,
            _ => self.size,
        }
    }
}

/// What [`Pending::try_add`] did.
pub(crate) enum Added<B: Backend> {
    /// The item is in the batch (`first`: as its only entry, so a linger timer starts), or
    /// dropped as a duplicate.
    Done { duplicates: usize, first: bool },
    /// The batch has no room for it: seal the batch and add it to the next.
    NoRoom { item: Item<B>, duplicates: usize },
}

/// The pending batch.
pub(crate) struct Pending<B: Backend> {
    items: Vec<Item<B>>,
    bytes: usize,
    /// Entries of the request the batch will make: merged entries count once.
    slots: usize,
    /// Merge key to its current merged entry.
    merge_slots: HashMap<String, MergeSlot>,
    /// The slot the next entry that does not merge takes.
    next_slot: usize,
    /// The hash of each dedup key to the index in `items` of the item that has it. A key is
    /// not copied for every entry; two keys of one hash only start a new request early.
    keys: ByHash,
    /// The hashes of the ordering keys in `items` and the slot each is in, kept only for
    /// backends that allow one request entry per key in a request (entries merged into one
    /// go or fail together). Two keys of one hash only start a new request early: kept by
    /// hash, a key is not copied for every entry.
    ordering_keys: ByHash,
    /// Hashes the dedup and ordering keys.
    hasher: RandomState,
    /// Changes whenever the batch is taken, so a linger timer knows whether its batch left.
    generation: u64,
    policy: DedupPolicy,
    /// The limits in force: the configured ones, lowered by the destination's.
    limits: Limits,
    configured: Limits,
    merge: MergeLimit,
}

/// Each limit the lower of the two.
pub(crate) fn lowest(a: Limits, b: Limits) -> Limits {
    Limits::new(
        a.max_entries.min(b.max_entries),
        a.max_request_bytes.min(b.max_request_bytes),
        a.max_entry_bytes.min(b.max_entry_bytes),
    )
}

/// A merged request entry that later entries may still join.
#[derive(Clone, Copy)]
struct MergeSlot {
    slot: usize,
    entries: usize,
    bytes: usize,
}

impl<B: Backend> Pending<B> {
    pub(crate) fn new(policy: DedupPolicy, limits: Limits, merge: MergeLimit) -> Self {
        Self {
            items: Vec::new(),
            bytes: 0,
            slots: 0,
            merge_slots: HashMap::new(),
            next_slot: 0,
            keys: ByHash::default(),
            ordering_keys: ByHash::default(),
            hasher: RandomState::new(),
            generation: 0,
            policy,
            limits,
            configured: limits,
            merge,
        }
    }

    /// Keeps requests within the destination's own limits too.
    pub(crate) fn cap(&mut self, destination: Limits) {
        self.limits = lowest(self.configured, destination);
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether it holds an item submitted through scope `scope`.
    pub(crate) fn holds_scope(&self, scope: u64) -> bool {
        self.items.iter().any(|item| item.scope == Some(scope))
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether the batch holds the most entries a request takes and no merged entry (which
    /// later entries could still grow).
    pub(crate) fn is_full(&self) -> bool {
        self.slots >= self.limits.max_entries && self.merge_slots.is_empty()
    }

    /// Takes the batch out, leaving an empty one of the next generation.
    pub(crate) fn take(&mut self) -> Vec<Item<B>> {
        self.bytes = 0;
        self.slots = 0;
        self.merge_slots.clear();
        self.next_slot = 0;
        self.keys.clear();
        self.ordering_keys.clear();
        self.generation += 1;
        // The next batch is likely as full as this one: room for it up front spares growing
        // the list entry by entry.
        let room = self.items.len().min(MAX_RESERVED_ENTRIES);
        std::mem::replace(&mut self.items, Vec::with_capacity(room))
    }

    /// Adds `item` unless the batch has no room for it. Applies dedup.
    pub(crate) fn try_add(&mut self, item: Item<B>) -> Added<B> {
        // Kept small, so that the item is not copied again on its way in: duplicates are
        // settled apart.
        let mut dropped = 0;
        if self.policy != DedupPolicy::Off && !item.dedup_keys().is_empty() {
            match self.settle_duplicates(&item) {
                Duplicates::None => {}
                Duplicates::Removed(count) => dropped = count,
                Duplicates::KeptFirst => {
                    return Added::Done {
                        duplicates: 1,
                        first: false,
                    };
                }
                Duplicates::ReplaceAt(index) => {
                    self.replace(index, item);
                    return Added::Done {
                        duplicates: 1,
                        first: false,
                    };
                }
                Duplicates::SameHash => {
                    return Added::NoRoom {
                        item,
                        duplicates: 0,
                    };
                }
            }
        }
        match self.push(item) {
            None => Added::Done {
                duplicates: dropped,
                first: self.items.len() == 1,
            },
            Some(item) => Added::NoRoom {
                item,
                duplicates: dropped,
            },
        }
    }

    /// Appends `item` if it fits; hands it back if not.
    fn push(&mut self, mut item: Item<B>) -> Option<Item<B>> {
        let merge = self.merge;
        let merges_into = item
            .merge_key()
            .and_then(|key| self.merge_slots.get(key))
            .filter(|open| {
                let overhead = if open.entries == 1 { merge.overhead } else { 0 };
                open.entries < merge.entries
                    && open.bytes + overhead + item.merged_size() <= merge.bytes
            })
            .copied();
        let ordering_hash = match &item.ordering_key {
            Some(key) if !B::SPEC.keeps_order_within_request => Some(self.hasher.hash_one(key)),
            _ => None,
        };
        if let Some(hash) = ordering_hash
            && let Some(&slot) = self.ordering_keys.get(&hash)
            && merges_into.is_none_or(|open| open.slot != slot)
        {
            // The key already has an entry in this request: the next request takes this one.
            return Some(item);
        }
        let (slots, bytes) = match merges_into {
            Some(open) if open.entries == 1 => (self.slots, item.merged_size() + merge.overhead),
            Some(_) => (self.slots, item.merged_size()),
            None => (self.slots + 1, item.size),
        };
        let max_bytes = if item.merge_key().is_some() {
            self.limits.max_request_bytes.min(merge.batch_bytes)
        } else {
            self.limits.max_request_bytes
        };
        if slots > self.limits.max_entries || self.bytes + bytes > max_bytes {
            return Some(item);
        }
        item.slot = merges_into.map_or(self.next_slot, |open| open.slot);
        if merges_into.is_none() {
            self.next_slot += 1;
        }
        if let Some(key) = item.merge_key() {
            match self.merge_slots.get_mut(key) {
                Some(open) if merges_into.is_some() => {
                    open.entries += 1;
                    open.bytes += bytes;
                }
                _ => {
                    let open = MergeSlot {
                        slot: item.slot,
                        entries: 1,
                        bytes,
                    };
                    self.merge_slots.insert(key.to_owned(), open);
                }
            }
        }
        self.slots = slots;
        if self.policy != DedupPolicy::Off {
            for key in item.dedup_keys() {
                self.keys
                    .insert(self.hasher.hash_one(key), self.items.len());
            }
        }
        if let Some(hash) = ordering_hash {
            self.ordering_keys.insert(hash, item.slot);
        }
        self.bytes += bytes;
        self.items.push(item);
        None
    }

    fn refresh_ordering_keys(&mut self) {
        if !B::SPEC.keeps_order_within_request {
            self.ordering_keys = self
                .items
                .iter()
                .filter_map(|item| {
                    let key = item.ordering_key.as_ref()?;
                    Some((self.hasher.hash_one(key), item.slot))
                })
                .collect();
        }
    }
}

#[cfg(all(test, feature = "test-util"))]
mod tests;
