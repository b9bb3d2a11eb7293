//! One message checked as SQS and SNS would check it, and what goes on the wire.

use std::borrow::Cow;
use std::collections::BTreeMap;

use batch_core::{Backend, BatchEntry, SubmitErrorKind};

use crate::attribute::{MessageAttribute, attributes_size, check_attributes};
use crate::body::{MessageBody, body_text};
use crate::fifo::{DestinationKind, check_group_or_dedup_id, sha256_hex};
use crate::invalid;

/// Longest batch entry id. Source: Amazon SQS API reference, SendMessageBatchRequestEntry
/// `Id`, and Amazon SNS API reference, PublishBatchRequestEntry `Id`; checked 2026-11-23.
pub const MAX_ID_CHARS: usize = 80;

/// Checks a batch entry id: 1-80 characters of `A-Z a-z 0-9 _ -`. SQS SendMessageBatch,
/// DeleteMessageBatch and SNS PublishBatch take the same ids.
///
/// ```
/// assert!(batch_message::check_id("order-17").is_ok());
/// assert_eq!(batch_message::check_id("order 17").unwrap_err().field(), "Id");
/// ```
///
/// # Errors
///
/// When the id is empty, too long, or holds other characters.
pub fn check_id(id: &str) -> Result<(), SubmitErrorKind> {
    let valid_chars = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if id.is_empty() || id.chars().count() > MAX_ID_CHARS || !valid_chars {
        return Err(invalid(
            "Id",
            format!("must be 1-{MAX_ID_CHARS} characters of A-Z, a-z, 0-9, '_' and '-'"),
        ));
    }
    Ok(())
}

/// The request's entries, each the SDK entry `entry` builds for it with its index as its
/// id (`id` finds that field): SQS and SNS batch ids need only be unique within one
/// request, so messages need no id of their own.
pub fn numbered<B, T>(
    batch: &[BatchEntry<'_, B>],
    entry: impl Fn(&BatchEntry<'_, B>) -> T,
    id: fn(&mut T) -> &mut String,
) -> Vec<T>
where
    B: Backend,
{
    batch
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let mut sdk_entry = entry(item);
            *id(&mut sdk_entry) = index.to_string();
            sdk_entry
        })
        .collect()
}

/// The fields of a message that SQS and SNS check alike, borrowed from the service's own
/// message type.
#[derive(Debug, Clone, Copy)]
pub struct MessageFields<'a> {
    body: &'a MessageBody,
    attributes: &'a BTreeMap<String, MessageAttribute>,
    id: Option<&'a str>,
    message_group_id: Option<&'a str>,
    deduplication_id: Option<&'a str>,
}

impl<'a> MessageFields<'a> {
    /// A message of `body` and `attributes`, without id, group or deduplication id.
    #[must_use]
    pub fn new(body: &'a MessageBody, attributes: &'a BTreeMap<String, MessageAttribute>) -> Self {
        Self {
            body,
            attributes,
            id: None,
            message_group_id: None,
            deduplication_id: None,
        }
    }

    /// The caller's id of the message, which pending duplicates share.
    #[must_use]
    pub fn with_id(mut self, id: Option<&'a str>) -> Self {
        self.id = id;
        self
    }

    /// The message group.
    #[must_use]
    pub fn with_message_group_id(mut self, group: Option<&'a str>) -> Self {
        self.message_group_id = group;
        self
    }

    /// The deduplication id.
    #[must_use]
    pub fn with_deduplication_id(mut self, id: Option<&'a str>) -> Self {
        self.deduplication_id = id;
        self
    }
}

/// A message as it goes on the wire, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckedMessage<'a> {
    /// The body text: the message's own text, borrowed, or its JSON written out.
    pub body: Cow<'a, str>,
    /// The message group: on a FIFO destination always, on a standard one as given.
    pub message_group_id: Option<String>,
    /// The deduplication id to send, if any (FIFO only).
    pub deduplication_id: Option<String>,
    /// The message's size as the services count it: the body and each attribute's name,
    /// type and value.
    pub size: usize,
    /// The keys two pending messages are duplicates by: the caller's id, and on a FIFO
    /// destination the deduplication id (or the body's hash when the service makes it).
    pub dedup_keys: Vec<String>,
}

