//! Sending one sealed batch: send, sort the outcomes, back off, retry only what failed,
//! give up within the bounds, and catch a backend's panic. Everything that does not end
//! delivered is collected, with the reason, in [`Undelivered`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::backend::{Backend, BatchEntry};
use crate::catch::CatchUnwind;
use crate::config::RetryPolicy;
use crate::failure::{EntryOutcome, Failure, FailureKind, codes};
use crate::pace::{Pacer, Patience, Request};
use crate::pending::Item;
use crate::stats::Counters;
use crate::unprocessed::{Unprocessed, UnprocessedReason};

/// What sending needs from the dispatcher.
pub(crate) struct Sender<'a, B: Backend> {
    pub(crate) backend: &'a B,
    pub(crate) retry: &'a RetryPolicy,
    pub(crate) counters: &'a Counters,
    pub(crate) rng: &'a Mutex<fastrand::Rng>,
    pub(crate) stop: Stop<'a>,
    pub(crate) pacer: Option<&'a Pacer>,
    pub(crate) on_delivered: Option<&'a (dyn Fn(u64) + Send + Sync)>,
}

impl<B: Backend> Sender<'_, B> {
    /// Sends `todo` until every entry is delivered or in `out`.
    pub(crate) async fn send(&self, mut todo: Vec<Item<B>>, out: &mut Undelivered<B>) {
        let retry = self.retry;
        let started = Instant::now();
        let mut attempt = 1;
        // The last throttling of this batch's entries, handed back with them when their
        // throttle budget runs out while they wait for their pace.
        let mut last_throttle: Option<Failure> = None;
        while !todo.is_empty() {
            if self.stop.is_set() {
                let why = "the dispatcher was told to stop before sending";
                out.abandon(todo, attempt - 1, why);
                return;
            }
            // Domains are read once per attempt: an entry follows a change (a resharded
            // stream) from one attempt to the next, never within one.
            let request = self.pacer.map(|_| Request::of(self.backend, &todo));
            let pass = match (self.pacer, &request) {
                (Some(pacer), Some(request)) => {
                    let shares = request.shares(self.backend);
                    let patience = Patience {
                        started,
                        throttled: last_throttle.is_some(),
                        budget: retry.throttle_limit(),
                    };
                    tokio::select! {
                        pass = pacer.admit_within(&shares, patience) => match pass {
                            Some(pass) => Some(pass),
                            None => {
                                out_of_patience(todo, last_throttle, attempt - 1, out);
                                return;
                            }
                        },
                        () = self.stop.wait() => {
                            let why = "the dispatcher was told to stop while a request waited for its pace";
                            out.abandon(todo, attempt - 1, why);
                            return;
                        }
                    }
                }
                _ => None,
            };
            let batch: Vec<BatchEntry<'_, B>> = todo
                .iter()
                .map(|item| BatchEntry {
                    entry: &item.entry,
                    payload: &item.payload,
                    slot: item.slot,
                })
                .collect();
            Counters::add(&self.counters.requests_sent, 1);
            if attempt > 1 {
                Counters::add(&self.counters.retries, todo.len());
            }
            tracing::debug!(attempt, entries = batch.len(), "sending batch");
            let send = CatchUnwind(Box::pin(self.backend.send_batch(&batch)));
            let result = tokio::select! {
                result = send => Some(result),
                () = self.stop.wait() => None,
            };
            drop(batch);
            let outcomes = match result {
                Some(Ok(result)) => self.outcomes(todo.len(), result),
                Some(Err(panic)) => {
                    tracing::error!(%panic, "the backend panicked while sending a batch");
                    self.counters.request_failed(false);
                    let failure = Failure::permanent(codes::BACKEND_PANICKED, panic);
                    vec![EntryOutcome::Failed(failure); todo.len()]
                }
                None => {
                    let why =
                        "the request was cancelled on the wire: the service may have stored it";
                    out.abandon(todo, attempt, why);
                    return;
                }
            };
            if let (Some(pacer), Some(pass), Some(request)) = (self.pacer, &pass, &request) {
                let (answers, accepted) = request.answers(self.backend, &outcomes);
                pacer.report(pass, &answers, accepted);
            }
            drop(pass);
            let again = self.sort(todo, outcomes, attempt, out);
            if again.is_empty() {
                return;
            }
            let again = self.give_up_on(again, started, attempt, out);
            if again.is_empty() {
                return;
            }
            if let Some((_, failure)) = again
                .iter()
                .find(|(_, f)| f.kind == FailureKind::Throttling)
            {
                last_throttle = Some(failure.clone());
            }
            // Throttled entries wait for their pace; others back off by their failures.
            let failures = again
                .iter()
                .map(|(item, _)| item.failures)
                .max()
                .unwrap_or(0);
            let delay = if failures == 0 {
                Duration::ZERO
            } else {
                let mut rng = self
                    .rng
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                retry.backoff(failures, &mut rng)
            };
            if let Some(deadline) = retry.deadline_limit()
                && started.elapsed() + delay > deadline
            {
                let reason = UnprocessedReason::DeadlineExceeded;
                tracing::warn!(entries = again.len(), attempt, %reason, "giving up on failed entries");
                for (item, failure) in again {
                    out.push(item, reason, failure, attempt);
                }
                return;
            }
            // Keep order: an entry behind an undelivered one of its key is not retried past it.
            todo = Vec::with_capacity(again.len());
            for (item, _) in again {
                match out.blocker(&item) {
                    Some(failure) => out.push(item, UnprocessedReason::HeldBack, failure, attempt),
                    None => todo.push(item),
                }
            }
            tracing::debug!(
                entries = todo.len(),
                attempt,
                ?delay,
                "retrying failed entries"
            );
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.stop.wait() => {
                    out.abandon(todo, attempt, "the dispatcher was told to stop before a retry");
                    return;
                }
            }
            attempt += 1;
        }
    }

    /// Counts a failed attempt against each entry that was not throttled (throttled ones
    /// count too when the dispatcher does not pace itself), and moves to `out` the entries
    /// out of attempts, or throttled for longer than the throttle budget.
    fn give_up_on(
        &self,
        again: Vec<(Item<B>, Failure)>,
        started: Instant,
        attempt: u32,
        out: &mut Undelivered<B>,
    ) -> Vec<(Item<B>, Failure)> {
        let paced = self.pacer.is_some_and(Pacer::learns);
        let mut kept = Vec::with_capacity(again.len());
        let mut gave_up = 0;
        for (mut item, failure) in again {
            let reason = if paced && failure.kind == FailureKind::Throttling {
                (started.elapsed() >= self.retry.throttle_limit())
                    .then_some(UnprocessedReason::DeadlineExceeded)
            } else {
                item.failures += 1;
                (item.failures >= self.retry.attempt_limit())
                    .then_some(UnprocessedReason::RetriesExhausted)
            };
            match reason {
                Some(reason) => {
                    gave_up += 1;
                    out.push(item, reason, failure, attempt);
                }
                None => kept.push((item, failure)),
            }
        }
        if gave_up > 0 {
            tracing::warn!(entries = gave_up, attempt, "giving up on failed entries");
        }
        kept
    }

    /// Counts the delivered entries, puts the refused ones in `out`, and returns those a
    /// later attempt may get through.
    fn sort(
        &self,
        todo: Vec<Item<B>>,
        outcomes: Vec<EntryOutcome>,
        attempt: u32,
        out: &mut Undelivered<B>,
    ) -> Vec<(Item<B>, Failure)> {
        let mut again: Vec<(Item<B>, Failure)> = Vec::new();
        for (item, outcome) in todo.into_iter().zip(outcomes) {
            match outcome {
                EntryOutcome::Delivered => {
                    Counters::add(&self.counters.delivered, 1);
                    if let (Some(hook), Some(tag)) = (self.on_delivered, item.tag) {
                        hook(tag);
                    }
                    // The service stored this entry although an earlier one of its key in
                    // the same request failed: their order is lost, and no client can take
                    // it back. Say so; the failed one is still retried (delivery first).
                    if let Some(key) = item.ordering_key.as_deref()
                        && again
                            .iter()
                            .any(|(e, _)| e.ordering_key.as_deref() == Some(key))
                    {
                        tracing::warn!(
                            key,
                            "an entry was accepted after an earlier one of its ordering key \
                             failed in the same request; their order is not kept"
                        );
                    }
                }
                EntryOutcome::Failed(failure) if failure.is_retryable() => {
                    if failure.kind == FailureKind::Throttling {
                        Counters::add(&self.counters.throttled, 1);
                    }
                    again.push((item, failure));
                }
                EntryOutcome::Failed(failure) => {
                    out.push(item, UnprocessedReason::Rejected, failure, attempt);
                }
            }
        }
        again
    }

    /// Turns a send result into one outcome per entry.
    fn outcomes(
        &self,
        entries: usize,
        result: Result<Vec<EntryOutcome>, B::Error>,
    ) -> Vec<EntryOutcome> {
        match result {
            Ok(outcomes) if outcomes.len() == entries => {
                self.counters.request_answered();
                outcomes
            }
            Ok(outcomes) => {
                tracing::error!(
                    expected = entries,
                    got = outcomes.len(),
                    "backend returned the wrong number of outcomes"
                );
                let failure = Failure::retryable(
                    codes::OUTCOME_COUNT_MISMATCH,
                    format!("{} outcomes for {entries} entries", outcomes.len()),
                );
                vec![EntryOutcome::Failed(failure); entries]
            }
            Err(error) => {
                let failure = self.backend.classify(&error);
                let failure = if failure.source.is_some() {
                    failure
                } else {
                    failure.with_source(error)
                };
                self.counters
                    .request_failed(failure.kind == FailureKind::Throttling);
                tracing::warn!(code = %failure.code, kind = ?failure.kind, "request failed");
                vec![EntryOutcome::Failed(failure); entries]
            }
        }
    }
}

