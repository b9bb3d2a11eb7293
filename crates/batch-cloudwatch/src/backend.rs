//! PutMetricData as a [`Backend`].

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::error::SdkError;
use aws_sdk_cloudwatch::operation::put_metric_data::PutMetricDataError;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StatisticSet as SdkStatisticSet};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::DateTime;
use batch_core::{
    Backend, BatchEntry, ConfigError, EntryOutcome, Failure, Grouping, Limits, Prepared,
    ServiceSpec, SubmitErrorKind, classify_sdk_error,
};

use crate::metric::{Metric, MetricValue, check, limits::MAX_VALUES};

/// Bytes kept free in every request for the envelope (the namespace and the framing).
const ENVELOPE_RESERVE: usize = 1_024;

/// PutMetricData limits: 1,000 metrics and 1 MB per request, less 1,024 bytes kept for
/// the namespace and framing; a metric can take the whole request.
///
/// Source: CloudWatch API reference, PutMetricData ("Each PutMetricData request is limited
/// to 1 MB in size for HTTP POST requests. You can send a payload compressed by gzip. Each
/// request is also limited to no more than 1000 different metrics"); checked 2026-11-23.
pub const CLOUDWATCH_LIMITS: Limits = Limits::new(
    1_000,
    1_000_000 - ENVELOPE_RESERVE,
    1_000_000 - ENVELOPE_RESERVE,
);

/// The PutMetricData backend of one namespace.
#[derive(Debug)]
pub struct CloudWatchBackend {
    client: Client,
    namespace: String,
    /// Why the namespace cannot be used, if it cannot: every metric is then refused at
    /// submit, for a dispatcher built without the builder's check.
    namespace_error: Option<String>,
    pub(crate) aggregate: bool,
}

/// Longest namespace in characters. Source: CloudWatch API reference, PutMetricData
/// `Namespace`; checked 2026-11-23.
pub const MAX_NAMESPACE_CHARS: usize = 255;

/// Checks a namespace: 1 to 255 characters.
fn check_namespace(namespace: &str) -> Result<(), String> {
    let chars = namespace.chars().count();
    if chars == 0 || chars > MAX_NAMESPACE_CHARS {
        Err(format!(
            "must be 1 to {MAX_NAMESPACE_CHARS} characters, not {chars}"
        ))
    } else {
        Ok(())
    }
}

/// A prepared metric: its timestamp (the submit time unless it has its own), size and, when
/// aggregating, the key of metrics it merges with. Its datum is built from the metric when
/// sent.
#[derive(Debug)]
pub struct CloudWatchEntry {
    timestamp: SystemTime,
    merges: bool,
}

