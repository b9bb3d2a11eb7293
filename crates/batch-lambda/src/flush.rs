//! [`Flush`]: any dispatcher, seen as something to flush within a budget, and what to do
//! with what it could not deliver when no caller is there to take it.

use std::fmt;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use batch_core::{Backend, Dispatcher, Unprocessed};
use serde::Serialize;

/// A dispatcher of any service, to flush at the end of an invocation or at shutdown.
///
/// Implemented for every [`Dispatcher`] whose payload type is `Debug`; a program's
/// dispatchers go into one `Vec<Arc<dyn Flush>>`.
pub trait Flush: Send + Sync {
    /// The service, for logs and reports.
    fn service(&self) -> &'static str;

    /// Payloads pending or in flight.
    fn held(&self) -> usize;

    /// Flushes within `budget` ([`Dispatcher::flush_payloads_within`]) and reports what was
    /// not delivered.
    fn flush_within(
        &self,
        budget: Duration,
    ) -> Pin<Box<dyn Future<Output = Vec<Undelivered>> + Send + '_>>;
}

impl<B> Flush for Dispatcher<B>
where
    B: Backend,
    B::Payload: fmt::Debug,
{
    fn service(&self) -> &'static str {
        B::SPEC.name
    }

    fn held(&self) -> usize {
        self.pending() + self.in_flight()
    }

    fn flush_within(
        &self,
        budget: Duration,
    ) -> Pin<Box<dyn Future<Output = Vec<Undelivered>> + Send + '_>> {
        Box::pin(async move {
            self.flush_payloads_within(budget)
                .await
                .iter()
                .map(|item| Undelivered::of(B::SPEC.name, item))
                .collect()
        })
    }
}

impl<T: Flush + ?Sized> Flush for Arc<T> {
    fn service(&self) -> &'static str {
        (**self).service()
    }

    fn held(&self) -> usize {
        (**self).held()
    }

    fn flush_within(
        &self,
        budget: Duration,
    ) -> Pin<Box<dyn Future<Output = Vec<Undelivered>> + Send + '_>> {
        (**self).flush_within(budget)
    }
}

/// A payload a flush without a caller to hand it to (after the response, at shutdown)
/// could not deliver: what [`write_to_stderr`] prints, one JSON line each, so that the
/// function's log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Undelivered {
    /// The service of the dispatcher that held it.
    pub service: &'static str,
    /// Its tag, if it was submitted with one.
    pub tag: Option<u64>,
    /// Why it was not delivered.
    pub reason: String,
    /// The last AWS error code.
    pub code: String,
    /// The last AWS error message.
    pub message: String,
    /// The payload, as its `Debug` form.
    pub payload: String,
}

impl Undelivered {
    /// Describes `item` of a dispatcher of `service`.
    pub fn of<P: fmt::Debug>(service: &'static str, item: &Unprocessed<P>) -> Self {
        Self {
            service,
            tag: item.tag,
            reason: item.error.reason.to_string(),
            code: item.error.code().to_owned(),
            message: item.error.message().to_owned(),
            payload: format!("{:?}", item.payload),
        }
    }

    /// One JSON line: `{"undelivered": {...}}`.
    #[must_use]
    pub fn to_json_line(&self) -> String {
        #[derive(Serialize)]
        struct Line<'a> {
            undelivered: &'a Undelivered,
        }
        serde_json::to_string(&Line { undelivered: self }).unwrap_or_else(|_| {
            // Every field is a string or a number: serializing cannot fail.
            format!("{{\"undelivered\":{{\"service\":\"{}\"}}}}", self.service)
        })
    }
}

/// Prints each of `undelivered` as one JSON line on stderr (CloudWatch Logs keeps a Lambda
/// function's stderr), and logs their count at ERROR.
pub fn write_to_stderr(undelivered: &[Undelivered]) {
    if undelivered.is_empty() {
        return;
    }
    tracing::error!(
        count = undelivered.len(),
        "payloads not delivered; each is on stderr as an \"undelivered\" JSON line"
    );
    let mut stderr = std::io::stderr().lock();
    for item in undelivered {
        // Nothing else is left to do with a payload if stderr is gone.
        let _ = writeln!(stderr, "{}", item.to_json_line());
    }
    let _ = stderr.flush();
}

/// Flushes every one of `dispatchers` at once within `budget`, and returns what they could
/// not deliver.
pub async fn flush_all(dispatchers: &[Arc<dyn Flush>], budget: Duration) -> Vec<Undelivered> {
    let mut flushes = tokio::task::JoinSet::new();
    for dispatcher in dispatchers {
        let dispatcher = Arc::clone(dispatcher);
        flushes.spawn(async move { dispatcher.flush_within(budget).await });
    }
    let mut undelivered = Vec::new();
    while let Some(done) = flushes.join_next().await {
        match done {
            Ok(items) => undelivered.extend(items),
            // A flush does not panic; a panic here is a bug worth seeing in the log.
            Err(error) => tracing::error!(%error, "a flush task failed"),
        }
    }
    undelivered
}

/// Flushes under way whose undelivered payloads are yet to be reported. Two flushes of one
/// dispatcher may run at once (the one after a response, and the drain at shutdown), and a
/// payload that a request stopped by one of them hands back goes to either; the process
/// exits when the drain returns, so the drain waits for the other to report it.
static REPORTING: AtomicUsize = AtomicUsize::new(0);
static REPORTED: Notify = Notify::const_new();

/// A flush that has yet to report what it could not deliver, from its start until dropped.
pub(crate) struct Reporting(());

impl Reporting {
    pub(crate) fn start() -> Self {
        REPORTING.fetch_add(1, Ordering::SeqCst);
        Self(())
    }

    /// Waits until every flush has reported, or until `until`.
    #[cfg(all(unix, feature = "graceful-shutdown"))]
    pub(crate) async fn all_done(until: tokio::time::Instant) {
        loop {
            let reported = REPORTED.notified();
            tokio::pin!(reported);
            reported.as_mut().enable();
            if REPORTING.load(Ordering::SeqCst) == 0 {
                return;
            }
            if tokio::time::timeout_at(until, reported).await.is_err() {
                return;
            }
        }
    }
}

impl Drop for Reporting {
    fn drop(&mut self) {
        REPORTING.fetch_sub(1, Ordering::SeqCst);
        REPORTED.notify_waiters();
    }
}
