//! The engine behind a dispatcher: submit and flush, sealing (one function for every
//! trigger), linger, the batches in flight, and each batch's task. Packing lives in
//! `pending`, ordering in `ordering`, sending and retrying in `attempt`, pacing in `pace`.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tracing::Instrument;

use crate::attempt::{Sender, Stop, Undelivered};
use crate::backend::Backend;
use crate::config::Resolved;
use crate::error::{SubmitError, SubmitErrorKind};
use crate::failure::{Failure, FailureKind, codes};
use crate::ordering::{Ledger, Turn};
use crate::pace::{Caps, Pacer};
use crate::pending::{Added, Item, Pending, lowest};
use crate::spec::{DedupPolicy, Limits};
use crate::stats::Counters;
use crate::unprocessed::{Unprocessed, UnprocessedReason};

/// The largest share a linger timer runs short of the setting, drawn per batch: writers
/// started together do not send in step.
const LINGER_JITTER: f64 = 0.2;

/// How long a scope's flush waits, at most, for the other live scopes to flush too, so that
/// concurrent units of work share requests. A flush when every live scope is flushing (a
/// lone scope, say) does not wait.
pub(crate) const SCOPE_GATHER: Duration = Duration::from_millis(10);

/// What [`DispatcherBuilder::on_delivered`](crate::DispatcherBuilder::on_delivered) calls.
pub(crate) type DeliveredHook = Arc<dyn Fn(u64) + Send + Sync>;

/// Where the request slot of a batch being sealed comes from.
#[derive(Clone, Copy)]
enum Slot {
    /// One free now, or the batch is not sealed.
    Free,
    /// One waited for.
    Wait,
}

/// The state a dispatcher shares with its timers and batch tasks.
pub(crate) struct Shared<B: Backend> {
    /// Lets timers and batch tasks started from `&self` hold the dispatcher's state.
    pub(crate) me: Weak<Self>,
    pub(crate) backend: B,
    pub(crate) config: Resolved,
    /// The limits in force, resolved once the destination's own are known (after the
    /// backend's first `ready`): the config's, lowered to the destination's.
    limits: OnceLock<Limits>,
    pub(crate) state: Mutex<State<B>>,
    /// The batches in flight: one slot per batch between sealing and completion
    /// (`max_in_flight` of them). They bound what the dispatcher holds: `submit` waits for a
    /// slot. The requests on the wire are bounded apart, by the pacer's request window.
    batch_slots: Arc<Semaphore>,
    /// Woken whenever a batch completes.
    pub(crate) batch_done: Notify,
    /// Woken whenever a scope's flush starts or a scope closes.
    scopes_changed: Notify,
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
    /// What the dispatcher's flush hands back: failures of payloads submitted outside a
    /// scope, or through a scope that was dropped.
    pub(crate) unprocessed: Vec<Unprocessed<B::Payload>>,
    /// The live scopes by id.
    pub(crate) scopes: HashMap<u64, ScopeState<B::Payload>>,
    pub(crate) next_scope: u64,
    /// Scopes whose flush is under way.
    flushing: std::collections::HashSet<u64>,
    /// The stop of every outstanding batch that holds a scope's payloads, by sequence number.
    stops: HashMap<u64, Arc<watch::Sender<bool>>>,
}

impl<B: Backend> State<B> {
    /// Files a failure where its flush finds it: its live scope's list, or the dispatcher's.
    pub(crate) fn hand_back(&mut self, unprocessed: Unprocessed<B::Payload>) {
        match unprocessed.scope.and_then(|id| self.scopes.get_mut(&id)) {
            Some(scope) => scope.unprocessed.push(unprocessed),
            None => self.unprocessed.push(unprocessed),
        }
    }

    /// Sets the stop of every outstanding batch holding scope `id`'s payloads.
    pub(crate) fn stop_scope(&self, id: u64) {
        let Some(scope) = self.scopes.get(&id) else {
            return;
        };
        for seq in &scope.batches {
            if let Some(stop) = self.stops.get(seq) {
                stop.send_replace(true);
            }
        }
    }
}

/// What the engine keeps for one live [`Scope`](crate::Scope).
pub(crate) struct ScopeState<P> {
    /// Outstanding batches that hold its payloads.
    pub(crate) batches: BTreeSet<u64>,
    /// Its payloads that ended undelivered, for its flush.
    pub(crate) unprocessed: Vec<Unprocessed<P>>,
}

impl<P> Default for ScopeState<P> {
    fn default() -> Self {
        Self {
            batches: BTreeSet::new(),
            unprocessed: Vec::new(),
        }
    }
}

