//! CloudWatch metrics: each line a metric datum as JSON.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_batch_utils::cloudwatch::{Metric, MetricValue, Unit};
use aws_batch_utils::{CloudWatchBackend, ConfigError, DispatcherConfig};
use aws_config::SdkConfig;
use clap::Args;
use serde_json::{Map, Value, json};

use super::{
    Destination, Failed, INVALID_RECORD, LineFormat, Parsed, Running, Sink, parsed, refused,
};
use crate::output::Record;

/// A CloudWatch metrics namespace (PutMetricData). Each line: {"name": "Latency",
/// "value": 12.5, "unit": "Milliseconds", "dimensions": {"Route": "/"}, "timestamp":
/// 1700000000, "storage_resolution": 60}, or "values" and "counts" instead of "value".
#[derive(Debug, Args)]
pub(crate) struct CloudWatchArgs {
    /// Namespace.
    #[arg(long)]
    namespace: String,
    /// Merge a metric's values pending in one request into one datum.
    #[arg(long)]
    aggregate: bool,
}

impl Destination for CloudWatchArgs {
    fn describe(&self) -> String {
        format!("cloudwatch namespace {}", self.namespace)
    }

    fn open(
        &self,
        config: DispatcherConfig,
        sdk: &SdkConfig,
    ) -> Result<Box<dyn Sink>, ConfigError> {
        let client = aws_sdk_cloudwatch::Client::new(sdk);
        let backend =
            CloudWatchBackend::new(client, &self.namespace).with_aggregate(self.aggregate);
        Running::open(backend, config, Metrics)
    }
}

/// Lines as metric data.
struct Metrics;

impl LineFormat for Metrics {
    type Backend = CloudWatchBackend;

    fn payload(&self, line: u64, text: String) -> Result<Parsed<Metric>, Failed> {
        let value = parsed(&text, line)?;
        match metric(&value) {
            Ok(metric) => Ok(Parsed::from_text(metric, text)),
            Err(message) => Err(refused(line, INVALID_RECORD, message, Record::Raw(text))),
        }
    }

    fn record(&self, metric: &Metric) -> Record {
        Record::Json(metric_record(metric))
    }
}

/// A metric from a line: name, value or values and counts, unit, dimensions, timestamp
/// (seconds since the epoch), storage resolution.
fn metric(record: &Value) -> Result<Metric, String> {
    let object = record
        .as_object()
        .ok_or("a metric line must be a JSON object")?;
    let name = object
        .get("name")
        .and_then(Value::as_str)
        .ok_or("the metric has no \"name\" string")?;
    let numbers = |field: &str| -> Result<Vec<f64>, String> {
        object.get(field).map_or(Ok(Vec::new()), |v| {
            v.as_array()
                .ok_or(format!("\"{field}\" must be an array of numbers"))?
                .iter()
                .map(|n| {
                    n.as_f64()
                        .ok_or(format!("\"{field}\" must hold numbers only"))
                })
                .collect()
        })
    };
    let mut metric = match object.get("value") {
        Some(value) => Metric::new(name, value.as_f64().ok_or("\"value\" must be a number")?),
        None => Metric::values(name, numbers("values")?, numbers("counts")?),
    };
    if let Some(unit) = object.get("unit") {
        metric = metric.with_unit(Unit::from(
            unit.as_str().ok_or("\"unit\" must be a string")?,
        ));
    }
    if let Some(dimensions) = object.get("dimensions") {
        let dimensions: &Map<String, Value> = dimensions
            .as_object()
            .ok_or("\"dimensions\" must be an object")?;
        for (key, value) in dimensions {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            metric = metric.with_dimension(key, value);
        }
    }
    if let Some(timestamp) = object.get("timestamp") {
        let seconds = timestamp
            .as_f64()
            .ok_or("\"timestamp\" must be seconds since the epoch")?;
        let time =
            Duration::try_from_secs_f64(seconds).map_err(|e| format!("\"timestamp\": {e}"))?;
        metric = metric.with_timestamp(UNIX_EPOCH + time);
    }
    if let Some(resolution) = object.get("storage_resolution") {
        let resolution = resolution
            .as_i64()
            .and_then(|r| i32::try_from(r).ok())
            .ok_or("\"storage_resolution\" must be 1 or 60")?;
        metric = metric.with_storage_resolution(resolution);
    }
    Ok(metric)
}

fn metric_record(metric: &Metric) -> Value {
    let mut record = json!({ "name": metric.name() });
    match metric.value() {
        MetricValue::Single(value) => record["value"] = json!(value),
        MetricValue::Values { values, counts } => {
            record["values"] = json!(values);
            record["counts"] = json!(counts);
        }
        MetricValue::Statistics(set) => {
            record["statistics"] = json!({
                "sample_count": set.sample_count, "sum": set.sum,
                "minimum": set.minimum, "maximum": set.maximum,
            });
        }
        _ => {}
    }
    let dimensions: Map<String, Value> = metric
        .dimensions()
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    record["dimensions"] = Value::Object(dimensions);
    if let Some(at) = metric
        .timestamp()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
    {
        record["timestamp"] = json!(at.as_secs_f64());
    }
    record
}
