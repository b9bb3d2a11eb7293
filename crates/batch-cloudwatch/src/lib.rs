//! Batched writes of Amazon CloudWatch metrics with PutMetricData.
//!
//! [`CloudWatchBatchDispatcher`] packs metrics into requests of at most 1,000 metrics and
//! 1 MB (sized conservatively for the CBOR protocol the SDK speaks), sends them concurrently,
//! retries a throttled or failed request with backoff a bounded number of times, and hands
//! back every metric it could not deliver, with the AWS error. PutMetricData is all or
//! nothing, so a request CloudWatch refuses returns all of its metrics; none is ever dropped.
//!
//! - **Metrics** carry one value, values with counts (at most 150), or a statistic set; a
//!   [`Unit`] (`Count` by default); up to 30 dimensions; a timestamp (UTC, now by default);
//!   and a storage resolution of 1 or 60 seconds. Each is checked at submit: NaN, infinities,
//!   values beyond 2^360, too many dimensions or values, mismatched counts, names out of
//!   range come back in a [`SubmitError`](batch_core::SubmitError) naming the field and the
//!   limit.
//! - **Aggregation** ([`CloudWatchBackend::with_aggregate`]) merges a hot metric's
//!   pending values into one datum of values and counts per request.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use batch_cloudwatch::{CloudWatchBackend, CloudWatchBatchDispatcher, Metric, StatisticSet, Unit};
//!
//! let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let shop = CloudWatchBackend::new(aws_sdk_cloudwatch::Client::new(&config), "Shop").with_aggregate(true);
//! let metrics = CloudWatchBatchDispatcher::builder(shop).build()?;
//! for latency in [12.0, 15.5, 12.0, 40.1] {
//!     let metric = Metric::new("Latency", latency).with_unit(Unit::Milliseconds).with_dimension("Route", "/cart");
//!     metrics.submit_payload(metric).await?;
//! }
//! let summary = StatisticSet { sample_count: 3.0, sum: 30.0, minimum: 5.0, maximum: 15.0 };
//! metrics.submit_payload(Metric::statistics("BatchSize", summary)).await?;
//! for failed in metrics.flush_payloads().await {
//!     eprintln!("not delivered ({}): {}", failed.error.code(), failed.error);
//! }
//! # Ok(()) }
//! ```

mod backend;
mod dispatcher;
#[cfg(feature = "serde")]
pub mod json;
mod metric;

/// CloudWatch's units.
/// The AWS SDK crate this one is built on, so that a client you build for it (and its
/// types) match the version the backend takes: `cloudwatch::sdk::Client::new(&config)`.
pub use aws_sdk_cloudwatch as sdk;
pub use aws_sdk_cloudwatch::types::StandardUnit as Unit;
pub use backend::{
    CLOUDWATCH_LIMITS, CloudWatchBackend, CloudWatchEntry, CloudWatchRequestError,
    MAX_NAMESPACE_CHARS,
};
pub use dispatcher::{CloudWatchBatchDispatcher, SubmitMetric};
pub use metric::{Metric, MetricValue, StatisticSet, limits};
