//! [`Scope`]: a share of a dispatcher whose flush answers for its own payloads only.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::backend::Backend;
use crate::error::SubmitError;
use crate::shared::{OutOfTime, Shared};
use crate::unprocessed::Unprocessed;

/// A share of a [`Dispatcher`](crate::Dispatcher), from [`Dispatcher::scope`](crate::Dispatcher::scope).
///
/// Payloads submitted through a scope go into the dispatcher's batches with everyone
/// else's (as many to a request as fit), but the scope's flush waits only for the requests
/// that carry its payloads, and returns only its payloads that were not delivered. One
/// scope per unit of work that must account for its own payloads: a Lambda invocation
/// among concurrent ones, a request of a server, a task.
///
/// Dropping a scope before its flush returned leaves its payloads to the dispatcher: they
/// are sent, and the dispatcher's flush hands back those that fail.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use batch_core::testing::{InMemoryBackend, TestPayload};
/// use batch_core::{Dispatcher, Failure};
///
/// let backend = InMemoryBackend::new();
/// backend.fail_entry_always(2, Failure::permanent("ValidationException", "bad"));
/// let dispatcher = Dispatcher::builder(backend).build().expect("valid settings");
/// let (mine, theirs) = (dispatcher.scope(), dispatcher.scope());
/// mine.submit_tagged(TestPayload::new(1, 10), 7).await.expect("valid");
/// theirs.submit_tagged(TestPayload::new(2, 10), 8).await.expect("valid");
/// assert!(mine.flush_payloads().await.is_empty()); // the failure is not mine
/// assert_eq!(theirs.flush_payloads().await[0].tag, Some(8));
/// # }
/// ```
pub struct Scope<B: Backend> {
    shared: Arc<Shared<B>>,
    id: u64,
}

impl<B: Backend> Scope<B> {
    pub(crate) fn new(shared: Arc<Shared<B>>) -> Self {
        let id = shared.open_scope();
        Self { shared, id }
    }

    /// As [`Dispatcher::submit_payload`](crate::Dispatcher::submit_payload), for this scope.
    ///
    /// # Errors
    ///
    /// [`SubmitError`], with the payload, when it can never be sent.
    pub fn submit_payload(
        &self,
        payload: impl Into<B::Payload>,
    ) -> impl Future<Output = Result<(), SubmitError<B::Payload>>> + '_ {
        self.shared.submit(payload.into(), None, Some(self.id))
    }

    /// As [`Dispatcher::submit_tagged`](crate::Dispatcher::submit_tagged), for this scope.
    ///
    /// # Errors
    ///
    /// [`SubmitError`], with the payload, when it can never be sent.
    pub fn submit_tagged(
        &self,
        payload: impl Into<B::Payload>,
        tag: u64,
    ) -> impl Future<Output = Result<(), SubmitError<B::Payload>>> + '_ {
        self.shared.submit(payload.into(), Some(tag), Some(self.id))
    }

    /// Sends the pending batch if it holds this scope's payloads, waits for the requests
    /// that carry them, and returns those that could not be delivered. While other scopes
    /// are live and not flushing, it waits for them up to 10 ms before it sends, so that
    /// concurrent units of work ending together share requests; a lone scope does not wait. Every payload
    /// submitted through the scope before the call is, when it returns, delivered or in
    /// the list. The list drains.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future loses nothing: the next flush of the scope returns what failed.
    pub async fn flush_payloads(&self) -> Vec<Unprocessed<B::Payload>> {
        self.shared
            .flush_scope(self.id, None, OutOfTime::StopAll)
            .await
            .0
    }

    /// Like [`flush_payloads`](Self::flush_payloads), within `budget`: by then the requests
    /// carrying this scope's payloads are stopped, and what is not delivered is handed back
    /// ([`UnprocessedReason::Abandoned`](crate::UnprocessedReason::Abandoned)), so nothing
    /// of the scope is still held when it returns. Other scopes' payloads in a stopped
    /// request come back to their own flush, abandoned too.
    pub async fn flush_payloads_within(&self, budget: Duration) -> Vec<Unprocessed<B::Payload>> {
        let deadline = tokio::time::Instant::now() + budget;
        let flushed = self
            .shared
            .flush_scope(self.id, Some(deadline), OutOfTime::StopAll);
        flushed.await.0
    }

    /// Like [`flush_payloads_within`](Self::flush_payloads_within), but when `budget` runs
    /// out it stops only the requests that carry nothing but this scope's payloads. A request
    /// that carries other scopes' payloads (or the dispatcher's own) goes on for them, and
    /// this scope's payloads in it are of unknown outcome: their tags are in
    /// [`ScopeFlush::in_flight`]. They may yet be delivered; if they are not, they are not
    /// handed back again (the caller has them by their tags). Once no other scope waits for
    /// such a request and it carries none of the dispatcher's own payloads, it is stopped.
    ///
    /// For units of work whose input is sent again when it is reported failed by its tag,
    /// as a Lambda invocation's partial batch response does: the invocation reports its
    /// in-flight tags with its undelivered ones, and the invocations it shares requests
    /// with do not lose theirs because it ran out of time.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::time::Duration;
    /// use batch_core::testing::{InMemoryBackend, TestPayload};
    /// use batch_core::Dispatcher;
    ///
    /// let dispatcher = Dispatcher::builder(InMemoryBackend::new()).build().expect("valid settings");
    /// let scope = dispatcher.scope();
    /// scope.submit_tagged(TestPayload::new(1, 10), 0).await.expect("valid");
    /// let flushed = scope.flush_within(Duration::from_secs(1)).await;
    /// assert!(flushed.unprocessed.is_empty() && flushed.in_flight.is_empty());
    /// # }
    /// ```
    pub async fn flush_within(&self, budget: Duration) -> ScopeFlush<B::Payload> {
        let deadline = tokio::time::Instant::now() + budget;
        let flushed = self
            .shared
            .flush_scope(self.id, Some(deadline), OutOfTime::LeaveShared);
        let (unprocessed, in_flight) = flushed.await;
        ScopeFlush {
            unprocessed,
            in_flight,
        }
    }
}

/// What [`Scope::flush_within`] returns: the scope's payloads that were not delivered, and
/// the tags of those whose outcome was unknown when its time ran out.
#[derive(Debug)]
#[non_exhaustive]
pub struct ScopeFlush<P> {
    /// Payloads not delivered, as [`Scope::flush_payloads`] returns them.
    pub unprocessed: Vec<Unprocessed<P>>,
    /// Tags of the scope's payloads still in flight, in requests shared with others, when
    /// its time ran out (`None` for a payload submitted without a tag).
    pub in_flight: Vec<Option<u64>>,
}

impl<P> ScopeFlush<P> {
    /// Whether every payload of the scope was delivered.
    #[must_use]
    pub fn all_delivered(&self) -> bool {
        self.unprocessed.is_empty() && self.in_flight.is_empty()
    }
}

impl<B: Backend> Drop for Scope<B> {
    fn drop(&mut self) {
        self.shared.close_scope(self.id);
    }
}

impl<B: Backend> fmt::Debug for Scope<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("backend", &B::SPEC.name)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
