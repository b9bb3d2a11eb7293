//! The public dispatcher and the namespace's options.

use std::future::Future;

use aws_sdk_cloudwatch::Client;
use batch_core::{Dispatcher, SubmitError};

use crate::backend::CloudWatchBackend;
use crate::metric::Metric;

/// Batches metrics into PutMetricData requests for one namespace.
///
/// [`new`](Dispatcher::new) and [`from_client`](Dispatcher::from_client) take the
/// namespace; [`builder`](Dispatcher::builder) takes a [`CloudWatchBackend`] with its options
/// set and checks the namespace when it builds. A dispatcher made with `new` and an invalid
/// namespace refuses every metric at submit, naming the namespace. Submit a
/// [`Metric`](crate::Metric).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use batch_cloudwatch::{CloudWatchBatchDispatcher, Metric};
///
/// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let metrics = CloudWatchBatchDispatcher::new(&config, "MyApp");
/// metrics.submit_payload(Metric::new("Orders", 1.0)).await?;
/// let unprocessed = metrics.flush_payloads().await;
/// # let _ = unprocessed; Ok(()) }
/// ```
///
/// With options:
///
/// ```
/// # fn demo(client: aws_sdk_cloudwatch::Client) -> Result<(), batch_core::ConfigError> {
/// use batch_cloudwatch::{CloudWatchBackend, CloudWatchBatchDispatcher};
///
/// let metrics = CloudWatchBatchDispatcher::builder(CloudWatchBackend::new(client, "Shop").with_aggregate(true))
///     .build()?;
/// # let _ = metrics; Ok(()) }
/// ```
pub type CloudWatchBatchDispatcher = Dispatcher<CloudWatchBackend>;

impl CloudWatchBackend {
    /// Merge single-value metrics with the same name, dimensions, unit, storage resolution
    /// and timestamp bucket (the minute, or the second for high resolution) that are pending
    /// in one batch into one datum of values and counts, so a hot metric costs one datum per
    /// request instead of one per call. Default: off.
    #[must_use]
    pub fn with_aggregate(mut self, aggregate: bool) -> Self {
        self.aggregate = aggregate;
        self
    }
}

batch_core::impl_service!(CloudWatchBackend, Client, String, new);

/// `submit_metric`, a name for [`submit_payload`](Dispatcher::submit_payload) that says what
/// it takes.
///
/// ```no_run
/// # async fn demo(metrics: batch_cloudwatch::CloudWatchBatchDispatcher) -> Result<(), Box<dyn std::error::Error>> {
/// use batch_cloudwatch::{Metric, SubmitMetric};
///
/// metrics.submit_metric(Metric::new("Orders", 1.0)).await?;
/// # Ok(()) }
/// ```
pub trait SubmitMetric {
    /// Submits one metric; see [`Dispatcher::submit_payload`].
    fn submit_metric(
        &self,
        metric: Metric,
    ) -> impl Future<Output = Result<(), SubmitError<Metric>>> + Send;
}

impl SubmitMetric for CloudWatchBatchDispatcher {
    fn submit_metric(
        &self,
        metric: Metric,
    ) -> impl Future<Output = Result<(), SubmitError<Metric>>> + Send {
        self.submit_payload(metric)
    }
}
