//! Dedup in the pending batch: an item's duplicates found by the hashes of their keys, and
//! the policy applied to them.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use super::{Item, Pending};
use crate::backend::Backend;
use crate::spec::DedupPolicy;

/// What the dedup policy made of an item's pending duplicates.
pub(super) enum Duplicates {
    /// It has none.
    None,
    /// This many were removed; the item goes in as a new entry.
    Removed(usize),
    /// It is dropped for the one already pending.
    KeptFirst,
    /// It takes the place of its one duplicate, at this index.
    ReplaceAt(usize),
    /// A key of another item has the hash of one of its keys: the next request takes it.
    SameHash,
}

impl<B: Backend> Pending<B> {
    /// Finds the pending duplicates of `item` and applies the dedup policy to them: removes
    /// them, or says which one `item` takes the place of.
    pub(super) fn settle_duplicates(&mut self, item: &Item<B>) -> Duplicates {
        let mut duplicates: Vec<usize> = Vec::new();
        for key in item.dedup_keys() {
            match self.keys.get(&self.hasher.hash_one(key)) {
                Some(&index) if self.items[index].dedup_keys().contains(key) => {
                    duplicates.push(index);
                }
                Some(_) => return Duplicates::SameHash,
                None => {}
            }
        }
        if duplicates.is_empty() {
            return Duplicates::None;
        }
        duplicates.sort_unstable();
        duplicates.dedup();
        if self.policy == DedupPolicy::KeepFirst {
            tracing::warn!(
                backend = B::SPEC.name,
                keys = ?item.dedup_keys(),
                "duplicate of a pending payload dropped (the first one is kept)"
            );
            return Duplicates::KeptFirst;
        }
        tracing::warn!(
            backend = B::SPEC.name,
            keys = ?item.dedup_keys(),
            replaced = duplicates.len(),
            "pending payload replaced by a later one with the same key"
        );
        if let [index] = duplicates[..]
            && self.bytes - self.items[index].size + item.size <= self.limits.max_request_bytes
        {
            return Duplicates::ReplaceAt(index);
        }
        for &index in duplicates.iter().rev() {
            let removed = self.items.remove(index);
            self.bytes -= removed.size;
            self.slots -= 1;
        }
        let hasher = &self.hasher;
        self.keys = self
            .items
            .iter()
            .enumerate()
            .flat_map(|(index, item)| {
                item.dedup_keys()
                    .iter()
                    .map(move |key| (hasher.hash_one(key), index))
            })
            .collect();
        self.refresh_ordering_keys();
        Duplicates::Removed(duplicates.len())
    }

    /// Puts `item` in the place of the item at `index`, its one duplicate.
    pub(super) fn replace(&mut self, index: usize, item: Item<B>) {
        self.bytes = self.bytes - self.items[index].size + item.size;
        let old = std::mem::replace(&mut self.items[index], item);
        for key in old.dedup_keys() {
            self.keys.remove(&self.hasher.hash_one(key));
        }
        for key in self.items[index].dedup_keys() {
            self.keys.insert(self.hasher.hash_one(key), index);
        }
        self.refresh_ordering_keys();
    }
}

/// A map from a key's hash, computed once, to an index.
pub(super) type ByHash = HashMap<u64, usize, BuildHasherDefault<HashOnce>>;

/// Hashes a hash: passes the `u64` through, instead of hashing it a second time.
#[derive(Default)]
pub(super) struct HashOnce(u64);

impl Hasher for HashOnce {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64`s are hashed; bytes are folded in for completeness.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }
}
