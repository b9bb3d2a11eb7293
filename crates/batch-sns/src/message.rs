//! The SNS message type: a body and the metadata PublishBatch accepts for it.

use std::collections::BTreeMap;

use batch_message::{MessageAttribute, MessageBody, MessageFields};
use serde_json::Value;

/// One message for PublishBatch, with the metadata it may carry. The body and attributes
/// follow the rules SNS shares with SQS (the same types, checks and size, from
/// `batch-message`).
///
/// ```
/// use batch_sns::{MessageAttribute, SnsMessage};
///
/// let message = SnsMessage::json(serde_json::json!({"order": 17}))
///     .with_subject("Order placed")
///     .with_attribute("source", MessageAttribute::String("shop".into()))
///     .with_message_group_id("customer-7");
/// assert_eq!(message.subject(), Some("Order placed"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SnsMessage {
    pub(crate) body: MessageBody,
    pub(crate) id: Option<String>,
    pub(crate) subject: Option<String>,
    pub(crate) attributes: BTreeMap<String, MessageAttribute>,
    pub(crate) message_group_id: Option<String>,
    pub(crate) deduplication_id: Option<String>,
}

impl From<Value> for SnsMessage {
    fn from(value: Value) -> Self {
        Self::json(value)
    }
}

impl SnsMessage {
    /// A message with a JSON body, written compactly.
    #[must_use]
    pub fn json(body: Value) -> Self {
        Self::with_body(MessageBody::Json(body))
    }

    /// A message with a text body, sent as it is.
    #[must_use]
    pub fn text(body: impl Into<String>) -> Self {
        Self::with_body(MessageBody::Text(body.into()))
    }

    fn with_body(body: MessageBody) -> Self {
        Self {
            body,
            id: None,
            subject: None,
            attributes: BTreeMap::new(),
            message_group_id: None,
            deduplication_id: None,
        }
    }

    /// An id of the caller's; two pending messages with one id are duplicates.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The subject, for e-mail subscriptions.
    #[must_use]
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Adds a message attribute.
    #[must_use]
    pub fn with_attribute(mut self, name: impl Into<String>, value: MessageAttribute) -> Self {
        self.attributes.insert(name.into(), value);
        self
    }

    /// The message group (FIFO topics).
    #[must_use]
    pub fn with_message_group_id(mut self, group: impl Into<String>) -> Self {
        self.message_group_id = Some(group.into());
        self
    }

    /// The deduplication id (FIFO topics).
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

    /// The subject, if set.
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
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

    /// The fields SNS checks as SQS does.
    pub(crate) fn fields(&self) -> MessageFields<'_> {
        MessageFields::new(&self.body, &self.attributes)
            .with_id(self.id.as_deref())
            .with_message_group_id(self.message_group_id.as_deref())
            .with_deduplication_id(self.deduplication_id.as_deref())
    }
}

/// Longest subject. Source: Amazon SNS API reference, Publish `Subject` ("must be less than
/// 100 characters", ASCII, no line breaks or control characters); checked 2026-12-04.
pub const MAX_SUBJECT_CHARS: usize = 99;
