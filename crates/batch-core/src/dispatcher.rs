//! The generic dispatcher: buffering, packing, dedup, concurrency, retries and accounting.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tracing::Instrument;

use crate::aws::THROTTLING_CODES;
use crate::backend::{Backend, EntryOutcome, Failure};
use crate::config::{DedupPolicy, DispatcherConfig, Resolved};
use crate::error::{ConfigError, SubmitError, SubmitErrorKind};
use crate::stats::{Counters, Stats};
use crate::unprocessed::{Unprocessed, UnprocessedReason};

/// Batches payloads for one [`Backend`] and sends them.
///
/// Methods take `&self` and the dispatcher is `Send + Sync`: share one through an `Arc`.
/// Requests run on tokio tasks, so a dispatcher is used from within a tokio runtime.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use batch_core::testing::{InMemoryBackend, TestPayload};
/// use batch_core::{Dispatcher, DispatcherConfig};
///
/// let backend = InMemoryBackend::new();
/// let dispatcher = Dispatcher::new(backend.clone(), DispatcherConfig::default().max_entries(10))
///     .expect("valid config");
/// for id in 0..25 {
///     dispatcher.submit_payload(TestPayload::new(id, 100)).await.expect("valid payload");
/// }
/// let unprocessed = dispatcher.flush_payloads().await;
/// assert!(unprocessed.is_empty());
/// assert_eq!(backend.requests().len(), 3); // 10 + 10 + 5
/// # }
/// ```
pub struct Dispatcher<B: Backend> {
    shared: Arc<Shared<B>>,
}

struct Shared<B: Backend> {
    /// Lets timers and batch tasks started from `&self` hold the dispatcher's state.
    me: Weak<Self>,
    backend: B,
    config: Resolved,
    state: Mutex<State<B>>,
    /// One permit per batch between sealing and completion: bounds requests in flight and,
    /// through `submit` waiting for a permit, the memory held.
    permits: Arc<Semaphore>,
    /// Woken whenever a batch completes.
    batch_done: Notify,
    counters: Counters,
    rng: Mutex<fastrand::Rng>,
    /// Set by [`Dispatcher::abandon`]: batches stop sending and hand their payloads back,
    /// until a flush returns.
    abandon: watch::Sender<bool>,
}

struct Item<B: Backend> {
    payload: B::Payload,
    tag: Option<u64>,
    entry: B::Entry,
    size: usize,
    dedup_keys: Vec<String>,
    ordering_key: Option<String>,
    merge_key: Option<String>,
    merged_size: usize,
}

struct State<B: Backend> {
    pending: Vec<Item<B>>,
    pending_bytes: usize,
    /// Entries of the request the pending batch will make: merged entries count once.
    pending_slots: usize,
    /// Merge key to the number of pending entries in its current merged entry.
    merge_slots: HashMap<String, usize>,
    /// Dedup key to index in `pending`.
    pending_keys: HashMap<String, usize>,
    /// Ordering keys in `pending`, kept only for backends that allow one entry per key in a
    /// request.
    pending_ordering_keys: HashSet<String>,
    /// Changes whenever `pending` is sealed, so a linger timer knows whether its batch left.
    pending_generation: u64,
    next_seq: u64,
    /// Sequence numbers of sealed batches that have not completed.
    outstanding: BTreeSet<u64>,
    items_in_flight: usize,
    /// Ordering key to the completion signal of the latest batch holding it.
    key_tails: HashMap<String, (u64, watch::Receiver<bool>)>,
    /// Ordering keys whose entry ended undelivered, with the batch it was in. Later entries
    /// of the key are held back until a flush hands the failure to the user.
    failed_keys: HashMap<String, (u64, Failure)>,
    unprocessed: Vec<Unprocessed<B::Payload>>,
}

/// A sealed batch, ready for its task.
struct Batch<B: Backend> {
    seq: u64,
    items: Vec<Item<B>>,
    waits_for: Vec<watch::Receiver<bool>>,
    done: watch::Sender<bool>,
    permit: OwnedSemaphorePermit,
}