/// A sealed batch, ready for its task.
struct Batch<B: Backend> {
    seq: u64,
    items: Vec<Item<B>>,
    turn: Turn,
    permit: OwnedSemaphorePermit,
    /// Scopes whose payloads it holds.
    scopes: Vec<u64>,
    /// Set when a scope it holds payloads of ran out of time.
    stop: Arc<watch::Sender<bool>>,
}

impl<B: Backend> Shared<B> {
    pub(crate) fn new(
        backend: B,
        config: Resolved,
        on_delivered: Option<DeliveredHook>,
    ) -> Arc<Self> {
        let batch_slots = Arc::new(Semaphore::new(config.max_in_flight));
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
            limits: OnceLock::new(),
            state: Mutex::new(State {
                pending,
                ledger: Ledger::default(),
                next_seq: 0,
                outstanding: BTreeSet::new(),
                items_in_flight: 0,
                unprocessed: Vec::new(),
                scopes: HashMap::new(),
                next_scope: 0,
                flushing: std::collections::HashSet::new(),
                stops: HashMap::new(),
            }),
            batch_slots,
            batch_done: Notify::new(),
            scopes_changed: Notify::new(),
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

    /// See [`Dispatcher::submit_payload`](crate::Dispatcher::submit_payload).
    pub(crate) async fn submit(
        &self,
        payload: B::Payload,
        tag: Option<u64>,
        scope: Option<u64>,
    ) -> Result<(), SubmitError<B::Payload>> {
        self.backend.ready().await;
        let limits = self.limits();
        let mut item = match self.prepare(payload, tag, limits) {
            Ok(mut item) => {
                item.scope = scope;
                item
            }
            Err(err) => {
                Counters::add(&self.counters.rejected, 1);
                return Err(err);
            }
        };
        Counters::add(&self.counters.submitted, 1);
        loop {
            let no_room = {
                let mut state = self.lock();
                match self.try_add(&mut state, item) {
                    // A full batch goes at once if a slot is free, rather than wait for the
                    // next submit. A batch with merged entries is never full: later entries
                    // may still merge into it.
                    None if state.pending.is_full() => None,
                    None => return Ok(()),
                    Some(back) if state.pending.is_empty() => {
                        // `prepare` let through an entry no request can carry.
                        let kind = SubmitErrorKind::TooLarge {
                            field: B::SPEC.entry_size_field.into(),
                            size: back.size,
                            limit: limits.max_entry_bytes.min(limits.max_request_bytes),
                        };
                        Counters::add(&self.counters.rejected, 1);
                        return Err(SubmitError::new(back.payload, kind));
                    }
                    Some(back) => Some((back, state.pending.generation())),
                }
            };
            let Some((back, generation)) = no_room else {
                self.seal(Slot::Free, Pending::is_full).await;
                return Ok(());
            };
            item = back;
            // No room: the batch that had none goes, once a request slot is free.
            tracing::trace!(backend = B::SPEC.name, "submit seals a full batch");
            self.seal(Slot::Wait, |pending| pending.generation() == generation)
                .await;
        }
    }

    /// See [`Dispatcher::flush_payloads`](crate::Dispatcher::flush_payloads).
    pub(crate) async fn flush(&self) -> Vec<Unprocessed<B::Payload>> {
        let target = loop {
            if let Some(seq) = self.seal(Slot::Wait, |_| true).await {
                break seq + 1;
            }
            let state = self.lock();
            if state.pending.is_empty() {
                break state.next_seq;
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

    /// See [`Dispatcher::flush_payloads_within`](crate::Dispatcher::flush_payloads_within).
    pub(crate) async fn flush_within(&self, budget: Duration) -> Vec<Unprocessed<B::Payload>> {
        if let Ok(unprocessed) = tokio::time::timeout(budget, self.flush()).await {
            return unprocessed;
        }
        tracing::warn!(
            backend = B::SPEC.name,
            ?budget,
            "flush out of time: handing back what is not delivered"
        );
        self.abandon.send_replace(true);
        self.flush().await
    }

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
    /// and hands back those that ended undelivered. By `deadline`, whatever of the scope is
    /// still pending or in flight is stopped and handed back.
    pub(crate) async fn flush_scope(
        &self,
        id: u64,
        deadline: Option<tokio::time::Instant>,
    ) -> Vec<Unprocessed<B::Payload>> {
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
            self.stop_scope(id);
            // Stopped batches hand back at once.
            self.drain_scope(id).await;
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
            "scope flush complete"
        );
        unprocessed
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
                    if all_in || state.pending.is_full() || tokio::time::Instant::now() >= gathered
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
            notified.await;
        }
    }

    /// Stops the batches holding scope `id`'s payloads, and takes its payloads out of the
    /// pending batch and hands them back, leaving the others' there.
    fn stop_scope(&self, id: u64) {
        let mut state = self.lock();
        state.stop_scope(id);
        if !state.pending.holds_scope(id) {
            return;
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
    }

    /// The limits in force: the config's, lowered to the destination's own. Resolved once,
    /// after the backend's first `ready` (which reads the destination's), and the pending
    /// batch is held to them from then on.
    fn limits(&self) -> Limits {
        *self.limits.get_or_init(|| {
            let Some(destination) = self.backend.destination_limits() else {
                return self.config.limits;
            };
            self.lock().pending.cap(destination);
            lowest(self.config.limits, destination)
        })
    }

    fn prepare(
        &self,
        payload: B::Payload,
        tag: Option<u64>,
        limits: Limits,
    ) -> Result<Item<B>, SubmitError<B::Payload>> {
        let prepared = match self.backend.prepare(&payload) {
            Ok(prepared) => prepared,
            Err(kind) => return Err(SubmitError::new(payload, kind)),
        };
        let size = prepared.size;
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

    /// Seals the pending batch and starts its task, when it holds entries and `due` holds for
    /// it, checked under the lock and again after any wait. Every batch is sealed here: by
    /// submit (a full batch, or one without room for the next entry), by flush and by the
    /// linger timer. The batch takes a request slot: one free now, or with [`Slot::Wait`] one
    /// waited for. Returns the sealed batch's sequence number.
    async fn seal(&self, slot: Slot, due: impl Fn(&Pending<B>) -> bool) -> Option<u64> {
        let ready = |pending: &Pending<B>| !pending.is_empty() && due(pending);
        let permit = match slot {
            Slot::Free => {
                let state = self.lock();
                if !ready(&state.pending) {
                    return None;
                }
                let permit = Arc::clone(&self.batch_slots).try_acquire_owned().ok()?;
                return Some(self.take_and_start(state, permit));
            }
            Slot::Wait => {
                if !ready(&self.lock().pending) {
                    return None;
                }
                Arc::clone(&self.batch_slots)
                    .acquire_owned()
                    .await
                    .unwrap_or_else(|_| unreachable!("the semaphore is never closed"))
            }
        };
        let state = self.lock();
        if !ready(&state.pending) {
            return None;
        }
        Some(self.take_and_start(state, permit))
    }

    /// Takes the pending batch out, registers it as outstanding and starts its task.
    fn take_and_start(
        &self,
        mut state: MutexGuard<'_, State<B>>,
        permit: OwnedSemaphorePermit,
    ) -> u64 {
        let items = state.pending.take();
        let seq = state.next_seq;
        state.next_seq += 1;
        state.outstanding.insert(seq);
        state.items_in_flight += items.len();
        let turn = state.ledger.register(seq, &items);
        let mut scopes: Vec<u64> = items.iter().filter_map(|item| item.scope).collect();
        scopes.sort_unstable();
        scopes.dedup();
        for scope in &scopes {
            if let Some(live) = state.scopes.get_mut(scope) {
                live.batches.insert(seq);
            }
        }
        let stop = Arc::new(watch::Sender::new(false));
        if !scopes.is_empty() {
            state.stops.insert(seq, Arc::clone(&stop));
        }
        drop(state);
        self.spawn(Batch {
            seq,
            items,
            turn,
            permit,
            scopes,
            stop,
        });
        seq
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
        let jitter = self
            .rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .f64()
            * LINGER_JITTER;
        let linger = linger.mul_f64(1.0 - jitter);
        // The timer must not keep the dispatcher alive; `Weak` lets it end with it.
        let this = self.me.clone();
        tokio::spawn(async move {
            tokio::time::sleep(linger).await;
            let Some(this) = this.upgrade() else { return };
            let sealed = this
                .seal(Slot::Wait, |pending| pending.generation() == generation)
                .await;
            if let Some(seq) = sealed {
                tracing::debug!(backend = B::SPEC.name, seq, "linger elapsed");
            }
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
            scopes,
            stop,
        } = batch;
        let stop = Stop {
            dispatcher: &self.abandon,
            batch: &stop,
        };
        for mut earlier in turn.waits_for {
            // An `Err` means the earlier batch's task is gone; it holds nothing back then.
            tokio::select! {
                _ = earlier.wait_for(|finished| *finished) => {}
                () = stop.wait() => break,
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
            stop,
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
            state.stops.remove(&seq);
            for scope in &scopes {
                if let Some(live) = state.scopes.get_mut(scope) {
                    live.batches.remove(&seq);
                }
            }
            for unprocessed in out.items {
                state.hand_back(unprocessed);
            }
        }
        drop(permit);
        let _ = turn.done.send(true);
        self.batch_done.notify_waiters();
    }
}