/// A PutMetricData request that failed as a whole.
#[derive(Debug, thiserror::Error)]
#[error("PutMetricData failed")]
pub struct CloudWatchRequestError(#[source] SdkError<PutMetricDataError, HttpResponse>);

impl CloudWatchRequestError {
    /// The SDK's error.
    #[must_use]
    pub fn as_sdk_error(&self) -> &SdkError<PutMetricDataError, HttpResponse> {
        &self.0
    }

    /// The SDK's error, owned.
    #[must_use]
    pub fn into_sdk_error(self) -> SdkError<PutMetricDataError, HttpResponse> {
        self.0
    }
}

impl CloudWatchBackend {
    /// The backend of `namespace`, without aggregation.
    pub fn new(client: Client, namespace: impl Into<String>) -> Self {
        let namespace = namespace.into();
        Self {
            client,
            namespace_error: check_namespace(&namespace).err(),
            namespace,
            aggregate: false,
        }
    }

    /// The namespace the dispatcher writes to.
    #[must_use]
    pub fn namespace(&self) -> &str {
        &self.namespace
    }
}

/// An upper bound of a metric's size in the request, for the CBOR encoding the SDK uses: exact
/// CBOR heads for key names and strings, 9 bytes (the most) for every number and for every
/// map or array head, and only the fields its datum has (see [`datum_of`]).
fn metric_size(metric: &Metric) -> usize {
    /// A double, or an integer, or a tag and its value: at most 9 bytes.
    const NUMBER: usize = 9;
    /// A map or array head, definite or indefinite (with its end byte): at most 9 bytes.
    const CONTAINER: usize = 9;
    let text = |s: &str| cbor_head(s.len()) + s.len();
    let mut size = CONTAINER + text("MetricName") + text(&metric.name);
    size += text("Timestamp") + 1 + NUMBER; // tag 1 and an epoch-seconds double
    size += text("Unit") + text(metric.unit.as_str());
    if metric.storage_resolution.is_some() {
        size += text("StorageResolution") + NUMBER;
    }
    if !metric.dimensions.is_empty() {
        size += text("Dimensions") + CONTAINER;
        for (name, value) in &metric.dimensions {
            size += CONTAINER + text("Name") + text(name) + text("Value") + text(value);
        }
    }
    match &metric.value {
        MetricValue::Single(_) => size += text("Value") + NUMBER,
        MetricValue::Values { values, counts } => {
            size += text("Values") + CONTAINER + values.len() * NUMBER;
            if !counts.is_empty() {
                size += text("Counts") + CONTAINER + counts.len() * NUMBER;
            }
        }
        MetricValue::Statistics(_) => {
            size += text("StatisticValues") + CONTAINER + 4 * (text("SampleCount") + NUMBER);
        }
    }
    size
}

/// The datum of `metric`, stamped `timestamp`.
fn datum_of(metric: &Metric, timestamp: SystemTime) -> MetricDatum {
    let mut datum = MetricDatum::builder()
        .metric_name(&metric.name)
        .unit(metric.unit.clone())
        .timestamp(DateTime::from(timestamp))
        .set_storage_resolution(metric.storage_resolution);
    for (name, value) in &metric.dimensions {
        datum = datum.dimensions(Dimension::builder().name(name).value(value).build());
    }
    match &metric.value {
        MetricValue::Single(value) => datum.value(*value),
        MetricValue::Values { values, counts } => datum
            .set_values(Some(values.clone()))
            .set_counts((!counts.is_empty()).then(|| counts.clone())),
        MetricValue::Statistics(set) => datum.statistic_values(
            SdkStatisticSet::builder()
                .sample_count(set.sample_count)
                .sum(set.sum)
                .minimum(set.minimum)
                .maximum(set.maximum)
                .build(),
        ),
    }
    .build()
}

/// What a single-value datum grows by when sent merged: `Values` and `Counts` lists with one
/// entry each (7 + 9 + 9 bytes apiece) instead of a `Value` (6 + 9 bytes).
const MERGED_FORM_EXTRA: usize = 2 * (7 + 9 + 9) - (6 + 9);

/// Bytes of the CBOR head of a string of `len` bytes.
fn cbor_head(len: usize) -> usize {
    match len {
        0..=23 => 1,
        24..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// The start of the storage-resolution bucket a timestamp falls in, in seconds.
fn bucket(timestamp: SystemTime, resolution: i32) -> u64 {
    let seconds = timestamp
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let width = u64::from(resolution.unsigned_abs()).max(1);
    seconds - seconds % width
}

impl Backend for CloudWatchBackend {
    type Payload = Metric;
    type Entry = CloudWatchEntry;
    type Error = CloudWatchRequestError;

    const SPEC: ServiceSpec = ServiceSpec::new("cloudwatch", CLOUDWATCH_LIMITS)
        .entry_size_field("metric")
        .merge_limit(MAX_VALUES);

    fn prepare(&self, metric: &Metric) -> Result<Prepared<CloudWatchEntry>, SubmitErrorKind> {
        if let Some(reason) = &self.namespace_error {
            return Err(SubmitErrorKind::Invalid {
                field: "Namespace".into(),
                reason: reason.clone(),
            });
        }
        let now = SystemTime::now();
        check(metric, now)?;
        let timestamp = metric.timestamp.unwrap_or(now);
        let resolution = metric.storage_resolution.unwrap_or(60);
        let merge_key = match &metric.value {
            MetricValue::Single(_) if self.aggregate => {
                let mut dimensions = metric.dimensions.clone();
                dimensions.sort();
                Some(format!(
                    "{}\u{0}{}\u{0}{resolution}\u{0}{}\u{0}{dimensions:?}",
                    metric.name,
                    metric.unit.as_str(),
                    bucket(timestamp, resolution),
                ))
            }
            _ => None,
        };
        let mut size = metric_size(metric);
        if merge_key.is_some() {
            // Merged, its value goes out as a list of values with counts.
            size += MERGED_FORM_EXTRA;
        }
        let entry = CloudWatchEntry {
            timestamp,
            merges: merge_key.is_some(),
        };
        let grouping = match merge_key {
            // One more value and its count.
            Some(key) => Grouping::Merge {
                key,
                merged_size: 18,
            },
            None => Grouping::None,
        };
        Ok(Prepared::new(entry, size).grouped(grouping))
    }

    async fn send_batch(
        &self,
        batch: &[BatchEntry<'_, Self>],
    ) -> Result<Vec<EntryOutcome>, CloudWatchRequestError> {
        self.client
            .put_metric_data()
            .namespace(&self.namespace)
            .set_metric_data(Some(merge(batch)))
            .send()
            .await
            .map_err(CloudWatchRequestError)?;
        // PutMetricData is all or nothing.
        Ok(vec![EntryOutcome::Delivered; batch.len()])
    }

    fn classify(&self, error: &CloudWatchRequestError) -> Failure {
        classify_sdk_error(&error.0)
    }

    fn check(&self) -> Result<(), ConfigError> {
        match &self.namespace_error {
            None => Ok(()),
            Some(reason) => Err(ConfigError::Invalid {
                field: "namespace",
                reason: reason.clone(),
            }),
        }
    }
}

/// The datums of a request: the entries the engine counted in one slot become one datum of
/// distinct values and their counts, timestamped at the start of their bucket; others stay as
/// they are.
fn merge(batch: &[BatchEntry<'_, CloudWatchBackend>]) -> Vec<MetricDatum> {
    let mut datums: Vec<MetricDatum> = Vec::with_capacity(batch.len());
    // Slot to its index in `datums`.
    let mut open: HashMap<usize, usize> = HashMap::new();
    for item in batch {
        let (entry, metric) = (item.entry, item.payload);
        // Only single values merge.
        let (true, MetricValue::Single(value)) = (entry.merges, &metric.value) else {
            datums.push(datum_of(metric, entry.timestamp));
            continue;
        };
        let value = *value;
        if let Some(&index) = open.get(&item.slot) {
            let datum = &mut datums[index];
            let values = datum.values.get_or_insert_with(Vec::new);
            let counts = datum.counts.get_or_insert_with(Vec::new);
            match values.iter().position(|v| v.to_bits() == value.to_bits()) {
                Some(i) => counts[i] += 1.0,
                None => {
                    values.push(value);
                    counts.push(1.0);
                }
            }
            continue;
        }
        let mut datum = datum_of(metric, entry.timestamp);
        datum.value = None;
        datum.values = Some(vec![value]);
        datum.counts = Some(vec![1.0]);
        if let Some(timestamp) = datum.timestamp {
            let resolution = datum.storage_resolution.unwrap_or(60);
            let start = bucket(
                SystemTime::try_from(timestamp).unwrap_or(UNIX_EPOCH),
                resolution,
            );
            datum.timestamp = Some(DateTime::from_secs(i64::try_from(start).unwrap_or(0)));
        }
        open.insert(item.slot, datums.len());
        datums.push(datum);
    }
    datums
}