impl<B: Backend> Dispatcher<B> {
    /// A dispatcher over `backend`, with `config` checked against the backend's limits.
    ///
    /// Does no I/O.
    pub fn new(backend: B, config: DispatcherConfig) -> Result<Self, ConfigError> {
        let config = config.resolve::<B>()?;
        let permits = Arc::new(Semaphore::new(config.max_in_flight));
        Ok(Self {
            shared: Arc::new_cyclic(|me| Shared {
                me: me.clone(),
                backend,
                config,
                state: Mutex::new(State {
                    pending: Vec::new(),
                    pending_bytes: 0,
                    pending_slots: 0,
                    merge_slots: HashMap::new(),
                    pending_keys: HashMap::new(),
                    pending_ordering_keys: HashSet::new(),
                    pending_generation: 0,
                    next_seq: 0,
                    outstanding: BTreeSet::new(),
                    items_in_flight: 0,
                    key_tails: HashMap::new(),
                    failed_keys: HashMap::new(),
                    unprocessed: Vec::new(),
                }),
                permits,
                batch_done: Notify::new(),
                counters: Counters::default(),
                rng: Mutex::new(fastrand::Rng::new()),
                abandon: watch::Sender::new(false),
            }),
        })
    }

    /// The backend this dispatcher sends through.
    pub fn backend(&self) -> &B {
        &self.shared.backend
    }

    /// The limits in force (the service's, or lower ones from the config).
    pub fn limits(&self) -> crate::Limits {
        self.shared.config.limits
    }

    /// Adds a payload to the pending batch; sends the batch once the next payload would not
    /// fit it.
    ///
    /// Returns `Err` with the payload when it can never be sent (too large, invalid). A
    /// duplicate of a pending payload is dropped by the dedup policy and counted; that is
    /// not an error. Waits when the pending batch is full and `max_in_flight` requests are
    /// in flight.
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped before it completes, the payload was not accepted.
    pub async fn submit_payload(
        &self,
        payload: impl Into<B::Payload>,
    ) -> Result<(), SubmitError<B::Payload>> {
        self.submit(payload.into(), None).await
    }

    /// Like [`submit_payload`](Self::submit_payload), with a tag of the caller's that comes
    /// back in [`Unprocessed::tag`] should the payload not be delivered: a line number, an
    /// offset, an index into the caller's own table.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use batch_core::testing::{InMemoryBackend, TestPayload};
    /// use batch_core::{Dispatcher, DispatcherConfig};
    ///
    /// let backend = InMemoryBackend::new();
    /// backend.fail_every_request(batch_core::Failure::permanent("AccessDenied", "no"));
    /// let dispatcher = Dispatcher::new(backend, DispatcherConfig::default()).expect("config");
    /// dispatcher.submit_tagged(TestPayload::new(1, 10), 41).await.expect("valid");
    /// let failed = dispatcher.flush_payloads().await;
    /// assert_eq!(failed[0].tag, Some(41));
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// As for `submit_payload`.
    pub async fn submit_tagged(
        &self,
        payload: impl Into<B::Payload>,
        tag: u64,
    ) -> Result<(), SubmitError<B::Payload>> {
        self.submit(payload.into(), Some(tag)).await
    }

    async fn submit(
        &self,
        payload: B::Payload,
        tag: Option<u64>,
    ) -> Result<(), SubmitError<B::Payload>> {
        let shared = &self.shared;
        let item = match shared.prepare(payload, tag) {
            Ok(item) => item,
            Err(err) => {
                Counters::add(&shared.counters.rejected, 1);
                return Err(err);
            }
        };
        Counters::add(&shared.counters.submitted, 1);
        let mut item = Some(item);
        let mut permit = None;
        loop {
            {
                let mut state = shared.lock();
                let Some(next) = item.take() else {
                    return Ok(());
                };
                match shared.try_add(&mut state, next) {
                    Added::Done => {
                        drop(state);
                        shared.seal_if_full();
                        return Ok(());
                    }
                    Added::NoRoom(next) => {
                        // Seal the full batch to make room: with a permit at hand, or one
                        // free right now.
                        let free = permit.take().map_or_else(
                            || Arc::clone(&shared.permits).try_acquire_owned().ok(),
                            Some,
                        );
                        if let Some(free) = free {
                            let batch = shared.seal(&mut state, free);
                            // An empty batch takes any entry `prepare` accepted; should it
                            // not, the entry goes round the loop again rather than be lost.
                            let added = shared.try_add(&mut state, next);
                            drop(state);
                            shared.spawn(batch);
                            match added {
                                Added::Done => {
                                    shared.seal_if_full();
                                    return Ok(());
                                }
                                Added::NoRoom(next) => item = Some(next),
                            }
                        } else {
                            item = Some(next);
                        }
                    }
                }
            }
            tracing::trace!(backend = B::NAME, "submit waits for a free request slot");
            permit = Some(shared.acquire().await);
        }
    }

