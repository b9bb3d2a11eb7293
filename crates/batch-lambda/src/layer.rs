//! [`FlushLayer`]: flushes the dispatchers it is given at the end of every invocation, so
//! nothing is held while Lambda freezes the environment.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::SystemTime;

use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::{LambdaEvent, LambdaInvocation};

use crate::budget::InvocationBudget;
use crate::flush::{Flush, Reporting, Undelivered, flush_all, write_to_stderr};

type Report = Arc<dyn Fn(&[Undelivered]) + Send + Sync>;

/// A tower layer for `lambda_runtime` that flushes the dispatchers it is given at the end of
/// every invocation, within the invocation's [budget](InvocationBudget), so that nothing is
/// held across a freeze. What a flush cannot deliver goes to
/// [`on_undelivered`](Self::on_undelivered) (by default [`write_to_stderr`]: one JSON line
/// per payload in the function's log).
///
/// Where it goes decides when the flush runs:
///
/// - **After the response** (lower latency): `Runtime::new(handler).layer(flush_layer)`. The
///   layer wraps the runtime's whole invocation, posting the response included, so the caller
///   has its answer before the flush starts, and the flush ends before the runtime asks for
///   the next event (which is when Lambda may freeze the environment).
/// - **Before the response**: `Runtime::new(flush_layer.layer(service_fn(handler)))`. The
///   flush runs when the handler returns and before its response is posted.
///
/// To report failures in the response itself (a partial batch response), flush in the handler
/// with the invocation's budget, as in the crate's example; the layer then finds nothing left
/// and costs nothing.
///
/// Under concurrent invocations (`run_concurrent`), flush a [`Scope`](batch_core::Scope) per
/// invocation in the handler instead: this layer flushes whole dispatchers, so it waits for
/// every invocation's payloads.
///
/// ```no_run
/// use std::sync::Arc;
/// use batch_core::testing::{InMemoryBackend, TestPayload};
/// use batch_core::Dispatcher;
/// use batch_lambda::{Flush, FlushLayer};
/// use lambda_runtime::{service_fn, Error, LambdaEvent, Runtime};
///
/// #[tokio::main]
/// async fn main() -> Result<(), Error> {
///     let dispatcher = Arc::new(Dispatcher::builder(InMemoryBackend::new()).build()?);
///     let flushed: Vec<Arc<dyn Flush>> = vec![dispatcher.clone()];
///     let handler = service_fn(move |event: LambdaEvent<serde_json::Value>| {
///         let dispatcher = Arc::clone(&dispatcher);
///         async move {
///             dispatcher.submit_payload(TestPayload::new(1, 10)).await?;
///             Ok::<_, Error>(event.payload)
///         }
///     });
///     Runtime::new(handler).layer(FlushLayer::new(flushed)).run().await
/// }
/// ```
#[derive(Clone)]
pub struct FlushLayer {
    dispatchers: Arc<[Arc<dyn Flush>]>,
    budget: InvocationBudget,
    report: Report,
}

impl FlushLayer {
    /// Flushes `dispatchers` at the end of every invocation.
    pub fn new(dispatchers: impl IntoIterator<Item = Arc<dyn Flush>>) -> Self {
        Self {
            dispatchers: dispatchers.into_iter().collect(),
            budget: InvocationBudget::default(),
            report: Arc::new(write_to_stderr),
        }
    }

    /// How the flush's budget follows from the invocation's deadline.
    #[must_use]
    pub fn budget(mut self, budget: InvocationBudget) -> Self {
        self.budget = budget;
        self
    }

    /// What to do with the payloads a flush could not deliver (instead of
    /// [`write_to_stderr`]): a dead-letter queue, a file, a metric.
    #[must_use]
    pub fn on_undelivered(
        mut self,
        report: impl Fn(&[Undelivered]) + Send + Sync + 'static,
    ) -> Self {
        self.report = Arc::new(report);
        self
    }

    /// Flushes within the budget left before `deadline_ms` and reports what failed.
    async fn flush(&self, deadline_ms: u64) {
        let _reporting = Reporting::start();
        let budget = self.budget.at(deadline_ms, SystemTime::now());
        let undelivered = flush_all(&self.dispatchers, budget).await;
        (self.report)(&undelivered);
    }
}

impl fmt::Debug for FlushLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let services: Vec<&str> = self.dispatchers.iter().map(|d| d.service()).collect();
        f.debug_struct("FlushLayer")
            .field("dispatchers", &services)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for FlushLayer {
    type Service = FlushService<S>;

    fn layer(&self, inner: S) -> FlushService<S> {
        FlushService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`FlushLayer`] makes.
#[derive(Clone, Debug)]
pub struct FlushService<S> {
    inner: S,
    layer: FlushLayer,
}

type Boxed<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

/// The whole invocation, the response posted: the flush follows it.
impl<S> Service<LambdaInvocation> for FlushService<S>
where
    S: Service<LambdaInvocation, Response = ()>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = ();
    type Error = S::Error;
    type Future = Boxed<(), S::Error>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        let deadline = invocation.context.deadline;
        let answered = self.inner.call(invocation);
        let layer = self.layer.clone();
        Box::pin(async move {
            let result = answered.await;
            layer.flush(deadline).await;
            result
        })
    }
}

/// The handler: the flush comes before its response is posted.
impl<S, T> Service<LambdaEvent<T>> for FlushService<S>
where
    S: Service<LambdaEvent<T>>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Boxed<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, event: LambdaEvent<T>) -> Self::Future {
        let deadline = event.context.deadline;
        let handled = self.inner.call(event);
        let layer = self.layer.clone();
        Box::pin(async move {
            let result = handled.await;
            layer.flush(deadline).await;
            result
        })
    }
}
