//! Command-line arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Bulk-load NDJSON records into an AWS queue, stream, table or metrics namespace with
/// batched writes. Reads a file (or standard input), one JSON value a line; for CloudWatch,
/// one metric object a line. Exits non-zero when any record was not delivered.
#[derive(Debug, Parser)]
#[command(name = "aws-batch", version)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) service: Service,

    #[command(flatten)]
    pub(crate) common: Common,
}

/// Options every service takes.
#[derive(Debug, Args)]
pub(crate) struct Common {
    /// NDJSON input file; standard input when absent or `-`.
    #[arg(long, short, global = true)]
    pub(crate) input: Option<PathBuf>,

    /// Write every record that was not delivered here, as NDJSON with its error.
    #[arg(long, global = true)]
    pub(crate) unprocessed: Option<PathBuf>,

    /// Print the summary as JSON instead of a table.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// AWS region (default: from the environment or profile).
    #[arg(long, global = true)]
    pub(crate) region: Option<String>,

    /// AWS profile.
    #[arg(long, global = true)]
    pub(crate) profile: Option<String>,

    /// Endpoint URL, e.g. a local emulator.
    #[arg(long, global = true)]
    pub(crate) endpoint_url: Option<String>,

    /// Requests in flight at once.
    #[arg(long, global = true, default_value_t = 4)]
    pub(crate) max_in_flight: usize,

    /// Send a partial batch once its oldest record waited this long (e.g. 200ms, 2s).
    #[arg(long, global = true, value_parser = parse_duration)]
    pub(crate) linger: Option<Duration>,

    /// Attempts per record, the first included.
    #[arg(long, global = true, default_value_t = 5)]
    pub(crate) max_attempts: u32,

    /// No progress bar.
    #[arg(long, global = true)]
    pub(crate) quiet: bool,
}

/// Where the records go.
#[derive(Debug, Subcommand)]
pub(crate) enum Service {
    /// An SQS queue (SendMessageBatch).
    Sqs {
        /// Queue name or URL.
        #[arg(long)]
        queue: String,
        /// The queue is a FIFO queue.
        #[arg(long)]
        fifo: bool,
        /// FIFO: the field that holds each record's message group.
        #[arg(long)]
        group_field: Option<String>,
        /// FIFO: the message group of records without one.
        #[arg(long)]
        default_group: Option<String>,
        /// FIFO: where deduplication ids come from.
        #[arg(long, value_enum, default_value_t = Dedup::ContentHash)]
        dedup: Dedup,
    },
    /// A Kinesis data stream (PutRecords).
    Kinesis {
        /// Stream name or ARN.
        #[arg(long)]
        stream: String,
        /// The field that holds each record's partition key (random keys when absent).
        #[arg(long)]
        partition_key_field: Option<String>,
        /// Keep the order of records per partition key.
        #[arg(long)]
        ordered: bool,
    },
    /// A DynamoDB table (BatchWriteItem).
    Dynamodb {
        /// Table name.
        #[arg(long)]
        table: String,
        /// The partition key attribute.
        #[arg(long)]
        partition_key: String,
        /// The sort key attribute, if the table has one.
        #[arg(long)]
        sort_key: Option<String>,
        /// Each line is a key to delete instead of an item to put.
        #[arg(long)]
        delete: bool,
    },
    /// A CloudWatch metrics namespace (PutMetricData). Each line: {"name": "Latency",
    /// "value": 12.5, "unit": "Milliseconds", "dimensions": {"Route": "/"}, "timestamp":
    /// 1700000000, "storage_resolution": 60}, or "values" and "counts" instead of "value".
    Cloudwatch {
        /// Namespace.
        #[arg(long)]
        namespace: String,
        /// Merge a metric's values pending in one request into one datum.
        #[arg(long)]
        aggregate: bool,
    },
}

/// FIFO deduplication ids.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Dedup {
    /// The SHA-256 of the body.
    ContentHash,
    /// None: the queue deduplicates by content.
    ContentBased,
}

/// `250ms`, `2s`, `1.5s` or a bare number of milliseconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 0.001)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1.0)
    } else {
        (text, 0.001)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 200ms or 2s"))?;
    Duration::try_from_secs_f64(value * scale).map_err(|e| format!("`{text}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1_500)));
        assert_eq!(parse_duration("40"), Ok(Duration::from_millis(40)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