    /// Sends everything pending, waits for every request in flight, and returns the payloads
    /// that could not be delivered.
    ///
    /// Every payload accepted before the call is, when it returns, delivered or in the list.
    /// The list drains: the next flush returns only failures that came after.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future loses nothing: requests already sealed run to completion and what
    /// fails is returned by the next flush.
    pub async fn flush_payloads(&self) -> Vec<Unprocessed<B::Payload>> {
        self.shared.flush().await
    }

    /// Stops sending: every batch in flight, and every one sealed until the next flush
    /// returns, hands its payloads back at once with [`UnprocessedReason::Abandoned`] instead
    /// of waiting for backoff or for a response. For a shutdown that cannot wait: call it, then
    /// [`flush_payloads`](Self::flush_payloads), which then returns promptly with every payload
    /// not yet delivered. A request already on the wire is cancelled; the service may have
    /// stored its entries all the same, so sending them again may deliver them twice.
    ///
    /// The dispatcher sends normally again once that flush has returned.
    pub fn abandon(&self) {
        tracing::info!(backend = B::NAME, "abandoning the requests in flight");
        self.shared.abandon.send_replace(true);
    }

    /// Like [`flush_payloads`](Self::flush_payloads), but gives up waiting after `timeout`. Returns `Err` with
    /// what had failed so far; requests still in flight go on, and the next flush returns
    /// what they could not deliver.
    pub async fn flush_payloads_timeout(
        &self,
        timeout: Duration,
    ) -> Result<Vec<Unprocessed<B::Payload>>, Vec<Unprocessed<B::Payload>>> {
        match tokio::time::timeout(timeout, self.flush_payloads()).await {
            Ok(unprocessed) => Ok(unprocessed),
            Err(_) => Err(std::mem::take(&mut self.shared.lock().unprocessed)),
        }
    }

    /// Counters since the dispatcher was built.
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// Payloads accepted and not yet sealed into a request.
    pub fn pending(&self) -> usize {
        self.shared.lock().pending.len()
    }

    /// Payloads sealed into requests that have not completed (sending, retrying, or waiting
    /// for an earlier request of their ordering key). With [`pending`](Self::pending), what
    /// the dispatcher holds: at most `max_entries * (max_in_flight + 1)` payloads (times the
    /// merge limit where entries merge).
    pub fn in_flight(&self) -> usize {
        self.shared.lock().items_in_flight
    }
}

/// Dropping a dispatcher that still holds payloads is a bug in the program (a forgotten
/// `flush_payloads`), and `Drop` cannot wait. It is logged at ERROR with the count, and, when
/// a tokio runtime is at hand, the payloads are sent on a background task as a flush would
/// send them; what that task cannot deliver is logged at ERROR with its count and codes.
/// This is best effort: a runtime that shuts down (the end of `main`) cancels the task, and
/// the payloads are then lost. Call `flush_payloads` before dropping.
impl<B: Backend> Drop for Dispatcher<B> {
    fn drop(&mut self) {
        let (pending, in_flight, unprocessed) = {
            let state = self.shared.lock();
            (
                state.pending.len(),
                state.items_in_flight,
                state.unprocessed.len(),
            )
        };
        if pending + in_flight + unprocessed == 0 {
            return;
        }
        let runtime = tokio::runtime::Handle::try_current().ok();
        tracing::error!(
            backend = B::NAME,
            pending,
            in_flight,
            unprocessed,
            background_flush = runtime.is_some(),
            "dispatcher dropped before a flush returned every outcome"
        );
        let Some(runtime) = runtime else { return };
        let shared = Arc::clone(&self.shared);
        runtime.spawn(async move {
            let failed = shared.flush().await;
            if failed.is_empty() {
                tracing::info!(
                    backend = B::NAME,
                    "background flush of a dropped dispatcher delivered everything"
                );
            } else {
                let mut codes: Vec<&str> = failed.iter().map(|f| f.error.code()).collect();
                codes.sort_unstable();
                codes.dedup();
                tracing::error!(
                    backend = B::NAME,
                    lost = failed.len(),
                    ?codes,
                    "payloads of a dropped dispatcher could not be delivered and are lost"
                );
            }
        });
    }
}

