//! Sealed batches: sealing (one function for every trigger), the linger timer, and each
//! batch's task.

use std::sync::{Arc, MutexGuard, OnceLock};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, watch};
use tracing::Instrument;

use super::{Shared, State};
use crate::attempt::{Sender, Stop, Undelivered};
use crate::backend::Backend;
use crate::ordering::Turn;
use crate::pending::{Item, Pending};
use crate::stats::Counters;
use crate::unprocessed::UnprocessedReason;

/// The largest share a linger timer runs short of the setting, drawn per batch: writers
/// started together do not send in step.
const LINGER_JITTER: f64 = 0.2;

/// The most sending at the pace the sealed batches of a paced dispatcher hold before
/// `submit` waits for one to finish: well within the throttle budget.
const MAX_BACKLOG: Duration = Duration::from_secs(10);

/// Where the request slot of a batch being sealed comes from.
#[derive(Clone, Copy)]
pub(super) enum Slot {
    /// One free now, or the batch is not sealed.
    Free,
    /// One waited for.
    Wait,
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

/// Whether threads can run on more than one core.
fn several_cores() -> bool {
    static SEVERAL: OnceLock<bool> = OnceLock::new();
    *SEVERAL.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1))
}

impl<B: Backend> Shared<B> {
    /// Seals the pending batch and starts its task, when it holds entries and `due` holds for
    /// it, checked under the lock and again after any wait. Every batch is sealed here: by
    /// submit (a full batch, or one without room for the next entry), by flush and by the
    /// linger timer. The batch takes a request slot: one free now, or with [`Slot::Wait`] one
    /// waited for. Returns the sealed batch's sequence number.
    pub(super) async fn seal(&self, slot: Slot, due: impl Fn(&Pending<B>) -> bool) -> Option<u64> {
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
                let slot = async {
                    self.wait_for_backlog().await;
                    Arc::clone(&self.batch_slots).acquire_owned().await
                };
                self.parked
                    .drive_while(slot)
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

    /// Waits while the sealed batches hold more than [`MAX_BACKLOG`] of sending at the
    /// pace: a writer paced to a small share of a quota would otherwise queue batches whose
    /// throttle budget runs out before their turn.
    async fn wait_for_backlog(&self) {
        let Some(pacer) = &self.pacer else { return };
        loop {
            let done = self.batch_done.notified();
            tokio::pin!(done);
            done.as_mut().enable();
            let held = self.lock().items_in_flight;
            #[allow(clippy::cast_precision_loss)]
            let over = pacer
                .rate()
                .is_some_and(|rate| held > 0 && held as f64 > rate * MAX_BACKLOG.as_secs_f64());
            if !over {
                return;
            }
            done.await;
        }
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
        let alone = state.outstanding.is_empty();
        state.outstanding.insert(seq);
        state.items_in_flight += items.len();
        let turn = state.ledger.register(seq, &items);
        let mut scopes: Vec<u64> = Vec::new();
        let mut unscoped = false;
        for item in &items {
            let Some(scope) = item.scope else {
                unscoped = true;
                continue;
            };
            if let Some(live) = state.scopes.get_mut(&scope) {
                live.batches.entry(seq).or_default().push(item.tag);
            }
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        let stop = Arc::new(watch::Sender::new(false));
        if !scopes.is_empty() {
            let batch_stop = super::BatchStop {
                stop: Arc::clone(&stop),
                waiting: scopes.clone(),
                unscoped,
            };
            state.stops.insert(seq, batch_stop);
        }
        drop(state);
        let batch = Batch {
            seq,
            items,
            turn,
            permit,
            scopes,
            stop,
        };
        self.spawn(batch, alone && several_cores());
        seq
    }

    /// Starts the batch's task. With `first_poll_here` (a batch sealed while no other is
    /// out, on several cores) the sealing caller polls it first, on its own thread, where
    /// the entries were just made, and parks it for the callers that wait in the dispatcher
    /// (`parked.rs`): the request is built, and the answer read and the batch's memory
    /// freed, on that thread, as a hand-written loop does. Memory made on one thread and
    /// freed on another was most of what the dispatcher spent over the loop at one batch in
    /// flight (DynamoDB, alternated with the first poll alone, two runs: 1.37 -> 1.27 and
    /// 1.27 -> 1.10 times the loop's CPU; SQS, 1.25-1.35 with neither, 1.03-1.15 with the
    /// first poll). With other batches out, the runtime's threads run them side by side
    /// instead (one caller building them all: DynamoDB at 16 in flight, 28% slower); on one
    /// core, where a runtime thread is no farther than the caller's, the first poll only
    /// adds a switch between threads per request.
    fn spawn(&self, batch: Batch<B>, first_poll_here: bool) {
        let Some(this) = self.me.upgrade() else {
            unreachable!("a live `&self` keeps the Arc alive")
        };
        let span = tracing::debug_span!(
            "batch",
            backend = B::SPEC.name,
            seq = batch.seq,
            entries = batch.items.len()
        );
        let task = this.run_batch(batch).instrument(span);
        if !first_poll_here {
            tokio::spawn(task);
            return;
        }
        self.parked.poll_and_park(Box::pin(task));
    }

    pub(super) fn start_linger(&self, generation: u64, linger: Duration) {
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
            pacer: self.pacer.as_deref(),
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
            // A scope that ran out of time named its payloads here as in flight: they are
            // its caller's already.
            let detached = state.detached.remove(&seq).unwrap_or_default();
            for unprocessed in out.items {
                if unprocessed
                    .scope
                    .is_some_and(|scope| detached.contains(&scope))
                {
                    tracing::debug!(tag = ?unprocessed.tag, "undelivered, named in flight before");
                    continue;
                }
                state.hand_back(unprocessed);
            }
        }
        // The later batches of its keys are told before the slot is freed: a batch sealed
        // into that slot then finds its turn already come.
        let _ = turn.done.send(true);
        drop(permit);
        self.batch_done.notify_waiters();
    }
}
