//! The summary printed at the end.

use std::time::Duration;

use aws_batch_utils::Stats;
use serde_json::{Value, json};

use crate::cli::Service;

impl Service {
    /// The destination in words, e.g. `sqs queue orders`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Sqs { queue, fifo, .. } => {
                format!("sqs {}queue {queue}", if *fifo { "fifo " } else { "" })
            }
            Self::Kinesis { stream, .. } => format!("kinesis stream {stream}"),
            Self::Dynamodb { table, .. } => format!("dynamodb table {table}"),
            Self::Cloudwatch { namespace, .. } => format!("cloudwatch namespace {namespace}"),
        }
    }
}

/// What a run did.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    pub(crate) destination: String,
    /// Non-empty input lines.
    pub(crate) read: u64,
    /// Lines that are not JSON.
    pub(crate) invalid_lines: u64,
    /// Records refused before sending (too large, missing key, ...).
    pub(crate) rejected: u64,
    pub(crate) delivered: u64,
    pub(crate) duplicates_dropped: u64,
    /// Everything not delivered: invalid lines, refused records, failed deliveries.
    pub(crate) unprocessed: u64,
    pub(crate) requests_sent: u64,
    /// Requests one call per record would have needed.
    pub(crate) requests_one_per_record: u64,
    pub(crate) retries: u64,
    pub(crate) elapsed: Duration,
}

impl Summary {
    pub(crate) fn new(destination: String) -> Self {
        Self {
            destination,
            ..Self::default()
        }
    }

    pub(crate) fn finish(&mut self, stats: &Stats, elapsed: Duration) {
        self.delivered = stats.delivered;
        self.duplicates_dropped = stats.duplicates_dropped;
        self.requests_sent = stats.requests_sent;
        self.requests_one_per_record = stats.submitted;
        self.retries = stats.retries;
        self.elapsed = elapsed;
    }

    #[allow(clippy::cast_precision_loss)]
    fn throughput(&self) -> f64 {
        self.read as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "destination": self.destination,
            "records_read": self.read,
            "delivered": self.delivered,
            "duplicates_dropped": self.duplicates_dropped,
            "unprocessed": self.unprocessed,
            "invalid_lines": self.invalid_lines,
            "rejected": self.rejected,
            "requests_sent": self.requests_sent,
            "requests_one_per_record": self.requests_one_per_record,
            "retries": self.retries,
            "elapsed_seconds": self.elapsed.as_secs_f64(),
            "records_per_second": self.throughput(),
        })
    }

    pub(crate) fn table(&self) -> String {
        let rows = [
            ("destination", self.destination.clone()),
            ("records read", self.read.to_string()),
            ("delivered", self.delivered.to_string()),
            ("duplicates dropped", self.duplicates_dropped.to_string()),
            (
                "unprocessed",
                format!(
                    "{} ({} invalid lines, {} refused, {} failed)",
                    self.unprocessed,
                    self.invalid_lines,
                    self.rejected,
                    self.unprocessed - self.invalid_lines - self.rejected
                ),
            ),
            ("requests sent", self.requests_sent.to_string()),
            ("one per record", self.requests_one_per_record.to_string()),
            ("retried entries", self.retries.to_string()),
            ("elapsed", format!("{:.2} s", self.elapsed.as_secs_f64())),
            ("throughput", format!("{:.0} records/s", self.throughput())),
        ];
        rows.iter()
            .map(|(name, value)| format!("  {name:<20} {value}\n"))
            .collect()
    }
}