/// Checks a message for a destination of `kind` as SQS and SNS would, and returns what
/// goes on the wire.
///
/// On a [`Fifo`](crate::Fifo) destination the message gets its group and deduplication id
/// (its own or the defaults); a [`Standard`](crate::Standard) one refuses a deduplication
/// id and passes a group through as given (SQS fair queues take one; SNS standard topics
/// check that themselves).
///
/// # Errors
///
/// The first rule the message breaks, naming the field.
pub fn check_message<'a, K: DestinationKind>(
    kind: &K,
    fields: &MessageFields<'a>,
) -> Result<CheckedMessage<'a>, SubmitErrorKind> {
    if let Some(id) = fields.id {
        check_id(id)?;
    }
    let body = body_text(fields.body)?;
    check_attributes(fields.attributes)?;
    let (message_group_id, deduplication_id) = match kind.fifo() {
        Some(fifo) => {
            let (group, dedup) =
                fifo.ids(fields.message_group_id, fields.deduplication_id, &body)?;
            (Some(group), dedup)
        }
        None => {
            if fields.deduplication_id.is_some() {
                return Err(invalid(
                    "MessageDeduplicationId",
                    "only FIFO queues and topics take a deduplication id",
                ));
            }
            if let Some(group) = fields.message_group_id {
                check_group_or_dedup_id("MessageGroupId", group)?;
            }
            (fields.message_group_id.map(str::to_owned), None)
        }
    };
    let mut dedup_keys: Vec<String> = fields.id.iter().map(|id| format!("id:{id}")).collect();
    if kind.fifo().is_some() {
        let content = deduplication_id
            .clone()
            .unwrap_or_else(|| sha256_hex(&body));
        dedup_keys.push(format!("dedup:{content}"));
    }
    Ok(CheckedMessage {
        size: body.len() + attributes_size(fields.attributes),
        body,
        message_group_id,
        deduplication_id,
        dedup_keys,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{Fifo, FifoDeduplication, Standard};

    fn body() -> MessageBody {
        MessageBody::Text("hello".into())
    }

    #[test]
    fn standard_refuses_a_deduplication_id_and_keeps_a_group() {
        let (body, attributes) = (body(), BTreeMap::new());
        let fields = MessageFields::new(&body, &attributes).with_deduplication_id(Some("d"));
        let error = check_message(&Standard, &fields).unwrap_err();
        assert_eq!(error.field(), "MessageDeduplicationId");
        let fields = MessageFields::new(&body, &attributes).with_message_group_id(Some("g"));
        let checked = check_message(&Standard, &fields).unwrap();
        assert_eq!(checked.message_group_id.as_deref(), Some("g"));
        assert!(checked.dedup_keys.is_empty());
    }

    #[test]
    fn fifo_needs_a_group_and_an_id_unless_defaults_give_them() {
        let (body, attributes) = (body(), BTreeMap::new());
        let fields = MessageFields::new(&body, &attributes);
        let error = check_message(&Fifo::default(), &fields).unwrap_err();
        assert_eq!(error.field(), "MessageGroupId");
        let grouped = Fifo::default().with_default_message_group_id("g");
        let error = check_message(&grouped, &fields).unwrap_err();
        assert_eq!(error.field(), "MessageDeduplicationId");
        let content_based = grouped.with_deduplication(FifoDeduplication::ContentBased);
        let checked = check_message(&content_based, &fields).unwrap();
        assert_eq!(checked.deduplication_id, None);
        // The service hashes the body: two equal bodies are duplicates here too.
        assert_eq!(
            checked.dedup_keys,
            vec![format!("dedup:{}", sha256_hex("hello"))]
        );
    }

    #[test]
    fn size_counts_the_body_and_each_attribute() {
        let body = body();
        let attributes =
            BTreeMap::from([("kind".to_owned(), MessageAttribute::String("shop".into()))]);
        let checked = check_message(&Standard, &MessageFields::new(&body, &attributes)).unwrap();
        assert_eq!(checked.size, 5 + 4 + "String".len() + 4);
    }
}
