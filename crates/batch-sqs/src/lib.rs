//! Batched writes to Amazon SQS standard and FIFO queues with SendMessageBatch.
//!
//! [`SqsBatchDispatcher`] (standard queues) and [`SqsFifoBatchDispatcher`] pack messages
//! into requests of at most 10 entries and 1 MiB, send them concurrently, retry only the
//! entries SQS refused for reasons of its own (not `SenderFault` ones), and hand back every
//! message they could not deliver, as submitted, with the reason.
//!
//! - **Messages.** The message rules SQS shares with SNS come from `batch-message` and are
//!   re-exported here. Submit a `serde_json::Value` (sent as compact JSON, UTF-8 as is) or an
//!   [`SqsMessage`] with a raw text body, an id, a delay, attributes, a message group and a
//!   deduplication id. Each is checked at submit; one SQS would refuse comes back in a
//!   [`SubmitError`](batch_core::SubmitError) naming the field and the limit.
//! - **Size** is counted as SQS counts it: the body plus each attribute's name, type and value.
//!   Lower the per-message limit to a queue's `MaximumMessageSize` with
//!   [`DispatcherConfig::max_entry_bytes`](batch_core::DispatcherConfig::max_entry_bytes).
//! - **Queue** by name (resolved once with GetQueueUrl, lazily) or by URL. A missing queue
//!   sends every pending message to the unprocessed list with the AWS error, unretried.
//! - **Dedup** within the pending batch by id, and on FIFO queues by deduplication id too.
//! - **FIFO order** holds within a message group, across retries.
//! - **Message size.** The queue's `MaximumMessageSize` is read once (GetQueueAttributes) at
//!   the first submit, unless set with [`SqsBackend::with_maximum_message_size`]; a larger message
//!   is refused at submit.
//! - **Consumers** delete received messages with [`SqsDeleteDispatcher`] and change their
//!   visibility with [`SqsVisibilityDispatcher`], one message at a time; the dispatchers
//!   batch them into DeleteMessageBatch and ChangeMessageVisibilityBatch requests.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use batch_sqs::SqsBatchDispatcher;
//!
//! let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let sqs = SqsBatchDispatcher::new(&config, "MySqsQueue");
//! sqs.submit_payload(serde_json::json!({"test": "message"})).await?;
//! for failed in sqs.flush_payloads().await {
//!     eprintln!("not delivered: {}", failed.error);
//! }
//! # Ok(()) }
//! ```

mod backend;
mod consumer;
mod dispatcher;
mod error;
mod message;
mod queue;

/// The AWS SDK crate this one is built on, so that a client you build for it (and its
/// types) match the version the backend takes: `sqs::sdk::Client::new(&config)`.
pub use aws_sdk_sqs as sdk;
pub use backend::{FifoQueue, SQS_LIMITS, SqsBackend, SqsEntry, StandardQueue};
pub use batch_message::{
    DestinationKind as QueueKind, FifoDeduplication, MAX_ATTRIBUTE_NAME_CHARS, MAX_ATTRIBUTES,
    MAX_GROUP_OR_DEDUP_ID_CHARS, MAX_ID_CHARS, MessageAttribute, MessageBody,
};
pub use consumer::{
    ChangeVisibility, Delete, MAX_VISIBILITY_TIMEOUT_SECONDS, SQS_CONSUMER_LIMITS,
    SqsConsumerBackend, SqsDeleteDispatcher, SqsVisibilityDispatcher, VisibilityChange,
};
pub use dispatcher::{SqsBatchDispatcher, SqsFifoBatchDispatcher};
pub use error::SqsRequestError;
pub use message::{MAX_DELAY_SECONDS, SqsMessage};
