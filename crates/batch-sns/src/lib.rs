//! Batched writes to Amazon SNS topics with PublishBatch.
//!
//! [`SnsBatchDispatcher`] packs messages into requests of at most 10 entries and the topic's
//! largest message (256 KiB unless the topic's `MaximumMessageSize` was raised, up to
//! 1 MiB: read once from the topic), sends them concurrently, retries only the entries SNS
//! refused for reasons of its own (not `SenderFault` ones), and hands back every message it
//! could not deliver, as submitted, with the reason.
//!
//! - **Messages** follow the SQS rules, from `batch-sqs`: a JSON or text body, attributes
//!   (String, Number, Binary), their checks and their size; plus a subject.
//! - **FIFO topics** (ARN ending in `.fifo`) take a message group and a deduplication id, or
//!   defaults ([`SnsBackend::default_message_group_id`], [`SnsBackend::deduplication`]); the
//!   order of a group holds across retries.
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

pub use backend::{SNS_DEFAULT_MESSAGE_BYTES, SNS_LIMITS, SnsBackend, SnsEntry, SnsRequestError};
pub use dispatcher::SnsBatchDispatcher;
pub use message::{MAX_SUBJECT_CHARS, SnsMessage};
