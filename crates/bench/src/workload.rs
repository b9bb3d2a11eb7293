//! The records every peer sends: the same bytes for the same (service, load, record number),
//! generated on the fly so that no peer holds the whole load in memory.

use std::fmt::Write as _;

use batch_core::Limits;
use serde::{Deserialize, Serialize};

/// A destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Service {
    Sqs,
    Kinesis,
    Dynamodb,
    Cloudwatch,
    Firehose,
    Eventbridge,
    Sns,
}

impl Service {
    pub(crate) const ALL: [Self; 7] = [
        Self::Sqs,
        Self::Kinesis,
        Self::Dynamodb,
        Self::Cloudwatch,
        Self::Firehose,
        Self::Eventbridge,
        Self::Sns,
    ];
    /// The services measured under the mixed and streamed loads and in the capacity sweep
    /// too (the others take the uniform load, at both latencies).
    pub(crate) const FULL_SUITE: [Self; 4] =
        [Self::Sqs, Self::Kinesis, Self::Dynamodb, Self::Cloudwatch];

    pub(crate) fn title(self) -> &'static str {
        match self {
            Self::Sqs => "SQS",
            Self::Kinesis => "Kinesis",
            Self::Dynamodb => "DynamoDB",
            Self::Cloudwatch => "CloudWatch",
            Self::Firehose => "Firehose",
            Self::Eventbridge => "EventBridge",
            Self::Sns => "SNS",
        }
    }

    /// The null endpoint's counter of the service's batch operation.
    pub(crate) fn batch_api(self) -> null_endpoint::Api {
        use null_endpoint::Api;
        match self {
            Self::Sqs => Api::SendMessageBatch,
            Self::Kinesis => Api::PutRecords,
            Self::Dynamodb => Api::BatchWriteItem,
            Self::Cloudwatch => Api::PutMetricData,
            Self::Firehose => Api::PutRecordBatch,
            Self::Eventbridge => Api::PutEvents,
            Self::Sns => Api::PublishBatch,
        }
    }

    /// The service's own limits, as the library states them.
    pub(crate) fn limits(self) -> Limits {
        match self {
            Self::Sqs => batch_sqs::SQS_LIMITS,
            Self::Kinesis => batch_kinesis::KINESIS_DEFAULT_LIMITS,
            Self::Dynamodb => batch_dynamodb::DYNAMODB_LIMITS,
            Self::Cloudwatch => batch_cloudwatch::CLOUDWATCH_LIMITS,
            Self::Firehose => batch_firehose::FIREHOSE_LIMITS,
            Self::Eventbridge => batch_eventbridge::EVENTBRIDGE_LIMITS,
            Self::Sns => batch_sns::SNS_LIMITS,
        }
    }
}

/// The shape of a load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Load {
    /// Records of about 1 KB.
    Uniform,
    /// Sizes from a seeded long-tailed (Pareto) distribution up to the entry limit.
    Mixed,
    /// Small records (about 50 bytes), a million of them, streamed.
    Stream,
}

impl Load {
    pub(crate) fn title(self) -> &'static str {
        match self {
            Self::Uniform => "uniform 1 KB",
            Self::Mixed => "mixed sizes",
            Self::Stream => "small, streamed",
        }
    }
}

const SEED: u64 = 0x5EED_BA7C;
const UNIFORM_BYTES: usize = 1_000;
const STREAM_BYTES: usize = 50;
/// Pareto scale and shape of the mixed load: most records are a few hundred bytes, a few
/// reach the entry limit.
const PARETO_SCALE: f64 = 200.0;
const PARETO_SHAPE: f64 = 1.1;
/// Values in a CloudWatch metric of the uniform load (with their counts, about 1 KB).
const UNIFORM_METRIC_VALUES: usize = 40;
/// CloudWatch's most values in one metric. Source: CloudWatch API reference, MetricDatum
/// (Values: up to 150 items); checked 2026-11-23.
const MAX_METRIC_VALUES: usize = 150;

