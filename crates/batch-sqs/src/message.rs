//! The SQS message type: a body and the metadata SendMessageBatch accepts for it.

use std::collections::BTreeMap;

use batch_message::{MessageAttribute, MessageBody, MessageFields};
use serde_json::Value;

/// One message for SendMessageBatch, with the metadata it may carry.
///
/// A `serde_json::Value` converts into a message with a JSON body and no metadata.
///
/// ```
/// use batch_sqs::{MessageAttribute, SqsMessage};
///
/// let message = SqsMessage::json(serde_json::json!({"order": 17}))
///     .with_id("order-17")
///     .with_attribute("source", MessageAttribute::String("shop".into()))
///     .with_delay_seconds(30);
/// assert_eq!(message.id(), Some("order-17"));
/// assert_eq!(message.delay_seconds(), Some(30));
/// let plain: SqsMessage = serde_json::json!({"test": "message"}).into();
/// assert!(plain.id().is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SqsMessage {
    pub(crate) body: MessageBody,
    pub(crate) id: Option<String>,
    pub(crate) delay_seconds: Option<u32>,
    pub(crate) attributes: BTreeMap<String, MessageAttribute>,
    pub(crate) message_group_id: Option<String>,
    pub(crate) deduplication_id: Option<String>,
}

impl From<Value> for SqsMessage {
    fn from(value: Value) -> Self {
        Self::json(value)
    }
}

impl SqsMessage {
    /// A message with a JSON body.
    #[must_use]
    pub fn json(body: Value) -> Self {
        Self::of_body(MessageBody::Json(body))
    }

    /// A message with a raw text body.
    #[must_use]
    pub fn text(body: impl Into<String>) -> Self {
        Self::of_body(MessageBody::Text(body.into()))
    }

    fn of_body(body: MessageBody) -> Self {
        Self {
            body,
            id: None,
            delay_seconds: None,
            attributes: BTreeMap::new(),
            message_group_id: None,
            deduplication_id: None,
        }
    }

    /// The message's id: 1-80 characters of `A-Z a-z 0-9 _ -`. Two pending messages with the
    /// same id are duplicates (the first is kept). Without one, none is needed: the
    /// dispatcher numbers the entries of each request itself.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Delay before the message becomes visible, 0-900 seconds. Standard queues only.
    #[must_use]
    pub fn with_delay_seconds(mut self, seconds: u32) -> Self {
        self.delay_seconds = Some(seconds);
        self
    }

    /// Adds a message attribute (at most 10 per message).
    #[must_use]
    pub fn with_attribute(mut self, name: impl Into<String>, value: MessageAttribute) -> Self {
        self.attributes.insert(name.into(), value);
        self
    }

    /// The message group: required on FIFO queues (unless the dispatcher has a default
    /// group), where messages of one group keep their order; on standard queues it enables
    /// fair queues.
    #[must_use]
    pub fn with_message_group_id(mut self, group: impl Into<String>) -> Self {
        self.message_group_id = Some(group.into());
        self
    }

    /// The FIFO deduplication id. Two pending messages with the same one are duplicates.
    #[must_use]
    pub fn with_deduplication_id(mut self, id: impl Into<String>) -> Self {
        self.deduplication_id = Some(id.into());
        self
    }

    /// The body.
    #[must_use]
    pub fn body(&self) -> &MessageBody {
        &self.body
    }

    /// The id, if set.
    #[must_use]
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The attributes.
    #[must_use]
    pub fn attributes(&self) -> &BTreeMap<String, MessageAttribute> {
        &self.attributes
    }

    /// The message group, if set.
    #[must_use]
    pub fn message_group_id(&self) -> Option<&str> {
        self.message_group_id.as_deref()
    }

    /// The deduplication id, if set.
    #[must_use]
    pub fn deduplication_id(&self) -> Option<&str> {
        self.deduplication_id.as_deref()
    }

    /// The delay, if set.
    #[must_use]
    pub fn delay_seconds(&self) -> Option<u32> {
        self.delay_seconds
    }

    /// The fields SQS and SNS check alike.
    pub(crate) fn fields(&self) -> MessageFields<'_> {
        MessageFields::new(&self.body, &self.attributes)
            .with_id(self.id.as_deref())
            .with_message_group_id(self.message_group_id.as_deref())
            .with_deduplication_id(self.deduplication_id.as_deref())
    }
}

/// Longest delay in seconds. Source: SendMessageBatchRequestEntry `DelaySeconds`; checked 2026-11-23.
pub const MAX_DELAY_SECONDS: u32 = 900;
