//! The public dispatcher and its builder.

use std::ops::Deref;

use aws_sdk_cloudwatch::Client;
use aws_types::SdkConfig;
use batch_core::{ConfigError, Dispatcher, DispatcherConfig, SubmitError};

use crate::backend::{CloudwatchBackend, check_namespace};
use crate::metric::Metric;

/// Builds a [`CloudwatchBatchDispatcher`] with options.
///
/// ```
/// # fn demo(client: aws_sdk_cloudwatch::Client) -> Result<(), batch_core::ConfigError> {
/// use std::time::Duration;
/// use batch_cloudwatch::CloudwatchBatchDispatcher;
/// use batch_core::DispatcherConfig;
///
/// let metrics = CloudwatchBatchDispatcher::builder(client, "MyService")
///     .aggregate(true)
///     .config(DispatcherConfig::default().linger(Duration::from_secs(10)))
///     .build()?;
/// # let _ = metrics; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use]
pub struct CloudwatchBatchDispatcherBuilder {
    client: Client,
    namespace: String,
    aggregate: bool,
    config: DispatcherConfig,
}

impl CloudwatchBatchDispatcherBuilder {
    /// Merge single-value metrics with the same name, dimensions, unit, storage resolution
    /// and timestamp bucket (the minute, or the second for high resolution) that are pending
    /// in one batch into one datum of values and counts, so a hot metric costs one datum per
    /// request instead of one per call. Default: off.
    pub fn aggregate(mut self, aggregate: bool) -> Self {
        self.aggregate = aggregate;
        self
    }

    /// Batching, concurrency and retry settings. Default: [`DispatcherConfig::default`].
    pub fn config(mut self, config: DispatcherConfig) -> Self {
        self.config = config;
        self
    }

    /// The dispatcher. A namespace that is empty or longer than 255 characters is refused.
    pub fn build(self) -> Result<CloudwatchBatchDispatcher, ConfigError> {
        if let Err(reason) = check_namespace(&self.namespace) {
            return Err(ConfigError::Invalid {
                field: "namespace",
                reason,
            });
        }
        self.build_unchecked()
    }

    fn build_unchecked(self) -> Result<CloudwatchBatchDispatcher, ConfigError> {
        let backend = CloudwatchBackend::new(self.client, self.namespace, self.aggregate);
        Ok(CloudwatchBatchDispatcher(Dispatcher::new(
            backend,
            self.config,
        )?))
    }
}

/// Batches metrics into PutMetricData requests for one namespace.
///
/// Submit metrics with [`submit_metric`](Self::submit_metric). It dereferences to
/// [`Dispatcher`] for [`flush_payloads`](Dispatcher::flush_payloads) and
/// [`stats`](Dispatcher::stats).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use batch_cloudwatch::{CloudwatchBatchDispatcher, Metric, Unit};
///
/// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let metrics = CloudwatchBatchDispatcher::new(&config, "MyService");
/// metrics.submit_metric(Metric::new("Orders", 1.0).dimension("Shop", "eu")).await?;
/// metrics.submit_metric(Metric::new("Latency", 12.5).unit(Unit::Milliseconds)).await?;
/// let unprocessed = metrics.flush_payloads().await;
/// # let _ = unprocessed; Ok(()) }
/// ```
#[derive(Debug)]
pub struct CloudwatchBatchDispatcher(Dispatcher<CloudwatchBackend>);

impl CloudwatchBatchDispatcher {
    /// A dispatcher for `namespace` with a client built from `config`. Does no I/O, and
    /// cannot fail: with a namespace of no characters or more than 255, every metric is
    /// refused at submit with an error naming `Namespace`; the builder refuses it up front
    /// instead.
    pub fn new(config: &SdkConfig, namespace: impl Into<String>) -> Self {
        Self::from_client(Client::new(config), namespace)
    }

    /// A dispatcher for `namespace` using the caller's client.
    pub fn from_client(client: Client, namespace: impl Into<String>) -> Self {
        Self::builder(client, namespace)
            .build_unchecked()
            .unwrap_or_else(|_| unreachable!("the default configuration is valid"))
    }

    /// A builder for options.
    pub fn builder(
        client: Client,
        namespace: impl Into<String>,
    ) -> CloudwatchBatchDispatcherBuilder {
        CloudwatchBatchDispatcherBuilder {
            client,
            namespace: namespace.into(),
            aggregate: false,
            config: DispatcherConfig::default(),
        }
    }

    /// Adds a metric to the pending batch. A metric CloudWatch would refuse (NaN, a value out
    /// of range, too many dimensions or values, ...) comes back in the error.
    ///
    /// # Errors
    ///
    /// The metric, handed back, with what is wrong with it.
    pub async fn submit_metric(&self, metric: Metric) -> Result<(), SubmitError<Metric>> {
        self.0.submit_payload(metric).await
    }
}

impl Deref for CloudwatchBatchDispatcher {
    type Target = Dispatcher<CloudwatchBackend>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
