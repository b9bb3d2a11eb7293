//! Batched writes to AWS: Amazon SQS (standard and FIFO, and a consumer's deletes and
//! visibility changes), Kinesis Data Streams, DynamoDB, CloudWatch metrics, CloudWatch Logs,
//! Data Firehose, EventBridge and SNS.
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
//! use aws_batch_utils::prelude::*;
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
//! - `sqs`: [`SqsBatchDispatcher`], [`SqsFifoBatchDispatcher`], [`SqsDeleteDispatcher`] and
//!   [`SqsVisibilityDispatcher`] (the [`sqs`] module).
//! - `kinesis`: [`KinesisBatchDispatcher`] (the [`kinesis`] module).
//! - `dynamodb`: [`DynamoBatchDispatcher`] (the [`dynamodb`] module).
//! - `cloudwatch`: [`CloudWatchBatchDispatcher`] (the [`cloudwatch`] module).
//! - `logs`: [`LogsBatchDispatcher`] (the [`logs`] module).
//! - `firehose`: [`FirehoseBatchDispatcher`] (the [`firehose`] module).
//! - `eventbridge`: [`EventBridgeBatchDispatcher`] (the [`eventbridge`] module).
//! - `sns`: [`SnsBatchDispatcher`] and [`SnsFifoBatchDispatcher`] (the [`sns`] module).
//! - `full`: every service.
//! - `exact-numbers`: JSON numbers keep their decimal text from the caller's
//!   `serde_json::Value` to the wire, so `12345678901234567890.5` reaches DynamoDB, an SQS
//!   body or a Kinesis record unrounded, and a partition key taken from a number field is the
//!   text it was written as (`1.50`, not `1.5`). It turns on serde_json's
//!   `arbitrary_precision` for the whole program (Cargo features are additive), which changes
//!   how serde_json holds every number: `#[serde(untagged)]` and `#[serde(flatten)]` types
//!   that hold numbers may then fail to deserialize (serde-rs/json#559). Off by default; the
//!   `aws-batch` command and the Python package turn it on. Without it, numbers go out as
//!   serde_json prints them (integers exactly, others as the nearest `f64`).
//! - `serde`: payload types to and from JSON objects with serde (a CloudWatch metric:
//!   `cloudwatch::json`).
//! - `test-util`: `engine::testing`, an in-memory backend whose outcomes a test scripts.
//!
//! # Names
//!
//! The crate root holds the dispatchers and backends (`…BatchDispatcher`, `…Backend`), the
//! payload types that carry their service's name (`SqsMessage`, `KinesisRecord`, …), and
//! the engine's types ([`DispatcherConfig`], [`RetryPolicy`], [`Unprocessed`], [`Stats`],
//! [`SubmitError`], [`FlushTimedOut`], ...). Everything else of a service is in its module
//! (`kinesis::deaggregate`, `cloudwatch::Metric`, `eventbridge::Event`, ...), and the whole
//! engine, for writing a backend of your own, is [`engine`]. [`prelude`] brings the
//! dispatchers and the extension traits (`submit_metric`, `submit_delete`) into scope.
//!
//! # Testing with mocks
//!
//! A dispatcher takes a mocked SDK client (`aws-smithy-mocks`) like any other. Besides its
//! batch call, it may read a setting of its destination (an SQS queue's URL and largest
//! message, an SNS topic's largest message, a Kinesis stream's shards): each read can be
//! avoided by giving its answer, and none that fails ever fails a record. The list of
//! calls, and a mocked example per service: [`testing_with_mocks`].
#![cfg_attr(docsrs, feature(doc_cfg))]

/// The batching engine: [`engine::Backend`] and everything a backend of your own needs.
#[doc(inline)]
pub use batch_core as engine;
pub use batch_core::{
    ConfigError, Coordinator, CoordinatorError, DedupPolicy, DeliveryError, Dispatcher,
    DispatcherBuilder, DispatcherConfig, Failure, FailureKind, FlushTimedOut, Grant, Limits,
    RetryPolicy, Scope, ScopeFlush, SharedPace, Stats, SubmitError, SubmitErrorKind, Unprocessed,
    UnprocessedReason, codes, without_sdk_retries,
};

/// The names most programs use, in one import: `use aws_batch_utils::prelude::*;`.
///
/// It brings the dispatchers of the services that are on, the extension traits whose
/// methods do not resolve without them in scope
/// ([`SubmitMetric::submit_metric`](crate::cloudwatch::SubmitMetric::submit_metric),
/// [`SubmitDelete::submit_delete`](crate::dynamodb::SubmitDelete::submit_delete)), and the
/// engine's settings and results.
///
/// ```no_run
/// # #[cfg(feature = "cloudwatch")]
/// # async fn demo(config: aws_config::SdkConfig) -> Result<(), Box<dyn std::error::Error>> {
/// use aws_batch_utils::prelude::*;
///
/// let metrics = CloudWatchBatchDispatcher::new(&config, "Shop");
/// metrics.submit_metric(aws_batch_utils::cloudwatch::Metric::new("orders", 1.0)).await?;
/// # Ok(()) }
/// ```
pub mod prelude {
    pub use batch_core::{
        Dispatcher, DispatcherConfig, FlushTimedOut, RetryPolicy, Stats, SubmitError, Unprocessed,
        UnprocessedReason,
    };

