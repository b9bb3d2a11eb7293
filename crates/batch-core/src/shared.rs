//! The engine behind a dispatcher: the in-flight window, sealing, linger, flush, and each
//! batch's task. Packing lives in `pending`, ordering in `ordering`, sending and retrying in
//! `attempt`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tracing::Instrument;

use crate::attempt::{self, Sender, Undelivered};
use crate::backend::Backend;
use crate::config::Resolved;
use crate::error::{SubmitError, SubmitErrorKind};
use crate::ordering::{Ledger, Turn};
use crate::pace::{Caps, Pacer};
use crate::pending::{Added, Item, Pending, lowest};
use crate::service::DeliveredHook;
use crate::spec::DedupPolicy;
use crate::stats::Counters;
use crate::unprocessed::{Unprocessed, UnprocessedReason};

/// The state a dispatcher shares with its timers and batch tasks.
pub(crate) struct Shared<B: Backend> {
    /// Lets timers and batch tasks started from `&self` hold the dispatcher's state.
    pub(crate) me: Weak<Self>,
    pub(crate) backend: B,
    pub(crate) config: Resolved,
    pub(crate) state: Mutex<State<B>>,
    /// One permit per batch between sealing and completion: bounds requests in flight and,
    /// through `submit` waiting for a permit, the memory held.
    pub(crate) permits: Arc<Semaphore>,
    /// Woken whenever a batch completes.
    pub(crate) batch_done: Notify,
    pub(crate) counters: Counters,
    pub(crate) rng: Mutex<fastrand::Rng>,
    /// Set by [`Dispatcher::abandon`]: batches stop sending and hand their payloads back,
    /// until a flush returns.
    pub(crate) abandon: watch::Sender<bool>,
    /// Paces requests to what the destination accepts, and to the user's caps.
    pub(crate) pacer: Option<Pacer>,
    pub(crate) on_delivered: Option<DeliveredHook>,
}

pub(crate) struct State<B: Backend> {
    pub(crate) pending: Pending<B>,
    pub(crate) ledger: Ledger,
    pub(crate) next_seq: u64,
    /// Sequence numbers of sealed batches that have not completed.
    pub(crate) outstanding: BTreeSet<u64>,
    pub(crate) items_in_flight: usize,
    pub(crate) unprocessed: Vec<Unprocessed<B::Payload>>,
}

/// A sealed batch, ready for its task.
pub(crate) struct Batch<B: Backend> {
    pub(crate) seq: u64,
    pub(crate) items: Vec<Item<B>>,
    pub(crate) turn: Turn,
    pub(crate) permit: OwnedSemaphorePermit,
}

impl<B: Backend> Shared<B> {
    pub(crate) fn new(
        backend: B,
        config: Resolved,
        on_delivered: Option<DeliveredHook>,
    ) -> Arc<Self> {
        let permits = Arc::new(Semaphore::new(config.max_in_flight));
        let pacer = (config.adaptive || config.caps != Caps::default())
            .then(|| Pacer::new(config.max_in_flight, config.caps, config.adaptive));
        // A merged entry is one request entry: it keeps the entry limit too.
        let mut merge = backend.merge_limit();
        merge.bytes = merge.bytes.min(config.limits.max_entry_bytes);
        let pending = Pending::new(config.dedup, config.limits, merge);
        Arc::new_cyclic(|me| Self {
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
            pacer,
            on_delivered,
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State<B>> {
        // A panic while holding the lock leaves the state consistent at every await-free
        // step, so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) async fn acquire(&self) -> OwnedSemaphorePermit {
        Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .unwrap_or_else(|_| unreachable!("the semaphore is never closed"))
    }

    /// See [`Dispatcher::flush_payloads`].
    pub(crate) async fn flush(&self) -> Vec<Unprocessed<B::Payload>> {
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

    pub(crate) fn prepare(
        &self,
        payload: B::Payload,
        tag: Option<u64>,
    ) -> Result<Item<B>, SubmitError<B::Payload>> {
        let prepared = match self.backend.prepare(&payload) {
            Ok(prepared) => prepared,
            Err(kind) => return Err(SubmitError::new(payload, kind)),
        };
        let size = prepared.size;
        let limits = match self.backend.destination_limits() {
            Some(destination) => lowest(self.config.limits, destination),
            None => self.config.limits,
        };
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
    pub(crate) fn try_add(&self, state: &mut State<B>, item: Item<B>) -> Option<Item<B>> {
        if let Some(destination) = self.backend.destination_limits() {
            state.pending.cap(destination);
        }
        let (left, duplicates, first) = match state.pending.try_add(item) {
            Added::Done { duplicates, first } => (None, duplicates, first),
            Added::NoRoom { item, duplicates } => (Some(item), duplicates, false),
        };
        if duplicates > 0 {
            let counter = match self.config.dedup {
                DedupPolicy::KeepLast => &self.counters.superseded,
                DedupPolicy::Off | DedupPolicy::KeepFirst => &self.counters.duplicates_dropped,
            };
            Counters::add(counter, duplicates);
        }
        if first && let Some(linger) = self.config.linger {
            self.start_linger(state.pending.generation(), linger);
        }
        left
    }

    /// Seals the pending batch at once when it holds the most entries a request takes and a
    /// request slot is free, so a full batch does not wait for the next submit. A batch with
    /// merged entries waits instead: later entries may still merge into it.
    pub(crate) fn seal_if_full(&self) {
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
    pub(crate) fn seal(&self, state: &mut State<B>, permit: OwnedSemaphorePermit) -> Batch<B> {
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

    pub(crate) fn spawn(&self, batch: Batch<B>) {
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
            pacer: self.pacer.as_ref(),
            on_delivered: self.on_delivered.as_deref(),
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
