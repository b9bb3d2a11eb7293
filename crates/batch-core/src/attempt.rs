//! Sending one sealed batch: send, sort the outcomes, back off, retry only what failed,
//! give up within the bounds, and catch a backend's panic. Everything that does not end
//! delivered is collected, with the reason, in [`Undelivered`].

mod split;
mod stop;
mod undelivered;

use split::split_point;
pub(crate) use stop::Stop;
pub(crate) use undelivered::Undelivered;
use undelivered::out_of_patience;

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::backend::{Backend, BatchEntry};
use crate::catch::CatchUnwind;
use crate::config::RetryPolicy;
use crate::failure::{EntryOutcome, Failure, FailureKind, INVALID_REQUEST_CODES, codes};
use crate::pace::{Admission, Pacer, Patience, Request};
use crate::pending::Item;
use crate::stats::Counters;
use crate::unprocessed::UnprocessedReason;

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

impl<'a, B: Backend> Sender<'a, B> {
    /// Sends `todo` until every entry is delivered or in `out`.
    pub(crate) async fn send(&self, todo: Vec<Item<B>>, out: &mut Undelivered<B>) {
        self.send_since(todo, Instant::now(), out).await;
    }

    /// Sends `todo`, whose bounds count from `started`: in pieces, one after the other, when
    /// the pacer finds it too large for this writer's rate.
    fn send_since<'s>(
        &'s self,
        todo: Vec<Item<B>>,
        started: Instant,
        out: &'s mut Undelivered<B>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 's>>
    where
        'a: 's,
    {
        Box::pin(async move {
            let (mut rest, mut started) = self.attempts(todo, started, true, out).await;
            // Later pieces keep the batch's budgets: a destination that refuses everything
            // has the whole batch back within one budget, not one per piece.
            while !rest.is_empty() {
                let todo = out.unblocked(rest, 0);
                (rest, started) = self.attempts(todo, started, false, out).await;
            }
        })
    }

    /// Sends `todo` until every entry is delivered or in `out`, except the entries the
    /// pacer had it leave for later (returned, untried, with when the bounds start); the
    /// bounds start at the first attempt of the `first_piece` of a batch.
    async fn attempts(
        &self,
        mut todo: Vec<Item<B>>,
        mut started: Instant,
        first_piece: bool,
        out: &mut Undelivered<B>,
    ) -> (Vec<Item<B>>, Instant) {
        let retry = self.retry;
        let mut attempt = 1;
        // Entries left for a later piece, and whether this one may still be split.
        let mut later: Vec<Item<B>> = Vec::new();
        let mut may_split = true;
        // The last throttling of this batch's entries, handed back with them when their
        // throttle budget runs out while they wait for their pace.
        let mut last_throttle: Option<Failure> = None;
        while !todo.is_empty() {
            if self.stop.is_set() {
                let why = "the dispatcher was told to stop before sending";
                out.abandon(todo, attempt - 1, why);
                break;
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
                    let splittable = may_split && attempt == 1;
                    tokio::select! {
                        admission = pacer.admit_within(&shares, patience, splittable) => match admission {
                            Admission::Go(pass) => {
                                // The budgets count from the first attempt, not from the
                                // wait behind this writer's other batches before it.
                                if attempt == 1 && first_piece {
                                    started = started.max(Instant::now());
                                }
                                Some(pass)
                            }
                            Admission::OutOfPatience => {
                                out_of_patience(todo, last_throttle, attempt - 1, out);
                                break;
                            }
                            Admission::Split(share) => {
                                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
                                let target = (todo.len() as f64 * share) as usize;
                                let at = split_point(&todo, target);
                                if at < todo.len() {
                                    let mut tail = todo.split_off(at);
                                    tail.append(&mut later);
                                    later = tail;
                                }
                                tracing::trace!(entries = todo.len(), later = later.len(), "request sent in pieces");
                                may_split = false;
                                continue;
                            }
                        },
                        () = self.stop.wait() => {
                            let why = "the dispatcher was told to stop while a request waited for its pace";
                            out.abandon(todo, attempt - 1, why);
                            break;
                        }
                    }
                }
                _ => None,
            };
            let batch: Vec<BatchEntry<'_, B>> = todo.iter().map(Item::batch_entry).collect();
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
            let refused_whole = matches!(result, Some(Ok(Err(_))));
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
                    break;
                }
            };
            if let (Some(pacer), Some(pass), Some(request)) = (self.pacer, &pass, &request) {
                let (answers, accepted) = request.answers(self.backend, &outcomes);
                pacer.report(pass, &answers, accepted);
            }
            drop(pass);
            if refused_whole
                && todo.len() > 1
                && let Some(EntryOutcome::Failed(failure)) = outcomes.first()
                && INVALID_REQUEST_CODES.contains(&failure.code.as_str())
            {
                self.send_halves(todo, started, attempt, failure, out).await;
                break;
            }
            let again = self.sort(todo, outcomes, attempt, out);
            if again.is_empty() {
                break;
            }
            let again = self.give_up_on(again, started, attempt, out);
            if again.is_empty() {
                break;
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
                break;
            }
            todo = out.unblocked(again.into_iter().map(|(item, _)| item), attempt);
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
                    break;
                }
            }
            attempt += 1;
        }
        (later, started)
    }

    /// Sends the halves of a request the service refused whole as invalid, one after the
    /// other (so the order of a key holds), to find the entries that spoil it.
    async fn send_halves(
        &self,
        mut first: Vec<Item<B>>,
        started: Instant,
        attempt: u32,
        failure: &Failure,
        out: &mut Undelivered<B>,
    ) {
        tracing::debug!(
            entries = first.len(),
            code = %failure.code,
            "request refused whole as invalid; sending its halves apart"
        );
        Counters::add(&self.counters.retries, first.len());
        let second = first.split_off(first.len() / 2);
        self.send_since(first, started, out).await;
        let rest = out.unblocked(second, attempt);
        self.send_since(rest, started, out).await;
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
        if outcomes
            .iter()
            .all(|outcome| matches!(outcome, EntryOutcome::Delivered))
        {
            // Most requests: every entry delivered, each dropped where it lies instead of
            // moved out first.
            Counters::add(&self.counters.delivered, todo.len());
            if let Some(hook) = self.on_delivered {
                todo.iter().filter_map(|item| item.tag).for_each(hook);
            }
            return again;
        }
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
