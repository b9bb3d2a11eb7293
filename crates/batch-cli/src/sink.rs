//! One destination behind one interface: JSON lines in, failures out.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_batch_utils::cloudwatch::MetricValue;
use aws_batch_utils::dynamodb::DynamoItem as Item;
use aws_batch_utils::kinesis::RecordData;
use aws_batch_utils::sqs::FifoDeduplication;
use aws_batch_utils::{
    CloudwatchBatchDispatcher, ConfigError, DeliveryError, DispatcherConfig, DynamoBatchDispatcher,
    DynamoWrite, KinesisBatchDispatcher, Metric, RetryConfig, SqsBatchDispatcher,
    SqsFifoBatchDispatcher, SqsMessage, Stats, Unit,
};
use aws_config::SdkConfig;
use serde_json::{Map, Value, json};

use crate::cli::{Common, Dedup, Service};

/// A dispatcher of one service.
pub(crate) enum Sink {
    Sqs(SqsBatchDispatcher),
    SqsFifo(SqsFifoBatchDispatcher, Option<String>),
    Kinesis(KinesisBatchDispatcher),
    Dynamo(DynamoBatchDispatcher, bool),
    Cloudwatch(CloudwatchBatchDispatcher),
}

/// A record that was not delivered: its JSON form and why.
pub(crate) struct Failed {
    pub(crate) record: Value,
    pub(crate) error: Value,
}

impl Sink {
    pub(crate) fn new(
        service: &Service,
        common: &Common,
        sdk: &SdkConfig,
    ) -> Result<Self, ConfigError> {
        let mut config = DispatcherConfig::default()
            .max_in_flight(common.max_in_flight)
            .retry(RetryConfig::default().max_attempts(common.max_attempts));
        if let Some(linger) = common.linger {
            config = config.linger(linger);
        }
        Ok(match service {
            Service::Sqs {
                queue, fifo: false, ..
            } => Self::Sqs(
                SqsBatchDispatcher::builder(aws_sdk_sqs::Client::new(sdk), queue)
                    .config(config)
                    .build()?,
            ),
            Service::Sqs {
                queue,
                fifo: true,
                group_field,
                default_group,
                dedup,
            } => {
                let mut builder =
                    SqsFifoBatchDispatcher::builder(aws_sdk_sqs::Client::new(sdk), queue)
                        .config(config)
                        .deduplication(match dedup {
                            Dedup::ContentHash => FifoDeduplication::ContentHash,
                            Dedup::ContentBased => FifoDeduplication::ContentBased,
                        });
                if let Some(group) = default_group {
                    builder = builder.default_message_group_id(group);
                }
                Self::SqsFifo(builder.build_fifo()?, group_field.clone())
            }
            Service::Kinesis {
                stream,
                partition_key_field,
                ordered,
            } => {
                let mut builder =
                    KinesisBatchDispatcher::builder(aws_sdk_kinesis::Client::new(sdk), stream)
                        .ordered(*ordered)
                        .config(config);
                if let Some(field) = partition_key_field {
                    builder = builder.partition_key_field(field);
                }
                Self::Kinesis(builder.build()?)
            }
            Service::Dynamodb {
                table,
                partition_key,
                sort_key,
                delete,
            } => {
                let mut builder = DynamoBatchDispatcher::builder(
                    aws_sdk_dynamodb::Client::new(sdk),
                    table,
                    partition_key,
                )
                .config(config);
                if let Some(sort_key) = sort_key {
                    builder = builder.sort_key(sort_key);
                }
                Self::Dynamo(builder.build()?, *delete)
            }
            Service::Cloudwatch {
                namespace,
                aggregate,
            } => Self::Cloudwatch(
                CloudwatchBatchDispatcher::builder(aws_sdk_cloudwatch::Client::new(sdk), namespace)
                    .aggregate(*aggregate)
                    .config(config)
                    .build()?,
            ),
        })
    }