    #[cfg(feature = "cloudwatch")]
    pub use batch_cloudwatch::{CloudWatchBackend, CloudWatchBatchDispatcher, SubmitMetric as _};
    #[cfg(feature = "dynamodb")]
    pub use batch_dynamodb::{DynamoBackend, DynamoBatchDispatcher, SubmitDelete as _};
    #[cfg(feature = "eventbridge")]
    pub use batch_eventbridge::{EventBridgeBackend, EventBridgeBatchDispatcher};
    #[cfg(feature = "firehose")]
    pub use batch_firehose::{FirehoseBackend, FirehoseBatchDispatcher};
    #[cfg(feature = "kinesis")]
    pub use batch_kinesis::{KinesisBackend, KinesisBatchDispatcher};
    #[cfg(feature = "logs")]
    pub use batch_logs::{LogsBackend, LogsBatchDispatcher};
    #[cfg(feature = "sns")]
    pub use batch_sns::{SnsBackend, SnsBatchDispatcher, SnsFifoBatchDispatcher};
    #[cfg(feature = "sqs")]
    pub use batch_sqs::{
        SqsBackend, SqsBatchDispatcher, SqsDeleteDispatcher, SqsFifoBatchDispatcher,
        SqsVisibilityDispatcher,
    };
}

#[doc = include_str!("../docs/testing-with-mocks.md")]
pub mod testing_with_mocks {}

/// Amazon SQS: standard and FIFO queues, and a consumer's deletes and visibility changes.
#[cfg(feature = "sqs")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqs")))]
#[doc(inline)]
pub use batch_sqs as sqs;
#[cfg(feature = "sqs")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqs")))]
pub use batch_sqs::{
    SqsBackend, SqsBatchDispatcher, SqsConsumerBackend, SqsDeleteDispatcher,
    SqsFifoBatchDispatcher, SqsMessage, SqsVisibilityDispatcher,
};

/// Amazon Kinesis Data Streams.
#[cfg(feature = "kinesis")]
#[cfg_attr(docsrs, doc(cfg(feature = "kinesis")))]
#[doc(inline)]
pub use batch_kinesis as kinesis;
#[cfg(feature = "kinesis")]
#[cfg_attr(docsrs, doc(cfg(feature = "kinesis")))]
pub use batch_kinesis::{KinesisBackend, KinesisBatchDispatcher, KinesisRecord};

/// Amazon DynamoDB.
#[cfg(feature = "dynamodb")]
#[cfg_attr(docsrs, doc(cfg(feature = "dynamodb")))]
#[doc(inline)]
pub use batch_dynamodb as dynamodb;
#[cfg(feature = "dynamodb")]
#[cfg_attr(docsrs, doc(cfg(feature = "dynamodb")))]
pub use batch_dynamodb::{
    DynamoBackend, DynamoBatchDispatcher, DynamoDbCoordinator, DynamoItem, DynamoTable, DynamoWrite,
};

/// Amazon CloudWatch metrics.
#[cfg(feature = "cloudwatch")]
#[cfg_attr(docsrs, doc(cfg(feature = "cloudwatch")))]
#[doc(inline)]
pub use batch_cloudwatch as cloudwatch;
#[cfg(feature = "cloudwatch")]
#[cfg_attr(docsrs, doc(cfg(feature = "cloudwatch")))]
pub use batch_cloudwatch::{CloudWatchBackend, CloudWatchBatchDispatcher};

/// Amazon CloudWatch Logs.
#[cfg(feature = "logs")]
#[cfg_attr(docsrs, doc(cfg(feature = "logs")))]
#[doc(inline)]
pub use batch_logs as logs;
#[cfg(feature = "logs")]
#[cfg_attr(docsrs, doc(cfg(feature = "logs")))]
pub use batch_logs::{LogEvent, LogsBackend, LogsBatchDispatcher};

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
pub use batch_eventbridge::{EventBridgeBackend, EventBridgeBatchDispatcher};

/// Amazon SNS: standard and FIFO topics.
#[cfg(feature = "sns")]
#[cfg_attr(docsrs, doc(cfg(feature = "sns")))]
#[doc(inline)]
pub use batch_sns as sns;
#[cfg(feature = "sns")]
#[cfg_attr(docsrs, doc(cfg(feature = "sns")))]
pub use batch_sns::{SnsBackend, SnsBatchDispatcher, SnsFifoBatchDispatcher, SnsMessage};

/// AWS Lambda: flushes bounded by the invocation, a layer that flushes at the end of every
/// invocation, partial batch responses, a drain at shutdown.
#[cfg(feature = "lambda")]
#[cfg_attr(docsrs, doc(cfg(feature = "lambda")))]
#[doc(inline)]
pub use batch_lambda as lambda;
