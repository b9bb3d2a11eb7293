//! The records every peer sends: the same bytes for the same (service, load, record number),
//! generated on the fly so that no peer holds the whole load in memory.

use std::fmt::Write as _;

use aws_batch_utils::engine::Limits;

pub(crate) use crate::peers::Service;
use serde::{Deserialize, Serialize};

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
pub(crate) const PARETO_SCALE: f64 = 200.0;
const PARETO_SHAPE: f64 = 1.1;
/// The size of record `n` in bytes, for a service of these limits.
pub(crate) fn byte_size(limits: Limits, load: Load, n: u64) -> usize {
    match load {
        Load::Uniform => UNIFORM_BYTES,
        Load::Stream => STREAM_BYTES,
        // Leave room for the key or the attribute names.
        Load::Mixed => pareto(n, KEY_BYTES + 10, limits.max_entry_bytes - KEY_BYTES, 1.0),
    }
}

/// A seeded long-tailed (Pareto) draw for record `n`, divided by `scale`, within
/// `floor..=cap`.
pub(crate) fn pareto(n: u64, floor: usize, cap: usize, scale: f64) -> usize {
    let mut rng = fastrand::Rng::with_seed(SEED ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let drawn = PARETO_SCALE / (1.0 - rng.f64()).powf(1.0 / PARETO_SHAPE) / scale;
    // Saturating float to int: a huge draw is capped.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let drawn = drawn.min(cap as f64) as usize;
    drawn.clamp(floor, cap)
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
/// type and detail), is `size` bytes. Written from its value, as a hand-written loop holding
/// the event's data writes it (the dispatcher is given the value and writes it itself).
pub(crate) fn event_detail(size: usize, n: u64) -> String {
    event_detail_value(size, n).to_string()
}

/// The same detail as a JSON value, as a caller holding the event's data would build it,
/// rather than parse it from text.
pub(crate) fn event_detail_value(size: usize, n: u64) -> serde_json::Value {
    serde_json::json!({ "d": event_text(size, n) })
}

/// The text in the detail of event `n`, which makes the event `size` bytes.
fn event_text(size: usize, n: u64) -> String {
    let envelope = EVENT_SOURCE.len() + EVENT_DETAIL_TYPE.len() + r#"{"d":""}"#.len();
    text(n, size - envelope)
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
            .map(|n| Service::Sqs.peers().size(Load::Mixed, n))
            .collect();
        let limit = Service::Sqs.limits().max_entry_bytes;
        assert!(sizes.iter().all(|&s| s > KEY_BYTES && s <= limit));
        let small = sizes.iter().filter(|&&s| s < 1_000).count();
        let large = sizes.iter().filter(|&&s| s > 100_000).count();
        assert!(small > 15_000, "most are small: {small}");
        assert!(large > 0, "a few are large");
        let values: Vec<usize> = (0..2_000)
            .map(|n| Service::Cloudwatch.peers().size(Load::Mixed, n))
            .collect();
        assert!(values.iter().all(|&v| (1..=150).contains(&v)));
    }

    #[test]
    fn the_lower_bound_takes_the_larger_of_count_and_bytes() {
        assert_eq!(Service::Sqs.peers().lower_bound(Load::Uniform, 95), 10);
        // 2,000 records of 1 KB over 5 MiB requests of 500: the count decides.
        assert_eq!(
            Service::Kinesis.peers().lower_bound(Load::Uniform, 2_000),
            4
        );
    }
}
