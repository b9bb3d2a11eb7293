//! What a batch could not deliver: each payload with its reason, and the ordering keys that
//! failed.

use std::collections::HashMap;

use crate::backend::Backend;
use crate::failure::{Failure, FailureKind, codes};
use crate::pending::Item;
use crate::unprocessed::{Unprocessed, UnprocessedReason};

/// What one batch could not deliver, and the ordering keys that failed in it.
pub(crate) struct Undelivered<B: Backend> {
    pub(crate) items: Vec<Unprocessed<B::Payload>>,
    /// Keys whose entry failed, with that entry's scope and failure.
    pub(crate) failed_keys: HashMap<String, (Option<u64>, Failure)>,
}

impl<B: Backend> Default for Undelivered<B> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            failed_keys: HashMap::new(),
        }
    }
}

impl<B: Backend> Undelivered<B> {
    pub(crate) fn push(
        &mut self,
        item: Item<B>,
        reason: UnprocessedReason,
        failure: Failure,
        attempts: u32,
    ) {
        if let Some(key) = item.ordering_key
            && reason != UnprocessedReason::HeldBack
        {
            self.failed_keys
                .entry(key)
                .or_insert_with(|| (item.scope, failure.clone()));
        }
        let mut unprocessed = Unprocessed::new(item.payload, item.tag, reason, failure, attempts);
        unprocessed.scope = item.scope;
        self.items.push(unprocessed);
    }

    /// Hands back `items` unsent because of a [`Stop`].
    pub(crate) fn abandon(&mut self, items: Vec<Item<B>>, attempts: u32, why: &str) {
        tracing::warn!(entries = items.len(), "{why}");
        let failure = Failure::new(FailureKind::Transient, codes::ABANDONED, why);
        for item in items {
            self.push(
                item,
                UnprocessedReason::Abandoned,
                failure.clone(),
                attempts,
            );
        }
    }

    /// `items` less those behind an undelivered entry of their ordering key, which are
    /// held back here: an entry is never sent past an earlier one of its key.
    pub(super) fn unblocked(
        &mut self,
        items: impl IntoIterator<Item = Item<B>>,
        attempts: u32,
    ) -> Vec<Item<B>> {
        let mut free = Vec::new();
        for item in items {
            match self.blocker(&item) {
                Some(failure) => self.push(item, UnprocessedReason::HeldBack, failure, attempts),
                None => free.push(item),
            }
        }
        free
    }

    /// The failure of an earlier entry of `item`'s key, which holds `item` back.
    fn blocker(&self, item: &Item<B>) -> Option<Failure> {
        let key = item.ordering_key.as_ref()?;
        self.failed_keys
            .get(key)
            .map(|(_, failure)| failure.clone())
    }
}

/// Hands back `todo`, whose throttle budget ran out while it waited for its pace.
pub(super) fn out_of_patience<B: Backend>(
    todo: Vec<Item<B>>,
    last_throttle: Option<Failure>,
    attempts: u32,
    out: &mut Undelivered<B>,
) {
    let failure = last_throttle.unwrap_or_else(|| {
        Failure::new(
            FailureKind::Throttling,
            codes::THROTTLE_BUDGET_SPENT,
            "the destination refused every request for the whole throttle budget; not sent",
        )
    });
    tracing::warn!(
        entries = todo.len(),
        attempts,
        "the throttle budget ran out while waiting for the pace"
    );
    for item in todo {
        out.push(
            item,
            UnprocessedReason::DeadlineExceeded,
            failure.clone(),
            attempts,
        );
    }
}
