//! One pace for several dispatchers whose destinations share one quota.

use std::sync::{Arc, OnceLock};

use super::Pacer;

/// One pace for several dispatchers of one process whose destinations share one quota:
/// CloudWatch Logs streams of one account and Region (PutLogEvents is throttled per account
/// and Region, not per stream), or several dispatchers writing to one table or stream. Each
/// dispatcher built with it ([`DispatcherBuilder::shared_pace`](crate::DispatcherBuilder::shared_pace))
/// paces by the same learned rates and keeps its requests in one window: a throttle one of
/// them meets slows all of them, instead of each learning the quota alone and together
/// sending several times it.
///
/// The first dispatcher built with it sets the window's size and the caps
/// (`max_in_flight`, `max_records_per_second`, ...) from its settings; the throttling
/// domains are the backends' own ([`Domains`](crate::Domains)), so share a pace only between
/// dispatchers of one service whose domains mean the same part of the quota (for a service
/// without domains, the whole destination).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use batch_core::testing::{InMemoryBackend, TestPayload};
/// use batch_core::{Dispatcher, SharedPace};
///
/// let pace = SharedPace::new();
/// let first = Dispatcher::builder(InMemoryBackend::new()).shared_pace(&pace).build().expect("valid");
/// let second = Dispatcher::builder(InMemoryBackend::new()).shared_pace(&pace).build().expect("valid");
/// first.submit_payload(TestPayload::new(1, 10)).await.expect("valid");
/// second.submit_payload(TestPayload::new(2, 10)).await.expect("valid");
/// assert!(first.flush_payloads().await.is_empty());
/// assert!(second.flush_payloads().await.is_empty());
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct SharedPace(Arc<OnceLock<Arc<Pacer>>>);

impl SharedPace {
    /// A pace no dispatcher uses yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The pacer, made by the first dispatcher built with this pace.
    pub(crate) fn pacer(&self, make: impl FnOnce() -> Pacer) -> Arc<Pacer> {
        Arc::clone(self.0.get_or_init(|| Arc::new(make())))
    }
}
