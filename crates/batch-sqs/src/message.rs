//! The SQS message type: a body and the metadata SendMessageBatch accepts for it.

use std::collections::BTreeMap;

use batch_core::SubmitErrorKind;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::backend::FifoDeduplication;

/// A message body: JSON (written compactly, UTF-8 as is) or raw text.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MessageBody {
    /// A JSON value, serialised compactly.
    Json(Value),
    /// Text sent as it is.
    Text(String),
}

/// A message attribute value. Names and values count toward the message size.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageAttribute {
    /// A `String` attribute.
    String(String),
    /// A `Number` attribute, as decimal text (SQS keeps up to 38 digits).
    Number(String),
    /// A `Binary` attribute.
    Binary(Vec<u8>),
}

impl MessageAttribute {
    /// The SQS data type name.
    #[must_use]
    pub fn data_type(&self) -> &'static str {
        match self {
            Self::String(_) => "String",
            Self::Number(_) => "Number",
            Self::Binary(_) => "Binary",
        }
    }

    /// Bytes of the value.
    #[must_use]
    pub fn value_len(&self) -> usize {
        match self {
            Self::String(v) | Self::Number(v) => v.len(),
            Self::Binary(v) => v.len(),
        }
    }
}

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
}

/// Most attributes per message. Source: SQS developer guide, "Amazon SQS message
/// attributes"; checked 2026-11-23.
pub const MAX_ATTRIBUTES: usize = 10;
/// Longest delay in seconds. Source: SendMessageBatchRequestEntry `DelaySeconds`; checked 2026-11-23.
pub const MAX_DELAY_SECONDS: u32 = 900;
/// Longest batch entry id. Source: SendMessageBatchRequestEntry `Id`; checked 2026-11-23.
pub const MAX_ID_CHARS: usize = 80;
/// Longest group or deduplication id. Source: SendMessageBatchRequestEntry; checked 2026-11-23.
pub const MAX_GROUP_OR_DEDUP_ID_CHARS: usize = 128;
/// Longest attribute name. Source: SQS developer guide; checked 2026-11-23.
pub const MAX_ATTRIBUTE_NAME_CHARS: usize = 256;

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> SubmitErrorKind {
    SubmitErrorKind::Invalid {
        field: field.into().into(),
        reason: reason.into(),
    }
}

/// Checks a batch entry id: 1-80 characters of `A-Z a-z 0-9 _ -`. SNS PublishBatch and SQS
/// DeleteMessageBatch take the same ids.
///
/// ```
/// assert!(batch_sqs::check_id("order-17").is_ok());
/// assert_eq!(batch_sqs::check_id("order 17").unwrap_err().field(), "Id");
/// ```
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

/// Checks a message group or deduplication id (reported as `field`): 1-128 printable ASCII
/// characters. SNS FIFO topics take the same ids.
pub fn check_group_or_dedup_id(field: &str, id: &str) -> Result<(), SubmitErrorKind> {
    let valid_chars = id.chars().all(|c| c.is_ascii_graphic());
    if id.is_empty() || id.len() > MAX_GROUP_OR_DEDUP_ID_CHARS || !valid_chars {
        return Err(invalid(
            field,
            format!(
                "must be 1-{MAX_GROUP_OR_DEDUP_ID_CHARS} characters of letters, digits and punctuation"
            ),
        ));
    }
    Ok(())
}

/// Checks text against the characters SQS accepts in a message: #x9, #xA, #xD, #x20-#xD7FF,
/// #xE000-#xFFFD and #x10000-#x10FFFF. `field` names the text in the error.
pub fn check_body_chars(field: &str, text: &str) -> Result<(), SubmitErrorKind> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
            || c >= '\u{10000}'
    };
    // Fast path over bytes: what Rust strings can hold outside the allowed set is ASCII
    // controls and U+FFFE/U+FFFF, whose UTF-8 starts with 0xEF; without either, all is fine.
    let suspect = |b: &u8| (*b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || *b == 0xEF;
    if !text.as_bytes().iter().any(suspect) {
        return Ok(());
    }
    match text.chars().find(|&c| !allowed(c)) {
        Some(c) => Err(invalid(
            field,
            format!(
                "contains the character U+{:04X}, which SQS does not accept",
                c as u32
            ),
        )),
        None => Ok(()),
    }
}

