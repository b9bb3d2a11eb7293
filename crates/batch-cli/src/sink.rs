//! One destination behind one interface: JSON lines in, failures out.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_batch_utils::cloudwatch::MetricValue;
use aws_batch_utils::dynamodb::DynamoItem as Item;
use aws_batch_utils::kinesis::RecordData;
use aws_batch_utils::sqs::{FifoDeduplication, MessageBody};
use aws_batch_utils::{
    CloudwatchBackend, CloudwatchBatchDispatcher, ConfigError, DispatcherConfig, DynamoBackend,
    DynamoBatchDispatcher, DynamoWrite, Event, EventBridgeBackend, EventBridgeBatchDispatcher,
    FirehoseBackend, FirehoseBatchDispatcher, FirehoseRecord, KinesisBackend,
    KinesisBatchDispatcher, KinesisRecord, Metric, PartitionKey, RetryPolicy, SnsBackend,
    SnsBatchDispatcher, SnsMessage, SqsBackend, SqsBatchDispatcher, SqsFifoBatchDispatcher,
    SqsMessage, Stats, Unit, Unprocessed,
};
use aws_config::SdkConfig;
use serde::de::IgnoredAny;
use serde_json::{Map, Value, json};

use crate::cli::{Common, Dedup, Service};
use crate::output::{Problem, Record, with_causes};

/// A dispatcher of one service, fed input lines.
pub(crate) enum Sink {
    Sqs {
        sqs: SqsBatchDispatcher,
        raw: bool,
    },
    SqsFifo {
        sqs: SqsFifoBatchDispatcher,
        group_field: Option<String>,
        raw: bool,
    },
    Kinesis {
        kinesis: KinesisBatchDispatcher,
        key: PartitionKey,
        raw: bool,
    },
    Dynamo {
        dynamo: DynamoBatchDispatcher,
        delete: bool,
    },
    Cloudwatch(CloudwatchBatchDispatcher),
    Firehose {
        firehose: FirehoseBatchDispatcher,
        raw: bool,
    },
    EventBridge {
        events: EventBridgeBatchDispatcher,
        source: String,
        detail_type: String,
    },
    Sns {
        sns: SnsBatchDispatcher,
        group_field: Option<String>,
        raw: bool,
    },
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

impl Sink {
    pub(crate) fn new(
        service: &Service,
        common: &Common,
        sdk: &SdkConfig,
    ) -> Result<Self, ConfigError> {
        let mut config = DispatcherConfig::default()
            .max_in_flight(common.max_in_flight)
            .retry(RetryPolicy::default().max_attempts(common.max_attempts));
        if !common.linger.is_zero() {
            config = config.linger(common.linger);
        }
        if let Some(records) = common.max_records_per_second {
            config = config.max_records_per_second(records);
        }
        if common.no_pacing {
            config = config.adaptive(false);
        }
        Ok(match service {
            Service::Sqs {
                queue,
                fifo: false,
                raw,
                ..
            } => Self::Sqs {
                sqs: SqsBatchDispatcher::builder(SqsBackend::new(
                    aws_sdk_sqs::Client::new(sdk),
                    queue,
                ))
                .config(config)
                .build()?,
                raw: *raw,
            },
            Service::Sqs {
                queue,
                fifo: true,
                group_field,
                default_group,
                dedup,
                raw,
            } => {
                let mut backend = SqsBackend::fifo(aws_sdk_sqs::Client::new(sdk), queue)
                    .deduplication(fifo_deduplication(*dedup));
                if let Some(group) = default_group {
                    backend = backend.default_message_group_id(group);
                }
                Self::SqsFifo {
                    sqs: SqsFifoBatchDispatcher::builder(backend)
                        .config(config)
                        .build()?,
                    group_field: group_field.clone(),
                    raw: *raw,
                }
            }
            Service::Kinesis {
                stream,
                partition_key_field,
                ordered,
                aggregate,
                raw,
            } => Self::Kinesis {
                kinesis: KinesisBatchDispatcher::builder(
                    KinesisBackend::new(aws_sdk_kinesis::Client::new(sdk), stream)
                        .ordered(*ordered)
                        .aggregate(*aggregate),
                )
                .config(config)
                .build()?,
                key: partition_key_field
                    .clone()
                    .map_or(PartitionKey::Random, PartitionKey::Field),
                raw: *raw,
            },
            Service::Firehose {
                stream,
                newline,
                pack,
                raw,
            } => {
                let mut backend = FirehoseBackend::new(aws_sdk_firehose::Client::new(sdk), stream)
                    .newline(*newline);
                if let Some(bytes) = pack {
                    backend = backend.pack(*bytes);
                }
                Self::Firehose {
                    firehose: FirehoseBatchDispatcher::builder(backend)
                        .config(config)
                        .build()?,
                    raw: *raw,
                }
            }
            Service::Sns {
                topic,
                group_field,
                default_group,
                dedup,
                raw,
            } => {
                let mut backend = SnsBackend::new(aws_sdk_sns::Client::new(sdk), topic);
                if backend.is_fifo() {
                    backend = backend.deduplication(fifo_deduplication(*dedup));
                    if let Some(group) = default_group {
                        backend = backend.default_message_group_id(group);
                    }
                }
                Self::Sns {
                    sns: SnsBatchDispatcher::builder(backend)
                        .config(config)
                        .build()?,
                    group_field: group_field.clone(),
                    raw: *raw,
                }
            }
            Service::Eventbridge {
                bus,
                source,
                detail_type,
            } => Self::EventBridge {
                events: EventBridgeBatchDispatcher::builder(EventBridgeBackend::new(
                    aws_sdk_eventbridge::Client::new(sdk),
                    bus,
                ))
                .config(config)
                .build()?,
                source: source.clone(),
                detail_type: detail_type.clone(),
            },
            Service::Dynamodb {
                table,
                partition_key,
                sort_key,
                delete,
            } => {
                let mut backend =
                    DynamoBackend::new(aws_sdk_dynamodb::Client::new(sdk), table, partition_key);
                if let Some(sort_key) = sort_key {
                    backend = backend.sort_key(sort_key);
                }
                Self::Dynamo {
                    dynamo: DynamoBatchDispatcher::builder(backend)
                        .config(config)
                        .build()?,
                    delete: *delete,
                }
            }
            Service::Cloudwatch {
                namespace,
                aggregate,
            } => Self::Cloudwatch(
                CloudwatchBatchDispatcher::builder(
                    CloudwatchBackend::new(aws_sdk_cloudwatch::Client::new(sdk), namespace)
                        .aggregate(*aggregate),
                )
                .config(config)
                .build()?,
            ),
        })
    }

