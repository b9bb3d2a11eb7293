//! One destination behind one interface: JSON lines in, failures out.
//!
//! Each service is a [`LineFormat`] in a module of its own (how a line becomes the
//! service's payload, and a payload the record written down when it is not delivered), with
//! its command-line arguments as a [`Destination`]. [`Running`] drives any format through
//! its dispatcher.

mod cloudwatch;
mod dynamodb;
mod eventbridge;
mod firehose;
mod kinesis;
mod logs;
mod message;
mod sns;
mod sqs;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use aws_batch_utils::engine::Backend;
use aws_batch_utils::{
    ConfigError, Dispatcher, DispatcherConfig, DynamoDbCoordinator, RetryPolicy, Stats, Unprocessed,
};
use aws_config::SdkConfig;
use clap::Subcommand;
use serde::de::IgnoredAny;
use serde_json::Value;

use crate::cli::Common;
use crate::output::{Problem, Record, with_causes};

use cloudwatch::CloudWatchArgs;
use dynamodb::DynamoDbArgs;
use eventbridge::EventBridgeArgs;
use firehose::FirehoseArgs;
use kinesis::KinesisArgs;
use logs::LogsArgs;
use sns::SnsArgs;
use sqs::SqsArgs;

/// Where the records go: one subcommand per service, its arguments in its module.
#[derive(Debug, Subcommand)]
pub(crate) enum Service {
    /// An SQS queue (SendMessageBatch).
    Sqs(SqsArgs),
    /// An SNS topic (PublishBatch); a FIFO topic when its ARN ends with `.fifo`.
    Sns(SnsArgs),
    /// A Kinesis data stream (PutRecords).
    Kinesis(KinesisArgs),
    /// An Amazon Data Firehose delivery stream (PutRecordBatch).
    Firehose(FirehoseArgs),
    /// An EventBridge event bus (PutEvents). Each line is an event's detail, a JSON object.
    Eventbridge(EventBridgeArgs),
    /// A DynamoDB table (BatchWriteItem).
    Dynamodb(DynamoDbArgs),
    /// A CloudWatch metrics namespace (PutMetricData). Each line: {"name": "Latency",
    /// "value": 12.5, "unit": "Milliseconds", "dimensions": {"Route": "/"}, "timestamp":
    /// 1700000000, "storage_resolution": 60}, or "values" and "counts" instead of "value".
    Cloudwatch(CloudWatchArgs),
    /// A CloudWatch Logs log stream (PutLogEvents). Each line is an event's message, or
    /// JSON whose fields give the time and the message.
    Logs(LogsArgs),
}

impl Service {
    /// The service's own arguments.
    pub(crate) fn destination(&self) -> &dyn Destination {
        match self {
            Self::Sqs(args) => args,
            Self::Sns(args) => args,
            Self::Kinesis(args) => args,
            Self::Firehose(args) => args,
            Self::Eventbridge(args) => args,
            Self::Dynamodb(args) => args,
            Self::Cloudwatch(args) => args,
            Self::Logs(args) => args,
        }
    }
}

/// A record that was not delivered: its input line, the record and why.
pub(crate) struct Failed {
    pub(crate) line: Option<u64>,
    pub(crate) record: Record,
    pub(crate) problem: Box<Problem>,
}