/// Checks message attributes: at most [`MAX_ATTRIBUTES`], names of at most
/// [`MAX_ATTRIBUTE_NAME_CHARS`] characters without reserved prefixes, and values SQS accepts.
/// SNS message attributes follow the same rules.
pub fn check_attributes(
    attributes: &BTreeMap<String, MessageAttribute>,
) -> Result<(), SubmitErrorKind> {
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(SubmitErrorKind::OutOfRange {
            field: "MessageAttributes".into(),
            value: format!("{} attributes", attributes.len()),
            allowed: format!("0 to {MAX_ATTRIBUTES}"),
        });
    }
    for (name, value) in attributes {
        let field = format!("MessageAttributes.{name}");
        let valid_chars = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        let lower = name.to_ascii_lowercase();
        if name.is_empty()
            || name.len() > MAX_ATTRIBUTE_NAME_CHARS
            || !valid_chars
            || name.starts_with('.')
            || name.ends_with('.')
            || name.contains("..")
            || lower.starts_with("aws.")
            || lower.starts_with("amazon.")
        {
            return Err(invalid(
                field,
                format!(
                    "the name must be 1-{MAX_ATTRIBUTE_NAME_CHARS} characters of A-Z, a-z, 0-9, \
                     '_', '-' and '.', without leading, trailing or double periods, and not \
                     start with 'AWS.' or 'Amazon.'"
                ),
            ));
        }
        match value {
            MessageAttribute::String(text) => {
                if text.is_empty() {
                    return Err(invalid(field, "a String attribute cannot be empty"));
                }
                check_body_chars(&field, text)?;
            }
            MessageAttribute::Number(number) => {
                let digits = number.chars().filter(char::is_ascii_digit).count();
                if number.parse::<f64>().map_or(true, |n| !n.is_finite()) || digits > 38 {
                    return Err(invalid(
                        field,
                        "a Number attribute must be a finite decimal number of at most 38 digits",
                    ));
                }
            }
            MessageAttribute::Binary(bytes) => {
                if bytes.is_empty() {
                    return Err(invalid(field, "a Binary attribute cannot be empty"));
                }
            }
        }
    }
    Ok(())
}

/// A message body as sent: JSON written compactly, or the text, checked against the
/// characters SQS and SNS accept; never empty.
///
/// ```
/// use batch_sqs::{MessageBody, body_text};
///
/// assert_eq!(body_text(&MessageBody::Json(serde_json::json!({"a": 1}))).unwrap(), r#"{"a":1}"#);
/// assert!(body_text(&MessageBody::Text(String::new())).is_err());
/// ```
///
/// # Errors
///
/// When the body is empty, holds characters the services refuse, or is JSON that cannot
/// be written.
pub fn body_text(body: &MessageBody) -> Result<String, SubmitErrorKind> {
    let text = match body {
        MessageBody::Json(value) => {
            serde_json::to_string(value).map_err(|e| SubmitErrorKind::Invalid {
                field: "MessageBody".into(),
                reason: format!("cannot be written as JSON: {e}"),
            })?
        }
        MessageBody::Text(text) => {
            check_body_chars("MessageBody", text)?;
            text.clone()
        }
    };
    if text.is_empty() {
        return Err(invalid("MessageBody", "must be at least 1 character"));
    }
    Ok(text)
}

/// Bytes the attributes add to a message, as SQS and SNS count them: each name, type and
/// value.
#[must_use]
pub fn attributes_size(attributes: &BTreeMap<String, MessageAttribute>) -> usize {
    attributes
        .iter()
        .map(|(name, value)| name.len() + value.data_type().len() + value.value_len())
        .sum()
}

/// The hex SHA-256 of a body: the deduplication id of [`FifoDeduplication::ContentHash`].
pub(crate) fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The message group and deduplication id a message gets on a FIFO queue or topic: its own,
/// or the defaults the dispatcher was given; checked.
///
/// # Errors
///
/// When the message has no group and there is no default, when a deduplication id is needed
/// and there is none, or when either is malformed.
pub fn fifo_ids(
    group: Option<&str>,
    dedup_id: Option<&str>,
    default_group: Option<&str>,
    deduplication: FifoDeduplication,
    body: &str,
) -> Result<(String, Option<String>), SubmitErrorKind> {
    let group = group
        .or(default_group)
        .ok_or_else(|| SubmitErrorKind::Missing {
            field: "MessageGroupId".into(),
        })?;
    check_group_or_dedup_id("MessageGroupId", group)?;
    let dedup_id = match (dedup_id, deduplication) {
        (Some(id), _) => Some(id.to_owned()),
        (None, FifoDeduplication::ContentHash) => Some(sha256_hex(body)),
        (None, FifoDeduplication::ContentBased) => None,
        (None, FifoDeduplication::Explicit) => {
            return Err(invalid(
                "MessageDeduplicationId",
                "is required: set one on the message, or build the dispatcher with \
                 FifoDeduplication::ContentBased or ContentHash",
            ));
        }
    };
    if let Some(id) = &dedup_id {
        check_group_or_dedup_id("MessageDeduplicationId", id)?;
    }
    Ok((group.to_owned(), dedup_id))
}

/// The dedup keys of a message: its batch id, and on FIFO queues and topics (`fifo`: its
/// deduplication id if any, and its body) the id the service deduplicates by.
pub fn dedup_keys(id: Option<&str>, fifo: Option<(Option<&str>, &str)>) -> Vec<String> {
    let mut keys: Vec<String> = id.iter().map(|id| format!("id:{id}")).collect();
    if let Some((dedup_id, body)) = fifo {
        let content = dedup_id.map_or_else(|| sha256_hex(body), str::to_owned);
        keys.push(format!("dedup:{content}"));
    }
    keys
}
