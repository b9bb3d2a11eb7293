//! Scopes in the engine: a scope's flush seals only the pending batch that holds its
//! payloads (after a short wait for the other live scopes, so they share requests), waits only
//! for the batches holding them, and stops them when its time runs out.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Shared, Slot, State};
use crate::backend::Backend;
use crate::failure::{Failure, FailureKind, codes};
use crate::stats::Counters;
use crate::unprocessed::{Unprocessed, UnprocessedReason};

/// How long a scope's flush waits, at most, for the other live scopes to flush too, so that
/// concurrent units of work share requests. A flush when every live scope is flushing (a
/// lone scope, say) does not wait.
pub(crate) const SCOPE_GATHER: Duration = Duration::from_millis(10);

/// What the engine keeps for one live [`Scope`](crate::Scope).
pub(crate) struct ScopeState<P> {
    /// Outstanding batches that hold its payloads, with their tags.
    pub(crate) batches: BTreeMap<u64, Vec<Option<u64>>>,
    /// Its payloads that ended undelivered, for its flush.
    pub(crate) unprocessed: Vec<Unprocessed<P>>,
}

impl<P> Default for ScopeState<P> {
    fn default() -> Self {
        Self {
            batches: BTreeMap::new(),
            unprocessed: Vec::new(),
        }
    }
}

/// What a scope's flush does with the requests carrying its payloads when its time is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutOfTime {
    /// Stops them all: the scope's payloads come back, and so do the others' they carry.
    StopAll,
    /// Stops those that no one else waits for (no other scope still flushing in time, none
    /// of the dispatcher's own payloads), and leaves the others running for those they
    /// carry; the scope's payloads in them are of unknown outcome.
    LeaveShared,
}

impl<B: Backend> State<B> {
    /// Sets the stop of the outstanding batches holding scope `id`'s payloads (with
    /// [`OutOfTime::LeaveShared`], of those no one else waits for), and returns the tags of
    /// its payloads in the batches left running, which the scope no longer waits for.
    pub(crate) fn stop_scope(&mut self, id: u64, out_of_time: OutOfTime) -> Vec<Option<u64>> {
        let Some(scope) = self.scopes.get_mut(&id) else {
            return Vec::new();
        };
        let mut left_running = Vec::new();
        let mut detached = Vec::new();
        for (seq, tags) in &scope.batches {
            let Some(batch) = self.stops.get_mut(seq) else {
                continue;
            };
            batch.waiting.retain(|scope| *scope != id);
            let others_wait = !batch.waiting.is_empty() || batch.unscoped;
            if out_of_time == OutOfTime::LeaveShared && others_wait {
                left_running.extend_from_slice(tags);
                detached.push(*seq);
            } else {
                batch.stop.send_replace(true);
            }
        }
        for seq in detached {
            scope.batches.remove(&seq);
            self.detached.entry(seq).or_default().push(id);
        }
        left_running
    }
}

impl<B: Backend> Shared<B> {
    /// Opens a scope; see [`Dispatcher::scope`](crate::Dispatcher::scope).
    pub(crate) fn open_scope(&self) -> u64 {
        let mut state = self.lock();
        let id = state.next_scope;
        state.next_scope += 1;
        state.scopes.insert(id, ScopeState::default());
        id
    }

    /// Closes scope `id`: what it still holds becomes the dispatcher's.
    pub(crate) fn close_scope(&self, id: u64) {
        let mut state = self.lock();
        state.flushing.remove(&id);
        self.scopes_changed.notify_waiters();
        let Some(scope) = state.scopes.remove(&id) else {
            return;
        };
        let held = scope.unprocessed.len()
            + scope.batches.len()
            + usize::from(state.pending.holds_scope(id));
        if held > 0 {
            tracing::warn!(
                backend = B::SPEC.name,
                unprocessed = scope.unprocessed.len(),
                batches = scope.batches.len(),
                "scope dropped before its flush: the dispatcher's flush hands back its failures"
            );
        }
        state.unprocessed.extend(scope.unprocessed);
    }