/// Error codes of records refused before sending.
pub(crate) const INVALID_JSON: &str = "InvalidJson";
/// A line that is not UTF-8.
pub(crate) const INVALID_UTF8: &str = "InvalidUtf8";
/// A record the library refused (too large, missing key, ...).
pub(crate) const INVALID_RECORD: &str = "InvalidRecord";

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A running destination, whatever its service.
pub(crate) trait Sink: Send + Sync {
    /// Submits the record of input line `line`; `Err` is why it can never be sent, with
    /// the record to write down.
    fn submit(&self, line: u64, text: String) -> BoxFuture<'_, Result<(), Failed>>;
    /// Flushes and returns what was not delivered.
    fn flush(&self) -> BoxFuture<'_, Vec<Failed>>;
    /// Stops sending: what is in flight comes back from the next flush at once.
    fn abandon(&self);
    /// Ends the run's lease with its fleet table, if it has one, so that the other copies
    /// take up its share at once.
    fn leave_fleet(&self) -> BoxFuture<'_, ()>;
    /// The dispatcher's counters.
    fn stats(&self) -> Stats;
    /// What was delivered, by kind of write, where the service has kinds (DynamoDB: items
    /// written and keys deleted); empty otherwise.
    fn delivered_by_kind(&self) -> Vec<(&'static str, u64)>;
}

/// A service's command-line arguments: where the records go.
pub(crate) trait Destination {
    /// The destination in words, e.g. `sqs queue orders`.
    fn describe(&self) -> String;
    /// The running destination.
    fn open(&self, engine: Engine, sdk: &SdkConfig) -> Result<Box<dyn Sink>, ConfigError>;
    /// The table export the run copies instead of reading `--input`, if any.
    fn export(&self) -> Option<&str> {
        None
    }
}

/// How a destination's dispatcher is built: the engine's settings, and the fleet it shares
/// the destination's quota with, if the command was given one.
pub(crate) struct Engine {
    pub(crate) config: DispatcherConfig,
    pub(crate) coordinator: Option<DynamoDbCoordinator>,
    /// Whether the command was told it is one of several copies (`--fleet-size` above 1):
    /// a destination whose rate can be read then reads it, to start at its share.
    pub(crate) in_fleet: bool,
}

/// The running destination of `service`, with the engine settings of `common`.
pub(crate) fn open(
    service: &Service,
    common: &Common,
    sdk: &SdkConfig,
) -> Result<Box<dyn Sink>, ConfigError> {
    let mut config = DispatcherConfig::default()
        .max_in_flight(common.max_in_flight)
        .retry(
            RetryPolicy::default()
                .max_attempts(common.max_attempts)
                .throttle_budget(common.throttle_budget),
        );
    if !common.linger.is_zero() {
        config = config.linger(common.linger);
    }
    if let Some(records) = common.max_records_per_second {
        config = config.max_records_per_second(records);
    }
    if let Some(n) = common.fleet_size {
        config = config.fleet_size(usize::try_from(n).unwrap_or(usize::MAX));
    }
    if common.no_pacing {
        config = config.adaptive(false);
    }
    let coordinator = common
        .fleet_table
        .as_ref()
        .map(|table| fleet(common, table, sdk));
    service.destination().open(
        Engine {
            config,
            coordinator,
            in_fleet: common.fleet_size.is_some_and(|n| n > 1),
        },
        sdk,
    )
}

/// The coordinator of `--fleet-table`, on DynamoDB's own endpoint unless
/// `--fleet-endpoint-url` names one (the destination's `--endpoint-url` is not used for it).
fn fleet(common: &Common, table: &str, sdk: &SdkConfig) -> DynamoDbCoordinator {
    let coordinator = DynamoDbCoordinator::from_sdk_config(
        sdk,
        common.fleet_endpoint_url.clone(),
        table,
        common.fleet_name.clone(),
    );
    match common.fleet_quota {
        #[allow(clippy::cast_precision_loss)]
        Some(quota) => coordinator.with_quota(quota as f64),
        None => coordinator,
    }
}

/// A service's payload made from an input line.
pub(crate) struct Parsed<P> {
    pub(crate) payload: P,
    /// The line as it came, when the payload does not hold it as text: what a refusal
    /// writes down.
    pub(crate) line_text: Option<String>,
}

impl<P> Parsed<P> {
    /// A payload that holds the line's text itself.
    pub(crate) fn holding_text(payload: P) -> Self {
        Self {
            payload,
            line_text: None,
        }
    }

    /// A payload made from `text`, kept for a refusal.
    pub(crate) fn from_text(payload: P, text: String) -> Self {
        Self {
            payload,
            line_text: Some(text),
        }
    }
}

/// How the lines of one service become its payloads, and back.
pub(crate) trait LineFormat: Send + Sync + 'static {
    /// The service.
    type Backend: Backend;
    /// The payload of input line `line`, or why it can never be sent.
    fn payload(
        &self,
        line: u64,
        text: String,
    ) -> Result<Parsed<<Self::Backend as Backend>::Payload>, Failed>;
    /// The record written down for a payload that was not delivered.
    fn record(&self, payload: &<Self::Backend as Backend>::Payload) -> Record;
    /// Called before the payload tagged `tag` is submitted, to count it by kind.
    fn submitting(&self, _tag: u64, _payload: &<Self::Backend as Backend>::Payload) {}
    /// Called when the payload tagged `tag` is refused or handed back.
    fn not_delivered(&self, _tag: u64) {}
    /// Called when the payload tagged `tag` is delivered.
    fn delivered(&self, _tag: u64) {}
    /// What was delivered, by kind; empty for a service with one kind of write.
    fn delivered_by_kind(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
}

/// A dispatcher fed lines in a format.
pub(crate) struct Running<F: LineFormat> {
    dispatcher: Dispatcher<F::Backend>,
    format: Arc<F>,
}

impl<F: LineFormat> Running<F> {
    /// The destination of `backend`, reading lines in `format`.
    pub(crate) fn open(
        backend: F::Backend,
        engine: Engine,
        format: F,
    ) -> Result<Box<dyn Sink>, ConfigError> {
        let format = Arc::new(format);
        let told = Arc::clone(&format);
        let builder = Dispatcher::builder(backend)
            .config(engine.config)
            .on_delivered(move |tag| told.delivered(tag));
        let builder = match engine.coordinator {
            Some(coordinator) => builder.coordinator(coordinator),
            None => builder,
        };
        let dispatcher = builder.build()?;
        Ok(Box::new(Self { dispatcher, format }))
    }
}

impl<F: LineFormat> Sink for Running<F> {
    fn submit(&self, line: u64, text: String) -> BoxFuture<'_, Result<(), Failed>> {
        Box::pin(async move {
            let Parsed { payload, line_text } = self.format.payload(line, text)?;
            self.format.submitting(line, &payload);
            self.dispatcher
                .submit_tagged(payload, line)
                .await
                .map_err(|e| {
                    self.format.not_delivered(line);
                    let record =
                        line_text.map_or_else(|| self.format.record(e.payload()), Record::Raw);
                    refused(line, INVALID_RECORD, e.to_string(), record)
                })
        })
    }