    /// Submits the record of input line `line`; `Err` is why it can never be sent, with
    /// the record to write down.
    pub(crate) async fn submit(&self, line: u64, text: String) -> Result<(), Failed> {
        let refused = |code: &str, message: String, record: Record| Failed {
            line: Some(line),
            record,
            problem: Box::new(Problem::refused(code, message)),
        };
        let invalid = |message: String, record: Record| refused(INVALID_RECORD, message, record);
        match self {
            Self::Sqs { sqs, raw } => {
                let text = checked_json(text, *raw, line)?;
                sqs.submit_tagged(SqsMessage::text(text), line)
                    .await
                    .map_err(|e| invalid(e.to_string(), sqs_record(e.payload(), *raw)))
            }
            Self::SqsFifo {
                sqs,
                group_field,
                raw,
            } => {
                let (group, text) = grouped(text, group_field.as_deref(), *raw, line)?;
                let mut message = SqsMessage::text(text);
                if let Some(group) = group {
                    message = message.with_message_group_id(group);
                }
                sqs.submit_tagged(message, line)
                    .await
                    .map_err(|e| invalid(e.to_string(), sqs_record(e.payload(), *raw)))
            }
            Self::Kinesis { kinesis, key, raw } => {
                let record = if *key == PartitionKey::Random {
                    KinesisRecord::bytes(checked_json(text, *raw, line)?)
                } else {
                    let value = parsed(&text, line)?;
                    match key.key_of_json(&value) {
                        Ok(Some(k)) => KinesisRecord::bytes(text).with_partition_key(k),
                        Ok(None) => KinesisRecord::bytes(text),
                        Err(kind) => return Err(invalid(kind.to_string(), Record::Raw(text))),
                    }
                };
                kinesis
                    .submit_tagged(record, line)
                    .await
                    .map_err(|e| invalid(e.to_string(), kinesis_record(e.payload(), *raw)))
            }
            Self::Firehose { firehose, raw } => {
                let record = FirehoseRecord::bytes(checked_json(text, *raw, line)?);
                firehose
                    .submit_tagged(record, line)
                    .await
                    .map_err(|e| invalid(e.to_string(), firehose_record(e.payload(), *raw)))
            }
            Self::Sns {
                sns,
                group_field,
                raw,
            } => {
                let (group, text) = grouped(text, group_field.as_deref(), *raw, line)?;
                let mut message = SnsMessage::text(text);
                if let Some(group) = group {
                    message = message.with_message_group_id(group);
                }
                sns.submit_tagged(message, line)
                    .await
                    .map_err(|e| invalid(e.to_string(), sns_record(e.payload(), *raw)))
            }
            Self::EventBridge {
                events,
                source,
                detail_type,
            } => {
                let detail = parsed(&text, line)?;
                events
                    .submit_tagged(Event::new(source, detail_type, detail), line)
                    .await
                    .map_err(|e| invalid(e.to_string(), Record::Raw(text)))
            }
            Self::Dynamo { dynamo, delete } => {
                let value = parsed(&text, line)?;
                let write = if *delete {
                    DynamoWrite::Delete(Item::Json(value))
                } else {
                    DynamoWrite::Put(Item::Json(value))
                };
                dynamo
                    .submit_tagged(write, line)
                    .await
                    .map_err(|e| invalid(e.to_string(), Record::Raw(text)))
            }
            Self::Cloudwatch(cloudwatch) => {
                let value = parsed(&text, line)?;
                let metric = metric(&value).map_err(|m| invalid(m, Record::Raw(text.clone())))?;
                cloudwatch
                    .submit_tagged(metric, line)
                    .await
                    .map_err(|e| invalid(e.to_string(), Record::Raw(text)))
            }
        }
    }

