//! The engine behind a dispatcher: submit and flush, and the state they share with the
//! batches in flight. Sealing, linger and each batch's task are in `batch`, scopes in
//! `scopes`; packing lives in `pending`, ordering in `ordering`, sending and retrying in
//! `attempt`, pacing in `pace`.

mod batch;
mod parked;
mod scopes;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, watch};

use crate::backend::Backend;
use crate::config::Resolved;
use crate::coordinate::{Coordinator, Fleet};
use crate::error::{SubmitError, SubmitErrorKind};
use crate::ordering::Ledger;
use crate::pace::{Caps, Pacer, SharedPace};
use crate::pending::{Added, Item, Pending, lowest};
use crate::spec::{DedupPolicy, Limits};
use crate::stats::Counters;
use crate::unprocessed::Unprocessed;

/// What [`DispatcherBuilder::on_delivered`](crate::DispatcherBuilder::on_delivered) calls.
pub(crate) type DeliveredHook = Arc<dyn Fn(u64) + Send + Sync>;

use batch::Slot;
pub(crate) use scopes::{OutOfTime, ScopeState};

/// How a batch that holds scopes' payloads is stopped, and whose payloads it holds.
pub(crate) struct BatchStop {
    pub(crate) stop: Arc<watch::Sender<bool>>,
    /// The scopes whose payloads it holds that still wait for it: a scope out of time
    /// leaves.
    pub(crate) waiting: Vec<u64>,
    /// Whether it holds payloads of no scope (the dispatcher's own).
    pub(crate) unscoped: bool,
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
    /// A lone batch's task, run by callers while they wait.
    parked: Arc<parked::Parked>,
    /// Woken whenever a scope's flush starts or a scope closes.
    scopes_changed: Notify,
    pub(crate) counters: Counters,
    pub(crate) rng: Mutex<fastrand::Rng>,
    /// Set by [`Dispatcher::abandon`]: batches stop sending and hand their payloads back,
    /// until a flush returns.
    pub(crate) abandon: watch::Sender<bool>,
    /// Paces requests to what the destination accepts, and to the user's caps.
    pub(crate) pacer: Option<Arc<Pacer>>,
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
    stops: HashMap<u64, BatchStop>,
    /// Scopes that left an outstanding batch when their time ran out, by its sequence
    /// number: their flush named their payloads in it, which are not handed back again.
    detached: HashMap<u64, Vec<u64>>,
}

impl<B: Backend> State<B> {
    /// Files a failure where its flush finds it: its live scope's list, or the dispatcher's.
    pub(crate) fn hand_back(&mut self, unprocessed: Unprocessed<B::Payload>) {
        match unprocessed.scope.and_then(|id| self.scopes.get_mut(&id)) {
            Some(scope) => scope.unprocessed.push(unprocessed),
            None => self.unprocessed.push(unprocessed),
        }
    }
}

impl<B: Backend> Shared<B> {
    pub(crate) fn new(
        backend: B,
        config: Resolved,
        on_delivered: Option<DeliveredHook>,
        shared_pace: Option<&SharedPace>,
        coordinator: Option<Arc<dyn Coordinator>>,
    ) -> Arc<Self> {
        let batch_slots = Arc::new(Semaphore::new(config.max_in_flight));
        let coordinated = coordinator.is_some();
        let fleet = coordinator.map(Fleet::new);
        let make =
            || Pacer::new(config.max_in_flight, config.caps, config.adaptive).with_fleet(fleet);
        let pacer = match shared_pace {
            Some(pace) => Some(pace.pacer(make)),
            None => (config.adaptive || coordinated || config.caps != Caps::default())
                .then(|| Arc::new(make())),
        };
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
                detached: HashMap::new(),
            }),
            batch_slots,
            batch_done: Notify::new(),
            parked: Arc::default(),
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
    ///
    /// Every submit builds and moves this future; only the rare steps that wait for a
    /// batch to be sealed are boxed futures of their own, allocated once a batch, so that
    /// an entry is not carried in it.
    pub(crate) async fn submit(
        &self,
        payload: B::Payload,
        tag: Option<u64>,
        scope: Option<u64>,
    ) -> Result<(), SubmitError<B::Payload>> {
        self.backend.ready().await;
        let limits = self.limits();
        // The item stays in this block: a local in scope across an await would be carried
        // in the future.
        let wait = {
            let item = match self.prepare(payload, tag, scope, limits) {
                Ok(item) => item,
                Err(err) => {
                    Counters::add(&self.counters.rejected, 1);
                    return Err(err);
                }
            };
            Counters::add(&self.counters.submitted, 1);
            match self.add(item, limits)? {
                None => return Ok(()),
                Some(no_room) => Box::pin(self.after_no_room(no_room, limits)),
            }
        };
        wait.await
    }

    /// Adds an accepted item to the pending batch, or says why it must wait: the batch is
    /// full (and goes at once if a slot is free), or it has no room for the item.
    fn add(
        &self,
        item: Item<B>,
        limits: Limits,
    ) -> Result<Option<NoRoom<B>>, SubmitError<B::Payload>> {
        let mut state = self.lock();
        match self.try_add(&mut state, item) {
            // A full batch goes at once if a slot is free, rather than wait for the next
            // submit. A batch with merged entries is never full: later entries may still
            // merge into it.
            None if state.pending.is_full() => Ok(Some(NoRoom::Full)),
            None => Ok(None),
            Some(back) if state.pending.is_empty() => {
                // `prepare` let through an entry no request can carry.
                let kind = SubmitErrorKind::TooLarge {
                    field: B::SPEC.entry_size_field.into(),
                    size: back.size,
                    limit: limits.max_entry_bytes.min(limits.max_request_bytes),
                };
                Counters::add(&self.counters.rejected, 1);
                Err(SubmitError::new(back.payload, kind))
            }
            Some(back) => Ok(Some(NoRoom::For(back, state.pending.generation()))),
        }
    }

    /// Seals the full batch if a slot is free; or seals the batch that had no room for an
    /// item once a slot is free, and adds the item to the next, until it is in.
    async fn after_no_room(
        &self,
        mut no_room: NoRoom<B>,
        limits: Limits,
    ) -> Result<(), SubmitError<B::Payload>> {
        loop {
            let (item, generation) = match no_room {
                NoRoom::Full => {
                    self.seal(Slot::Free, Pending::is_full).await;
                    return Ok(());
                }
                NoRoom::For(item, generation) => (item, generation),
            };
            tracing::trace!(backend = B::SPEC.name, "submit seals a full batch");
            self.seal(Slot::Wait, |pending| pending.generation() == generation)
                .await;
            match self.add(item, limits)? {
                None => return Ok(()),
                Some(next) => no_room = next,
            }
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
            self.parked.drive_while(notified).await;
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
        scope: Option<u64>,
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
        Ok(Item::new(payload, tag, scope, prepared))
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
}

/// Why [`Shared::add`] did not leave an item in the pending batch for good.
enum NoRoom<B: Backend> {
    /// The item is in, and the batch is full.
    Full,
    /// The batch has no room for the item: it goes in the next, after the batch of this
    /// generation is sealed.
    For(Item<B>, u64),
}