impl<B: Backend> fmt::Debug for Dispatcher<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher")
            .field("backend", &B::NAME)
            .field("limits", &self.shared.config.limits)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

enum Added<B: Backend> {
    Done,
    NoRoom(Item<B>),
}

impl<B: Backend> Shared<B> {
    fn lock(&self) -> MutexGuard<'_, State<B>> {
        // A panic while holding the lock leaves the state consistent at every await-free
        // step, so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn acquire(&self) -> OwnedSemaphorePermit {
        Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .unwrap_or_else(|_| unreachable!("the semaphore is never closed"))
    }

    /// See [`Dispatcher::flush_payloads`].
    async fn flush(&self) -> Vec<Unprocessed<B::Payload>> {
        let target = loop {
            let has_pending = !self.lock().pending.is_empty();
            let permit = if has_pending {
                Some(self.acquire().await)
            } else {
                None
            };
            let mut state = self.lock();
            if state.pending.is_empty() {
                break state.next_seq;
            }
            if let Some(permit) = permit {
                let batch = self.seal(&mut state, permit);
                let target = state.next_seq;
                drop(state);
                self.spawn(batch);
                break target;
            }
        };
        loop {
            let notified = self.batch_done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                if state.outstanding.first().is_none_or(|&seq| seq >= target) {
                    state.failed_keys.retain(|_, (seq, _)| *seq >= target);
                    let unprocessed = std::mem::take(&mut state.unprocessed);
                    tracing::debug!(
                        backend = B::NAME,
                        unprocessed = unprocessed.len(),
                        "flush complete"
                    );
                    self.abandon.send_if_modified(std::mem::take);
                    return unprocessed;
                }
            }
            notified.await;
        }
    }

    fn prepare(
        &self,
        payload: B::Payload,
        tag: Option<u64>,
    ) -> Result<Item<B>, SubmitError<B::Payload>> {
        let entry = match self.backend.prepare(&payload) {
            Ok(entry) => entry,
            Err(kind) => return Err(SubmitError::new(payload, kind)),
        };
        let size = self.backend.entry_size(&entry);
        let limits = self.config.limits;
        let limit = limits.max_entry_bytes.min(limits.max_request_bytes);
        if size > limit {
            let kind = SubmitErrorKind::TooLarge {
                field: B::ENTRY_SIZE_FIELD.into(),
                size,
                limit,
            };
            return Err(SubmitError::new(payload, kind));
        }
        Ok(Item {
            dedup_keys: self.backend.dedup_keys(&entry),
            ordering_key: self.backend.ordering_key(&entry),
            merge_key: self.backend.merge_key(&entry),
            merged_size: self.backend.merged_size(&entry),
            payload,
            tag,
            entry,
            size,
        })
    }

    /// Adds `item` to the pending batch unless the batch has no room for it. Applies dedup.
    fn try_add(&self, state: &mut State<B>, item: Item<B>) -> Added<B> {
        let policy = self.config.dedup;
        let mut duplicates: Vec<usize> = match policy {
            DedupPolicy::Off => Vec::new(),
            DedupPolicy::KeepFirst | DedupPolicy::KeepLast => item
                .dedup_keys
                .iter()
                .filter_map(|key| state.pending_keys.get(key).copied())
                .collect(),
        };
        duplicates.sort_unstable();
        duplicates.dedup();
        if !duplicates.is_empty() {
            if policy == DedupPolicy::KeepFirst {
                Counters::add(&self.counters.duplicates_dropped, 1);
                tracing::warn!(
                    backend = B::NAME,
                    keys = ?item.dedup_keys,
                    "duplicate of a pending payload dropped (the first one is kept)"
                );
                return Added::Done;
            }
            Counters::add(&self.counters.duplicates_dropped, duplicates.len());
            tracing::warn!(
                backend = B::NAME,
                keys = ?item.dedup_keys,
                replaced = duplicates.len(),
                "pending payload replaced by a later one with the same key"
            );
            if let [index] = duplicates[..] {
                let bytes = state.pending_bytes - state.pending[index].size + item.size;
                if bytes <= self.config.limits.max_request_bytes {
                    state.pending_bytes = bytes;
                    let old = std::mem::replace(&mut state.pending[index], item);
                    for key in &old.dedup_keys {
                        state.pending_keys.remove(key);
                    }
                    for key in &state.pending[index].dedup_keys {
                        state.pending_keys.insert(key.clone(), index);
                    }
                    if !B::KEEPS_ORDER_WITHIN_REQUEST {
                        state.pending_ordering_keys = ordering_keys(&state.pending);
                    }
                    return Added::Done;
                }
            }
            for &index in duplicates.iter().rev() {
                let removed = state.pending.remove(index);
                state.pending_bytes -= removed.size;
                state.pending_slots -= 1;
            }
            state.pending_keys = state
                .pending
                .iter()
                .enumerate()
                .flat_map(|(index, item)| {
                    item.dedup_keys.iter().map(move |key| (key.clone(), index))
                })
                .collect();
            if !B::KEEPS_ORDER_WITHIN_REQUEST {
                state.pending_ordering_keys = ordering_keys(&state.pending);
            }
        }
        if !B::KEEPS_ORDER_WITHIN_REQUEST
            && let Some(key) = &item.ordering_key
            && state.pending_ordering_keys.contains(key)
        {
            // The key already has an entry in this request: the next request takes this one.
            return Added::NoRoom(item);
        }
        let limits = self.config.limits;
        let merges = item
            .merge_key
            .as_ref()
            .and_then(|key| state.merge_slots.get(key))
            .is_some_and(|&merged| merged < B::MERGE_LIMIT);
        let (slots, bytes) = if merges {
            (state.pending_slots, item.merged_size)
        } else {
            (state.pending_slots + 1, item.size)
        };
        if slots > limits.max_entries || state.pending_bytes + bytes > limits.max_request_bytes {
            return Added::NoRoom(item);
        }
        if let Some(key) = &item.merge_key {
            if merges {
                *state.merge_slots.entry(key.clone()).or_default() += 1;
            } else {
                state.merge_slots.insert(key.clone(), 1);
            }
        }
        state.pending_slots = slots;
        if policy != DedupPolicy::Off {
            for key in &item.dedup_keys {
                state.pending_keys.insert(key.clone(), state.pending.len());
            }
        }
        if !B::KEEPS_ORDER_WITHIN_REQUEST
            && let Some(key) = &item.ordering_key
        {
            state.pending_ordering_keys.insert(key.clone());
        }
        state.pending_bytes += bytes;
        state.pending.push(item);
        if state.pending.len() == 1
            && let Some(linger) = self.config.linger
        {
            self.start_linger(state.pending_generation, linger);
        }
        Added::Done
    }

    /// Seals the pending batch at once when it holds the most entries a request takes and a
    /// request slot is free, so a full batch does not wait for the next submit. A batch with
    /// merged entries waits instead: later entries may still merge into it.
    fn seal_if_full(&self) {
        let mut state = self.lock();
        if state.pending_slots < self.config.limits.max_entries || !state.merge_slots.is_empty() {
            return;
        }
        let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
            return;
        };
        let batch = self.seal(&mut state, permit);
        drop(state);
        self.spawn(batch);
    }

    /// Takes the pending batch out and registers it as outstanding.
    fn seal(&self, state: &mut State<B>, permit: OwnedSemaphorePermit) -> Batch<B> {
        let items = std::mem::take(&mut state.pending);
        state.pending_bytes = 0;
        state.pending_slots = 0;
        state.merge_slots.clear();
        state.pending_keys.clear();
        state.pending_ordering_keys.clear();
        state.pending_generation += 1;
        let seq = state.next_seq;
        state.next_seq += 1;
        state.outstanding.insert(seq);
        state.items_in_flight += items.len();
        let (done, done_rx) = watch::channel(false);
        let mut waits_for = Vec::new();
        let mut seen = HashSet::new();
        for key in items.iter().filter_map(|item| item.ordering_key.as_ref()) {
            if !seen.insert(key) {
                continue;
            }
            if let Some((_, earlier)) = state.key_tails.insert(key.clone(), (seq, done_rx.clone()))
            {
                waits_for.push(earlier);
            }
        }
        Batch {
            seq,
            items,
            waits_for,
            done,
            permit,
        }
    }

    fn spawn(&self, batch: Batch<B>) {
        let Some(this) = self.me.upgrade() else {
            unreachable!("a live `&self` keeps the Arc alive")
        };
        let span = tracing::debug_span!(
            "batch",
            backend = B::NAME,
            seq = batch.seq,
            entries = batch.items.len()
        );
        tokio::spawn(this.run_batch(batch).instrument(span));
    }

    fn start_linger(&self, generation: u64, linger: Duration) {
        // The timer must not keep the dispatcher alive; `Weak` lets it end with it.
        let this = self.me.clone();
        tokio::spawn(async move {
            tokio::time::sleep(linger).await;
            let Some(this) = this.upgrade() else { return };
            if this.lock().pending_generation != generation {
                return;
            }
            let permit = this.acquire().await;
            let mut state = this.lock();
            if state.pending_generation != generation || state.pending.is_empty() {
                return;
            }
            tracing::debug!(
                backend = B::NAME,
                entries = state.pending.len(),
                "linger elapsed"
            );
            let batch = this.seal(&mut state, permit);
            drop(state);
            this.spawn(batch);
        });
    }

    async fn run_batch(self: Arc<Self>, batch: Batch<B>) {
        let Batch {
            seq,
            items,
            waits_for,
            done,
            permit,
        } = batch;
        for mut earlier in waits_for {
            // An `Err` means the earlier batch's task is gone; it holds nothing back then.
            tokio::select! {
                _ = earlier.wait_for(|finished| *finished) => {}
                () = self.abandoned() => break,
            }
        }
        let count = items.len();
        let mut out = Undelivered::default();
        let mut todo = self.hold_back_failed_keys(seq, items, &mut out);
        let retry = &self.config.retry;
        let started = Instant::now();
        let mut attempt = 1;
        while !todo.is_empty() {
            if *self.abandon.borrow() {
                out.abandon(
                    todo,
                    attempt - 1,
                    "the dispatcher was told to stop before sending",
                );
                break;
            }
            let entries: Vec<&B::Entry> = todo.iter().map(|item| &item.entry).collect();
            let payloads: Vec<&B::Payload> = todo.iter().map(|item| &item.payload).collect();
            Counters::add(&self.counters.requests_sent, 1);
            if attempt > 1 {
                Counters::add(&self.counters.retries, todo.len());
            }
            tracing::debug!(attempt, entries = entries.len(), "sending batch");
            let send = CatchUnwind(Box::pin(self.backend.send_batch(&entries, &payloads)));
            let result = tokio::select! {
                result = send => Some(result),
                () = self.abandoned() => None,
            };
            drop(entries);
            drop(payloads);
            let outcomes = match result {
                Some(Ok(result)) => self.outcomes(todo.len(), result),
                Some(Err(panic)) => {
                    tracing::error!(%panic, "the backend panicked while sending a batch");
                    self.counters.request_failed(false);
                    let failure = Failure::permanent("BackendPanicked", panic);
                    vec![EntryOutcome::Failed(failure); todo.len()]
                }
                None => {
                    let why =
                        "the request was cancelled on the wire: the service may have stored it";
                    out.abandon(todo, attempt, why);
                    break;
                }
            };
            let mut again: Vec<(Item<B>, Failure)> = Vec::new();
            for (item, outcome) in todo.into_iter().zip(outcomes) {
                match outcome {
                    EntryOutcome::Delivered => {
                        Counters::add(&self.counters.delivered, 1);
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
                    EntryOutcome::Failed(failure) if failure.retryable => {
                        if is_throttling_code(&failure.code) {
                            Counters::add(&self.counters.throttled, 1);
                        }
                        again.push((item, failure));
                    }
                    EntryOutcome::Failed(failure) => {
                        out.push(item, UnprocessedReason::Rejected, failure, attempt);
                    }
                }
            }
            if again.is_empty() {
                break;
            }
            let delay = {
                let mut rng = self
                    .rng
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                retry.backoff(attempt, &mut rng)
            };
            let give_up = if attempt >= retry.get_max_attempts() {
                Some(UnprocessedReason::RetriesExhausted)
            } else {
                retry.deadline_limit().and_then(|deadline| {
                    (started.elapsed() + delay > deadline)
                        .then_some(UnprocessedReason::DeadlineExceeded)
                })
            };
            if let Some(reason) = give_up {
                tracing::warn!(entries = again.len(), attempt, %reason, "giving up on failed entries");
                for (item, failure) in again {
                    out.push(item, reason, failure, attempt);
                }
                break;
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
                () = self.abandoned() => {
                    out.abandon(todo, attempt, "the dispatcher was told to stop before a retry");
                    break;
                }
            }
            attempt += 1;
        }
        self.complete(seq, count, out);
        drop(permit);
        let _ = done.send(true);
        self.batch_done.notify_waiters();
    }

    /// Returns once [`Dispatcher::abandon`] was called and no flush has returned since.
    async fn abandoned(&self) {
        let mut abandon = self.abandon.subscribe();
        // The sender lives as long as `self`: `wait_for` cannot fail.
        let _ = abandon.wait_for(|abandon| *abandon).await;
    }

    /// Removes the entries whose ordering key already failed in an earlier batch.
    fn hold_back_failed_keys(
        &self,
        seq: u64,
        items: Vec<Item<B>>,
        out: &mut Undelivered<B>,
    ) -> Vec<Item<B>> {
        let state = self.lock();
        if state.failed_keys.is_empty() {
            return items;
        }
        let mut send = Vec::with_capacity(items.len());
        for item in items {
            let blocker = item
                .ordering_key
                .as_ref()
                .and_then(|key| state.failed_keys.get(key))
                .filter(|(failed_seq, _)| *failed_seq < seq);
            match blocker {
                Some((_, failure)) => {
                    let failure = failure.clone();
                    out.push(item, UnprocessedReason::HeldBack, failure, 0);
                }
                None => send.push(item),
            }
        }
        send
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
                    "OutcomeCountMismatch",
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
                    .request_failed(is_throttling_code(&failure.code));
                tracing::warn!(code = %failure.code, retryable = failure.retryable, "request failed");
                vec![EntryOutcome::Failed(failure); entries]
            }
        }
    }

    fn complete(&self, seq: u64, count: usize, out: Undelivered<B>) {
        Counters::add(&self.counters.unprocessed, out.items.len());
        let mut state = self.lock();
        for (key, failure) in out.failed_keys {
            state.failed_keys.insert(key, (seq, failure));
        }
        state.key_tails.retain(|_, (tail, _)| *tail != seq);
        state.outstanding.remove(&seq);
        state.items_in_flight -= count;
        state.unprocessed.extend(out.items);
    }
}