    /// Flushes and returns what was not delivered.
    pub(crate) async fn flush(&self) -> Vec<Failed> {
        match self {
            Self::Sqs { sqs, raw } => failed(sqs.flush_payloads().await, |m| sqs_record(&m, *raw)),
            Self::SqsFifo { sqs, raw, .. } => {
                failed(sqs.flush_payloads().await, |m| sqs_record(&m, *raw))
            }
            Self::Kinesis { kinesis, raw, .. } => {
                failed(kinesis.flush_payloads().await, |r| kinesis_record(&r, *raw))
            }
            Self::Dynamo { dynamo, .. } => failed(dynamo.flush_payloads().await, |w| match w {
                DynamoWrite::Put(Item::Json(value)) | DynamoWrite::Delete(Item::Json(value)) => {
                    Record::Json(value)
                }
                _ => Record::Json(Value::Null),
            }),
            Self::Cloudwatch(cloudwatch) => failed(cloudwatch.flush_payloads().await, |m| {
                Record::Json(metric_record(&m))
            }),
            Self::Firehose { firehose, raw } => failed(firehose.flush_payloads().await, |r| {
                firehose_record(&r, *raw)
            }),
            Self::EventBridge { events, .. } => failed(events.flush_payloads().await, |e| {
                Record::Json(e.detail().clone())
            }),
            Self::Sns { sns, raw, .. } => {
                failed(sns.flush_payloads().await, |m| sns_record(&m, *raw))
            }
        }
    }