/// Hands back `todo`, whose throttle budget ran out while it waited for its pace.
fn out_of_patience<B: Backend>(
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

/// What stops a batch from sending and hands its payloads back: the dispatcher's
/// [`abandon`](crate::Dispatcher::abandon), until a flush returns, or the batch's own stop (a
/// [`Scope`](crate::Scope) whose time ran out).
#[derive(Clone, Copy)]
pub(crate) struct Stop<'a> {
    pub(crate) dispatcher: &'a watch::Sender<bool>,
    pub(crate) batch: &'a watch::Sender<bool>,
}

impl Stop<'_> {
    pub(crate) fn is_set(&self) -> bool {
        *self.dispatcher.borrow() || *self.batch.borrow()
    }

    /// Returns once either stop is set.
    pub(crate) async fn wait(&self) {
        let mut dispatcher = self.dispatcher.subscribe();
        let mut batch = self.batch.subscribe();
        // The senders outlive this future: `wait_for` cannot fail.
        tokio::select! {
            _ = dispatcher.wait_for(|stop| *stop) => {}
            _ = batch.wait_for(|stop| *stop) => {}
        }
    }
}

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

    /// The failure of an earlier entry of `item`'s key, which holds `item` back.
    fn blocker(&self, item: &Item<B>) -> Option<Failure> {
        let key = item.ordering_key.as_ref()?;
        self.failed_keys
            .get(key)
            .map(|(_, failure)| failure.clone())
    }
}
