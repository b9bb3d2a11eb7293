//! The ordering-key ledger: every rule that keeps the entries of one ordering key (an SQS
//! FIFO message group, a Kinesis partition key in ordered mode, a DynamoDB item key) in
//! submission order across requests.
//!
//! - A batch waits for the earlier batches that hold any of its keys: a key is never in two
//!   requests in flight.
//! - A key whose entry ended undelivered holds its later entries back until a flush hands
//!   the failure to the user.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use tokio::sync::watch;

use crate::backend::Backend;
use crate::failure::Failure;
use crate::pending::Item;

#[derive(Default)]
pub(crate) struct Ledger {
    /// An ordering key's hash to the completion signal of the latest batch holding it. Two
    /// keys of one hash only make a batch wait for one it need not: kept by hash, a key is
    /// not copied for every entry.
    tails: HashMap<u64, (u64, watch::Receiver<bool>)>,
    /// Hashes the ordering keys for `tails`.
    hasher: RandomState,
    /// Ordering keys whose entry ended undelivered, with the batch it was in and the scope
    /// it was submitted through.
    failed: HashMap<String, Failed>,
}

/// Where a key's undelivered entry was.
struct Failed {
    seq: u64,
    scope: Option<u64>,
    failure: Failure,
}

/// A sealed batch's place in the ledger.
pub(crate) struct Turn {
    /// Completion signals of the earlier batches it must wait for.
    pub(crate) waits_for: Vec<watch::Receiver<bool>>,
    /// Its own completion signal, for the later batches of its keys.
    pub(crate) done: watch::Sender<bool>,
}

impl Ledger {
    /// Registers batch `seq` holding `items` as the latest of each of their keys.
    pub(crate) fn register<B: Backend>(&mut self, seq: u64, items: &[Item<B>]) -> Turn {
        let (done, done_rx) = watch::channel(false);
        let mut waits_for = Vec::new();
        for key in items.iter().filter_map(|item| item.ordering_key.as_ref()) {
            let hash = self.hasher.hash_one(key);
            match self.tails.insert(hash, (seq, done_rx.clone())) {
                // A key met earlier in this batch.
                Some((tail, _)) if tail == seq => {}
                Some((_, earlier)) => waits_for.push(earlier),
                None => {}
            }
        }
        Turn { waits_for, done }
    }

    /// Splits batch `seq`'s items into those to send and those held back behind a key that
    /// failed in an earlier batch (with that failure).
    #[allow(clippy::type_complexity)]
    pub(crate) fn hold_back<B: Backend>(
        &self,
        seq: u64,
        items: Vec<Item<B>>,
    ) -> (Vec<Item<B>>, Vec<(Item<B>, Failure)>) {
        if self.failed.is_empty() {
            return (items, Vec::new());
        }
        let mut send = Vec::with_capacity(items.len());
        let mut held = Vec::new();
        for item in items {
            let blocker = item
                .ordering_key
                .as_ref()
                .and_then(|key| self.failed.get(key))
                .filter(|failed| failed.seq < seq);
            match blocker {
                Some(failed) => {
                    let failure = failed.failure.clone();
                    held.push((item, failure));
                }
                None => send.push(item),
            }
        }
        (send, held)
    }

    /// Batch `seq` completed; `failed` are the keys whose entry it could not deliver.
    pub(crate) fn complete(&mut self, seq: u64, failed: HashMap<String, (Option<u64>, Failure)>) {
        for (key, (scope, failure)) in failed {
            let failed = Failed {
                seq,
                scope,
                failure,
            };
            self.failed.insert(key, failed);
        }
        self.tails.retain(|_, (tail, _)| *tail != seq);
    }

    /// A flush handed the failures of the batches before `seq` to the user: their keys no
    /// longer hold anything back.
    pub(crate) fn release_before(&mut self, seq: u64) {
        self.failed.retain(|_, failed| failed.seq >= seq);
    }

    /// A scope's flush handed its failures to the user: the keys its entries failed on no
    /// longer hold anything back.
    pub(crate) fn release_scope(&mut self, scope: u64) {
        self.failed.retain(|_, failed| failed.scope != Some(scope));
    }
}