    /// Stops sending: what is in flight comes back from the next flush at once.
    pub(crate) fn abandon(&self) {
        match self {
            Self::Sqs { sqs, .. } => sqs.abandon(),
            Self::SqsFifo { sqs, .. } => sqs.abandon(),
            Self::Kinesis { kinesis, .. } => kinesis.abandon(),
            Self::Dynamo { dynamo, .. } => dynamo.abandon(),
            Self::Cloudwatch(cloudwatch) => cloudwatch.abandon(),
            Self::Firehose { firehose, .. } => firehose.abandon(),
            Self::EventBridge { events, .. } => events.abandon(),
            Self::Sns { sns, .. } => sns.abandon(),
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        match self {
            Self::Sqs { sqs, .. } => sqs.stats(),
            Self::SqsFifo { sqs, .. } => sqs.stats(),
            Self::Kinesis { kinesis, .. } => kinesis.stats(),
            Self::Dynamo { dynamo, .. } => dynamo.stats(),
            Self::Cloudwatch(cloudwatch) => cloudwatch.stats(),
            Self::Firehose { firehose, .. } => firehose.stats(),
            Self::EventBridge { events, .. } => events.stats(),
            Self::Sns { sns, .. } => sns.stats(),
        }
    }
}

/// `text` when it is JSON (or need not be); the refusal otherwise. Only checked, not kept:
/// the line goes out as it came in.
fn checked_json(text: String, raw: bool, line: u64) -> Result<String, Failed> {
    if raw {
        return Ok(text);
    }
    match serde_json::from_str::<IgnoredAny>(&text) {
        Ok(_) => Ok(text),
        Err(e) => Err(not_json(text, &e, line)),
    }
}

/// A FIFO line's message group, from its `group_field` when there is one (the line must
/// then be JSON), and the line.
fn grouped(
    text: String,
    group_field: Option<&str>,
    raw: bool,
    line: u64,
) -> Result<(Option<String>, String), Failed> {
    let Some(field) = group_field else {
        return Ok((None, checked_json(text, raw, line)?));
    };
    let value = parsed(&text, line)?;
    let group = value.get(field).map(|group| {
        group
            .as_str()
            .map_or_else(|| group.to_string(), str::to_owned)
    });
    Ok((group, text))
}

fn fifo_deduplication(dedup: Dedup) -> FifoDeduplication {
    match dedup {
        Dedup::ContentHash => FifoDeduplication::ContentHash,
        Dedup::ContentBased => FifoDeduplication::ContentBased,
    }
}

/// The line parsed, or the refusal.
fn parsed(text: &str, line: u64) -> Result<Value, Failed> {
    serde_json::from_str(text).map_err(|e| not_json(text.to_owned(), &e, line))
}

fn not_json(text: String, error: &serde_json::Error, line: u64) -> Failed {
    let mut message = error.to_string();
    if text.starts_with('\u{feff}') {
        message.push_str(" (the line starts with a byte order mark, U+FEFF; one is skipped only at the start of the input)");
    }
    Failed {
        line: Some(line),
        record: Record::Text(text),
        problem: Box::new(Problem::refused(INVALID_JSON, message)),
    }
}

fn failed<P>(unprocessed: Vec<Unprocessed<P>>, record: impl Fn(P) -> Record) -> Vec<Failed> {
    unprocessed
        .into_iter()
        .map(|item| {
            let tag = item.tag;
            let (payload, error) = item.into_parts();
            Failed {
                line: tag,
                record: record(payload),
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

fn text_record(text: String, raw: bool) -> Record {
    if raw {
        Record::Text(text)
    } else {
        Record::Raw(text)
    }
}

fn sqs_record(message: &SqsMessage, raw: bool) -> Record {
    match message.body() {
        MessageBody::Text(text) => text_record(text.clone(), raw),
        MessageBody::Json(value) => Record::Json(value.clone()),
        _ => Record::Json(Value::Null),
    }
}

fn sns_record(message: &SnsMessage, raw: bool) -> Record {
    match message.body() {
        MessageBody::Text(text) => text_record(text.clone(), raw),
        MessageBody::Json(value) => Record::Json(value.clone()),
        _ => Record::Json(Value::Null),
    }
}

fn kinesis_record(record: &KinesisRecord, raw: bool) -> Record {
    match record.data() {
        RecordData::Bytes(bytes) => bytes_record(bytes, raw),
        RecordData::Json(value) => Record::Json(value.clone()),
        _ => Record::Json(Value::Null),
    }
}

fn firehose_record(record: &FirehoseRecord, raw: bool) -> Record {
    match (record.as_bytes(), record.as_json()) {
        (Some(bytes), _) => bytes_record(bytes, raw),
        (None, Some(value)) => Record::Json(value.clone()),
        (None, None) => Record::Json(Value::Null),
    }
}

/// A line sent as bytes: its text, or the bytes when they are not UTF-8.
fn bytes_record(bytes: &[u8], raw: bool) -> Record {
    match String::from_utf8(bytes.to_vec()) {
        Ok(text) => text_record(text, raw),
        Err(e) => Record::Bytes(e.into_bytes()),
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
