//! The names most programs use, in one import: `use aws_batch_utils::prelude::*;`.
//!
//! It brings the dispatchers of the services that are on, the extension traits whose
//! methods do not resolve without them in scope
//! ([`SubmitMetric::submit_metric`](crate::cloudwatch::SubmitMetric::submit_metric),
//! [`SubmitDelete::submit_delete`](crate::dynamodb::SubmitDelete::submit_delete)), and the
//! engine's settings and results.
//!
//! ```no_run
//! # #[cfg(feature = "cloudwatch")]
//! # async fn demo(config: aws_config::SdkConfig) -> Result<(), Box<dyn std::error::Error>> {
//! use aws_batch_utils::prelude::*;
//!
//! let metrics = CloudWatchBatchDispatcher::new(&config, "Shop");
//! metrics.submit_metric(aws_batch_utils::cloudwatch::Metric::new("orders", 1.0)).await?;
//! # Ok(()) }
//! ```

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
#[cfg(feature = "sns")]
pub use batch_sns::{SnsBackend, SnsBatchDispatcher, SnsFifoBatchDispatcher};
#[cfg(feature = "sqs")]
pub use batch_sqs::{
    SqsBackend, SqsBatchDispatcher, SqsDeleteDispatcher, SqsFifoBatchDispatcher,
    SqsVisibilityDispatcher,
};