    /// Seals the payloads scope `id` has pending, waits for the batches holding its payloads,
    /// and hands back those that ended undelivered. By `deadline`, what of the scope is still
    /// pending is handed back, and the batches in flight are stopped as `out_of_time` says;
    /// the tags of its payloads in batches left running come second.
    pub(crate) async fn flush_scope(
        &self,
        id: u64,
        deadline: Option<tokio::time::Instant>,
        out_of_time: OutOfTime,
    ) -> (Vec<Unprocessed<B::Payload>>, Vec<Option<u64>>) {
        let mut in_flight = Vec::new();
        let finished = match deadline {
            None => {
                self.drain_scope(id).await;
                true
            }
            Some(deadline) => tokio::time::timeout_at(deadline, self.drain_scope(id))
                .await
                .is_ok(),
        };
        if !finished {
            tracing::warn!(
                backend = B::SPEC.name,
                "scope out of time: handing back what is not delivered"
            );
            let left_running = self.stop_scope(id, out_of_time);
            // Stopped batches hand back at once; the scope waits for no other.
            self.drain_scope(id).await;
            in_flight = left_running;
        }
        let mut state = self.lock();
        state.flushing.remove(&id);
        state.ledger.release_scope(id);
        let unprocessed = state
            .scopes
            .get_mut(&id)
            .map(|scope| std::mem::take(&mut scope.unprocessed))
            .unwrap_or_default();
        tracing::debug!(
            backend = B::SPEC.name,
            unprocessed = unprocessed.len(),
            in_flight = in_flight.len(),
            "scope flush complete"
        );
        (unprocessed, in_flight)
    }

    /// Seals the pending batch while it holds scope `id`'s payloads (once every live scope
    /// flushes, or [`SCOPE_GATHER`] has passed), then waits until no outstanding batch holds
    /// any.
    async fn drain_scope(&self, id: u64) {
        self.lock().flushing.insert(id);
        self.scopes_changed.notify_waiters();
        let gathered = tokio::time::Instant::now() + SCOPE_GATHER;
        while self.lock().pending.holds_scope(id) {
            loop {
                let changed = self.scopes_changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                {
                    let state = self.lock();
                    // Every live scope is flushing: nobody else is about to add payloads.
                    let all_in = state
                        .scopes
                        .keys()
                        .all(|scope| state.flushing.contains(scope));
                    // Another flush may have sealed them already, and be done.
                    let sealed = !state.pending.holds_scope(id);
                    if all_in
                        || sealed
                        || state.pending.is_full()
                        || tokio::time::Instant::now() >= gathered
                    {
                        break;
                    }
                }
                tokio::select! {
                    () = changed => {}
                    () = tokio::time::sleep_until(gathered) => {}
                }
            }
            self.seal(Slot::Wait, |pending| pending.holds_scope(id))
                .await;
        }
        loop {
            let notified = self.batch_done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let state = self.lock();
                let idle = state
                    .scopes
                    .get(&id)
                    .is_none_or(|scope| scope.batches.is_empty());
                if idle && !state.pending.holds_scope(id) {
                    return;
                }
            }
            self.parked.drive_while(notified).await;
        }
    }

    /// Stops the batches holding scope `id`'s payloads as `out_of_time` says, and takes its
    /// payloads out of the pending batch and hands them back, leaving the others' there.
    /// Returns the tags of its payloads in the batches left running.
    fn stop_scope(&self, id: u64, out_of_time: OutOfTime) -> Vec<Option<u64>> {
        let mut state = self.lock();
        let left_running = state.stop_scope(id, out_of_time);
        if !state.pending.holds_scope(id) {
            return left_running;
        }
        let why = "the scope ran out of time before its payload was sent";
        let failure = Failure::new(FailureKind::Transient, codes::ABANDONED, why);
        let items = state.pending.take();
        let mut mine = 0;
        for item in items {
            let item = if item.scope == Some(id) {
                mine += 1;
                item
            } else {
                // A part of what fitted fits: nothing comes back here in practice.
                match self.try_add(&mut state, item) {
                    None => continue,
                    Some(item) => item,
                }
            };
            let mut unprocessed = Unprocessed::new(
                item.payload,
                item.tag,
                UnprocessedReason::Abandoned,
                failure.clone(),
                0,
            );
            unprocessed.scope = item.scope;
            state.hand_back(unprocessed);
        }
        Counters::add(&self.counters.unprocessed, mine);
        tracing::warn!(backend = B::SPEC.name, entries = mine, "{why}");
        left_running
    }
}
