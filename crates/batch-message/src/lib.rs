//! The message rules Amazon SQS and Amazon SNS share, for `batch-sqs` and `batch-sns`.
//!
//! SendMessageBatch and PublishBatch take the same kind of message: a text body, up to ten
//! typed attributes, a batch entry id, and on FIFO queues and topics a message group and a
//! deduplication id. This crate holds those rules once, with no AWS SDK: the types a
//! message is made of ([`MessageBody`], [`MessageAttribute`]), the FIFO settings
//! ([`FifoDeduplication`], [`Standard`], [`Fifo`]), and [`check_message`], which checks a
//! message the way both services would and returns what goes on the wire.
//!
//! ```
//! use std::collections::BTreeMap;
//! use batch_message::{Fifo, FifoDeduplication, MessageBody, MessageFields, check_message};
//!
//! let body = MessageBody::Json(serde_json::json!({"order": 17}));
//! let attributes = BTreeMap::new();
//! let fifo = Fifo::default()
//!     .with_default_message_group_id("all")
//!     .with_deduplication(FifoDeduplication::ContentHash);
//! let checked = check_message(&fifo, &MessageFields::new(&body, &attributes))?;
//! assert_eq!(checked.body, r#"{"order":17}"#);
//! assert_eq!(checked.message_group_id.as_deref(), Some("all"));
//! assert_eq!(checked.deduplication_id.as_ref().map(String::len), Some(64));
//! # Ok::<(), batch_core::SubmitErrorKind>(())
//! ```

mod attribute;
mod body;
mod check;
mod fifo;

pub use attribute::{
    MAX_ATTRIBUTE_NAME_CHARS, MAX_ATTRIBUTES, MessageAttribute, attribute_build_error,
    attributes_size, check_attributes,
};
pub use body::{MessageBody, WrittenBody, body_text, check_body_chars};
pub use check::{CheckedMessage, MAX_ID_CHARS, MessageFields, check_id, check_message, numbered};
pub use fifo::{
    DestinationKind, Fifo, FifoDeduplication, MAX_GROUP_OR_DEDUP_ID_CHARS, Standard,
    check_group_or_dedup_id,
};

use batch_core::SubmitErrorKind;

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> SubmitErrorKind {
    SubmitErrorKind::Invalid {
        field: field.into().into(),
        reason: reason.into(),
    }
}