    fn flush(&self) -> BoxFuture<'_, Vec<Failed>> {
        Box::pin(async move {
            let unprocessed = self.dispatcher.flush_payloads().await;
            for tag in unprocessed.iter().filter_map(|item| item.tag) {
                self.format.not_delivered(tag);
            }
            failed(unprocessed, |payload| self.format.record(payload))
        })
    }

    fn abandon(&self) {
        self.dispatcher.abandon();
    }

    fn leave_fleet(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.dispatcher.leave_fleet())
    }

    fn stats(&self) -> Stats {
        self.dispatcher.stats()
    }

    fn delivered_by_kind(&self) -> Vec<(&'static str, u64)> {
        self.format.delivered_by_kind()
    }
}

/// A record refused before sending.
pub(crate) fn refused(line: u64, code: &str, message: String, record: Record) -> Failed {
    Failed {
        line: Some(line),
        record,
        problem: Box::new(Problem::refused(code, message)),
    }
}

/// `text` when it is JSON (or need not be); the refusal otherwise. Only checked, not kept:
/// the line goes out as it came in.
pub(crate) fn checked_json(text: String, raw: bool, line: u64) -> Result<String, Failed> {
    if raw {
        return Ok(text);
    }
    match serde_json::from_str::<IgnoredAny>(&text) {
        Ok(_) => Ok(text),
        Err(e) => Err(not_json(text, &e, line)),
    }
}

/// The line parsed, or the refusal.
pub(crate) fn parsed(text: &str, line: u64) -> Result<Value, Failed> {
    serde_json::from_str(text).map_err(|e| not_json(text.to_owned(), &e, line))
}

fn not_json(text: String, error: &serde_json::Error, line: u64) -> Failed {
    let mut message = error.to_string();
    if text.starts_with('\u{feff}') {
        message.push_str(" (the line starts with a byte order mark, U+FEFF; one is skipped only at the start of the input)");
    }
    refused(line, INVALID_JSON, message, Record::Text(text))
}

fn failed<P>(unprocessed: Vec<Unprocessed<P>>, record: impl Fn(&P) -> Record) -> Vec<Failed> {
    unprocessed
        .into_iter()
        .map(|item| {
            let tag = item.tag;
            let (payload, error) = item.into_parts();
            Failed {
                line: tag,
                record: record(&payload),
                problem: Box::new(Problem {
                    code: error.code().to_owned(),
                    // The message with its causes (the chain of a failed request).
                    message: with_causes(
                        error.message().to_owned(),
                        std::error::Error::source(&error),
                    ),
                    reason: Some(error.reason.to_string()),
                    attempts: error.attempts,
                    retryable: error.is_retryable(),
                }),
            }
        })
        .collect()
}

/// A line sent as text: raw text, or JSON written as it came.
pub(crate) fn text_record(text: String, raw: bool) -> Record {
    if raw {
        Record::Text(text)
    } else {
        Record::Raw(text)
    }
}

/// A line sent as bytes: its text, or the bytes when they are not UTF-8.
pub(crate) fn bytes_record(bytes: &[u8], raw: bool) -> Record {
    match String::from_utf8(bytes.to_vec()) {
        Ok(text) => text_record(text, raw),
        Err(e) => Record::Bytes(e.into_bytes()),
    }
}