    /// Submits one record; `Err` is why it can never be sent.
    pub(crate) async fn submit(&self, record: Value) -> Result<(), String> {
        match self {
            Self::Sqs(sqs) => sqs.submit_payload(record).await.map_err(|e| e.to_string()),
            Self::SqsFifo(sqs, group_field) => {
                let group = group_field
                    .as_ref()
                    .and_then(|field| record.get(field))
                    .map(|group| {
                        group
                            .as_str()
                            .map_or_else(|| group.to_string(), str::to_owned)
                    });
                let mut message = SqsMessage::json(record);
                if let Some(group) = group {
                    message = message.message_group_id(group);
                }
                sqs.submit_payload(message).await.map_err(|e| e.to_string())
            }
            Self::Kinesis(kinesis) => kinesis
                .submit_payload(record)
                .await
                .map_err(|e| e.to_string()),
            Self::Dynamo(dynamo, false) => dynamo
                .submit_payload(record)
                .await
                .map_err(|e| e.to_string()),
            Self::Dynamo(dynamo, true) => dynamo
                .submit_delete(record)
                .await
                .map_err(|e| e.to_string()),
            Self::Cloudwatch(cloudwatch) => {
                let metric = metric(&record)?;
                cloudwatch
                    .submit_metric(metric)
                    .await
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// Flushes and returns what was not delivered.
    pub(crate) async fn flush(&self) -> Vec<Failed> {
        match self {
            Self::Sqs(sqs) => failed(sqs.flush_payloads().await, |m| sqs_record(&m)),
            Self::SqsFifo(sqs, _) => failed(sqs.flush_payloads().await, |m| sqs_record(&m)),
            Self::Kinesis(kinesis) => failed(kinesis.flush_payloads().await, |r| match r.data() {
                RecordData::Json(value) => value.clone(),
                RecordData::Bytes(bytes) => json!({ "bytes": bytes }),
                _ => Value::Null,
            }),
            Self::Dynamo(dynamo, _) => failed(dynamo.flush_payloads().await, |w| match w {
                DynamoWrite::Put(Item::Json(value)) | DynamoWrite::Delete(Item::Json(value)) => {
                    value
                }
                _ => Value::Null,
            }),
            Self::Cloudwatch(cloudwatch) => {
                failed(cloudwatch.flush_payloads().await, |m| metric_record(&m))
            }
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        match self {
            Self::Sqs(sqs) => sqs.stats(),
            Self::SqsFifo(sqs, _) => sqs.stats(),
            Self::Kinesis(kinesis) => kinesis.stats(),
            Self::Dynamo(dynamo, _) => dynamo.stats(),
            Self::Cloudwatch(cloudwatch) => cloudwatch.stats(),
        }
    }
}

fn failed<P>(
    unprocessed: Vec<aws_batch_utils::Unprocessed<P>>,
    record: impl Fn(P) -> Value,
) -> Vec<Failed> {
    unprocessed
        .into_iter()
        .map(|item| {
            let (payload, error) = item.into_parts();
            Failed {
                record: record(payload),
                error: error_json(&error),
            }
        })
        .collect()
}

pub(crate) fn error_json(error: &DeliveryError) -> Value {
    json!({
        "code": error.code(),
        "message": error.message(),
        "reason": error.reason.to_string(),
        "attempts": error.attempts,
        "retryable": error.is_retryable(),
    })
}

fn sqs_record(message: &SqsMessage) -> Value {
    match message.body() {
        aws_batch_utils::sqs::MessageBody::Json(value) => value.clone(),
        aws_batch_utils::sqs::MessageBody::Text(text) => Value::String(text.clone()),
        _ => Value::Null,
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
        metric = metric.unit(Unit::from(
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
            metric = metric.dimension(key, value);
        }
    }
    if let Some(timestamp) = object.get("timestamp") {
        let seconds = timestamp
            .as_f64()
            .ok_or("\"timestamp\" must be seconds since the epoch")?;
        let time =
            Duration::try_from_secs_f64(seconds).map_err(|e| format!("\"timestamp\": {e}"))?;
        metric = metric.timestamp(UNIX_EPOCH + time);
    }
    if let Some(resolution) = object.get("storage_resolution") {
        let resolution = resolution
            .as_i64()
            .and_then(|r| i32::try_from(r).ok())
            .ok_or("\"storage_resolution\" must be 1 or 60")?;
        metric = metric.storage_resolution(resolution);
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
        .get_timestamp()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
    {
        record["timestamp"] = json!(at.as_secs_f64());
    }
    record
}
