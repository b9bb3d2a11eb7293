//! What SQS and SNS lines share: the FIFO options, a line's message group, the record of a
//! message body.

use std::marker::PhantomData;

use aws_batch_utils::engine::Backend;
use aws_batch_utils::sqs::{FifoDeduplication, MessageBody};
use aws_batch_utils::{SnsMessage, SqsMessage};
use clap::{Args, ValueEnum};
use serde_json::Value;

use super::{Failed, LineFormat, Parsed, checked_json, parsed, text_record};
use crate::output::Record;

/// The options of a FIFO queue or topic.
#[derive(Debug, Args)]
pub(crate) struct FifoArgs {
    /// FIFO: the field that holds each record's message group.
    #[arg(long)]
    pub(crate) group_field: Option<String>,
    /// FIFO: the message group of records without one.
    #[arg(long)]
    pub(crate) default_group: Option<String>,
    /// FIFO: where deduplication ids come from.
    #[arg(long, value_enum, default_value_t = Dedup::ContentHash)]
    pub(crate) dedup: Dedup,
}

/// FIFO deduplication ids.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Dedup {
    /// The SHA-256 of the body.
    ContentHash,
    /// None: the queue deduplicates by content.
    ContentBased,
}

impl Dedup {
    pub(crate) fn deduplication(self) -> FifoDeduplication {
        match self {
            Self::ContentHash => FifoDeduplication::ContentHash,
            Self::ContentBased => FifoDeduplication::ContentBased,
        }
    }
}

/// A line's message group, from its `group_field` when there is one (the line must then be
/// JSON), and the line.
pub(crate) fn grouped(
    text: String,
    group_field: Option<&str>,
    raw: bool,
    line: u64,
) -> Result<(Option<String>, String), Failed> {
    let Some(field) = group_field else {
        return Ok((None, checked_json(text, raw, line)?));
    };
    let value = parsed(&text, line)?;
    let group = value.get(field).map(|group| {
        group
            .as_str()
            .map_or_else(|| group.to_string(), str::to_owned)
    });
    Ok((group, text))
}

/// The record of a message body.
pub(crate) fn body_record(body: &MessageBody, raw: bool) -> Record {
    match body {
        MessageBody::Text(text) => text_record(text.clone(), raw),
        MessageBody::Json(value) => Record::Json(value.clone()),
        _ => Record::Json(Value::Null),
    }
}

/// A message of SQS or SNS, as lines make it.
pub(crate) trait Message: Sized + Send + Sync + 'static {
    fn of_text(text: String) -> Self;
    fn in_group(self, group: String) -> Self;
    fn body(&self) -> &MessageBody;
}

impl Message for SqsMessage {
    fn of_text(text: String) -> Self {
        Self::text(text)
    }

    fn in_group(self, group: String) -> Self {
        self.with_message_group_id(group)
    }

    fn body(&self) -> &MessageBody {
        SqsMessage::body(self)
    }
}

impl Message for SnsMessage {
    fn of_text(text: String) -> Self {
        Self::text(text)
    }

    fn in_group(self, group: String) -> Self {
        self.with_message_group_id(group)
    }

    fn body(&self) -> &MessageBody {
        SnsMessage::body(self)
    }
}

/// Lines as the messages of a queue or topic whose backend is `B`.
pub(crate) struct Messages<B> {
    group_field: Option<String>,
    raw: bool,
    backend: PhantomData<fn() -> B>,
}

impl<B> Messages<B> {
    /// Lines as message bodies (checked as JSON unless `raw`), in the group a line's
    /// `group_field` names.
    pub(crate) fn new(group_field: Option<String>, raw: bool) -> Self {
        Self {
            group_field,
            raw,
            backend: PhantomData,
        }
    }
}

impl<B: Backend> LineFormat for Messages<B>
where
    B::Payload: Message,
{
    type Backend = B;

    fn payload(&self, line: u64, text: String) -> Result<Parsed<B::Payload>, Failed> {
        let (group, text) = grouped(text, self.group_field.as_deref(), self.raw, line)?;
        let mut message = B::Payload::of_text(text);
        if let Some(group) = group {
            message = message.in_group(group);
        }
        Ok(Parsed::holding_text(message))
    }

    fn record(&self, message: &B::Payload) -> Record {
        body_record(message.body(), self.raw)
    }
}
