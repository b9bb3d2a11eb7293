//! Batched writes to Amazon SNS topics with PublishBatch.
//!
//! [`SnsBatchDispatcher`] packs messages into requests of at most 10 entries and the topic's
//! largest message (256 KiB unless the topic's `MaximumMessageSize` was raised, up to
//! 1 MiB: read once from the topic), sends them concurrently, retries only the entries SNS
//! refused for reasons of its own (not `SenderFault` ones), and hands back every message it
//! could not deliver, as submitted, with the reason.
//!
//! - **Messages** follow the rules SNS shares with SQS (from `batch-message`, re-exported
//!   here): a JSON or text body, attributes (String, Number, Binary), their checks and their
//!   size; plus a subject.
//! - **FIFO topics** (ARN ending in `.fifo`) have their own dispatcher,
//!   [`SnsFifoBatchDispatcher`]: messages take a message group and a deduplication id, or
//!   defaults ([`SnsBackend::with_default_message_group_id`],
//!   [`SnsBackend::with_deduplication`]); the order of a group holds across retries.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use batch_sns::{SnsBatchDispatcher, SnsMessage};
//!
//! let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let sns = SnsBatchDispatcher::new(&config, "arn:aws:sns:eu-west-1:123456789012:alerts");
//! sns.submit_payload(SnsMessage::text("disk full").with_subject("Alert")).await?;
//! for failed in sns.flush_payloads().await {
//!     eprintln!("not delivered ({}): {}", failed.error.code(), failed.error);
//! }
//! # Ok(()) }
//! ```

mod backend;
mod dispatcher;
mod message;

/// The AWS SDK crate this one is built on, so that a client you build for it (and its
/// types) match the version the backend takes: `sns::sdk::Client::new(&config)`.
pub use aws_sdk_sns as sdk;
pub use backend::{
    FifoTopic, SNS_DEFAULT_MESSAGE_BYTES, SNS_LIMITS, SnsBackend, SnsEntry, SnsRequestError,
    StandardTopic,
};
pub use batch_message::{
    DestinationKind as TopicKind, FifoDeduplication, MAX_ATTRIBUTE_NAME_CHARS, MAX_ATTRIBUTES,
    MAX_GROUP_OR_DEDUP_ID_CHARS, MAX_ID_CHARS, MessageAttribute, MessageBody,
};
pub use dispatcher::{SnsBatchDispatcher, SnsFifoBatchDispatcher};
pub use message::{MAX_SUBJECT_CHARS, SnsMessage};