/// The code of payloads handed back after [`Dispatcher::abandon`].
pub const ABANDONED: &str = "Abandoned";

fn is_throttling_code(code: &str) -> bool {
    THROTTLING_CODES.contains(&code)
}

/// The ordering keys of `items`.
fn ordering_keys<B: Backend>(items: &[Item<B>]) -> HashSet<String> {
    items
        .iter()
        .filter_map(|item| item.ordering_key.clone())
        .collect()
}

/// What one batch could not deliver, and the ordering keys that failed in it.
struct Undelivered<B: Backend> {
    items: Vec<Unprocessed<B::Payload>>,
    failed_keys: HashMap<String, Failure>,
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
    fn push(&mut self, item: Item<B>, reason: UnprocessedReason, failure: Failure, attempts: u32) {
        if let Some(key) = item.ordering_key
            && reason != UnprocessedReason::HeldBack
        {
            self.failed_keys
                .entry(key)
                .or_insert_with(|| failure.clone());
        }
        self.items.push(Unprocessed::new(
            item.payload,
            item.tag,
            reason,
            failure,
            attempts,
        ));
    }

    /// Hands back `items` unsent because of [`Dispatcher::abandon`].
    fn abandon(&mut self, items: Vec<Item<B>>, attempts: u32, why: &str) {
        tracing::warn!(entries = items.len(), "{why}");
        let failure = Failure::retryable(ABANDONED, why);
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
        self.failed_keys.get(key).cloned()
    }
}

/// Turns a panic inside the wrapped future into `Err` with the panic message, so a faulty
/// backend cannot leave a batch unaccounted for (and a flush waiting for it forever).
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic without a message".to_owned());
                Poll::Ready(Err(message))
            }
        }
    }
}