/// The size of record `n`: bytes as the service counts them, or for CloudWatch the number of
/// values in the metric.
pub(crate) fn size(service: Service, load: Load, n: u64) -> usize {
    match load {
        Load::Uniform if service == Service::Cloudwatch => UNIFORM_METRIC_VALUES,
        Load::Uniform => UNIFORM_BYTES,
        Load::Stream if service == Service::Cloudwatch => 1,
        Load::Stream => STREAM_BYTES,
        Load::Mixed => {
            let mut rng = fastrand::Rng::with_seed(SEED ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let pareto = PARETO_SCALE / (1.0 - rng.f64()).powf(1.0 / PARETO_SHAPE);
            let (floor, cap) = match service {
                Service::Cloudwatch => (1, MAX_METRIC_VALUES),
                // Leave room for the key or the attribute names.
                _ => (KEY_BYTES + 10, service.limits().max_entry_bytes - KEY_BYTES),
            };
            let scaled = if service == Service::Cloudwatch {
                pareto / PARETO_SCALE
            } else {
                pareto
            };
            // Saturating float to int: a huge draw is capped.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let drawn = scaled.min(cap as f64) as usize;
            drawn.clamp(floor, cap)
        }
    }
}

/// Bytes of the key part every record carries (a partition key, an item key).
const KEY_BYTES: usize = 17;

/// Text of exactly `len` bytes that starts with the record number.
pub(crate) fn text(n: u64, len: usize) -> String {
    // Cheap to make, so the peers' figures are about sending, not about this.
    const PAD: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    let mut text = String::with_capacity(len.max(10));
    let _ = write!(text, "{n:010}");
    text.truncate(len);
    while text.len() < len {
        text.push_str(&PAD[..(len - text.len()).min(PAD.len())]);
    }
    text
}

/// The SQS message body of record `n`: its whole size.
pub(crate) fn sqs_body(service_size: usize, n: u64) -> String {
    text(n, service_size)
}

/// The Kinesis partition key and data of record `n`: together `size` bytes.
pub(crate) fn kinesis_record(size: usize, n: u64) -> (String, Vec<u8>) {
    let key = format!("p{:016}", n % 4_096);
    let data = text(n, size - key.len()).into_bytes();
    (key, data)
}

/// The DynamoDB item of record `n`: `pk` (11 characters) and `data`, `size` bytes by
/// DynamoDB's rules (names plus values).
pub(crate) fn dynamodb_item(size: usize, n: u64) -> (String, String) {
    let pk = format!("i{n:010}");
    let data = text(n, size - ("pk".len() + pk.len() + "data".len()));
    (pk, data)
}

/// The EventBridge source and detail type of every event.
pub(crate) const EVENT_SOURCE: &str = "bench";
pub(crate) const EVENT_DETAIL_TYPE: &str = "record";

/// The detail of event `n`: a JSON object whose entry, by EventBridge's rule (source, detail
/// type and detail), is `size` bytes.
pub(crate) fn event_detail(size: usize, n: u64) -> String {
    let envelope = EVENT_SOURCE.len() + EVENT_DETAIL_TYPE.len() + r#"{"d":""}"#.len();
    format!(r#"{{"d":"{}"}}"#, text(n, size - envelope))
}

/// The CloudWatch metric of record `n`: a name, three dimensions, and `values` values with
/// their counts (one value, no counts, when `values` is 1).
pub(crate) fn metric(values: usize, n: u64) -> (String, [(&'static str, String); 3], Vec<f64>) {
    let name = format!("metric-{}", n % 100);
    let dimensions = [
        ("host", format!("host-{}", n % 16)),
        ("region", "eu-west-1".to_owned()),
        ("service", "checkout".to_owned()),
    ];
    #[allow(clippy::cast_precision_loss)]
    let base = (n % 1_000) as f64;
    #[allow(clippy::cast_precision_loss)]
    let list = (0..values).map(|i| base + i as f64 * 0.5).collect();
    (name, dimensions, list)
}

/// The fewest requests any client could send: ceil(max(records / max_entries,
/// bytes / max_request_bytes)). CloudWatch's bytes are counted on the encoded request, so
/// its bound is by count alone.
pub(crate) fn lower_bound(service: Service, load: Load, records: u64) -> u64 {
    let limits = service.limits();
    let by_count = records.div_ceil(limits.max_entries as u64);
    if service == Service::Cloudwatch {
        return by_count;
    }
    let bytes: u64 = (0..records).map(|n| size(service, load, n) as u64).sum();
    by_count.max(bytes.div_ceil(limits.max_request_bytes as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_records_have_their_sizes() {
        for n in [0, 7, 123_456_789] {
            assert_eq!(sqs_body(1_000, n).len(), 1_000);
            assert!(text(n, 100_000).starts_with(&format!("{n:010}")));
            assert_eq!(text(n, 4), format!("{n:010}")[..4]);
            let (key, data) = kinesis_record(1_000, n);
            assert_eq!(key.len() + data.len(), 1_000);
            let (pk, data) = dynamodb_item(50, n);
            assert_eq!(2 + pk.len() + 4 + data.len(), 50);
            let detail = event_detail(1_000, n);
            assert_eq!(
                EVENT_SOURCE.len() + EVENT_DETAIL_TYPE.len() + detail.len(),
                1_000
            );
            assert!(
                serde_json::from_str::<serde_json::Value>(&detail).is_ok_and(|d| d.is_object())
            );
        }
    }

    #[test]
    fn mixed_sizes_are_long_tailed_and_within_the_entry_limit() {
        let sizes: Vec<usize> = (0..20_000)
            .map(|n| size(Service::Sqs, Load::Mixed, n))
            .collect();
        let limit = Service::Sqs.limits().max_entry_bytes;
        assert!(sizes.iter().all(|&s| s > KEY_BYTES && s <= limit));
        let small = sizes.iter().filter(|&&s| s < 1_000).count();
        let large = sizes.iter().filter(|&&s| s > 100_000).count();
        assert!(small > 15_000, "most are small: {small}");
        assert!(large > 0, "a few are large");
        let values: Vec<usize> = (0..2_000)
            .map(|n| size(Service::Cloudwatch, Load::Mixed, n))
            .collect();
        assert!(values.iter().all(|&v| (1..=MAX_METRIC_VALUES).contains(&v)));
    }

    #[test]
    fn the_lower_bound_takes_the_larger_of_count_and_bytes() {
        assert_eq!(lower_bound(Service::Sqs, Load::Uniform, 95), 10);
        // 2,000 records of 1 KB over 5 MiB requests of 500: the count decides.
        assert_eq!(lower_bound(Service::Kinesis, Load::Uniform, 2_000), 4);
    }
}
