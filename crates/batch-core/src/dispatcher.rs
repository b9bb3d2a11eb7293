//! The dispatcher shell: the public API, the in-flight window, linger, flush and the one
//! place where a batch is sealed. Packing lives in `pending`, ordering in `ordering`, sending
//! and retrying in `attempt`.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tracing::Instrument;

use crate::attempt::{self, Sender, Undelivered};
use crate::backend::Backend;
use crate::config::{DispatcherConfig, Resolved};
use crate::error::{ConfigError, SubmitError, SubmitErrorKind};
use crate::ordering::{Ledger, Turn};
use crate::pending::{Added, Item, Pending};
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

struct State<B: Backend> {
    pending: Pending<B>,
    ledger: Ledger,
    next_seq: u64,
    /// Sequence numbers of sealed batches that have not completed.
    outstanding: BTreeSet<u64>,
    items_in_flight: usize,
    unprocessed: Vec<Unprocessed<B::Payload>>,
}

/// A sealed batch, ready for its task.
struct Batch<B: Backend> {
    seq: u64,
    items: Vec<Item<B>>,
    turn: Turn,
    permit: OwnedSemaphorePermit,
}

impl<B: Backend> Dispatcher<B> {
    /// A dispatcher over `backend`, with `config` checked against the backend's limits.
    ///
    /// Does no I/O.
    pub fn new(backend: B, config: DispatcherConfig) -> Result<Self, ConfigError> {
        let config = config.resolve::<B>()?;
        let permits = Arc::new(Semaphore::new(config.max_in_flight));
        let pending = Pending::new(config.dedup, config.limits);
        Ok(Self {
            shared: Arc::new_cyclic(|me| Shared {
                me: me.clone(),
                backend,
                config,
                state: Mutex::new(State {
                    pending,
                    ledger: Ledger::default(),
                    next_seq: 0,
                    outstanding: BTreeSet::new(),
                    items_in_flight: 0,
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
                    None => {
                        drop(state);
                        shared.seal_if_full();
                        return Ok(());
                    }
                    Some(next) => {
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
                                None => {
                                    shared.seal_if_full();
                                    return Ok(());
                                }
                                Some(next) => item = Some(next),
                            }
                        } else {
                            item = Some(next);
                        }
                    }
                }
            }
            tracing::trace!(
                backend = B::SPEC.name,
                "submit waits for a free request slot"
            );
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
        tracing::info!(backend = B::SPEC.name, "abandoning the requests in flight");
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
            backend = B::SPEC.name,
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
                    backend = B::SPEC.name,
                    "background flush of a dropped dispatcher delivered everything"
                );
            } else {
                let mut codes: Vec<&str> = failed.iter().map(|f| f.error.code()).collect();
                codes.sort_unstable();
                codes.dedup();
                tracing::error!(
                    backend = B::SPEC.name,
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
            .field("backend", &B::SPEC.name)
            .field("limits", &self.shared.config.limits)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
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
                    state.ledger.release_before(target);
                    let unprocessed = std::mem::take(&mut state.unprocessed);
                    tracing::debug!(
                        backend = B::SPEC.name,
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
        let prepared = match self.backend.prepare(&payload) {
            Ok(prepared) => prepared,
            Err(kind) => return Err(SubmitError::new(payload, kind)),
        };
        let size = prepared.size;
        let limits = self.config.limits;
        let limit = limits.max_entry_bytes.min(limits.max_request_bytes);
        if size > limit {
            let kind = SubmitErrorKind::TooLarge {
                field: B::SPEC.entry_size_field.into(),
                size,
                limit,
            };
            return Err(SubmitError::new(payload, kind));
        }
        Ok(Item::new(payload, tag, prepared))
    }

    /// Adds `item` to the pending batch unless it has no room; counts dropped duplicates and
    /// starts the linger timer of a new batch.
    fn try_add(&self, state: &mut State<B>, item: Item<B>) -> Option<Item<B>> {
        let (left, duplicates, first) = match state.pending.try_add(item) {
            Added::Done { duplicates, first } => (None, duplicates, first),
            Added::NoRoom { item, duplicates } => (Some(item), duplicates, false),
        };
        Counters::add(&self.counters.duplicates_dropped, duplicates);
        if first && let Some(linger) = self.config.linger {
            self.start_linger(state.pending.generation(), linger);
        }
        left
    }

    /// Seals the pending batch at once when it holds the most entries a request takes and a
    /// request slot is free, so a full batch does not wait for the next submit. A batch with
    /// merged entries waits instead: later entries may still merge into it.
    fn seal_if_full(&self) {
        let mut state = self.lock();
        if !state.pending.is_full() {
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
        let items = state.pending.take();
        let seq = state.next_seq;
        state.next_seq += 1;
        state.outstanding.insert(seq);
        state.items_in_flight += items.len();
        let turn = state.ledger.register(seq, &items);
        Batch {
            seq,
            items,
            turn,
            permit,
        }
    }

    fn spawn(&self, batch: Batch<B>) {
        let Some(this) = self.me.upgrade() else {
            unreachable!("a live `&self` keeps the Arc alive")
        };
        let span = tracing::debug_span!(
            "batch",
            backend = B::SPEC.name,
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
            if this.lock().pending.generation() != generation {
                return;
            }
            let permit = this.acquire().await;
            let mut state = this.lock();
            if state.pending.generation() != generation || state.pending.is_empty() {
                return;
            }
            tracing::debug!(
                backend = B::SPEC.name,
                entries = state.pending.len(),
                "linger elapsed"
            );
            let batch = this.seal(&mut state, permit);
            drop(state);
            this.spawn(batch);
        });
    }

    /// Sends a sealed batch once the earlier batches of its ordering keys are done, and
    /// records what it could not deliver.
    async fn run_batch(self: Arc<Self>, batch: Batch<B>) {
        let Batch {
            seq,
            items,
            turn,
            permit,
        } = batch;
        for mut earlier in turn.waits_for {
            // An `Err` means the earlier batch's task is gone; it holds nothing back then.
            tokio::select! {
                _ = earlier.wait_for(|finished| *finished) => {}
                () = attempt::abandoned(&self.abandon) => break,
            }
        }
        let count = items.len();
        let mut out = Undelivered::default();
        let (todo, held) = self.lock().ledger.hold_back(seq, items);
        for (item, failure) in held {
            out.push(item, UnprocessedReason::HeldBack, failure, 0);
        }
        let sender = Sender {
            backend: &self.backend,
            retry: &self.config.retry,
            counters: &self.counters,
            rng: &self.rng,
            abandon: &self.abandon,
        };
        sender.send(todo, &mut out).await;
        Counters::add(&self.counters.unprocessed, out.items.len());
        {
            let mut state = self.lock();
            state.ledger.complete(seq, out.failed_keys);
            state.outstanding.remove(&seq);
            state.items_in_flight -= count;
            state.unprocessed.extend(out.items);
        }
        drop(permit);
        let _ = turn.done.send(true);
        self.batch_done.notify_waiters();
    }
}
