//! A metric as a JSON object, with serde (the `serde` feature): what the `aws-batch`
//! command reads from each line and writes back for a metric it could not deliver.
//!
//! ```json
//! {"name": "Latency", "value": 12.5, "unit": "Milliseconds", "dimensions": {"Route": "/"},
//!  "timestamp": 1700000000, "storage_resolution": 60}
//! ```
//!
//! Instead of `value`: `values` (and `counts`), or `statistics` (`sample_count`, `sum`,
//! `minimum`, `maximum`). `timestamp` is seconds since the Unix epoch; a dimension value
//! that is not a string is taken as its JSON text.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::metric::{Metric, MetricValue, StatisticSet};

#[derive(Serialize, Deserialize)]
struct Statistics {
    sample_count: f64,
    sum: f64,
    minimum: f64,
    maximum: f64,
}

#[derive(Serialize, Deserialize)]
struct MetricJson {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    values: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    counts: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    statistics: Option<Statistics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
    #[serde(default)]
    dimensions: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timestamp: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    storage_resolution: Option<i32>,
}

/// ```
/// # fn main() -> Result<(), serde_json::Error> {
/// use batch_cloudwatch::Metric;
///
/// let line = r#"{"name": "Latency", "value": 12.5, "unit": "Milliseconds", "dimensions": {"Route": "/"}}"#;
/// let metric: Metric = serde_json::from_str(line)?;
/// assert_eq!(metric.name(), "Latency");
/// assert_eq!(metric.dimensions(), [("Route".to_owned(), "/".to_owned())]);
/// let back: Metric = serde_json::from_str(&serde_json::to_string(&metric)?)?;
/// assert_eq!(back, metric);
/// # Ok(()) }
/// ```
impl Serialize for Metric {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut json = MetricJson {
            name: self.name.clone(),
            value: None,
            values: None,
            counts: None,
            statistics: None,
            unit: Some(self.unit.as_str().to_owned()),
            dimensions: self
                .dimensions
                .iter()
                .map(|(name, value)| (name.clone(), Value::String(value.clone())))
                .collect(),
            timestamp: self
                .timestamp
                .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
                .map(|since| since.as_secs_f64()),
            storage_resolution: self.storage_resolution,
        };
        match &self.value {
            MetricValue::Single(value) => json.value = Some(*value),
            MetricValue::Values { values, counts } => {
                json.values = Some(values.clone());
                json.counts = Some(counts.clone());
            }
            MetricValue::Statistics(set) => {
                json.statistics = Some(Statistics {
                    sample_count: set.sample_count,
                    sum: set.sum,
                    minimum: set.minimum,
                    maximum: set.maximum,
                });
            }
        }
        json.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = MetricJson::deserialize(deserializer)?;
        let mut metric = match (json.value, json.values, json.statistics) {
            (Some(value), None, None) => Metric::new(json.name, value),
            (None, values, None) => {
                let values = values.unwrap_or_default();
                Metric::values(json.name, values, json.counts.unwrap_or_default())
            }
            (None, None, Some(set)) => Metric::statistics(
                json.name,
                StatisticSet {
                    sample_count: set.sample_count,
                    sum: set.sum,
                    minimum: set.minimum,
                    maximum: set.maximum,
                },
            ),
            _ => {
                return Err(D::Error::custom(
                    "a metric has one of \"value\", \"values\" or \"statistics\"",
                ));
            }
        };
        if let Some(unit) = json.unit {
            metric = metric.with_unit(unit.as_str().into());
        }
        for (name, value) in json.dimensions {
            let value = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            metric = metric.with_dimension(name, value);
        }
        if let Some(seconds) = json.timestamp {
            let since = Duration::try_from_secs_f64(seconds)
                .map_err(|e| D::Error::custom(format_args!("\"timestamp\": {e}")))?;
            metric = metric.with_timestamp(UNIX_EPOCH + since);
        }
        if let Some(resolution) = json.storage_resolution {
            metric = metric.with_storage_resolution(resolution);
        }
        Ok(metric)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn values_statistics_and_a_timestamp_go_both_ways() {
        let line = r#"{"name": "N", "values": [1, 2], "counts": [3, 4], "timestamp": 1700000000.5,
                       "storage_resolution": 1, "dimensions": {"shard": 7}}"#;
        let metric: Metric = serde_json::from_str(line).unwrap();
        assert_eq!(metric.dimensions(), [("shard".to_owned(), "7".to_owned())]);
        assert_eq!(metric.storage_resolution(), Some(1));
        let back: Metric = serde_json::from_str(&serde_json::to_string(&metric).unwrap()).unwrap();
        assert_eq!(back, metric);
        let set = r#"{"name": "S", "statistics": {"sample_count": 2, "sum": 3, "minimum": 1, "maximum": 2}}"#;
        let metric: Metric = serde_json::from_str(set).unwrap();
        assert!(matches!(metric.value(), MetricValue::Statistics(s) if s.sum == 3.0));
    }

    #[test]
    fn a_metric_without_a_name_or_with_two_values_is_an_error_naming_it() {
        let missing = serde_json::from_str::<Metric>(r#"{"value": 1}"#).unwrap_err();
        assert!(missing.to_string().contains("name"), "{missing}");
        let both = serde_json::from_str::<Metric>(r#"{"name": "a", "value": 1, "values": [2]}"#);
        assert!(both.unwrap_err().to_string().contains("one of"));
        let negative = r#"{"name": "a", "value": 1, "timestamp": -5}"#;
        let error = serde_json::from_str::<Metric>(negative).unwrap_err();
        assert!(error.to_string().contains("timestamp"), "{error}");
    }
}
