//! The public face of the engine: [`Dispatcher`] and what a dropped one does. The engine
//! itself is in `shared`; building one is in `service`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::backend::Backend;
use crate::error::{FlushTimedOut, SubmitError};
use crate::shared::Shared;
use crate::stats::Stats;
use crate::unprocessed::Unprocessed;

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
/// let dispatcher = Dispatcher::builder(backend.clone())
///     .config(DispatcherConfig::default().max_entries(10))
///     .build()
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
    pub(crate) shared: Arc<Shared<B>>,
}

impl<B: Backend> Dispatcher<B> {
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
    // Not an `async fn`: the future is the engine's own, not one more layer around it that
    // every submit would build and move.
    pub fn submit_payload(
        &self,
        payload: impl Into<B::Payload>,
    ) -> impl Future<Output = Result<(), SubmitError<B::Payload>>> + '_ {
        self.shared.submit(payload.into(), None, None)
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
    /// let dispatcher = Dispatcher::builder(backend).build().expect("valid settings");
    /// dispatcher.submit_tagged(TestPayload::new(1, 10), 41).await.expect("valid");
    /// let failed = dispatcher.flush_payloads().await;
    /// assert_eq!(failed[0].tag, Some(41));
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// As for `submit_payload`.
    pub fn submit_tagged(
        &self,
        payload: impl Into<B::Payload>,
        tag: u64,
    ) -> impl Future<Output = Result<(), SubmitError<B::Payload>>> + '_ {
        self.shared.submit(payload.into(), Some(tag), None)
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

    /// Like [`flush_payloads`](Self::flush_payloads), within `budget`: what is not delivered
    /// by then is stopped ([`abandon`](Self::abandon)) and handed back too, so that when it
    /// returns, shortly after the budget at most, nothing accepted before the call is still
    /// held. For a caller with a hard end, such as a Lambda invocation's deadline.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use std::time::Duration;
    /// use batch_core::testing::{InMemoryBackend, TestPayload};
    /// use batch_core::{Dispatcher, UnprocessedReason};
    ///
    /// let backend = InMemoryBackend::new();
    /// backend.delay(Duration::from_secs(30)); // a destination that hangs
    /// let dispatcher = Dispatcher::builder(backend).build().expect("valid settings");
    /// dispatcher.submit_payload(TestPayload::new(1, 10)).await.expect("valid");
    /// let failed = dispatcher.flush_payloads_within(Duration::from_secs(2)).await;
    /// assert_eq!(failed[0].error.reason, UnprocessedReason::Abandoned);
    /// # }
    /// ```
    pub async fn flush_payloads_within(&self, budget: Duration) -> Vec<Unprocessed<B::Payload>> {
        self.shared.flush_within(budget).await
    }

    /// A scope of this dispatcher: payloads submitted through it are packed with everyone
    /// else's, and its flush waits only for the requests that carry its own payloads and
    /// hands back only its own failures. For concurrent units of work that share one
    /// dispatcher and must each account for their own payloads, such as the invocations a
    /// Lambda environment runs at once.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use batch_core::testing::{InMemoryBackend, TestPayload};
    /// use batch_core::Dispatcher;
    ///
    /// let backend = InMemoryBackend::new();
    /// let dispatcher = Dispatcher::builder(backend.clone()).build().expect("valid settings");
    /// let (first, second) = (dispatcher.scope(), dispatcher.scope());
    /// first.submit_payload(TestPayload::new(1, 10)).await.expect("valid");
    /// second.submit_payload(TestPayload::new(2, 10)).await.expect("valid");
    /// assert!(first.flush_payloads().await.is_empty());
    /// assert_eq!(backend.requests().len(), 1); // both went in one request
    /// # }
    /// ```
    pub fn scope(&self) -> crate::Scope<B> {
        crate::Scope::new(Arc::clone(&self.shared))
    }

    /// Stops sending: every batch in flight, and every one sealed until the next flush
    /// returns, hands its payloads back at once with [`UnprocessedReason::Abandoned`](crate::UnprocessedReason::Abandoned) instead
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

    /// Like [`flush_payloads`](Self::flush_payloads), but gives up waiting after `timeout`.
    ///
    /// # Errors
    ///
    /// [`FlushTimedOut`] when the time ran out, with what had failed by then; requests
    /// still in flight go on, and the next flush returns what they could not deliver.
    pub async fn flush_payloads_timeout(
        &self,
        timeout: Duration,
    ) -> Result<Vec<Unprocessed<B::Payload>>, FlushTimedOut<B::Payload>> {
        match tokio::time::timeout(timeout, self.flush_payloads()).await {
            Ok(unprocessed) => Ok(unprocessed),
            Err(_) => {
                let mut state = self.shared.lock();
                let unprocessed = std::mem::take(&mut state.unprocessed);
                let in_flight = state.items_in_flight + state.pending.len();
                Err(FlushTimedOut::new(timeout, unprocessed, in_flight))
            }
        }
    }

    /// Ends this writer's lease with its [`Coordinator`](crate::Coordinator) now, so that the
    /// other writers of its fleet take up its share at once instead of when the lease lapses.
    /// Waits for the store's answer, at most a third of a lease; a failure is logged and the
    /// lease then lapses. Does nothing without a coordinator, or before the writer has
    /// registered.
    ///
    /// A dispatcher dropped ends its lease too, but on a task of its own, which a process
    /// that exits right after never runs: call this after the last flush of a run. A later
    /// request registers the writer again. Dispatchers that share a pace
    /// ([`SharedPace`](crate::SharedPace)) share one lease, and this ends it for all of them.
    ///
    /// ```no_run
    /// use batch_core::{Backend, Dispatcher, Unprocessed};
    ///
    /// /// The end of one writer's run: what it holds delivered, then its share given up.
    /// async fn finish<B: Backend>(writer: &Dispatcher<B>) -> Vec<Unprocessed<B::Payload>> {
    ///     let unprocessed = writer.flush_payloads().await;
    ///     writer.leave_fleet().await;
    ///     unprocessed
    /// }
    /// ```
    pub async fn leave_fleet(&self) {
        if let Some(pacer) = &self.shared.pacer {
            pacer.leave_fleet().await;
        }
    }

    /// Counters since the dispatcher was built.
    pub fn stats(&self) -> Stats {
        let mut stats = self.shared.counters.snapshot();
        if let Some(pacer) = &self.shared.pacer {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let rate = pacer.rate().map(|r| r as u64);
            stats.paced_rate = rate;
            stats.paced_wait = pacer.waited();
        }
        stats
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
