//! CloudWatch metrics: each line a metric datum as JSON.

use aws_batch_utils::cloudwatch::Metric;
use aws_batch_utils::{CloudWatchBackend, ConfigError};
use aws_config::SdkConfig;
use clap::Args;
use serde_json::Value;

use super::{
    Destination, Engine, Failed, INVALID_RECORD, LineFormat, Parsed, Running, Sink, parsed, refused,
};
use crate::output::Record;

/// A CloudWatch metrics namespace (PutMetricData). Each line: {"name": "Latency",
/// "value": 12.5, "unit": "Milliseconds", "dimensions": {"Route": "/"}, "timestamp":
/// 1700000000, "storage_resolution": 60}, or "values" and "counts", or "statistics", instead
/// of "value" (`batch_cloudwatch::json`).
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

    fn open(&self, engine: Engine, sdk: &SdkConfig) -> Result<Box<dyn Sink>, ConfigError> {
        let client = aws_batch_utils::cloudwatch::sdk::Client::new(sdk);
        let backend =
            CloudWatchBackend::new(client, &self.namespace).with_aggregate(self.aggregate);
        Running::open(backend, engine, Metrics)
    }
}

/// Lines as metric data.
struct Metrics;

impl LineFormat for Metrics {
    type Backend = CloudWatchBackend;

    fn payload(&self, line: u64, text: String) -> Result<Parsed<Metric>, Failed> {
        let value = parsed(&text, line)?;
        match serde_json::from_value::<Metric>(value) {
            Ok(metric) => Ok(Parsed::from_text(metric, text)),
            Err(e) => Err(refused(
                line,
                INVALID_RECORD,
                e.to_string(),
                Record::Raw(text),
            )),
        }
    }

    fn record(&self, metric: &Metric) -> Record {
        // The metric's JSON form (`batch_cloudwatch::json`) always serializes.
        Record::Json(serde_json::to_value(metric).unwrap_or(Value::Null))
    }
}
