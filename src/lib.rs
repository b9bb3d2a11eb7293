//! Batched writes to AWS: Amazon SQS (standard and FIFO, and a consumer's deletes and
//! visibility changes), Kinesis Data Streams, DynamoDB, CloudWatch metrics, Data Firehose,
//! EventBridge and SNS.
//!
//! Create a dispatcher for one destination, call `submit_payload` for each record, and call
//! `flush_payloads` at the end (in AWS Lambda: at the end of every invocation). The library
//! packs records into the fewest batch requests the service's limits allow, sends them
//! concurrently, retries only what failed with backoff, drops duplicates where the service
//! demands it, and hands back every record it could not deliver, as submitted, with the
//! reason.
//!
//! ```no_run
//! # #[cfg(feature = "sqs")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use aws_batch_utils::SqsBatchDispatcher;
//!
//! let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let sqs = SqsBatchDispatcher::new(&config, "MySqsQueue");
//! sqs.submit_payload(serde_json::json!({"test": "message"})).await?;
//! let unprocessed = sqs.flush_payloads().await;
//! for item in &unprocessed {
//!     eprintln!("not delivered ({}): {}", item.error.code(), item.error);
//! }
//! # Ok(()) }
//! ```
//!
//! # Feature flags
//!
//! No service is on by default; enable the ones you use.
//!
//! - `sqs`: [`SqsBatchDispatcher`] and [`SqsFifoBatchDispatcher`] (the [`sqs`] module).
//! - `kinesis`: [`KinesisBatchDispatcher`] (the [`kinesis`] module).
//! - `dynamodb`: [`DynamoBatchDispatcher`] (the [`dynamodb`] module).
//! - `cloudwatch`: [`CloudwatchBatchDispatcher`] (the [`cloudwatch`] module).
//! - `firehose`: [`FirehoseBatchDispatcher`] (the [`firehose`] module).
//! - `eventbridge`: [`EventBridgeBatchDispatcher`] (the [`eventbridge`] module).
//! - `sns`: [`SnsBatchDispatcher`] (the [`sns`] module).
//! - `full`: every service.
//!
//! The engine's types ([`DispatcherConfig`], [`RetryPolicy`], [`Unprocessed`], [`Stats`],
//! [`SubmitError`], ...) are always here; the engine itself is [`core`].
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(inline)]
pub use batch_core as core;
pub use batch_core::{
    ConfigError, DedupPolicy, DeliveryError, Dispatcher, DispatcherBuilder, DispatcherConfig,
    Failure, FailureKind, Limits, RetryPolicy, Service, Stats, SubmitError, SubmitErrorKind,
    Unprocessed, UnprocessedReason, codes, without_sdk_retries,
};

/// Amazon SQS: standard and FIFO queues.
#[cfg(feature = "sqs")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqs")))]
#[doc(inline)]
pub use batch_sqs as sqs;
#[cfg(feature = "sqs")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqs")))]
pub use batch_sqs::{
    FifoDeduplication, MessageAttribute, MessageBody, SqsBackend, SqsBatchDispatcher,
    SqsDeleteDispatcher, SqsFifoBatchDispatcher, SqsMessage, SqsVisibilityDispatcher,
    VisibilityChange,
};

/// Amazon Kinesis Data Streams.
#[cfg(feature = "kinesis")]
#[cfg_attr(docsrs, doc(cfg(feature = "kinesis")))]
#[doc(inline)]
pub use batch_kinesis as kinesis;
#[cfg(feature = "kinesis")]
#[cfg_attr(docsrs, doc(cfg(feature = "kinesis")))]
pub use batch_kinesis::{
    KinesisBackend, KinesisBatchDispatcher, KinesisRecord, PartitionKey, RecordData, deaggregate,
};

/// Amazon DynamoDB.
#[cfg(feature = "dynamodb")]
#[cfg_attr(docsrs, doc(cfg(feature = "dynamodb")))]
#[doc(inline)]
pub use batch_dynamodb as dynamodb;
#[cfg(feature = "dynamodb")]
#[cfg_attr(docsrs, doc(cfg(feature = "dynamodb")))]
pub use batch_dynamodb::{
    DynamoBackend, DynamoBatchDispatcher, DynamoItem, DynamoTable, DynamoWrite, SubmitDelete,
};

/// Amazon CloudWatch metrics.
#[cfg(feature = "cloudwatch")]
#[cfg_attr(docsrs, doc(cfg(feature = "cloudwatch")))]
#[doc(inline)]
pub use batch_cloudwatch as cloudwatch;
#[cfg(feature = "cloudwatch")]
#[cfg_attr(docsrs, doc(cfg(feature = "cloudwatch")))]
pub use batch_cloudwatch::{
    CloudwatchBackend, CloudwatchBatchDispatcher, Metric, StatisticSet, SubmitMetric, Unit,
};

/// Amazon Data Firehose.
#[cfg(feature = "firehose")]
#[cfg_attr(docsrs, doc(cfg(feature = "firehose")))]
#[doc(inline)]
pub use batch_firehose as firehose;
#[cfg(feature = "firehose")]
#[cfg_attr(docsrs, doc(cfg(feature = "firehose")))]
pub use batch_firehose::{FirehoseBackend, FirehoseBatchDispatcher, FirehoseRecord};

/// Amazon EventBridge.
#[cfg(feature = "eventbridge")]
#[cfg_attr(docsrs, doc(cfg(feature = "eventbridge")))]
#[doc(inline)]
pub use batch_eventbridge as eventbridge;
#[cfg(feature = "eventbridge")]
#[cfg_attr(docsrs, doc(cfg(feature = "eventbridge")))]
pub use batch_eventbridge::{Event, EventBridgeBackend, EventBridgeBatchDispatcher};

/// Amazon SNS: standard and FIFO topics.
#[cfg(feature = "sns")]
#[cfg_attr(docsrs, doc(cfg(feature = "sns")))]
#[doc(inline)]
pub use batch_sns as sns;
#[cfg(feature = "sns")]
#[cfg_attr(docsrs, doc(cfg(feature = "sns")))]
pub use batch_sns::{SnsBackend, SnsBatchDispatcher, SnsMessage};
